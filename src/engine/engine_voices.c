/* Instanced mode: voices, allocation and stealing, MPE pitch by time
 * dilation, per-voice modulation (engine_voices.h says what happens per
 * frame), and the voices stepped by a backend each, frame by frame (one
 * backend for all of them, a GPU's: engine_voices_batch.c). new/free on the
 * control thread; the rest never allocates. */
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_voices_internal.h"
#include "engine/voice_pitch.h"
#include "model/model.h"

/* ---- Control thread ---- */

static void voice_free(Voice *v)
{
    if (v->has_backend && v->backend.destroy)
        v->backend.destroy(v->backend.ctx);
    sprung_state_free(&v->state);
    free(v->pulse_next);
    free(v->starts);
    free(v->events);
    free(v->inv_mass);
    free(v->drag);
    free(v->stiffness);
    free(v->damping);
    free(v->rest_length);
    free(v->preload);
    free(v->mic_left);
    free(v->mic_right);
    free(v->mic_gain);
    free(v->exciter_strength);
    free(v->delay_steps);
    free(v->mallet_strength);
    free(v->exciter_frequency);
    free(v->root_increment);
    free(v->mic_gain_value);
    free(v->mic_pan);
    free(v->frame_out);
}

void sprung_engine_voices_free(SprungEngineVoices *s)
{
    if (!s)
        return;
    sprung_worker_pool_free(s->pool); /* first: its threads step the voices */
    sprung_voices_batch_free(s);
    if (s->voices)
        for (uint32_t v = 0; v < s->n_voices; ++v)
            voice_free(&s->voices[v]);
    free(s->voices);
    sprung_modulation_free(s->modulation);
    free(s->routes);
    free(s->mic_stereo);
    free(s->preset_mic_gain);
    free(s->preset_mic_pan);
    free(s->triggers);
    free(s->mic_sum);
    sprung_decimator_free(&s->decimator);
    for (uint32_t k = 0; k < s->n_extra_decimators; ++k)
        sprung_decimator_free(&s->extra_decimators[k]);
    free(s->extra_decimators);
    free(s->discard);
    free(s->discard_out);
    free(s);
}

/* The per-voice arrays back to the preset's values. */
static SPRUNG_REALTIME void voice_arrays_reset(const SprungEngineVoices *s, Voice *v)
{
    const SprungCompiled *c = s->compiled;
    memcpy(v->inv_mass, c->inv_mass, c->n_nodes * sizeof(float));
    memcpy(v->drag, c->drag, c->n_nodes * sizeof(float));
    memcpy(v->stiffness, c->spring_stiffness, c->n_springs * sizeof(float));
    memcpy(v->damping, c->spring_damping, c->n_springs * sizeof(float));
    memcpy(v->rest_length, c->spring_rest_length, c->n_springs * sizeof(float));
    memcpy(v->preload, c->spring_preload, c->n_springs * sizeof(float));
    memcpy(v->mic_left, c->mic_gain_left, c->n_microphones * sizeof(float));
    memcpy(v->mic_right, c->mic_gain_right, c->n_microphones * sizeof(float));
    memcpy(v->mic_gain, c->mic_gain, c->n_microphones * sizeof(float));
    memcpy(v->exciter_strength, c->exciter_strength, c->n_exciters * sizeof(float));
    memcpy(v->delay_steps, c->delay_steps, c->n_delays * sizeof(uint32_t));
    memcpy(v->mallet_strength, c->mallet_strength, c->n_mallets * sizeof(double));
    memcpy(v->exciter_frequency, c->exciter_frequency, c->n_exciters * sizeof(double));
    memcpy(v->mic_gain_value, s->preset_mic_gain, c->n_microphones * sizeof(double));
    memcpy(v->mic_pan, s->preset_mic_pan, c->n_microphones * sizeof *v->mic_pan);
}

/* Points the voice's kernel views at its own arrays, with its dt. */
static SPRUNG_REALTIME void voice_views_set(const SprungEngineVoices *s, Voice *v)
{
    v->model.dt = (float)(s->compiled->dt * v->scale);
    if (v->has_backend)
        v->backend.set_views(v->backend.ctx, &v->model, &v->feature_model);
}

/* Voice v's state, arrays and views; and its own backend from `factory`
 * unless the voices share one (batch mode). */
static SprungStatus voice_new(SprungEngineVoices *s, const SprungEngineConfig *config,
                              const SprungBackendFactory *factory, uint32_t device, Voice *v,
                              SprungError *error)
{
    const SprungCompiled *c = s->compiled;
    SprungStatus status = sprung_state_new(c, &v->state);
    if (status != SPRUNG_OK)
        return sprung_error_set(error, status, NULL, 0, 0, NULL,
                                "out of memory for the voices' state");
    v->pulse_next = calloc(N1(c->n_mallets), sizeof *v->pulse_next);
    v->starts = calloc(s->starts_capacity, sizeof *v->starts);
    v->events = calloc(s->events_capacity, sizeof *v->events);
    v->inv_mass = calloc(N1(c->n_nodes), sizeof(float));
    v->drag = calloc(N1(c->n_nodes), sizeof(float));
    v->stiffness = calloc(N1(c->n_springs), sizeof(float));
    v->damping = calloc(N1(c->n_springs), sizeof(float));
    v->rest_length = calloc(N1(c->n_springs), sizeof(float));
    v->preload = calloc(N1(c->n_springs), sizeof(float));
    v->mic_left = calloc(N1(c->n_microphones), sizeof(float));
    v->mic_right = calloc(N1(c->n_microphones), sizeof(float));
    v->mic_gain = calloc(N1(c->n_microphones), sizeof(float));
    v->exciter_strength = calloc(N1(c->n_exciters), sizeof(float));
    v->delay_steps = calloc(N1(c->n_delays), sizeof(uint32_t));
    v->mallet_strength = calloc(N1(c->n_mallets), sizeof(double));
    v->exciter_frequency = calloc(N1(c->n_exciters), sizeof(double));
    v->root_increment = calloc(N1(c->n_exciters), sizeof(double));
    v->mic_gain_value = calloc(N1(c->n_microphones), sizeof(double));
    v->mic_pan = calloc(N1(c->n_microphones), sizeof *v->mic_pan);
    v->frame_out = calloc((size_t)c->n_channels * config->oversampling, sizeof *v->frame_out);
    if (!v->frame_out)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory for the voices");
    for (uint32_t ch = 0; ch < c->n_channels; ++ch)
        v->frame_channels[ch] = v->frame_out + (size_t)ch * config->oversampling;
    if (!v->pulse_next || !v->starts || !v->events || !v->inv_mass || !v->drag ||
        !v->stiffness || !v->damping || !v->rest_length || !v->preload || !v->mic_left ||
        !v->mic_right || !v->mic_gain || !v->exciter_strength || !v->delay_steps ||
        !v->mallet_strength || !v->exciter_frequency || !v->root_increment ||
        !v->mic_gain_value || !v->mic_pan)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory for the voices");
    voice_arrays_reset(s, v);
    if (!factory->create_voices) {
        status = factory->create(c, &v->state, device, config, &v->backend, error);
        if (status != SPRUNG_OK)
            return status;
        v->has_backend = 1;
        if (!v->backend.set_views || !v->backend.advance_features)
            return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "engine config", 0, 0,
                                    "backend",
                                    "backend \"%s\" cannot play voices (instanced mode); "
                                    "use cpu",
                                    v->backend.name);
    }
    v->model = sprung_compiled_step_model(c);
    v->feature_model = sprung_compiled_feature_model(c);
    v->model.inv_mass = v->inv_mass;
    v->model.drag = v->drag;
    v->model.spring_stiffness = v->stiffness;
    v->model.spring_damping = v->damping;
    v->model.spring_rest_length = v->rest_length;
    v->model.spring_preload = v->preload;
    v->model.mic_gain_left = v->mic_left;
    v->model.mic_gain_right = v->mic_right;
    v->feature_model.mic_gain = v->mic_gain;
    v->feature_model.exciter_strength = v->exciter_strength;
    v->feature_model.delay_steps = v->delay_steps;
    v->scale = 1.0;
    sprung_one_pole_init(&v->bend, 0.0, VOICES_BEND_SMOOTHING_MS, s->sample_rate);
    voice_views_set(s, v);
    return SPRUNG_OK;
}

/* Tests only (sprung_engine_voices_testing_pool_sabotage): a
 * SprungWorkerPoolSabotage for the pools made from now on. */
static int voices_pool_sabotage;

void sprung_engine_voices_testing_pool_sabotage(int sabotage)
{
    voices_pool_sabotage = sabotage;
}

/* Worker threads for the voices' steps: SPRUNG_VOICE_THREADS=N, else the
 * measured rule (VOICES_POOL_MIN_*), never more than the voices. */
static uint32_t voices_pool_threads(const SprungEngineVoices *s)
{
    uint32_t threads = 1;
    const char *setting = getenv("SPRUNG_VOICE_THREADS");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (setting && *setting)
        threads = (uint32_t)strtoul(setting, NULL, 10);
    else if (cores >= VOICES_POOL_MIN_CORES &&
             (uint64_t)s->compiled->n_springs * s->n_voices >= VOICES_POOL_MIN_SPRINGS)
        threads = (uint32_t)(cores / 2);
    if (threads > s->n_voices)
        threads = s->n_voices;
    if (s->has_batch)
        threads = 1; /* the backend steps every voice in one launch */
    return threads < 1 ? 1 : threads;
}

SprungStatus sprung_engine_voices_new(const SprungModel *model, SprungCompiled *compiled,
                                      const SprungEngineConfig *config,
                                      SprungEngineVoices **out, SprungError *error)
{
    *out = NULL;
    const SprungModelInstrument *spec = model->instrument;
    SprungEngineVoices *s = calloc(1, sizeof *s);
    if (!s)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory for the voices");
    SprungStatus status = SPRUNG_OK;
    const SprungCompiled *c = compiled;
    s->compiled = compiled;
    s->n_voices = spec->voices > SPRUNG_MAX_VOICES ? SPRUNG_MAX_VOICES : spec->voices;
    s->oversampling = config->oversampling;
    s->max_block_frames = config->max_block_frames;
    s->sample_rate = config->sample_rate;
    s->root = spec->root;
    s->note_low = spec->note_low;
    s->note_high = spec->note_high;
    s->max_scale = sprung_voice_time_scale(spec->note_high, 0.0, spec->root);
    s->quiet_limit = (uint32_t)(VOICES_QUIET_SECONDS * config->sample_rate);
    s->frame_time = 1.0 / config->sample_rate;
    /* A frame may strike a voice a few times (a restrike, a restart). */
    s->max_starts = 4 * c->n_mallets + 4;
    s->max_events = 4 * c->n_exciters + 4;
    const SprungBackendFactory *factory = sprung_engine_testing_factory_in_use();
    uint32_t device = 0;
    if (!factory)
        status = sprung_backend_choose(c, config, &factory, &device, error);
    if (status != SPRUNG_OK)
        goto fail;
    /* Batch mode buffers a run of frames: room for runs of many frames,
     * cut short when a frame's worth is not left (engine_voices_batch.c). */
    int batch = factory->create_voices != NULL;
    s->starts_capacity = batch ? SPRUNG_BACKEND_MAX_PULSE_STARTS : s->max_starts;
    s->events_capacity = batch ? SPRUNG_BACKEND_MAX_EXCITER_EVENTS : s->max_events;
    if (s->starts_capacity < s->max_starts || s->events_capacity < s->max_events) {
        status = sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "engine config", 0, 0,
                                  "backend", "backend \"%s\": a frame of these voices may "
                                  "strike more mallets or exciters than it takes; use cpu",
                                  factory->name);
        goto fail;
    }
    double fade_frames = round(spec->steal_fade_ms * 1e-3 * config->sample_rate);
    sprung_voice_allocator_init(&s->allocator, s->n_voices,
                                fade_frames < 1.0 ? 1u : (uint32_t)fade_frames);

    status = sprung_modulation_new(spec, s->n_voices, config->sample_rate, model->source,
                                   &s->modulation, error);
    if (status != SPRUNG_OK)
        goto fail;
    s->mpe = sprung_modulation_mpe(s->modulation);
    s->n_routes = spec->n_routes;
    s->routes = calloc(N1(spec->n_routes), sizeof *s->routes);
    s->mic_stereo = calloc(N1(c->n_microphones), sizeof *s->mic_stereo);
    s->preset_mic_gain = calloc(N1(c->n_microphones), sizeof *s->preset_mic_gain);
    s->preset_mic_pan = calloc(N1(c->n_microphones), sizeof *s->preset_mic_pan);
    s->max_triggers = sprung_modulation_max_triggers(s->modulation);
    s->triggers = calloc(N1(s->max_triggers), sizeof *s->triggers);
    s->mic_sum = calloc(N1(c->n_microphones), sizeof *s->mic_sum);
    s->voices = calloc(s->n_voices, sizeof *s->voices);
    size_t steps = (size_t)config->max_block_frames * config->oversampling;
    s->discard = calloc(steps, sizeof *s->discard);
    s->discard_out = calloc(config->max_block_frames, sizeof *s->discard_out);
    s->n_extra_decimators = config->oversampling > 1 ? (c->n_channels - 1) / 2 : 0;
    s->extra_decimators = calloc(N1(s->n_extra_decimators), sizeof *s->extra_decimators);
    if (!s->routes || !s->mic_stereo || !s->preset_mic_gain || !s->preset_mic_pan ||
        !s->triggers || !s->mic_sum || !s->voices || !s->discard || !s->discard_out ||
        !s->extra_decimators) {
        status = sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                  "out of memory for the voices");
        goto fail;
    }
    for (uint32_t r = 0; r < spec->n_routes; ++r) {
        s->routes[r] = spec->routes[r];
        s->routes[r].json = NULL;
    }
    for (uint32_t i = 0; i < c->n_microphones; ++i) {
        s->mic_stereo[i] = model->microphones[i].output == SPRUNG_MIC_OUTPUT_PAN;
        s->preset_mic_gain[i] = model->microphones[i].gain;
        sprung_mic_pan_init(&s->preset_mic_pan[i], model->microphones[i].pan);
    }
    status = sprung_decimator_init(&s->decimator, config->sample_rate, config->oversampling,
                                   config->max_block_frames);
    for (uint32_t k = 0; k < s->n_extra_decimators && status == SPRUNG_OK; ++k) {
        status = sprung_decimator_init(&s->extra_decimators[k], config->sample_rate,
                                       config->oversampling, config->max_block_frames);
        if (status != SPRUNG_OK)
            s->n_extra_decimators = k; /* free only the initialised ones */
    }
    if (status != SPRUNG_OK) {
        sprung_error_set(error, status, NULL, 0, 0, NULL,
                         "out of memory for the decimation filters");
        goto fail;
    }
    for (uint32_t v = 0; v < s->n_voices; ++v) {
        status = voice_new(s, config, factory, device, &s->voices[v], error);
        if (status != SPRUNG_OK)
            goto fail;
    }
    if (batch) {
        status = sprung_voices_batch_new(s, model, factory, device, config, error);
        if (status != SPRUNG_OK)
            goto fail;
    }
    uint32_t threads = voices_pool_threads(s);
    if (threads > 1 && sprung_worker_pool_new_sabotaged(threads, voices_pool_sabotage,
                                                        &s->pool) != SPRUNG_OK)
        s->pool = NULL; /* no threads to be had: the voices step here, as before */
    sprung_worker_pool_match_audio(s->pool, config->worker_priority);
    *out = s;
    return SPRUNG_OK;

fail:
    sprung_engine_voices_free(s);
    return status;
}

uint32_t sprung_engine_voices_threads(const SprungEngineVoices *s)
{
    return s && s->pool ? sprung_worker_pool_workers(s->pool) : 1;
}

int sprung_engine_voices_worker_priority(const SprungEngineVoices *s)
{
    int policy = 0, priority = 0;
    sprung_worker_pool_priority(s ? s->pool : NULL, &policy, &priority);
    return policy == SCHED_FIFO ? priority : 0;
}

uint32_t sprung_engine_voices_count(const SprungEngineVoices *s)
{
    return s ? s->n_voices : 0;
}

const SprungState *sprung_engine_voices_state(const SprungEngineVoices *s, uint32_t voice)
{
    if (!s || voice >= s->n_voices)
        return NULL;
    Voice *v = &s->voices[voice];
    const SprungBackend *backend = s->has_batch ? &s->batch : &v->backend;
    if (backend->sync_state)
        backend->sync_state(backend->ctx);
    return &v->state;
}

double sprung_engine_voices_time_scale(const SprungEngineVoices *s, uint32_t voice)
{
    return s && voice < s->n_voices ? s->voices[voice].scale : 0.0;
}

int sprung_engine_voices_slot(const SprungEngineVoices *s, uint32_t voice, uint8_t *note)
{
    if (!s || voice >= s->n_voices)
        return -1;
    if (note)
        *note = s->allocator.slots[voice].note.note;
    return (int)s->allocator.slots[voice].status;
}

/* ---- Audio thread ---- */

/* The voice's time scale from its note and smoothed bend, clamped to the
 * highest playable note's. */
static SPRUNG_REALTIME double voice_scale(const SprungEngineVoices *s, const Voice *v,
                                          uint8_t note)
{
    double scale = sprung_voice_time_scale(note, v->bend.value, s->root);
    return scale > s->max_scale ? s->max_scale : scale;
}

/* An oscillator's phase per step at the root in real time: its fixed
 * frequency, else the root note's pitch (the voice's scale then makes it
 * the note's). */
static SPRUNG_REALTIME double oscillator_root_increment(const SprungEngineVoices *s,
                                                        const Voice *v, uint32_t e)
{
    const SprungCompiled *c = s->compiled;
    double hz = v->exciter_frequency[e] > 0.0 ? v->exciter_frequency[e]
                                              : 440.0 * exp2((s->root - 69.0) / 12.0);
    return hz * c->dt;
}

/* Strikes voice v with a note: a pulse on every mallet (the impulse
 * compensated for the dilation, so the voice receives the same impulse in
 * its own time at every note) and a note-on for every exciter that follows
 * notes. */
static SPRUNG_REALTIME void voice_strike(SprungEngineVoices *s, Voice *v, uint8_t velocity)
{
    const SprungCompiled *c = s->compiled;
    for (uint32_t m = 0; m < c->n_mallets && v->n_starts < s->starts_capacity; ++m) {
        uint32_t slot = m * SPRUNG_PULSE_SLOTS + v->pulse_next[m];
        v->pulse_next[m] = (v->pulse_next[m] + 1) % SPRUNG_PULSE_SLOTS;
        double impulse = v->mallet_strength[m] * velocity / 127.0 / v->scale;
        v->starts[v->n_starts++] =
            (SprungPulseStart){.step = s->frame_step, .slot = slot, .amplitude = (float)impulse};
    }
    double vel = velocity / 127.0;
    for (uint32_t e = 0; e < c->n_exciters && v->n_events < s->events_capacity; ++e) {
        uint32_t kind = c->exciter_kind[e];
        if (kind == SPRUNG_KERNEL_EXCITER_AUDIO_INPUT && !c->exciter_gated[e])
            continue;
        double increment = 0.0;
        if (kind == SPRUNG_KERNEL_EXCITER_OSCILLATOR) {
            v->root_increment[e] = oscillator_root_increment(s, v, e);
            increment = v->root_increment[e] * v->scale;
            if (!(increment < 0.5))
                continue;
        } else if (kind == SPRUNG_KERNEL_EXCITER_PLUCK) {
            increment = c->exciter_speed[e] * vel * c->dt * v->scale;
        } else if (kind == SPRUNG_KERNEL_EXCITER_BOW) {
            increment = c->exciter_speed[e] * vel;
        }
        v->events[v->n_events++] = (SprungExciterEvent){.step = s->frame_step,
                                                        .exciter = e,
                                                        .velocity = (float)vel,
                                                        .increment = (float)increment};
    }
}

/* Releases voice v's sustained exciters (a pluck ignores note-offs). */
static SPRUNG_REALTIME void voice_release(SprungEngineVoices *s, Voice *v)
{
    const SprungCompiled *c = s->compiled;
    for (uint32_t e = 0; e < c->n_exciters && v->n_events < s->events_capacity; ++e) {
        uint32_t kind = c->exciter_kind[e];
        if (kind == SPRUNG_KERNEL_EXCITER_PLUCK ||
            (kind == SPRUNG_KERNEL_EXCITER_AUDIO_INPUT && !c->exciter_gated[e]))
            continue;
        v->events[v->n_events++] = (SprungExciterEvent){.step = s->frame_step, .exciter = e};
    }
}

/* The bend a note on `channel` hears now, semitones. */
static SPRUNG_REALTIME double channel_bend(const SprungEngineVoices *s, uint8_t channel)
{
    return sprung_mpe_note_bend_semitones(s->mpe, channel);
}

/* Voice `index` starts its note (allocator slot) from where it is. */
static SPRUNG_REALTIME void voice_start(SprungEngineVoices *s, uint32_t index)
{
    Voice *v = &s->voices[index];
    const SprungVoiceSlot *slot = &s->allocator.slots[index];
    sprung_one_pole_jump(&v->bend, channel_bend(s, slot->note.channel));
    v->scale = voice_scale(s, v, slot->note.note);
    voice_views_set(s, v);
    v->quiet_frames = 0;
    v->quiet_restart = 1;
    sprung_modulation_note_on(s->modulation, index, slot->note.channel, slot->note.note,
                              slot->note.velocity);
    voice_strike(s, v, slot->note.velocity);
}

/* Voice `index` back to rest (its arrays keep their modulated values:
 * shared routes set them again next frame, per-voice smoothers restart). */
SPRUNG_REALTIME void sprung_voices_rest(SprungEngineVoices *s, uint32_t index)
{
    Voice *v = &s->voices[index];
    if (s->has_batch) {
        /* The host's copy is the backend's only in what modulation writes:
         * both go back to rest, and every watched word goes over again. */
        s->batch.reset_voice(s->batch.ctx, index);
        sprung_state_reset(s->compiled, &v->state);
        sprung_modulation_watch_resend(v->run.watch);
        v->run.quiet = 0;
    } else {
        v->backend.reset(v->backend.ctx);
    }
    memset(v->pulse_next, 0, N1(s->compiled->n_mallets) * sizeof *v->pulse_next);
    v->primed = 0;
    v->quiet_frames = 0;
    v->quiet_restart = 1;
    sprung_modulation_voice_started(s->modulation, index);
}

static SPRUNG_REALTIME void note_on(SprungEngineVoices *s, uint8_t channel, uint8_t note,
                                    uint8_t velocity)
{
    if (note < s->note_low || note > s->note_high)
        return;
    SprungVoiceAssignment a = sprung_voice_note_on(&s->allocator, channel, note, velocity);
    if (a.voice >= s->n_voices)
        return;
    if (a.action == SPRUNG_VOICE_START) {
        voice_start(s, a.voice);
    } else if (a.action == SPRUNG_VOICE_RESTRIKE) {
        Voice *v = &s->voices[a.voice];
        v->quiet_frames = 0;
        v->quiet_restart = 1;
        sprung_modulation_note_on(s->modulation, a.voice, channel, note, velocity);
        voice_strike(s, v, velocity);
    }
    /* STEAL / REPLACE: the note starts when the fade ends. */
}

static SPRUNG_REALTIME void note_off(SprungEngineVoices *s, uint8_t channel, uint8_t note)
{
    int index = sprung_voice_note_off(&s->allocator, channel, note);
    if (index < 0 || (uint32_t)index >= s->n_voices)
        return;
    if (s->allocator.slots[index].status != SPRUNG_VOICE_RELEASED)
        return; /* fading: its pending note is marked released */
    sprung_modulation_note_off(s->modulation, (uint32_t)index, channel, note);
    voice_release(s, &s->voices[index]);
}

static SPRUNG_REALTIME void host_event(SprungEngineVoices *s, const SprungEvent *event)
{
    uint8_t value7 = (uint8_t)(event->value > 127 ? 127 : event->value);
    switch (event->type) {
    case SPRUNG_EVENT_NOTE_ON:
        if (event->velocity > 0)
            note_on(s, event->channel, event->note, event->velocity);
        else
            note_off(s, event->channel, event->note);
        break;
    case SPRUNG_EVENT_NOTE_OFF:
        note_off(s, event->channel, event->note);
        break;
    case SPRUNG_EVENT_CONTROL_CHANGE:
        sprung_modulation_control_change(s->modulation, event->channel, event->note, value7);
        break;
    case SPRUNG_EVENT_PITCH_BEND:
        sprung_modulation_pitch_bend(s->modulation, event->channel, event->value);
        break;
    case SPRUNG_EVENT_CHANNEL_PRESSURE:
        sprung_modulation_channel_pressure(s->modulation, event->channel, value7);
        break;
    case SPRUNG_EVENT_POLY_PRESSURE: {
        int index = sprung_voice_find(&s->allocator, event->channel, event->note);
        if (index >= 0)
            sprung_modulation_poly_pressure(s->modulation, (uint32_t)index, value7);
        break;
    }
    default:
        break;
    }
}

static SPRUNG_REALTIME void set_mic(const SprungEngineVoices *s, Voice *v, uint32_t i)
{
    const SprungCompiled *c = s->compiled;
    double gain = v->mic_gain_value[i];
    v->mic_gain[i] = (float)gain;
    if (s->mic_stereo[i]) {
        v->mic_left[i] = (float)(gain * v->mic_pan[i].left);
        v->mic_right[i] = (float)(gain * v->mic_pan[i].right);
    } else if (c->mic_channel[i] < 2) {
        v->mic_left[i] = c->mic_channel[i] == 0 ? (float)gain : 0.0f;
        v->mic_right[i] = c->mic_channel[i] == 1 ? (float)gain : 0.0f;
    }
}

/* Writes a route's value into voice v's arrays (or its state, for a moving
 * anchor): the per-voice twin of engine_modulation.c's apply_route. */
static SPRUNG_REALTIME void apply_route(SprungEngineVoices *s, Voice *v,
                                        const SprungModelRoute *route, double value)
{
    const SprungCompiled *c = s->compiled;
    uint32_t i = route->object;
    switch (route->parameter) {
    case SPRUNG_TARGET_BODY_MASS:
        v->inv_mass[i] = (float)(1.0 / value);
        break;
    case SPRUNG_TARGET_BODY_DRAG:
        v->drag[i] = (float)value;
        break;
    case SPRUNG_TARGET_ANCHOR_X:
    case SPRUNG_TARGET_ANCHOR_Y:
    case SPRUNG_TARGET_ANCHOR_Z: {
        int axis = (int)(route->parameter - SPRUNG_TARGET_ANCHOR_X);
        uint32_t node = c->n_bodies + i;
        float *u = axis == 0 ? v->state.ux : axis == 1 ? v->state.uy : v->state.uz;
        float *vel = axis == 0 ? v->state.vx : axis == 1 ? v->state.vy : v->state.vz;
        const float *rest = axis == 0 ? c->rest_x : axis == 1 ? c->rest_y : c->rest_z;
        float displacement = (float)(value - (double)rest[node]);
        /* The anchor's velocity is in the voice's own time. */
        vel[node] = v->primed ? (float)(((double)displacement - (double)u[node]) /
                                        (s->frame_time * v->scale))
                              : 0.0f;
        u[node] = displacement;
        break;
    }
    case SPRUNG_TARGET_SPRING_STIFFNESS:
        v->stiffness[i] = (float)value;
        break;
    case SPRUNG_TARGET_SPRING_DAMPING:
        v->damping[i] = (float)value;
        break;
    case SPRUNG_TARGET_SPRING_REST_LENGTH:
        v->rest_length[i] = (float)value;
        v->preload[i] = (float)((double)c->spring_length0[i] - value);
        break;
    case SPRUNG_TARGET_MALLET_STRENGTH:
        v->mallet_strength[i] = value;
        break;
    case SPRUNG_TARGET_MIC_GAIN:
        v->mic_gain_value[i] = value;
        set_mic(s, v, i);
        break;
    case SPRUNG_TARGET_MIC_PAN:
        sprung_mic_pan_set(&v->mic_pan[i], value);
        set_mic(s, v, i);
        break;
    case SPRUNG_TARGET_OSCILLATOR_AMPLITUDE:
        v->exciter_strength[i] = (float)value;
        break;
    case SPRUNG_TARGET_OSCILLATOR_FREQUENCY:
        v->exciter_frequency[i] = value;
        break;
    case SPRUNG_TARGET_DELAY_TIME: {
        double steps = round(value * 1e-3 * s->sample_rate * s->oversampling);
        uint32_t most = c->delay_ring_length[i] > 1 ? c->delay_ring_length[i] - 1 : 1;
        v->delay_steps[i] = steps < 1.0 ? 1u : steps > most ? most : (uint32_t)steps;
        break;
    }
    default:
        break;
    }
}

/* Follows the voice's bend: a new time step, and its oscillators' phase
 * increments (and partial counts) with it. */
SPRUNG_REALTIME void sprung_voices_pitch(SprungEngineVoices *s, uint32_t index)
{
    Voice *v = &s->voices[index];
    const SprungVoiceSlot *slot = &s->allocator.slots[index];
    sprung_one_pole_set_target(&v->bend, channel_bend(s, slot->note.channel));
    sprung_one_pole_next(&v->bend);
    double scale = voice_scale(s, v, slot->note.note);
    if (scale == v->scale)
        return;
    v->scale = scale;
    voice_views_set(s, v);
    const SprungCompiled *c = s->compiled;
    for (uint32_t e = 0; e < c->n_exciters; ++e) {
        if (c->exciter_kind[e] != SPRUNG_KERNEL_EXCITER_OSCILLATOR)
            continue;
        double increment = v->root_increment[e] * v->scale;
        if (!(increment > 0.0 && increment < 0.5))
            continue;
        v->state.exciter_increment[e] = (float)increment;
        float partials = c->exciter_harmonic_limit[e] / (float)increment;
        unsigned int harmonics = partials >= (float)SPRUNG_MAX_HARMONICS
                                     ? SPRUNG_MAX_HARMONICS
                                     : (unsigned int)partials;
        v->state.exciter_harmonics[e] = harmonics < 1u ? 1u : harmonics;
    }
}

/* Step 4's physics for the sounding voices worker `worker` of `n_workers`
 * takes (every n_workers-th): each voice renders the frame's engine steps
 * into its own frame_out. Voices share nothing they write, so the workers
 * need no barrier; the caller sums them afterwards in index order (the same
 * bits as one after another). A SprungWorkerTask. */
static SPRUNG_REALTIME void voices_step_task(void *ctx, uint32_t worker, uint32_t n_workers)
{
    SprungEngineVoices *s = ctx;
    for (uint32_t k = worker; k < s->n_sounding; k += n_workers) {
        Voice *v = &s->voices[s->sounding[k]];
        SprungFeatureIo io = {
            .exciter_events = v->events,
            .n_exciter_events = v->n_events,
            .inputs = s->frame_inputs,
            .n_inputs = s->n_frame_inputs,
            .oversampling = s->oversampling,
            .outputs = v->frame_channels,
        };
        v->backend.advance_features(v->backend.ctx, s->oversampling, v->starts, v->n_starts,
                                    &io);
        v->n_starts = 0;
        v->n_events = 0;
        v->primed = 1;
    }
}

SPRUNG_REALTIME float sprung_voices_add(SprungEngineVoices *s, float *const *voice_channels,
                                        size_t offset, float gain, size_t first)
{
    float loudest = 0.0f;
    for (uint32_t ch = 0; ch < s->compiled->n_channels; ++ch)
        for (uint32_t k = 0; k < s->oversampling; ++k) {
            float sample = voice_channels[ch][offset + k] * gain;
            s->channels[ch][first + k] += sample;
            float magnitude = fabsf(sample);
            loudest = magnitude > loudest ? magnitude : loudest;
        }
    return loudest;
}

SPRUNG_REALTIME int sprung_voices_quiet(const SprungEngineVoices *s, uint32_t *quiet_frames,
                                        float loudest)
{
    *quiet_frames = loudest < VOICES_QUIET_LEVEL ? *quiet_frames + 1 : 0;
    return *quiet_frames >= s->quiet_limit;
}

/* Steps 3 and 4 of frame f: the sounding voices' pitch, their steps (on the
 * pool when there is one), then, in index order, their sum into the
 * channels (a fading voice times its gain) and the microphones' sum, and
 * step 5's freeing of a released voice that stayed silent. */
static SPRUNG_REALTIME void voices_render_frame(SprungEngineVoices *s, uint32_t f)
{
    const SprungCompiled *c = s->compiled;
    const uint32_t r = s->oversampling;
    s->n_sounding = 0;
    for (uint32_t index = 0; index < s->n_voices; ++index) {
        if (s->allocator.slots[index].status == SPRUNG_VOICE_FREE)
            continue;
        sprung_voices_pitch(s, index);
        s->sounding[s->n_sounding++] = index;
    }
    if (s->pool && s->n_sounding > 1)
        sprung_worker_pool_run(s->pool, voices_step_task, s);
    else
        voices_step_task(s, 0, 1);

    memset(s->mic_sum, 0, N1(c->n_microphones) * sizeof *s->mic_sum);
    size_t first = (size_t)f * r;
    for (uint32_t ch = 0; ch < c->n_channels; ++ch)
        for (uint32_t k = 0; k < r; ++k)
            s->channels[ch][first + k] = 0.0f;
    for (uint32_t n = 0; n < s->n_sounding; ++n) {
        uint32_t index = s->sounding[n];
        Voice *v = &s->voices[index];
        float gain = sprung_voice_fade_gain(&s->allocator, index);
        float loudest = sprung_voices_add(s, v->frame_channels, 0, gain, first);
        for (uint32_t i = 0; i < c->n_microphones; ++i)
            s->mic_sum[i] += v->state.mic_value[i];
        /* 5. A released voice that stays silent is freed. */
        if (s->allocator.slots[index].status == SPRUNG_VOICE_RELEASED &&
            sprung_voices_quiet(s, &v->quiet_frames, loudest)) {
            sprung_voice_free(&s->allocator, index);
            sprung_voices_rest(s, index);
        }
    }
}

SPRUNG_REALTIME void sprung_voices_frame_control(SprungEngineVoices *s, const SprungBlock *block,
                                                 uint32_t f, uint32_t *next_event,
                                                 uint32_t n_inputs, float *input_frame,
                                                 const float **inputs)
{
    const SprungCompiled *c = s->compiled;
    /* 1. The host's events at f. */
    uint32_t e = *next_event;
    for (; e < block->n_events && block->events[e].frame == f; ++e)
        host_event(s, &block->events[e]);
    *next_event = e;

    /* 2. Modulation: sources, Note Triggers (notes at f), routes. */
    for (uint32_t ch = 0; ch < n_inputs; ++ch) {
        input_frame[ch] = block->inputs[ch] ? block->inputs[ch][f] : 0.0f;
        inputs[ch] = block->inputs[ch] ? block->inputs[ch] + f : NULL;
    }
    SprungModulationInputs sensed = {n_inputs ? input_frame : NULL, n_inputs, s->mic_sum,
                                     c->n_microphones};
    uint32_t n_triggers = sprung_modulation_frame(s->modulation, &sensed, s->triggers);
    for (uint32_t t = 0; t < n_triggers; ++t) {
        const SprungTriggerEvent *trigger = &s->triggers[t];
        if (trigger->on)
            note_on(s, trigger->channel, trigger->note, trigger->velocity);
        else
            note_off(s, trigger->channel, trigger->note);
    }
    for (uint32_t route = 0; route < s->n_routes; ++route) {
        if (s->routes[route].kind != SPRUNG_ROUTE_PARAMETER)
            continue;
        int per_voice = sprung_modulation_route_per_voice(s->modulation, route);
        double shared = per_voice ? 0.0 : sprung_modulation_route_value(s->modulation, route, 0);
        for (uint32_t v = 0; v < s->n_voices; ++v)
            apply_route(s, &s->voices[v], &s->routes[route],
                        per_voice ? sprung_modulation_route_value(s->modulation, route, v)
                                  : shared);
    }
}

SPRUNG_REALTIME void sprung_voices_restart(SprungEngineVoices *s, const uint32_t *started,
                                           uint32_t n)
{
    for (uint32_t k = 0; k < n; ++k) {
        uint32_t index = started[k];
        sprung_voices_rest(s, index);
        voice_start(s, index);
        if (s->allocator.slots[index].status == SPRUNG_VOICE_RELEASED) {
            const SprungVoiceNote *note = &s->allocator.slots[index].note;
            sprung_modulation_note_off(s->modulation, index, note->channel, note->note);
            voice_release(s, &s->voices[index]);
        }
    }
}

SPRUNG_REALTIME void sprung_engine_voices_process(SprungEngineVoices *s,
                                                  const SprungBlock *block)
{
    const SprungCompiled *c = s->compiled;
    const uint32_t r = s->oversampling;
    const uint32_t n_channels = c->n_channels;
    for (uint32_t ch = 0; ch < n_channels; ++ch) {
        if (r > 1)
            s->channels[ch] =
                ch < 2 ? sprung_decimator_input(&s->decimator, ch)
                       : sprung_decimator_input(&s->extra_decimators[(ch - 2) / 2], (ch - 2) % 2);
        else
            s->channels[ch] = ch < block->n_outputs ? block->outputs[ch] : s->discard;
    }
    uint32_t n_inputs = block->inputs ? block->n_inputs : 0;
    if (n_inputs > VOICES_MAX_INPUTS)
        n_inputs = VOICES_MAX_INPUTS;

    if (s->has_batch) {
        sprung_voices_batch_process(s, block, n_inputs);
    } else {
        float input_frame[VOICES_MAX_INPUTS];
        const float *inputs[VOICES_MAX_INPUTS];
        s->frame_inputs = inputs;
        s->n_frame_inputs = n_inputs;
        uint32_t e = 0;
        for (uint32_t f = 0; f < block->n_frames; ++f) {
            sprung_voices_frame_control(s, block, f, &e, n_inputs, input_frame, inputs);
            /* 3, 4. Pitch, then every sounding voice's steps, summed. */
            voices_render_frame(s, f);
            /* 5. Fades move on; finished ones restart from rest with their note. */
            uint32_t started[SPRUNG_MAX_VOICES];
            uint32_t n_started = sprung_voice_allocator_advance(&s->allocator, 1, started);
            sprung_voices_restart(s, started, n_started);
        }
    }

    if (r > 1)
        sprung_decimators_run(&s->decimator, s->extra_decimators, s->n_extra_decimators,
                              block->n_frames, block->outputs, block->n_outputs, s->discard_out);
    for (uint32_t ch = n_channels; ch < block->n_outputs; ++ch)
        memset(block->outputs[ch], 0, (size_t)block->n_frames * sizeof(float));
}

SPRUNG_REALTIME void sprung_engine_voices_reset(SprungEngineVoices *s)
{
    sprung_voice_allocator_reset(&s->allocator);
    sprung_modulation_reset(s->modulation);
    for (uint32_t index = 0; index < s->n_voices; ++index) {
        Voice *v = &s->voices[index];
        sprung_voices_rest(s, index);
        voice_arrays_reset(s, v);
        v->n_starts = 0;
        v->n_events = 0;
        sprung_one_pole_jump(&v->bend, 0.0);
        v->scale = 1.0;
        voice_views_set(s, v);
    }
    memset(s->mic_sum, 0, N1(s->compiled->n_microphones) * sizeof *s->mic_sum);
    sprung_decimator_reset(&s->decimator);
    for (uint32_t k = 0; k < s->n_extra_decimators; ++k)
        sprung_decimator_reset(&s->extra_decimators[k]);
}

SPRUNG_REALTIME void sprung_engine_voices_set_macro(SprungEngineVoices *s, uint32_t index,
                                                    double value)
{
    sprung_modulation_set_macro(s->modulation, index, value);
}

SPRUNG_REALTIME uint16_t sprung_engine_voices_channels_reached(const SprungEngineVoices *s,
                                                               uint8_t channel)
{
    return sprung_mpe_channels_reached(s->mpe, channel);
}
