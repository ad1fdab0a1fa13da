/* Instanced mode on a backend that steps all the voices in one launch (a
 * GPU: SprungBackendFactory.create_voices). The per-frame control is
 * engine_voices.c's, unchanged; what differs is that the voices' steps
 * are not taken frame by frame. The frames are planned one after another
 * on the host, each sounding voice collecting its pulse starts, exciter
 * notes, the words modulation changed (modulation_writes.h), its time step
 * and its fade gain per frame; then one advance_voices() call renders the
 * run of frames for every sounding voice, and the sum and the silence
 * count of step 5 are replayed over the run's output.
 *
 * The output is the one the frame-by-frame engine gives, for any block
 * size, because a run ends before every frame whose planning would depend
 * on the voices' output or would change which voices step:
 *   - a free voice starts sounding (it must not step before its note);
 *   - a fade ended and a voice restarts from rest;
 *   - a released voice could, at the most, have been silent long enough to
 *     be freed at this frame (the run ends with it, and the replay frees it
 *     or not; voices are freed 200 ms after they fall silent, so such cuts
 *     are rare);
 *   - a voice's buffers lack a frame's worth of room.
 * Microphone followers (which hear the voices' output) keep such models on
 * the CPU backends. Audio thread: nothing here allocates but new. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_voices_internal.h"
#include "model/model.h"

SprungStatus sprung_voices_batch_new(SprungEngineVoices *s, const SprungModel *model,
                                     const SprungBackendFactory *factory, uint32_t device,
                                     const SprungEngineConfig *config, SprungError *error)
{
    const SprungCompiled *c = s->compiled;
    size_t frames = config->max_block_frames;
    size_t steps = frames * config->oversampling;
    SprungState *states[SPRUNG_MAX_VOICES];
    for (uint32_t index = 0; index < s->n_voices; ++index) {
        Voice *v = &s->voices[index];
        VoiceRun *run = &v->run;
        SprungStatus status = sprung_modulation_watch_new_voice(
            model, c, &v->model, &v->feature_model, &v->state, &run->watch, error);
        if (status != SPRUNG_OK)
            return status;
        /* What the backend's buffers take (a longer run is cut): at least
         * one frame's worth of every watched word. */
        s->writes_capacity = sprung_backend_write_capacity(c, (uint32_t)frames);
        if (sprung_modulation_watch_words(run->watch) > sprung_backend_frame_writes(c))
            return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, NULL, 0, 0, NULL,
                                    "a voice watches more words than a frame may write");
        run->writes = calloc(N1(s->writes_capacity), sizeof *run->writes);
        run->frame_writes = calloc(frames + 1, sizeof *run->frame_writes);
        run->frame_dt = calloc(frames, sizeof *run->frame_dt);
        run->gain = calloc(frames, sizeof *run->gain);
        run->released = calloc(frames, sizeof *run->released);
        run->restarted = calloc(frames, sizeof *run->restarted);
        run->out = calloc(N1(c->n_channels) * steps, sizeof *run->out);
        if (!run->writes || !run->frame_writes || !run->frame_dt || !run->gain ||
            !run->released || !run->restarted || !run->out)
            return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                    "out of memory for the voices' runs");
        for (uint32_t ch = 0; ch < c->n_channels; ++ch)
            run->channels[ch] = run->out + (size_t)ch * steps;
        states[index] = &v->state;
    }
    SprungStatus status =
        factory->create_voices(c, s->n_voices, states, device, config, &s->batch, error);
    if (status != SPRUNG_OK)
        return status;
    s->has_batch = 1;
    return SPRUNG_OK;
}

void sprung_voices_batch_free(SprungEngineVoices *s)
{
    if (s->has_batch && s->batch.destroy)
        s->batch.destroy(s->batch.ctx);
    s->has_batch = 0;
    for (uint32_t index = 0; s->voices && index < s->n_voices; ++index) {
        VoiceRun *run = &s->voices[index].run;
        sprung_modulation_watch_free(run->watch);
        free(run->writes);
        free(run->frame_writes);
        free(run->frame_dt);
        free(run->gain);
        free(run->released);
        free(run->restarted);
        free(run->out);
        memset(run, 0, sizeof *run);
    }
}

/* The voices the run steps: every voice not free, in index order. */
static SPRUNG_REALTIME uint32_t sounding_voices(const SprungEngineVoices *s, uint32_t *out)
{
    uint32_t n = 0;
    for (uint32_t index = 0; index < s->n_voices; ++index)
        if (s->allocator.slots[index].status != SPRUNG_VOICE_FREE)
            out[n++] = index;
    return n;
}

static SPRUNG_REALTIME int same_voices(const uint32_t *a, uint32_t n_a, const uint32_t *b,
                                       uint32_t n_b)
{
    return n_a == n_b && !memcmp(a, b, n_a * sizeof *a);
}

/* How many of the first n entries (sorted by step) lie before `steps`. */
static SPRUNG_REALTIME uint32_t starts_before(const SprungPulseStart *starts, uint32_t n,
                                              uint32_t steps)
{
    uint32_t k = 0;
    while (k < n && starts[k].step < steps)
        ++k;
    return k;
}

static SPRUNG_REALTIME uint32_t events_before(const SprungExciterEvent *events, uint32_t n,
                                              uint32_t steps)
{
    uint32_t k = 0;
    while (k < n && events[k].step < steps)
        ++k;
    return k;
}

/* After a run of `steps` steps: drops each voice's starts and notes the run
 * took, and moves those of later frames (struck while the frame that ended
 * the run was planned) to the front, their steps now from the next run. */
static SPRUNG_REALTIME void consume_run_inputs(SprungEngineVoices *s, uint32_t steps)
{
    for (uint32_t index = 0; index < s->n_voices; ++index) {
        Voice *v = &s->voices[index];
        uint32_t used = starts_before(v->starts, v->n_starts, steps);
        memmove(v->starts, v->starts + used, (v->n_starts - used) * sizeof *v->starts);
        v->n_starts -= used;
        for (uint32_t k = 0; k < v->n_starts; ++k)
            v->starts[k].step -= steps;
        used = events_before(v->events, v->n_events, steps);
        memmove(v->events, v->events + used, (v->n_events - used) * sizeof *v->events);
        v->n_events -= used;
        for (uint32_t k = 0; k < v->n_events; ++k)
            v->events[k].step -= steps;
    }
}

/* Step 4's sum and step 5's silence count over the run's output, frame by
 * frame in voice order, as voices_render_frame does after each frame. */
static SPRUNG_REALTIME void replay_run(SprungEngineVoices *s)
{
    const uint32_t r = s->oversampling;
    for (uint32_t k = 0; k < s->run_frames; ++k) {
        size_t first = (size_t)(s->run_first + k) * r;
        for (uint32_t ch = 0; ch < s->compiled->n_channels; ++ch)
            memset(&s->channels[ch][first], 0, r * sizeof(float));
        for (uint32_t n = 0; n < s->n_run_voices; ++n) {
            uint32_t index = s->run_voices[n];
            VoiceRun *run = &s->voices[index].run;
            float loudest = sprung_voices_add(s, run->channels, (size_t)k * r, run->gain[k], first);
            if (run->restarted[k])
                run->quiet = 0;
            if (run->released[k] && sprung_voices_quiet(s, &run->quiet, loudest)) {
                /* Only at the run's last frame (the planning ended it there). */
                sprung_voice_free(&s->allocator, index);
                sprung_voices_rest(s, index);
                run->quiet = 0;
            }
        }
    }
}

/* Renders the run planned so far (one launch), replays it, and begins the
 * next at the frame after it. */
static SPRUNG_REALTIME void flush_run(SprungEngineVoices *s, const SprungBlock *block,
                                      uint32_t n_inputs)
{
    if (s->run_frames == 0)
        return;
    uint32_t steps = s->run_frames * s->oversampling;
    for (uint32_t ch = 0; ch < n_inputs; ++ch)
        s->run_inputs[ch] = block->inputs[ch] ? block->inputs[ch] + s->run_first : NULL;
    for (uint32_t n = 0; n < s->n_run_voices; ++n) {
        Voice *v = &s->voices[s->run_voices[n]];
        s->runs[n] = (SprungVoiceRun){
            .voice = s->run_voices[n],
            .starts = v->starts,
            .n_starts = starts_before(v->starts, v->n_starts, steps),
            .io =
                {
                    .exciter_events = v->events,
                    .n_exciter_events = events_before(v->events, v->n_events, steps),
                    .inputs = s->run_inputs,
                    .n_inputs = n_inputs,
                    .oversampling = s->oversampling,
                    .outputs = v->run.channels,
                    .writes = v->run.writes,
                    .frame_writes = v->run.frame_writes,
                },
            .frame_dt = v->run.frame_dt,
        };
    }
    if (s->n_run_voices)
        s->batch.advance_voices(s->batch.ctx, steps, s->n_run_voices, s->runs);
    consume_run_inputs(s, steps);
    replay_run(s);
    s->run_first += s->run_frames;
    s->run_frames = 0;
    s->frame_step = 0;
}

/* The run takes the voices sounding at its first frame. */
static SPRUNG_REALTIME void begin_run(SprungEngineVoices *s, const uint32_t *sounding,
                                      uint32_t n_sounding)
{
    memcpy(s->run_voices, sounding, n_sounding * sizeof *sounding);
    s->n_run_voices = n_sounding;
    for (uint32_t n = 0; n < n_sounding; ++n) {
        VoiceRun *run = &s->voices[sounding[n]].run;
        run->n_writes = 0;
        run->frame_writes[0] = 0;
        run->quiet_bound = run->quiet;
    }
}

/* Steps 3 and 4's planning of the run's next frame for every run voice:
 * pitch, time step, fade gain, release, restart, the words modulation
 * changed. Returns 1 when the run must end after this frame: a voice may
 * be freed at it, or lacks room for another frame. */
static SPRUNG_REALTIME int plan_frame(SprungEngineVoices *s)
{
    uint32_t k = s->run_frames;
    int end = 0;
    for (uint32_t n = 0; n < s->n_run_voices; ++n) {
        uint32_t index = s->run_voices[n];
        Voice *v = &s->voices[index];
        VoiceRun *run = &v->run;
        sprung_voices_pitch(s, index);
        run->frame_dt[k] = v->model.dt;
        run->gain[k] = sprung_voice_fade_gain(&s->allocator, index);
        run->released[k] = s->allocator.slots[index].status == SPRUNG_VOICE_RELEASED;
        run->restarted[k] = (uint8_t)v->quiet_restart;
        v->quiet_restart = 0;
        run->n_writes += sprung_modulation_watch_collect(run->watch, run->writes + run->n_writes);
        run->frame_writes[k + 1] = run->n_writes;
        v->primed = 1;
        if (run->restarted[k])
            run->quiet_bound = 0;
        if (run->released[k] && ++run->quiet_bound >= s->quiet_limit)
            end = 1;
        if (run->n_writes + sprung_modulation_watch_words(run->watch) > s->writes_capacity ||
            v->n_starts + s->max_starts > s->starts_capacity ||
            v->n_events + s->max_events > s->events_capacity)
            end = 1;
    }
    s->run_frames = k + 1;
    s->frame_step = s->run_frames * s->oversampling;
    return end;
}

SPRUNG_REALTIME void sprung_voices_batch_process(SprungEngineVoices *s, const SprungBlock *block,
                                                 uint32_t n_inputs)
{
    float input_frame[VOICES_MAX_INPUTS];
    const float *inputs[VOICES_MAX_INPUTS];
    uint32_t sounding[SPRUNG_MAX_VOICES];
    uint32_t e = 0;
    s->run_first = 0;
    s->run_frames = 0;
    s->frame_step = 0;
    for (uint32_t f = 0; f < block->n_frames; ++f) {
        /* Steps 1 and 2; notes struck now begin at this frame's step. */
        sprung_voices_frame_control(s, block, f, &e, n_inputs, input_frame, inputs);
        uint32_t n_sounding = sounding_voices(s, sounding);
        if (s->run_frames && !same_voices(sounding, n_sounding, s->run_voices, s->n_run_voices))
            flush_run(s, block, n_inputs);
        if (s->run_frames == 0)
            begin_run(s, sounding, n_sounding);
        if (plan_frame(s))
            flush_run(s, block, n_inputs);
        /* 5. Fades move on; a voice whose fade ended restarts from rest
         * with its note at the next frame, in a new run. */
        uint32_t started[SPRUNG_MAX_VOICES];
        uint32_t n_started = sprung_voice_allocator_advance(&s->allocator, 1, started);
        if (n_started) {
            flush_run(s, block, n_inputs);
            sprung_voices_restart(s, started, n_started);
        }
    }
    flush_run(s, block, n_inputs);
}
