/* SprungEngine: config validation, creation and teardown (control thread),
 * and block processing with sample-exact events (audio thread). The physics
 * runs in a backend (src/backend/); the engine turns events into mallet
 * pulses at their exact engine step, splits each block into runs between
 * events, and decimates the engine-rate mix to the output rate. Modulated
 * models render frame by frame (engine_modulation.h), or, on a backend
 * with its own copy of the constants, a block at a time with the words
 * modulation changed in each frame (modulation_writes.h); instanced models
 * ("voices") are handed whole to engine_voices.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE__)
#  include <xmmintrin.h>
#endif

#include "backend/backend.h"
#include "engine/compiled.h"
#include "engine/decimator.h"
#include "engine/engine_modulation.h"
#include "engine/engine_voices.h"
#include "engine/engine_internal.h"
#include "engine/modulation_writes.h"
#include "model/analysis.h"
#include "model/model.h"
#include "model/model_modulation.h"
#include "sprung/engine.h"

#define ENGINE_MIN_SAMPLE_RATE 8000.0
#define ENGINE_MAX_SAMPLE_RATE 384000.0
#define ENGINE_MAX_BLOCK_FRAMES 65536u
#define ENGINE_CONFIG_SOURCE "engine config"
/* Audio input channels a block may pass (exciters read channels 0..63). */
#define ENGINE_MAX_INPUTS 64u
/* Modulated models: host events one frame may carry (more are dropped). */
#define ENGINE_FRAME_EVENTS 256u

struct SprungEngine {
    SprungEngineConfig config;
    SprungCompiled *compiled;
    SprungState state;
    SprungBackend backend;
    SprungDecimator decimator;
    uint32_t *pulse_next; /* per mallet: ring position of its next pulse */
    SprungPulseStart *pulse_starts; /* this block's, SPRUNG_BACKEND_MAX_PULSE_STARTS */
    char backend_spec[32]; /* config.backend points here */
    uint64_t steps;       /* engine steps since creation or reset */

    /* Feature models only (compiled->features != 0). */
    uint8_t *exciter_note;          /* per exciter: the note it plays, or NO_NOTE */
    SprungExciterEvent *exciter_events; /* this run's, SPRUNG_BACKEND_MAX_EXCITER_EVENTS */
    SprungDecimator *extra_decimators;  /* channels 2.., two per decimator */
    uint32_t n_extra_decimators;
    float *discard;                 /* engine-rate sink for channels the block lacks */
    float *discard_out;             /* output-rate sink likewise */
    float *channels[SPRUNG_MAX_CHANNELS];     /* this block's engine-rate channel buffers */
    float *run_channels[SPRUNG_MAX_CHANNELS]; /* ... from the current run's first step */
    const float *run_inputs[ENGINE_MAX_INPUTS];

    /* Modulated models (engine_modulation.h): rendered one frame at a time,
     * or, when the backend applies writes, a block per call with the words
     * each frame changed. */
    SprungEngineModulation *modulation;
    SprungEvent *frame_events; /* ENGINE_FRAME_EVENTS + the modulation's extra */
    SprungModulationWatch *watch;  /* NULL: frame by frame */
    SprungModulationWrite *writes; /* this run's, write_capacity */
    uint32_t write_capacity;
    uint32_t *frame_writes;        /* per frame of the run: its first write; max_block_frames + 1 */
    /* Followers of a microphone on such a backend (process_modulated_block):
     * every microphone per frame of the run (n_microphones × max_block_frames;
     * NULL without such a follower), and whether the followers' half of a
     * frame waits for its run (sprung_engine_modulation_defer_followers). */
    float *mic_frames;
    int follow_deferred;

    /* Instanced models ("voices", engine_voices.h): they render the block. */
    SprungEngineVoices *voices;
};

#define NO_NOTE 0xFFu

SprungEngineConfig sprung_engine_config_default(void)
{
    SprungEngineConfig config = {
        .sample_rate = 48000.0,
        .max_block_frames = 4096,
        .oversampling = 1,
        .backend = "auto",
    };
    return config;
}

static SprungStatus config_check(const SprungEngineConfig *config, SprungError *error)
{
    if (!(isfinite(config->sample_rate) && config->sample_rate >= ENGINE_MIN_SAMPLE_RATE &&
          config->sample_rate <= ENGINE_MAX_SAMPLE_RATE))
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, ENGINE_CONFIG_SOURCE, 0, 0,
                                "sample_rate", "%g Hz is not a sample rate in [%g, %g] Hz",
                                config->sample_rate, ENGINE_MIN_SAMPLE_RATE,
                                ENGINE_MAX_SAMPLE_RATE);
    if (config->max_block_frames < 1 || config->max_block_frames > ENGINE_MAX_BLOCK_FRAMES)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, ENGINE_CONFIG_SOURCE, 0, 0,
                                "max_block_frames", "%u frames is not in [1, %u]",
                                config->max_block_frames, ENGINE_MAX_BLOCK_FRAMES);
    if (config->oversampling != 1 && config->oversampling != 2 && config->oversampling != 4)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, ENGINE_CONFIG_SOURCE, 0, 0,
                                "oversampling", "%u is not an oversampling factor (1, 2 or 4)",
                                config->oversampling);
    if (config->worker_priority < 0 || config->worker_priority > 99)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, ENGINE_CONFIG_SOURCE, 0, 0,
                                "worker_priority", "%d is not a real-time priority (0: none, "
                                "1..99)", config->worker_priority);
    if (config->backend && strlen(config->backend) >= sizeof ((SprungEngine *)0)->backend_spec)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, ENGINE_CONFIG_SOURCE, 0, 0,
                                "backend", "\"%.40s...\" is too long to be a backend name",
                                config->backend);
    return SPRUNG_OK;
}

/* What a feature model needs beyond the base engine; all allocated here. */
static SprungStatus features_new(SprungEngine *engine, SprungError *error)
{
    const SprungCompiled *c = engine->compiled;
    const SprungEngineConfig *config = &engine->config;
    if (!engine->backend.advance_features)
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, ENGINE_CONFIG_SOURCE, 0, 0,
                                "backend", "backend \"%s\" cannot run this model's features",
                                engine->backend.name);
    size_t steps = (size_t)config->max_block_frames * config->oversampling;
    engine->exciter_note = malloc(c->n_exciters ? c->n_exciters : 1);
    engine->exciter_events =
        calloc(SPRUNG_BACKEND_MAX_EXCITER_EVENTS, sizeof *engine->exciter_events);
    engine->discard = calloc(steps, sizeof *engine->discard);
    engine->discard_out = calloc(config->max_block_frames, sizeof *engine->discard_out);
    engine->n_extra_decimators = config->oversampling > 1 ? (c->n_channels - 1) / 2 : 0;
    engine->extra_decimators =
        calloc(engine->n_extra_decimators ? engine->n_extra_decimators : 1,
               sizeof *engine->extra_decimators);
    if (!engine->exciter_note || !engine->exciter_events || !engine->discard ||
        !engine->discard_out || !engine->extra_decimators)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the engine");
    memset(engine->exciter_note, NO_NOTE, c->n_exciters ? c->n_exciters : 1);
    for (uint32_t k = 0; k < engine->n_extra_decimators; ++k) {
        SprungStatus status =
            sprung_decimator_init(&engine->extra_decimators[k], config->sample_rate,
                                  config->oversampling, config->max_block_frames);
        if (status != SPRUNG_OK) {
            /* Count only the initialised ones for free(). */
            engine->n_extra_decimators = k;
            return sprung_error_set(error, status, NULL, 0, 0, NULL,
                                    "out of memory for the decimation filters");
        }
    }
    return SPRUNG_OK;
}

SprungStatus sprung_engine_new(const SprungEngineConfig *config, const SprungModel *model,
                               SprungEngine **out, SprungError *error)
{
    if (out)
        *out = NULL;
    if (!model || !out)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                                "sprung_engine_new: %s is NULL", !model ? "model" : "out");
    SprungEngineConfig defaults = sprung_engine_config_default();
    if (!config)
        config = &defaults;
    SprungStatus status = config_check(config, error);
    if (status != SPRUNG_OK)
        return status;
    status = sprung_model_check_stability(model, config->sample_rate, config->oversampling,
                                          error);
    if (status != SPRUNG_OK)
        return status;

    SprungEngine *engine = calloc(1, sizeof *engine);
    if (!engine)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the engine");
    engine->config = *config;
    /* Keep our own copy of the backend spelling: the caller's may not live. */
    snprintf(engine->backend_spec, sizeof engine->backend_spec, "%s",
             config->backend ? config->backend : "auto");
    engine->config.backend = engine->backend_spec;

    double engine_rate = config->sample_rate * config->oversampling;
    status = sprung_compiled_new(model, engine_rate, &engine->compiled, error);
    if (status != SPRUNG_OK)
        goto fail;
    status = sprung_state_new(engine->compiled, &engine->state);
    if (status != SPRUNG_OK) {
        sprung_error_set(error, status, NULL, 0, 0, NULL, "out of memory for the engine state");
        goto fail;
    }
    engine->pulse_next = calloc(model->n_mallets ? model->n_mallets : 1,
                                sizeof *engine->pulse_next);
    engine->pulse_starts = calloc(SPRUNG_BACKEND_MAX_PULSE_STARTS, sizeof *engine->pulse_starts);
    if (!engine->pulse_next || !engine->pulse_starts) {
        status = sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                  "out of memory creating the engine");
        goto fail;
    }
    /* With oversampling the backend writes into the decimator's input
     * buffer; without, straight into the caller's outputs. */
    status = sprung_decimator_init(&engine->decimator, config->sample_rate,
                                   config->oversampling, config->max_block_frames);
    if (status != SPRUNG_OK) {
        sprung_error_set(error, status, NULL, 0, 0, NULL,
                         "out of memory for the decimation filter");
        goto fail;
    }
    const SprungBackendFactory *testing = sprung_engine_testing_factory_in_use();
    status = testing ? testing->create(engine->compiled, &engine->state, 0, &engine->config,
                                       &engine->backend, error)
                     : sprung_backend_create(engine->compiled, &engine->state, &engine->config,
                                             &engine->backend, error);
    if (status != SPRUNG_OK)
        goto fail;
    if (engine->compiled->features) {
        status = features_new(engine, error);
        if (status != SPRUNG_OK)
            goto fail;
    }
    if (model->instrument && model->instrument->voices) {
        /* The voices own their modulation (one instance per voice of each
         * per-note source). */
        status = sprung_engine_voices_new(model, engine->compiled, &engine->config,
                                          &engine->voices, error);
        if (status != SPRUNG_OK)
            goto fail;
        *out = engine;
        return SPRUNG_OK;
    }
    status = sprung_engine_modulation_new(model, engine->compiled, config->sample_rate,
                                          config->oversampling, &engine->modulation, error);
    if (status != SPRUNG_OK)
        goto fail;
    if (engine->modulation) {
        engine->frame_events =
            calloc(ENGINE_FRAME_EVENTS + sprung_engine_modulation_extra_events(engine->modulation),
                   sizeof *engine->frame_events);
        if (!engine->frame_events) {
            status = sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                      "out of memory creating the engine");
            goto fail;
        }
    }
    if (engine->modulation && engine->backend.applies_writes) {
        status = sprung_modulation_watch_new(model, engine->compiled, &engine->state,
                                             &engine->watch, error);
        if (status != SPRUNG_OK)
            goto fail;
        engine->write_capacity =
            sprung_backend_write_capacity(engine->compiled, config->max_block_frames);
        engine->writes = calloc(engine->write_capacity ? engine->write_capacity : 1,
                                sizeof *engine->writes);
        engine->frame_writes = calloc((size_t)config->max_block_frames + 1u,
                                      sizeof *engine->frame_writes);
        if (engine->compiled->features & SPRUNG_FEATURE_MIC_FOLLOWER) {
            engine->follow_deferred =
                sprung_engine_modulation_defer_followers(engine->modulation);
            engine->mic_frames = calloc((size_t)engine->compiled->n_microphones *
                                            config->max_block_frames,
                                        sizeof *engine->mic_frames);
        }
        if (!engine->writes || !engine->frame_writes ||
            ((engine->compiled->features & SPRUNG_FEATURE_MIC_FOLLOWER) && !engine->mic_frames)) {
            status = sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                      "out of memory for the modulation writes");
            goto fail;
        }
    }

    *out = engine;
    return SPRUNG_OK;

fail:
    sprung_engine_free(engine);
    return status;
}

void sprung_engine_free(SprungEngine *engine)
{
    if (!engine)
        return;
    sprung_engine_voices_free(engine->voices);
    sprung_engine_modulation_free(engine->modulation);
    free(engine->frame_events);
    sprung_modulation_watch_free(engine->watch);
    free(engine->writes);
    free(engine->frame_writes);
    free(engine->mic_frames);
    for (uint32_t k = 0; k < engine->n_extra_decimators; ++k)
        sprung_decimator_free(&engine->extra_decimators[k]);
    free(engine->extra_decimators);
    free(engine->exciter_note);
    free(engine->exciter_events);
    free(engine->discard);
    free(engine->discard_out);
    if (engine->backend.destroy)
        engine->backend.destroy(engine->backend.ctx);
    sprung_decimator_free(&engine->decimator);
    free(engine->pulse_next);
    free(engine->pulse_starts);
    sprung_state_free(&engine->state);
    sprung_compiled_free(engine->compiled);
    free(engine);
}

uint32_t sprung_engine_latency_frames(const SprungEngine *engine)
{
    return engine ? engine->decimator.latency_frames : 0;
}

SPRUNG_REALTIME uint16_t sprung_engine_channels_reached(const SprungEngine *engine,
                                                        uint8_t channel)
{
    if (!engine || channel > 15)
        return 0;
    if (engine->voices)
        return sprung_engine_voices_channels_reached(engine->voices, channel);
    if (engine->modulation)
        return sprung_engine_modulation_channels_reached(engine->modulation, channel);
    return (uint16_t)(1u << channel);
}

uint32_t sprung_engine_worker_threads(const SprungEngine *engine)
{
    if (!engine)
        return 0;
    uint32_t threads = sprung_engine_voices_threads(engine->voices) - 1;
    if (engine->backend.worker_threads)
        threads += engine->backend.worker_threads(engine->backend.ctx);
    return threads;
}

/* ---- Audio thread ---- */

/* Flush-to-zero and denormals-are-zero while the engine simulates: decaying
 * networks reach subnormals within seconds and would then run many times
 * slower. The caller's mode is restored on exit. */
typedef struct FloatMode {
#if defined(__SSE__)
    unsigned int mxcsr;
#elif defined(__aarch64__)
    unsigned long fpcr;
#else
    int unused;
#endif
} FloatMode;

static FloatMode float_mode_enter(void)
{
    FloatMode saved = {0};
#if defined(__SSE__)
    saved.mxcsr = _mm_getcsr();
    _mm_setcsr(saved.mxcsr | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
#elif defined(__aarch64__)
    __asm__ volatile("mrs %0, fpcr" : "=r"(saved.fpcr));
    __asm__ volatile("msr fpcr, %0" : : "r"(saved.fpcr | (1ul << 24))); /* FZ */
#endif
    return saved;
}

static void float_mode_exit(FloatMode saved)
{
#if defined(__SSE__)
    _mm_setcsr(saved.mxcsr);
#elif defined(__aarch64__)
    __asm__ volatile("msr fpcr, %0" : : "r"(saved.fpcr));
#else
    (void)saved;
#endif
}

static void write_silence(const SprungBlock *block)
{
    if (!block || !block->outputs)
        return;
    for (uint32_t channel = 0; channel < block->n_outputs; ++channel)
        if (block->outputs[channel])
            memset(block->outputs[channel], 0, (size_t)block->n_frames * sizeof(float));
}

static int block_is_valid(const SprungEngine *engine, const SprungBlock *block)
{
    if (block->n_frames > engine->config.max_block_frames)
        return 0;
    if (block->n_outputs < 2 || !block->outputs)
        return 0;
    for (uint32_t channel = 0; channel < block->n_outputs; ++channel)
        if (!block->outputs[channel])
            return 0;
    if (block->n_events > 0 && !block->events)
        return 0;
    if (block->n_inputs > 0 && !block->inputs)
        return 0;
    for (uint32_t e = 0; e < block->n_events; ++e) {
        const SprungEvent *event = &block->events[e];
        if (event->frame >= block->n_frames)
            return 0;
        if (e > 0 && event->frame < block->events[e - 1].frame)
            return 0;
        if (event->type < SPRUNG_EVENT_NOTE_ON || event->type > SPRUNG_EVENT_POLY_PRESSURE)
            return 0;
        if (event->channel > 15 || event->note > 127 || event->velocity > 127)
            return 0;
        if (event->value > (event->type == SPRUNG_EVENT_PITCH_BEND ? 16383u : 127u) &&
            event->type != SPRUNG_EVENT_NOTE_ON && event->type != SPRUNG_EVENT_NOTE_OFF)
            return 0;
    }
    return 1;
}

/* Whether note-on `event` strikes mallet m: its note range holds the note,
 * and it listens on the event's channel (or all). */
static int mallet_hears(const SprungCompiled *c, uint32_t m, const SprungEvent *event)
{
    return event->note >= c->mallet_note_low[m] && event->note <= c->mallet_note_high[m] &&
           (c->mallet_channel[m] == 0 || c->mallet_channel[m] == event->channel + 1u);
}

/* The number of pulses `event` starts: one on every mallet that hears it;
 * note-offs (and velocity-0 note-ons) start none. */
static uint32_t event_pulse_count(const SprungEngine *engine, const SprungEvent *event)
{
    if (event->type != SPRUNG_EVENT_NOTE_ON || event->velocity == 0)
        return 0;
    const SprungCompiled *c = engine->compiled;
    uint32_t count = 0;
    for (uint32_t m = 0; m < c->n_mallets; ++m)
        count += (uint32_t)mallet_hears(c, m, event);
    return count;
}

/* Appends the pulses `event` starts at engine step `step` of the current
 * run. The impulse is strength·velocity/127, in double. */
static uint32_t event_add_pulses(SprungEngine *engine, const SprungEvent *event, uint32_t step,
                                 uint32_t n_starts)
{
    if (event->type != SPRUNG_EVENT_NOTE_ON || event->velocity == 0)
        return n_starts;
    const SprungCompiled *c = engine->compiled;
    for (uint32_t m = 0; m < c->n_mallets && n_starts < SPRUNG_BACKEND_MAX_PULSE_STARTS; ++m) {
        if (!mallet_hears(c, m, event))
            continue;
        uint32_t slot = m * SPRUNG_PULSE_SLOTS + engine->pulse_next[m];
        engine->pulse_next[m] = (engine->pulse_next[m] + 1) % SPRUNG_PULSE_SLOTS;
        double impulse = c->mallet_strength[m] * event->velocity / 127.0;
        engine->pulse_starts[n_starts++] =
            (SprungPulseStart){.step = step, .slot = slot, .amplitude = (float)impulse};
    }
    return n_starts;
}

/* Whether exciter e answers `event`'s note and channel. */
static int exciter_hears(const SprungCompiled *c, uint32_t e, const SprungEvent *event)
{
    /* Control changes, bends and pressure feed modulation, not exciters. */
    if (event->type != SPRUNG_EVENT_NOTE_ON && event->type != SPRUNG_EVENT_NOTE_OFF)
        return 0;
    if (event->note < c->exciter_note_low[e] || event->note > c->exciter_note_high[e])
        return 0;
    if (c->exciter_channel[e] != 0 && c->exciter_channel[e] != event->channel + 1u)
        return 0;
    /* An ungated audio input ignores notes. */
    return c->exciter_kind[e] != SPRUNG_KERNEL_EXCITER_AUDIO_INPUT || c->exciter_gated[e];
}

/* At most how many exciter events `event` makes (for splitting runs). */
static uint32_t event_exciter_count(const SprungEngine *engine, const SprungEvent *event)
{
    const SprungCompiled *c = engine->compiled;
    uint32_t count = 0;
    for (uint32_t e = 0; e < c->n_exciters; ++e)
        count += exciter_hears(c, e, event);
    return count;
}

/* Appends the exciter notes `event` makes at engine step `step`. Each
 * exciter plays one note at a time, the last one started; a note-off
 * releases it only when it is that note (a pluck ignores note-offs). The
 * increment is worked out here in double: an oscillator's phase per step
 * (its fixed frequency, else 440·2^((note−69)/12) Hz; a note at or above
 * the Nyquist frequency is not played), a plectrum's travel per step
 * (speed·velocity/127·dt) or a bow's speed (speed·velocity/127). */
static uint32_t event_add_exciter_notes(SprungEngine *engine, const SprungEvent *event,
                                        uint32_t step, uint32_t n_events)
{
    const SprungCompiled *c = engine->compiled;
    int on = event->type == SPRUNG_EVENT_NOTE_ON && event->velocity > 0;
    for (uint32_t e = 0; e < c->n_exciters && n_events < SPRUNG_BACKEND_MAX_EXCITER_EVENTS;
         ++e) {
        if (!exciter_hears(c, e, event))
            continue;
        uint32_t kind = c->exciter_kind[e];
        if (!on) {
            if (engine->exciter_note[e] != event->note)
                continue;
            engine->exciter_note[e] = NO_NOTE;
            if (kind != SPRUNG_KERNEL_EXCITER_PLUCK)
                engine->exciter_events[n_events++] =
                    (SprungExciterEvent){.step = step, .exciter = e};
            continue;
        }
        double velocity = event->velocity / 127.0;
        double increment = 0.0;
        if (kind == SPRUNG_KERNEL_EXCITER_OSCILLATOR) {
            double hz = c->exciter_frequency[e] > 0.0
                            ? c->exciter_frequency[e]
                            : 440.0 * pow(2.0, (event->note - 69) / 12.0);
            increment = hz * c->dt;
            if (!(increment < 0.5))
                continue;
        } else if (kind == SPRUNG_KERNEL_EXCITER_PLUCK) {
            increment = c->exciter_speed[e] * velocity * c->dt;
        } else if (kind == SPRUNG_KERNEL_EXCITER_BOW) {
            increment = c->exciter_speed[e] * velocity;
        }
        engine->exciter_note[e] = event->note;
        engine->exciter_events[n_events++] = (SprungExciterEvent){
            .step = step, .exciter = e, .velocity = (float)velocity,
            .increment = (float)increment};
    }
    return n_events;
}

/* A feature block's engine-rate channel buffers: the decimators' inputs,
 * or, without oversampling, the block's outputs (a sink for channels the
 * block lacks). */
static void features_begin(SprungEngine *engine, const SprungBlock *block)
{
    const SprungCompiled *c = engine->compiled;
    for (uint32_t ch = 0; ch < c->n_channels; ++ch) {
        if (engine->config.oversampling > 1)
            engine->channels[ch] =
                ch < 2 ? sprung_decimator_input(&engine->decimator, ch)
                       : sprung_decimator_input(&engine->extra_decimators[(ch - 2) / 2],
                                                (ch - 2) % 2);
        else
            engine->channels[ch] = ch < block->n_outputs ? block->outputs[ch] : engine->discard;
    }
}

/* Frames [run_first, run_end) of a feature block in one advance_features()
 * call, with the run's n_starts pulse starts and n_notes exciter notes, and
 * (`writes`) the modulation writes frame_writes[0 .. run_end - run_first]
 * locate. */
static void features_run(SprungEngine *engine, const SprungBlock *block, uint32_t run_first,
                         uint32_t run_end, uint32_t n_starts, uint32_t n_notes, int writes)
{
    const SprungCompiled *c = engine->compiled;
    const uint32_t r = engine->config.oversampling;
    uint32_t n_inputs = block->inputs ? block->n_inputs : 0;
    if (n_inputs > ENGINE_MAX_INPUTS)
        n_inputs = ENGINE_MAX_INPUTS;
    size_t first = (size_t)run_first * r;
    for (uint32_t ch = 0; ch < c->n_channels; ++ch)
        engine->run_channels[ch] = engine->channels[ch] + first;
    for (uint32_t ch = 0; ch < n_inputs; ++ch)
        engine->run_inputs[ch] = block->inputs[ch] ? block->inputs[ch] + run_first : NULL;
    SprungFeatureIo io = {
        .exciter_events = engine->exciter_events,
        .n_exciter_events = n_notes,
        .inputs = engine->run_inputs,
        .n_inputs = n_inputs,
        .oversampling = r,
        .outputs = engine->run_channels,
        .writes = writes ? engine->writes : NULL,
        .frame_writes = writes ? engine->frame_writes : NULL,
        .mic_frames = writes ? engine->mic_frames : NULL,
    };
    uint32_t n_steps = (run_end - run_first) * r;
    engine->backend.advance_features(engine->backend.ctx, n_steps, engine->pulse_starts,
                                     n_starts, &io);
    engine->steps += n_steps;
}

/* After a feature block's runs: decimation, and silence in the outputs no
 * channel uses. */
static void features_end(SprungEngine *engine, const SprungBlock *block)
{
    const SprungCompiled *c = engine->compiled;
    if (engine->config.oversampling > 1)
        sprung_decimators_run(&engine->decimator, engine->extra_decimators,
                              engine->n_extra_decimators, block->n_frames, block->outputs,
                              block->n_outputs, engine->discard_out);
    for (uint32_t channel = c->n_channels; channel < block->n_outputs; ++channel)
        memset(block->outputs[channel], 0, (size_t)block->n_frames * sizeof(float));
}

/* A block of a model with features: like the base path, plus exciter notes,
 * audio inputs and more than two output channels. */
static SPRUNG_REALTIME void process_features(SprungEngine *engine, const SprungBlock *block)
{
    const uint32_t r = engine->config.oversampling;
    features_begin(engine, block);
    uint32_t run_first = 0, e = 0;
    while (run_first < block->n_frames) {
        uint32_t n_starts = 0, n_notes = 0;
        uint32_t run_end = block->n_frames;
        for (; e < block->n_events; ++e) {
            const SprungEvent *event = &block->events[e];
            uint32_t pulses = event_pulse_count(engine, event);
            uint32_t notes = event_exciter_count(engine, event);
            int full = n_starts + pulses > SPRUNG_BACKEND_MAX_PULSE_STARTS ||
                       n_notes + notes > SPRUNG_BACKEND_MAX_EXCITER_EVENTS;
            if (full && event->frame > run_first) {
                run_end = event->frame;
                break;
            }
            if (n_starts + pulses > SPRUNG_BACKEND_MAX_PULSE_STARTS)
                n_starts = 0;
            uint32_t step = (event->frame - run_first) * r;
            n_starts = event_add_pulses(engine, event, step, n_starts);
            n_notes = event_add_exciter_notes(engine, event, step, n_notes);
        }
        features_run(engine, block, run_first, run_end, n_starts, n_notes, 0);
        run_first = run_end;
    }
    features_end(engine, block);
}

/* A modulated model, one output frame at a time (the output does not depend
 * on how a block is cut, so this gives the same bits as any other cut):
 * the frame's events and modulation first (route values into the arrays,
 * Note Triggers as notes), then that frame's physics. */
static SPRUNG_REALTIME void process_modulated(SprungEngine *engine, const SprungBlock *block)
{
    float input_frame[ENGINE_MAX_INPUTS];
    const float *inputs[ENGINE_MAX_INPUTS];
    float *outputs[SPRUNG_MAX_CHANNELS];
    uint32_t n_inputs = block->inputs ? block->n_inputs : 0;
    if (n_inputs > ENGINE_MAX_INPUTS)
        n_inputs = ENGINE_MAX_INPUTS;
    uint32_t n_outputs = block->n_outputs < SPRUNG_MAX_CHANNELS ? block->n_outputs
                                                                : SPRUNG_MAX_CHANNELS;
    uint32_t e = 0;
    for (uint32_t f = 0; f < block->n_frames; ++f) {
        uint32_t first = e;
        while (e < block->n_events && block->events[e].frame == f)
            ++e;
        uint32_t n_host = e - first < ENGINE_FRAME_EVENTS ? e - first : ENGINE_FRAME_EVENTS;
        for (uint32_t ch = 0; ch < n_inputs; ++ch) {
            input_frame[ch] = block->inputs[ch] ? block->inputs[ch][f] : 0.0f;
            inputs[ch] = block->inputs[ch] ? block->inputs[ch] + f : NULL;
        }
        /* A block without events may have none: no pointer to offset. */
        const SprungEvent *host = block->events ? block->events + first : NULL;
        uint32_t n_notes = sprung_engine_modulation_frame(
            engine->modulation, engine->compiled, &engine->state, host, n_host,
            n_inputs ? input_frame : NULL, n_inputs, engine->frame_events);
        for (uint32_t ch = 0; ch < n_outputs; ++ch)
            outputs[ch] = block->outputs[ch] + f;
        SprungBlock frame = {.n_frames = 1,
                             .events = engine->frame_events,
                             .n_events = n_notes,
                             .outputs = outputs,
                             .n_outputs = n_outputs,
                             .inputs = inputs,
                             .n_inputs = n_inputs};
        process_features(engine, &frame);
    }
    for (uint32_t channel = n_outputs; channel < block->n_outputs; ++channel)
        memset(block->outputs[channel], 0, (size_t)block->n_frames * sizeof(float));
}

/* Followers of a microphone on a backend that applies writes (a GPU). A
 * follower at frame f hears every microphone after frame f − 1, which the
 * host knows only when the launch that rendered f − 1 returns: each run
 * hands the microphones back per frame (SprungFeatureIo.mic_frames), and
 * the host's copy of the state's mic_value follows the last frame rendered.
 *   - Deferred (sprung_engine_modulation_defer_followers: the followers
 *     only set mallet strengths, which the host reads at a strike): the
 *     followers' half of each frame is worked out after its run, from the
 *     run's microphones, and a run is cut only before a frame that strikes
 *     such a mallet, whose followers' half is worked out first.
 *   - Otherwise (a follower moves what the kernel reads, or triggers
 *     notes): a run per frame. The same bits, but a launch per output
 *     frame: fine offline, too slow for real time on a GPU.
 * Either way the bits are process_modulated's. */

/* Whether one of `notes` strikes a mallet whose strength a deferred
 * follower sets. */
static int strikes_followed_mallet(const SprungEngine *engine, const SprungEvent *notes,
                                   uint32_t n_notes)
{
    const SprungCompiled *c = engine->compiled;
    for (uint32_t k = 0; k < n_notes; ++k) {
        const SprungEvent *note = &notes[k];
        if (note->type != SPRUNG_EVENT_NOTE_ON || note->velocity == 0)
            continue;
        for (uint32_t m = 0; m < c->n_mallets; ++m)
            if (mallet_hears(c, m, note) &&
                sprung_engine_modulation_mallet_followed(engine->modulation, m))
                return 1;
    }
    return 0;
}

/* features_run() of a modulated block's run [run_first, run_end), then,
 * with deferred followers, their half of frames [*follow_next, run_end),
 * each hearing the microphones after the frame before; the host's
 * mic_value is left at the run's last frame. */
static void modulated_run(SprungEngine *engine, const SprungBlock *block, uint32_t run_first,
                          uint32_t run_end, uint32_t n_starts, uint32_t n_notes,
                          uint32_t *follow_next)
{
    features_run(engine, block, run_first, run_end, n_starts, n_notes, 1);
    if (!engine->mic_frames)
        return;
    uint32_t n_mics = engine->compiled->n_microphones;
    for (uint32_t g = *follow_next; engine->follow_deferred && g < run_end; ++g) {
        const float *heard = g == run_first
                                 ? engine->state.mic_value
                                 : engine->mic_frames + (size_t)(g - 1u - run_first) * n_mics;
        sprung_engine_modulation_follow(engine->modulation, engine->compiled, &engine->state,
                                        heard);
    }
    *follow_next = run_end;
    memcpy(engine->state.mic_value, engine->mic_frames + (size_t)(run_end - 1u - run_first) * n_mics,
           n_mics * sizeof *engine->state.mic_value);
}

/* A modulated model on a backend that applies writes: the frames' events
 * and modulation as process_modulated works them out, frame by frame on the
 * host, but the physics of the whole block in one advance_features() call
 * carrying each frame's notes at its step and the words its modulation
 * changed (modulation_writes.h). A run is cut at a frame only when its
 * starts, notes or writes would not fit, or a follower of a microphone
 * needs it (above); the bits are those of process_modulated. */
static SPRUNG_REALTIME void process_modulated_block(SprungEngine *engine,
                                                   const SprungBlock *block)
{
    const uint32_t r = engine->config.oversampling;
    float input_frame[ENGINE_MAX_INPUTS];
    uint32_t n_inputs = block->inputs ? block->n_inputs : 0;
    if (n_inputs > ENGINE_MAX_INPUTS)
        n_inputs = ENGINE_MAX_INPUTS;
    features_begin(engine, block);
    uint32_t run_first = 0, e = 0, n_starts = 0, n_notes = 0, n_writes = 0, follow_next = 0;
#define CUT_RUN_AT(f)                                                                      \
    do {                                                                                   \
        engine->frame_writes[(f) - run_first] = n_writes;                                  \
        modulated_run(engine, block, run_first, (f), n_starts, n_notes, &follow_next);     \
        run_first = (f);                                                                   \
        n_starts = n_notes = n_writes = 0;                                                 \
    } while (0)
    for (uint32_t f = 0; f < block->n_frames; ++f) {
        uint32_t first = e;
        while (e < block->n_events && block->events[e].frame == f)
            ++e;
        uint32_t n_host = e - first < ENGINE_FRAME_EVENTS ? e - first : ENGINE_FRAME_EVENTS;
        for (uint32_t ch = 0; ch < n_inputs; ++ch)
            input_frame[ch] = block->inputs[ch] ? block->inputs[ch][f] : 0.0f;
        /* Followers that cannot wait hear the frame before: a run per frame. */
        if (engine->mic_frames && !engine->follow_deferred && f > run_first)
            CUT_RUN_AT(f);
        const SprungEvent *host = block->events ? block->events + first : NULL;
        uint32_t n_frame_notes = sprung_engine_modulation_frame(
            engine->modulation, engine->compiled, &engine->state, host, n_host,
            n_inputs ? input_frame : NULL, n_inputs, engine->frame_events);

        uint32_t pulses = 0, notes = 0;
        for (uint32_t k = 0; k < n_frame_notes; ++k) {
            pulses += event_pulse_count(engine, &engine->frame_events[k]);
            notes += event_exciter_count(engine, &engine->frame_events[k]);
        }
        int full = n_starts + pulses > SPRUNG_BACKEND_MAX_PULSE_STARTS ||
                   n_notes + notes > SPRUNG_BACKEND_MAX_EXCITER_EVENTS ||
                   n_writes + engine->compiled->max_frame_writes > engine->write_capacity;
        if (full && f > run_first)
            CUT_RUN_AT(f);
        /* A strike whose strength a deferred follower sets waits for the
         * followers' half of its frame, which hears the frame before. */
        if (engine->follow_deferred &&
            strikes_followed_mallet(engine, engine->frame_events, n_frame_notes)) {
            if (f > run_first)
                CUT_RUN_AT(f);
            sprung_engine_modulation_follow(engine->modulation, engine->compiled,
                                            &engine->state, engine->state.mic_value);
            follow_next = f + 1;
        }
        uint32_t step = (f - run_first) * r;
        for (uint32_t k = 0; k < n_frame_notes; ++k) {
            const SprungEvent *note = &engine->frame_events[k];
            /* A single frame with more starts than fit keeps the newest. */
            if (n_starts + event_pulse_count(engine, note) > SPRUNG_BACKEND_MAX_PULSE_STARTS)
                n_starts = 0;
            n_starts = event_add_pulses(engine, note, step, n_starts);
            n_notes = event_add_exciter_notes(engine, note, step, n_notes);
        }
        engine->frame_writes[f - run_first] = n_writes;
        n_writes += sprung_modulation_watch_collect(engine->watch, engine->writes + n_writes);
    }
#undef CUT_RUN_AT
    engine->frame_writes[block->n_frames - run_first] = n_writes;
    modulated_run(engine, block, run_first, block->n_frames, n_starts, n_notes, &follow_next);
    features_end(engine, block);
}

SPRUNG_REALTIME SprungStatus sprung_engine_process(SprungEngine *engine, const SprungBlock *block)
{
    if (!engine || !block) {
        write_silence(block);
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    }
    if (!block_is_valid(engine, block)) {
        write_silence(block);
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    }

    FloatMode saved = float_mode_enter();
    if (engine->voices) {
        sprung_engine_voices_process(engine->voices, block);
        engine->steps += (uint64_t)block->n_frames * engine->config.oversampling;
        float_mode_exit(saved);
        return SPRUNG_OK;
    }
    if (engine->modulation) {
        if (engine->watch)
            process_modulated_block(engine, block);
        else
            process_modulated(engine, block);
        float_mode_exit(saved);
        return SPRUNG_OK;
    }
    if (engine->compiled->features) {
        process_features(engine, block);
        float_mode_exit(saved);
        return SPRUNG_OK;
    }
    uint32_t r = engine->config.oversampling;
    float *left, *right;
    if (r > 1) {
        left = sprung_decimator_input(&engine->decimator, 0);
        right = sprung_decimator_input(&engine->decimator, 1);
    } else {
        left = block->outputs[0];
        right = block->outputs[1];
    }

    /* Normally the whole block is one advance() call carrying every pulse
     * start at its step (an event at frame f acts from engine step f·r).
     * Only a block with more starts than the buffer holds is cut into runs,
     * at an event frame, which gives the same bits. */
    uint32_t run_first = 0, e = 0;
    while (run_first < block->n_frames) {
        uint32_t n_starts = 0;
        uint32_t run_end = block->n_frames;
        for (; e < block->n_events; ++e) {
            const SprungEvent *event = &block->events[e];
            if (n_starts + event_pulse_count(engine, event) > SPRUNG_BACKEND_MAX_PULSE_STARTS &&
                event->frame > run_first) {
                run_end = event->frame;
                break;
            }
            /* A single frame with more starts than fit keeps the newest. */
            if (n_starts + event_pulse_count(engine, event) > SPRUNG_BACKEND_MAX_PULSE_STARTS)
                n_starts = 0;
            n_starts = event_add_pulses(engine, event, (event->frame - run_first) * r, n_starts);
        }
        size_t first = (size_t)run_first * r;
        uint32_t n_steps = (run_end - run_first) * r;
        engine->backend.advance(engine->backend.ctx, n_steps, engine->pulse_starts, n_starts,
                                left + first, right + first);
        engine->steps += n_steps;
        run_first = run_end;
    }

    if (r > 1)
        sprung_decimator_run(&engine->decimator, block->n_frames, block->outputs[0],
                             block->outputs[1]);
    for (uint32_t channel = 2; channel < block->n_outputs; ++channel)
        memset(block->outputs[channel], 0, (size_t)block->n_frames * sizeof(float));
    float_mode_exit(saved);
    return SPRUNG_OK;
}

SPRUNG_REALTIME void sprung_engine_reset(SprungEngine *engine)
{
    if (!engine)
        return;
    engine->backend.reset(engine->backend.ctx);
    memset(engine->pulse_next, 0, (engine->compiled->n_mallets ? engine->compiled->n_mallets : 1) *
                                      sizeof *engine->pulse_next);
    sprung_decimator_reset(&engine->decimator);
    for (uint32_t k = 0; k < engine->n_extra_decimators; ++k)
        sprung_decimator_reset(&engine->extra_decimators[k]);
    if (engine->exciter_note)
        memset(engine->exciter_note, NO_NOTE,
               engine->compiled->n_exciters ? engine->compiled->n_exciters : 1);
    if (engine->modulation)
        sprung_engine_modulation_reset(engine->modulation, engine->compiled, &engine->state);
    if (engine->watch)
        sprung_modulation_watch_resend(engine->watch);
    if (engine->voices)
        sprung_engine_voices_reset(engine->voices);
    engine->steps = 0;
}

SPRUNG_REALTIME void sprung_engine_set_macro(SprungEngine *engine, uint32_t index, float value)
{
    if (engine && engine->modulation)
        sprung_engine_modulation_set_macro(engine->modulation, index, value);
    if (engine && engine->voices)
        sprung_engine_voices_set_macro(engine->voices, index, value);
}

/* ---- Private window (engine_internal.h) ---- */

const SprungCompiled *sprung_engine_compiled(const SprungEngine *engine)
{
    return engine->compiled;
}

/* Tests only (sprung_engine_testing_factory). */
static const SprungBackendFactory *engine_testing_factory;

void sprung_engine_testing_factory(const SprungBackendFactory *factory)
{
    engine_testing_factory = factory;
}

const SprungBackendFactory *sprung_engine_testing_factory_in_use(void)
{
    return engine_testing_factory;
}

void *sprung_engine_backend_context(const SprungEngine *engine, const char **name)
{
    *name = engine->backend.name;
    return engine->backend.ctx;
}

const SprungEngineVoices *sprung_engine_voices_of(const SprungEngine *engine)
{
    return engine ? engine->voices : NULL;
}

const SprungState *sprung_engine_state(const SprungEngine *engine)
{
    if (engine->backend.sync_state)
        engine->backend.sync_state(engine->backend.ctx);
    return &engine->state;
}

const char *sprung_engine_backend_name(const SprungEngine *engine)
{
    return engine ? engine->backend.name : "";
}

double sprung_engine_rate(const SprungEngine *engine)
{
    return engine->compiled->engine_rate;
}

double sprung_engine_dt(const SprungEngine *engine)
{
    return engine->compiled->dt;
}

uint64_t sprung_engine_steps(const SprungEngine *engine)
{
    return engine->steps;
}

const double *sprung_engine_decimator_taps(const SprungEngine *engine, uint32_t *n_taps)
{
    if (n_taps)
        *n_taps = engine->decimator.n_taps;
    return engine->decimator.taps;
}
