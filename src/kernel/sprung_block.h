/* A whole block of engine steps in one launch: the GPU drivers' part of the
 * kernel that is written once (DESIGN.md §2). It rebuilds the step's views
 * from the compiled and state blocks uploaded unchanged (offsets, not
 * pointers), applies the block's pulse starts at their steps, and loops over
 * the steps of sprung_step.h with a barrier between the spring phase and the
 * node phase. Common subset of C, OpenCL C 1.2 and CUDA C, like
 * sprung_step.h; the drivers are src/kernel/sprung_block.cl (OpenCL) and
 * src/backend/cuda/cuda_kernels.cu (CUDA). Compiled as C with one thread it
 * is checked against the CPU reference (tests/gpu/test_gpu_block_c.c).
 *
 * Work split inside a work-group of `threads` work-items: item t owns springs
 * t, t + threads, ... in phase 1 and nodes t, t + threads, ... in phase 2, so
 * neighbouring items touch neighbouring array elements (coalesced). Nodes
 * are bodies first, then anchors (src/engine/compile.c), and an anchor's
 * integrate returns at once: the bodies/anchors branch splits at one index,
 * so at most one warp of a phase-2 sweep holds both kinds (the grouping that
 * paid 25-50 % in the product that proved this idea comes free from the
 * compiled order). Item 0 applies the pulse starts (before phase 1; phase 2
 * reads them after the barrier) and mixes the microphones after phase 2. */
#ifndef SPRUNG_KERNEL_BLOCK_H
#define SPRUNG_KERNEL_BLOCK_H

#include "kernel/sprung_step.h"

#if defined(__OPENCL_C_VERSION__) || defined(__OPENCL_VERSION__)
#  define SPRUNG_BLOCK_BARRIER() barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)
#  define SPRUNG_BLOCK_INLINE static inline
#elif defined(__CUDACC__)
#  define SPRUNG_BLOCK_BARRIER() __syncthreads()
#  define SPRUNG_BLOCK_INLINE static __device__ inline /* it synchronises: device only */
#else
/* C: one thread (threads == 1), nothing to wait for. */
#  define SPRUNG_BLOCK_BARRIER() ((void)0)
#  define SPRUNG_BLOCK_INLINE static inline
#endif

/* The words of the block-input buffer before the pulse starts. */
#define SPRUNG_BLOCK_HEADER_WORDS 4u

/* One pulse start, as the host's SprungPulseStart (three 4-byte fields). */
typedef struct SprungKernelPulseStart {
    unsigned int step;
    unsigned int slot;
    float amplitude;
} SprungKernelPulseStart;

/* Counts and byte offsets of every array the step reads, in the compiled
 * block (constants) and the state block; filled by the host from
 * sprung_compiled_offset() and passed by value as a kernel argument. All
 * members are 4 bytes: the layout is the same in C, OpenCL C and CUDA C. */
typedef struct SprungBlockLayout {
    unsigned int n_nodes;
    unsigned int n_bodies;
    unsigned int n_springs;
    unsigned int n_microphones;
    float dt;
    unsigned int state_words; /* state words a block kernel may keep in local memory: all
                                 before the delay rings, which the state block holds last */

    unsigned int inv_mass, drag, incidence_offset, incidence_spring, incidence_sign;
    unsigned int node_mallet_offset, node_mallet;
    unsigned int spring_p, spring_q, spring_stiffness, spring_damping, spring_rest_length;
    unsigned int spring_length0, spring_length0_sq, spring_preload;
    unsigned int spring_d0_x, spring_d0_y, spring_d0_z;
    unsigned int mallet_dir_x, mallet_dir_y, mallet_dir_z, mallet_steps, mallet_shape_offset;
    unsigned int mallet_shape;
    unsigned int mic_node, mic_signal, mic_axis_x, mic_axis_y, mic_axis_z;
    unsigned int mic_gain_left, mic_gain_right;

    unsigned int ux, uy, uz, vx, vy, vz;
    unsigned int spring_force_x, spring_force_y, spring_force_z;
    unsigned int pulse_amplitude, pulse_step;
} SprungBlockLayout;

#define SPRUNG_BLOCK_F(base, offset) ((SPRUNG_GLOBAL const float *)((base) + (offset)))
#define SPRUNG_BLOCK_U(base, offset) ((SPRUNG_GLOBAL const unsigned int *)((base) + (offset)))

/* The step's view of the constants at `constants` (the compiled block). */
SPRUNG_KERNEL_INLINE SprungStepModel sprung_block_model(SPRUNG_GLOBAL const unsigned char *constants,
                                                        const SprungBlockLayout *l)
{
    SprungStepModel m;
    m.n_nodes = l->n_nodes;
    m.n_bodies = l->n_bodies;
    m.n_springs = l->n_springs;
    m.n_microphones = l->n_microphones;
    m.dt = l->dt;
    m.inv_mass = SPRUNG_BLOCK_F(constants, l->inv_mass);
    m.drag = SPRUNG_BLOCK_F(constants, l->drag);
    m.incidence_offset = SPRUNG_BLOCK_U(constants, l->incidence_offset);
    m.incidence_spring = SPRUNG_BLOCK_U(constants, l->incidence_spring);
    m.incidence_sign = SPRUNG_BLOCK_F(constants, l->incidence_sign);
    m.node_mallet_offset = SPRUNG_BLOCK_U(constants, l->node_mallet_offset);
    m.node_mallet = SPRUNG_BLOCK_U(constants, l->node_mallet);
    m.spring_p = SPRUNG_BLOCK_U(constants, l->spring_p);
    m.spring_q = SPRUNG_BLOCK_U(constants, l->spring_q);
    m.spring_stiffness = SPRUNG_BLOCK_F(constants, l->spring_stiffness);
    m.spring_damping = SPRUNG_BLOCK_F(constants, l->spring_damping);
    m.spring_rest_length = SPRUNG_BLOCK_F(constants, l->spring_rest_length);
    m.spring_length0 = SPRUNG_BLOCK_F(constants, l->spring_length0);
    m.spring_length0_sq = SPRUNG_BLOCK_F(constants, l->spring_length0_sq);
    m.spring_preload = SPRUNG_BLOCK_F(constants, l->spring_preload);
    m.spring_d0_x = SPRUNG_BLOCK_F(constants, l->spring_d0_x);
    m.spring_d0_y = SPRUNG_BLOCK_F(constants, l->spring_d0_y);
    m.spring_d0_z = SPRUNG_BLOCK_F(constants, l->spring_d0_z);
    m.mallet_dir_x = SPRUNG_BLOCK_F(constants, l->mallet_dir_x);
    m.mallet_dir_y = SPRUNG_BLOCK_F(constants, l->mallet_dir_y);
    m.mallet_dir_z = SPRUNG_BLOCK_F(constants, l->mallet_dir_z);
    m.mallet_steps = SPRUNG_BLOCK_U(constants, l->mallet_steps);
    m.mallet_shape_offset = SPRUNG_BLOCK_U(constants, l->mallet_shape_offset);
    m.mallet_shape = SPRUNG_BLOCK_F(constants, l->mallet_shape);
    m.mic_node = SPRUNG_BLOCK_U(constants, l->mic_node);
    m.mic_signal = SPRUNG_BLOCK_U(constants, l->mic_signal);
    m.mic_axis_x = SPRUNG_BLOCK_F(constants, l->mic_axis_x);
    m.mic_axis_y = SPRUNG_BLOCK_F(constants, l->mic_axis_y);
    m.mic_axis_z = SPRUNG_BLOCK_F(constants, l->mic_axis_z);
    m.mic_gain_left = SPRUNG_BLOCK_F(constants, l->mic_gain_left);
    m.mic_gain_right = SPRUNG_BLOCK_F(constants, l->mic_gain_right);
    return m;
}

/* The step's view of a state block at `state` (global, or a local copy with
 * the same offsets). */
SPRUNG_KERNEL_INLINE SprungStepState sprung_block_state(SPRUNG_STATE_SPACE unsigned char *state,
                                                        const SprungBlockLayout *l)
{
    SprungStepState s;
    s.ux = (SPRUNG_STATE_SPACE float *)(state + l->ux);
    s.uy = (SPRUNG_STATE_SPACE float *)(state + l->uy);
    s.uz = (SPRUNG_STATE_SPACE float *)(state + l->uz);
    s.vx = (SPRUNG_STATE_SPACE float *)(state + l->vx);
    s.vy = (SPRUNG_STATE_SPACE float *)(state + l->vy);
    s.vz = (SPRUNG_STATE_SPACE float *)(state + l->vz);
    s.spring_force_x = (SPRUNG_STATE_SPACE float *)(state + l->spring_force_x);
    s.spring_force_y = (SPRUNG_STATE_SPACE float *)(state + l->spring_force_y);
    s.spring_force_z = (SPRUNG_STATE_SPACE float *)(state + l->spring_force_z);
    s.pulse_amplitude = (SPRUNG_STATE_SPACE float *)(state + l->pulse_amplitude);
    s.pulse_step = (SPRUNG_STATE_SPACE unsigned int *)(state + l->pulse_step);
    return s;
}

/* The starts at step `step`, from index *next on (starts are sorted by
 * step): the same writes, in the same order, as the CPU reference. */
SPRUNG_KERNEL_INLINE void sprung_block_apply_starts(unsigned int step, unsigned int *next,
                                                    unsigned int n_starts,
                                                    SPRUNG_GLOBAL const SprungKernelPulseStart *starts,
                                                    const SprungStepState *st)
{
    unsigned int k = *next;
    for (; k < n_starts && starts[k].step == step; ++k) {
        st->pulse_amplitude[starts[k].slot] = starts[k].amplitude;
        st->pulse_step[starts[k].slot] = 0u;
    }
    *next = k;
}

/* Phase 1 for the springs this item owns. */
SPRUNG_KERNEL_INLINE void sprung_block_springs(unsigned int item, unsigned int items,
                                               const SprungStepModel *m, const SprungStepState *st)
{
    for (unsigned int s = item; s < m->n_springs; s += items)
        sprung_spring_force(s, m, st);
}

/* Phase 2 for the nodes this item owns. */
SPRUNG_KERNEL_INLINE void sprung_block_nodes(unsigned int item, unsigned int items,
                                             const SprungStepModel *m, const SprungStepState *st)
{
    for (unsigned int i = item; i < m->n_nodes; i += items)
        sprung_node_integrate(i, m, st);
}

/* The microphone mix after a step, written interleaved (left, right) at
 * out[2·step]. */
SPRUNG_KERNEL_INLINE void sprung_block_mix(unsigned int step, const SprungStepModel *m,
                                           const SprungStepState *st, SPRUNG_GLOBAL float *out)
{
    float left, right;
    sprung_microphones_mix(m, st, &left, &right);
    out[2u * step] = left;
    out[2u * step + 1u] = right;
}

/* A whole block on one work-group: n_steps steps, the starts applied at
 * their steps, the stereo mix interleaved into out. Every item of the group
 * calls it with its index `item` < `items`. */
SPRUNG_BLOCK_INLINE void sprung_block_run(unsigned int item, unsigned int items,
                                          unsigned int n_steps, unsigned int n_starts,
                                          SPRUNG_GLOBAL const SprungKernelPulseStart *starts,
                                          const SprungStepModel *m, const SprungStepState *st,
                                          SPRUNG_GLOBAL float *out)
{
    unsigned int next_start = 0u;
    for (unsigned int step = 0u; step < n_steps; ++step) {
        if (item == 0u)
            sprung_block_apply_starts(step, &next_start, n_starts, starts, st);
        sprung_block_springs(item, items, m, st);
        SPRUNG_BLOCK_BARRIER();
        sprung_block_nodes(item, items, m, st);
        SPRUNG_BLOCK_BARRIER();
        /* Phase 1 of the next step only reads what the mix reads, and its
         * phase 2 waits behind the next barrier: no third barrier. */
        if (item == 0u)
            sprung_block_mix(step, m, st, out);
    }
}

/* ---- feature models (compiled->features != 0) ---- */

/* Counts and byte offsets of the feature arrays (SprungFeatureModel in the
 * compiled block, SprungFeatureState in the state block), beside
 * SprungBlockLayout; a second kernel argument by value, 4-byte members. */
typedef struct SprungBlockFeatureLayout {
    unsigned int n_exciters, n_collisions, n_delays, n_channels;
    unsigned int n_input_channels; /* audio input channels the block buffer carries */

    unsigned int node_force_x, node_force_y, node_force_z;
    unsigned int node_exciter_offset, node_exciter;
    unsigned int node_collision_offset, node_collision, node_collision_sign;
    unsigned int exciter_kind, exciter_node, exciter_dir_x, exciter_dir_y, exciter_dir_z;
    unsigned int exciter_strength, exciter_attack, exciter_release, exciter_waveform;
    unsigned int exciter_harmonic_limit, exciter_gated, exciter_stiffness, exciter_max_travel;
    unsigned int exciter_mu_static, exciter_mu_dynamic, exciter_slip_velocity;
    unsigned int exciter_stick_velocity, exciter_delay_offset, exciter_delay;
    unsigned int exciter_input; /* input channel per exciter (0xFFFFFFFF: none) */
    unsigned int collision_a, collision_b, collision_normal_x, collision_normal_y;
    unsigned int collision_normal_z, collision_height0, collision_d0_x, collision_d0_y;
    unsigned int collision_d0_z, collision_radius, collision_stiffness, collision_damping;
    unsigned int mic_channel, mic_gain;
    unsigned int delay_mic, delay_steps, delay_gain, delay_feedback, delay_ring_offset;
    unsigned int delay_ring_length;

    unsigned int exciter_gate, exciter_level, exciter_velocity, exciter_increment;
    unsigned int exciter_phase, exciter_plectrum, exciter_start, exciter_rng;
    unsigned int exciter_contact, exciter_harmonics, exciter_feed;
    unsigned int exciter_force_x, exciter_force_y, exciter_force_z;
    unsigned int collision_force_x, collision_force_y, collision_force_z;
    unsigned int net_force_x, net_force_y, net_force_z;
    unsigned int mic_value, delay_ring, delay_position, delay_out;
} SprungBlockFeatureLayout;

SPRUNG_KERNEL_INLINE SprungFeatureModel
sprung_block_feature_model(SPRUNG_GLOBAL const unsigned char *constants,
                           const SprungBlockFeatureLayout *l)
{
    SprungFeatureModel fm;
    fm.n_exciters = l->n_exciters;
    fm.n_collisions = l->n_collisions;
    fm.n_delays = l->n_delays;
    fm.n_channels = l->n_channels;
    fm.node_force_x = SPRUNG_BLOCK_F(constants, l->node_force_x);
    fm.node_force_y = SPRUNG_BLOCK_F(constants, l->node_force_y);
    fm.node_force_z = SPRUNG_BLOCK_F(constants, l->node_force_z);
    fm.node_exciter_offset = SPRUNG_BLOCK_U(constants, l->node_exciter_offset);
    fm.node_exciter = SPRUNG_BLOCK_U(constants, l->node_exciter);
    fm.node_collision_offset = SPRUNG_BLOCK_U(constants, l->node_collision_offset);
    fm.node_collision = SPRUNG_BLOCK_U(constants, l->node_collision);
    fm.node_collision_sign = SPRUNG_BLOCK_F(constants, l->node_collision_sign);
    fm.exciter_kind = SPRUNG_BLOCK_U(constants, l->exciter_kind);
    fm.exciter_node = SPRUNG_BLOCK_U(constants, l->exciter_node);
    fm.exciter_dir_x = SPRUNG_BLOCK_F(constants, l->exciter_dir_x);
    fm.exciter_dir_y = SPRUNG_BLOCK_F(constants, l->exciter_dir_y);
    fm.exciter_dir_z = SPRUNG_BLOCK_F(constants, l->exciter_dir_z);
    fm.exciter_strength = SPRUNG_BLOCK_F(constants, l->exciter_strength);
    fm.exciter_attack = SPRUNG_BLOCK_F(constants, l->exciter_attack);
    fm.exciter_release = SPRUNG_BLOCK_F(constants, l->exciter_release);
    fm.exciter_waveform = SPRUNG_BLOCK_U(constants, l->exciter_waveform);
    fm.exciter_harmonic_limit = SPRUNG_BLOCK_F(constants, l->exciter_harmonic_limit);
    fm.exciter_gated = SPRUNG_BLOCK_U(constants, l->exciter_gated);
    fm.exciter_stiffness = SPRUNG_BLOCK_F(constants, l->exciter_stiffness);
    fm.exciter_max_travel = SPRUNG_BLOCK_F(constants, l->exciter_max_travel);
    fm.exciter_mu_static = SPRUNG_BLOCK_F(constants, l->exciter_mu_static);
    fm.exciter_mu_dynamic = SPRUNG_BLOCK_F(constants, l->exciter_mu_dynamic);
    fm.exciter_slip_velocity = SPRUNG_BLOCK_F(constants, l->exciter_slip_velocity);
    fm.exciter_stick_velocity = SPRUNG_BLOCK_F(constants, l->exciter_stick_velocity);
    fm.exciter_delay_offset = SPRUNG_BLOCK_U(constants, l->exciter_delay_offset);
    fm.exciter_delay = SPRUNG_BLOCK_U(constants, l->exciter_delay);
    fm.collision_a = SPRUNG_BLOCK_U(constants, l->collision_a);
    fm.collision_b = SPRUNG_BLOCK_U(constants, l->collision_b);
    fm.collision_normal_x = SPRUNG_BLOCK_F(constants, l->collision_normal_x);
    fm.collision_normal_y = SPRUNG_BLOCK_F(constants, l->collision_normal_y);
    fm.collision_normal_z = SPRUNG_BLOCK_F(constants, l->collision_normal_z);
    fm.collision_height0 = SPRUNG_BLOCK_F(constants, l->collision_height0);
    fm.collision_d0_x = SPRUNG_BLOCK_F(constants, l->collision_d0_x);
    fm.collision_d0_y = SPRUNG_BLOCK_F(constants, l->collision_d0_y);
    fm.collision_d0_z = SPRUNG_BLOCK_F(constants, l->collision_d0_z);
    fm.collision_radius = SPRUNG_BLOCK_F(constants, l->collision_radius);
    fm.collision_stiffness = SPRUNG_BLOCK_F(constants, l->collision_stiffness);
    fm.collision_damping = SPRUNG_BLOCK_F(constants, l->collision_damping);
    fm.mic_channel = SPRUNG_BLOCK_U(constants, l->mic_channel);
    fm.mic_gain = SPRUNG_BLOCK_F(constants, l->mic_gain);
    fm.delay_mic = SPRUNG_BLOCK_U(constants, l->delay_mic);
    fm.delay_steps = SPRUNG_BLOCK_U(constants, l->delay_steps);
    fm.delay_gain = SPRUNG_BLOCK_F(constants, l->delay_gain);
    fm.delay_feedback = SPRUNG_BLOCK_F(constants, l->delay_feedback);
    fm.delay_ring_offset = SPRUNG_BLOCK_U(constants, l->delay_ring_offset);
    fm.delay_ring_length = SPRUNG_BLOCK_U(constants, l->delay_ring_length);
    return fm;
}

#define SPRUNG_BLOCK_SF(base, offset) ((SPRUNG_STATE_SPACE float *)((base) + (offset)))
#define SPRUNG_BLOCK_SU(base, offset) ((SPRUNG_STATE_SPACE unsigned int *)((base) + (offset)))

/* `state`: where the kernel keeps the state (global or local); the delay
 * rings are always in the global block at `global_state`. */
SPRUNG_KERNEL_INLINE SprungFeatureState
sprung_block_feature_state(SPRUNG_STATE_SPACE unsigned char *state,
                           SPRUNG_GLOBAL unsigned char *global_state,
                           const SprungBlockFeatureLayout *l)
{
    SprungFeatureState fs;
    fs.exciter_gate = SPRUNG_BLOCK_SF(state, l->exciter_gate);
    fs.exciter_level = SPRUNG_BLOCK_SF(state, l->exciter_level);
    fs.exciter_velocity = SPRUNG_BLOCK_SF(state, l->exciter_velocity);
    fs.exciter_increment = SPRUNG_BLOCK_SF(state, l->exciter_increment);
    fs.exciter_phase = SPRUNG_BLOCK_SF(state, l->exciter_phase);
    fs.exciter_plectrum = SPRUNG_BLOCK_SF(state, l->exciter_plectrum);
    fs.exciter_start = SPRUNG_BLOCK_SF(state, l->exciter_start);
    fs.exciter_rng = SPRUNG_BLOCK_SU(state, l->exciter_rng);
    fs.exciter_contact = SPRUNG_BLOCK_SU(state, l->exciter_contact);
    fs.exciter_harmonics = SPRUNG_BLOCK_SU(state, l->exciter_harmonics);
    fs.exciter_feed = SPRUNG_BLOCK_SF(state, l->exciter_feed);
    fs.exciter_force_x = SPRUNG_BLOCK_SF(state, l->exciter_force_x);
    fs.exciter_force_y = SPRUNG_BLOCK_SF(state, l->exciter_force_y);
    fs.exciter_force_z = SPRUNG_BLOCK_SF(state, l->exciter_force_z);
    fs.collision_force_x = SPRUNG_BLOCK_SF(state, l->collision_force_x);
    fs.collision_force_y = SPRUNG_BLOCK_SF(state, l->collision_force_y);
    fs.collision_force_z = SPRUNG_BLOCK_SF(state, l->collision_force_z);
    fs.net_force_x = SPRUNG_BLOCK_SF(state, l->net_force_x);
    fs.net_force_y = SPRUNG_BLOCK_SF(state, l->net_force_y);
    fs.net_force_z = SPRUNG_BLOCK_SF(state, l->net_force_z);
    fs.mic_value = SPRUNG_BLOCK_SF(state, l->mic_value);
    fs.delay_ring = (SPRUNG_GLOBAL float *)(global_state + l->delay_ring);
    fs.delay_position = SPRUNG_BLOCK_SU(state, l->delay_position);
    fs.delay_out = SPRUNG_BLOCK_SF(state, l->delay_out);
    return fs;
}

/* A modulation write (the host's SprungModulationWrite, backend/backend.h):
 * word `target` of the compiled block, or of the state block when
 * SPRUNG_BLOCK_WRITE_STATE is set, takes the value `bits`. The engine works
 * modulation out on the host frame by frame and hands over only the words
 * that changed; the kernel applies a frame's writes before its first step. */
#define SPRUNG_BLOCK_WRITE_STATE 0x80000000u
typedef struct SprungKernelWrite {
    unsigned int target;
    unsigned int bits;
} SprungKernelWrite;

/* A feature model's block input buffer, in 4-byte words: the header
 * (n_steps, n_starts, n_events, oversampling, n_writes, mic_frames), the starts
 * (SprungKernelPulseStart, 3 words each), the exciter notes
 * (SprungKernelExciterEvent, 4 words each), n_input_channels channels of
 * n_frames = ceil(n_steps / oversampling) audio input samples each, channel
 * after channel (engine step s reads frame s / oversampling), then, when
 * n_writes > 0, where each frame's writes begin (n_frames + 1 words) and the
 * writes (SprungKernelWrite, 2 words each). */
#define SPRUNG_BLOCK_FEATURE_HEADER_WORDS 6u
#define SPRUNG_BLOCK_FEATURE_WORDS(n_starts, n_events, n_input_channels, n_frames, n_writes)  \
    (SPRUNG_BLOCK_FEATURE_HEADER_WORDS + 3u * (n_starts) + 4u * (n_events) +                 \
     (n_input_channels) * (n_frames) + ((n_writes) ? (n_frames) + 1u + 2u * (n_writes) : 0u))

/* A feature block's inputs, located in its input buffer. */
typedef struct SprungBlockFeatureInputs {
    unsigned int n_steps, n_starts, n_events, oversampling, n_writes;
    /* 1: after each output frame's last step, every microphone's mic_value
     * goes to the output too (what the host's followers of a microphone
     * hear; sprung_block_features_after). */
    unsigned int mic_frames;
    unsigned int n_frames; /* ceil(n_steps / oversampling) */
    SPRUNG_GLOBAL const SprungKernelPulseStart *starts;
    SPRUNG_GLOBAL const SprungKernelExciterEvent *events;
    SPRUNG_GLOBAL const float *samples; /* channel-major, n_frames each */
    SPRUNG_GLOBAL const unsigned int *frame_writes; /* n_frames + 1 */
    SPRUNG_GLOBAL const SprungKernelWrite *writes;
    SPRUNG_GLOBAL const unsigned int *exciter_input; /* input channel per exciter */
    unsigned int n_input_channels;
} SprungBlockFeatureInputs;

SPRUNG_KERNEL_INLINE SprungBlockFeatureInputs
sprung_block_feature_inputs(SPRUNG_GLOBAL const unsigned int *inputs,
                            SPRUNG_GLOBAL const unsigned char *constants,
                            const SprungBlockFeatureLayout *features)
{
    SprungBlockFeatureInputs in;
    in.n_steps = inputs[0];
    in.n_starts = inputs[1];
    in.n_events = inputs[2];
    in.oversampling = inputs[3];
    in.n_writes = inputs[4];
    in.mic_frames = inputs[5];
    in.n_frames = (in.n_steps + in.oversampling - 1u) / in.oversampling;
    SPRUNG_GLOBAL const unsigned int *words = inputs + SPRUNG_BLOCK_FEATURE_HEADER_WORDS;
    in.starts = (SPRUNG_GLOBAL const SprungKernelPulseStart *)words;
    words += 3u * in.n_starts;
    in.events = (SPRUNG_GLOBAL const SprungKernelExciterEvent *)words;
    words += 4u * in.n_events;
    in.samples = (SPRUNG_GLOBAL const float *)words;
    words += features->n_input_channels * in.n_frames;
    in.frame_writes = words;
    in.writes = (SPRUNG_GLOBAL const SprungKernelWrite *)(words + in.n_frames + 1u);
    in.exciter_input = SPRUNG_BLOCK_U(constants, features->exciter_input);
    in.n_input_channels = features->n_input_channels;
    return in;
}

/* Whether engine step `step` begins an output frame with modulation
 * writes, which are then writes[*first .. *end). The same answer for every
 * item (it reads only the inputs), so a barrier may depend on it. */
SPRUNG_KERNEL_INLINE int sprung_block_frame_writes(unsigned int step,
                                                   const SprungBlockFeatureInputs *in,
                                                   unsigned int *first, unsigned int *end)
{
    if (in->n_writes == 0u || step % in->oversampling != 0u)
        return 0;
    unsigned int frame = step / in->oversampling;
    *first = in->frame_writes[frame];
    *end = in->frame_writes[frame + 1u];
    return *first < *end;
}

/* This item's share of writes [first, end): into the compiled block
 * (`constant_words`) or the state (`state_words`: where the kernel keeps
 * it; the words written lie before the delay rings). Targets are distinct,
 * so the items never write one word twice. */
SPRUNG_KERNEL_INLINE void sprung_block_apply_writes(unsigned int item, unsigned int items,
                                                    unsigned int first, unsigned int end,
                                                    const SprungBlockFeatureInputs *in,
                                                    SPRUNG_GLOBAL unsigned int *constant_words,
                                                    SPRUNG_STATE_SPACE unsigned int *state_words)
{
    for (unsigned int w = first + item; w < end; w += items) {
        unsigned int target = in->writes[w].target;
        if (target & SPRUNG_BLOCK_WRITE_STATE)
            state_words[target & ~SPRUNG_BLOCK_WRITE_STATE] = in->writes[w].bits;
        else
            constant_words[target] = in->writes[w].bits;
    }
}

/* The audio input feeds of step `step`: the driver's part of the feature
 * step that depends on where the samples are. */
SPRUNG_KERNEL_INLINE void sprung_block_feed_inputs(unsigned int step,
                                                   const SprungBlockFeatureInputs *in,
                                                   const SprungFeatureModel *fm,
                                                   const SprungFeatureState *fs)
{
    unsigned int frame = step / in->oversampling;
    for (unsigned int e = 0; e < fm->n_exciters; ++e) {
        if (fm->exciter_kind[e] != SPRUNG_KERNEL_EXCITER_AUDIO_INPUT)
            continue;
        unsigned int channel = in->exciter_input[e];
        float input = channel < in->n_input_channels
                          ? in->samples[channel * in->n_frames + frame]
                          : 0.0f;
        sprung_exciter_feed(e, input, fm, fs);
    }
}

/* Where the pulse starts and the notes of step `step` begin, for a driver
 * that launches per step (the large-model paths): by scanning, there are
 * few. */
SPRUNG_KERNEL_INLINE void sprung_block_features_seek(unsigned int step,
                                                     const SprungBlockFeatureInputs *in,
                                                     unsigned int *next_start,
                                                     unsigned int *next_event)
{
    unsigned int k = 0u;
    while (k < in->n_starts && in->starts[k].step < step)
        ++k;
    *next_start = k;
    k = 0u;
    while (k < in->n_events && in->events[k].step < step)
        ++k;
    *next_event = k;
}

/* One item's serial part of feature step `step` before phase 1: the step's
 * pulse starts and notes (from *next_start and *next_event on), the delay
 * reads, the input feeds, the exciter and collision forces (there are few;
 * phase 2 reads them after the barrier, or the next launch). */
SPRUNG_KERNEL_INLINE void sprung_block_features_before(unsigned int step,
                                                       const SprungBlockFeatureInputs *in,
                                                       unsigned int *next_start,
                                                       unsigned int *next_event,
                                                       const SprungStepModel *m,
                                                       const SprungStepState *st,
                                                       const SprungFeatureModel *fm,
                                                       const SprungFeatureState *fs)
{
    sprung_block_apply_starts(step, next_start, in->n_starts, in->starts, st);
    sprung_features_begin(step, in->events, in->n_events, next_event, fm, fs);
    sprung_block_feed_inputs(step, in, fm, fs);
    sprung_features_forces(m, st, fm, fs);
}

/* The same item's part after phase 2 of `step`: the microphones into
 * out[channel · n_steps + step] (and, with mic_frames, at an output frame's
 * last step every microphone's value into out[n_channels · n_steps +
 * frame · n_microphones + mic]), then the delay writes. */
SPRUNG_KERNEL_INLINE void sprung_block_features_after(unsigned int step,
                                                      const SprungBlockFeatureInputs *in,
                                                      const SprungStepModel *m,
                                                      const SprungStepState *st,
                                                      const SprungFeatureModel *fm,
                                                      const SprungFeatureState *fs,
                                                      SPRUNG_GLOBAL float *out)
{
    float channel_sum[SPRUNG_MAX_CHANNELS];
    sprung_microphones_mix_channels(m, st, fm, fs, channel_sum);
    for (unsigned int c = 0u; c < fm->n_channels; ++c)
        out[c * in->n_steps + step] = channel_sum[c];
    if (in->mic_frames && (step + 1u) % in->oversampling == 0u) {
        SPRUNG_GLOBAL float *mics = out + fm->n_channels * in->n_steps +
                                    (step / in->oversampling) * m->n_microphones;
        for (unsigned int mic = 0u; mic < m->n_microphones; ++mic)
            mics[mic] = fs->mic_value[mic];
    }
    sprung_delays_write(fm, fs);
}

/* Phase 2 of a feature model for the nodes this item owns. */
SPRUNG_KERNEL_INLINE void sprung_block_nodes_features(unsigned int item, unsigned int items,
                                                      const SprungStepModel *m,
                                                      const SprungStepState *st,
                                                      const SprungFeatureModel *fm,
                                                      const SprungFeatureState *fs)
{
    for (unsigned int i = item; i < m->n_nodes; i += items)
        sprung_node_integrate_features(i, m, st, fm, fs);
}

/* A feature model's block on one work-group, the engine step of
 * sprung_step.h's second half: item 0 does the serial parts before phase 1
 * while every item computes its springs; every item integrates its nodes;
 * item 0 does the serial part after phase 2 (only item 0 touches the
 * exciters and delays, so no barrier guards them). A frame with modulation
 * writes first waits for item 0's mix of the last step (it reads gains a
 * write may change), then every item writes its share, then all wait
 * again before anyone reads the constants.
 *
 * frame_dt (a voice's block, sprung_voices_features_kernel): output frame
 * f steps with time step frame_dt[f] in place of m->dt (a voice's pitch is
 * its time step, src/engine/engine_voices.c). dt is read only by the node
 * integration (sprung_node_advance), from each item's own copy of the
 * model, so every item sets its copy and no barrier is needed. NULL: m->dt
 * throughout, as before. */
SPRUNG_BLOCK_INLINE void sprung_block_run_features(unsigned int item, unsigned int items,
                                                   const SprungBlockFeatureInputs *in,
                                                   SprungStepModel *m,
                                                   const SprungStepState *st,
                                                   const SprungFeatureModel *fm,
                                                   const SprungFeatureState *fs,
                                                   SPRUNG_GLOBAL const float *frame_dt,
                                                   SPRUNG_GLOBAL unsigned int *constant_words,
                                                   SPRUNG_STATE_SPACE unsigned int *state_words,
                                                   SPRUNG_GLOBAL float *out)
{
    unsigned int next_start = 0u, next_event = 0u;
    for (unsigned int step = 0u; step < in->n_steps; ++step) {
        unsigned int first_write, end_write;
        if (frame_dt && step % in->oversampling == 0u)
            m->dt = frame_dt[step / in->oversampling];
        if (sprung_block_frame_writes(step, in, &first_write, &end_write)) {
            SPRUNG_BLOCK_BARRIER();
            sprung_block_apply_writes(item, items, first_write, end_write, in, constant_words,
                                      state_words);
            SPRUNG_BLOCK_BARRIER();
        }
        if (item == 0u)
            sprung_block_features_before(step, in, &next_start, &next_event, m, st, fm, fs);
        sprung_block_springs(item, items, m, st);
        SPRUNG_BLOCK_BARRIER();
        sprung_block_nodes_features(item, items, m, st, fm, fs);
        SPRUNG_BLOCK_BARRIER();
        if (item == 0u)
            sprung_block_features_after(step, in, m, st, fm, fs, out);
    }
}

/* The same from the blocks' bases, as the drivers' kernels receive them
 * (`state`: the global state block, or its local/shared copy of the first
 * state_words words; `global_state`: the global block, for the rings;
 * frame_dt: NULL, or a voice's time step per output frame). */
SPRUNG_BLOCK_INLINE void sprung_block_run_features_at(
    unsigned int item, unsigned int items, SPRUNG_GLOBAL unsigned char *constants,
    const SprungBlockLayout *layout, const SprungBlockFeatureLayout *features,
    SPRUNG_STATE_SPACE unsigned char *state, SPRUNG_GLOBAL unsigned char *global_state,
    SPRUNG_GLOBAL const unsigned int *inputs, SPRUNG_GLOBAL const float *frame_dt,
    SPRUNG_GLOBAL float *out)
{
    SprungStepModel model = sprung_block_model(constants, layout);
    SprungStepState view = sprung_block_state(state, layout);
    SprungFeatureModel feature_model = sprung_block_feature_model(constants, features);
    SprungFeatureState feature_view = sprung_block_feature_state(state, global_state, features);
    SprungBlockFeatureInputs in = sprung_block_feature_inputs(inputs, constants, features);
    sprung_block_run_features(item, items, &in, &model, &view, &feature_model, &feature_view,
                              frame_dt, (SPRUNG_GLOBAL unsigned int *)constants,
                              (SPRUNG_STATE_SPACE unsigned int *)state, out);
}

/* ---- voices: several voices' blocks in one launch (advance_voices) ----
 *
 * Work-group g runs entry g of a launch table at the start of the input
 * buffer: which voice (its copy of the compiled block lies at constants +
 * voice × the constants stride, its state at state + voice × the state
 * stride, strides in bytes, kernel arguments), and where in the same
 * buffer its inputs are, in 4-byte words from the buffer's start: its
 * feature inputs (SPRUNG_BLOCK_FEATURE_WORDS, as a single block's, its
 * writes' targets offsets into that voice's copies) and its time step per
 * output frame (n_frames floats); and where its output goes, in floats
 * from the output buffer's start (n_channels × n_steps, channel after
 * channel). A voice appears at most once per launch. */
typedef struct SprungKernelVoiceRun {
    unsigned int voice;
    unsigned int inputs;
    unsigned int frame_dt;
    unsigned int out;
} SprungKernelVoiceRun;
#define SPRUNG_BLOCK_VOICE_RUN_WORDS 4u

/* Entry `run` of the launch table at the start of `inputs`. */
SPRUNG_KERNEL_INLINE SprungKernelVoiceRun
sprung_block_voice_run(SPRUNG_GLOBAL const unsigned int *inputs, unsigned int run)
{
    SPRUNG_GLOBAL const unsigned int *entry = inputs + SPRUNG_BLOCK_VOICE_RUN_WORDS * run;
    SprungKernelVoiceRun r;
    r.voice = entry[0];
    r.inputs = entry[1];
    r.frame_dt = entry[2];
    r.out = entry[3];
    return r;
}

/* One voice's block (`run`), from that voice's copies: `constants` and
 * `global_state` are already the voice's (base + voice × stride), `state`
 * where the kernel keeps it (the voice's global block, or the group's local
 * copy); `inputs` and `out` are the whole launch's buffers. */
SPRUNG_BLOCK_INLINE void sprung_block_run_voice_at(
    unsigned int item, unsigned int items, const SprungKernelVoiceRun *run,
    SPRUNG_GLOBAL unsigned char *constants, const SprungBlockLayout *layout,
    const SprungBlockFeatureLayout *features, SPRUNG_STATE_SPACE unsigned char *state,
    SPRUNG_GLOBAL unsigned char *global_state, SPRUNG_GLOBAL const unsigned int *inputs,
    SPRUNG_GLOBAL float *out)
{
    sprung_block_run_features_at(item, items, constants, layout, features, state, global_state,
                                 inputs + run->inputs,
                                 (SPRUNG_GLOBAL const float *)(inputs + run->frame_dt),
                                 out + run->out);
}

#endif
