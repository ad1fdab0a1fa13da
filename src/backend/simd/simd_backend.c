/* The `simd` backend: the reference physics (kernel/sprung_step.h) in
 * vector lanes, with the same operation order, so its results are the
 * reference's bits; plus an optional worker pool that splits one large
 * network's springs and nodes across cores with two barriers per step.
 *
 * Devices are instruction sets: `sprung backends` lists those this CPU has,
 * best first (simd:0 is the best); SPRUNG_SIMD_ISA=avx512|avx2|sse2|portable
 * narrows the list to that one. SPRUNG_SIMD_THREADS=N (1 = no pool) sets
 * the worker count; unset, a network of at least SIMD_PARALLEL_MIN_SPRINGS
 * springs on a machine of at least 4 cores gets min(cores / 2, 4) workers
 * (half the cores: the audio system and other voices need the rest), and
 * everything else runs on the caller alone.
 *
 * Threading: probe/create/destroy on the control thread (create allocates
 * everything and starts the pool); advance/reset on the audio thread, no
 * allocation, no locks; sync_state/upload_state on the control thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/simd/simd_internal.h"
#include "backend/simd/simd_pool.h"
#include "model/model.h"

/* Below this many springs a step is too short (under ~80 µs) for two
 * barriers per step to pay. On the 2-core shared machine measured
 * (docs/benchmarks.md) two workers won only now and then even at 100,000
 * springs and lost badly whenever the other core was busy, so the pool is
 * off by default below 4 cores. */
#define SIMD_PARALLEL_MIN_SPRINGS 16384u
#define SIMD_PARALLEL_MIN_CORES 4
#define SIMD_MAX_AUTO_THREADS 4u
#define SIMD_MAX_THREADS 64u

/* ---- instruction sets ---- */

static const SimdKernels *const all_kernels[] = {
#ifdef SIMD_HAVE_X86
    &sprung_simd_avx512,
    &sprung_simd_avx2,
    &sprung_simd_sse2,
#endif
    &sprung_simd_portable,
};
#define KERNEL_COUNT (sizeof all_kernels / sizeof all_kernels[0])

static int kernels_supported(const SimdKernels *kernels)
{
#ifdef SIMD_HAVE_X86
    __builtin_cpu_init();
    if (kernels == &sprung_simd_avx512)
        return __builtin_cpu_supports("avx512f");
    if (kernels == &sprung_simd_avx2)
        return __builtin_cpu_supports("avx2");
    if (kernels == &sprung_simd_sse2)
        return __builtin_cpu_supports("sse2");
#endif
    return kernels == &sprung_simd_portable;
}

/* The usable instruction sets, best first, after SPRUNG_SIMD_ISA. Returns
 * the count; 0 with `why` filled when the setting cannot be honoured. */
static uint32_t usable_kernels(const SimdKernels **out, char *why, size_t why_size)
{
    const char *forced = getenv("SPRUNG_SIMD_ISA");
    if (forced && !*forced)
        forced = NULL;
    uint32_t count = 0;
    int known = 0;
    for (size_t i = 0; i < KERNEL_COUNT; ++i) {
        if (forced && strcmp(forced, all_kernels[i]->name))
            continue;
        known = 1;
        if (kernels_supported(all_kernels[i]))
            out[count++] = all_kernels[i];
        else if (forced)
            snprintf(why, why_size, "SPRUNG_SIMD_ISA=%s, but this CPU does not have %s", forced,
                     forced);
    }
    if (forced && !known)
        snprintf(why, why_size,
                 "SPRUNG_SIMD_ISA=%s is not an instruction set of this build (%s)", forced,
#ifdef SIMD_HAVE_X86
                 "avx512, avx2, sse2, portable"
#else
                 "portable"
#endif
        );
    return count;
}

static uint32_t threads_wanted(uint32_t n_springs)
{
    const char *setting = getenv("SPRUNG_SIMD_THREADS");
    if (setting && *setting && strcmp(setting, "auto")) {
        long n = strtol(setting, NULL, 10);
        return n < 1 ? 1u : n > (long)SIMD_MAX_THREADS ? SIMD_MAX_THREADS : (uint32_t)n;
    }
    if (n_springs < SIMD_PARALLEL_MIN_SPRINGS)
        return 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < SIMD_PARALLEL_MIN_CORES)
        return 1;
    uint32_t half = (uint32_t)(cores / 2);
    return half < SIMD_MAX_AUTO_THREADS ? half : SIMD_MAX_AUTO_THREADS;
}

/* ---- the backend ---- */

typedef struct SimdBackend {
    SimdNet net;
    const SimdKernels *kernels;
    SprungState *state;
    void *block;
    SprungSimdPool *pool;
    uint32_t n_workers;
    /* Per worker: springs [spring_split[w], spring_split[w+1]), bodies
     * [node_split[w], node_split[w+1]). */
    uint32_t spring_split[SIMD_MAX_THREADS + 1];
    uint32_t node_split[SIMD_MAX_THREADS + 1];
    /* The block being advanced (for the pool's task). */
    uint32_t job_steps, job_starts;
    const SprungPulseStart *job_start_list;
    float *job_left, *job_right;
} SimdBackend;

static void mix(const SimdNet *net, float *left, float *right)
{
    const SprungCompiled *c = net->compiled;
    float sum_left = 0.0f, sum_right = 0.0f;
    for (uint32_t mic = 0; mic < net->n_microphones; ++mic) {
        const float *record = net->node + (size_t)net->mic_node[mic] * SIMD_NODE_FLOATS;
        const float *value = c->mic_signal[mic] == SPRUNG_KERNEL_MIC_VELOCITY ? record + 4 : record;
        float signal = (value[0] * c->mic_axis_x[mic] + value[1] * c->mic_axis_y[mic]) +
                       value[2] * c->mic_axis_z[mic];
        sum_left += c->mic_gain_left[mic] * signal;
        sum_right += c->mic_gain_right[mic] * signal;
    }
    *left = sum_left;
    *right = sum_right;
}

static void apply_starts(SimdNet *net, const SprungPulseStart *starts, uint32_t n_starts,
                         uint32_t *next, uint32_t step)
{
    for (; *next < n_starts && starts[*next].step == step; ++*next) {
        net->pulse_amplitude[starts[*next].slot] = starts[*next].amplitude;
        net->pulse_step[starts[*next].slot] = 0;
    }
}

/* The pool's task: every worker steps its share; worker 0 (the audio
 * thread) also applies pulse starts and mixes the microphones. Barrier A
 * orders phase 1 (writes force records) before phase 2 (reads them); barrier B
 * orders phase 2 (writes nodes) before the mix and the next phase 1. */
static void step_task(void *ctx, uint32_t worker, uint32_t n_workers)
{
    (void)n_workers;
    SimdBackend *self = ctx;
    SimdNet *net = &self->net;
    const SimdKernels *k = self->kernels;
    uint32_t spring_first = self->spring_split[worker], spring_end = self->spring_split[worker + 1];
    uint32_t node_first = self->node_split[worker], node_end = self->node_split[worker + 1];
    uint32_t next = 0;
    for (uint32_t step = 0; step < self->job_steps; ++step) {
        if (worker == 0)
            apply_starts(net, self->job_start_list, self->job_starts, &next, step);
        k->springs(net, spring_first, spring_end);
        sprung_simd_pool_barrier(self->pool, worker);
        k->nodes(net, node_first, node_end);
        sprung_simd_pool_barrier(self->pool, worker);
        if (worker == 0)
            mix(net, &self->job_left[step], &self->job_right[step]);
    }
}

static void simd_advance(void *ctx, uint32_t n_steps, const SprungPulseStart *starts,
                         uint32_t n_starts, float *left, float *right)
{
    SimdBackend *self = ctx;
    SimdNet *net = &self->net;
    if (self->n_workers > 1) {
        self->job_steps = n_steps;
        self->job_start_list = starts;
        self->job_starts = n_starts;
        self->job_left = left;
        self->job_right = right;
        sprung_simd_pool_run(self->pool, step_task, self);
        return;
    }
    const SimdKernels *k = self->kernels;
    uint32_t next = 0;
    for (uint32_t step = 0; step < n_steps; ++step) {
        apply_starts(net, starts, n_starts, &next, step);
        k->springs(net, 0, net->n_springs_padded);
        k->nodes(net, 0, net->n_bodies);
        mix(net, &left[step], &right[step]);
    }
}

/* Host state -> private layout (node records, and force records from the
 * host's per-spring forces so that a sync before any step is exact). */
static void simd_upload_state(void *ctx)
{
    SimdBackend *self = ctx;
    SimdNet *net = &self->net;
    const SprungState *st = self->state;
    for (uint32_t n = 0; n < net->n_nodes; ++n) {
        uint32_t i = net->perm[n];
        float *record = net->node + (size_t)n * SIMD_NODE_FLOATS;
        record[0] = st->ux[i];
        record[1] = st->uy[i];
        record[2] = st->uz[i];
        record[3] = 0.0f;
        record[4] = st->vx[i];
        record[5] = st->vy[i];
        record[6] = st->vz[i];
        record[7] = 0.0f;
    }
    for (uint32_t s = 0; s < net->n_springs; ++s) {
        uint32_t i = net->spring_orig[s];
        float *p = net->force + (size_t)s * SIMD_FORCE_FLOATS;
        float *q = p + (size_t)net->n_springs_padded * SIMD_FORCE_FLOATS;
        p[0] = st->spring_force_x[i];
        p[1] = st->spring_force_y[i];
        p[2] = st->spring_force_z[i];
        q[0] = -st->spring_force_x[i];
        q[1] = -st->spring_force_y[i];
        q[2] = -st->spring_force_z[i];
    }
}

static void simd_sync_state(void *ctx)
{
    SimdBackend *self = ctx;
    SimdNet *net = &self->net;
    SprungState *st = self->state;
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
        const float *p = net->force + (size_t)s * SIMD_FORCE_FLOATS;
        st->spring_force_x[i] = p[0];
        st->spring_force_y[i] = p[1];
        st->spring_force_z[i] = p[2];
    }
}

static void simd_reset(void *ctx)
{
    SimdBackend *self = ctx;
    sprung_state_reset(self->net.compiled, self->state);
    simd_upload_state(self);
}

static void simd_destroy(void *ctx)
{
    SimdBackend *self = ctx;
    if (!self)
        return;
    sprung_simd_pool_free(self->pool);
    free(self->block);
    free(self);
}

/* ---- layout ---- */

typedef struct Carver {
    char *base;
    size_t size;
} Carver;

static void *carve(Carver *carver, size_t count, size_t element_size)
{
    size_t offset = (carver->size + 63) / 64 * 64;
    carver->size = offset + (count ? count : 1) * element_size;
    return carver->base ? carver->base + offset : NULL;
}
#define CARVE(carver, field, count) ((field) = carve((carver), (count), sizeof *(field)))

static void net_carve(SimdNet *net, Carver *carver, uint32_t n_microphones)
{
    size_t nodes = net->n_nodes, springs = net->n_springs_padded;
    CARVE(carver, net->perm, nodes);
    CARVE(carver, net->inv_perm, nodes);
    CARVE(carver, net->spring_orig, springs);
    CARVE(carver, net->node, nodes * SIMD_NODE_FLOATS);
    CARVE(carver, net->force, 2 * springs * SIMD_FORCE_FLOATS);
    CARVE(carver, net->p_off, springs);
    CARVE(carver, net->q_off, springs);
    CARVE(carver, net->d0x, springs);
    CARVE(carver, net->d0y, springs);
    CARVE(carver, net->d0z, springs);
    CARVE(carver, net->k, springs);
    CARVE(carver, net->c, springs);
    CARVE(carver, net->rest, springs);
    CARVE(carver, net->l0, springs);
    CARVE(carver, net->l0sq, springs);
    CARVE(carver, net->preload, springs);
    CARVE(carver, net->order, net->n_bodies);
    CARVE(carver, net->incidence_begin, net->n_bodies + 1);
    CARVE(carver, net->incidence_off, net->compiled->incidence_offset[net->n_bodies]);
    CARVE(carver, net->degree_run_end, net->n_bodies);
    CARVE(carver, net->inv_mass, net->n_bodies);
    CARVE(carver, net->drag, net->n_bodies);
    CARVE(carver, net->mallet_begin, net->n_bodies + 1);
    CARVE(carver, net->mallet_list, net->compiled->n_mallets);
    CARVE(carver, net->mic_node, n_microphones);
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
 * unless the body is plain (no mallet, nonzero inverse mass). */
static uint32_t phase2_key(const SprungCompiled *c, uint32_t i, uint32_t max_degree)
{
    uint32_t degree = c->incidence_offset[i + 1] - c->incidence_offset[i];
    int plain = c->node_mallet_offset[i] == c->node_mallet_offset[i + 1] && c->inv_mass[i] != 0.0f;
    return plain ? degree : max_degree + 1 + degree;
}

static SprungStatus net_build(SimdBackend *self, const SprungCompiled *c, SprungState *state,
                              SprungError *error)
{
    SimdNet *net = &self->net;
    net->compiled = c;
    net->n_nodes = c->n_nodes;
    net->n_bodies = c->n_bodies;
    net->n_springs = c->n_springs;
    net->n_springs_padded =
        (c->n_springs + SIMD_SPRING_ALIGN - 1) / SIMD_SPRING_ALIGN * SIMD_SPRING_ALIGN;
    net->n_microphones = c->n_microphones;
    net->dt = (float)c->dt;
    net->pulse_amplitude = state->pulse_amplitude;
    net->pulse_step = state->pulse_step;

    Carver sizing = {NULL, 0};
    net_carve(net, &sizing, c->n_microphones);
    self->block = aligned_alloc(64, (sizing.size + 63) / 64 * 64);
    uint32_t *scratch = calloc((size_t)c->n_nodes + c->n_springs + 2, sizeof *scratch);
    if (!self->block || !scratch) {
        free(scratch);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, "simd backend", 0, 0, NULL,
                                "out of memory laying out %u springs", c->n_springs);
    }
    memset(self->block, 0, sizing.size);
    Carver carving = {self->block, 0};
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

    for (uint32_t ps = 0; ps < net->n_springs_padded; ++ps) {
        if (ps >= c->n_springs)
            continue; /* inert padding: both ends on node 0, all zero */
        uint32_t s = net->spring_orig[ps];
        net->p_off[ps] = net->inv_perm[c->spring_p[s]] * SIMD_NODE_FLOATS;
        net->q_off[ps] = net->inv_perm[c->spring_q[s]] * SIMD_NODE_FLOATS;
        net->d0x[ps] = c->spring_d0_x[s];
        net->d0y[ps] = c->spring_d0_y[s];
        net->d0z[ps] = c->spring_d0_z[s];
        net->k[ps] = c->spring_stiffness[s];
        net->c[ps] = c->spring_damping[s];
        net->rest[ps] = c->spring_rest_length[s];
        net->l0[ps] = c->spring_length0[s];
        net->l0sq[ps] = c->spring_length0_sq[s];
        net->preload[ps] = c->spring_preload[s];
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
        for (uint32_t e = c->incidence_offset[i]; e < c->incidence_offset[i + 1]; ++e) {
            uint32_t ps = spring_new[c->incidence_spring[e]];
            uint32_t record = c->incidence_sign[e] > 0.0f ? ps : net->n_springs_padded + ps;
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
        net->mic_node[mic] = net->inv_perm[c->mic_node[mic]];
    free(scratch);
    return SPRUNG_OK;
}

/* Even shares: springs in whole vectors, bodies by their incidence counts (the
 * per-node work is about one add per incidence plus a constant). */
static void split_work(SimdBackend *self)
{
    const SimdNet *net = &self->net;
    uint32_t n = self->n_workers;
    uint32_t vectors = net->n_springs_padded / SIMD_SPRING_ALIGN;
    for (uint32_t w = 0; w <= n; ++w)
        self->spring_split[w] = (uint32_t)((uint64_t)vectors * w / n) * SIMD_SPRING_ALIGN;
    uint64_t total = (uint64_t)net->incidence_begin[net->n_bodies] + 4ull * net->n_bodies;
    /* incidence_begin[j] + 4j: the work before body j of phase 2's order. */
    uint32_t node = 0;
    self->node_split[0] = 0;
    for (uint32_t w = 1; w < n; ++w) {
        uint64_t target = total * w / n;
        while (node < net->n_bodies &&
               (uint64_t)net->incidence_begin[node] + 4ull * node < target)
            ++node;
        self->node_split[w] = node;
    }
    self->node_split[n] = net->n_bodies;
}

/* ---- factory ---- */

static void simd_probe(SprungBackendInfo *info)
{
    const SimdKernels *kernels[KERNEL_COUNT];
    uint32_t count = usable_kernels(kernels, info->reason, sizeof info->reason);
    info->available = count > 0;
    info->n_devices = count;
    const char *forced = getenv("SPRUNG_SIMD_THREADS");
    uint32_t big = threads_wanted(UINT32_MAX);
    char threads[96];
    if (forced && *forced && strcmp(forced, "auto"))
        snprintf(threads, sizeof threads, "%u thread%s (SPRUNG_SIMD_THREADS)", big,
                 big == 1 ? "" : "s");
    else if (big > 1)
        snprintf(threads, sizeof threads, "%u threads from %u springs, else 1", big,
                 SIMD_PARALLEL_MIN_SPRINGS);
    else
        snprintf(threads, sizeof threads, "1 thread (pool from %d cores)",
                 SIMD_PARALLEL_MIN_CORES);
    for (uint32_t d = 0; d < count && d < SPRUNG_BACKEND_MAX_DEVICES; ++d)
        snprintf(info->devices[d], sizeof info->devices[d], "%s: %u spring%s per vector, %s",
                 kernels[d]->name, kernels[d]->lanes, kernels[d]->lanes == 1 ? "" : "s",
                 threads);
}

static SprungStatus simd_create(const SprungCompiled *compiled, SprungState *state,
                                uint32_t device, const SprungEngineConfig *config,
                                SprungBackend *out, SprungError *error)
{
    (void)config;
    const SimdKernels *kernels[KERNEL_COUNT];
    char why[256] = "";
    uint32_t count = usable_kernels(kernels, why, sizeof why);
    if (device >= count)
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "engine config", 0, 0,
                                "backend", "simd:%u: %s", device,
                                why[0] ? why : "no such instruction set on this CPU");
    SimdBackend *self = calloc(1, sizeof *self);
    if (!self)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, "simd backend", 0, 0, NULL,
                                "out of memory creating the SIMD backend");
    self->kernels = kernels[device];
    self->state = state;
    SprungStatus status = net_build(self, compiled, state, error);
    if (status != SPRUNG_OK) {
        simd_destroy(self);
        return status;
    }
    self->n_workers = threads_wanted(compiled->n_springs);
    if (self->n_workers > 1) {
        if (sprung_simd_pool_new(self->n_workers, &self->pool) != SPRUNG_OK) {
            simd_destroy(self);
            return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, "simd backend", 0, 0, NULL,
                                    "cannot start %u worker threads", self->n_workers);
        }
        split_work(self);
    }
    simd_upload_state(self);
    *out = (SprungBackend){
        .name = "simd",
        .ctx = self,
        .advance = simd_advance,
        .reset = simd_reset,
        .sync_state = simd_sync_state,
        .upload_state = simd_upload_state,
        .destroy = simd_destroy,
    };
    return SPRUNG_OK;
}

const SprungBackendFactory sprung_backend_simd_factory = {
    .name = "simd",
    .description = "vectorised CPU (AVX-512/AVX2/SSE2/portable by CPU), bit-exact with cpu",
    .probe = simd_probe,
    .create = simd_create,
};
