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
#include <stdlib.h>

#include "backend/backend.h"
#include "kernel/sprung_step.h"

typedef struct CpuReference {
    const SprungCompiled *compiled;
    SprungState *state;
    SprungStepModel model; /* kernel views of compiled and state */
    SprungStepState view;
} CpuReference;

static void cpu_reference_start_pulse(void *ctx, uint32_t slot, float amplitude)
{
    CpuReference *self = ctx;
    self->state->pulse_amplitude[slot] = amplitude;
    self->state->pulse_step[slot] = 0;
}

static void cpu_reference_advance(void *ctx, uint32_t n_steps, float *left, float *right)
{
    CpuReference *self = ctx;
    const SprungStepModel *model = &self->model;
    const SprungStepState *view = &self->view;
    for (uint32_t step = 0; step < n_steps; ++step) {
        for (unsigned int s = 0; s < model->n_springs; ++s)
            sprung_spring_force(s, model, view);
        for (unsigned int i = 0; i < model->n_nodes; ++i)
            sprung_node_integrate(i, model, view);
        sprung_microphones_mix(model, view, &left[step], &right[step]);
    }
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

SprungStatus sprung_backend_cpu_reference_new(const SprungCompiled *compiled, SprungState *state,
                                              SprungBackend *out, SprungError *error)
{
    CpuReference *self = calloc(1, sizeof *self);
    if (!self)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the CPU reference backend");
    self->compiled = compiled;
    self->state = state;
    self->model = sprung_compiled_step_model(compiled);
    self->view = sprung_state_step_view(state);
    *out = (SprungBackend){
        .name = "cpu-reference",
        .ctx = self,
        .start_pulse = cpu_reference_start_pulse,
        .advance = cpu_reference_advance,
        .reset = cpu_reference_reset,
        .sync_state = NULL, /* steps the host state in place */
        .destroy = cpu_reference_destroy,
    };
    return SPRUNG_OK;
}
