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
 *   spring s (its force on p) at record simd_force_slot(s), -F (on q,
 *   exactly sign × F) at record n_springs_padded + simd_force_slot(s): s
 *   itself but for the order within each vector of springs (below). Phase
 *   1 writes both contiguously, whole vectors at a time; phase 2 adds a
 *   body's records through its list of incidences, in the reference's CSR
 *   order. Measured against scattering them to per-body slots that phase
 *   2 reads contiguously: phase 1 takes 14 % less time (its stores were
 *   its bottleneck), the whole step 9 % less on a mesh and 3 % more on a
 *   random network of degree 10 (docs/benchmarks.md). No atomics, no
 *   conflicts: every record has exactly one writer.
 * The arithmetic of every lane is that of kernel/sprung_step.h, operation
 * for operation, so results are bit-identical to the reference. */
#ifndef SPRUNG_BACKEND_SIMD_INTERNAL_H
#define SPRUNG_BACKEND_SIMD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/compiled.h"
#include "kernel/sprung_step.h"
#include "sprung/status.h"

/* Springs are padded to a multiple of the widest vector (AVX-512: 16). */
#define SIMD_SPRING_ALIGN 16u
/* Floats per node record and per force record. */
#define SIMD_NODE_FLOATS 8u
#define SIMD_FORCE_FLOATS 4u

/* Spring constants in a layout's private spring order, structure of arrays
 * (kernel/sprung_step.h's meaning). Padding springs are all zero. */
typedef struct SimdSpringConstants {
    float *d0x, *d0y, *d0z, *k, *c, *rest, *l0, *l0sq, *preload;
} SimdSpringConstants;

typedef struct SimdNet {
    uint32_t n_nodes, n_bodies;   /* nodes [0, n_bodies) may move; anchors after */
    uint32_t n_springs;           /* real springs */
    uint32_t n_springs_padded;    /* multiple of SIMD_SPRING_ALIGN */
    uint32_t n_microphones;
    uint32_t lanes;               /* of the kernels that step it: simd_force_slot */
    float dt;

    uint32_t *perm;               /* private node -> engine node */
    uint32_t *inv_perm;           /* engine node -> private node */
    uint32_t *spring_orig;        /* private spring -> engine spring (real ones) */

    float *node;                  /* n_nodes × 8: u, 0, v, 0 */
    float *force;                 /* 2 × n_springs_padded records × 4 */

    /* Springs (private order), n_springs_padded each. Endpoints are float
     * offsets into node[]. */
    uint32_t *p_off, *q_off;
    SimdSpringConstants spring;

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

    /* Mallets and microphones: the engine's arrays; mic_value_off: where
     * microphone m reads, a float offset into node[] (its node's u, or v
     * for a velocity microphone: no branch per microphone in the mix). */
    const SprungCompiled *compiled;
    uint32_t *mic_value_off;
    float *pulse_amplitude;       /* the engine's host state (not permuted) */
    uint32_t *pulse_step;

    /* What modulation rewrites (a model whose only feature is modulation
     * may have this layout), refreshed before each block
     * (simd_records_refresh): springs (private and engine index), bodies
     * (phase-2 index j and engine node; never plain, so a mass may reach
     * any value), anchors (engine node, which is also the private one). */
    uint32_t n_modulated_springs, n_modulated_bodies, n_modulated_anchors;
    uint32_t *modulated_private, *modulated_spring;
    uint32_t *modulated_j, *modulated_body;
    uint32_t *modulated_anchor;
} SimdNet;

/* The lattice layout: the engine's own state arrays, stepped in place
 * (engine node order, structure of arrays), with springs and bodies
 * arranged so that most vectors load and store W consecutive floats:
 * - springs sorted by their offset q - p, then by p, so each family of
 *   equal offset walks the nodes in order; a gap of at most
 *   SIMD_LATTICE_MAX_GAP missing springs inside a family is filled with
 *   inert springs (k = c = 0, never read), so a grid's rows join up; each
 *   family's unbroken stretches are cut into whole vectors, which go first
 *   (springs [0, n_run_springs): u and v of p and of q are four unaligned
 *   vector loads per component), and the leftovers after them, gathered
 *   by index;
 * - forces as three arrays fx, fy, fz by private spring (the force on p;
 *   q's is its negation, taken in phase 2 by the incidence's sign);
 * - phase 2 on vectors of W plain bodies (nonzero inverse mass, nothing
 *   but springs, drag and mallets) in node order: slot k of a vector holds
 *   each lane's k-th incidence in its CSR order (the reference's order of
 *   summation), padded with a spring whose force is always +0 (adding +0
 *   to a sum that starts at +0 changes no bit). A slot whose springs are consecutive except in at
 *   most SIMD_LATTICE_MAX_PATCH lanes is one vector load from its base,
 *   those lanes patched from single loads (a grid's rows end in anchors);
 *   other slots are gathered. A vector whose bodies are consecutive loads
 *   and stores them whole, others gather and scatter lane by lane. A
 *   mallet's running pulses are added to its body's lane after the drag,
 *   and then an exciter's force (oscillator, pluck, bow, audio input) and
 *   a collision's, as the reference adds them (+0 in the other lanes
 *   changes no bit: a force is never -0), so a struck, plucked, bowed or
 *   colliding body does not break its vector;
 * - the other bodies ("special": zero inverse mass, and in a
 *   feature model a constant force, a force microphone, or a
 *   modulated mass or drag) and the microphones run the
 *   kernel's own functions on kernel views whose spring forces are the
 *   private arrays; so do a feature model's exciters, collisions and delay
 *   lines (backend/feature_step.h), which is why every feature model gets
 *   this layout;
 * - springs a modulation route rewrites have their private constants
 *   refreshed from the current views before each block (simd_lattice_refresh).
 * Every lane does the reference's operations in its order: bit-identical. */
#define SIMD_LATTICE_MAX_GAP 3u
#define SIMD_LATTICE_MAX_PATCH 2u
/* slot_flags: how phase 2 loads a slot, the lanes to patch (bit j: lane j)
 * or SIMD_LATTICE_GATHER, and how it applies the slot's signs: it adds
 * when every lane's is +1, subtracts (SIMD_LATTICE_NEGATE) when every
 * lane's is -1, and multiplies by slot_sign (SIMD_LATTICE_MIXED_SIGNS)
 * otherwise. a - g is a + (-1 × g) bit for bit, and saves the multiply
 * (most slots of a grid have one sign: the mesh-20x30 render 3-6 %
 * faster, docs/benchmarks.md). */
#define SIMD_LATTICE_GATHER 0x80000000u
#define SIMD_LATTICE_MIXED_SIGNS 0x40000000u
#define SIMD_LATTICE_NEGATE 0x20000000u
/* The lanes to patch (the widest vector has 16), and every bit that
 * takes a slot off the plain vector load. */
#define SIMD_LATTICE_PATCH_LANES 0xffffu
#define SIMD_LATTICE_LOAD_BITS (SIMD_LATTICE_GATHER | SIMD_LATTICE_PATCH_LANES)
/* Floats before and after fx, fy, fz that a slot's base load may touch
 * (never used: those lanes are patched); the widest vector. */
#define SIMD_LATTICE_GUARD 16u

typedef struct SimdLattice {
    uint32_t lanes;               /* W of the kernels this was laid out for */
    uint32_t n_springs;           /* private springs: runs, leftovers, padding */
    uint32_t n_run_springs;       /* a multiple of lanes */
    uint32_t n_body_vectors;
    uint32_t n_special;
    uint32_t zero_spring;         /* a padding spring: its force is always +0 */
    float dt;

    /* The engine's state (SprungState), stepped in place. */
    float *ux, *uy, *uz, *vx, *vy, *vz;
    /* Phase 1's output, by private spring. */
    float *fx, *fy, *fz;

    /* Springs, n_springs each: endpoints (node indices), the engine spring
     * (UINT32_MAX for fillers and padding), constants. */
    uint32_t *p, *q;
    uint32_t *spring_orig;
    SimdSpringConstants spring;

    /* Phase 2's body vectors, lanes entries per vector (a partial last
     * vector repeats its last body: the lane computes and stores the same
     * bits twice); vector_whole: its bodies are consecutive. Slots: vector
     * v's are [slot_begin[v], slot_begin[v+1]), each with lanes springs and
     * lanes signs, the base of its vector load (lane j: base + j) and its
     * flags (the lanes to patch, how its signs apply). */
    uint32_t *vector_node;
    uint8_t *vector_whole;
    uint32_t *slot_begin;
    uint32_t *slot_spring;
    float *slot_sign;
    int32_t *slot_base;
    uint32_t *slot_flags;
    float *vector_inv_mass, *vector_drag;
    /* The mallets on vector v's bodies, entries [mallet_begin[v],
     * mallet_begin[v + 1]): the mallet and its body's lane, lane by lane
     * and each body's in its mallet (CSR) order. */
    uint32_t *mallet_begin;
    uint32_t *mallet_index;
    uint8_t *mallet_lane;
    /* Likewise the exciters on vector v's bodies, [exciter_begin[v],
     * exciter_begin[v + 1]), in each body's exciter (CSR) order, and their
     * collisions, by their entry in the body's collision list (CSR:
     * node_collision and node_collision_sign). */
    uint32_t *exciter_begin;
    uint32_t *exciter_index;
    uint8_t *exciter_lane;
    uint32_t *collision_begin;
    uint32_t *collision_entry;
    uint8_t *collision_lane;
    uint32_t *special_node;

    /* Kernel views for the special bodies and the microphones: the
     * engine's (or a voice's, simd_lattice_set_views), with incidence_spring
     * mapped to private springs and the spring forces pointing at fx, fy,
     * fz; and the feature views. */
    uint32_t *incidence_spring;
    SprungStepModel model;
    SprungStepState view;
    SprungFeatureModel feature_model;
    SprungFeatureState feature_view;

    /* Springs whose constants modulation rewrites: private index and engine
     * index, n_modulated each. */
    uint32_t n_modulated;
    uint32_t *modulated_private, *modulated_spring;
} SimdLattice;

/* One instruction set's kernels. springs(): phase 1 for private springs
 * [first, end) (multiples of the kernel's lanes); nodes(): phase 2 for
 * bodies [first, end) of phase 2's order. lattice_springs(): the same for
 * the lattice layout; lattice_bodies(): phase 2 for body vectors
 * [first, end). */
typedef struct SimdKernels {
    const char *name;             /* "avx512", "avx2", "sse2", "portable", ... */
    uint32_t lanes;
    int named_only;               /* a check, not a device: only SPRUNG_SIMD_ISA picks it */
    void (*springs)(const SimdNet *net, uint32_t first, uint32_t end);
    void (*nodes)(const SimdNet *net, uint32_t first, uint32_t end);
    void (*lattice_springs)(const SimdLattice *lattice, uint32_t first, uint32_t end);
    void (*lattice_bodies)(const SimdLattice *lattice, uint32_t first, uint32_t end);
} SimdKernels;

/* ---- the layouts' construction (control thread) and scalar parts ---- */

/* One allocation carved into 64-byte aligned arrays: a first pass with a
 * NULL base sizes it, a second hands out the pieces. */
typedef struct SimdCarver {
    char *base;
    size_t size;
} SimdCarver;

static inline void *simd_carve(SimdCarver *carver, size_t count, size_t element_size)
{
    size_t offset = (carver->size + 63) / 64 * 64;
    carver->size = offset + (count ? count : 1) * element_size;
    return carver->base ? carver->base + offset : NULL;
}
#define SIMD_CARVE(carver, field, count) ((field) = simd_carve((carver), (count), sizeof *(field)))

static inline void simd_carve_spring_constants(SimdCarver *carver, SimdSpringConstants *spring,
                                               size_t count)
{
    SIMD_CARVE(carver, spring->d0x, count);
    SIMD_CARVE(carver, spring->d0y, count);
    SIMD_CARVE(carver, spring->d0z, count);
    SIMD_CARVE(carver, spring->k, count);
    SIMD_CARVE(carver, spring->c, count);
    SIMD_CARVE(carver, spring->rest, count);
    SIMD_CARVE(carver, spring->l0, count);
    SIMD_CARVE(carver, spring->l0sq, count);
    SIMD_CARVE(carver, spring->preload, count);
}

/* Private spring ps takes the constants of engine spring s from the kernel
 * view `m` (the compiled model's, or a voice's own arrays). */
static inline void simd_copy_spring_constants(SimdSpringConstants *to, uint32_t ps,
                                              const SprungStepModel *m, uint32_t s)
{
    to->d0x[ps] = m->spring_d0_x[s];
    to->d0y[ps] = m->spring_d0_y[s];
    to->d0z[ps] = m->spring_d0_z[s];
    to->k[ps] = m->spring_stiffness[s];
    to->c[ps] = m->spring_damping[s];
    to->rest[ps] = m->spring_rest_length[s];
    to->l0[ps] = m->spring_length0[s];
    to->l0sq[ps] = m->spring_length0_sq[s];
    to->preload[ps] = m->spring_preload[s];
}

/* The record of private spring s among the +F records (and, past
 * n_springs_padded, the -F ones). The kernels turn W lanes of fx, fy, fz
 * into records by a 4 × W/4 transpose, which leaves the records of springs
 * j, j + 4, j + 8, ... of a vector side by side in register j (j < 4): so
 * spring j + 4L of the vector lies at its slot j W/4 + L, where one
 * whole-register store puts it, with no lane shuffle to put the records
 * back in spring order (AVX2 saves four per vector, AVX-512 eight;
 * docs/benchmarks.md). At W <= 4 the transpose leaves that order: slot s. */
static inline uint32_t simd_force_slot(const SimdNet *net, uint32_t s)
{
    uint32_t w = net->lanes;
    if (w <= 4)
        return s;
    uint32_t lane = s % w;
    return s - lane + lane % 4 * (w / 4) + lane / 4;
}

/* simd_records.c: the record layout, for kernels of `lanes` lanes. build
 * allocates *block (free() it). */
SprungStatus simd_records_build(SimdNet *net, const SprungCompiled *compiled, uint32_t lanes,
                                SprungState *state, void **block, SprungError *error);
void simd_records_upload(SimdNet *net, const SprungState *state);
void simd_records_sync(const SimdNet *net, SprungState *state);
void simd_records_mix(const SimdNet *net, float *left, float *right);
/* The constants and anchors modulation rewrote, from the compiled arrays
 * and the host state (audio thread); and every microphone's gain × signal
 * into state->mic_value, as the kernel's feature mix leaves it (with
 * sync). */
void simd_records_refresh(SimdNet *net, const SprungState *state);
void simd_records_mic_values(const SimdNet *net, SprungState *state);

/* How well a model suits the lattice layout, from its build: the share
 * of its springs that run in whole vectors (phase 1), and the share of
 * phase 2's slot lanes that load from a whole vector, neither patched nor
 * gathered. simd_lattice_pays() is the rule that keeps the lattice for a
 * model without features on kernels of `lanes` lanes (simd_lattice.c has
 * the measurements). */
typedef struct SimdLatticeFit {
    float run_springs;
    float whole_slot_lanes;
} SimdLatticeFit;
int simd_lattice_pays(SimdLatticeFit fit, uint32_t lanes);

/* simd_lattice.c: the lattice layout for kernels of `lanes` lanes. build
 * allocates *block (free() it) and reports how well the model fits;
 * special() steps special bodies [first, end), with
 * sprung_node_integrate_features when `features`; refresh() copies the
 * modulated springs' constants from the views; set_views() steps with a
 * voice's views from now on. */
SprungStatus simd_lattice_build(SimdLattice *lattice, const SprungCompiled *compiled,
                                SprungState *state, uint32_t lanes, void **block,
                                SimdLatticeFit *fit, SprungError *error);
void simd_lattice_upload(SimdLattice *lattice, const SprungState *state);
void simd_lattice_sync(const SimdLattice *lattice, SprungState *state);
void simd_lattice_special(const SimdLattice *lattice, uint32_t first, uint32_t end,
                          int features);
void simd_lattice_refresh(SimdLattice *lattice);
void simd_lattice_set_views(SimdLattice *lattice, const SprungStepModel *model,
                            const SprungFeatureModel *feature_model);
void simd_lattice_mix(const SimdLattice *lattice, float *left, float *right);

/* The x86 kernels exist when the build compiled them (backend.cmake). */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(SPRUNG_SIMD_PORTABLE_ONLY)
#  define SIMD_HAVE_X86 1
#endif

/* The instruction sets this CPU runs, best first, without the checks that
 * only SPRUNG_SIMD_ISA names (bench/simd_phases times each). */
uint32_t simd_kernels_on_this_cpu(const SimdKernels **out, uint32_t capacity);

extern const SimdKernels sprung_simd_portable;
#ifdef SIMD_HAVE_X86
extern const SimdKernels sprung_simd_sse2;
extern const SimdKernels sprung_simd_avx2;
extern const SimdKernels sprung_simd_avx512;
extern const SimdKernels sprung_simd_avx512_emulated;
#endif

#endif
