/* One voice of a batch (backend.h: SprungVoiceRun, advance_voices) on the
 * CPU reference: its own state, its own copy of the compiled block with the
 * kernel's views into it (the layout the GPU kernels use), and the CPU
 * reference backend on that state stepping it one output frame per
 * advance_features() call: per frame the run's modulation writes into the
 * voice's copies, set_views with the frame's dt, then the frame's steps (as
 * src/engine/engine_voices.c steps a voice). Shared by the GPU voices test
 * (tests/gpu/test_gpu_voices.c: the reference a GPU's advance_voices must
 * match) and the test batch backend (tests/voices/cpu_batch_backend.c: a
 * batch backend without a GPU). Test code only.
 *
 * Threading: cpu_voice_new and cpu_voice_free on the control thread;
 * cpu_voice_run allocates, locks and blocks nothing (its scratch comes with
 * the call). */
#ifndef SPRUNG_TESTS_VOICES_CPU_VOICE_H
#define SPRUNG_TESTS_VOICES_CPU_VOICE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/opencl/gpu_common.h"
#include "kernel/sprung_block.h"

/* Audio input channels a frame passes on (as the engine's
 * VOICES_MAX_INPUTS: the engine passes no more). */
#define CPU_VOICE_MAX_INPUTS 64u

typedef struct CpuVoice {
    SprungState state;
    unsigned char *constants; /* this voice's copy of the compiled block */
    SprungBackend backend;    /* the CPU reference on `state` */
    SprungStepModel model;    /* views of `constants` */
    SprungFeatureModel feature_model;
} CpuVoice;

/* What one frame's call needs beyond the run: its starts and notes rebased
 * to the frame, and its inputs and outputs at the frame's offset. Large
 * (28 KiB): make it once, not on the audio thread's stack. */
typedef struct CpuVoiceScratch {
    SprungPulseStart starts[SPRUNG_BACKEND_MAX_PULSE_STARTS];
    SprungExciterEvent events[SPRUNG_BACKEND_MAX_EXCITER_EVENTS];
    const float *inputs[CPU_VOICE_MAX_INPUTS];
    float *outputs[SPRUNG_MAX_CHANNELS];
} CpuVoiceScratch;

static inline void cpu_voice_free(CpuVoice *cv)
{
    if (cv->backend.destroy)
        cv->backend.destroy(cv->backend.ctx);
    sprung_state_free(&cv->state);
    free(cv->constants);
    memset(cv, 0, sizeof *cv);
}

/* A voice of `c` at its initial state, its copy of the constants as
 * compiled. On failure everything made is freed again. */
static inline SprungStatus cpu_voice_new(const SprungCompiled *c, const SprungEngineConfig *config,
                                         CpuVoice *cv, SprungError *error)
{
    memset(cv, 0, sizeof *cv);
    if (sprung_state_new(c, &cv->state) != SPRUNG_OK)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory for a CPU voice's state");
    cv->constants = malloc(c->block_bytes ? c->block_bytes : 1u);
    if (!cv->constants) {
        cpu_voice_free(cv);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory for a CPU voice's constants");
    }
    memcpy(cv->constants, c->block, c->block_bytes);
    SprungStatus status =
        sprung_backend_cpu_factory.create(c, &cv->state, 0, config, &cv->backend, error);
    if (status != SPRUNG_OK) {
        memset(&cv->backend, 0, sizeof cv->backend);
        cpu_voice_free(cv);
        return status;
    }
    /* The voice's views of its own copy (the layout the kernel uses; its
     * offsets are checked against the compiled arrays by gpu_block_c and
     * the conformance test). */
    SprungBlockLayout layout = sprung_gpu_layout(c, &cv->state);
    SprungBlockFeatureLayout feature_layout = sprung_gpu_feature_layout(c, &cv->state);
    cv->model = sprung_block_model(cv->constants, &layout);
    cv->feature_model = sprung_block_feature_model(cv->constants, &feature_layout);
    return SPRUNG_OK;
}

/* `run` (its .voice is the caller's business) for n_steps engine steps:
 * per output frame f its writes[frame_writes[f] .. frame_writes[f + 1])
 * into the voice's constants (or its state, SPRUNG_BLOCK_WRITE_STATE),
 * set_views with frame_dt[f], then one advance_features() call for the
 * frame's steps with its starts and notes, inputs and outputs; then, when
 * the run asks for them (io.mic_frames), the voice's microphones. */
static inline void cpu_voice_run(CpuVoice *cv, const SprungCompiled *c, uint32_t n_steps,
                                 const SprungVoiceRun *run, CpuVoiceScratch *scratch)
{
    const SprungFeatureIo *io = &run->io;
    uint32_t os = io->oversampling ? io->oversampling : 1u;
    uint32_t n_frames = (n_steps + os - 1u) / os;
    uint32_t n_inputs = io->n_inputs < CPU_VOICE_MAX_INPUTS ? io->n_inputs : CPU_VOICE_MAX_INPUTS;
    uint32_t next_start = 0, next_event = 0;
    for (uint32_t f = 0; f < n_frames; ++f) {
        if (io->writes && io->frame_writes)
            for (uint32_t w = io->frame_writes[f]; w < io->frame_writes[f + 1]; ++w) {
                uint32_t target = io->writes[w].target;
                uint32_t *words = target & SPRUNG_BLOCK_WRITE_STATE
                                      ? (uint32_t *)cv->state.block
                                      : (uint32_t *)cv->constants;
                words[target & ~SPRUNG_BLOCK_WRITE_STATE] = io->writes[w].bits;
            }
        cv->model.dt = run->frame_dt[f];
        cv->backend.set_views(cv->backend.ctx, &cv->model, &cv->feature_model);
        uint32_t first_step = f * os;
        uint32_t end_step = first_step + os < n_steps ? first_step + os : n_steps;
        uint32_t n_starts = 0, n_events = 0;
        for (; next_start < run->n_starts && run->starts[next_start].step < end_step &&
               n_starts < SPRUNG_BACKEND_MAX_PULSE_STARTS;
             ++next_start) {
            scratch->starts[n_starts] = run->starts[next_start];
            scratch->starts[n_starts++].step -= first_step;
        }
        for (; next_event < io->n_exciter_events &&
               io->exciter_events[next_event].step < end_step &&
               n_events < SPRUNG_BACKEND_MAX_EXCITER_EVENTS;
             ++next_event) {
            scratch->events[n_events] = io->exciter_events[next_event];
            scratch->events[n_events++].step -= first_step;
        }
        for (uint32_t ch = 0; ch < n_inputs; ++ch)
            scratch->inputs[ch] = io->inputs[ch] ? io->inputs[ch] + f : NULL;
        for (uint32_t ch = 0; ch < c->n_channels; ++ch)
            scratch->outputs[ch] = io->outputs[ch] + first_step;
        SprungFeatureIo frame_io = {
            .exciter_events = scratch->events,
            .n_exciter_events = n_events,
            .inputs = scratch->inputs,
            .n_inputs = n_inputs,
            .oversampling = os,
            .outputs = scratch->outputs,
        };
        cv->backend.advance_features(cv->backend.ctx, end_step - first_step, scratch->starts,
                                     n_starts, &frame_io);
        if (io->mic_frames)
            memcpy(io->mic_frames + (size_t)f * c->n_microphones, cv->state.mic_value,
                   c->n_microphones * sizeof *io->mic_frames);
    }
}

#endif
