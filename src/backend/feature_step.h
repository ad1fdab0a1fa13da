/* The parts of a feature model's engine step that run around phases 1 and
 * 2 on the host, around the kernel's sprung_features_* (whose order
 * sprung_step.h states once, and which the GPU block driver,
 * kernel/sprung_block.h, calls too), shared by the CPU backends: the
 * reference (cpu/cpu_reference.c) and the SIMD backend
 * (simd/simd_backend.c) call
 *
 *   feature_step_begin   events, delay reads, exciter feeds
 *   (phase 1: every spring's force)
 *   feature_step_forces  exciter and collision forces
 *   (phase 2: every node, sprung_node_integrate_features)
 *   feature_step_end     microphones into the outputs, delay writes
 *
 * Audio thread: no allocation, no locks. Private to src/backend/. */
#ifndef SPRUNG_BACKEND_FEATURE_STEP_H
#define SPRUNG_BACKEND_FEATURE_STEP_H

#include <stddef.h>

#include "backend/backend.h"
#include "kernel/sprung_step.h"

_Static_assert(sizeof(SprungKernelExciterEvent) == sizeof(SprungExciterEvent) &&
                   offsetof(SprungKernelExciterEvent, increment) ==
                       offsetof(SprungExciterEvent, increment),
               "exciter events reach the kernel unchanged");

/* The kernel views a feature step reads and writes. */
typedef struct FeatureStepViews {
    const SprungCompiled *compiled; /* host-only constants (input channels) */
    const SprungStepModel *model;
    const SprungStepState *state;
    const SprungFeatureModel *feature_model;
    const SprungFeatureState *feature_state;
} FeatureStepViews;

/* Before phase 1 of engine step `step` of the block: the exciter notes of
 * this step (io->exciter_events from *next_event on, sorted by step), every
 * delay line's output, then every audio input's sample. */
static inline void feature_step_begin(const FeatureStepViews *v, const SprungFeatureIo *io,
                                      uint32_t step, uint32_t *next_event)
{
    const SprungFeatureModel *fm = v->feature_model;
    const SprungFeatureState *fs = v->feature_state;
    sprung_features_begin(step, (const SprungKernelExciterEvent *)io->exciter_events,
                          io->n_exciter_events, next_event, fm, fs);
    uint32_t frame = step / io->oversampling;
    for (unsigned int e = 0; e < fm->n_exciters; ++e) {
        if (fm->exciter_kind[e] != SPRUNG_KERNEL_EXCITER_AUDIO_INPUT)
            continue;
        uint32_t channel = v->compiled->exciter_input[e];
        float input = channel < io->n_inputs && io->inputs[channel]
                          ? io->inputs[channel][frame]
                          : 0.0f;
        sprung_exciter_feed(e, input, fm, fs);
    }
}

/* Phase 1's other forces, from the pre-step state like the springs'. */
static inline void feature_step_forces(const FeatureStepViews *v)
{
    sprung_features_forces(v->model, v->state, v->feature_model, v->feature_state);
}

/* After phase 2: the microphones into io->outputs[ch][step], then every
 * delay line's write. */
static inline void feature_step_end(const FeatureStepViews *v, const SprungFeatureIo *io,
                                    uint32_t step)
{
    const SprungFeatureModel *fm = v->feature_model;
    float channel_sum[SPRUNG_MAX_CHANNELS];
    sprung_microphones_mix_channels(v->model, v->state, fm, v->feature_state, channel_sum);
    for (unsigned int ch = 0; ch < fm->n_channels; ++ch)
        io->outputs[ch][step] = channel_sum[ch];
    sprung_delays_write(fm, v->feature_state);
}

#endif
