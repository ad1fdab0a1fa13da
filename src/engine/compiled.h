/* The compiled form of a model: flat float32 structure-of-arrays constants
 * carved from ONE allocation, and the float32 simulation state carved from a
 * second one. Private to libsprung; built on the control thread by
 * sprung_compiled_new(), read by the engine and the backends.
 *
 * GPU upload: every array starts at a 64-byte aligned offset from `block`,
 * holds only 4-byte scalars (float, uint32) except the host-only mallet
 * strengths (double, used to turn a note velocity into an impulse on the
 * host), and refers to other arrays by index, never by pointer. A GPU backend
 * copies `block_bytes` bytes unchanged and rebuilds the pointers as its device
 * base plus sprung_compiled_offset(). The same holds for SprungState.
 *
 * Nodes: bodies first (index = body index), then anchors (index = n_bodies +
 * anchor index). Anchors are nodes with inverse mass 0. */
#ifndef SPRUNG_ENGINE_COMPILED_H
#define SPRUNG_ENGINE_COMPILED_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/sprung_step.h"
#include "model/model.h"
#include "sprung/status.h"

/* Kernel features beyond bodies, springs, mallets and microphones. New
 * physics lands in the reference backend first; a backend runs a model only
 * when it supports every feature the model uses (SprungBackendFactory.features),
 * and "auto" skips the others. Names for messages: sprung_feature_names(). */
enum {
    SPRUNG_FEATURE_NONE = 0,
    SPRUNG_FEATURE_OSCILLATOR = 1 << 0,      /* "oscillators" */
    SPRUNG_FEATURE_PLUCK = 1 << 1,           /* "plucks" */
    SPRUNG_FEATURE_BOW = 1 << 2,             /* "bows" */
    SPRUNG_FEATURE_AUDIO_INPUT = 1 << 3,     /* "audio_inputs": host input as a force */
    SPRUNG_FEATURE_MIC_FORCE = 1 << 4,       /* a microphone with "signal": "force" */
    SPRUNG_FEATURE_OUTPUT_CHANNELS = 1 << 5, /* a microphone with "output" >= 2 */
    SPRUNG_FEATURE_DELAY = 1 << 6,           /* "delays": reads microphones of earlier
                                                steps, so a GPU block launch must keep the
                                                ring in its state and run the delay reads
                                                and writes in its step loop */
    SPRUNG_FEATURE_COLLISION = 1 << 7,       /* "collisions" */
    SPRUNG_FEATURE_GRAVITY = 1 << 8,         /* "gravity": a constant force per body */
    SPRUNG_FEATURE_MODULATION = 1 << 9,      /* "sources"/"routes": the engine rewrites
                                                compiled arrays between output frames */
    SPRUNG_FEATURE_VOICES = 1 << 10,         /* "voices": instanced mode */
    SPRUNG_FEATURE_MIC_FOLLOWER = 1 << 11,   /* a follower hears a microphone: the route
                                                values of a frame depend on the frame
                                                before, so a block cannot be worked out
                                                ahead of its launch */
    SPRUNG_FEATURE_ALL = 0x7FFFFFFF, /* the reference backend implements every feature */
};

typedef struct SprungCompiled {
    void *block;        /* the one allocation everything below points into */
    size_t block_bytes;

    uint32_t n_nodes;   /* n_bodies + n_anchors */
    uint32_t n_bodies;
    uint32_t n_anchors;
    uint32_t n_springs;
    uint32_t n_incidences;   /* 2 × n_springs */
    uint32_t n_mallets;
    uint32_t n_microphones;
    uint32_t n_pulse_slots;  /* n_mallets × SPRUNG_PULSE_SLOTS */
    uint32_t n_shape_samples; /* Σ mallet_steps */

    uint32_t features;  /* SPRUNG_FEATURE_* bits this model uses */
    uint32_t max_frame_writes; /* words of this block and the state's that modulation may
                                  rewrite in one output frame (an upper bound; 0: none) */

    /* Features (kernel/sprung_step.h, second half); all 0 without them. */
    uint32_t n_exciters;     /* oscillators, plucks, bows, audio inputs, in that order */
    uint32_t n_collisions;
    uint32_t n_delays;
    uint32_t n_delay_samples; /* Σ delay_ring_length */
    uint32_t n_channels;     /* output channels the microphones use, >= 2 */
    uint32_t n_input_channels; /* highest audio input channel + 1 (0: none) */

    double engine_rate; /* sample_rate × oversampling, Hz */
    double dt;          /* 1 / engine_rate, s (the kernel uses (float)dt) */

    /* Nodes. */
    float *rest_x, *rest_y, *rest_z; /* x0, m */
    float *inv_mass;                 /* 1/m, 0 for anchors */
    float *drag;                     /* γ, N·s/m */
    float *initial_vx, *initial_vy, *initial_vz; /* m/s */
    uint32_t *incidence_offset;      /* CSR, n_nodes + 1: springs of node i are */
    uint32_t *incidence_spring;      /*   incidence_spring[offset[i] .. offset[i+1]) */
    float *incidence_sign;           /* +1 where node i is p, -1 where it is q */
    uint32_t *node_mallet_offset;    /* CSR, n_nodes + 1: mallets striking node i */
    uint32_t *node_mallet;

    /* Springs. d0 = x0_q - x0_p is computed in double, then rounded. */
    uint32_t *spring_p, *spring_q;
    float *spring_stiffness;   /* k, N/m */
    float *spring_damping;     /* c, N·s/m */
    float *spring_rest_length; /* L, m */
    float *spring_length0;     /* ℓ0 = |d0|, m */
    float *spring_length0_sq;  /* ℓ0², m² */
    float *spring_preload;     /* ℓ0 - L (in double, then rounded), m */
    float *spring_d0_x, *spring_d0_y, *spring_d0_z;

    /* Mallets. The pulse shape of mallet m is mallet_shape[offset[m] ..
     * offset[m] + steps[m]): the force per N·s of impulse at each step of the
     * pulse, (1 - cos(2π(k+½)/N))/(N·dt) (1/dt for N = 1), so that
     * Σ shape·dt = 1 and a pulse of amplitude J delivers impulse J. */
    uint32_t *mallet_node;
    float *mallet_dir_x, *mallet_dir_y, *mallet_dir_z; /* unit, normalised in double */
    double *mallet_strength;   /* N·s at velocity 127 (host only) */
    uint32_t *mallet_note_low, *mallet_note_high;
    uint32_t *mallet_steps;    /* N >= 1 */
    uint32_t *mallet_shape_offset;
    float *mallet_shape;

    /* Microphones. */
    uint32_t *mic_node;
    uint32_t *mic_signal;      /* SPRUNG_KERNEL_MIC_POSITION / _VELOCITY */
    float *mic_axis_x, *mic_axis_y, *mic_axis_z; /* unit, normalised in double */
    float *mic_gain_left;      /* g·cos((pan+1)π/4) */
    float *mic_gain_right;     /* g·sin((pan+1)π/4) */

    /* Host-only note filters: mallet m (and exciter e) answers MIDI channel
     * mallet_channel[m] (1..16; 0 = every channel). */
    uint32_t *mallet_channel;

    /* Nodes: constant force m·g (gravity), N; 0 for anchors. */
    float *node_force_x, *node_force_y, *node_force_z;
    uint32_t *node_exciter_offset;   /* CSR, n_nodes + 1: exciters driving node i */
    uint32_t *node_exciter;
    uint32_t *node_collision_offset; /* CSR, n_nodes + 1: collisions touching node i */
    uint32_t *node_collision;
    float *node_collision_sign;      /* +1 where node i is a, -1 where it is b */

    /* Exciters (SPRUNG_KERNEL_EXCITER_*). strength: oscillator amplitude
     * (N at velocity 127), pluck release force (N at velocity 127), bow
     * normal force (N), audio input gain (N per unit sample). attack/release:
     * envelope change per engine step, 1/(ms·fs_e/1000) (1 for 0 ms). */
    uint32_t *exciter_kind;
    uint32_t *exciter_node;
    float *exciter_dir_x, *exciter_dir_y, *exciter_dir_z; /* unit, normalised in double */
    float *exciter_strength;
    float *exciter_attack, *exciter_release;
    uint32_t *exciter_waveform;
    float *exciter_harmonic_limit; /* oscillator: min(20 kHz, 0.4999·fs_e)/fs_e */
    uint32_t *exciter_gated;
    float *exciter_stiffness;  /* pluck contact, N/m */
    float *exciter_max_travel; /* pluck, m; FLT_MAX when unlimited */
    float *exciter_mu_static, *exciter_mu_dynamic;
    float *exciter_slip_velocity, *exciter_stick_velocity;
    uint32_t *exciter_delay_offset; /* CSR, n_exciters + 1: delays feeding exciter e */
    uint32_t *exciter_delay;
    uint32_t *exciter_seed;    /* initial noise state (host: reset) */
    uint32_t *exciter_input;   /* host input channel, UINT32_MAX for none (host) */
    uint32_t *exciter_note_low, *exciter_note_high, *exciter_channel; /* host */
    double *exciter_frequency; /* oscillator: fixed Hz, 0 = the note's pitch (host) */
    double *exciter_speed;     /* pluck/bow speed at velocity 127, m/s (host) */

    /* Collisions. */
    uint32_t *collision_a, *collision_b; /* b = SPRUNG_NO_NODE for a plane */
    float *collision_normal_x, *collision_normal_y, *collision_normal_z;
    float *collision_height0;
    float *collision_d0_x, *collision_d0_y, *collision_d0_z;
    float *collision_radius, *collision_stiffness, *collision_damping;

    /* Microphones: routing (SPRUNG_MIC_CHANNEL_STEREO, _NONE or a channel)
     * and plain gain g. */
    uint32_t *mic_channel;
    float *mic_gain;

    /* Delay lines: D = max(1, round(time·fs_e)) steps; each ring holds one
     * second at the engine rate (ceil(fs_e) + 1 samples). */
    uint32_t *delay_mic;
    uint32_t *delay_exciter;
    uint32_t *delay_steps;
    float *delay_gain, *delay_feedback;
    uint32_t *delay_ring_offset, *delay_ring_length;

    /* Host: 1 where a modulation route rewrites, between output frames, a
     * body's inv_mass or drag or an anchor's displacement and velocity in
     * the state (node_modulated), or a spring's stiffness, damping or rest
     * length and preload (spring_modulated). A backend that keeps private
     * copies of those refreshes exactly these. */
    uint8_t *node_modulated;
    uint8_t *spring_modulated;
} SprungCompiled;

/* The simulation state, float32, separate from the constants so a reset or
 * a second voice needs no recompile. */
typedef struct SprungState {
    void *block;
    size_t block_bytes;
    float *ux, *uy, *uz;      /* displacement u = x - x0 per node, m */
    float *vx, *vy, *vz;      /* velocity per node, m/s */
    float *spring_force_x, *spring_force_y, *spring_force_z; /* phase-1 scratch, per spring */
    float *pulse_amplitude;   /* per pulse slot: impulse J, N·s */
    uint32_t *pulse_step;     /* per pulse slot: next step, or SPRUNG_PULSE_IDLE */

    /* Features (SprungFeatureState in kernel/sprung_step.h). */
    float *exciter_gate, *exciter_level, *exciter_velocity, *exciter_increment;
    float *exciter_phase, *exciter_plectrum, *exciter_start;
    uint32_t *exciter_rng, *exciter_contact, *exciter_harmonics;
    float *exciter_feed;
    float *exciter_force_x, *exciter_force_y, *exciter_force_z;
    float *collision_force_x, *collision_force_y, *collision_force_z;
    float *net_force_x, *net_force_y, *net_force_z;
    float *mic_value;
    float *delay_ring;
    uint32_t *delay_position;
    float *delay_out;
} SprungState;

/* Compiles `model` for engine rate `engine_rate` (Hz). Fails with
 * SPRUNG_ERROR_NO_MEMORY or SPRUNG_ERROR_INVALID_MODEL (e.g. a mallet pulse
 * too long for the engine), message in `error`. */
SprungStatus sprung_compiled_new(const SprungModel *model, double engine_rate,
                                 SprungCompiled **out, SprungError *error);
void sprung_compiled_free(SprungCompiled *compiled);

/* Byte offset of an array of `compiled` from its block (for GPU upload). */
static inline size_t sprung_compiled_offset(const SprungCompiled *compiled, const void *array)
{
    return (size_t)((const char *)array - (const char *)compiled->block);
}

/* State sized for `compiled`, set to its initial state. */
SprungStatus sprung_state_new(const SprungCompiled *compiled, SprungState *out);
void sprung_state_free(SprungState *state);
/* Back to the initial state: u = 0, v = initial velocity, no pulses. */
void sprung_state_reset(const SprungCompiled *compiled, SprungState *state);

/* Kernel views of the arrays (pointers only; no copy). */
SprungStepModel sprung_compiled_step_model(const SprungCompiled *compiled);
SprungStepState sprung_state_step_view(const SprungState *state);
SprungFeatureModel sprung_compiled_feature_model(const SprungCompiled *compiled);
SprungFeatureState sprung_state_feature_view(const SprungState *state);

#endif
