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
 * int, structs of pointers, loops, sqrt. No libc beyond sqrtf, and sinf, cosf
 * and expf in the feature functions at the end (oscillator sine, bow friction
 * curve), whose last bit may differ between math libraries: a GPU backend
 * that wants those features bit-exact needs its own checked sin and exp.
 *
 * The second half of this file holds the features beyond bodies, springs,
 * mallets and microphones (exciters, collisions, constant forces, force
 * microphones, output channels, delay lines; SPRUNG_FEATURE_* in
 * src/engine/compiled.h). A model that uses any of them is stepped with
 * sprung_node_integrate_features() and sprung_microphones_mix_channels()
 * instead of sprung_node_integrate() and sprung_microphones_mix(); a model
 * that uses none runs exactly the functions above, bit for bit as before. */
#ifndef SPRUNG_KERNEL_STEP_H
#define SPRUNG_KERNEL_STEP_H

#if defined(__OPENCL_C_VERSION__) || defined(__OPENCL_VERSION__)
#  define SPRUNG_KERNEL_INLINE static inline
#  define SPRUNG_GLOBAL __global
#  define sprung_kernel_sqrtf(x) sqrt(x)
#  define sprung_kernel_sinf(x) sin(x)
#  define sprung_kernel_cosf(x) cos(x)
#  define sprung_kernel_expf(x) exp(x)
/* OpenCL C lets the compiler fuse a*b+c by default; the order and rounding
 * of every operation here is normative. */
#  pragma OPENCL FP_CONTRACT OFF
#elif defined(__CUDACC__)
#  define SPRUNG_KERNEL_INLINE static __host__ __device__ inline
#  define SPRUNG_GLOBAL
#  define sprung_kernel_sqrtf(x) sqrtf(x)
#  define sprung_kernel_sinf(x) sinf(x)
#  define sprung_kernel_cosf(x) cosf(x)
#  define sprung_kernel_expf(x) expf(x)
#else
#  include <math.h>
#  define SPRUNG_KERNEL_INLINE static inline
#  define SPRUNG_GLOBAL
#  define sprung_kernel_sqrtf(x) sqrtf(x)
#  define sprung_kernel_sinf(x) sinf(x)
#  define sprung_kernel_cosf(x) cosf(x)
#  define sprung_kernel_expf(x) expf(x)
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
#define SPRUNG_KERNEL_MIC_FORCE 2u

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

/* A force on one node, accumulated in a fixed order. */
typedef struct SprungForce3 {
    float x, y, z;
} SprungForce3;

/* A running pulse (slot `index`, of `mallet`) this step: its force along the
 * mallet's direction (impulse × shape), and the pulse advanced by one step
 * (idle after its last). Shared by every phase 2 that adds pulses. */
SPRUNG_KERNEL_INLINE float sprung_pulse_advance(unsigned int mallet, unsigned int index,
                                                const SprungStepModel *m,
                                                const SprungStepState *st)
{
    unsigned int step = st->pulse_step[index];
    float strength =
        st->pulse_amplitude[index] * m->mallet_shape[m->mallet_shape_offset[mallet] + step];
    st->pulse_step[index] = step + 1u < m->mallet_steps[mallet] ? step + 1u : SPRUNG_PULSE_IDLE;
    return strength;
}

/* The base model's force on node i at the pre-step state: its spring forces
 * (CSR order), drag -γ·v_n, then its mallets' pulses (mallet CSR order, then
 * slot order), advancing each running pulse by one step. Shared by both
 * phase-2 functions so the base order of operations exists once. */
SPRUNG_KERNEL_INLINE SprungForce3 sprung_node_base_force(unsigned int i, const SprungStepModel *m,
                                                         const SprungStepState *st)
{
    SprungForce3 force = {0.0f, 0.0f, 0.0f};
    unsigned int end = m->incidence_offset[i + 1];
    for (unsigned int e = m->incidence_offset[i]; e < end; ++e) {
        unsigned int s = m->incidence_spring[e];
        float sign = m->incidence_sign[e];
        force.x += sign * st->spring_force_x[s];
        force.y += sign * st->spring_force_y[s];
        force.z += sign * st->spring_force_z[s];
    }

    float drag = m->drag[i];
    force.x -= drag * st->vx[i];
    force.y -= drag * st->vy[i];
    force.z -= drag * st->vz[i];

    unsigned int mallet_end = m->node_mallet_offset[i + 1];
    for (unsigned int e = m->node_mallet_offset[i]; e < mallet_end; ++e) {
        unsigned int mallet = m->node_mallet[e];
        unsigned int steps = m->mallet_steps[mallet];
        for (unsigned int slot = 0; slot < SPRUNG_PULSE_SLOTS; ++slot) {
            unsigned int index = mallet * SPRUNG_PULSE_SLOTS + slot;
            if (st->pulse_step[index] >= steps)
                continue;
            float strength = sprung_pulse_advance(mallet, index, m, st);
            force.x += strength * m->mallet_dir_x[mallet];
            force.y += strength * m->mallet_dir_y[mallet];
            force.z += strength * m->mallet_dir_z[mallet];
        }
    }
    return force;
}

/* Semi-implicit Euler for node i under `force`:
 * v_{n+1} = v_n + dt·(F·m⁻¹), then u_{n+1} = u_n + dt·v_{n+1}. */
SPRUNG_KERNEL_INLINE void sprung_node_advance(unsigned int i, const SprungStepModel *m,
                                              const SprungStepState *st, SprungForce3 force,
                                              float inv_mass)
{
    float dt = m->dt;
    float vx = st->vx[i] + dt * (force.x * inv_mass);
    float vy = st->vy[i] + dt * (force.y * inv_mass);
    float vz = st->vz[i] + dt * (force.z * inv_mass);
    st->vx[i] = vx;
    st->vy[i] = vy;
    st->vz[i] = vz;
    st->ux[i] = st->ux[i] + dt * vx;
    st->uy[i] = st->uy[i] + dt * vy;
    st->uz[i] = st->uz[i] + dt * vz;
}

/* Phase 2: node i gathers its base force (sprung_node_base_force) and
 * integrates. Anchors (inverse mass 0) never move: their state stays exactly
 * as it is. */
SPRUNG_KERNEL_INLINE void sprung_node_integrate(unsigned int i, const SprungStepModel *m,
                                                const SprungStepState *st)
{
    float inv_mass = m->inv_mass[i];
    if (inv_mass == 0.0f)
        return;
    sprung_node_advance(i, m, st, sprung_node_base_force(i, m, st), inv_mass);
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

/* ===================================================================== *
 * Features beyond bodies, springs, mallets and microphones.
 *
 * One feature step (the reference's order, src/backend/cpu/cpu_reference.c):
 *   0. events: pulse starts, then exciter notes (sprung_exciter_note);
 *   1. every delay line's output for this step (sprung_delay_read), then
 *      every exciter's feed (sprung_exciter_feed: host input + delays);
 *   2. phase 1: sprung_spring_force for every spring, sprung_exciter_force
 *      for every exciter, sprung_collision_force for every collision (all
 *      from the pre-step state, each into its own array);
 *   3. phase 2: sprung_node_integrate_features for every node;
 *   4. sprung_microphones_mix_channels, then sprung_delay_write for every
 *      delay line.
 * ===================================================================== */

#define SPRUNG_NO_NODE 0xFFFFFFFFu

#define SPRUNG_KERNEL_EXCITER_OSCILLATOR 0u
#define SPRUNG_KERNEL_EXCITER_PLUCK 1u
#define SPRUNG_KERNEL_EXCITER_BOW 2u
#define SPRUNG_KERNEL_EXCITER_AUDIO_INPUT 3u

#define SPRUNG_KERNEL_WAVE_SINE 0u
#define SPRUNG_KERNEL_WAVE_SAW 1u
#define SPRUNG_KERNEL_WAVE_SQUARE 2u
#define SPRUNG_KERNEL_WAVE_NOISE 3u

/* Plectrum contact states of a pluck. */
#define SPRUNG_PLECTRUM_IDLE 0u     /* no note yet, or let go */
#define SPRUNG_PLECTRUM_ARMED 1u    /* note-on: starts at the body's position next step */
#define SPRUNG_PLECTRUM_ENGAGED 2u  /* moving, pushing while it penetrates */

/* Microphone routing (mic_channel): panned stereo, not heard, or a channel. */
#define SPRUNG_MIC_CHANNEL_STEREO 0xFFFFFFFFu
#define SPRUNG_MIC_CHANNEL_NONE 0xFFFFFFFEu

/* Most partials of a band-limited saw or square (sprung_additive_wave). */
#define SPRUNG_MAX_HARMONICS 1024u

/* Output channels a model may have (microphone "output" 0..63). */
#define SPRUNG_MAX_CHANNELS 64u

/* The feature constants (src/engine/compiled.h says how each is made). */
typedef struct SprungFeatureModel {
    unsigned int n_exciters;
    unsigned int n_collisions;
    unsigned int n_delays;
    unsigned int n_channels; /* >= 2 */

    /* Per node: a constant force (gravity, m·g), N. */
    SPRUNG_GLOBAL const float *node_force_x;
    SPRUNG_GLOBAL const float *node_force_y;
    SPRUNG_GLOBAL const float *node_force_z;
    SPRUNG_GLOBAL const unsigned int *node_exciter_offset;   /* CSR, n_nodes + 1 */
    SPRUNG_GLOBAL const unsigned int *node_exciter;
    SPRUNG_GLOBAL const unsigned int *node_collision_offset; /* CSR, n_nodes + 1 */
    SPRUNG_GLOBAL const unsigned int *node_collision;
    SPRUNG_GLOBAL const float *node_collision_sign;          /* +1: node is a, -1: node is b */

    /* Exciters: oscillators, plucks, bows, audio inputs, in that order. */
    SPRUNG_GLOBAL const unsigned int *exciter_kind;
    SPRUNG_GLOBAL const unsigned int *exciter_node;
    SPRUNG_GLOBAL const float *exciter_dir_x;
    SPRUNG_GLOBAL const float *exciter_dir_y;
    SPRUNG_GLOBAL const float *exciter_dir_z;
    SPRUNG_GLOBAL const float *exciter_strength; /* N: amplitude, release force, normal force, gain */
    SPRUNG_GLOBAL const float *exciter_attack;   /* envelope rise per step */
    SPRUNG_GLOBAL const float *exciter_release;  /* envelope fall per step */
    SPRUNG_GLOBAL const unsigned int *exciter_waveform;
    SPRUNG_GLOBAL const float *exciter_harmonic_limit; /* min(20 kHz, Nyquist)/fs_e, turns */
    SPRUNG_GLOBAL const unsigned int *exciter_gated; /* audio input: 1 = follows the notes */
    SPRUNG_GLOBAL const float *exciter_stiffness;    /* plectrum contact, N/m */
    SPRUNG_GLOBAL const float *exciter_max_travel;   /* plectrum, m */
    SPRUNG_GLOBAL const float *exciter_mu_static;
    SPRUNG_GLOBAL const float *exciter_mu_dynamic;
    SPRUNG_GLOBAL const float *exciter_slip_velocity;  /* v_s, m/s */
    SPRUNG_GLOBAL const float *exciter_stick_velocity; /* v_eps, m/s */
    SPRUNG_GLOBAL const unsigned int *exciter_delay_offset; /* CSR, n_exciters + 1 */
    SPRUNG_GLOBAL const unsigned int *exciter_delay;

    /* Collisions: body a with body/anchor b, or with a plane (b = SPRUNG_NO_NODE). */
    SPRUNG_GLOBAL const unsigned int *collision_a;
    SPRUNG_GLOBAL const unsigned int *collision_b;
    SPRUNG_GLOBAL const float *collision_normal_x; /* plane: unit normal */
    SPRUNG_GLOBAL const float *collision_normal_y;
    SPRUNG_GLOBAL const float *collision_normal_z;
    SPRUNG_GLOBAL const float *collision_height0;  /* plane: (x0_a - point)·n */
    SPRUNG_GLOBAL const float *collision_d0_x;     /* pair: x0_b - x0_a */
    SPRUNG_GLOBAL const float *collision_d0_y;
    SPRUNG_GLOBAL const float *collision_d0_z;
    SPRUNG_GLOBAL const float *collision_radius;   /* contact distance, m */
    SPRUNG_GLOBAL const float *collision_stiffness;
    SPRUNG_GLOBAL const float *collision_damping;

    /* Microphones: routing and plain gain (the pan gains are in SprungStepModel). */
    SPRUNG_GLOBAL const unsigned int *mic_channel;
    SPRUNG_GLOBAL const float *mic_gain;

    /* Delay lines. */
    SPRUNG_GLOBAL const unsigned int *delay_mic;
    SPRUNG_GLOBAL const unsigned int *delay_steps;       /* D >= 1 */
    SPRUNG_GLOBAL const float *delay_gain;
    SPRUNG_GLOBAL const float *delay_feedback;
    SPRUNG_GLOBAL const unsigned int *delay_ring_offset;
    SPRUNG_GLOBAL const unsigned int *delay_ring_length; /* N >= D */
} SprungFeatureModel;

typedef struct SprungFeatureState {
    SPRUNG_STATE_SPACE float *exciter_gate;      /* 1 while the note is held */
    SPRUNG_STATE_SPACE float *exciter_level;     /* envelope 0..1 */
    SPRUNG_STATE_SPACE float *exciter_velocity;  /* note velocity / 127 */
    SPRUNG_STATE_SPACE float *exciter_increment; /* phase/step, plectrum m/step, bow m/s */
    SPRUNG_STATE_SPACE float *exciter_phase;     /* oscillator phase in turns, 0..1 */
    SPRUNG_STATE_SPACE float *exciter_plectrum;  /* plectrum position along the direction, m */
    SPRUNG_STATE_SPACE float *exciter_start;     /* where the plectrum started, m */
    SPRUNG_STATE_SPACE unsigned int *exciter_rng;     /* noise: xorshift32 state */
    SPRUNG_STATE_SPACE unsigned int *exciter_contact; /* SPRUNG_PLECTRUM_* */
    SPRUNG_STATE_SPACE unsigned int *exciter_harmonics; /* saw/square partials of the note */
    SPRUNG_STATE_SPACE float *exciter_feed;      /* audio input: this step's sample */
    SPRUNG_STATE_SPACE float *exciter_force_x;
    SPRUNG_STATE_SPACE float *exciter_force_y;
    SPRUNG_STATE_SPACE float *exciter_force_z;
    SPRUNG_STATE_SPACE float *collision_force_x; /* force on a (b gets the negative) */
    SPRUNG_STATE_SPACE float *collision_force_y;
    SPRUNG_STATE_SPACE float *collision_force_z;
    SPRUNG_STATE_SPACE float *net_force_x;       /* per node: F of the last step */
    SPRUNG_STATE_SPACE float *net_force_y;
    SPRUNG_STATE_SPACE float *net_force_z;
    SPRUNG_STATE_SPACE float *mic_value;         /* per microphone: gain × signal */
    SPRUNG_GLOBAL float *delay_ring;             /* global memory even when the rest is local */
    SPRUNG_STATE_SPACE unsigned int *delay_position; /* where w(n) goes */
    SPRUNG_STATE_SPACE float *delay_out;         /* w(n - D) */
} SprungFeatureState;

/* A note for exciter e: velocity/127 > 0 starts it (increment: oscillator
 * phase per step, plectrum travel per step, or bow speed), 0 releases it. */
SPRUNG_KERNEL_INLINE void sprung_exciter_note(unsigned int e, float velocity, float increment,
                                              const SprungFeatureModel *fm,
                                              const SprungFeatureState *fs)
{
    if (velocity > 0.0f) {
        fs->exciter_gate[e] = 1.0f;
        fs->exciter_velocity[e] = velocity;
        fs->exciter_increment[e] = increment;
        if (fm->exciter_kind[e] == SPRUNG_KERNEL_EXCITER_PLUCK)
            fs->exciter_contact[e] = SPRUNG_PLECTRUM_ARMED;
        if (fm->exciter_kind[e] == SPRUNG_KERNEL_EXCITER_OSCILLATOR) {
            /* Partials below min(Nyquist, 20 kHz): harmonic_limit/increment. */
            float partials = fm->exciter_harmonic_limit[e] / increment;
            unsigned int harmonics = partials >= (float)SPRUNG_MAX_HARMONICS
                                         ? SPRUNG_MAX_HARMONICS
                                         : (unsigned int)partials;
            fs->exciter_harmonics[e] = harmonics < 1u ? 1u : harmonics;
        }
    } else {
        fs->exciter_gate[e] = 0.0f;
    }
}

/* Linear attack and release: the level rises by `attack` per step while the
 * gate is open, falls by `release` per step after, within [0, 1]. */
SPRUNG_KERNEL_INLINE float sprung_envelope_step(float level, float gate, float attack,
                                                float release)
{
    if (gate > 0.0f) {
        level = level + attack;
        return level > 1.0f ? 1.0f : level;
    }
    level = level - release;
    return level < 0.0f ? 0.0f : level;
}

/* Band-limited saw and square by additive synthesis, exactly free of
 * aliasing: saw(t) = -(2/π)·Σ_{k=1..K} sin(2πkt)/k (the Fourier series of
 * 2t - 1), square(t) = (4/π)·Σ_{odd k <= K} sin(2πkt)/k, with K harmonics
 * (the note's harmonics below both the Nyquist frequency and 20 kHz, at
 * most SPRUNG_MAX_HARMONICS; sprung_exciter_note). sin(2πkt) comes from
 * rotating (cos 2πt, sin 2πt): its rounding error grows only linearly with
 * k (about K·2^-24 in the sum, below -80 dB). Near the jump they overshoot
 * by the Gibbs 9 % of the jump (peak about ±1.18).
 *
 * The partials are summed in L = SPRUNG_ADDITIVE_LANES interleaved lanes:
 * lane j takes the series' partials j + 1, j + 1 + L, j + 1 + 2L, ...
 * (counting only the odd harmonics for the square) and rotates by L
 * partials at a time. One chain of rotations, K long, took 6 to 8 cycles
 * per partial on its latency alone; L independent chains overlap, and
 * compilers for CPUs turn the lanes into vectors (bench/oscillators-12.json,
 * docs/benchmarks.md). Every backend runs this code lane for lane, in the
 * same order, so the CPU backends agree bit for bit. */
#define SPRUNG_ADDITIVE_LANES 8u

SPRUNG_KERNEL_INLINE float sprung_additive_wave(unsigned int w, float t, unsigned int harmonics)
{
    const unsigned int lanes = SPRUNG_ADDITIVE_LANES;
    float x = 6.28318530717958647692f * t;
    float c1 = sprung_kernel_cosf(x), s1 = sprung_kernel_sinf(x);
    unsigned int odd_only = w == SPRUNG_KERNEL_WAVE_SQUARE;
    unsigned int spacing = odd_only ? 2u : 1u; /* harmonics between partials */
    unsigned int partials = odd_only ? (harmonics + 1u) / 2u : harmonics;
    /* (c_r, s_r): the rotation from a lane's partial to its next one; first
     * by `spacing` harmonics, doubled while the lanes are filled. */
    float c_r = c1, s_r = s1;
    if (odd_only) {
        c_r = c1 * c1 - s1 * s1;
        s_r = s1 * c1 + c1 * s1;
    }
    float c[SPRUNG_ADDITIVE_LANES], s[SPRUNG_ADDITIVE_LANES];
    float k[SPRUNG_ADDITIVE_LANES], sum[SPRUNG_ADDITIVE_LANES];
    c[0] = c1;
    s[0] = s1;
    for (unsigned int filled = 1u; filled < lanes; filled *= 2u) {
        for (unsigned int j = 0u; j < filled; ++j) {
            c[j + filled] = c[j] * c_r - s[j] * s_r;
            s[j + filled] = s[j] * c_r + c[j] * s_r;
        }
        float next_c = c_r * c_r - s_r * s_r;
        float next_s = s_r * c_r + c_r * s_r;
        c_r = next_c;
        s_r = next_s;
    }
    for (unsigned int j = 0u; j < lanes; ++j) {
        k[j] = (float)(1u + j * spacing); /* the harmonic number, exact */
        sum[j] = 0.0f;
    }
    float highest = (float)harmonics, k_step = (float)(lanes * spacing);
    unsigned int rounds = (partials + lanes - 1u) / lanes;
    for (unsigned int round = 0u; round < rounds; ++round) {
        for (unsigned int j = 0u; j < lanes; ++j) {
            sum[j] += k[j] <= highest ? s[j] / k[j] : 0.0f;
            float next_c = c[j] * c_r - s[j] * s_r;
            float next_s = s[j] * c_r + c[j] * s_r;
            c[j] = next_c;
            s[j] = next_s;
            k[j] += k_step;
        }
    }
    for (unsigned int width = lanes / 2u; width > 0u; width /= 2u)
        for (unsigned int j = 0u; j < width; ++j)
            sum[j] += sum[j + width];
    return odd_only ? 1.27323954473516268615f * sum[0] : -0.63661977236758134308f * sum[0];
}

/* xorshift32 (Marsaglia): the noise source, one state per exciter, seeded
 * from the preset, so renders are reproducible. */
SPRUNG_KERNEL_INLINE unsigned int sprung_xorshift32(unsigned int x)
{
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

/* One sample of waveform `w` at phase t (turns): sine: sin(2πt); saw: 2t - 1
 * and square: +1 for t < ½, -1 after, both band-limited to `harmonics`
 * partials; noise: uniform white noise in [-1, 1). */
SPRUNG_KERNEL_INLINE float sprung_oscillator_wave(unsigned int w, float t, unsigned int harmonics,
                                                  SPRUNG_STATE_SPACE unsigned int *rng)
{
    if (w == SPRUNG_KERNEL_WAVE_SINE)
        return sprung_kernel_sinf(6.28318530717958647692f * t);
    if (w == SPRUNG_KERNEL_WAVE_SAW || w == SPRUNG_KERNEL_WAVE_SQUARE)
        return sprung_additive_wave(w, t, harmonics);
    unsigned int x = sprung_xorshift32(*rng);
    *rng = x;
    return (float)(x >> 8) * (1.0f / 8388608.0f) - 1.0f;
}

/* The bow's friction coefficient at relative velocity v (body minus bow,
 * along the bow direction), odd in v:
 *   mu(v) = sign(v)·(mu_d + (mu_s - mu_d)·exp(-|v|/v_s))   for |v| >= v_eps,
 *   mu(v) = mu(v_eps)·v/v_eps                              for |v| <  v_eps,
 * the straight line through 0 regularising the jump at v = 0 (sticking is
 * a very stiff viscous region). Documented in docs/preset-format.md. */
SPRUNG_KERNEL_INLINE float sprung_bow_friction(float v, float mu_static, float mu_dynamic,
                                               float slip_velocity, float stick_velocity)
{
    float speed = v < 0.0f ? -v : v;
    if (speed < stick_velocity) {
        float edge = mu_dynamic +
                     (mu_static - mu_dynamic) * sprung_kernel_expf(-(stick_velocity / slip_velocity));
        return edge * (v / stick_velocity);
    }
    float mu = mu_dynamic + (mu_static - mu_dynamic) * sprung_kernel_expf(-(speed / slip_velocity));
    return v > 0.0f ? mu : -mu;
}

/* Exciter e's feed this step: the host input sample `input` plus every delay
 * line into it (exciter delay CSR order), each times its gain. */
SPRUNG_KERNEL_INLINE void sprung_exciter_feed(unsigned int e, float input,
                                              const SprungFeatureModel *fm,
                                              const SprungFeatureState *fs)
{
    float feed = input;
    unsigned int end = fm->exciter_delay_offset[e + 1u];
    for (unsigned int k = fm->exciter_delay_offset[e]; k < end; ++k) {
        unsigned int d = fm->exciter_delay[k];
        feed += fm->delay_gain[d] * fs->delay_out[d];
    }
    fs->exciter_feed[e] = feed;
}

/* Phase 1 (with the springs): the force exciter e puts on its body along its
 * direction, from the pre-step state, into exciter_force_{x,y,z}[e].
 *   oscillator: strength·velocity·level·wave(phase), then the phase advances;
 *   pluck: k·(plectrum - body) while positive; the plectrum advances by its
 *          increment each step and lets go (for good, until the next note)
 *          once that force reaches strength·velocity or it has travelled
 *          max_travel;
 *   bow: -F_n·mu(v_body - v_bow) with F_n = strength·level;
 *   audio input: strength·feed (times the level when gated). */
SPRUNG_KERNEL_INLINE void sprung_exciter_force(unsigned int e, const SprungStepModel *m,
                                               const SprungStepState *st,
                                               const SprungFeatureModel *fm,
                                               const SprungFeatureState *fs)
{
    unsigned int kind = fm->exciter_kind[e];
    unsigned int node = fm->exciter_node[e];
    float dir_x = fm->exciter_dir_x[e], dir_y = fm->exciter_dir_y[e], dir_z = fm->exciter_dir_z[e];
    float magnitude = 0.0f;
    float level = fs->exciter_level[e];
    if (kind != SPRUNG_KERNEL_EXCITER_PLUCK) {
        level = sprung_envelope_step(level, fs->exciter_gate[e], fm->exciter_attack[e],
                                     fm->exciter_release[e]);
        fs->exciter_level[e] = level;
    }
    (void)m;
    if (kind == SPRUNG_KERNEL_EXCITER_OSCILLATOR) {
        if (level > 0.0f) {
            float phase = fs->exciter_phase[e];
            float increment = fs->exciter_increment[e];
            float wave = sprung_oscillator_wave(fm->exciter_waveform[e], phase,
                                                fs->exciter_harmonics[e], &fs->exciter_rng[e]);
            magnitude = ((fm->exciter_strength[e] * fs->exciter_velocity[e]) * level) * wave;
            phase = phase + increment;
            if (phase >= 1.0f)
                phase = phase - 1.0f;
            fs->exciter_phase[e] = phase;
        }
    } else if (kind == SPRUNG_KERNEL_EXCITER_PLUCK) {
        unsigned int contact = fs->exciter_contact[e];
        if (contact != SPRUNG_PLECTRUM_IDLE) {
            float along = (st->ux[node] * dir_x + st->uy[node] * dir_y) + st->uz[node] * dir_z;
            if (contact == SPRUNG_PLECTRUM_ARMED) {
                fs->exciter_plectrum[e] = along;
                fs->exciter_start[e] = along;
                contact = SPRUNG_PLECTRUM_ENGAGED;
            }
            float plectrum = fs->exciter_plectrum[e] + fs->exciter_increment[e];
            float penetration = plectrum - along;
            if (penetration > 0.0f)
                magnitude = fm->exciter_stiffness[e] * penetration;
            float threshold = fm->exciter_strength[e] * fs->exciter_velocity[e];
            if (magnitude >= threshold ||
                plectrum - fs->exciter_start[e] > fm->exciter_max_travel[e]) {
                magnitude = 0.0f;
                contact = SPRUNG_PLECTRUM_IDLE;
            }
            fs->exciter_plectrum[e] = plectrum;
            fs->exciter_contact[e] = contact;
        }
    } else if (kind == SPRUNG_KERNEL_EXCITER_BOW) {
        if (level > 0.0f) {
            float along = (st->vx[node] * dir_x + st->vy[node] * dir_y) + st->vz[node] * dir_z;
            float relative = along - fs->exciter_increment[e];
            float normal = fm->exciter_strength[e] * level;
            magnitude = -(normal * sprung_bow_friction(relative, fm->exciter_mu_static[e],
                                                       fm->exciter_mu_dynamic[e],
                                                       fm->exciter_slip_velocity[e],
                                                       fm->exciter_stick_velocity[e]));
        }
    } else {
        magnitude = fm->exciter_strength[e] * fs->exciter_feed[e];
        if (fm->exciter_gated[e])
            magnitude = magnitude * level;
    }
    fs->exciter_force_x[e] = magnitude * dir_x;
    fs->exciter_force_y[e] = magnitude * dir_y;
    fs->exciter_force_z[e] = magnitude * dir_z;
}

/* Phase 1: collision c's one-sided spring-damper contact force on body a
 * (b gets the negative), from the pre-step state, zero unless penetrating.
 * Plane: h = h0 + u_a·n, penetration p = r - h, f = k·p - c·(v_a·n), along n.
 * Pair: d = d0 + (u_b - u_a), ℓ = |d|, p = r - ℓ, f = k·p - c·((v_b - v_a)·d/ℓ),
 * pushing a by -f·d/ℓ (nothing when ℓ = 0: no direction). The damping part
 * acts only while penetrating (a Kelvin-Voigt contact). */
SPRUNG_KERNEL_INLINE void sprung_collision_force(unsigned int c, const SprungStepState *st,
                                                 const SprungFeatureModel *fm,
                                                 const SprungFeatureState *fs)
{
    unsigned int a = fm->collision_a[c];
    unsigned int b = fm->collision_b[c];
    float k = fm->collision_stiffness[c];
    float damping = fm->collision_damping[c];
    float radius = fm->collision_radius[c];
    float force_x = 0.0f, force_y = 0.0f, force_z = 0.0f;
    if (b == SPRUNG_NO_NODE) {
        float n_x = fm->collision_normal_x[c], n_y = fm->collision_normal_y[c],
              n_z = fm->collision_normal_z[c];
        float height = fm->collision_height0[c] +
                       ((st->ux[a] * n_x + st->uy[a] * n_y) + st->uz[a] * n_z);
        float penetration = radius - height;
        if (penetration > 0.0f) {
            float normal_velocity = (st->vx[a] * n_x + st->vy[a] * n_y) + st->vz[a] * n_z;
            float f = k * penetration - damping * normal_velocity;
            force_x = f * n_x;
            force_y = f * n_y;
            force_z = f * n_z;
        }
    } else {
        float d_x = fm->collision_d0_x[c] + (st->ux[b] - st->ux[a]);
        float d_y = fm->collision_d0_y[c] + (st->uy[b] - st->uy[a]);
        float d_z = fm->collision_d0_z[c] + (st->uz[b] - st->uz[a]);
        float length_sq = (d_x * d_x + d_y * d_y) + d_z * d_z;
        if (length_sq < radius * radius && length_sq > 0.0f) {
            float length = sprung_kernel_sqrtf(length_sq);
            float dv_x = st->vx[b] - st->vx[a];
            float dv_y = st->vy[b] - st->vy[a];
            float dv_z = st->vz[b] - st->vz[a];
            float closing = ((dv_x * d_x + dv_y * d_y) + dv_z * d_z) / length;
            float f = k * (radius - length) - damping * closing;
            float coefficient = -(f / length);
            force_x = coefficient * d_x;
            force_y = coefficient * d_y;
            force_z = coefficient * d_z;
        }
    }
    fs->collision_force_x[c] = force_x;
    fs->collision_force_y[c] = force_y;
    fs->collision_force_z[c] = force_z;
}

/* Phase 2 of a feature model: the base force (sprung_node_base_force),
 * then the node's constant force, its exciters (CSR order) and its
 * collisions (CSR order); the total F is kept in net_force for force
 * microphones. */
SPRUNG_KERNEL_INLINE void sprung_node_integrate_features(unsigned int i, const SprungStepModel *m,
                                                         const SprungStepState *st,
                                                         const SprungFeatureModel *fm,
                                                         const SprungFeatureState *fs)
{
    float inv_mass = m->inv_mass[i];
    if (inv_mass == 0.0f)
        return;

    SprungForce3 force = sprung_node_base_force(i, m, st);
    force.x += fm->node_force_x[i];
    force.y += fm->node_force_y[i];
    force.z += fm->node_force_z[i];
    unsigned int exciter_end = fm->node_exciter_offset[i + 1];
    for (unsigned int e = fm->node_exciter_offset[i]; e < exciter_end; ++e) {
        unsigned int x = fm->node_exciter[e];
        force.x += fs->exciter_force_x[x];
        force.y += fs->exciter_force_y[x];
        force.z += fs->exciter_force_z[x];
    }
    unsigned int collision_end = fm->node_collision_offset[i + 1];
    for (unsigned int e = fm->node_collision_offset[i]; e < collision_end; ++e) {
        unsigned int c = fm->node_collision[e];
        float sign = fm->node_collision_sign[e];
        force.x += sign * fs->collision_force_x[c];
        force.y += sign * fs->collision_force_y[c];
        force.z += sign * fs->collision_force_z[c];
    }
    fs->net_force_x[i] = force.x;
    fs->net_force_y[i] = force.y;
    fs->net_force_z[i] = force.z;
    sprung_node_advance(i, m, st, force, inv_mass);
}

/* After the step: every microphone's signal (position, velocity, or the net
 * force F of the step), times its gain into mic_value (what delay lines
 * read), mixed into channel_sum[0 .. n_channels) (n_channels ≥ 2): panned
 * microphones by their pan gains into channels 0 and 1 (as
 * sprung_microphones_mix), routed ones by their gain into their channel,
 * send-only ones nowhere. Channels 0 and 1 add up in locals, in microphone
 * order as ever: added in channel_sum, each microphone waited for the last
 * one's stores to come back (about 12 cycles; a vibraphone has 74). */
SPRUNG_KERNEL_INLINE void sprung_microphones_mix_channels(const SprungStepModel *m,
                                                          const SprungStepState *st,
                                                          const SprungFeatureModel *fm,
                                                          const SprungFeatureState *fs,
                                                          float *channel_sum)
{
    float left = 0.0f, right = 0.0f;
    for (unsigned int c = 2; c < fm->n_channels; ++c)
        channel_sum[c] = 0.0f;
    for (unsigned int mic = 0; mic < m->n_microphones; ++mic) {
        unsigned int node = m->mic_node[mic];
        unsigned int kind = m->mic_signal[mic];
        float a_x = m->mic_axis_x[mic], a_y = m->mic_axis_y[mic], a_z = m->mic_axis_z[mic];
        float signal;
        if (kind == SPRUNG_KERNEL_MIC_VELOCITY)
            signal = (st->vx[node] * a_x + st->vy[node] * a_y) + st->vz[node] * a_z;
        else if (kind == SPRUNG_KERNEL_MIC_FORCE)
            signal = (fs->net_force_x[node] * a_x + fs->net_force_y[node] * a_y) +
                     fs->net_force_z[node] * a_z;
        else
            signal = (st->ux[node] * a_x + st->uy[node] * a_y) + st->uz[node] * a_z;
        float value = fm->mic_gain[mic] * signal;
        fs->mic_value[mic] = value;
        unsigned int channel = fm->mic_channel[mic];
        if (channel == SPRUNG_MIC_CHANNEL_STEREO) {
            left += m->mic_gain_left[mic] * signal;
            right += m->mic_gain_right[mic] * signal;
        } else if (channel == 0) {
            left += value;
        } else if (channel == 1) {
            right += value;
        } else if (channel < fm->n_channels) {
            channel_sum[channel] += value;
        }
    }
    channel_sum[0] = left;
    channel_sum[1] = right;
}

/* Delay line d before the step: its output w(n - D) (the ring holds
 * w(k) = mic(k) + feedback·w(k - D), written after each step). */
SPRUNG_KERNEL_INLINE void sprung_delay_read(unsigned int d, const SprungFeatureModel *fm,
                                            const SprungFeatureState *fs)
{
    unsigned int position = fs->delay_position[d];
    unsigned int steps = fm->delay_steps[d];
    unsigned int length = fm->delay_ring_length[d];
    unsigned int at = position >= steps ? position - steps : position + length - steps;
    fs->delay_out[d] = fs->delay_ring[fm->delay_ring_offset[d] + at];
}

/* Delay line d after the microphones: w(n) = mic(n) + feedback·w(n - D). */
SPRUNG_KERNEL_INLINE void sprung_delay_write(unsigned int d, const SprungFeatureModel *fm,
                                             const SprungFeatureState *fs)
{
    unsigned int position = fs->delay_position[d];
    fs->delay_ring[fm->delay_ring_offset[d] + position] =
        fs->mic_value[fm->delay_mic[d]] + fm->delay_feedback[d] * fs->delay_out[d];
    position = position + 1u;
    fs->delay_position[d] = position == fm->delay_ring_length[d] ? 0u : position;
}

/* A note for exciter `exciter` from engine step `step` of a block on (the
 * host's SprungExciterEvent, byte for byte): velocity/127, 0 releases it,
 * and the increment sprung_exciter_note() stores. */
typedef struct SprungKernelExciterEvent {
    unsigned int step;
    unsigned int exciter;
    float velocity;
    float increment;
} SprungKernelExciterEvent;

/* A feature model's engine step is, in this order (every backend's driver
 * calls these; the host ones through backend/feature_step.h):
 *   sprung_features_begin    this step's notes, every delay line's output
 *   (the audio input feeds: sprung_exciter_feed, with the driver's samples)
 *   phase 1                  every spring (sprung_spring_force) and
 *   sprung_features_forces   every exciter and collision, in any order
 *   phase 2                  every node (sprung_node_integrate_features)
 *   sprung_microphones_mix_channels, then sprung_delays_write. */

/* The notes of step `step` (events from *next on, sorted by step), then
 * every delay line's output. */
SPRUNG_KERNEL_INLINE void
sprung_features_begin(unsigned int step, SPRUNG_GLOBAL const SprungKernelExciterEvent *events,
                      unsigned int n_events, unsigned int *next, const SprungFeatureModel *fm,
                      const SprungFeatureState *fs)
{
    unsigned int k = *next;
    for (; k < n_events && events[k].step == step; ++k)
        sprung_exciter_note(events[k].exciter, events[k].velocity, events[k].increment, fm, fs);
    *next = k;
    for (unsigned int d = 0; d < fm->n_delays; ++d)
        sprung_delay_read(d, fm, fs);
}

/* Phase 1's other forces, from the pre-step state like the springs'. */
SPRUNG_KERNEL_INLINE void sprung_features_forces(const SprungStepModel *m,
                                                 const SprungStepState *st,
                                                 const SprungFeatureModel *fm,
                                                 const SprungFeatureState *fs)
{
    for (unsigned int e = 0; e < fm->n_exciters; ++e)
        sprung_exciter_force(e, m, st, fm, fs);
    for (unsigned int c = 0; c < fm->n_collisions; ++c)
        sprung_collision_force(c, st, fm, fs);
}

/* After the microphones: every delay line's write. */
SPRUNG_KERNEL_INLINE void sprung_delays_write(const SprungFeatureModel *fm,
                                              const SprungFeatureState *fs)
{
    for (unsigned int d = 0; d < fm->n_delays; ++d)
        sprung_delay_write(d, fm, fs);
}

#endif
