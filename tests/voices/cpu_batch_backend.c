/* The test batch backend (cpu_batch_backend.h): every voice a CpuVoice
 * (cpu_voice.h) with a state of its own, which plays the device's copy of
 * the voice's state: the engine's host state (states[v]) is another copy,
 * one the engine writes ahead of the backend while it plans a run (anchor
 * positions, oscillator increments), and which reaches the backend only as
 * the run's writes, frame by frame; upload_state and sync_state move whole
 * states between the two, as a GPU's do. Everything is allocated in
 * create_voices; advance_voices, reset_voice and reset allocate, lock and
 * block nothing (unless sabotaged). */
#include "cpu_batch_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_voice.h"

typedef struct CpuBatch {
    const SprungCompiled *compiled;
    uint32_t n_voices;
    SprungState **hosts;       /* n_voices: the engine's host copies */
    CpuVoice *voices;          /* n_voices */
    CpuVoiceScratch *scratch;  /* one: the runs step one after another */
} CpuBatch;

static CpuBatchStats stats;
static int sabotage;

const CpuBatchStats *cpu_batch_stats(void)
{
    return &stats;
}

void cpu_batch_stats_clear(void)
{
    memset(&stats, 0, sizeof stats);
}

void cpu_batch_sabotage(int on)
{
    sabotage = on;
}

/* ---- audio thread ---- */

/* Kept out of the optimiser's sight, so the sabotage's malloc/free pair
 * is not folded away. */
static void *volatile sabotage_block;

static void cpu_batch_advance_voices(void *ctx, uint32_t n_steps, uint32_t n_runs,
                                     const SprungVoiceRun *runs)
{
    CpuBatch *self = ctx;
    if (sabotage) {
        sabotage_block = malloc(64);
        free(sabotage_block);
        sabotage_block = NULL;
    }
    stats.calls++;
    stats.runs += n_runs;
    if (n_steps > stats.most_steps)
        stats.most_steps = n_steps;
    for (uint32_t r = 0; r < n_runs; ++r)
        if (runs[r].voice < self->n_voices)
            cpu_voice_run(&self->voices[runs[r].voice], self->compiled, n_steps, &runs[r],
                          self->scratch);
}

/* The voice's state back to the initial one; its constants keep what the
 * writes made them (the engine hands the watched words over again). */
static void cpu_batch_reset_voice(void *ctx, uint32_t voice)
{
    CpuBatch *self = ctx;
    stats.voice_resets++;
    if (voice < self->n_voices) {
        CpuVoice *cv = &self->voices[voice];
        cv->backend.reset(cv->backend.ctx);
    }
}

/* Every voice back to the initial state, the host copies too (as the GPU
 * backends' reset). */
static void cpu_batch_reset(void *ctx)
{
    CpuBatch *self = ctx;
    for (uint32_t v = 0; v < self->n_voices; ++v) {
        sprung_state_reset(self->compiled, self->hosts[v]);
        self->voices[v].backend.reset(self->voices[v].backend.ctx);
    }
}

/* ---- control thread ---- */

static void cpu_batch_sync(void *ctx)
{
    CpuBatch *self = ctx;
    for (uint32_t v = 0; v < self->n_voices; ++v)
        memcpy(self->hosts[v]->block, self->voices[v].state.block, self->hosts[v]->block_bytes);
}

static void cpu_batch_upload(void *ctx)
{
    CpuBatch *self = ctx;
    for (uint32_t v = 0; v < self->n_voices; ++v)
        memcpy(self->voices[v].state.block, self->hosts[v]->block, self->hosts[v]->block_bytes);
}

static void cpu_batch_destroy(void *ctx)
{
    CpuBatch *self = ctx;
    if (!self)
        return;
    for (uint32_t v = 0; self->voices && v < self->n_voices; ++v)
        cpu_voice_free(&self->voices[v]);
    free(self->voices);
    free(self->hosts);
    free(self->scratch);
    free(self);
}

static SprungStatus cpu_batch_create_voices(const SprungCompiled *compiled, uint32_t n_voices,
                                            SprungState *const *states, uint32_t device,
                                            const SprungEngineConfig *config, SprungBackend *out,
                                            SprungError *error)
{
    (void)device;
    CpuBatch *self = calloc(1, sizeof *self);
    if (self) {
        self->voices = calloc(n_voices ? n_voices : 1u, sizeof *self->voices);
        self->hosts = calloc(n_voices ? n_voices : 1u, sizeof *self->hosts);
        self->scratch = calloc(1, sizeof *self->scratch);
    }
    if (!self || !self->voices || !self->hosts || !self->scratch) {
        cpu_batch_destroy(self);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the cpu-batch backend");
    }
    self->compiled = compiled;
    for (uint32_t v = 0; v < n_voices; ++v) {
        SprungStatus status = cpu_voice_new(compiled, config, &self->voices[v], error);
        if (status != SPRUNG_OK) {
            cpu_batch_destroy(self);
            return status;
        }
        self->n_voices = v + 1u;
        self->hosts[v] = states[v];
    }
    cpu_batch_upload(self); /* each voice from the engine's host copy */
    stats.created++;
    *out = (SprungBackend){
        .name = "cpu-batch",
        .ctx = self,
        .reset = cpu_batch_reset,
        .sync_state = cpu_batch_sync,
        .upload_state = cpu_batch_upload,
        .destroy = cpu_batch_destroy,
        .applies_writes = 1,
        .advance_voices = cpu_batch_advance_voices,
        .reset_voice = cpu_batch_reset_voice,
    };
    return SPRUNG_OK;
}

/* ---- a singleton model: a CpuVoice behind advance_features ----
 *
 * As a GPU backend runs a singleton: its own copies of the state and the
 * constants, the engine's modulation reaching them only as writes
 * (applies_writes), the microphones handed back per frame when asked. */

typedef struct CpuSingle {
    const SprungCompiled *compiled;
    SprungState *host;         /* the engine's host copy */
    CpuVoice voice;
    CpuVoiceScratch *scratch;
    float *frame_dt;           /* the compiled dt, max_block_frames times */
} CpuSingle;

static void cpu_single_advance_features(void *ctx, uint32_t n_steps,
                                        const SprungPulseStart *starts, uint32_t n_starts,
                                        const SprungFeatureIo *io)
{
    CpuSingle *self = ctx;
    if (sabotage) {
        sabotage_block = malloc(64);
        free(sabotage_block);
        sabotage_block = NULL;
    }
    stats.feature_calls++;
    SprungVoiceRun run = {.starts = starts, .n_starts = n_starts, .io = *io,
                          .frame_dt = self->frame_dt};
    cpu_voice_run(&self->voice, self->compiled, n_steps, &run, self->scratch);
}

/* Back to the initial state, the host copy too (as the GPU backends). */
static void cpu_single_reset(void *ctx)
{
    CpuSingle *self = ctx;
    sprung_state_reset(self->compiled, self->host);
    self->voice.backend.reset(self->voice.backend.ctx);
}

static void cpu_single_sync(void *ctx)
{
    CpuSingle *self = ctx;
    memcpy(self->host->block, self->voice.state.block, self->host->block_bytes);
}

static void cpu_single_upload(void *ctx)
{
    CpuSingle *self = ctx;
    memcpy(self->voice.state.block, self->host->block, self->host->block_bytes);
}

static void cpu_single_destroy(void *ctx)
{
    CpuSingle *self = ctx;
    if (!self)
        return;
    cpu_voice_free(&self->voice);
    free(self->scratch);
    free(self->frame_dt);
    free(self);
}

static SprungStatus cpu_batch_create(const SprungCompiled *compiled, SprungState *state,
                                     uint32_t device, const SprungEngineConfig *config,
                                     SprungBackend *out, SprungError *error)
{
    (void)device;
    CpuSingle *self = calloc(1, sizeof *self);
    if (self) {
        self->scratch = calloc(1, sizeof *self->scratch);
        self->frame_dt = calloc(config->max_block_frames, sizeof *self->frame_dt);
    }
    if (!self || !self->scratch || !self->frame_dt) {
        cpu_single_destroy(self);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the cpu-batch backend");
    }
    SprungStatus status = cpu_voice_new(compiled, config, &self->voice, error);
    if (status != SPRUNG_OK) {
        cpu_single_destroy(self);
        return status;
    }
    self->compiled = compiled;
    self->host = state;
    for (uint32_t f = 0; f < config->max_block_frames; ++f)
        self->frame_dt[f] = (float)compiled->dt;
    cpu_single_upload(self);
    *out = (SprungBackend){
        .name = "cpu-batch",
        .ctx = self,
        .advance_features = cpu_single_advance_features,
        .reset = cpu_single_reset,
        .sync_state = cpu_single_sync,
        .upload_state = cpu_single_upload,
        .destroy = cpu_single_destroy,
        .applies_writes = 1,
    };
    return SPRUNG_OK;
}

static void cpu_batch_probe(SprungBackendInfo *info)
{
    info->available = 1;
    info->n_devices = 1;
    snprintf(info->devices[0], sizeof info->devices[0],
             "the CPU reference, a voice at a time, as a batch (tests only)");
}

const SprungBackendFactory cpu_batch_factory = {
    .name = "cpu-batch",
    .description = "tests only: the CPU reference behind the voices' batch interface",
    /* As the GPU backends (voices with a microphone follower excepted:
     * sprung_engine_testing_factory skips the registry's check). */
    .features = SPRUNG_FEATURE_ALL,
    .probe = cpu_batch_probe,
    .create = cpu_batch_create,
    .create_voices = cpu_batch_create_voices,
};
