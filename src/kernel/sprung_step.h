/* The one physics step of Sprung (DESIGN.md §1), written once for C, OpenCL C
 * and CUDA C. Every backend calls these functions; the CPU reference backend
 * (src/backend/cpu/cpu_reference.c) loops over them plainly and is the oracle.
 *
 * One engine step is two phases with a barrier between them:
 *   1. sprung_spring_force(s) for every spring s: the force the spring puts on
 *      its first endpoint p, written to spring_force_{x,y,z}[s] (q gets the
 *      negative). Reads the pre-step state only.
 *   2. sprung_node_integrate(i) for every node i: gathers its incident springs
 *      in CSR order (no atomics), adds drag and mallet pulses, then
 *      semi-implicit Euler. Touches node i (and the pulses of the mallets that
 *      target it) only.
 * then sprung_microphones_mix() reads the post-step state.
 *
 * The order of every floating-point operation is fixed here, so any backend
 * that evaluates these functions with IEEE float32, correctly rounded
 * division and sqrt, and no contraction into FMA (C: -ffp-contract=off;
 * CUDA: --fmad=false; OpenCL: -cl-fp32-correctly-rounded-divide-sqrt) gives
 * the reference's bits.
 *
 * Only the common subset of the three dialects is used: float and unsigned
 * int, structs of pointers, loops, sqrt. No libc beyond sqrtf. */
#ifndef SPRUNG_KERNEL_STEP_H
#define SPRUNG_KERNEL_STEP_H

#if defined(__OPENCL_C_VERSION__) || defined(__OPENCL_VERSION__)
#  define SPRUNG_KERNEL_INLINE static inline
#  define SPRUNG_GLOBAL __global
#  define sprung_kernel_sqrtf(x) sqrt(x)
/* OpenCL C lets the compiler fuse a*b+c by default; the order and rounding
 * of every operation here is normative. */
#  pragma OPENCL FP_CONTRACT OFF
#elif defined(__CUDACC__)
#  define SPRUNG_KERNEL_INLINE static __host__ __device__ inline
#  define SPRUNG_GLOBAL
#  define sprung_kernel_sqrtf(x) sqrtf(x)
#else
#  include <math.h>
#  define SPRUNG_KERNEL_INLINE static inline
#  define SPRUNG_GLOBAL
#  define sprung_kernel_sqrtf(x) sqrtf(x)
#endif

/* The address space of the mutable state (SprungStepState). Global memory
 * unless a driver keeps the state in OpenCL __local memory: it then builds
 * the program with -DSPRUNG_STATE_SPACE=__local (OpenCL C 1.2 has no generic
 * address space). Empty in C and CUDA, where one pointer type covers both. */
#ifndef SPRUNG_STATE_SPACE
#  define SPRUNG_STATE_SPACE SPRUNG_GLOBAL
#endif

/* Concurrent pulses per mallet: a re-strike while earlier pulses still run
 * takes the next slot of a ring, replacing the oldest. */
#define SPRUNG_PULSE_SLOTS 4u

/* Marks a pulse slot that is not running (any value >= the mallet's step
 * count would do; this one is never reached by counting). */
#define SPRUNG_PULSE_IDLE 0xFFFFFFFFu

/* Microphone signal kinds (same values as SprungMicSignal). */
#define SPRUNG_KERNEL_MIC_POSITION 0u
#define SPRUNG_KERNEL_MIC_VELOCITY 1u

/* The compiled constants the step reads. Arrays are indexed by node (bodies
 * first, then anchors), spring, mallet or microphone. See
 * src/engine/compiled.h for what each holds and how it is computed. */
typedef struct SprungStepModel {
    unsigned int n_nodes;
    unsigned int n_bodies;
    unsigned int n_springs;
    unsigned int n_microphones;
    float dt;

    SPRUNG_GLOBAL const float *inv_mass;
    SPRUNG_GLOBAL const float *drag;
    SPRUNG_GLOBAL const unsigned int *incidence_offset; /* n_nodes + 1 */
    SPRUNG_GLOBAL const unsigned int *incidence_spring;
    SPRUNG_GLOBAL const float *incidence_sign;          /* +1: node is p, -1: node is q */
    SPRUNG_GLOBAL const unsigned int *node_mallet_offset; /* n_nodes + 1 */
    SPRUNG_GLOBAL const unsigned int *node_mallet;

    SPRUNG_GLOBAL const unsigned int *spring_p;
    SPRUNG_GLOBAL const unsigned int *spring_q;
    SPRUNG_GLOBAL const float *spring_stiffness;
    SPRUNG_GLOBAL const float *spring_damping;
    SPRUNG_GLOBAL const float *spring_rest_length;
    SPRUNG_GLOBAL const float *spring_length0;    /* |d0| */
    SPRUNG_GLOBAL const float *spring_length0_sq; /* |d0|² */
    SPRUNG_GLOBAL const float *spring_preload;    /* |d0| - L */
    SPRUNG_GLOBAL const float *spring_d0_x;
    SPRUNG_GLOBAL const float *spring_d0_y;
    SPRUNG_GLOBAL const float *spring_d0_z;

    SPRUNG_GLOBAL const float *mallet_dir_x;
    SPRUNG_GLOBAL const float *mallet_dir_y;
    SPRUNG_GLOBAL const float *mallet_dir_z;
    SPRUNG_GLOBAL const unsigned int *mallet_steps;
    SPRUNG_GLOBAL const unsigned int *mallet_shape_offset;
    SPRUNG_GLOBAL const float *mallet_shape; /* force per N·s of impulse, per step */

    SPRUNG_GLOBAL const unsigned int *mic_node;
    SPRUNG_GLOBAL const unsigned int *mic_signal;
    SPRUNG_GLOBAL const float *mic_axis_x;
    SPRUNG_GLOBAL const float *mic_axis_y;
    SPRUNG_GLOBAL const float *mic_axis_z;
    SPRUNG_GLOBAL const float *mic_gain_left;  /* gain × cos((pan+1)π/4) */
    SPRUNG_GLOBAL const float *mic_gain_right; /* gain × sin((pan+1)π/4) */
} SprungStepModel;

/* The mutable state: displacement u = x - x0 and velocity per node, the
 * phase-1 spring forces, and the mallet pulse slots (mallet × SLOTS + slot). */
typedef struct SprungStepState {
    SPRUNG_STATE_SPACE float *ux;
    SPRUNG_STATE_SPACE float *uy;
    SPRUNG_STATE_SPACE float *uz;
    SPRUNG_STATE_SPACE float *vx;
    SPRUNG_STATE_SPACE float *vy;
    SPRUNG_STATE_SPACE float *vz;
    SPRUNG_STATE_SPACE float *spring_force_x;
    SPRUNG_STATE_SPACE float *spring_force_y;
    SPRUNG_STATE_SPACE float *spring_force_z;
    SPRUNG_STATE_SPACE float *pulse_amplitude; /* impulse J of the pulse, N·s */
    SPRUNG_STATE_SPACE unsigned int *pulse_step; /* next step of the pulse, or SPRUNG_PULSE_IDLE */
} SprungStepState;

/* Phase 1: the force spring s exerts on its endpoint p, f·û with
 * f = k(ℓ - L) + c((v_q - v_p)·û), stored as a vector.
 *
 * Precision: d = d0 + δ with δ = u_q - u_p. The elongation ℓ - L is not taken
 * as the difference of two nearly equal floats; it is
 *   (ℓ² - ℓ0²)/(ℓ + ℓ0) + (ℓ0 - L),   ℓ² - ℓ0² = 2·d0·δ + δ·δ,
 * which keeps float32's relative precision on small vibrations of long
 * springs (DESIGN.md §1 "Numerics").
 *
 * L = 0 takes the exact linear path: the elastic force is k·d.
 * ℓ = 0 (both ends at one point): the direction is undefined and the spring
 * exerts no force; for L = 0 that is k·d = 0 anyway, for L > 0 it is a
 * choice (a spring collapsed to a point cannot know which way to push). */
SPRUNG_KERNEL_INLINE void sprung_spring_force(unsigned int s, const SprungStepModel *m,
                                              const SprungStepState *st)
{
    unsigned int p = m->spring_p[s];
    unsigned int q = m->spring_q[s];

    float delta_x = st->ux[q] - st->ux[p];
    float delta_y = st->uy[q] - st->uy[p];
    float delta_z = st->uz[q] - st->uz[p];
    float d0_x = m->spring_d0_x[s];
    float d0_y = m->spring_d0_y[s];
    float d0_z = m->spring_d0_z[s];
    float d_x = d0_x + delta_x;
    float d_y = d0_y + delta_y;
    float d_z = d0_z + delta_z;

    /* ℓ² - ℓ0², accurate relative to itself. */
    float twice_dot = 2.0f * ((d0_x * delta_x + d0_y * delta_y) + d0_z * delta_z);
    float delta_sq = (delta_x * delta_x + delta_y * delta_y) + delta_z * delta_z;
    float stretch_sq = twice_dot + delta_sq;
    float length0 = m->spring_length0[s];
    float length_sq = m->spring_length0_sq[s] + stretch_sq;
    float length = length_sq > 0.0f ? sprung_kernel_sqrtf(length_sq) : 0.0f;

    float dv_x = st->vx[q] - st->vx[p];
    float dv_y = st->vy[q] - st->vy[p];
    float dv_z = st->vz[q] - st->vz[p];
    float dv_dot_d = (dv_x * d_x + dv_y * d_y) + dv_z * d_z;

    float k = m->spring_stiffness[s];
    float c = m->spring_damping[s];
    /* Force on p = coefficient × d. */
    float coefficient = 0.0f;
    if (length > 0.0f) {
        float damping_part = c * (dv_dot_d / length_sq);
        float elastic_part;
        if (m->spring_rest_length[s] == 0.0f) {
            elastic_part = k;
        } else {
            float elongation = stretch_sq / (length + length0) + m->spring_preload[s];
            elastic_part = k * (elongation / length);
        }
        coefficient = elastic_part + damping_part;
    }
    st->spring_force_x[s] = coefficient * d_x;
    st->spring_force_y[s] = coefficient * d_y;
    st->spring_force_z[s] = coefficient * d_z;
}

/* Phase 2: node i gathers its spring forces (CSR order), drag -γ·v_n and its
 * mallets' pulses (mallet CSR order, then slot order), then
 * v_{n+1} = v_n + dt·(F·m⁻¹) and u_{n+1} = u_n + dt·v_{n+1}.
 * Anchors (inverse mass 0) never move: their state stays exactly as it is. */
SPRUNG_KERNEL_INLINE void sprung_node_integrate(unsigned int i, const SprungStepModel *m,
                                                const SprungStepState *st)
{
    float inv_mass = m->inv_mass[i];
    if (inv_mass == 0.0f)
        return;

    float force_x = 0.0f, force_y = 0.0f, force_z = 0.0f;
    unsigned int end = m->incidence_offset[i + 1];
    for (unsigned int e = m->incidence_offset[i]; e < end; ++e) {
        unsigned int s = m->incidence_spring[e];
        float sign = m->incidence_sign[e];
        force_x += sign * st->spring_force_x[s];
        force_y += sign * st->spring_force_y[s];
        force_z += sign * st->spring_force_z[s];
    }

    float vx = st->vx[i], vy = st->vy[i], vz = st->vz[i];
    float drag = m->drag[i];
    force_x -= drag * vx;
    force_y -= drag * vy;
    force_z -= drag * vz;

    unsigned int mallet_end = m->node_mallet_offset[i + 1];
    for (unsigned int e = m->node_mallet_offset[i]; e < mallet_end; ++e) {
        unsigned int mallet = m->node_mallet[e];
        unsigned int steps = m->mallet_steps[mallet];
        for (unsigned int slot = 0; slot < SPRUNG_PULSE_SLOTS; ++slot) {
            unsigned int index = mallet * SPRUNG_PULSE_SLOTS + slot;
            unsigned int step = st->pulse_step[index];
            if (step >= steps)
                continue;
            float strength = st->pulse_amplitude[index] *
                             m->mallet_shape[m->mallet_shape_offset[mallet] + step];
            force_x += strength * m->mallet_dir_x[mallet];
            force_y += strength * m->mallet_dir_y[mallet];
            force_z += strength * m->mallet_dir_z[mallet];
            st->pulse_step[index] = step + 1u < steps ? step + 1u : SPRUNG_PULSE_IDLE;
        }
    }

    float dt = m->dt;
    vx = vx + dt * (force_x * inv_mass);
    vy = vy + dt * (force_y * inv_mass);
    vz = vz + dt * (force_z * inv_mass);
    st->vx[i] = vx;
    st->vy[i] = vy;
    st->vz[i] = vz;
    st->ux[i] = st->ux[i] + dt * vx;
    st->uy[i] = st->uy[i] + dt * vy;
    st->uz[i] = st->uz[i] + dt * vz;
}

/* After the step: the stereo mix of all microphones, in microphone order.
 * Position: g·(u·â); velocity: g·(v·â); panned by the premultiplied gains. */
SPRUNG_KERNEL_INLINE void sprung_microphones_mix(const SprungStepModel *m,
                                                 const SprungStepState *st, float *left,
                                                 float *right)
{
    float sum_left = 0.0f, sum_right = 0.0f;
    for (unsigned int mic = 0; mic < m->n_microphones; ++mic) {
        unsigned int node = m->mic_node[mic];
        float a_x = m->mic_axis_x[mic], a_y = m->mic_axis_y[mic], a_z = m->mic_axis_z[mic];
        float signal;
        if (m->mic_signal[mic] == SPRUNG_KERNEL_MIC_VELOCITY)
            signal = (st->vx[node] * a_x + st->vy[node] * a_y) + st->vz[node] * a_z;
        else
            signal = (st->ux[node] * a_x + st->uy[node] * a_y) + st->uz[node] * a_z;
        sum_left += m->mic_gain_left[mic] * signal;
        sum_right += m->mic_gain_right[mic] * signal;
    }
    *left = sum_left;
    *right = sum_right;
}

#endif
