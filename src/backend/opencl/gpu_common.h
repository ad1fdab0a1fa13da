/* Host-side pieces the GPU backends (opencl, cuda) share: the block layout
 * they pass to the kernel, and what they tell benchmarks and tests about the
 * last block and the choices made at create: the first member of both
 * backends' contexts is a SprungGpuStats, so a caller holding a SprungBackend
 * whose name is "opencl" or "cuda" may read it through
 * sprung_gpu_stats(). Private to the project (benchmarks, tests).
 *
 * Written by the backend on the audio thread in advance(); read by the same
 * thread (or after advance() returned) only. */
#ifndef SPRUNG_BACKEND_GPU_COMMON_H
#define SPRUNG_BACKEND_GPU_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "engine/compiled.h"
#include "kernel/sprung_block.h"

#define SPRUNG_GPU_STATS_MAGIC 0x53475055u /* "SGPU" */

_Static_assert(sizeof(SprungKernelWrite) == sizeof(SprungModulationWrite),
               "modulation writes upload unchanged");

/* The features both GPU backends run: all of them. Modulation comes as
 * the words it changed, frame by frame, applied by the kernel
 * (SprungFeatureIo.writes). A follower that hears a microphone hears the
 * frame before: the block hands the microphones back per frame
 * (SprungFeatureIo.mic_frames) and the engine plans around them (engine.c,
 * "Followers of a microphone"). Voices run as work-groups of one launch,
 * each on its own copies (the factories' create_voices, advance_voices);
 * voices with a microphone follower stay on the CPU backends
 * (registry.c). */
#define SPRUNG_GPU_FEATURES SPRUNG_FEATURE_ALL

/* A variant setting from the environment (read at create): a number, or
 * `fallback` when unset or not a number. */
static inline unsigned long sprung_gpu_env_number(const char *name, unsigned long fallback)
{
    const char *text = getenv(name);
    if (!text || !*text)
        return fallback;
    char *end = NULL;
    unsigned long value = strtoul(text, &end, 10);
    return *end ? fallback : value;
}

/* Whether the environment sets `name` to exactly `value`. */
static inline int sprung_gpu_env_is(const char *name, const char *value)
{
    const char *text = getenv(name);
    return text && !strcmp(text, value);
}

typedef struct SprungGpuStats {
    uint32_t magic;            /* SPRUNG_GPU_STATS_MAGIC */
    char device[256];          /* the device's name (CUDA allows 255 bytes) */
    char path[16];             /* "local", "global", "multi" (OpenCL); "shared", "global", "cooperative" (CUDA) */
    char launch[16];           /* the launch variant, e.g. "plain", "userevent", "graph" */
    char wait[16];             /* completion: "block" or "spin" */
    uint32_t work_group_size;  /* items per group */
    uint32_t groups;           /* groups per launch */
    uint32_t local_bytes;      /* state bytes in local/shared memory (0: global) */
    int exact_math;            /* 1: built for the reference's bits (IEEE div/sqrt, no FMA) */
    double last_kernel_s;      /* device time of the last block, from profiling; < 0: unknown */
    uint64_t blocks;           /* advance() calls */
} SprungGpuStats;

/* The stats of a GPU backend's context, or NULL if `ctx` is not one. */
static inline SprungGpuStats *sprung_gpu_stats(const char *backend_name, void *ctx)
{
    if (!ctx || !backend_name || (strcmp(backend_name, "opencl") && strcmp(backend_name, "cuda")))
        return NULL;
    SprungGpuStats *stats = (SprungGpuStats *)ctx;
    return stats->magic == SPRUNG_GPU_STATS_MAGIC ? stats : NULL;
}

/* Counts and byte offsets of the compiled and state blocks for the kernel
 * (both blocks upload unchanged; offsets fit 32 bits, checked at create). */
static inline SprungBlockLayout sprung_gpu_layout(const SprungCompiled *c, const SprungState *s)
{
#define CONST_OFFSET(field) (unsigned int)sprung_compiled_offset(c, c->field)
#define STATE_OFFSET(field) (unsigned int)((const char *)s->field - (const char *)s->block)
    SprungBlockLayout l = {
        .n_nodes = c->n_nodes,
        .n_bodies = c->n_bodies,
        .n_springs = c->n_springs,
        .n_microphones = c->n_microphones,
        .dt = (float)c->dt,
        .state_words = STATE_OFFSET(delay_ring) / 4u, /* the rings come last */
        .inv_mass = CONST_OFFSET(inv_mass),
        .drag = CONST_OFFSET(drag),
        .incidence_offset = CONST_OFFSET(incidence_offset),
        .incidence_spring = CONST_OFFSET(incidence_spring),
        .incidence_sign = CONST_OFFSET(incidence_sign),
        .node_mallet_offset = CONST_OFFSET(node_mallet_offset),
        .node_mallet = CONST_OFFSET(node_mallet),
        .spring_p = CONST_OFFSET(spring_p),
        .spring_q = CONST_OFFSET(spring_q),
        .spring_stiffness = CONST_OFFSET(spring_stiffness),
        .spring_damping = CONST_OFFSET(spring_damping),
        .spring_rest_length = CONST_OFFSET(spring_rest_length),
        .spring_length0 = CONST_OFFSET(spring_length0),
        .spring_length0_sq = CONST_OFFSET(spring_length0_sq),
        .spring_preload = CONST_OFFSET(spring_preload),
        .spring_d0_x = CONST_OFFSET(spring_d0_x),
        .spring_d0_y = CONST_OFFSET(spring_d0_y),
        .spring_d0_z = CONST_OFFSET(spring_d0_z),
        .mallet_dir_x = CONST_OFFSET(mallet_dir_x),
        .mallet_dir_y = CONST_OFFSET(mallet_dir_y),
        .mallet_dir_z = CONST_OFFSET(mallet_dir_z),
        .mallet_steps = CONST_OFFSET(mallet_steps),
        .mallet_shape_offset = CONST_OFFSET(mallet_shape_offset),
        .mallet_shape = CONST_OFFSET(mallet_shape),
        .mic_node = CONST_OFFSET(mic_node),
        .mic_signal = CONST_OFFSET(mic_signal),
        .mic_axis_x = CONST_OFFSET(mic_axis_x),
        .mic_axis_y = CONST_OFFSET(mic_axis_y),
        .mic_axis_z = CONST_OFFSET(mic_axis_z),
        .mic_gain_left = CONST_OFFSET(mic_gain_left),
        .mic_gain_right = CONST_OFFSET(mic_gain_right),
        .ux = STATE_OFFSET(ux),
        .uy = STATE_OFFSET(uy),
        .uz = STATE_OFFSET(uz),
        .vx = STATE_OFFSET(vx),
        .vy = STATE_OFFSET(vy),
        .vz = STATE_OFFSET(vz),
        .spring_force_x = STATE_OFFSET(spring_force_x),
        .spring_force_y = STATE_OFFSET(spring_force_y),
        .spring_force_z = STATE_OFFSET(spring_force_z),
        .pulse_amplitude = STATE_OFFSET(pulse_amplitude),
        .pulse_step = STATE_OFFSET(pulse_step),
    };
#undef CONST_OFFSET
#undef STATE_OFFSET
    return l;
}

/* The same for a feature model's arrays (compiled->features != 0). */
static inline SprungBlockFeatureLayout sprung_gpu_feature_layout(const SprungCompiled *c,
                                                                const SprungState *s)
{
#define CONST_OFFSET(field) (unsigned int)sprung_compiled_offset(c, c->field)
#define STATE_OFFSET(field) (unsigned int)((const char *)s->field - (const char *)s->block)
    SprungBlockFeatureLayout l = {
        .n_exciters = c->n_exciters,
        .n_collisions = c->n_collisions,
        .n_delays = c->n_delays,
        .n_channels = c->n_channels,
        .n_input_channels = c->n_input_channels,
        .node_force_x = CONST_OFFSET(node_force_x),
        .node_force_y = CONST_OFFSET(node_force_y),
        .node_force_z = CONST_OFFSET(node_force_z),
        .node_exciter_offset = CONST_OFFSET(node_exciter_offset),
        .node_exciter = CONST_OFFSET(node_exciter),
        .node_collision_offset = CONST_OFFSET(node_collision_offset),
        .node_collision = CONST_OFFSET(node_collision),
        .node_collision_sign = CONST_OFFSET(node_collision_sign),
        .exciter_kind = CONST_OFFSET(exciter_kind),
        .exciter_node = CONST_OFFSET(exciter_node),
        .exciter_dir_x = CONST_OFFSET(exciter_dir_x),
        .exciter_dir_y = CONST_OFFSET(exciter_dir_y),
        .exciter_dir_z = CONST_OFFSET(exciter_dir_z),
        .exciter_strength = CONST_OFFSET(exciter_strength),
        .exciter_attack = CONST_OFFSET(exciter_attack),
        .exciter_release = CONST_OFFSET(exciter_release),
        .exciter_waveform = CONST_OFFSET(exciter_waveform),
        .exciter_harmonic_limit = CONST_OFFSET(exciter_harmonic_limit),
        .exciter_gated = CONST_OFFSET(exciter_gated),
        .exciter_stiffness = CONST_OFFSET(exciter_stiffness),
        .exciter_max_travel = CONST_OFFSET(exciter_max_travel),
        .exciter_mu_static = CONST_OFFSET(exciter_mu_static),
        .exciter_mu_dynamic = CONST_OFFSET(exciter_mu_dynamic),
        .exciter_slip_velocity = CONST_OFFSET(exciter_slip_velocity),
        .exciter_stick_velocity = CONST_OFFSET(exciter_stick_velocity),
        .exciter_delay_offset = CONST_OFFSET(exciter_delay_offset),
        .exciter_delay = CONST_OFFSET(exciter_delay),
        .exciter_input = CONST_OFFSET(exciter_input),
        .collision_a = CONST_OFFSET(collision_a),
        .collision_b = CONST_OFFSET(collision_b),
        .collision_normal_x = CONST_OFFSET(collision_normal_x),
        .collision_normal_y = CONST_OFFSET(collision_normal_y),
        .collision_normal_z = CONST_OFFSET(collision_normal_z),
        .collision_height0 = CONST_OFFSET(collision_height0),
        .collision_d0_x = CONST_OFFSET(collision_d0_x),
        .collision_d0_y = CONST_OFFSET(collision_d0_y),
        .collision_d0_z = CONST_OFFSET(collision_d0_z),
        .collision_radius = CONST_OFFSET(collision_radius),
        .collision_stiffness = CONST_OFFSET(collision_stiffness),
        .collision_damping = CONST_OFFSET(collision_damping),
        .mic_channel = CONST_OFFSET(mic_channel),
        .mic_gain = CONST_OFFSET(mic_gain),
        .delay_mic = CONST_OFFSET(delay_mic),
        .delay_steps = CONST_OFFSET(delay_steps),
        .delay_gain = CONST_OFFSET(delay_gain),
        .delay_feedback = CONST_OFFSET(delay_feedback),
        .delay_ring_offset = CONST_OFFSET(delay_ring_offset),
        .delay_ring_length = CONST_OFFSET(delay_ring_length),
        .exciter_gate = STATE_OFFSET(exciter_gate),
        .exciter_level = STATE_OFFSET(exciter_level),
        .exciter_velocity = STATE_OFFSET(exciter_velocity),
        .exciter_increment = STATE_OFFSET(exciter_increment),
        .exciter_phase = STATE_OFFSET(exciter_phase),
        .exciter_plectrum = STATE_OFFSET(exciter_plectrum),
        .exciter_start = STATE_OFFSET(exciter_start),
        .exciter_rng = STATE_OFFSET(exciter_rng),
        .exciter_contact = STATE_OFFSET(exciter_contact),
        .exciter_harmonics = STATE_OFFSET(exciter_harmonics),
        .exciter_feed = STATE_OFFSET(exciter_feed),
        .exciter_force_x = STATE_OFFSET(exciter_force_x),
        .exciter_force_y = STATE_OFFSET(exciter_force_y),
        .exciter_force_z = STATE_OFFSET(exciter_force_z),
        .collision_force_x = STATE_OFFSET(collision_force_x),
        .collision_force_y = STATE_OFFSET(collision_force_y),
        .collision_force_z = STATE_OFFSET(collision_force_z),
        .net_force_x = STATE_OFFSET(net_force_x),
        .net_force_y = STATE_OFFSET(net_force_y),
        .net_force_z = STATE_OFFSET(net_force_z),
        .mic_value = STATE_OFFSET(mic_value),
        .delay_ring = STATE_OFFSET(delay_ring),
        .delay_position = STATE_OFFSET(delay_position),
        .delay_out = STATE_OFFSET(delay_out),
    };
#undef CONST_OFFSET
#undef STATE_OFFSET
    return l;
}

/* Size of a feature model's block input buffer, bytes, for blocks of up to
 * `max_frames` output frames (sprung_block_run_features). */
static inline size_t sprung_gpu_feature_input_bytes(const SprungCompiled *c, uint32_t max_frames)
{
    return 4u * (size_t)SPRUNG_BLOCK_FEATURE_WORDS(
                    SPRUNG_BACKEND_MAX_PULSE_STARTS, SPRUNG_BACKEND_MAX_EXCITER_EVENTS,
                    c->n_input_channels, max_frames, sprung_backend_write_capacity(c, max_frames));
}

/* Writes a feature model's block inputs into `words` (sized by
 * sprung_gpu_feature_input_bytes): header, starts, notes, the audio inputs
 * the block reads (silence for a channel the host lacks), then the
 * modulation writes. Returns the number of words written. Audio thread:
 * copies only. */
static inline size_t sprung_gpu_pack_features(uint32_t *words, const SprungCompiled *c,
                                              uint32_t n_steps, const SprungPulseStart *starts,
                                              uint32_t n_starts, const SprungFeatureIo *io)
{
    uint32_t n_events = io->n_exciter_events;
    uint32_t n_frames = (n_steps + io->oversampling - 1u) / io->oversampling;
    uint32_t n_writes = io->writes ? io->frame_writes[n_frames] : 0u;
    words[0] = n_steps;
    words[1] = n_starts;
    words[2] = n_events;
    words[3] = io->oversampling;
    words[4] = n_writes;
    words[5] = io->mic_frames != NULL;
    uint32_t *next = words + SPRUNG_BLOCK_FEATURE_HEADER_WORDS;
    if (n_starts)
        memcpy(next, starts, (size_t)n_starts * sizeof *starts);
    next += 3u * n_starts;
    if (n_events)
        memcpy(next, io->exciter_events, (size_t)n_events * sizeof *io->exciter_events);
    next += 4u * n_events;
    float *samples = (float *)next;
    for (uint32_t channel = 0; channel < c->n_input_channels; ++channel) {
        float *to = samples + (size_t)channel * n_frames;
        if (channel < io->n_inputs && io->inputs[channel])
            memcpy(to, io->inputs[channel], (size_t)n_frames * sizeof *to);
        else
            memset(to, 0, (size_t)n_frames * sizeof *to);
    }
    if (n_writes) {
        next = (uint32_t *)(samples + (size_t)c->n_input_channels * n_frames);
        memcpy(next, io->frame_writes, ((size_t)n_frames + 1u) * sizeof *next);
        next += n_frames + 1u;
        memcpy(next, io->writes, (size_t)n_writes * sizeof *io->writes);
    }
    return SPRUNG_BLOCK_FEATURE_WORDS(n_starts, n_events, c->n_input_channels, n_frames,
                                      n_writes);
}

/* Whether a run's frame f starts with modulation writes (the host's side of
 * sprung_block_frame_writes, for a driver that launches per step). */
static inline int sprung_gpu_frame_has_writes(const SprungFeatureIo *io, uint32_t frame)
{
    return io->writes && io->frame_writes[frame] < io->frame_writes[frame + 1u];
}

/* Floats a feature block of n_steps writes to its output buffer: every
 * channel's n_steps, then, when the host asked for them, the microphones
 * after each output frame (SprungFeatureIo.mic_frames). */
static inline size_t sprung_gpu_feature_output_floats(const SprungCompiled *c, uint32_t n_steps,
                                                      const SprungFeatureIo *io)
{
    size_t floats = (size_t)c->n_channels * n_steps;
    if (io->mic_frames)
        floats += (size_t)c->n_microphones * (n_steps / io->oversampling);
    return floats;
}

/* The output buffer a feature model's blocks of up to max_steps engine
 * steps need (the microphone frames at most one per step). */
static inline size_t sprung_gpu_feature_output_bytes(const SprungCompiled *c, uint32_t max_steps)
{
    return (size_t)max_steps * (c->n_channels + c->n_microphones) * sizeof(float);
}

/* Copies a feature block's output (channel after channel, n_steps each,
 * then the microphone frames if asked for) into the engine's buffers. */
static inline void sprung_gpu_unpack_channels(const float *out, uint32_t n_channels,
                                              uint32_t n_steps, const SprungFeatureIo *io)
{
    for (uint32_t channel = 0; channel < n_channels; ++channel)
        memcpy(io->outputs[channel], out + (size_t)channel * n_steps,
               (size_t)n_steps * sizeof *out);
}

/* The same for a whole block of `c`, the microphone frames included. */
static inline void sprung_gpu_unpack_features(const float *out, const SprungCompiled *c,
                                              uint32_t n_steps, const SprungFeatureIo *io)
{
    sprung_gpu_unpack_channels(out, c->n_channels, n_steps, io);
    if (io->mic_frames)
        memcpy(io->mic_frames, out + (size_t)c->n_channels * n_steps,
               (size_t)c->n_microphones * (n_steps / io->oversampling) * sizeof *out);
}

/* A failed block is silence, never garbage: in its channels and in the
 * microphones the followers hear. */
static inline void sprung_gpu_silence_features(const SprungCompiled *c, uint32_t n_steps,
                                               const SprungFeatureIo *io)
{
    for (uint32_t channel = 0; channel < c->n_channels; ++channel)
        memset(io->outputs[channel], 0, (size_t)n_steps * sizeof(float));
    if (io->mic_frames)
        memset(io->mic_frames, 0,
               (size_t)c->n_microphones * (n_steps / io->oversampling) * sizeof(float));
}

/* ---- voices (advance_voices): a work-group per run in one launch ---- */

/* Size of the voices kernel's input buffer, bytes, for n_voices runs of up
 * to `max_frames` output frames: per run a launch-table entry, a feature
 * block's inputs with every start, note and write a run may carry, and a
 * time step per frame (sprung_block.h, SprungKernelVoiceRun). */
static inline size_t sprung_gpu_voices_input_bytes(const SprungCompiled *c, uint32_t max_frames,
                                                   uint32_t n_voices)
{
    size_t per_run = 4u * (size_t)(SPRUNG_BLOCK_VOICE_RUN_WORDS + max_frames) +
                     sprung_gpu_feature_input_bytes(c, max_frames);
    return per_run * n_voices;
}

static inline size_t sprung_gpu_round_up(size_t value, size_t multiple)
{
    return (value + multiple - 1) / multiple * multiple;
}

/* What a voices backend lays out at create: one copy of the constants and
 * one of the state per voice, `align` bytes apart (the API's buffer
 * alignment), and the input buffer. */
typedef struct SprungGpuVoicesLayout {
    size_t constants_stride, state_stride; /* bytes from one voice's copy to the next */
    size_t input_bytes;
} SprungGpuVoicesLayout;

/* Fills `layout` for n_voices voices of blocks up to config's
 * max_block_frames; returns 0, or -1 when the kernel's 32-bit arguments
 * and table entries could not address it (offsets past 4 GiB). */
static inline int sprung_gpu_voices_layout(const SprungCompiled *c, size_t state_bytes,
                                           const SprungEngineConfig *config, uint32_t n_voices,
                                           size_t align, SprungGpuVoicesLayout *layout)
{
    layout->constants_stride = sprung_gpu_round_up(c->block_bytes, align);
    layout->state_stride = sprung_gpu_round_up(state_bytes, align);
    layout->input_bytes = sprung_gpu_voices_input_bytes(c, config->max_block_frames, n_voices);
    uint64_t output_floats =
        (uint64_t)config->max_block_frames * config->oversampling * c->n_channels * n_voices;
    return layout->constants_stride > 0xFFFFFF00u || layout->state_stride > 0xFFFFFF00u ||
                   layout->input_bytes > 0xFFFFFF00u || output_floats > 0x3FFFFFC0u
               ? -1
               : 0;
}

/* Writes the launch table and every run's inputs into `words` (sized by
 * sprung_gpu_voices_input_bytes): run r's feature inputs as
 * sprung_gpu_pack_features packs a block's, then its frame_dt; its output
 * at r × n_channels × n_steps floats. Returns the words written, or 0 when
 * a run names a voice past n_voices (an engine bug: the caller then
 * renders silence, never another voice's memory). Audio thread: copies
 * only. */
static inline size_t sprung_gpu_pack_voices(uint32_t *words, const SprungCompiled *c,
                                            uint32_t n_voices, uint32_t n_steps, uint32_t n_runs,
                                            const SprungVoiceRun *runs)
{
    size_t next = (size_t)SPRUNG_BLOCK_VOICE_RUN_WORDS * n_runs;
    for (uint32_t r = 0; r < n_runs; ++r) {
        const SprungVoiceRun *run = &runs[r];
        if (run->voice >= n_voices)
            return 0;
        uint32_t n_frames = (n_steps + run->io.oversampling - 1u) / run->io.oversampling;
        uint32_t *entry = words + (size_t)SPRUNG_BLOCK_VOICE_RUN_WORDS * r;
        entry[0] = run->voice;
        entry[1] = (uint32_t)next;
        next += sprung_gpu_pack_features(words + next, c, n_steps, run->starts, run->n_starts,
                                         &run->io);
        entry[2] = (uint32_t)next;
        memcpy(words + next, run->frame_dt, (size_t)n_frames * sizeof(float));
        next += n_frames;
        entry[3] = r * c->n_channels * n_steps;
    }
    return next;
}

/* Copies run r's output (at r × n_channels × n_steps in `out`) into its
 * engine buffers, for every run; with `ok` 0 (a failed launch), silence. */
static inline void sprung_gpu_unpack_voices(const float *out, int ok, uint32_t n_channels,
                                            uint32_t n_steps, uint32_t n_runs,
                                            const SprungVoiceRun *runs)
{
    for (uint32_t r = 0; r < n_runs; ++r) {
        if (ok) {
            sprung_gpu_unpack_channels(out + (size_t)r * n_channels * n_steps, n_channels,
                                       n_steps, &runs[r].io);
            continue;
        }
        for (uint32_t channel = 0; channel < n_channels; ++channel)
            memset(runs[r].io.outputs[channel], 0, (size_t)n_steps * sizeof(float));
    }
}

#endif
