/* SprungRunner setup (config defaults, new/free) and the control thread's
 * side: sending events, parameters, resets and engines, collecting retired
 * engines, and turning the audio thread's per-block records into load
 * percentiles. The audio thread's side is runner_audio.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "runner/runner_internal.h"
#include "runner/runner_testing.h"
#include "sprung/runner.h"

#define RUNNER_SOURCE "runner config"

SprungRunnerConfig sprung_runner_config_default(void)
{
    SprungRunnerConfig config = {
        .sample_rate = 48000.0,
        .max_block_frames = 4096,
        .max_block_events = 1024,
        .event_queue_capacity = 1024,
        .parameter_queue_capacity = 256,
        .engine_queue_capacity = 4,
        .telemetry_capacity = 4096,
        .load_window_blocks = 1024,
        .gain_db = 0.0,
        .muted = 0,
        .smoothing_ms = 20.0,
        .reset_fade_ms = 5.0,
        .crossfade_ms = 30.0,
        .breaker_threshold_db = 12.0,
        .breaker_hold_ms = 5.0,
        .breaker_fade_ms = 2.0,
        .dc_blocker = 0,
        .dc_blocker_hz = 5.0,
        .limiter = 0,
        .limiter_knee_db = -6.0,
    };
    return config;
}

static int is_power_of_two(uint32_t value)
{
    return value && !(value & (value - 1u));
}

/* The one-pole coefficient for time constant `ms` at `rate`: after ms
 * milliseconds the smoothed value has covered 1 - 1/e of the step. */
SPRUNG_REALTIME float sprung_runner_smoothing_coefficient(double ms, double rate)
{
    if (!(ms > 0.0))
        return 1.0f;
    return (float)(1.0 - exp(-1000.0 / (ms * rate)));
}

static SprungStatus config_check(const SprungRunnerConfig *c, SprungError *error)
{
#define BAD(field, ...)                                                                        \
    sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, RUNNER_SOURCE, 0, 0, field,         \
                     __VA_ARGS__)
    if (!(c->sample_rate >= 8000.0 && c->sample_rate <= 384000.0))
        return BAD("sample_rate", "%g Hz is not a sample rate in [8000, 384000] Hz",
                   c->sample_rate);
    if (c->max_block_frames < 1 || c->max_block_frames > 65536)
        return BAD("max_block_frames", "%u is not in [1, 65536]", c->max_block_frames);
    if (c->max_block_events < 1 || c->max_block_events > 65536)
        return BAD("max_block_events", "%u is not in [1, 65536]", c->max_block_events);
    if (!is_power_of_two(c->event_queue_capacity))
        return BAD("event_queue_capacity", "%u is not a power of two", c->event_queue_capacity);
    if (!is_power_of_two(c->parameter_queue_capacity))
        return BAD("parameter_queue_capacity", "%u is not a power of two",
                   c->parameter_queue_capacity);
    if (!is_power_of_two(c->engine_queue_capacity))
        return BAD("engine_queue_capacity", "%u is not a power of two",
                   c->engine_queue_capacity);
    if (!is_power_of_two(c->telemetry_capacity))
        return BAD("telemetry_capacity", "%u is not a power of two", c->telemetry_capacity);
    if (c->load_window_blocks < 1 || c->load_window_blocks > (1u << 20))
        return BAD("load_window_blocks", "%u is not in [1, 1048576]", c->load_window_blocks);
    if (!(c->gain_db >= -200.0 && c->gain_db <= 40.0))
        return BAD("gain_db", "%g dB is not in [-200, 40]", c->gain_db);
    const struct { const char *name; double value, max; } times[] = {
        {"smoothing_ms", c->smoothing_ms, 10000.0},
        {"reset_fade_ms", c->reset_fade_ms, 1000.0},
        {"crossfade_ms", c->crossfade_ms, 10000.0},
        {"breaker_hold_ms", c->breaker_hold_ms, 1000.0},
        {"breaker_fade_ms", c->breaker_fade_ms, 1000.0},
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        if (!(times[i].value >= 0.0 && times[i].value <= times[i].max))
            return BAD(times[i].name, "%g ms is not in [0, %g]", times[i].value, times[i].max);
    if (!(c->breaker_threshold_db >= -20.0 && c->breaker_threshold_db <= 60.0))
        return BAD("breaker_threshold_db", "%g dBFS is not in [-20, 60]",
                   c->breaker_threshold_db);
    if (c->dc_blocker && !(c->dc_blocker_hz > 0.0 && c->dc_blocker_hz < c->sample_rate / 4.0))
        return BAD("dc_blocker_hz", "%g Hz is not in (0, sample_rate/4)", c->dc_blocker_hz);
    if (!(c->limiter_knee_db >= -40.0 && c->limiter_knee_db < 0.0))
        return BAD("limiter_knee_db", "%g dBFS is not in [-40, 0)", c->limiter_knee_db);
    return SPRUNG_OK;
#undef BAD
}

static uint32_t ms_to_frames(double ms, double rate)
{
    double frames = floor(ms * rate / 1000.0 + 0.5);
    return frames < 1.0 ? 1u : (uint32_t)frames;
}

SprungStatus sprung_runner_new(const SprungRunnerConfig *config, SprungEngine *engine,
                               SprungRunner **out, SprungError *error)
{
    if (out)
        *out = NULL;
    if (!engine || !out)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                                "sprung_runner_new: %s is NULL", !engine ? "engine" : "out");
    SprungRunnerConfig defaults = sprung_runner_config_default();
    if (!config)
        config = &defaults;
    SprungStatus status = config_check(config, error);
    if (status != SPRUNG_OK)
        return status;

    SprungRunner *runner = aligned_alloc(64, (sizeof *runner + 63) & ~(size_t)63);
    if (!runner)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the runner");
    memset(runner, 0, sizeof *runner);
    runner->config = *config;
    atomic_init(&runner->reset_request, 0u);

    const SprungRunnerConfig *c = &runner->config;
    RunnerAudio *a = &runner->audio;
    RunnerControl *k = &runner->control;
    int failed = 0;
    failed |= sprung_spsc_init(&runner->events, c->event_queue_capacity,
                               sizeof(RunnerQueuedEvent));
    failed |= sprung_spsc_init(&runner->parameters, c->parameter_queue_capacity,
                               sizeof(RunnerParameter));
    failed |= sprung_spsc_init(&runner->engines_in, c->engine_queue_capacity,
                               sizeof(SprungEngine *));
    /* One more than can come in, plus the one being crossfaded: the audio
     * thread also checks for room before it takes an engine. */
    failed |= sprung_spsc_init(&runner->engines_out, c->engine_queue_capacity * 2u,
                               sizeof(SprungEngine *));
    failed |= sprung_spsc_init(&runner->telemetry, c->telemetry_capacity,
                               sizeof(RunnerBlockRecord));
    failed |= sprung_spsc_init(&runner->breaker_events, 64, sizeof(SprungBreakerEvent));
    for (int ch = 0; ch < 2; ch++)
        a->incoming_out[ch] = calloc(c->max_block_frames, sizeof(float));
    a->played_capacity = c->max_block_events * 2u + RUNNER_KEYS_MAX_RELEASES;
    a->merged = calloc(c->max_block_events, sizeof(SprungEvent));
    a->played = calloc(a->played_capacity, sizeof(SprungEvent));
    a->segment = calloc(a->played_capacity * 2u, sizeof(SprungEvent));
    a->held = calloc(a->played_capacity, sizeof(SprungEvent));
    k->load_window = calloc(c->load_window_blocks, sizeof(float));
    k->load_sorted = calloc(c->load_window_blocks, sizeof(float));
    if (failed || !a->incoming_out[0] || !a->incoming_out[1] || !a->merged || !a->played || !a->segment ||
        !a->held || !k->load_window || !k->load_sorted) {
        runner->audio.engine = NULL; /* the engine stays the caller's */
        sprung_runner_free(runner);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the runner");
    }

    a->engine = engine;
    a->sample_rate = c->sample_rate;
    a->gain_linear = (float)pow(10.0, c->gain_db / 20.0);
    a->muted = c->muted != 0;
    a->gain_target = a->muted ? 0.0f : a->gain_linear;
    a->gain = a->gain_target;
    a->gain_coefficient = sprung_runner_smoothing_coefficient(c->smoothing_ms, c->sample_rate);
    a->reset_fade_frames = ms_to_frames(c->reset_fade_ms, c->sample_rate);
    a->breaker_fade_frames = ms_to_frames(c->breaker_fade_ms, c->sample_rate);
    a->crossfade_length = ms_to_frames(c->crossfade_ms, c->sample_rate);
    a->breaker_threshold = (float)pow(10.0, c->breaker_threshold_db / 20.0);
    a->breaker_hold_frames = ms_to_frames(c->breaker_hold_ms, c->sample_rate);
    a->dc_blocker = c->dc_blocker != 0;
    a->dc_r = (float)exp(-2.0 * M_PI * c->dc_blocker_hz / c->sample_rate);
    a->limiter = c->limiter != 0;
    a->limiter_knee = (float)pow(10.0, c->limiter_knee_db / 20.0);
    *out = runner;
    return SPRUNG_OK;
}

void sprung_runner_free(SprungRunner *runner)
{
    if (!runner)
        return;
    SprungEngine *engine;
    if (runner->events.slots) {
        while (runner->engines_in.slots && sprung_spsc_pop(&runner->engines_in, &engine))
            sprung_engine_free(engine);
        while (runner->engines_out.slots && sprung_spsc_pop(&runner->engines_out, &engine))
            sprung_engine_free(engine);
    }
    sprung_engine_free(runner->audio.engine);
    sprung_engine_free(runner->audio.incoming);
    sprung_spsc_free(&runner->events);
    sprung_spsc_free(&runner->parameters);
    sprung_spsc_free(&runner->engines_in);
    sprung_spsc_free(&runner->engines_out);
    sprung_spsc_free(&runner->telemetry);
    sprung_spsc_free(&runner->breaker_events);
    free(runner->audio.incoming_out[0]);
    free(runner->audio.incoming_out[1]);
    free(runner->audio.merged);
    free(runner->audio.played);
    free(runner->audio.segment);
    free(runner->audio.held);
    free(runner->control.load_window);
    free(runner->control.load_sorted);
    free(runner);
}

/* ---- Control thread ---- */

int sprung_runner_send_event(SprungRunner *runner, uint64_t at_frame, const SprungEvent *event)
{
    if (!runner || !event)
        return 0;
    if (event->type < SPRUNG_EVENT_NOTE_ON || event->type > SPRUNG_EVENT_POLY_PRESSURE ||
        event->channel > 15 || event->note > 127 || event->velocity > 127 ||
        event->value > (event->type == SPRUNG_EVENT_PITCH_BEND ? 16383u : 127u))
        return 0;
    RunnerQueuedEvent queued = {.at_frame = at_frame, .event = *event};
    queued.event.frame = 0;
    return sprung_spsc_push(&runner->events, &queued);
}

static int send_parameter(SprungRunner *runner, uint32_t kind, double value, uint32_t count)
{
    if (!runner)
        return 0;
    RunnerParameter parameter = {.kind = kind, .count = count, .value = value};
    return sprung_spsc_push(&runner->parameters, &parameter);
}

int sprung_runner_set_macro(SprungRunner *runner, uint32_t index, double value)
{
    if (index >= 8 || !(value >= 0.0 && value <= 1.0))
        return 0;
    return send_parameter(runner, RUNNER_PARAMETER_MACRO, value, index);
}

int sprung_runner_set_gain_db(SprungRunner *runner, double gain_db)
{
    if (!(gain_db >= -200.0 && gain_db <= 40.0))
        return 0;
    return send_parameter(runner, RUNNER_PARAMETER_GAIN_DB, gain_db, 0);
}

int sprung_runner_set_mute(SprungRunner *runner, int muted)
{
    return send_parameter(runner, RUNNER_PARAMETER_MUTE, muted ? 1.0 : 0.0, 0);
}

int sprung_runner_set_smoothing_ms(SprungRunner *runner, double milliseconds)
{
    if (!(milliseconds >= 0.0 && milliseconds <= 10000.0))
        return 0;
    return send_parameter(runner, RUNNER_PARAMETER_SMOOTHING_MS, milliseconds, 0);
}

int sprung_runner_set_limiter(SprungRunner *runner, int enabled)
{
    return send_parameter(runner, RUNNER_PARAMETER_LIMITER, enabled ? 1.0 : 0.0, 0);
}

int sprung_runner_set_dc_blocker(SprungRunner *runner, int enabled)
{
    return send_parameter(runner, RUNNER_PARAMETER_DC_BLOCKER, enabled ? 1.0 : 0.0, 0);
}

void sprung_runner_request_reset(SprungRunner *runner, SprungResetType type)
{
    if (!runner)
        return;
    uint32_t bits = (uint32_t)type & (SPRUNG_RESET_USER | SPRUNG_RESET_TRANSPORT);
    if (runner->sabotage & RUNNER_SABOTAGE_RELAXED_PUBLISH)
        atomic_fetch_or_explicit(&runner->reset_request, bits, memory_order_relaxed);
    else
        atomic_fetch_or_explicit(&runner->reset_request, bits, memory_order_release);
}

int sprung_runner_offer_engine(SprungRunner *runner, SprungEngine *engine)
{
    if (!runner || !engine)
        return 0;
    return sprung_spsc_push(&runner->engines_in, &engine);
}

SprungEngine *sprung_runner_take_retired_engine(SprungRunner *runner)
{
    SprungEngine *engine = NULL;
    if (runner && sprung_spsc_pop(&runner->engines_out, &engine))
        return engine;
    return NULL;
}

static int compare_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void sprung_runner_poll(SprungRunner *runner, SprungRunnerStats *out)
{
    if (!runner)
        return;
    RunnerControl *k = &runner->control;
    const uint32_t window = runner->config.load_window_blocks;
    RunnerBlockRecord record;
    while (sprung_spsc_pop(&runner->telemetry, &record)) {
        k->load_window[k->load_next] = record.load;
        k->load_next = (k->load_next + 1u) % window;
        if (k->load_count < window)
            k->load_count++;
        for (int ch = 0; ch < 2; ch++)
            if (record.peak[ch] > k->peak[ch])
                k->peak[ch] = record.peak[ch];
        k->last = record;
    }
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    const RunnerBlockRecord *t = &k->last;
    out->frames = t->frames;
    out->blocks = t->blocks;
    out->late_blocks = t->late_blocks;
    out->breaker_trips = t->breaker_trips;
    out->resets_user = t->resets_user;
    out->resets_transport = t->resets_transport;
    out->swaps = t->swaps;
    out->events_late = t->events_late;
    out->events_dropped = t->events_dropped;
    out->telemetry_dropped = t->telemetry_dropped;
    out->invalid_blocks = t->invalid_blocks;
    out->voices = t->voices;
    out->peak[0] = k->peak[0];
    out->peak[1] = k->peak[1];
    k->peak[0] = k->peak[1] = 0.0f;
    out->load_window = k->load_count;
    if (k->load_count) {
        memcpy(k->load_sorted, k->load_window, k->load_count * sizeof(float));
        qsort(k->load_sorted, k->load_count, sizeof(float), compare_float);
        uint32_t n = k->load_count;
        /* Nearest rank. */
        uint32_t r50 = (uint32_t)ceil(0.50 * n), r99 = (uint32_t)ceil(0.99 * n);
        out->load_p50 = k->load_sorted[(r50 ? r50 : 1) - 1];
        out->load_p99 = k->load_sorted[(r99 ? r99 : 1) - 1];
        out->load_max = k->load_sorted[n - 1];
    }
}

int sprung_runner_next_breaker_event(SprungRunner *runner, SprungBreakerEvent *out)
{
    SprungBreakerEvent event;
    if (!runner || !sprung_spsc_pop(&runner->breaker_events, &event))
        return 0;
    if (out)
        *out = event;
    return 1;
}

/* ---- Test hooks (runner_testing.h) ---- */

void sprung_runner_testing_sabotage(SprungRunner *runner, unsigned flags)
{
    runner->sabotage = flags;
    if (flags & RUNNER_SABOTAGE_RELAXED_PUBLISH) {
        SprungSpsc *queues[] = {&runner->events,      &runner->parameters, &runner->engines_in,
                                &runner->engines_out, &runner->telemetry,  &runner->breaker_events};
        for (size_t i = 0; i < sizeof queues / sizeof queues[0]; i++)
            queues[i]->publish_order = memory_order_relaxed;
    }
}

int sprung_runner_testing_inject(SprungRunner *runner, float value, uint32_t count)
{
    return send_parameter(runner, RUNNER_PARAMETER_TEST_INJECT, value, count);
}
