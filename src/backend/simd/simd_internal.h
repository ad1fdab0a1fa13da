/* Private to src/backend/simd/: the SIMD backend's own layout of a compiled
 * network, shared by the backend (simd_backend.c, which builds it on the
 * control thread) and the per-instruction-set kernels (simd_<isa>.c, which
 * step it on the audio thread and on pool workers, never allocating).
 *
 * Layout (chosen by measurement, see docs/benchmarks.md):
 * - nodes in a locality order (breadth-first over the springs, anchors
 *   last); per node one 32-byte record {ux, uy, uz, 0, vx, vy, vz, 0}, so a
 *   spring endpoint is one aligned load and u/v of a node share a line;
 * - springs sorted by their first endpoint in that order, constants as
 *   structure of arrays, padded to a multiple of SIMD_SPRING_ALIGN with
 *   inert springs (k = c = 0) whose force records nothing reads;
 * - spring forces as two arrays of 16-byte records {fx, fy, fz, 0}: +F of
 *   spring s (its force on p) at record s, -F (on q, exactly sign × F) at
 *   record n_springs_padded + s. Phase 1 writes both contiguously, whole
 *   vectors at a time; phase 2 adds a body's records through its list of
 *   incidences, in the reference's CSR order. Measured against scattering
 *   them to per-body slots that phase 2 reads contiguously: phase 1 takes
 *   14 % less time (its stores were its bottleneck), the whole step 9 %
 *   less on a mesh and 3 % more on a random network of degree 10
 *   (docs/benchmarks.md). No atomics, no conflicts: every record has
 *   exactly one writer.
 * The arithmetic of every lane is that of kernel/sprung_step.h, operation
 * for operation, so results are bit-identical to the reference. */
#ifndef SPRUNG_BACKEND_SIMD_INTERNAL_H
#define SPRUNG_BACKEND_SIMD_INTERNAL_H

#include <stdint.h>

#include "engine/compiled.h"

/* Springs are padded to a multiple of the widest vector (AVX-512: 16). */
#define SIMD_SPRING_ALIGN 16u
/* Floats per node record and per force record. */
#define SIMD_NODE_FLOATS 8u
#define SIMD_FORCE_FLOATS 4u

typedef struct SimdNet {
    uint32_t n_nodes, n_bodies;   /* nodes [0, n_bodies) may move; anchors after */
    uint32_t n_springs;           /* real springs */
    uint32_t n_springs_padded;    /* multiple of SIMD_SPRING_ALIGN */
    uint32_t n_microphones;
    float dt;

    uint32_t *perm;               /* private node -> engine node */
    uint32_t *inv_perm;           /* engine node -> private node */
    uint32_t *spring_orig;        /* private spring -> engine spring (real ones) */

    float *node;                  /* n_nodes × 8: u, 0, v, 0 */
    float *force;                 /* 2 × n_springs_padded records × 4 */

    /* Springs (private order), n_springs_padded each. Endpoints are float
     * offsets into node[]. */
    uint32_t *p_off, *q_off;
    float *d0x, *d0y, *d0z, *k, *c, *rest, *l0, *l0sq, *preload;

    /* Phase 2 visits the bodies in its own order, j = 0 .. n_bodies - 1:
     * first the plain bodies (j < n_plain: no mallet, nonzero inverse
     * mass), which take a short loop with no per-body branch, then the
     * others; each part grouped by degree (so the gather loop's trip count
     * repeats: measured 25-30 % of a step on random networks), in node
     * order within a degree. Arrays below are indexed by j. */
    uint32_t n_plain;
    uint32_t *order;              /* n_bodies: j -> private node */
    uint32_t *incidence_begin;    /* n_bodies + 1: the j-th body's incidences */
    uint32_t *incidence_off;      /* float offsets into force[], body by body,
                                   * each body's in CSR order */
    uint32_t *degree_run_end;     /* n_bodies: end of j's group of equal degree
                                   * (never crossing n_plain) */
    float *inv_mass, *drag;
    uint32_t *mallet_begin;       /* n_bodies + 1, into mallet_list */
    uint32_t *mallet_list;        /* engine mallet indices */

    /* Mallets and microphones: the engine's arrays; mic_node in private
     * numbering. */
    const SprungCompiled *compiled;
    uint32_t *mic_node;
    float *pulse_amplitude;       /* the engine's host state (not permuted) */
    uint32_t *pulse_step;
} SimdNet;

/* One instruction set's kernels. springs(): phase 1 for private springs
 * [first, end) (multiples of the kernel's lanes); nodes(): phase 2 for
 * bodies [first, end) of phase 2's order. */
typedef struct SimdKernels {
    const char *name;             /* "avx512", "avx2", "sse2", "portable" */
    uint32_t lanes;
    void (*springs)(const SimdNet *net, uint32_t first, uint32_t end);
    void (*nodes)(const SimdNet *net, uint32_t first, uint32_t end);
} SimdKernels;

/* The x86 kernels exist when the build compiled them (backend.cmake). */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(SPRUNG_SIMD_PORTABLE_ONLY)
#  define SIMD_HAVE_X86 1
#endif

extern const SimdKernels sprung_simd_portable;
#ifdef SIMD_HAVE_X86
extern const SimdKernels sprung_simd_sse2;
extern const SimdKernels sprung_simd_avx2;
extern const SimdKernels sprung_simd_avx512;
#endif

#endif
