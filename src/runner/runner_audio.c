/* The audio thread's side of SprungRunner: sprung_runner_process. Per
 * block it takes what the control thread queued (parameters, reset flags,
 * a new engine, scheduled events), renders the engine in segments cut at
 * reset points, and runs the output stage per sample: crossfade between
 * engines, circuit breaker, DC blocker, reset envelope, smoothed gain,
 * limiter. Then it reports the block to the control thread.
 *
 * Audio thread only. Nothing here allocates, frees, locks, waits or does
 * I/O (tests/runner proves it under RealtimeSanitizer). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SSE__)
#  include <xmmintrin.h>
#endif

#include "runner/runner_internal.h"
#include "sprung/runner.h"

#define RUNNER_PI_F 3.14159265358979f
/* Below this (-100 dBFS) the engine counts as silent: no voice sounding. */
#define RUNNER_VOICE_FLOOR 1e-5f

static SPRUNG_REALTIME uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Flush-to-zero / denormals-are-zero for the output stage's recursive
 * filters, restored on exit (the engine does the same for itself). */
static SPRUNG_REALTIME unsigned int float_mode_enter(void)
{
#if defined(__SSE__)
    unsigned int saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u);
    return saved;
#else
    return 0;
#endif
}

static SPRUNG_REALTIME void float_mode_exit(unsigned int saved)
{
#if defined(__SSE__)
    _mm_setcsr(saved);
#else
    (void)saved;
#endif
}

static SPRUNG_REALTIME uint32_t fade_frames_for(const RunnerAudio *a, uint32_t type)
{
    return type >= SPRUNG_RESET_BREAKER ? a->breaker_fade_frames : a->reset_fade_frames;
}

static SPRUNG_REALTIME uint32_t strongest_type(uint32_t bits)
{
    if (bits & SPRUNG_RESET_BREAKER)
        return SPRUNG_RESET_BREAKER;
    if (bits & SPRUNG_RESET_USER)
        return SPRUNG_RESET_USER;
    return bits ? SPRUNG_RESET_TRANSPORT : 0u;
}

/* A reset request: start fading out, or upgrade the fade under way. The
 * level never jumps: a fade-in that is interrupted turns into a fade-out
 * from the level it had reached. */
static SPRUNG_REALTIME void envelope_request(RunnerAudio *a, uint32_t bits)
{
    uint32_t type = strongest_type(bits);
    if (!type)
        return;
    switch (a->envelope_state) {
    case ENVELOPE_IDLE:
        a->envelope_state = ENVELOPE_FADE_OUT;
        a->envelope_type = type;
        a->envelope_position = 0;
        a->envelope_length = fade_frames_for(a, type);
        break;
    case ENVELOPE_FADE_OUT:
        if (type > a->envelope_type) {
            uint32_t length = fade_frames_for(a, type);
            a->envelope_position = (uint32_t)((uint64_t)a->envelope_position * length /
                                              a->envelope_length);
            a->envelope_type = type;
            a->envelope_length = length;
        }
        break;
    case ENVELOPE_FADE_IN: {
        /* fade-in at p of L has the level of fade-out at L - p */
        uint32_t length = fade_frames_for(a, type);
        uint32_t out_position = a->envelope_length - a->envelope_position;
        a->envelope_position = (uint32_t)((uint64_t)out_position * length / a->envelope_length);
        a->envelope_length = length;
        a->envelope_type = type;
        a->envelope_state = ENVELOPE_FADE_OUT;
        break;
    }
    }
}

static inline SPRUNG_REALTIME float envelope_next(RunnerAudio *a)
{
    float value;
    switch (a->envelope_state) {
    case ENVELOPE_FADE_OUT:
        /* Raised cosine from 1 towards 0; it holds at 0 until the block
         * segment ends and the reset is done. */
        if (a->envelope_position >= a->envelope_length)
            return 0.0f;
        value = 0.5f * (1.0f + cosf(RUNNER_PI_F * (float)a->envelope_position /
                                    (float)a->envelope_length));
        a->envelope_position++;
        return value;
    case ENVELOPE_FADE_IN:
        value = 0.5f * (1.0f - cosf(RUNNER_PI_F * (float)a->envelope_position /
                                    (float)a->envelope_length));
        if (++a->envelope_position >= a->envelope_length)
            a->envelope_state = ENVELOPE_IDLE;
        return value;
    default:
        return 1.0f;
    }
}

/* At the silent point: reset the simulation(s) and everything that
 * remembers old audio, then fade in from there. */
static SPRUNG_REALTIME void reset_at_silent_point(RunnerAudio *a)
{
    sprung_engine_reset(a->engine);
    if (a->incoming)
        sprung_engine_reset(a->incoming);
    if (a->envelope_type == SPRUNG_RESET_USER)
        a->totals.resets_user++;
    else if (a->envelope_type == SPRUNG_RESET_TRANSPORT)
        a->totals.resets_transport++;
    a->over_count[0] = a->over_count[1] = 0;
    a->breaker_silence_input = 0;
    a->dc_x1[0] = a->dc_x1[1] = a->dc_y1[0] = a->dc_y1[1] = 0.0f;
    a->envelope_state = ENVELOPE_FADE_IN;
    a->envelope_position = 0;
    a->envelope_length = a->reset_fade_frames;
}

static SPRUNG_REALTIME void breaker_trip(SprungRunner *runner, uint32_t reason, uint32_t channel,
                                         float value, uint64_t frame)
{
    RunnerAudio *a = &runner->audio;
    if (a->envelope_state == ENVELOPE_FADE_OUT && a->envelope_type == SPRUNG_RESET_BREAKER)
        return; /* already tripped: this fade will reset */
    a->totals.breaker_trips++;
    SprungBreakerEvent event = {.frame = frame, .reason = reason, .channel = channel,
                                .value = value};
    sprung_spsc_push(&runner->breaker_events, &event); /* full: the count still tells */
    envelope_request(a, SPRUNG_RESET_BREAKER);
}

static SPRUNG_REALTIME void apply_parameters(SprungRunner *runner)
{
    RunnerAudio *a = &runner->audio;
    RunnerParameter p;
    while (sprung_spsc_pop(&runner->parameters, &p)) {
        switch (p.kind) {
        case RUNNER_PARAMETER_GAIN_DB:
            a->gain_linear = powf(10.0f, (float)p.value / 20.0f);
            break;
        case RUNNER_PARAMETER_MUTE: a->muted = p.value != 0.0; break;
        case RUNNER_PARAMETER_SMOOTHING_MS:
            a->gain_coefficient = sprung_runner_smoothing_coefficient(p.value, a->sample_rate);
            break;
        case RUNNER_PARAMETER_LIMITER: a->limiter = p.value != 0.0; break;
        case RUNNER_PARAMETER_DC_BLOCKER:
            a->dc_blocker = p.value != 0.0;
            a->dc_x1[0] = a->dc_x1[1] = a->dc_y1[0] = a->dc_y1[1] = 0.0f;
            break;
        case RUNNER_PARAMETER_TEST_INJECT:
            a->inject_value = (float)p.value;
            a->inject_remaining = p.count;
            break;
        case RUNNER_PARAMETER_MACRO:
            if (p.count < 8)
                a->macros[p.count] = (float)p.value;
            break;
        default: break;
        }
    }
    a->gain_target = a->muted ? 0.0f : a->gain_linear;
}

static SPRUNG_REALTIME int block_is_valid(const SprungRunner *runner, uint32_t n_frames,
                                          float *const *outputs, uint32_t n_outputs,
                                          const SprungEvent *events, uint32_t n_events)
{
    if (n_frames > runner->config.max_block_frames || n_outputs < 2 || !outputs)
        return 0;
    for (uint32_t ch = 0; ch < n_outputs; ch++)
        if (!outputs[ch])
            return 0;
    if (n_events && !events)
        return 0;
    for (uint32_t e = 0; e < n_events; e++) {
        if (events[e].frame >= n_frames || (e && events[e].frame < events[e - 1].frame))
            return 0;
        if (events[e].type < SPRUNG_EVENT_NOTE_ON || events[e].type > SPRUNG_EVENT_POLY_PRESSURE ||
            events[e].channel > 15 || events[e].note > 127 || events[e].velocity > 127 ||
            events[e].value > (events[e].type == SPRUNG_EVENT_PITCH_BEND ? 16383u : 127u))
            return 0;
    }
    return 1;
}

/* This block's events: the caller's, merged in frame order with the queued
 * ones now due (a queued event never goes before one queued ahead of it). */
static SPRUNG_REALTIME uint32_t merge_events(SprungRunner *runner, uint32_t n_frames,
                                             const SprungEvent *events, uint32_t n_events)
{
    RunnerAudio *a = &runner->audio;
    const uint32_t capacity = runner->config.max_block_events;
    const uint64_t start = a->totals.frames;
    uint32_t n = 0, arg = 0, queued_floor = 0;
    for (;;) {
        const RunnerQueuedEvent *q = n < capacity ? sprung_spsc_peek(&runner->events) : NULL;
        uint32_t q_frame = 0;
        if (q) {
            if (q->at_frame >= start + n_frames)
                q = NULL; /* not due yet: it and those behind it wait */
            else {
                q_frame = q->at_frame > start ? (uint32_t)(q->at_frame - start) : 0u;
                if (q_frame < queued_floor)
                    q_frame = queued_floor;
            }
        }
        if (arg < n_events && (!q || events[arg].frame <= q_frame)) {
            if (n < capacity)
                a->merged[n++] = events[arg];
            else
                a->totals.events_dropped++;
            arg++;
        } else if (q) {
            if (q->at_frame != 0 && q->at_frame < start)
                a->totals.events_late++;
            a->merged[n] = q->event;
            a->merged[n].frame = q_frame;
            n++;
            queued_floor = q_frame;
            sprung_spsc_drop(&runner->events);
        } else {
            break;
        }
    }
    return n;
}

/* Renders the engine(s) into outputs[.] + first for `length` frames; during
 * a crossfade the incoming engine renders alongside and is mixed in. */
static SPRUNG_REALTIME void render_segment(SprungRunner *runner, float *const *outputs,
                                           const float *const *inputs, uint32_t n_inputs,
                                           uint32_t first, uint32_t length,
                                           const SprungEvent *events, uint32_t n_events)
{
    RunnerAudio *a = &runner->audio;
    float *out[2] = {outputs[0] + first, outputs[1] + first};
    /* The engine's audio inputs, from this segment's first frame. */
    enum { MAX_INPUTS = 64 };
    const float *in_segment[MAX_INPUTS];
    if (!inputs || n_inputs > MAX_INPUTS)
        n_inputs = inputs ? MAX_INPUTS : 0;
    for (uint32_t ch = 0; ch < n_inputs; ch++)
        in_segment[ch] = inputs[ch] ? inputs[ch] + first : NULL;
    SprungBlock block = {.n_frames = length, .events = events, .n_events = n_events,
                         .outputs = out, .n_outputs = 2,
                         .inputs = n_inputs ? in_segment : NULL, .n_inputs = n_inputs};
    if (sprung_engine_process(a->engine, &block) != SPRUNG_OK)
        a->totals.invalid_blocks++; /* the engine wrote silence */
    if (!a->incoming)
        return;
    float *in[2] = {a->incoming_out[0] + first, a->incoming_out[1] + first};
    block.outputs = in;
    if (sprung_engine_process(a->incoming, &block) != SPRUNG_OK)
        a->totals.invalid_blocks++;
    for (uint32_t i = 0; i < length; i++) {
        float w = 1.0f;
        if (a->crossfade_position < a->crossfade_length) {
            w = 0.5f * (1.0f - cosf(RUNNER_PI_F * (float)a->crossfade_position /
                                    (float)a->crossfade_length));
            a->crossfade_position++;
        }
        for (int ch = 0; ch < 2; ch++)
            out[ch][i] = out[ch][i] * (1.0f - w) + in[ch][i] * w;
    }
}

static inline SPRUNG_REALTIME float soft_limit(float v, float knee)
{
    float magnitude = fabsf(v);
    if (magnitude <= knee)
        return v;
    float room = 1.0f - knee;
    float limited = knee + room * tanhf((magnitude - knee) / room);
    return v < 0.0f ? -limited : limited;
}

/* The per-sample output stage over outputs[.][first, end). */
static SPRUNG_REALTIME void output_stage(SprungRunner *runner, float *const *outputs,
                                         uint32_t first, uint32_t end)
{
    RunnerAudio *a = &runner->audio;
    float *left = outputs[0], *right = outputs[1];
    const float threshold = a->breaker_threshold;
    const uint64_t block_start = a->totals.frames;
    for (uint32_t i = first; i < end; i++) {
        float x[2] = {left[i], right[i]};
        if (a->inject_remaining) {
            x[0] += a->inject_value;
            x[1] += a->inject_value;
            a->inject_remaining--;
        }
        for (uint32_t ch = 0; ch < 2; ch++) {
            float v = a->breaker_silence_input ? 0.0f : x[ch];
            if (!isfinite(v)) {
                breaker_trip(runner, SPRUNG_BREAKER_NONFINITE, ch, v, block_start + i);
                a->breaker_silence_input = 1; /* the simulation is poisoned until reset */
                v = 0.0f;
            } else if (fabsf(v) > threshold) {
                if (++a->over_count[ch] > a->breaker_hold_frames)
                    breaker_trip(runner, SPRUNG_BREAKER_OVERLOAD, ch, v, block_start + i);
                v = v < 0.0f ? -threshold : threshold;
            } else {
                a->over_count[ch] = 0;
            }
            if (fabsf(v) > a->block_engine_peak)
                a->block_engine_peak = fabsf(v);
            if (a->dc_blocker) {
                float y = v - a->dc_x1[ch] + a->dc_r * a->dc_y1[ch];
                a->dc_x1[ch] = v;
                a->dc_y1[ch] = y;
                v = y;
            }
            x[ch] = v;
        }
        if (a->breaker_silence_input)
            x[0] = x[1] = 0.0f; /* a NaN on the right silences the left too */
        float envelope = envelope_next(a);
        float gain = a->gain;
        if (gain != a->gain_target) {
            gain += (a->gain_target - gain) * a->gain_coefficient;
            if (fabsf(a->gain_target - gain) < 1e-7f)
                gain = a->gain_target;
            a->gain = gain;
        }
        for (uint32_t ch = 0; ch < 2; ch++) {
            float v = x[ch] * envelope * gain;
            if (a->limiter)
                v = soft_limit(v, a->limiter_knee);
            /* Last line: nothing non-finite or above the threshold leaves. */
            if (!(fabsf(v) <= threshold))
                v = isfinite(v) ? (v < 0.0f ? -threshold : threshold) : 0.0f;
            if (fabsf(v) > a->block_peak[ch])
                a->block_peak[ch] = fabsf(v);
            (ch ? right : left)[i] = v;
        }
    }
}

static SPRUNG_REALTIME void write_silence(float *const *outputs, uint32_t n_outputs,
                                          uint32_t n_frames)
{
    if (!outputs)
        return;
    for (uint32_t ch = 0; ch < n_outputs; ch++)
        if (outputs[ch])
            memset(outputs[ch], 0, (size_t)n_frames * sizeof(float));
}

static SPRUNG_REALTIME void report_block(SprungRunner *runner, uint32_t n_frames,
                                         uint64_t started_ns)
{
    RunnerAudio *a = &runner->audio;
    RunnerBlockRecord *t = &a->totals;
    t->frames += n_frames;
    t->blocks++;
    double period = (double)n_frames / a->sample_rate;
    double elapsed = (double)(now_ns() - started_ns) * 1e-9;
    float load = period > 0.0 ? (float)(elapsed / period) : 0.0f;
    if (load > 1.0f)
        t->late_blocks++;
    t->load = load;
    t->peak[0] = a->block_peak[0];
    t->peak[1] = a->block_peak[1];
    t->voices = a->block_engine_peak > RUNNER_VOICE_FLOOR;
    if (!sprung_spsc_push(&runner->telemetry, t))
        t->telemetry_dropped++;
}

SPRUNG_REALTIME SprungStatus sprung_runner_process(SprungRunner *runner, uint32_t n_frames,
                                                   const float *const *inputs, uint32_t n_inputs,
                                                   float *const *outputs, uint32_t n_outputs,
                                                   const SprungEvent *events, uint32_t n_events)
{
    if (!runner) {
        write_silence(outputs, n_outputs, n_frames);
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    }
    const uint64_t started = now_ns();
    RunnerAudio *a = &runner->audio;
    if (runner->sabotage & RUNNER_SABOTAGE_ALLOCATE) {
        /* The bug the real-time tests guard against. */
        void *volatile scratch = malloc(64);
        free(scratch);
    }
    if (!block_is_valid(runner, n_frames, outputs, n_outputs, events, n_events)) {
        write_silence(outputs, n_outputs, n_frames);
        a->totals.invalid_blocks++;
        report_block(runner, 0, started);
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    }
    const unsigned int saved_mode = float_mode_enter();

    apply_parameters(runner);
    uint32_t requests = atomic_exchange_explicit(&runner->reset_request, 0u,
                                                 memory_order_acquire);
    envelope_request(a, requests);
    if (!a->incoming && sprung_spsc_space(&runner->engines_out) > 0) {
        SprungEngine *engine;
        if (sprung_spsc_pop(&runner->engines_in, &engine)) {
            a->incoming = engine;
            a->crossfade_position = 0;
            a->totals.swaps++;
        }
    }
    for (uint32_t k = 0; k < 8; ++k) {
        sprung_engine_set_macro(a->engine, k, a->macros[k]);
        if (a->incoming)
            sprung_engine_set_macro(a->incoming, k, a->macros[k]);
    }
    const uint32_t n_merged = merge_events(runner, n_frames, events, n_events);
    const SprungEngine *newest = a->incoming ? a->incoming : a->engine;
    const uint32_t n_played = runner_keys_play(&a->keys, newest, a->merged, n_merged, a->played);

    a->block_peak[0] = a->block_peak[1] = 0.0f;
    a->block_engine_peak = 0.0f;
    uint32_t position = 0, next_event = 0;
    while (position < n_frames) {
        const int fading_out = a->envelope_state == ENVELOPE_FADE_OUT;
        uint32_t end = n_frames;
        if (fading_out) {
            uint32_t left = a->envelope_length - a->envelope_position;
            if (left == 0) {
                reset_at_silent_point(a);
                continue;
            }
            if (left < n_frames - position)
                end = position + left;
        }
        /* Events during a fade-out would strike a simulation about to be
         * reset: they are held and played at the reset point. */
        uint32_t n_segment = 0;
        if (!fading_out) {
            for (uint32_t h = 0; h < a->n_held; h++) {
                a->segment[n_segment] = a->held[h];
                a->segment[n_segment++].frame = 0;
            }
            a->n_held = 0;
        }
        while (next_event < n_played && a->played[next_event].frame < end) {
            SprungEvent event = a->played[next_event++];
            if (fading_out) {
                if (a->n_held < a->played_capacity)
                    a->held[a->n_held++] = event;
                else
                    a->totals.events_dropped++;
            } else {
                event.frame -= position;
                a->segment[n_segment++] = event;
            }
        }
        render_segment(runner, outputs, inputs, n_inputs, position, end - position, a->segment,
                       n_segment);
        output_stage(runner, outputs, position, end);
        position = end;
        if (a->envelope_state == ENVELOPE_FADE_OUT &&
            a->envelope_position >= a->envelope_length)
            reset_at_silent_point(a);
    }

    if (a->incoming && a->crossfade_position >= a->crossfade_length) {
        SprungEngine *retired = a->engine;
        a->engine = a->incoming;
        a->incoming = NULL;
        if (runner->sabotage & RUNNER_SABOTAGE_FREE_ON_AUDIO)
            sprung_engine_free(retired); /* the bug: freeing on the audio thread */
        else
            sprung_spsc_push(&runner->engines_out, &retired); /* room was checked */
    }
    for (uint32_t ch = 2; ch < n_outputs; ch++)
        memset(outputs[ch], 0, (size_t)n_frames * sizeof(float));
    float_mode_exit(saved_mode);
    report_block(runner, n_frames, started);
    return SPRUNG_OK;
}
