/* SprungEngine: config validation, creation and teardown (control thread),
 * and block processing with sample-exact events (audio thread). The physics
 * runs in a backend (src/backend/); the engine turns events into mallet
 * pulses at their exact engine step, splits each block into runs between
 * events, and decimates the engine-rate mix to the output rate. */
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
#include "engine/engine_internal.h"
#include "model/analysis.h"
#include "sprung/engine.h"

#define ENGINE_MIN_SAMPLE_RATE 8000.0
#define ENGINE_MAX_SAMPLE_RATE 384000.0
#define ENGINE_MAX_BLOCK_FRAMES 65536u
#define ENGINE_CONFIG_SOURCE "engine config"

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
};

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
    if (config->backend && strlen(config->backend) >= sizeof ((SprungEngine *)0)->backend_spec)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, ENGINE_CONFIG_SOURCE, 0, 0,
                                "backend", "\"%.40s...\" is too long to be a backend name",
                                config->backend);
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
    status = sprung_backend_create(engine->compiled, &engine->state, &engine->config,
                                   &engine->backend, error);
    if (status != SPRUNG_OK)
        goto fail;

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
    for (uint32_t e = 0; e < block->n_events; ++e) {
        const SprungEvent *event = &block->events[e];
        if (event->frame >= block->n_frames)
            return 0;
        if (e > 0 && event->frame < block->events[e - 1].frame)
            return 0;
        if (event->type != SPRUNG_EVENT_NOTE_ON && event->type != SPRUNG_EVENT_NOTE_OFF)
            return 0;
        if (event->channel > 15 || event->note > 127 || event->velocity > 127)
            return 0;
    }
    return 1;
}

/* The number of pulses `event` starts: one on every mallet whose note range
 * holds the note (all channels); note-offs (and velocity-0 note-ons) start
 * none. */
static uint32_t event_pulse_count(const SprungEngine *engine, const SprungEvent *event)
{
    if (event->type != SPRUNG_EVENT_NOTE_ON || event->velocity == 0)
        return 0;
    const SprungCompiled *c = engine->compiled;
    uint32_t count = 0;
    for (uint32_t m = 0; m < c->n_mallets; ++m)
        count += event->note >= c->mallet_note_low[m] && event->note <= c->mallet_note_high[m];
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
        if (event->note < c->mallet_note_low[m] || event->note > c->mallet_note_high[m])
            continue;
        uint32_t slot = m * SPRUNG_PULSE_SLOTS + engine->pulse_next[m];
        engine->pulse_next[m] = (engine->pulse_next[m] + 1) % SPRUNG_PULSE_SLOTS;
        double impulse = c->mallet_strength[m] * event->velocity / 127.0;
        engine->pulse_starts[n_starts++] =
            (SprungPulseStart){.step = step, .slot = slot, .amplitude = (float)impulse};
    }
    return n_starts;
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
    engine->steps = 0;
}

/* ---- Private window (engine_internal.h) ---- */

const SprungCompiled *sprung_engine_compiled(const SprungEngine *engine)
{
    return engine->compiled;
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
