/* The SIMD backend's lattice layout (SimdLattice in simd_internal.h): how it
 * is built from a compiled model, how its private spring forces meet the
 * engine's state, and the parts of a step that are not vector kernels (the
 * special bodies and the microphones, run by the kernel's own functions).
 *
 * Threading: simd_lattice_build on the control thread (it allocates);
 * upload/sync on the control thread; special/mix on the audio thread and
 * pool workers, never allocating. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/simd/simd_internal.h"
#include "kernel/sprung_step.h"

#define NO_SPRING UINT32_MAX

/* A spring's place in the sort: by offset q - p, then p, then index. */
typedef struct SpringKey {
    int64_t offset;
    uint32_t p, s;
} SpringKey;

static int spring_key_compare(const void *a, const void *b)
{
    const SpringKey *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return x->s < y->s ? -1 : x->s > y->s;
}

/* Part of the private spring order before padding (the runs, or the
 * leftovers): engine springs, or NO_SPRING for an inert filler, and their
 * endpoints. */
typedef struct SpringPlan {
    uint32_t *spring;  /* engine spring or NO_SPRING */
    uint32_t *p, *q;   /* endpoints */
    uint32_t n_total;
} SpringPlan;

static void plan_add(SpringPlan *plan, uint32_t spring, uint32_t p, int64_t offset)
{
    plan->spring[plan->n_total] = spring;
    plan->p[plan->n_total] = p;
    plan->q[plan->n_total] = (uint32_t)((int64_t)p + offset);
    ++plan->n_total;
}

/* Walks the sorted springs family by family; within a family, an unbroken
 * stretch (p rising by one, gaps of up to SIMD_LATTICE_MAX_GAP filled) is
 * cut into whole vectors of `lanes` (into `runs`), its tail left over (into
 * `leftovers`, without fillers). Each plan has room for n_springs ×
 * (SIMD_LATTICE_MAX_GAP + 1) entries. */
static void plan_springs(const SprungCompiled *c, const SpringKey *sorted, uint32_t lanes,
                         SpringPlan *runs, SpringPlan *leftovers)
{
    uint32_t n = c->n_springs;
    runs->n_total = leftovers->n_total = 0;
    uint32_t first = 0;
    while (first < n) {
        uint32_t end = first + 1;
        while (end < n && sorted[end].offset == sorted[first].offset &&
               sorted[end].p > sorted[end - 1].p &&
               sorted[end].p - sorted[end - 1].p <= SIMD_LATTICE_MAX_GAP + 1)
            ++end;
        /* Positions [0, whole) of the stretch make whole vectors. */
        uint32_t base = sorted[first].p;
        uint32_t whole = (sorted[end - 1].p - base + 1) / lanes * lanes;
        int64_t offset = sorted[first].offset;
        uint32_t next = 0;
        for (uint32_t k = first; k < end; ++k) {
            uint32_t at = sorted[k].p - base;
            for (; next < at && next < whole; ++next)
                plan_add(runs, NO_SPRING, base + next, offset);
            plan_add(at < whole ? runs : leftovers, sorted[k].s, sorted[k].p, offset);
            next = at + 1;
        }
        first = end;
    }
}

/* How many of the lattice's lists a model needs. */
typedef struct LatticeCounts {
    uint32_t slots, mallets, exciters, collisions;
} LatticeCounts;

static void lattice_carve(SimdLattice *l, const SprungCompiled *c, LatticeCounts n,
                          SimdCarver *carver)
{
    size_t springs = l->n_springs, lanes = (size_t)l->n_body_vectors * l->lanes;
    size_t guarded = springs + 2 * SIMD_LATTICE_GUARD;
    SIMD_CARVE(carver, l->fx, guarded);
    SIMD_CARVE(carver, l->fy, guarded);
    SIMD_CARVE(carver, l->fz, guarded);
    if (carver->base) {
        l->fx += SIMD_LATTICE_GUARD;
        l->fy += SIMD_LATTICE_GUARD;
        l->fz += SIMD_LATTICE_GUARD;
    }
    SIMD_CARVE(carver, l->p, springs);
    SIMD_CARVE(carver, l->q, springs);
    SIMD_CARVE(carver, l->spring_orig, springs);
    simd_carve_spring_constants(carver, &l->spring, springs);
    SIMD_CARVE(carver, l->vector_node, lanes);
    SIMD_CARVE(carver, l->vector_whole, l->n_body_vectors);
    SIMD_CARVE(carver, l->slot_begin, l->n_body_vectors + 1);
    SIMD_CARVE(carver, l->slot_spring, (size_t)n.slots * l->lanes);
    SIMD_CARVE(carver, l->slot_sign, (size_t)n.slots * l->lanes);
    SIMD_CARVE(carver, l->slot_base, n.slots);
    SIMD_CARVE(carver, l->slot_flags, n.slots);
    SIMD_CARVE(carver, l->vector_inv_mass, lanes);
    SIMD_CARVE(carver, l->vector_drag, lanes);
    SIMD_CARVE(carver, l->mallet_begin, l->n_body_vectors + 1);
    SIMD_CARVE(carver, l->mallet_index, n.mallets);
    SIMD_CARVE(carver, l->mallet_lane, n.mallets);
    SIMD_CARVE(carver, l->exciter_begin, l->n_body_vectors + 1);
    SIMD_CARVE(carver, l->exciter_index, n.exciters);
    SIMD_CARVE(carver, l->exciter_lane, n.exciters);
    SIMD_CARVE(carver, l->collision_begin, l->n_body_vectors + 1);
    SIMD_CARVE(carver, l->collision_entry, n.collisions);
    SIMD_CARVE(carver, l->collision_lane, n.collisions);
    SIMD_CARVE(carver, l->special_node, l->n_special);
    SIMD_CARVE(carver, l->incidence_spring, c->incidence_offset[c->n_nodes]);
    SIMD_CARVE(carver, l->modulated_private, l->n_modulated);
    SIMD_CARVE(carver, l->modulated_spring, l->n_modulated);
}

/* Marks in `special` (n_nodes) the nodes phase 2's vectors leave to the
 * kernel's own function: anchors, and whatever of a feature model a plain
 * body's vector does not add (a constant force, which comes before the
 * exciters), store (the net force a force microphone hears) or reread (a
 * mass or drag that modulation rewrites). The vector's missing additions
 * of +0 change no bit: a force sum that starts at +0 is never -0 under
 * round-to-nearest. Mallets, exciters and collisions stay in the vectors
 * (lattice_pulses, lattice_exciters, lattice_collisions). */
static void mark_special(const SprungCompiled *c, uint8_t *special)
{
    for (uint32_t i = 0; i < c->n_nodes; ++i)
        special[i] = c->inv_mass[i] == 0.0f || c->node_force_x[i] != 0.0f ||
                     c->node_force_y[i] != 0.0f || c->node_force_z[i] != 0.0f ||
                     c->node_modulated[i];
    for (uint32_t mic = 0; mic < c->n_microphones; ++mic)
        if (c->mic_signal[mic] == SPRUNG_KERNEL_MIC_FORCE)
            special[c->mic_node[mic]] = 1;
}

static uint32_t degree(const SprungCompiled *c, uint32_t i)
{
    return c->incidence_offset[i + 1] - c->incidence_offset[i];
}

static uint32_t mallet_count(const SprungCompiled *c, uint32_t i)
{
    return c->node_mallet_offset[i + 1] - c->node_mallet_offset[i];
}

static uint32_t exciter_count(const SprungCompiled *c, uint32_t i)
{
    return c->node_exciter_offset[i + 1] - c->node_exciter_offset[i];
}

static uint32_t collision_count(const SprungCompiled *c, uint32_t i)
{
    return c->node_collision_offset[i + 1] - c->node_collision_offset[i];
}

/* Private springs: runs, leftovers, then padding (all zero, both ends on
 * node 0: its force is always exactly +0; the first is the zero spring).
 * Constants from l->model. */
static void fill_springs(SimdLattice *l, const SpringPlan *runs,
                         const SpringPlan *leftovers, uint32_t *spring_new)
{
    for (uint32_t ps = 0; ps < l->n_springs; ++ps) {
        const SpringPlan *from = ps < runs->n_total ? runs : leftovers;
        uint32_t at = ps < runs->n_total ? ps : ps - runs->n_total;
        if (ps >= runs->n_total + leftovers->n_total) {
            l->spring_orig[ps] = NO_SPRING;
            continue;
        }
        uint32_t s = from->spring[at];
        l->p[ps] = from->p[at];
        l->q[ps] = from->q[at];
        l->spring_orig[ps] = s;
        if (s == NO_SPRING)
            continue; /* an inert filler: k = c = 0, its force never read */
        spring_new[s] = ps;
        simd_copy_spring_constants(&l->spring, ps, &l->model, s);
    }
}

/* How phase 2 loads a slot's springs (lane j: spring[j]): from the base
 * most lanes agree on (spring[j] - j), patching the others, or, with more
 * than SIMD_LATTICE_MAX_PATCH others, by a gather; and how it applies
 * their signs (SIMD_LATTICE_NEGATE, SIMD_LATTICE_MIXED_SIGNS). */
static void plan_slot(const uint32_t *spring, const float *sign, uint32_t lanes, int32_t *base,
                      uint32_t *flags)
{
    uint32_t best_votes = 0;
    for (uint32_t j = 0; j < lanes; ++j) {
        int32_t candidate = (int32_t)spring[j] - (int32_t)j;
        uint32_t votes = 0;
        for (uint32_t i = 0; i < lanes; ++i)
            votes += (int32_t)spring[i] - (int32_t)i == candidate;
        if (votes > best_votes) {
            best_votes = votes;
            *base = candidate;
        }
    }
    *flags = 0;
    for (uint32_t j = 0; j < lanes; ++j)
        if ((int32_t)spring[j] - (int32_t)j != *base)
            *flags |= 1u << j;
    if (lanes - best_votes > SIMD_LATTICE_MAX_PATCH)
        *flags = SIMD_LATTICE_GATHER;

    uint32_t negative = 0;
    for (uint32_t j = 0; j < lanes; ++j)
        negative += sign[j] < 0.0f;
    if (negative == lanes)
        *flags |= SIMD_LATTICE_NEGATE;
    else if (negative > 0)
        *flags |= SIMD_LATTICE_MIXED_SIGNS;
}

/* Phase 2's vectors of plain bodies (`plain`, in node order) and their
 * slots, then the special bodies. */
static void fill_bodies(SimdLattice *l, const SprungCompiled *c, const uint32_t *plain,
                        uint32_t n_plain, const uint8_t *special)
{
    uint32_t lanes = l->lanes, slot = 0, mallets = 0, exciters = 0, collisions = 0;
    for (uint32_t v = 0; v < l->n_body_vectors; ++v) {
        uint32_t *node = l->vector_node + (size_t)v * lanes;
        uint32_t slots = 0;
        l->vector_whole[v] = 1;
        l->mallet_begin[v] = mallets;
        l->exciter_begin[v] = exciters;
        l->collision_begin[v] = collisions;
        for (uint32_t j = 0; j < lanes; ++j) {
            int padding = v * lanes + j >= n_plain; /* repeats the last body */
            node[j] = plain[padding ? n_plain - 1 : v * lanes + j];
            for (uint32_t e = c->node_mallet_offset[node[j]];
                 !padding && e < c->node_mallet_offset[node[j] + 1]; ++e, ++mallets) {
                l->mallet_index[mallets] = c->node_mallet[e];
                l->mallet_lane[mallets] = (uint8_t)j;
            }
            for (uint32_t e = c->node_exciter_offset[node[j]];
                 !padding && e < c->node_exciter_offset[node[j] + 1]; ++e, ++exciters) {
                l->exciter_index[exciters] = c->node_exciter[e];
                l->exciter_lane[exciters] = (uint8_t)j;
            }
            for (uint32_t e = c->node_collision_offset[node[j]];
                 !padding && e < c->node_collision_offset[node[j] + 1]; ++e, ++collisions) {
                l->collision_entry[collisions] = e;
                l->collision_lane[collisions] = (uint8_t)j;
            }
            l->vector_inv_mass[(size_t)v * lanes + j] = c->inv_mass[node[j]];
            l->vector_drag[(size_t)v * lanes + j] = c->drag[node[j]];
            slots = degree(c, node[j]) > slots ? degree(c, node[j]) : slots;
            if (node[j] != node[0] + j)
                l->vector_whole[v] = 0;
        }
        l->slot_begin[v] = slot;
        for (uint32_t k = 0; k < slots; ++k, ++slot) {
            uint32_t *spring = l->slot_spring + (size_t)slot * lanes;
            float *sign = l->slot_sign + (size_t)slot * lanes;
            for (uint32_t j = 0; j < lanes; ++j) {
                uint32_t e = c->incidence_offset[node[j]] + k;
                int has = k < degree(c, node[j]);
                spring[j] = has ? l->incidence_spring[e] : l->zero_spring;
                sign[j] = has ? c->incidence_sign[e] : 1.0f;
            }
            plan_slot(spring, sign, lanes, &l->slot_base[slot], &l->slot_flags[slot]);
        }
    }
    l->slot_begin[l->n_body_vectors] = slot;
    l->mallet_begin[l->n_body_vectors] = mallets;
    l->exciter_begin[l->n_body_vectors] = exciters;
    l->collision_begin[l->n_body_vectors] = collisions;
    uint32_t n_special = 0;
    for (uint32_t i = 0; i < c->n_bodies; ++i)
        if (special[i])
            l->special_node[n_special++] = i;
}

/* The lattice against the records. Eight lanes (AVX2; render time of
 * each layout forced, Zen 3, docs/benchmarks.md): it wins where nearly
 * every slot lane loads whole (mesh-20x30 0.96: 0.81x the records' time;
 * strings of 8 to 100 bodies 0.88-0.98: 0.81-0.94x) and loses below
 * (meshes 5 bodies wide 0.85: 1.06x; gong 0.63: 1.24x; marimba 0.11:
 * 1.5x), whatever the share of springs in runs (0.63-0.80 on the losers).
 * Sixteen lanes (AVX-512; both phases' time from bench/simd_phases,
 * Sapphire Rapids): the records' transposes cost more there, and the
 * lattice wins from meshes 7 bodies wide (0.71: 0.86x; string.json 0.87:
 * 0.78x; mesh 12 x 16 0.86: 0.75x), ties at 6 wide (0.54) and loses at 5
 * (0.44: 1.06x). Four lanes (SSE2, same machine): it gains at most 4 %
 * (meshes of 256 bodies and more) and loses up to 17 % (string.json,
 * meshes 6 to 12 wide), so SSE2 keeps the records. */
#define SIMD_LATTICE_MIN_RUN_SPRINGS 0.5f
#define SIMD_LATTICE_MIN_LANES 8u
#define SIMD_LATTICE_MIN_WHOLE_SLOT_LANES_8 0.875f
#define SIMD_LATTICE_MIN_WHOLE_SLOT_LANES_16 0.6f

int simd_lattice_pays(SimdLatticeFit fit, uint32_t lanes)
{
    if (lanes < SIMD_LATTICE_MIN_LANES || fit.run_springs < SIMD_LATTICE_MIN_RUN_SPRINGS)
        return 0;
    return fit.whole_slot_lanes >= (lanes >= 16 ? SIMD_LATTICE_MIN_WHOLE_SLOT_LANES_16
                                                : SIMD_LATTICE_MIN_WHOLE_SLOT_LANES_8);
}

static SimdLatticeFit lattice_fit(const SimdLattice *l, uint32_t n_springs)
{
    uint32_t in_runs = 0, slots = l->slot_begin[l->n_body_vectors], whole_lanes = 0;
    for (uint32_t ps = 0; ps < l->n_run_springs; ++ps)
        in_runs += l->spring_orig[ps] != NO_SPRING;
    for (uint32_t e = 0; e < slots; ++e) {
        uint32_t flags = l->slot_flags[e];
        uint32_t patched = (uint32_t)__builtin_popcount(flags & SIMD_LATTICE_PATCH_LANES);
        if (!(flags & SIMD_LATTICE_GATHER))
            whole_lanes += l->lanes - patched;
    }
    return (SimdLatticeFit){
        .run_springs = n_springs ? (float)in_runs / (float)n_springs : 0.0f,
        .whole_slot_lanes = slots ? (float)whole_lanes / (float)(slots * l->lanes) : 1.0f,
    };
}

SprungStatus simd_lattice_build(SimdLattice *l, const SprungCompiled *c, SprungState *state,
                                uint32_t lanes, void **block, SimdLatticeFit *fit,
                                SprungError *error)
{
    size_t n = c->n_springs, capacity = (n ? n : 1) * (SIMD_LATTICE_MAX_GAP + 1);
    SpringKey *sorted = malloc((n ? n : 1) * sizeof *sorted);
    uint32_t *scratch = malloc((6 * capacity + n + c->n_bodies + 1) * sizeof *scratch);
    uint8_t *special = malloc(c->n_nodes ? c->n_nodes : 1);
    *block = NULL;
    if (!sorted || !scratch || !special) {
        free(sorted);
        free(scratch);
        free(special);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, "simd backend", 0, 0, NULL,
                                "out of memory laying out %u springs", c->n_springs);
    }
    for (uint32_t s = 0; s < n; ++s)
        sorted[s] = (SpringKey){(int64_t)c->spring_q[s] - c->spring_p[s], c->spring_p[s], s};
    qsort(sorted, n, sizeof *sorted, spring_key_compare);
    SpringPlan runs = {scratch, scratch + capacity, scratch + 2 * capacity, 0};
    SpringPlan leftovers = {scratch + 3 * capacity, scratch + 4 * capacity,
                            scratch + 5 * capacity, 0};
    plan_springs(c, sorted, lanes, &runs, &leftovers);
    free(sorted);
    uint32_t *spring_new = scratch + 6 * capacity; /* engine spring -> private */
    uint32_t *plain = spring_new + n;              /* plain bodies, node order */

    mark_special(c, special);
    uint32_t n_plain = 0, n_modulated = 0;
    LatticeCounts counts = {0, 0, 0, 0};
    for (uint32_t i = 0; i < c->n_bodies; ++i)
        if (!special[i]) {
            plain[n_plain++] = i;
            counts.mallets += mallet_count(c, i);
            counts.exciters += exciter_count(c, i);
            counts.collisions += collision_count(c, i);
        }
    for (uint32_t s = 0; s < n; ++s)
        n_modulated += c->spring_modulated[s];
    *l = (SimdLattice){
        .lanes = lanes,
        .n_springs = (runs.n_total + leftovers.n_total + 1 + SIMD_SPRING_ALIGN - 1) /
                     SIMD_SPRING_ALIGN * SIMD_SPRING_ALIGN,
        .n_run_springs = runs.n_total,
        .n_body_vectors = (n_plain + lanes - 1) / lanes,
        .n_special = c->n_bodies - n_plain,
        .zero_spring = runs.n_total + leftovers.n_total,
        .dt = (float)c->dt,
        .n_modulated = n_modulated,
    };
    for (uint32_t v = 0; v < l->n_body_vectors; ++v) {
        uint32_t slots = 0;
        for (uint32_t j = v * lanes; j < (v + 1) * lanes && j < n_plain; ++j)
            slots = degree(c, plain[j]) > slots ? degree(c, plain[j]) : slots;
        counts.slots += slots;
    }

    SimdCarver sizing = {NULL, 0};
    lattice_carve(l, c, counts, &sizing);
    *block = aligned_alloc(64, (sizing.size + 63) / 64 * 64);
    if (!*block) {
        free(scratch);
        free(special);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, "simd backend", 0, 0, NULL,
                                "out of memory laying out %u springs", c->n_springs);
    }
    memset(*block, 0, sizing.size);
    SimdCarver carving = {*block, 0};
    lattice_carve(l, c, counts, &carving);

    l->model = sprung_compiled_step_model(c);
    fill_springs(l, &runs, &leftovers, spring_new);
    for (uint32_t e = 0; e < c->incidence_offset[c->n_nodes]; ++e)
        l->incidence_spring[e] = spring_new[c->incidence_spring[e]];
    fill_bodies(l, c, plain, n_plain, special);
    for (uint32_t s = 0, k = 0; s < n; ++s) {
        if (!c->spring_modulated[s])
            continue;
        l->modulated_private[k] = spring_new[s];
        l->modulated_spring[k++] = s;
    }

    l->model.incidence_spring = l->incidence_spring;
    l->feature_model = sprung_compiled_feature_model(c);
    l->feature_view = sprung_state_feature_view(state);
    l->view = sprung_state_step_view(state);
    l->view.spring_force_x = l->fx;
    l->view.spring_force_y = l->fy;
    l->view.spring_force_z = l->fz;
    l->ux = state->ux;
    l->uy = state->uy;
    l->uz = state->uz;
    l->vx = state->vx;
    l->vy = state->vy;
    l->vz = state->vz;

    *fit = lattice_fit(l, c->n_springs);
    free(scratch);
    free(special);
    return SPRUNG_OK;
}

/* The host's per-spring forces into the private order, so that a sync
 * before any step is exact (the state itself is shared). */
void simd_lattice_upload(SimdLattice *l, const SprungState *state)
{
    for (uint32_t ps = 0; ps < l->n_springs; ++ps) {
        uint32_t s = l->spring_orig[ps];
        l->fx[ps] = s == NO_SPRING ? 0.0f : state->spring_force_x[s];
        l->fy[ps] = s == NO_SPRING ? 0.0f : state->spring_force_y[s];
        l->fz[ps] = s == NO_SPRING ? 0.0f : state->spring_force_z[s];
    }
}

void simd_lattice_sync(const SimdLattice *l, SprungState *state)
{
    for (uint32_t ps = 0; ps < l->n_springs; ++ps) {
        uint32_t s = l->spring_orig[ps];
        if (s == NO_SPRING)
            continue;
        state->spring_force_x[s] = l->fx[ps];
        state->spring_force_y[s] = l->fy[ps];
        state->spring_force_z[s] = l->fz[ps];
    }
}

void simd_lattice_special(const SimdLattice *l, uint32_t first, uint32_t end, int features)
{
    if (features) {
        for (uint32_t k = first; k < end; ++k)
            sprung_node_integrate_features(l->special_node[k], &l->model, &l->view,
                                           &l->feature_model, &l->feature_view);
        return;
    }
    for (uint32_t k = first; k < end; ++k)
        sprung_node_integrate(l->special_node[k], &l->model, &l->view);
}

/* Modulation rewrites the constants of its springs in the arrays the views
 * point at, between blocks; the vector kernels read private copies. */
void simd_lattice_refresh(SimdLattice *l)
{
    for (uint32_t k = 0; k < l->n_modulated; ++k)
        simd_copy_spring_constants(&l->spring, l->modulated_private[k], &l->model,
                                   l->modulated_spring[k]);
}

/* A voice's dt and per-voice arrays (kernel views, same shapes as the
 * compiled model's). Only modulated constants differ from the compiled
 * ones, so the private copies need no more than the next refresh. */
void simd_lattice_set_views(SimdLattice *l, const SprungStepModel *model,
                            const SprungFeatureModel *feature_model)
{
    l->model = *model;
    l->model.incidence_spring = l->incidence_spring;
    l->feature_model = *feature_model;
    l->dt = model->dt;
}

void simd_lattice_mix(const SimdLattice *l, float *left, float *right)
{
    sprung_microphones_mix(&l->model, &l->view, left, right);
}
