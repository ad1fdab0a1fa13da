/* Compiled (syntax only) as OpenCL C 1.2 by the instrument_kernel_opencl
 * test: every feature function of kernel/sprung_step.h instantiated. */
#include "kernel/sprung_step.h"

__kernel void sprung_feature_syntax_check(__global const float *constants,
                                          __global const unsigned int *indices,
                                          __global float *state, __global unsigned int *words)
{
    SprungStepModel model;
    SprungStepState view;
    SprungFeatureModel fm;
    SprungFeatureState fs;
    model.inv_mass = constants;
    view.ux = state;
    fm.exciter_kind = indices;
    fm.exciter_strength = constants;
    fs.exciter_level = state;
    fs.exciter_rng = words;
    unsigned int i = (unsigned int)get_global_id(0);
    sprung_exciter_note(i, 1.0f, 0.01f, &fm, &fs);
    sprung_delay_read(i, &fm, &fs);
    sprung_exciter_feed(i, 0.5f, &fm, &fs);
    sprung_exciter_force(i, &model, &view, &fm, &fs);
    sprung_collision_force(i, &view, &fm, &fs);
    barrier(CLK_GLOBAL_MEM_FENCE);
    sprung_node_integrate_features(i, &model, &view, &fm, &fs);
    barrier(CLK_GLOBAL_MEM_FENCE);
    float channels[SPRUNG_MAX_CHANNELS];
    sprung_microphones_mix_channels(&model, &view, &fm, &fs, channels);
    sprung_delay_write(i, &fm, &fs);
    state[0] = channels[0] + sprung_bow_friction(state[1], 0.8f, 0.3f, 0.1f, 0.01f);
}
