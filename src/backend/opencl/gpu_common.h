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
#include <string.h>

#include "engine/compiled.h"
#include "kernel/sprung_block.h"

#define SPRUNG_GPU_STATS_MAGIC 0x53475055u /* "SGPU" */

typedef struct SprungGpuStats {
    uint32_t magic;            /* SPRUNG_GPU_STATS_MAGIC */
    char device[128];          /* the device's name */
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
        .state_words = (unsigned int)(s->block_bytes / 4u),
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

#endif
