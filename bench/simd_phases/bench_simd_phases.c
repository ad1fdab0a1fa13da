/* Where a simd step's time goes: phase 1 (spring forces) and phase 2
 * (bodies) of the simd backend, timed apart, for every instruction set
 * this CPU runs and both layouts (records; the lattice where vectors have
 * lanes). `sprung bench` measures whole steps through the engine; this
 * splits them, to see which phase a change has to speed up.
 *
 * Each model is compiled at 48 kHz and left at rest (a pre-stressed model
 * still computes every force: nothing in the kernels depends on motion).
 * A repetition steps it --steps times (2,000) on each (instruction set,
 * layout), taking turns, the order rotating every repetition, so that a slow
 * moment of this shared machine falls on all of them alike; the figures
 * are medians over the --repeats repetitions (9) of nanoseconds per step, from
 * CLOCK_MONOTONIC read around each phase (a read costs tens of
 * nanoseconds, included). Only models without features beyond modulation:
 * exciters, collisions and the rest run scalar code outside the phases.
 *
 * Usage: bench_simd_phases [--steps N] [--repeats N] [--json FILE]
 *                          MODEL.json ...
 * Writes a table to stdout and, with --json, the same rows as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "backend/simd/simd_internal.h"
#include "bench_stats.h"
#include "engine/compiled.h"
#include "sprung/sprung.h"
#include "util/worker_pool.h"

#define MAX_CASES 16u
#define MAX_REPEATS 101u
#define SAMPLE_RATE 48000.0

/* One instruction set on one layout of the model, and its timings. */
typedef struct Case {
    const SimdKernels *kernels;
    int lattice;
    int picked; /* the layout simd_lattice_pays() picks for these lanes */
    SimdNet net;
    SimdLattice lattice_layout;
    void *block;
    double phase1_ns[MAX_REPEATS], phase2_ns[MAX_REPEATS];
} Case;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The median of n <= MAX_REPEATS timings, as `sprung bench` takes it. */
static double median(const double *values, uint32_t n)
{
    double sorted[MAX_REPEATS];
    memcpy(sorted, values, n * sizeof *values);
    bench_sort(sorted, n);
    return bench_median_sorted(sorted, n);
}

/* Phase 2 as the backend runs it: the lattice's body vectors, then its
 * special bodies; or every body of the records. */
static void phase2(const Case *c)
{
    if (!c->lattice) {
        c->kernels->nodes(&c->net, 0, c->net.n_bodies);
        return;
    }
    const SimdLattice *l = &c->lattice_layout;
    c->kernels->lattice_bodies(l, 0, l->n_body_vectors);
    simd_lattice_special(l, 0, l->n_special, 0);
}

static void phase1(const Case *c)
{
    if (c->lattice)
        c->kernels->lattice_springs(&c->lattice_layout, 0, c->lattice_layout.n_springs);
    else
        c->kernels->springs(&c->net, 0, c->net.n_springs_padded);
}

/* `steps` steps of case c; the phases' mean nanoseconds per step. */
static void time_steps(const Case *c, uint32_t steps, double *phase1_ns, double *phase2_ns)
{
    double one = 0.0, two = 0.0;
    for (uint32_t step = 0; step < steps; ++step) {
        double t0 = now_ns();
        phase1(c);
        double t1 = now_ns();
        phase2(c);
        double t2 = now_ns();
        one += t1 - t0;
        two += t2 - t1;
    }
    *phase1_ns = one / steps;
    *phase2_ns = two / steps;
}

/* The cases of one model: each instruction set on the records, and on the
 * lattice where it has lanes. *n counts those built (their blocks to
 * free), also on an error. */
static SprungStatus build_cases(const SprungCompiled *compiled, SprungState *state, Case *cases,
                                int *n, SprungError *error)
{
    const SimdKernels *kernels[MAX_CASES / 2];
    uint32_t n_kernels = simd_kernels_on_this_cpu(kernels, MAX_CASES / 2);
    *n = 0;
    for (uint32_t k = 0; k < n_kernels; ++k) {
        Case *records = &cases[*n];
        memset(records, 0, sizeof *records);
        records->kernels = kernels[k];
        SprungStatus status = simd_records_build(&records->net, compiled, kernels[k]->lanes,
                                                 state, &records->block, error);
        if (status != SPRUNG_OK)
            return status;
        ++*n;
        simd_records_upload(&records->net, state);
        records->picked = 1;
        if (kernels[k]->lanes == 1)
            continue; /* the backend keeps scalar kernels on the records */

        Case *lattice = &cases[*n];
        memset(lattice, 0, sizeof *lattice);
        lattice->kernels = kernels[k];
        lattice->lattice = 1;
        SimdLatticeFit fit;
        status = simd_lattice_build(&lattice->lattice_layout, compiled, state, kernels[k]->lanes,
                                    &lattice->block, &fit, error);
        if (status != SPRUNG_OK)
            return status;
        ++*n;
        simd_lattice_upload(&lattice->lattice_layout, state);
        lattice->picked = simd_lattice_pays(fit, kernels[k]->lanes);
        records->picked = !lattice->picked;
    }
    return SPRUNG_OK;
}

static void write_json_row(FILE *f, const char *model, const SprungCompiled *compiled,
                           const Case *c, double one, double two, int first)
{
    /* The model's name as a JSON string, escaped by jansson. */
    json_t *name = json_string(model);
    char *quoted = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
    json_decref(name);
    fprintf(f,
            "%s    {\"model\": %s, \"bodies\": %u, \"springs\": %u, \"isa\": \"%s\", "
            "\"layout\": \"%s\", \"picked\": %s, \"phase1_ns\": %.1f, \"phase2_ns\": %.1f, "
            "\"share_of_core\": %.4f}",
            first ? "" : ",\n", quoted ? quoted : "null", compiled->n_bodies,
            compiled->n_springs, c->kernels->name, c->lattice ? "lattice" : "records",
            c->picked ? "true" : "false", one, two, (one + two) * 1e-9 * SAMPLE_RATE);
    free(quoted);
}

/* Times one model; returns 0, or 1 when it could not be measured. */
static int bench_model(const char *path, uint32_t steps, uint32_t repeats, FILE *json,
                       int *first_row)
{
    SprungError error = {0};
    SprungModel *model = NULL;
    SprungCompiled *compiled = NULL;
    SprungState state = {0};
    Case *cases = calloc(MAX_CASES, sizeof *cases);
    int n = 0, failed = 1;
    if (!cases) {
        fprintf(stderr, "bench_simd_phases: %s: out of memory\n", path);
        goto done;
    }
    if (sprung_model_load_file(path, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "bench_simd_phases: %s\n", error.message); /* names the file */
        goto done;
    }
    if (sprung_compiled_new(model, SAMPLE_RATE, &compiled, &error) != SPRUNG_OK ||
        sprung_state_new(compiled, &state) != SPRUNG_OK) {
        fprintf(stderr, "bench_simd_phases: %s: %s\n", path,
                compiled ? "out of memory" : error.message);
        goto done;
    }
    if (compiled->features & ~(uint32_t)SPRUNG_FEATURE_MODULATION) {
        printf("%s: not measured: it uses features beyond modulation, which run outside the "
               "phases\n", path);
        failed = 0;
        goto done;
    }
    if (build_cases(compiled, &state, cases, &n, &error) != SPRUNG_OK) {
        fprintf(stderr, "bench_simd_phases: %s: %s\n", path, error.message);
        goto done;
    }
    double unused1, unused2;
    for (int i = 0; i < n; ++i) /* warm the caches and the branch predictors */
        time_steps(&cases[i], steps / 4 + 1, &unused1, &unused2);
    for (uint32_t r = 0; r < repeats; ++r)
        for (int i = 0; i < n; ++i) {
            Case *c = &cases[(i + r) % (uint32_t)n];
            time_steps(c, steps, &c->phase1_ns[r], &c->phase2_ns[r]);
        }
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    for (int i = 0; i < n; ++i) {
        const Case *c = &cases[i];
        double one = median(c->phase1_ns, repeats), two = median(c->phase2_ns, repeats);
        printf("%-24s %-9s %-8s %1s %10.0f %10.0f %7.1f %% %8.2f %8.2f %7.1f %%\n", name,
               c->kernels->name, c->lattice ? "lattice" : "records", c->picked ? "*" : "",
               one, two, 100.0 * one / (one + two), one / compiled->n_springs,
               two / compiled->n_bodies, 100.0 * (one + two) * 1e-9 * SAMPLE_RATE);
        if (json)
            write_json_row(json, name, compiled, c, one, two, *first_row);
        *first_row = 0;
    }
    failed = 0;
done:
    for (int i = 0; i < n; ++i)
        free(cases[i].block);
    free(cases);
    sprung_state_free(&state);
    sprung_compiled_free(compiled);
    sprung_model_free(model);
    return failed;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_simd_phases [--steps N] [--repeats N] [--json FILE] "
                    "MODEL.json ...\n");
    return 2;
}

int main(int argc, char **argv)
{
    uint32_t steps = 2000, repeats = 9;
    const char *json_path = NULL;
    int i = 1;
    for (; i < argc && !strncmp(argv[i], "--", 2); ++i) {
        char *end = NULL;
        if (!strcmp(argv[i], "--json") && i + 1 < argc) {
            json_path = argv[++i];
        } else if ((!strcmp(argv[i], "--steps") || !strcmp(argv[i], "--repeats")) &&
                   i + 1 < argc) {
            long value = strtol(argv[i + 1], &end, 10);
            long most = !strcmp(argv[i], "--steps") ? 10000000 : (long)MAX_REPEATS;
            if (*end || value < 1 || value > most) {
                fprintf(stderr, "bench_simd_phases: %s %s: expected a whole number from 1 to "
                                "%ld\n", argv[i], argv[i + 1], most);
                return 2;
            }
            *(!strcmp(argv[i], "--steps") ? &steps : &repeats) = (uint32_t)value;
            ++i;
        } else {
            fprintf(stderr, "bench_simd_phases: %s: %s\n", argv[i],
                    i + 1 < argc ? "not an option" : "is missing its value, or not an option");
            return usage();
        }
    }
    if (i == argc)
        return usage();
    sprung_set_flush_to_zero(); /* as every simulating thread runs */

    FILE *json = NULL;
    if (json_path && !(json = fopen(json_path, "w"))) {
        fprintf(stderr, "bench_simd_phases: cannot write %s\n", json_path);
        return 1;
    }
    if (json)
        fprintf(json, "{\n  \"bench_simd_phases\": 1,\n  \"sample_rate\": %.0f,\n  \"steps\": %u,"
                      "\n  \"repeats\": %u,\n  \"results\": [\n", SAMPLE_RATE, steps, repeats);
    printf("medians of %u repetitions of %u steps; * the layout the backend picks\n", repeats,
           steps);
    printf("%-24s %-9s %-8s %1s %10s %10s %9s %8s %8s %9s\n", "model", "isa", "layout", "",
           "phase1 ns", "phase2 ns", "phase1", "ns/sprg", "ns/body", "of a core");
    int failures = 0, first_row = 1;
    for (; i < argc; ++i)
        failures += bench_model(argv[i], steps, repeats, json, &first_row);
    if (json) {
        fprintf(json, "\n  ]\n}\n");
        if (fclose(json) != 0) {
            fprintf(stderr, "bench_simd_phases: cannot write %s\n", json_path);
            return 1;
        }
    }
    return failures ? 1 : 0;
}
