/* The `simd` backend: the reference physics (kernel/sprung_step.h) in
 * vector lanes, with the same operation order, so its results are the
 * reference's bits; plus an optional worker pool that splits one large
 * network's springs and nodes across cores with two barriers per step.
 *
 * Devices are instruction sets: `sprung backends` lists those this CPU has,
 * best first (simd:0 is the best); SPRUNG_SIMD_ISA=avx512|avx2|sse2|portable
 * narrows the list to that one. SPRUNG_SIMD_ISA=avx512-emulated runs the
 * AVX-512 kernels' source with emulated intrinsics on any x86-64, for the
 * tests (simd_avx512_emulated.c); no list holds it unless so named.
 * SPRUNG_SIMD_THREADS=N (1 = no pool) sets the worker count; unset, a
 * network of at least SIMD_PARALLEL_MIN_SPRINGS springs on a machine of at
 * least 4 cores gets min(cores / 2, 4) workers (half the cores: the audio
 * system and other voices need the rest), and everything else, including
 * each voice of a voiced model, runs on the caller alone.
 *
 * Layouts (simd_internal.h): each model gets the record layout
 * (simd_records.c, irregular networks) or the lattice layout
 * (simd_lattice.c, meshes and strings), by build_layout()'s rule;
 * SPRUNG_SIMD_LAYOUT=records|lattice forces one. Models with instrument
 * features (exciters, collisions, delays, voices, ...) always get the
 * lattice: its views let the kernel's feature functions run as the
 * reference runs them (backend/feature_step.h), on worker 0. Modulation
 * alone is not such a feature: either layout follows what it rewrites.
 *
 * Threading: probe/create/destroy on the control thread (create allocates
 * everything and starts the pool); advance/reset on the audio thread, no
 * allocation, no locks; sync_state/upload_state on the control thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/feature_step.h"
#include "backend/simd/simd_internal.h"
#include "util/worker_pool.h"
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
#ifdef SIMD_HAVE_X86
    &sprung_simd_avx512_emulated,
#endif
};
#define KERNEL_COUNT (sizeof all_kernels / sizeof all_kernels[0])

static int kernels_supported(const SimdKernels *kernels)
{
#ifdef SIMD_HAVE_X86
    __builtin_cpu_init();
    if (kernels == &sprung_simd_avx512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    if (kernels == &sprung_simd_avx2)
        return __builtin_cpu_supports("avx2");
    if (kernels == &sprung_simd_sse2)
        return __builtin_cpu_supports("sse2");
    if (kernels == &sprung_simd_avx512_emulated)
        return 1;
#endif
    return kernels == &sprung_simd_portable;
}

uint32_t simd_kernels_on_this_cpu(const SimdKernels **out, uint32_t capacity)
{
    uint32_t count = 0;
    for (size_t i = 0; i < KERNEL_COUNT && count < capacity; ++i)
        if (!all_kernels[i]->named_only && kernels_supported(all_kernels[i]))
            out[count++] = all_kernels[i];
    return count;
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
        if (forced ? strcmp(forced, all_kernels[i]->name) != 0 : all_kernels[i]->named_only)
            continue;
        known = 1;
        if (kernels_supported(all_kernels[i]))
            out[count++] = all_kernels[i];
        else if (forced)
            snprintf(why, why_size, "SPRUNG_SIMD_ISA=%s, but this CPU does not have %s", forced,
                     forced);
    }
    if (forced && !known) {
        /* The build's names, from the list itself: they cannot drift apart. */
        char names[128] = "";
        for (size_t i = 0; i < KERNEL_COUNT; ++i)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     i ? ", " : "", all_kernels[i]->name);
        snprintf(why, why_size, "SPRUNG_SIMD_ISA=%s is not an instruction set of this build (%s)",
                 forced, names);
    }
    return count;
}

/* Workers for a network of n_springs; `voiced`: one voice of several, each
 * with a backend of its own. Voices get none by default: their pools would
 * spin against each other (tests/conformance's 1 s render of a mesh in 3
 * voices took 80 s with 2 threads per voice on the 2-core machine, 0.7 s
 * with none). */
static uint32_t threads_wanted(uint32_t n_springs, int voiced)
{
    const char *setting = getenv("SPRUNG_SIMD_THREADS");
    if (setting && *setting && strcmp(setting, "auto")) {
        long n = strtol(setting, NULL, 10);
        return n < 1 ? 1u : n > (long)SIMD_MAX_THREADS ? SIMD_MAX_THREADS : (uint32_t)n;
    }
    if (n_springs < SIMD_PARALLEL_MIN_SPRINGS || voiced)
        return 1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < SIMD_PARALLEL_MIN_CORES)
        return 1;
    uint32_t half = (uint32_t)(cores / 2);
    return half < SIMD_MAX_AUTO_THREADS ? half : SIMD_MAX_AUTO_THREADS;
}

/* ---- the backend ---- */

/* One advance() or advance_features() call: its steps and pulse starts, and
 * either the stereo outputs (a model without features) or the feature
 * model's inputs and outputs (io != NULL). */
typedef struct SimdJob {
    uint32_t n_steps, n_starts;
    const SprungPulseStart *starts;
    float *left, *right;
    const SprungFeatureIo *io;
} SimdJob;

typedef struct SimdBackend {
    const SimdKernels *kernels;
    const SprungCompiled *compiled;
    int lattice_on;               /* which layout this model got */
    SimdNet net;                  /* the record layout */
    SimdLattice lattice;          /* the lattice layout */
    SprungState *state;
    void *block;
    uint32_t n_phase1, n_phase2;  /* springs of phase 1; units of phase 2
                                   * (records: bodies; lattice: body vectors,
                                   * then special bodies) */
    SprungWorkerPool *pool;
    uint32_t n_workers;
    /* Per worker: springs [spring_split[w], spring_split[w+1]), phase-2
     * units [node_split[w], node_split[w+1]). */
    uint32_t spring_split[SIMD_MAX_THREADS + 1];
    uint32_t node_split[SIMD_MAX_THREADS + 1];
    /* The block being advanced (for the pool's task). */
    SimdJob job;
} SimdBackend;

static void apply_starts(SprungState *state, const SprungPulseStart *starts, uint32_t n_starts,
                         uint32_t *next, uint32_t step)
{
    for (; *next < n_starts && starts[*next].step == step; ++*next) {
        state->pulse_amplitude[starts[*next].slot] = starts[*next].amplitude;
        state->pulse_step[starts[*next].slot] = 0;
    }
}

static void phase1(const SimdBackend *self, uint32_t first, uint32_t end)
{
    if (self->lattice_on)
        self->kernels->lattice_springs(&self->lattice, first, end);
    else
        self->kernels->springs(&self->net, first, end);
}

static void phase2(const SimdBackend *self, uint32_t first, uint32_t end, int features)
{
    if (!self->lattice_on) {
        self->kernels->nodes(&self->net, first, end);
        return;
    }
    const SimdLattice *lattice = &self->lattice;
    uint32_t vectors = lattice->n_body_vectors;
    if (first < vectors)
        self->kernels->lattice_bodies(lattice, first, end < vectors ? end : vectors);
    if (end > vectors)
        simd_lattice_special(lattice, first > vectors ? first - vectors : 0, end - vectors,
                             features);
}

static void mix(const SimdBackend *self, float *left, float *right)
{
    if (self->lattice_on)
        simd_lattice_mix(&self->lattice, left, right);
    else
        simd_records_mix(&self->net, left, right);
}

static void barrier(SimdBackend *self, uint32_t worker, uint32_t n_workers)
{
    if (n_workers > 1)
        sprung_worker_pool_barrier(self->pool, worker);
}

/* The steps of self->job, by every worker (alone: worker 0 of 1). Each
 * steps its share of the springs and of phase 2; worker 0 (the audio
 * thread) also does the scalar rest: pulse starts, and for a feature model
 * the events, delay lines and exciter feeds before phase 1 and the
 * exciter and collision forces after its share of it (all of which only
 * worker 0 and phase 2 read); then the microphones. Barrier A orders
 * phase 1 (writes forces) before phase 2 (reads them); barrier B orders
 * phase 2 (writes nodes) before the microphones and the next phase 1. */
static void step_task(void *ctx, uint32_t worker, uint32_t n_workers)
{
    SimdBackend *self = ctx;
    const SimdJob *job = &self->job;
    const SimdLattice *l = &self->lattice;
    const FeatureStepViews views = {self->compiled, &l->model, &l->view, &l->feature_model,
                                    &l->feature_view};
    uint32_t spring_first = self->spring_split[worker], spring_end = self->spring_split[worker + 1];
    uint32_t node_first = self->node_split[worker], node_end = self->node_split[worker + 1];
    uint32_t next_start = 0, next_event = 0;
    for (uint32_t step = 0; step < job->n_steps; ++step) {
        if (worker == 0) {
            apply_starts(self->state, job->starts, job->n_starts, &next_start, step);
            if (job->io)
                feature_step_begin(&views, job->io, step, &next_event);
        }
        phase1(self, spring_first, spring_end);
        if (worker == 0 && job->io)
            feature_step_forces(&views);
        barrier(self, worker, n_workers);
        phase2(self, node_first, node_end, job->io != NULL);
        barrier(self, worker, n_workers);
        if (worker == 0) {
            if (job->io)
                feature_step_end(&views, job->io, step);
            else
                mix(self, &job->left[step], &job->right[step]);
        }
    }
}

static void run_job(SimdBackend *self, SimdJob job)
{
    if (self->lattice_on)
        simd_lattice_refresh(&self->lattice);
    else
        simd_records_refresh(&self->net, self->state);
    self->job = job;
    if (self->n_workers > 1)
        sprung_worker_pool_run(self->pool, step_task, self);
    else
        step_task(self, 0, 1);
}

static void simd_advance(void *ctx, uint32_t n_steps, const SprungPulseStart *starts,
                         uint32_t n_starts, float *left, float *right)
{
    run_job(ctx, (SimdJob){.n_steps = n_steps, .n_starts = n_starts, .starts = starts,
                           .left = left, .right = right});
}

/* Feature models have the lattice layout, except those whose only feature
 * is modulation (build_layout): nothing in their step is a feature, so
 * the records step them as a plain model into the two channels. */
static void simd_advance_features(void *ctx, uint32_t n_steps, const SprungPulseStart *starts,
                                  uint32_t n_starts, const SprungFeatureIo *io)
{
    SimdBackend *self = ctx;
    if (!self->lattice_on) {
        simd_advance(ctx, n_steps, starts, n_starts, io->outputs[0], io->outputs[1]);
        return;
    }
    run_job(ctx, (SimdJob){.n_steps = n_steps, .n_starts = n_starts, .starts = starts, .io = io});
}

static void simd_set_views(void *ctx, const SprungStepModel *model,
                           const SprungFeatureModel *feature_model)
{
    SimdBackend *self = ctx;
    simd_lattice_set_views(&self->lattice, model, feature_model);
}

/* Host state -> the backend (the lattice shares the node state and copies
 * only spring forces; records copy both). */
static void simd_upload_state(void *ctx)
{
    SimdBackend *self = ctx;
    if (self->lattice_on)
        simd_lattice_upload(&self->lattice, self->state);
    else
        simd_records_upload(&self->net, self->state);
}

/* A modulated model on the records also gets the microphones' values the
 * feature mix leaves in the state: worked out here, not after every block,
 * since nothing on the audio thread reads them (a follower of a
 * microphone is a feature of its own, which takes the lattice). */
static void simd_sync_state(void *ctx)
{
    SimdBackend *self = ctx;
    if (self->lattice_on) {
        simd_lattice_sync(&self->lattice, self->state);
        return;
    }
    simd_records_sync(&self->net, self->state);
    if (self->compiled->features)
        simd_records_mic_values(&self->net, self->state);
}

static void simd_reset(void *ctx)
{
    SimdBackend *self = ctx;
    sprung_state_reset(self->compiled, self->state);
    simd_upload_state(self);
}

static uint32_t simd_worker_threads(void *ctx)
{
    const SimdBackend *self = ctx;
    return self->pool ? sprung_worker_pool_workers(self->pool) - 1 : 0;
}

static void simd_destroy(void *ctx)
{
    SimdBackend *self = ctx;
    if (!self)
        return;
    sprung_worker_pool_free(self->pool);
    free(self->block);
    free(self);
}

/* The work of phase 2 before its unit u (the per-body work is about one
 * add per incidence plus a constant). */
static uint64_t phase2_work_before(const SimdBackend *self, uint32_t u)
{
    if (!self->lattice_on)
        return (uint64_t)self->net.incidence_begin[u] + 4ull * u;
    const SimdLattice *lattice = &self->lattice;
    uint32_t vectors = u < lattice->n_body_vectors ? u : lattice->n_body_vectors;
    uint64_t work = ((uint64_t)lattice->slot_begin[vectors] + 4ull * vectors) * lattice->lanes;
    for (uint32_t k = vectors; k < u; ++k) {
        uint32_t i = lattice->special_node[k - vectors];
        const SprungCompiled *c = self->compiled;
        work += c->incidence_offset[i + 1] - c->incidence_offset[i] + 4u;
    }
    return work;
}

/* Even shares: springs in whole vectors, phase 2 by its work. */
static void split_work(SimdBackend *self)
{
    uint32_t n = self->n_workers;
    uint32_t vectors = self->n_phase1 / SIMD_SPRING_ALIGN;
    for (uint32_t w = 0; w <= n; ++w)
        self->spring_split[w] = (uint32_t)((uint64_t)vectors * w / n) * SIMD_SPRING_ALIGN;
    uint64_t total = phase2_work_before(self, self->n_phase2);
    uint32_t unit = 0;
    self->node_split[0] = 0;
    for (uint32_t w = 1; w < n; ++w) {
        uint64_t target = total * w / n;
        while (unit < self->n_phase2 && phase2_work_before(self, unit) < target)
            ++unit;
        self->node_split[w] = unit;
    }
    self->node_split[n] = self->n_phase2;
}

/* A model with features gets the lattice layout: its exciters, collisions
 * and delay lines run the kernel's functions on the engine's state, which
 * only the lattice steps in place. Modulation alone is no such feature: the
 * engine writes its values between blocks, and either layout takes them
 * (simd_lattice_refresh, simd_records_refresh). Otherwise
 * SPRUNG_SIMD_LAYOUT=records|lattice forces a layout; unset or "auto", the
 * lattice is kept where simd_lattice_pays() (most springs in runs, most
 * of phase 2's slot lanes loaded whole, eight lanes or more), on vector
 * kernels (the portable scalar kernels gain nothing from runs and lose to
 * the fillers: docs/benchmarks.md). */
static SprungStatus build_layout(SimdBackend *self, const SprungCompiled *c, SprungState *state,
                                 SprungError *error)
{
    const char *forced = getenv("SPRUNG_SIMD_LAYOUT");
    if (forced && (!*forced || !strcmp(forced, "auto")))
        forced = NULL;
    if (forced && strcmp(forced, "records") && strcmp(forced, "lattice"))
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "engine config", 0, 0, "backend",
                                "SPRUNG_SIMD_LAYOUT=%s is not a layout (records, lattice or auto)",
                                forced);
    if (c->features & ~(uint32_t)SPRUNG_FEATURE_MODULATION)
        forced = "lattice";
    if (forced ? !strcmp(forced, "lattice") : self->kernels->lanes > 1) {
        SimdLatticeFit fit;
        SprungStatus status = simd_lattice_build(&self->lattice, c, state, self->kernels->lanes,
                                                 &self->block, &fit, error);
        if (status != SPRUNG_OK)
            return status;
        if (forced || simd_lattice_pays(fit, self->kernels->lanes)) {
            self->lattice_on = 1;
            self->n_phase1 = self->lattice.n_springs;
            self->n_phase2 = self->lattice.n_body_vectors + self->lattice.n_special;
            return SPRUNG_OK;
        }
        free(self->block);
        self->block = NULL;
    }
    SprungStatus status =
        simd_records_build(&self->net, c, self->kernels->lanes, state, &self->block, error);
    self->n_phase1 = self->net.n_springs_padded;
    self->n_phase2 = self->net.n_bodies;
    return status;
}

/* ---- factory ---- */

static void simd_probe(SprungBackendInfo *info)
{
    const SimdKernels *kernels[KERNEL_COUNT];
    uint32_t count = usable_kernels(kernels, info->reason, sizeof info->reason);
    info->available = count > 0;
    info->n_devices = count;
    const char *forced = getenv("SPRUNG_SIMD_THREADS");
    uint32_t big = threads_wanted(UINT32_MAX, 0);
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
    self->compiled = compiled;
    SprungStatus status = build_layout(self, compiled, state, error);
    if (status != SPRUNG_OK) {
        simd_destroy(self);
        return status;
    }
    self->n_workers = threads_wanted(compiled->n_springs,
                                      (compiled->features & SPRUNG_FEATURE_VOICES) != 0);
    if (self->n_workers > 1 &&
        sprung_worker_pool_new(self->n_workers, &self->pool) != SPRUNG_OK) {
        const uint32_t n_workers = self->n_workers; /* for the message, after the free */
        simd_destroy(self);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, "simd backend", 0, 0, NULL,
                                "cannot start %u worker threads", n_workers);
    }
    sprung_worker_pool_match_audio(self->pool, config->worker_priority);
    split_work(self);
    simd_upload_state(self);
    *out = (SprungBackend){
        .name = "simd",
        .ctx = self,
        .advance = simd_advance,
        .reset = simd_reset,
        .sync_state = simd_sync_state,
        .upload_state = simd_upload_state,
        .destroy = simd_destroy,
        .advance_features = simd_advance_features,
        .set_views = simd_set_views,
        .worker_threads = simd_worker_threads,
    };
    return SPRUNG_OK;
}

const SprungBackendFactory sprung_backend_simd_factory = {
    .name = "simd",
    .description = "vectorised CPU (AVX-512/AVX2/SSE2/portable by CPU), bit-exact with cpu",
    .features = SPRUNG_FEATURE_ALL,
    /* Below 8 springs the padding to whole vectors costs more than the
     * vectors save (src/backend/registry.c, docs/benchmarks.md). */
    .auto_min_springs = 8,
    .probe = simd_probe,
    .create = simd_create,
};
