/* The CPU reference backend. THIS IS THE ORACLE: every other backend (SIMD,
 * OpenCL, CUDA) is tested against the output of this file.
 *
 * It is deliberately plain: one engine step at a time, phase 1 (every
 * spring's force, in spring order), then phase 2 (every node gathers and
 * integrates, in node order), then the microphones; each phase is a loop over
 * the shared kernel functions of kernel/sprung_step.h. No vectorisation
 * tricks, no reordering: fast paths live beside this file, not inside it.
 *
 * Threading: new on the control thread; everything else on the audio thread
 * (no allocation, no locks). */
#include <stdio.h>
#include <stdlib.h>

#include "backend/backend.h"
#include "backend/feature_step.h"
#include "model/model.h"
#include "kernel/sprung_step.h"

typedef struct CpuReference {
    const SprungCompiled *compiled;
    SprungState *state;
    SprungStepModel model; /* kernel views of compiled and state */
    SprungStepState view;
    SprungFeatureModel feature_model;
    SprungFeatureState feature_view;
} CpuReference;

static void cpu_reference_advance(void *ctx, uint32_t n_steps, const SprungPulseStart *starts,
                                  uint32_t n_starts, float *left, float *right)
{
    CpuReference *self = ctx;
    const SprungStepModel *model = &self->model;
    const SprungStepState *view = &self->view;
    uint32_t next_start = 0;
    for (uint32_t step = 0; step < n_steps; ++step) {
        for (; next_start < n_starts && starts[next_start].step == step; ++next_start) {
            view->pulse_amplitude[starts[next_start].slot] = starts[next_start].amplitude;
            view->pulse_step[starts[next_start].slot] = 0;
        }
        for (unsigned int s = 0; s < model->n_springs; ++s)
            sprung_spring_force(s, model, view);
        for (unsigned int i = 0; i < model->n_nodes; ++i)
            sprung_node_integrate(i, model, view);
        sprung_microphones_mix(model, view, &left[step], &right[step]);
    }
}

/* A feature model's steps, in the order of the second half of
 * kernel/sprung_step.h (backend/feature_step.h): events, delay reads and
 * exciter feeds, phase 1 (springs, exciters, collisions), phase 2,
 * microphones, delay writes. */
static void cpu_reference_advance_features(void *ctx, uint32_t n_steps,
                                           const SprungPulseStart *starts, uint32_t n_starts,
                                           const SprungFeatureIo *io)
{
    CpuReference *self = ctx;
    const SprungStepModel *model = &self->model;
    const SprungStepState *view = &self->view;
    const FeatureStepViews views = {self->compiled, model, view, &self->feature_model,
                                    &self->feature_view};
    uint32_t next_start = 0, next_event = 0;
    for (uint32_t step = 0; step < n_steps; ++step) {
        for (; next_start < n_starts && starts[next_start].step == step; ++next_start) {
            view->pulse_amplitude[starts[next_start].slot] = starts[next_start].amplitude;
            view->pulse_step[starts[next_start].slot] = 0;
        }
        feature_step_begin(&views, io, step, &next_event);
        for (unsigned int s = 0; s < model->n_springs; ++s)
            sprung_spring_force(s, model, view);
        feature_step_forces(&views);
        for (unsigned int i = 0; i < model->n_nodes; ++i)
            sprung_node_integrate_features(i, model, view, &self->feature_model,
                                           &self->feature_view);
        feature_step_end(&views, io, step);
    }
}

/* A voice's own dt and arrays (instanced mode). */
static void cpu_reference_set_views(void *ctx, const SprungStepModel *model,
                                    const SprungFeatureModel *feature_model)
{
    CpuReference *self = ctx;
    self->model = *model;
    self->feature_model = *feature_model;
}

static void cpu_reference_reset(void *ctx)
{
    CpuReference *self = ctx;
    sprung_state_reset(self->compiled, self->state);
}

static void cpu_reference_destroy(void *ctx)
{
    free(ctx);
}

static void cpu_reference_probe(SprungBackendInfo *info)
{
    info->available = 1;
    info->n_devices = 1;
    snprintf(info->devices[0], sizeof info->devices[0],
             "plain C, one thread, one step at a time (the oracle)");
}

static SprungStatus cpu_reference_create(const SprungCompiled *compiled, SprungState *state,
                                         uint32_t device, const SprungEngineConfig *config,
                                         SprungBackend *out, SprungError *error)
{
    (void)device;
    (void)config;
    CpuReference *self = calloc(1, sizeof *self);
    if (!self)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the CPU reference backend");
    self->compiled = compiled;
    self->state = state;
    self->model = sprung_compiled_step_model(compiled);
    self->view = sprung_state_step_view(state);
    self->feature_model = sprung_compiled_feature_model(compiled);
    self->feature_view = sprung_state_feature_view(state);
    *out = (SprungBackend){
        .name = "cpu",
        .ctx = self,
        .advance = cpu_reference_advance,
        .reset = cpu_reference_reset,
        .sync_state = NULL, /* steps the host state in place */
        .upload_state = NULL,
        .destroy = cpu_reference_destroy,
        .advance_features = cpu_reference_advance_features,
        .set_views = cpu_reference_set_views,
    };
    return SPRUNG_OK;
}

const SprungBackendFactory sprung_backend_cpu_factory = {
    .name = "cpu",
    .description = "reference: plain C, the oracle every backend is tested against",
    .features = SPRUNG_FEATURE_ALL,
    .probe = cpu_reference_probe,
    .create = cpu_reference_create,
};
