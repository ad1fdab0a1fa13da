/* Compiled (syntax only) as OpenCL C 1.2 by the engine_kernel_opencl test:
 * the one kernel source must stay inside the common subset of C and OpenCL C.
 * Not a real driver; it only instantiates every kernel function. */
#include "kernel/sprung_step.h"

__kernel void sprung_kernel_syntax_check(__global const float *constants, __global float *state,
                                         __global unsigned int *pulse_step)
{
    SprungStepModel model;
    SprungStepState view;
    model.inv_mass = constants;
    view.ux = state;
    view.pulse_step = pulse_step;
    unsigned int i = (unsigned int)get_global_id(0);
    sprung_spring_force(i, &model, &view);
    barrier(CLK_GLOBAL_MEM_FENCE);
    sprung_node_integrate(i, &model, &view);
    barrier(CLK_GLOBAL_MEM_FENCE);
    float left, right;
    sprung_microphones_mix(&model, &view, &left, &right);
    state[0] = left + right;
}
