/* `sprung bench --backend opencl|cuda` (called from bench.c): how fast the
 * GPU backends turn a block around, and how large a model they hold in real
 * time. Drives the backend directly (src/backend/backend.h) on compiled
 * random networks, so the figures are the backend's alone (no decimation, no
 * event handling). Launch variants are chosen through the backends'
 * environment variables (docs/gpu.md), set here before each create. Table
 * and JSON; see docs/gpu.md for the figures. Command thread only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/opencl/gpu_common.h"
#include "bench_gpu.h"
#include "bench_output.h"
#include "bench_stats.h"
#include "bench_voices.h"
#include "cli.h"
#include "engine/compiled.h"
#include "model/model.h"
#include "sprung/sprung.h"

#define BENCH_GPU_RATE 48000.0
#define BENCH_GPU_MAX_RESULTS 64

typedef struct GpuVariant {
    const char *label;
    const char *launch; /* SPRUNG_<B>_LAUNCH */
    const char *wait;   /* SPRUNG_<B>_WAIT */
    const char *params; /* SPRUNG_CUDA_PARAMS, or NULL */
} GpuVariant;

static const GpuVariant opencl_variants[] = {
    {"plain/block", "plain", "block", NULL},
    {"plain/spin", "plain", "spin", NULL},
    {"userevent/block", "userevent", "block", NULL},
    {"userevent/spin", "userevent", "spin", NULL},
};

static const GpuVariant cuda_variants[] = {
    {"plain+buffer/block", "plain", "block", "buffer"},
    {"plain+buffer/spin", "plain", "spin", "buffer"},
    {"plain+args/spin", "plain", "spin", "args"},
    {"plain+constant/spin", "plain", "spin", "constant"},
    {"graph/spin", "graph", "spin", NULL},
    {"streamwait/spin", "streamwait", "spin", NULL},
    {"spingate/spin", "spingate", "spin", NULL},
    {"persistent/spin", "persistent", "spin", NULL},
};

static const uint32_t overhead_frames[] = {64, 128, 512};

typedef struct OverheadResult {
    char variant[32];
    char launch[16], wait[16], path[16];
    uint32_t frames;
    uint32_t blocks;
    double p50, p99, p999;      /* overhead, µs */
    double wall_p50, kernel_p50; /* µs; kernel < 0: unknown */
    char error[BENCH_MAX_ERROR];
} OverheadResult;

typedef struct SizeResult {
    uint32_t springs, bodies;
    char path[16];
    uint32_t groups, group_size;
    double realtime_factor; /* audio seconds per wall second, blocks of 512 frames */
    double us_per_block;
    char error[BENCH_MAX_ERROR];
} SizeResult;


/* A random network of `springs` springs over springs/2 bodies: a ring
 * through the bodies plus one spring per body to a pseudo-random other body
 * (every eighth to its own anchor); masses and stiffnesses well inside the
 * stability limit at 48 kHz. One mallet, two microphones. Built as a model
 * directly (a million springs as JSON text would be 90 MB). */
static SprungModel *bench_network(uint32_t springs)
{
    uint32_t n_bodies = springs / 2 < 2 ? 2 : springs / 2;
    uint32_t n_anchors = (n_bodies + 7) / 8;
    SprungModel *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->n_bodies = n_bodies;
    m->n_anchors = n_anchors;
    m->n_springs = springs;
    m->n_mallets = 1;
    m->n_microphones = 2;
    m->bodies = calloc(n_bodies, sizeof *m->bodies);
    m->anchors = calloc(n_anchors, sizeof *m->anchors);
    m->springs = calloc(springs, sizeof *m->springs);
    m->mallets = calloc(1, sizeof *m->mallets);
    m->microphones = calloc(2, sizeof *m->microphones);
    if (!m->bodies || !m->anchors || !m->springs || !m->mallets || !m->microphones) {
        sprung_model_free(m);
        return NULL;
    }
    uint32_t side = 1;
    while ((uint64_t)side * side * side < n_bodies)
        side++;
    const double spacing = 0.01;
    for (uint32_t i = 0; i < n_bodies; ++i) {
        m->bodies[i].position = (SprungVec3){spacing * (i % side), spacing * ((i / side) % side),
                                             spacing * (i / (side * side))};
        m->bodies[i].mass = 0.01;
    }
    for (uint32_t a = 0; a < n_anchors; ++a) {
        SprungVec3 p = m->bodies[a * 8].position;
        m->anchors[a].position = (SprungVec3){p.x + 0.3 * spacing, p.y + 0.4 * spacing,
                                              p.z + 0.5 * spacing};
    }
    uint32_t rng = 12345u;
    for (uint32_t s = 0; s < springs; ++s) {
        SprungModelSpring *spring = &m->springs[s];
        uint32_t i = s % n_bodies;
        if (s < n_bodies) {
            spring->from_point = i;
            spring->to_point = (i + 1) % n_bodies;
        } else if (i % 8 == 0) {
            spring->from_point = n_bodies + i / 8;
            spring->to_point = i;
        } else {
            rng = rng * 1664525u + 1013904223u;
            uint32_t other = (rng >> 8) % (n_bodies - 1);
            spring->from_point = i;
            spring->to_point = other >= i ? other + 1 : other;
        }
        SprungVec3 a = sprung_model_point_position(m, spring->from_point);
        SprungVec3 b = sprung_model_point_position(m, spring->to_point);
        spring->stiffness = 1e5;
        spring->damping = 1e-4;
        spring->rest_length = sqrt((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y) +
                                   (a.z - b.z) * (a.z - b.z));
    }
    m->mallets[0] = (SprungModelMallet){.target_body = 0, .direction = {0.3, 0.2, 1},
                                        .strength = 0.05, .duration_ms = 1, .note_high = 127};
    m->microphones[0] = (SprungModelMicrophone){.target_body = n_bodies / 2, .axis = {0, 0, 1},
                                                .gain = 100, .pan = -0.5};
    m->microphones[1] = (SprungModelMicrophone){.target_body = n_bodies - 1, .axis = {1, 0, 0},
                                                .gain = 100, .pan = 0.5};
    return m;
}

static void set_env(const char *api, const char *what, const char *value)
{
    char name[64];
    snprintf(name, sizeof name, "SPRUNG_%s_%s", api, what);
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

typedef struct Bench {
    const char *backend;
    const char *api; /* "OPENCL" or "CUDA" */
    SprungCompiled *compiled;
    SprungState state;
} Bench;

static int bench_prepare(Bench *bench, uint32_t springs, char *error, size_t size)
{
    SprungModel *model = bench_network(springs);
    if (!model) {
        snprintf(error, size, "out of memory building %u springs", springs);
        return 0;
    }
    SprungError e = {0};
    SprungStatus status = sprung_compiled_new(model, BENCH_GPU_RATE, &bench->compiled, &e);
    sprung_model_free(model);
    if (status != SPRUNG_OK || sprung_state_new(bench->compiled, &bench->state) != SPRUNG_OK) {
        snprintf(error, size, "compile: %s", e.message);
        return 0;
    }
    return 1;
}

static void bench_release(Bench *bench)
{
    sprung_state_free(&bench->state);
    sprung_compiled_free(bench->compiled);
    bench->compiled = NULL;
}

static int bench_backend(Bench *bench, uint32_t frames, SprungBackend *out, char *error,
                         size_t size)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.backend = bench->backend;
    config.max_block_frames = frames;
    SprungError e = {0};
    if (sprung_backend_create(bench->compiled, &bench->state, &config, out, &e) != SPRUNG_OK) {
        snprintf(error, size, "%s", e.message);
        return 0;
    }
    return 1;
}

/* Overhead of one variant at one block size over `blocks` blocks, with a
 * note every 50 blocks so pulse starts travel too. */
static void measure_overhead(Bench *bench, const GpuVariant *variant, uint32_t frames,
                             uint32_t blocks, OverheadResult *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->variant, sizeof r->variant, "%s", variant->label);
    r->frames = frames;
    r->blocks = blocks;
    set_env(bench->api, "LAUNCH", variant->launch);
    set_env(bench->api, "WAIT", variant->wait);
    set_env(bench->api, "PARAMS", variant->params);
    SprungBackend backend;
    if (!bench_backend(bench, frames, &backend, r->error, sizeof r->error))
        return;
    SprungGpuStats *stats = sprung_gpu_stats(backend.name, backend.ctx);
    float *left = calloc(frames, sizeof *left), *right = calloc(frames, sizeof *right);
    double *overhead = calloc(blocks, sizeof *overhead), *wall = calloc(blocks, sizeof *wall);
    double *kernel = calloc(blocks, sizeof *kernel);
    if (!left || !right || !overhead || !wall || !kernel || !stats) {
        snprintf(r->error, sizeof r->error, stats ? "out of memory" : "backend has no GPU stats");
    } else {
        snprintf(r->launch, sizeof r->launch, "%s", stats->launch);
        snprintf(r->wait, sizeof r->wait, "%s", stats->wait);
        snprintf(r->path, sizeof r->path, "%s", stats->path);
        int known = 1;
        for (uint32_t b = 0; b < blocks + 20; ++b) { /* 20 warm-up blocks */
            SprungPulseStart start = {.step = frames / 3, .slot = 0, .amplitude = 0.01f};
            double t0 = cli_now_seconds();
            backend.advance(backend.ctx, frames, &start, b % 50 == 0 ? 1 : 0, left, right);
            double t = cli_now_seconds() - t0;
            if (b < 20)
                continue;
            uint32_t k = b - 20;
            wall[k] = t * 1e6;
            kernel[k] = stats->last_kernel_s * 1e6;
            known &= stats->last_kernel_s >= 0.0;
            overhead[k] = wall[k] - (stats->last_kernel_s >= 0.0 ? kernel[k] : 0.0);
        }
        bench_sort(overhead, blocks);
        bench_sort(wall, blocks);
        bench_sort(kernel, blocks);
        r->p50 = bench_percentile(overhead, blocks, 0.50);
        r->p99 = bench_percentile(overhead, blocks, 0.99);
        r->p999 = bench_percentile(overhead, blocks, 0.999);
        r->wall_p50 = bench_percentile(wall, blocks, 0.50);
        r->kernel_p50 = known ? bench_percentile(kernel, blocks, 0.50) : -1.0;
    }
    backend.destroy(backend.ctx);
    free(left);
    free(right);
    free(overhead);
    free(wall);
    free(kernel);
}

/* Real-time factor of a model of `springs` springs in blocks of 512 frames,
 * the backend's default path and plain launch, for about `seconds` of wall
 * time (at least two blocks). */
static void measure_size(Bench *bench, uint32_t springs, double seconds, SizeResult *r)
{
    const uint32_t frames = 512;
    memset(r, 0, sizeof *r);
    r->springs = springs;
    set_env(bench->api, "LAUNCH", NULL);
    set_env(bench->api, "WAIT", NULL);
    set_env(bench->api, "PARAMS", NULL);
    if (!bench_prepare(bench, springs, r->error, sizeof r->error))
        return;
    r->bodies = bench->compiled->n_bodies;
    SprungBackend backend;
    if (!bench_backend(bench, frames, &backend, r->error, sizeof r->error)) {
        bench_release(bench);
        return;
    }
    SprungGpuStats *stats = sprung_gpu_stats(backend.name, backend.ctx);
    if (stats) {
        snprintf(r->path, sizeof r->path, "%s", stats->path);
        r->groups = stats->groups;
        r->group_size = stats->work_group_size;
    }
    float left[512], right[512];
    SprungPulseStart start = {.step = 0, .slot = 0, .amplitude = 0.01f};
    backend.advance(backend.ctx, frames, &start, 1, left, right); /* warm-up */
    uint32_t blocks = 0;
    double t0 = cli_now_seconds(), elapsed = 0.0;
    do {
        backend.advance(backend.ctx, frames, NULL, 0, left, right);
        blocks++;
        elapsed = cli_now_seconds() - t0;
    } while (elapsed < seconds || blocks < 2);
    r->us_per_block = elapsed / blocks * 1e6;
    r->realtime_factor = blocks * frames / BENCH_GPU_RATE / elapsed;
    backend.destroy(backend.ctx);
    bench_release(bench);
}

int sprung_bench_gpu(const char *backend_spec, const char *json_path, int quick, int voices)
{
    int is_cuda = !strncmp(backend_spec, "cuda", 4);
    Bench bench = {.backend = backend_spec, .api = is_cuda ? "CUDA" : "OPENCL"};
    const GpuVariant *variants = is_cuda ? cuda_variants : opencl_variants;
    size_t n_variants = is_cuda ? sizeof cuda_variants / sizeof cuda_variants[0]
                                : sizeof opencl_variants / sizeof opencl_variants[0];
    uint32_t blocks = quick ? 200 : 10000;
    FILE *table = bench_table_stream(json_path);

    /* Which device, or why not. */
    char device[192] = "";
    size_t name_length = strcspn(backend_spec, ":");
    for (uint32_t i = 0; i < sprung_backend_count(); ++i) {
        SprungBackendInfo info;
        if (sprung_backend_info(i, &info) != SPRUNG_OK || strlen(info.name) != name_length ||
            strncmp(info.name, backend_spec, name_length))
            continue;
        if (!info.available) {
            fprintf(stderr, "sprung bench: backend %s cannot run here: %s\n", info.name,
                    info.reason);
            return 2;
        }
        const char *colon = strchr(backend_spec, ':');
        unsigned long index = colon ? strtoul(colon + 1, NULL, 10) : 0;
        snprintf(device, sizeof device, "%s",
                 index < info.n_devices ? info.devices[index] : "(no such device)");
    }
    if (!device[0]) {
        fprintf(stderr, "sprung bench: this build has no backend %s\n", backend_spec);
        return 2;
    }
    fprintf(table, "sprung bench --backend %s: %s\n\n", backend_spec, device);

    int failed = 0;
    OverheadResult *overheads = calloc(n_variants * 3, sizeof *overheads);
    SizeResult sizes[5];
    memset(sizes, 0, sizeof sizes);
    if (!overheads)
        return 1;

    /* 1. Per-block overhead on a tiny model (the engine test's size). */
    fprintf(table, "per-block overhead = launch to result minus kernel time, %u blocks, 100 springs\n",
            blocks);
    fprintf(table, "%-22s %6s %7s %10s %10s %10s %10s %10s\n", "variant", "frames", "path",
            "p50 us", "p99 us", "p99.9 us", "wall p50", "kernel p50");
    char error[BENCH_MAX_ERROR];
    if (!bench_prepare(&bench, 100, error, sizeof error)) {
        fprintf(stderr, "sprung bench: %s\n", error);
        free(overheads);
        return 1;
    }
    size_t n_overheads = 0;
    for (size_t v = 0; v < n_variants; ++v)
        for (size_t f = 0; f < 3; ++f) {
            OverheadResult *r = &overheads[n_overheads++];
            measure_overhead(&bench, &variants[v], overhead_frames[f], blocks, r);
            if (r->error[0]) {
                failed = 1;
                fprintf(table, "%-22s %6u  error: %s\n", r->variant, r->frames, r->error);
                continue;
            }
            fprintf(table, "%-22s %6u %7s %10.1f %10.1f %10.1f %10.1f %10.1f\n", r->variant,
                    r->frames, r->path, r->p50, r->p99, r->p999, r->wall_p50, r->kernel_p50);
            fflush(table);
        }
    bench_release(&bench);

    /* 2. Real-time factor against model size. */
    fprintf(table, "\nreal-time factor against model size (blocks of 512 frames at 48 kHz, "
                   "plain launch)\n");
    fprintf(table, "%10s %10s %7s %8s %12s %14s\n", "springs", "bodies", "path", "groups",
            "x real time", "us per block");
    static const uint32_t spring_counts[] = {100, 1000, 10000, 100000, 1000000};
    int too_slow = 0;
    for (size_t s = 0; s < 5; ++s) {
        SizeResult *r = &sizes[s];
        if (too_slow) {
            r->springs = spring_counts[s];
            snprintf(r->error, sizeof r->error, "not measured: the previous size ran below "
                                                "1/100 of real time");
            fprintf(table, "%10u  %s\n", r->springs, r->error);
            continue;
        }
        measure_size(&bench, spring_counts[s], quick ? 0.05 : 1.0, r);
        if (r->error[0]) {
            failed = 1;
            fprintf(table, "%10u  error: %s\n", r->springs, r->error);
            continue;
        }
        fprintf(table, "%10u %10u %7s %8u %12.3f %14.1f\n", r->springs, r->bodies, r->path,
                r->groups, r->realtime_factor, r->us_per_block);
        fflush(table);
        too_slow = r->realtime_factor < 0.01;
    }

    /* 3. Voices of a mesh in real time at 128 frames, all in one engine. */
    BenchVoices voice_results = {.quick = quick};
    if (voices) {
        failed |= bench_voices_run(&voice_results, backend_spec, table);
        bench_voices_print_summary(&voice_results, table);
    }

    FILE *json = json_path ? bench_json_open(json_path) : NULL;
    if (json_path && !json)
        failed = 1;
    if (json) {
        fprintf(json, "{\n  \"backend\": ");
        bench_json_string(json, backend_spec);
        fprintf(json, ",\n  \"device\": ");
        bench_json_string(json, device);
        fprintf(json, ",\n  \"quick\": %s,\n  \"overhead\": [", quick ? "true" : "false");
        for (size_t i = 0; i < n_overheads; ++i) {
            const OverheadResult *r = &overheads[i];
            fprintf(json, "%s\n    {\"variant\": ", i ? "," : "");
            bench_json_string(json, r->variant);
            bench_json_field_string(json, "path", r->path);
            fprintf(json, ", \"frames\": %u, \"blocks\": %u", r->frames, r->blocks);
            bench_json_field_number(json, "p50_us", r->p50);
            bench_json_field_number(json, "p99_us", r->p99);
            bench_json_field_number(json, "p999_us", r->p999);
            bench_json_field_number(json, "wall_p50_us", r->wall_p50);
            bench_json_field_number(json, "kernel_p50_us",
                                    r->kernel_p50 >= 0 ? r->kernel_p50 : NAN);
            bench_json_field_string(json, "error", r->error);
            fputc('}', json);
        }
        fprintf(json, "\n  ],\n  \"sizes\": [");
        for (size_t s = 0; s < 5; ++s) {
            const SizeResult *r = &sizes[s];
            fprintf(json, "%s\n    {\"springs\": %u, \"bodies\": %u", s ? "," : "", r->springs,
                    r->bodies);
            bench_json_field_string(json, "path", r->path);
            fprintf(json, ", \"groups\": %u", r->groups);
            bench_json_field_number(json, "realtime_factor",
                                    r->error[0] ? NAN : r->realtime_factor);
            bench_json_field_number(json, "us_per_block", r->error[0] ? NAN : r->us_per_block);
            bench_json_field_string(json, "error", r->error);
            fputc('}', json);
        }
        fprintf(json, "\n  ]");
        if (voices)
            bench_voices_write_json(&voice_results, json);
        fprintf(json, "\n}\n");
        if (json != stdout && fclose(json) != 0)
            failed = 1;
    }
    set_env(bench.api, "LAUNCH", NULL);
    set_env(bench.api, "WAIT", NULL);
    set_env(bench.api, "PARAMS", NULL);
    free(overheads);
    bench_voices_free(&voice_results);
    return failed ? 1 : 0;
}
