/* The OpenCL C 1.2 driver of the block kernel (sprung_block.h). Embedded at
 * build time, with sprung_step.h and sprung_block.h in front of it, into
 * src/backend/opencl/ (which strips the #include lines), and built there with
 * -cl-fp32-correctly-rounded-divide-sqrt and without -cl-mad-enable so it
 * gives the CPU reference's bits.
 *
 * Build-time switch: SPRUNG_LOCAL_STATE=1 (with
 * -DSPRUNG_STATE_SPACE=__local) keeps the state in __local memory for the
 * block: copied in at the start, written back at the end. Otherwise the
 * state stays in __global memory.
 *
 * Kernels:
 *   sprung_block_kernel   one work-group renders a whole block;
 *   sprung_block_features_kernel  the same for a feature model (exciters,
 *                           collisions, delays, ...; sprung_block_run_features);
 *   sprung_voices_features_kernel  several voices of an instanced model, a
 *                           work-group per voice, each on its own copy of
 *                           the constants and the state (launch table:
 *                           sprung_block.h, SprungKernelVoiceRun);
 *   sprung_multi_springs  \ the large-model fallback: one launch per phase
 *   sprung_multi_nodes    / and engine step over many work-groups (OpenCL
 *                           1.2 has no grid-wide barrier);
 *   sprung_multi_features_springs, sprung_multi_features_nodes: the same
 *                           for a feature model, and sprung_multi_features_writes
 *                           before a step whose frame has modulation writes.
 *
 * Block input buffer `inputs`: words n_steps, n_starts, 0, 0, then n_starts
 * SprungKernelPulseStart. Output: interleaved left/right per step. A feature
 * model's buffers are sprung_block_run_features()'s (sprung_block.h). */
#include "kernel/sprung_block.h"

#ifndef SPRUNG_LOCAL_STATE
#  define SPRUNG_LOCAL_STATE 0
#endif

#define SPRUNG_STARTS(inputs) \
    ((__global const SprungKernelPulseStart *)((inputs) + SPRUNG_BLOCK_HEADER_WORDS))

#if SPRUNG_LOCAL_STATE
/* The state block into the group's local copy and back, all items. */
static void state_to_local(__local uint *local_state, __global const uint *state, uint words)
{
    for (uint w = get_local_id(0); w < words; w += get_local_size(0))
        local_state[w] = state[w];
    barrier(CLK_LOCAL_MEM_FENCE);
}

static void state_from_local(__global uint *state, __local const uint *local_state, uint words)
{
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint w = get_local_id(0); w < words; w += get_local_size(0))
        state[w] = local_state[w];
}

__kernel void sprung_block_kernel(__global const uchar *constants, const SprungBlockLayout layout,
                                  __global uint *state, __global const uint *inputs,
                                  __global float *out, __local uint *local_state)
{
    unsigned int item = (unsigned int)get_local_id(0);
    unsigned int items = (unsigned int)get_local_size(0);
    state_to_local(local_state, state, layout.state_words);
    SprungStepModel model = sprung_block_model(constants, &layout);
    SprungStepState view = sprung_block_state((__local uchar *)local_state, &layout);
    sprung_block_run(item, items, inputs[0], inputs[1], SPRUNG_STARTS(inputs), &model, &view, out);
    state_from_local(state, local_state, layout.state_words);
}

__kernel void sprung_block_features_kernel(__global uchar *constants,
                                           const SprungBlockLayout layout,
                                           const SprungBlockFeatureLayout features,
                                           __global uint *state, __global const uint *inputs,
                                           __global float *out, __local uint *local_state)
{
    state_to_local(local_state, state, layout.state_words);
    sprung_block_run_features_at((unsigned int)get_local_id(0), (unsigned int)get_local_size(0),
                                 constants, &layout, &features, (__local uchar *)local_state,
                                 (__global uchar *)state, inputs, NULL, out);
    state_from_local(state, local_state, layout.state_words);
}

__kernel void sprung_voices_features_kernel(__global uchar *constants, const uint constants_stride,
                                            const SprungBlockLayout layout,
                                            const SprungBlockFeatureLayout features,
                                            __global uchar *state, const uint state_stride,
                                            __global const uint *inputs, __global float *out,
                                            __local uint *local_state)
{
    SprungKernelVoiceRun run = sprung_block_voice_run(inputs, (uint)get_group_id(0));
    __global uchar *voice_state = state + (size_t)run.voice * state_stride;
    state_to_local(local_state, (__global const uint *)voice_state, layout.state_words);
    sprung_block_run_voice_at((uint)get_local_id(0), (uint)get_local_size(0), &run,
                              constants + (size_t)run.voice * constants_stride, &layout,
                              &features, (__local uchar *)local_state, voice_state, inputs, out);
    state_from_local((__global uint *)voice_state, local_state, layout.state_words);
}
#else
__kernel void sprung_block_kernel(__global const uchar *constants, const SprungBlockLayout layout,
                                  __global uint *state, __global const uint *inputs,
                                  __global float *out)
{
    unsigned int item = (unsigned int)get_local_id(0);
    unsigned int items = (unsigned int)get_local_size(0);
    SprungStepModel model = sprung_block_model(constants, &layout);
    SprungStepState view = sprung_block_state((__global uchar *)state, &layout);
    sprung_block_run(item, items, inputs[0], inputs[1], SPRUNG_STARTS(inputs), &model, &view, out);
}

__kernel void sprung_block_features_kernel(__global uchar *constants,
                                           const SprungBlockLayout layout,
                                           const SprungBlockFeatureLayout features,
                                           __global uint *state, __global const uint *inputs,
                                           __global float *out)
{
    sprung_block_run_features_at((unsigned int)get_local_id(0), (unsigned int)get_local_size(0),
                                 constants, &layout, &features, (__global uchar *)state,
                                 (__global uchar *)state, inputs, NULL, out);
}

__kernel void sprung_voices_features_kernel(__global uchar *constants, const uint constants_stride,
                                            const SprungBlockLayout layout,
                                            const SprungBlockFeatureLayout features,
                                            __global uchar *state, const uint state_stride,
                                            __global const uint *inputs, __global float *out)
{
    SprungKernelVoiceRun run = sprung_block_voice_run(inputs, (uint)get_group_id(0));
    __global uchar *voice_state = state + (size_t)run.voice * state_stride;
    sprung_block_run_voice_at((uint)get_local_id(0), (uint)get_local_size(0), &run,
                              constants + (size_t)run.voice * constants_stride, &layout,
                              &features, voice_state, voice_state, inputs, out);
}

/* Large models, launch 1 of step `step`: item 0 mixes step - 1 (the state
 * after it is complete now) and applies the starts of `step`; every item
 * computes its springs. Launched once more with step == n_steps for the
 * last mix. */
__kernel void sprung_multi_springs(__global const uchar *constants, const SprungBlockLayout layout,
                                   __global uint *state, __global const uint *inputs,
                                   __global float *out, const uint step)
{
    unsigned int item = (unsigned int)get_global_id(0);
    unsigned int items = (unsigned int)get_global_size(0);
    unsigned int n_steps = inputs[0];
    SprungStepModel model = sprung_block_model(constants, &layout);
    SprungStepState view = sprung_block_state((__global uchar *)state, &layout);
    if (item == 0u) {
        if (step > 0u)
            sprung_block_mix(step - 1u, &model, &view, out);
        if (step < n_steps) {
            /* Starts are sorted: skip to this step's (few, so linear). */
            unsigned int n_starts = inputs[1], next = 0u;
            __global const SprungKernelPulseStart *starts = SPRUNG_STARTS(inputs);
            while (next < n_starts && starts[next].step < step)
                ++next;
            sprung_block_apply_starts(step, &next, n_starts, starts, &view);
        }
    }
    if (step < n_steps)
        sprung_block_springs(item, items, &model, &view);
}

/* Large feature models with modulation, before launch 1 of a step that
 * begins a frame with writes: one item finishes step - 1 (its microphones
 * read gains the writes may change), then applies the frame's writes;
 * launch 1 then skips that finish. */
__kernel void sprung_multi_features_writes(__global uchar *constants,
                                           const SprungBlockLayout layout,
                                           const SprungBlockFeatureLayout features,
                                           __global uint *state, __global const uint *inputs,
                                           __global float *out, const uint step)
{
    SprungStepModel model = sprung_block_model(constants, &layout);
    SprungStepState view = sprung_block_state((__global uchar *)state, &layout);
    SprungBlockFeatureInputs in = sprung_block_feature_inputs(inputs, constants, &features);
    SprungFeatureModel fm = sprung_block_feature_model(constants, &features);
    SprungFeatureState fs = sprung_block_feature_state((__global uchar *)state,
                                                       (__global uchar *)state, &features);
    if (step > 0u)
        sprung_block_features_after(step - 1u, &in, &model, &view, &fm, &fs, out);
    unsigned int first, end;
    if (sprung_block_frame_writes(step, &in, &first, &end))
        sprung_block_apply_writes(0u, 1u, first, end, &in, (__global uint *)constants, state);
}

/* Large feature models, launch 1 of step `step`: item 0 finishes step - 1
 * (microphones, delay writes; unless sprung_multi_features_writes did)
 * and does the serial part of `step` (starts, notes, delay reads, input
 * feeds, exciter and collision forces); every item computes its springs.
 * Launched once more with step == n_steps for the last step's finish. */
__kernel void sprung_multi_features_springs(__global const uchar *constants,
                                            const SprungBlockLayout layout,
                                            const SprungBlockFeatureLayout features,
                                            __global uint *state, __global const uint *inputs,
                                            __global float *out, const uint step)
{
    unsigned int item = (unsigned int)get_global_id(0);
    unsigned int items = (unsigned int)get_global_size(0);
    SprungStepModel model = sprung_block_model(constants, &layout);
    SprungStepState view = sprung_block_state((__global uchar *)state, &layout);
    SprungBlockFeatureInputs in = sprung_block_feature_inputs(inputs, constants, &features);
    if (item == 0u) {
        SprungFeatureModel fm = sprung_block_feature_model(constants, &features);
        SprungFeatureState fs = sprung_block_feature_state((__global uchar *)state,
                                                           (__global uchar *)state, &features);
        unsigned int first, end;
        int finished = step < in.n_steps && sprung_block_frame_writes(step, &in, &first, &end);
        if (step > 0u && !finished)
            sprung_block_features_after(step - 1u, &in, &model, &view, &fm, &fs, out);
        if (step < in.n_steps) {
            unsigned int next_start, next_event;
            sprung_block_features_seek(step, &in, &next_start, &next_event);
            sprung_block_features_before(step, &in, &next_start, &next_event, &model, &view,
                                         &fm, &fs);
        }
    }
    if (step < in.n_steps)
        sprung_block_springs(item, items, &model, &view);
}

/* Large feature models, launch 2 of step `step`: every item integrates its
 * nodes with their constant forces, exciters and collisions. */
__kernel void sprung_multi_features_nodes(__global const uchar *constants,
                                          const SprungBlockLayout layout,
                                          const SprungBlockFeatureLayout features,
                                          __global uint *state)
{
    SprungStepModel model = sprung_block_model(constants, &layout);
    SprungStepState view = sprung_block_state((__global uchar *)state, &layout);
    SprungFeatureModel fm = sprung_block_feature_model(constants, &features);
    SprungFeatureState fs = sprung_block_feature_state((__global uchar *)state,
                                                       (__global uchar *)state, &features);
    sprung_block_nodes_features((unsigned int)get_global_id(0), (unsigned int)get_global_size(0),
                                &model, &view, &fm, &fs);
}

/* Large models, launch 2 of step `step`: every item integrates its nodes. */
__kernel void sprung_multi_nodes(__global const uchar *constants, const SprungBlockLayout layout,
                                 __global uint *state)
{
    unsigned int item = (unsigned int)get_global_id(0);
    unsigned int items = (unsigned int)get_global_size(0);
    SprungStepModel model = sprung_block_model(constants, &layout);
    SprungStepState view = sprung_block_state((__global uchar *)state, &layout);
    sprung_block_nodes(item, items, &model, &view);
}
#endif
