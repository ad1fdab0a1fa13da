/* The SIMD backend's record layout (SimdNet in simd_internal.h): its
 * construction from a compiled model (node order for locality, springs by
 * first endpoint, phase 2's order), the copies between it and the engine's
 * state, what modulation rewrote, and the microphone mix.
 *
 * Threading: build, upload and sync on the control thread (build
 * allocates), and the microphones' values with sync; refresh and mix on
 * the audio thread, no allocation. */
#include <stdlib.h>
#include <string.h>

#include "backend/simd/simd_internal.h"

/* Microphone mic's signal, u·â or v·â (the kernel's operations and order). */
static inline float mic_signal(const SimdNet *net, uint32_t mic)
{
    const SprungCompiled *c = net->compiled;
    const float *value = net->node + net->mic_value_off[mic];
    return (value[0] * c->mic_axis_x[mic] + value[1] * c->mic_axis_y[mic]) +
           value[2] * c->mic_axis_z[mic];
}

void simd_records_mix(const SimdNet *net, float *left, float *right)
{
    const SprungCompiled *c = net->compiled;
    float sum_left = 0.0f, sum_right = 0.0f;
    for (uint32_t mic = 0; mic < net->n_microphones; ++mic) {
        float signal = mic_signal(net, mic);
        sum_left += c->mic_gain_left[mic] * signal;
        sum_right += c->mic_gain_right[mic] * signal;
    }
    *left = sum_left;
    *right = sum_right;
}

/* A node's record from engine node i of the host state. */
static void record_from_state(float *record, const SprungState *st, uint32_t i)
{
    record[0] = st->ux[i];
    record[1] = st->uy[i];
    record[2] = st->uz[i];
    record[3] = 0.0f;
    record[4] = st->vx[i];
    record[5] = st->vy[i];
    record[6] = st->vz[i];
    record[7] = 0.0f;
}

/* Before a block of a modulated model: the engine has written the routes'
 * values into the compiled arrays (the words apply_route in
 * engine_modulation.c writes) and, for anchors, into the host state. */
void simd_records_refresh(SimdNet *net, const SprungState *state)
{
    const SprungCompiled *c = net->compiled;
    for (uint32_t k = 0; k < net->n_modulated_springs; ++k) {
        uint32_t ps = net->modulated_private[k], s = net->modulated_spring[k];
        net->spring.k[ps] = c->spring_stiffness[s];
        net->spring.c[ps] = c->spring_damping[s];
        net->spring.rest[ps] = c->spring_rest_length[s];
        net->spring.preload[ps] = c->spring_preload[s];
    }
    for (uint32_t k = 0; k < net->n_modulated_bodies; ++k) {
        uint32_t j = net->modulated_j[k], i = net->modulated_body[k];
        net->inv_mass[j] = c->inv_mass[i];
        net->drag[j] = c->drag[i];
    }
    for (uint32_t k = 0; k < net->n_modulated_anchors; ++k) {
        uint32_t i = net->modulated_anchor[k]; /* an anchor's record is its engine node's */
        record_from_state(net->node + (size_t)i * SIMD_NODE_FLOATS, state, i);
    }
}

/* The kernel's feature mix leaves gain × signal of the last step in
 * mic_value (sprung_microphones_mix_channels): the same operations, from
 * the records as they stand. */
void simd_records_mic_values(const SimdNet *net, SprungState *state)
{
    const SprungCompiled *c = net->compiled;
    for (uint32_t mic = 0; mic < net->n_microphones; ++mic) {
        state->mic_value[mic] = c->mic_gain[mic] * mic_signal(net, mic);
    }
}

/* Host state -> private layout (node records, and force records from the
 * host's per-spring forces so that a sync before any step is exact). */
void simd_records_upload(SimdNet *net, const SprungState *st)
{
    for (uint32_t n = 0; n < net->n_nodes; ++n)
        record_from_state(net->node + (size_t)n * SIMD_NODE_FLOATS, st, net->perm[n]);
    for (uint32_t s = 0; s < net->n_springs; ++s) {
        uint32_t i = net->spring_orig[s];
        float *p = net->force + (size_t)simd_force_slot(net, s) * SIMD_FORCE_FLOATS;
        float *q = p + (size_t)net->n_springs_padded * SIMD_FORCE_FLOATS;
        p[0] = st->spring_force_x[i];
        p[1] = st->spring_force_y[i];
        p[2] = st->spring_force_z[i];
        q[0] = -st->spring_force_x[i];
        q[1] = -st->spring_force_y[i];
        q[2] = -st->spring_force_z[i];
    }
}

void simd_records_sync(const SimdNet *net, SprungState *st)
{
    for (uint32_t n = 0; n < net->n_nodes; ++n) {
        uint32_t i = net->perm[n];
        const float *record = net->node + (size_t)n * SIMD_NODE_FLOATS;
        st->ux[i] = record[0];
        st->uy[i] = record[1];
        st->uz[i] = record[2];
        st->vx[i] = record[4];
        st->vy[i] = record[5];
        st->vz[i] = record[6];
    }
    for (uint32_t s = 0; s < net->n_springs; ++s) {
        uint32_t i = net->spring_orig[s];
        const float *p = net->force + (size_t)simd_force_slot(net, s) * SIMD_FORCE_FLOATS;
        st->spring_force_x[i] = p[0];
        st->spring_force_y[i] = p[1];
        st->spring_force_z[i] = p[2];
    }
}

static void net_carve(SimdNet *net, SimdCarver *carver, uint32_t n_microphones)
{
    size_t nodes = net->n_nodes, springs = net->n_springs_padded;
    SIMD_CARVE(carver, net->perm, nodes);
    SIMD_CARVE(carver, net->inv_perm, nodes);
    SIMD_CARVE(carver, net->spring_orig, springs);
    SIMD_CARVE(carver, net->node, nodes * SIMD_NODE_FLOATS);
    SIMD_CARVE(carver, net->force, 2 * springs * SIMD_FORCE_FLOATS);
    SIMD_CARVE(carver, net->p_off, springs);
    SIMD_CARVE(carver, net->q_off, springs);
    simd_carve_spring_constants(carver, &net->spring, springs);
    SIMD_CARVE(carver, net->order, net->n_bodies);
    SIMD_CARVE(carver, net->incidence_begin, net->n_bodies + 1);
    SIMD_CARVE(carver, net->incidence_off, net->compiled->incidence_offset[net->n_bodies]);
    SIMD_CARVE(carver, net->degree_run_end, net->n_bodies);
    SIMD_CARVE(carver, net->inv_mass, net->n_bodies);
    SIMD_CARVE(carver, net->drag, net->n_bodies);
    SIMD_CARVE(carver, net->mallet_begin, net->n_bodies + 1);
    SIMD_CARVE(carver, net->mallet_list, net->compiled->n_mallets);
    SIMD_CARVE(carver, net->mic_value_off, n_microphones);
    SIMD_CARVE(carver, net->modulated_private, net->n_modulated_springs);
    SIMD_CARVE(carver, net->modulated_spring, net->n_modulated_springs);
    SIMD_CARVE(carver, net->modulated_j, net->n_modulated_bodies);
    SIMD_CARVE(carver, net->modulated_body, net->n_modulated_bodies);
    SIMD_CARVE(carver, net->modulated_anchor, net->n_modulated_anchors);
}

/* Node order for locality: breadth-first over the springs from a body of
 * least degree (Cuthill-McKee without the degree sort), component by
 * component; anchors keep their place after the bodies. Spatially close
 * bodies get close records, and springs sorted by endpoint then walk the
 * node array nearly in order. `work` has room for n_nodes entries. */
static void order_nodes(const SprungCompiled *c, uint32_t *perm, uint32_t *inv_perm,
                        uint32_t *queue)
{
    const uint32_t unplaced = UINT32_MAX;
    for (uint32_t i = 0; i < c->n_nodes; ++i)
        inv_perm[i] = unplaced;
    uint32_t placed = 0;
    while (placed < c->n_bodies) {
        uint32_t start = unplaced, best_degree = UINT32_MAX;
        for (uint32_t i = 0; i < c->n_bodies; ++i) {
            uint32_t degree = c->incidence_offset[i + 1] - c->incidence_offset[i];
            if (inv_perm[i] == unplaced && degree < best_degree) {
                start = i;
                best_degree = degree;
            }
        }
        uint32_t head = 0, tail = 0;
        queue[tail++] = start;
        inv_perm[start] = placed;
        perm[placed++] = start;
        while (head < tail) {
            uint32_t i = queue[head++];
            for (uint32_t e = c->incidence_offset[i]; e < c->incidence_offset[i + 1]; ++e) {
                uint32_t s = c->incidence_spring[e];
                uint32_t other = c->spring_p[s] == i ? c->spring_q[s] : c->spring_p[s];
                if (other >= c->n_bodies || inv_perm[other] != unplaced)
                    continue;
                inv_perm[other] = placed;
                perm[placed++] = other;
                queue[tail++] = other;
            }
        }
    }
    for (uint32_t i = c->n_bodies; i < c->n_nodes; ++i) {
        inv_perm[i] = i;
        perm[i] = i;
    }
}

/* Phase 2's sort key of engine node i: its degree, plus max_degree + 1
 * unless the body is plain (no mallet, nonzero inverse mass that
 * modulation does not rewrite: the plain loop never tests it for 0). */
static uint32_t phase2_key(const SprungCompiled *c, uint32_t i, uint32_t max_degree)
{
    uint32_t degree = c->incidence_offset[i + 1] - c->incidence_offset[i];
    int plain = c->node_mallet_offset[i] == c->node_mallet_offset[i + 1] &&
                c->inv_mass[i] != 0.0f && !c->node_modulated[i];
    return plain ? degree : max_degree + 1 + degree;
}

SprungStatus simd_records_build(SimdNet *net, const SprungCompiled *c, uint32_t lanes,
                                SprungState *state, void **block, SprungError *error)
{
    net->compiled = c;
    net->lanes = lanes;
    net->n_nodes = c->n_nodes;
    net->n_bodies = c->n_bodies;
    net->n_springs = c->n_springs;
    net->n_springs_padded =
        (c->n_springs + SIMD_SPRING_ALIGN - 1) / SIMD_SPRING_ALIGN * SIMD_SPRING_ALIGN;
    net->n_microphones = c->n_microphones;
    net->dt = (float)c->dt;
    net->pulse_amplitude = state->pulse_amplitude;
    net->pulse_step = state->pulse_step;
    net->n_modulated_springs = net->n_modulated_bodies = net->n_modulated_anchors = 0;
    for (uint32_t s = 0; s < c->n_springs; ++s)
        net->n_modulated_springs += c->spring_modulated[s];
    for (uint32_t i = 0; i < c->n_nodes; ++i) {
        net->n_modulated_bodies += i < c->n_bodies && c->node_modulated[i];
        net->n_modulated_anchors += i >= c->n_bodies && c->node_modulated[i];
    }

    SimdCarver sizing = {NULL, 0};
    net_carve(net, &sizing, c->n_microphones);
    *block = aligned_alloc(64, (sizing.size + 63) / 64 * 64);
    uint32_t *scratch = calloc((size_t)c->n_nodes + c->n_springs + 2, sizeof *scratch);
    if (!*block || !scratch) {
        free(scratch);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, "simd backend", 0, 0, NULL,
                                "out of memory laying out %u springs", c->n_springs);
    }
    memset(*block, 0, sizing.size);
    SimdCarver carving = {*block, 0};
    net_carve(net, &carving, c->n_microphones);

    order_nodes(c, net->perm, net->inv_perm, scratch);

    /* Springs by their first endpoint in the new order (counting sort,
     * stable in spring index). */
    uint32_t *bucket = scratch; /* n_nodes + 1 counters */
    memset(bucket, 0, ((size_t)c->n_nodes + 1) * sizeof *bucket);
    uint32_t *spring_new = scratch + c->n_nodes + 1; /* engine spring -> private */
    for (uint32_t s = 0; s < c->n_springs; ++s) {
        uint32_t a = net->inv_perm[c->spring_p[s]], b = net->inv_perm[c->spring_q[s]];
        bucket[(a < b ? a : b) + 1]++;
    }
    for (uint32_t n = 0; n < c->n_nodes; ++n)
        bucket[n + 1] += bucket[n];
    for (uint32_t s = 0; s < c->n_springs; ++s) {
        uint32_t a = net->inv_perm[c->spring_p[s]], b = net->inv_perm[c->spring_q[s]];
        uint32_t ps = bucket[a < b ? a : b]++;
        spring_new[s] = ps;
        net->spring_orig[ps] = s;
    }

    const SprungStepModel constants = sprung_compiled_step_model(c);
    uint32_t modulated_springs = 0, modulated_bodies = 0, modulated_anchors = 0;
    for (uint32_t ps = 0; ps < net->n_springs_padded; ++ps) {
        if (ps >= c->n_springs)
            continue; /* inert padding: both ends on node 0, all zero */
        uint32_t s = net->spring_orig[ps];
        net->p_off[ps] = net->inv_perm[c->spring_p[s]] * SIMD_NODE_FLOATS;
        net->q_off[ps] = net->inv_perm[c->spring_q[s]] * SIMD_NODE_FLOATS;
        simd_copy_spring_constants(&net->spring, ps, &constants, s);
        if (c->spring_modulated[s]) {
            net->modulated_private[modulated_springs] = ps;
            net->modulated_spring[modulated_springs++] = s;
        }
    }

    /* Phase 2's order: plain bodies, then the others (see SimdNet), each
     * part by degree, in node order within a degree (counting sort on the
     * key class × (max_degree + 1) + degree), then the incidences body by
     * body in that order, each body's in its CSR order. */
    uint32_t max_degree = 0;
    for (uint32_t i = 0; i < c->n_nodes; ++i) {
        uint32_t degree = c->incidence_offset[i + 1] - c->incidence_offset[i];
        max_degree = degree > max_degree ? degree : max_degree;
    }
    uint32_t n_keys = 2 * (max_degree + 1);
    uint32_t *key_count = calloc((size_t)n_keys + 1, sizeof *key_count);
    if (!key_count) {
        free(scratch);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, "simd backend", 0, 0, NULL,
                                "out of memory laying out %u springs", c->n_springs);
    }
    net->n_plain = 0;
    for (uint32_t n = 0; n < c->n_bodies; ++n) {
        uint32_t key = phase2_key(c, net->perm[n], max_degree);
        net->n_plain += key <= max_degree;
        key_count[key + 1]++;
    }
    for (uint32_t key = 0; key < n_keys; ++key)
        key_count[key + 1] += key_count[key];
    for (uint32_t n = 0; n < c->n_bodies; ++n)
        net->order[key_count[phase2_key(c, net->perm[n], max_degree)]++] = n;
    free(key_count);

    uint32_t incidence = 0, mallets = 0;
    for (uint32_t j = 0; j < c->n_bodies; ++j) {
        uint32_t i = net->perm[net->order[j]];
        net->incidence_begin[j] = incidence;
        net->mallet_begin[j] = mallets;
        for (uint32_t e = c->node_mallet_offset[i]; e < c->node_mallet_offset[i + 1]; ++e)
            net->mallet_list[mallets++] = c->node_mallet[e];
        net->inv_mass[j] = c->inv_mass[i];
        net->drag[j] = c->drag[i];
        if (c->node_modulated[i]) {
            net->modulated_j[modulated_bodies] = j;
            net->modulated_body[modulated_bodies++] = i;
        }
        for (uint32_t e = c->incidence_offset[i]; e < c->incidence_offset[i + 1]; ++e) {
            uint32_t slot = simd_force_slot(net, spring_new[c->incidence_spring[e]]);
            uint32_t record = c->incidence_sign[e] > 0.0f ? slot : net->n_springs_padded + slot;
            net->incidence_off[incidence++] = record * SIMD_FORCE_FLOATS;
        }
    }
    net->incidence_begin[c->n_bodies] = incidence;
    net->mallet_begin[c->n_bodies] = mallets;
    for (uint32_t j = c->n_bodies; j-- > 0;) {
        uint32_t degree = net->incidence_begin[j + 1] - net->incidence_begin[j];
        int same_as_next = j + 1 < c->n_bodies && j + 1 != net->n_plain &&
                           net->incidence_begin[j + 2] - net->incidence_begin[j + 1] == degree;
        net->degree_run_end[j] = same_as_next ? net->degree_run_end[j + 1] : j + 1;
    }
    for (uint32_t mic = 0; mic < c->n_microphones; ++mic)
        net->mic_value_off[mic] =
            net->inv_perm[c->mic_node[mic]] * SIMD_NODE_FLOATS +
            (c->mic_signal[mic] == SPRUNG_KERNEL_MIC_VELOCITY ? 4u : 0u);
    for (uint32_t i = c->n_bodies; i < c->n_nodes; ++i)
        if (c->node_modulated[i])
            net->modulated_anchor[modulated_anchors++] = i;
    free(scratch);
    return SPRUNG_OK;
}

