/* `sprung bench --voices` (bench_voices.h): how many voices of a model of
 * each size fit in real time at 128-frame blocks, for each backend named.
 * The model is a pre-stressed membrane held by a ring of anchors, struck by
 * one mallet (bench/make-bench-models.py's mesh), written as preset JSON in
 * memory with an instrument section of N voices and loaded through the
 * public API; the engine then gets N distinct held notes at the first frame
 * and renders blocks of 128 frames, each process() call timed alone. N
 * fits when the median block takes less than the block lasts (128/48000 s);
 * N doubles (1, 2, 4, ... SPRUNG_MAX_VOICES) until it does not. Every voice
 * must still be sounding at the end and the output finite and not silent,
 * else the row records why. Command thread only. */
#include "bench_voices.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_output.h"
#include "bench_stats.h"
#include "engine/engine_voices.h"
#include "engine/voice_allocator.h"
#include "sprung/sprung.h"

enum {
    VOICES_BLOCK = 128,
    /* The voices' notes: the root and the 32 below it, all playable (a
     * voice below the root steps with a smaller dt, so the stability check
     * at the root covers them). */
    VOICES_ROOT = 72,
    VOICES_LOWEST = VOICES_ROOT - (int)SPRUNG_MAX_VOICES,
};
static const double VOICES_RATE = 48000.0;

/* Springs aimed at; the mesh closest to each is played. */
static const uint32_t full_sizes[] = {100, 300, 1000, 3000, 10000};
static const uint32_t quick_sizes[] = {100, 1000};

typedef struct VoicesPlan {
    uint32_t warmup_blocks, timed_blocks;
    double wall_cap_s; /* a count that runs this long is stopped: far from real time */
} VoicesPlan;

static VoicesPlan voices_plan(int quick)
{
    /* ~0.5 s of audio (quick: 64 ms); the cap is four times the audio, so a
     * capped run's mean block is four times over the budget. */
    VoicesPlan plan = {.warmup_blocks = quick ? 4 : 16, .timed_blocks = quick ? 24 : 188};
    plan.wall_cap_s = 4.0 * plan.timed_blocks * VOICES_BLOCK / VOICES_RATE;
    return plan;
}

static double block_budget_us(void)
{
    return 1e6 * VOICES_BLOCK / VOICES_RATE;
}

/* ---- the model ---- */

/* springs(nx, ny) of mesh_json: the grid's horizontal and vertical
 * neighbours plus the springs to the anchor ring. */
static uint32_t mesh_springs(uint32_t nx, uint32_t ny)
{
    return 2 * nx * ny + nx + ny;
}

/* The nx x ny (ny = nx or nx + 1) with a spring count closest to `target`. */
static void mesh_shape(uint32_t target, uint32_t *nx, uint32_t *ny)
{
    uint32_t best = UINT32_MAX;
    for (uint32_t x = 2; mesh_springs(x, x) <= 2 * target + 8; x++)
        for (uint32_t y = x; y <= x + 1; y++) {
            uint32_t springs = mesh_springs(x, y);
            uint32_t distance = springs > target ? springs - target : target - springs;
            if (distance < best) {
                best = distance;
                *nx = x;
                *ny = y;
            }
        }
}

/* The id at grid point (i, j): a body inside the grid, an anchor on the
 * ring around it (corners excluded), nothing elsewhere (returns false). */
static bool mesh_point(int i, int j, int nx, int ny, char *id, size_t size)
{
    if (i >= 0 && i < nx && j >= 0 && j < ny) {
        snprintf(id, size, "b%d_%d", i, j);
        return true;
    }
    bool on_x = i == -1 || i == nx, on_y = j == -1 || j == ny;
    if (on_x != on_y && i >= -1 && i <= nx && j >= -1 && j <= ny) {
        snprintf(id, size, "a%d_%d", i, j);
        return true;
    }
    return false;
}

/* make-bench-models.py's mesh(nx, ny) in `voices` voices: bodies of 0.1 g
 * 1 cm apart, springs of 1e4 N/m at 95 % of the spacing (the tension gives
 * transverse stiffness), stable at 48 kHz without oversampling. */
static char *mesh_json(int nx, int ny, uint32_t voices)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out)
        return NULL;
    const double spacing = 0.01;
    char p[32], q[32];
    fprintf(out, "{\"sprung\": 1, \"name\": \"bench %u voices of mesh %dx%d\",\n\"bodies\": [",
            voices, nx, ny);
    bool first = true;
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++, first = false)
            fprintf(out, "%s{\"id\": \"b%d_%d\", \"position\": [%.6f, %.6f, 0], \"mass\": 1e-4,"
                         " \"drag\": 1e-5}",
                    first ? "\n" : ",\n", i, j, i * spacing, j * spacing);
    fputs("],\n\"anchors\": [", out);
    first = true;
    for (int j = -1; j <= ny; j++)
        for (int i = -1; i <= nx; i++)
            if (mesh_point(i, j, nx, ny, p, sizeof p) && p[0] == 'a') {
                fprintf(out, "%s{\"id\": \"%s\", \"position\": [%.6f, %.6f, 0]}",
                        first ? "\n" : ",\n", p, i * spacing, j * spacing);
                first = false;
            }
    fputs("],\n\"springs\": [", out);
    uint32_t count = 0;
    for (int j = -1; j <= ny; j++)
        for (int i = -1; i <= nx; i++)
            for (int d = 0; d < 2; d++) {
                if (!mesh_point(i, j, nx, ny, p, sizeof p) ||
                    !mesh_point(i + (d == 0), j + (d == 1), nx, ny, q, sizeof q) ||
                    (p[0] == 'a' && q[0] == 'a'))
                    continue;
                fprintf(out, "%s{\"id\": \"s%u\", \"from\": \"%s\", \"to\": \"%s\","
                             " \"stiffness\": 1e4, \"damping\": 2e-4, \"rest_length\": %.9f}",
                        count ? ",\n" : "\n", count, p, q, 0.95 * spacing);
                count++;
            }
    fprintf(out,
            "],\n\"mallets\": [{\"id\": \"m\", \"target\": \"b%d_%d\", \"direction\": [0, 0, 1],"
            " \"strength\": 0.002, \"duration_ms\": 1}],\n"
            "\"microphones\": [{\"id\": \"l\", \"target\": \"b%d_%d\", \"axis\": [0, 0, 1],"
            " \"gain\": 200, \"pan\": -0.5},\n"
            " {\"id\": \"r\", \"target\": \"b%d_%d\", \"axis\": [0, 0, 1], \"gain\": 200,"
            " \"pan\": 0.5}],\n"
            "\"voices\": {\"count\": %u, \"root\": %d, \"notes\": [%d, %d]}}\n",
            nx / 3, ny / 4, nx / 4, ny / 3, (2 * nx) / 3, (3 * ny) / 5, voices, VOICES_ROOT,
            VOICES_LOWEST, VOICES_ROOT);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- measuring ---- */


static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Plays `voices` held notes on a new engine and times the blocks. Returns
 * the status of the engine's creation (SPRUNG_OK when it was measured or
 * failed later; `error` then says what failed, if anything). */
static SprungStatus measure_count(const char *backend, int nx, int ny, uint32_t voices,
                                  const VoicesPlan *plan, BenchVoicesRow *row,
                                  BenchVoicesTry *result, char *error, size_t error_size)
{
    memset(result, 0, sizeof *result);
    result->voices = voices;
    char *json = mesh_json(nx, ny, voices);
    if (!json) {
        snprintf(error, error_size, "out of memory writing the model");
        return SPRUNG_OK;
    }
    SprungModel *model = NULL;
    SprungEngine *engine = NULL;
    SprungError e;
    memset(&e, 0, sizeof e);
    double *times = calloc(plan->timed_blocks, sizeof *times);
    SprungStatus status = sprung_model_load_string(json, row->model, &model, &e);
    free(json);
    if (status != SPRUNG_OK || !times) {
        snprintf(error, error_size, "model: %s", times ? e.message : "out of memory");
        status = SPRUNG_OK; /* the model, not the backend */
        goto done;
    }
    SprungModelCounts counts = sprung_model_counts(model);
    row->bodies = counts.bodies;
    row->springs = counts.springs;

    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = VOICES_RATE;
    config.max_block_frames = VOICES_BLOCK;
    config.oversampling = 1;
    config.backend = backend;
    memset(&e, 0, sizeof e);
    status = sprung_engine_new(&config, model, &engine, &e);
    if (status != SPRUNG_OK) {
        snprintf(error, error_size, "engine: %s",
                 e.message[0] ? e.message : sprung_strerror(status));
        goto done;
    }
    result->worker_threads = sprung_engine_worker_threads(engine);

    /* Distinct notes, all struck at the first frame and held. */
    SprungEvent notes[SPRUNG_MAX_VOICES];
    for (uint32_t v = 0; v < voices; v++)
        notes[v] = (SprungEvent){.type = SPRUNG_EVENT_NOTE_ON,
                                 .note = (uint8_t)(VOICES_ROOT - v),
                                 .velocity = (uint8_t)(90 + v % 32)};
    float left[VOICES_BLOCK], right[VOICES_BLOCK];
    float *const outputs[2] = {left, right};
    float peak = 0.0f;
    bool finite = true;
    double elapsed = 0.0;
    uint32_t timed = 0;
    for (uint32_t b = 0; b < plan->warmup_blocks + plan->timed_blocks; b++) {
        SprungBlock block = {.n_frames = VOICES_BLOCK, .events = b == 0 ? notes : NULL,
                             .n_events = b == 0 ? voices : 0, .outputs = outputs,
                             .n_outputs = 2};
        double start = now_seconds();
        SprungStatus processed = sprung_engine_process(engine, &block);
        double t = now_seconds() - start;
        if (processed != SPRUNG_OK) {
            snprintf(error, error_size, "sprung_engine_process: %s", sprung_strerror(processed));
            goto done;
        }
        for (uint32_t f = 0; f < VOICES_BLOCK; f++) {
            finite &= isfinite(left[f]) && isfinite(right[f]);
            peak = fmaxf(peak, fmaxf(fabsf(left[f]), fabsf(right[f])));
        }
        if (b < plan->warmup_blocks)
            continue;
        times[timed++] = t;
        elapsed += t;
        if (elapsed > plan->wall_cap_s && timed >= 8)
            break;
    }
    if (!finite || !(peak > 0.0f)) {
        snprintf(error, error_size, "%u voices: the output is %s", voices,
                 finite ? "silent" : "not finite");
        goto done;
    }
    /* Held notes never end: every voice must still be playing its note. */
    const SprungEngineVoices *playing = sprung_engine_voices_of(engine);
    for (uint32_t v = 0; v < voices; v++)
        if (sprung_engine_voices_slot(playing, v, NULL) != SPRUNG_VOICE_HELD) {
            snprintf(error, error_size, "%u voices: voice %u is not playing its note", voices,
                     v);
            goto done;
        }

    bench_sort(times, timed);
    result->blocks = timed;
    result->p50_us = 1e6 * bench_percentile(times, timed, 0.50);
    result->p99_us = 1e6 * bench_percentile(times, timed, 0.99);
    result->max_us = 1e6 * times[timed - 1];
    result->realtime_factor = timed * VOICES_BLOCK / VOICES_RATE / elapsed;
    result->fits = result->p50_us < block_budget_us();
done:
    free(times);
    sprung_engine_free(engine);
    sprung_model_free(model);
    return status;
}

/* 1, 2, 4, ... and the engine's limit. */
static uint32_t voice_counts(uint32_t *counts)
{
    uint32_t n = 0;
    for (uint32_t v = 1; v < SPRUNG_MAX_VOICES && n + 1 < BENCH_VOICES_MAX_TRIES; v *= 2)
        counts[n++] = v;
    counts[n++] = SPRUNG_MAX_VOICES;
    return n;
}

/* The real-time factor at the row's largest count that fits (NAN: none). */
static double row_rtf(const BenchVoicesRow *row)
{
    for (uint32_t k = 0; k < row->n_tried; k++)
        if (row->max_voices && row->tried[k].voices == row->max_voices)
            return row->tried[k].realtime_factor;
    return NAN;
}

static BenchVoicesRow *rows_add(BenchVoices *voices)
{
    if (voices->count == voices->capacity) {
        size_t grown = voices->capacity ? voices->capacity * 2 : 16;
        BenchVoicesRow *rows = realloc(voices->rows, grown * sizeof *rows);
        if (!rows)
            return NULL;
        voices->rows = rows;
        voices->capacity = grown;
    }
    BenchVoicesRow *row = &voices->rows[voices->count++];
    memset(row, 0, sizeof *row);
    return row;
}

static void print_header(FILE *table, const uint32_t *counts, uint32_t n_counts, int quick)
{
    fprintf(table,
            "\nvoices in real time: %d-frame blocks at %.0f Hz, budget %.0f us per block;"
            " p50 us per block\nfor each voice count (* = over budget, the sweep stops"
            " there)%s\n",
            VOICES_BLOCK, VOICES_RATE, block_budget_us(),
            quick ? " (quick: not a measurement)" : "");
    fprintf(table, "%-7s %-10s %7s %4s %8s", "backend", "model", "springs", "max", "x rt");
    for (uint32_t c = 0; c < n_counts; c++) {
        char label[16];
        snprintf(label, sizeof label, "%uv", counts[c]);
        fprintf(table, " %7s", label);
    }
    fputc('\n', table);
}

int bench_voices_run(BenchVoices *voices, const char *backend, FILE *table)
{
    VoicesPlan plan = voices_plan(voices->quick);
    uint32_t counts[BENCH_VOICES_MAX_TRIES];
    uint32_t n_counts = voice_counts(counts);
    const uint32_t *sizes = voices->quick ? quick_sizes : full_sizes;
    size_t n_sizes = voices->quick ? sizeof quick_sizes / sizeof quick_sizes[0]
                                   : sizeof full_sizes / sizeof full_sizes[0];
    if (voices->count == 0) /* one table for all the backends */
        print_header(table, counts, n_counts, voices->quick);

    int failed = 0;
    char unsupported[sizeof voices->rows[0].error] = ""; /* rows may move: a copy */
    for (size_t s = 0; s < n_sizes; s++) {
        BenchVoicesRow *row = rows_add(voices);
        if (!row)
            return 1;
        uint32_t ux = 2, uy = 2;
        mesh_shape(sizes[s], &ux, &uy);
        int nx = (int)ux, ny = (int)uy;
        snprintf(row->backend, sizeof row->backend, "%s", backend);
        snprintf(row->model, sizeof row->model, "mesh-%dx%d", nx, ny);
        row->bodies = ux * uy;
        row->springs = mesh_springs(ux, uy);
        fprintf(table, "%-7s %-10s %7u", row->backend, row->model, row->springs);
        fflush(table);
        /* One refusal says it for every size: not asked again. */
        if (unsupported[0]) {
            row->unsupported = 1;
            snprintf(row->error, sizeof row->error, "%s", unsupported);
            fprintf(table, "  cannot play voices (as above)\n");
            continue;
        }
        char progress[256] = "";
        size_t used = 0;
        for (uint32_t c = 0; c < n_counts; c++) {
            BenchVoicesTry *t = &row->tried[row->n_tried];
            SprungStatus status = measure_count(backend, nx, ny, counts[c], &plan, row, t,
                                                row->error, sizeof row->error);
            if (row->error[0]) {
                if (status == SPRUNG_ERROR_UNSUPPORTED) {
                    row->unsupported = 1;
                    snprintf(unsupported, sizeof unsupported, "%s", row->error);
                } else {
                    failed = 1;
                }
                break;
            }
            row->n_tried++;
            if (used < sizeof progress)
                used += (size_t)snprintf(progress + used, sizeof progress - used, " %6.0f%s",
                                         t->p50_us, t->fits ? " " : "*");
            if (!t->fits)
                break;
            row->max_voices = t->voices;
        }
        if (row->unsupported) {
            fprintf(table, "  cannot play voices: %s\n", row->error);
            continue;
        }
        double rtf = row_rtf(row);
        if (isfinite(rtf))
            fprintf(table, " %4u %8.2f%s", row->max_voices, rtf, progress);
        else
            fprintf(table, " %4u %8s%s", row->max_voices, "-", progress);
        if (row->error[0])
            fprintf(table, "  error: %s", row->error);
        fputc('\n', table);
        fflush(table);
    }
    return failed;
}

void bench_voices_print_summary(const BenchVoices *voices, FILE *table)
{
    if (voices->count == 0)
        return;
    /* Columns: the backends in the order measured; rows: the sizes. */
    const char *backends[16];
    size_t n_backends = 0;
    for (size_t r = 0; r < voices->count; r++) {
        size_t b = 0;
        while (b < n_backends && strcmp(backends[b], voices->rows[r].backend))
            b++;
        if (b == n_backends && n_backends < 16)
            backends[n_backends++] = voices->rows[r].backend;
    }
    fprintf(table, "\nvoices that fit in real time at %d-frame blocks (largest count with p50 <"
                   " %.0f us;\nthe real-time factor at that count; limit %u voices):\n",
            VOICES_BLOCK, block_budget_us(), SPRUNG_MAX_VOICES);
    fprintf(table, "%-10s %7s", "model", "springs");
    for (size_t b = 0; b < n_backends; b++)
        fprintf(table, " %18s", backends[b]);
    fputc('\n', table);
    for (size_t r = 0; r < voices->count; r++) {
        const BenchVoicesRow *row = &voices->rows[r];
        if (strcmp(row->backend, backends[0]))
            continue;
        fprintf(table, "%-10s %7u", row->model, row->springs);
        for (size_t b = 0; b < n_backends; b++) {
            const BenchVoicesRow *cell = NULL;
            for (size_t k = 0; k < voices->count && !cell; k++)
                if (!strcmp(voices->rows[k].backend, backends[b]) &&
                    !strcmp(voices->rows[k].model, row->model))
                    cell = &voices->rows[k];
            char text[32];
            if (!cell)
                snprintf(text, sizeof text, "-");
            else if (cell->unsupported)
                snprintf(text, sizeof text, "no voices");
            else if (cell->error[0] && cell->max_voices == 0)
                snprintf(text, sizeof text, "error");
            else if (cell->max_voices == 0)
                snprintf(text, sizeof text, "0");
            else
                snprintf(text, sizeof text, "%u%s (%.2fx)", cell->max_voices,
                         cell->max_voices == SPRUNG_MAX_VOICES ? "+" : "", row_rtf(cell));
            fprintf(table, " %18s", text);
        }
        fputc('\n', table);
    }
}

void bench_voices_write_json(const BenchVoices *voices, FILE *out)
{
    fputs(",\n  \"voices\": [", out);
    for (size_t r = 0; r < voices->count; r++) {
        const BenchVoicesRow *row = &voices->rows[r];
        fprintf(out, "%s\n    {\"backend\": ", r ? "," : "");
        bench_json_string(out, row->backend);
        bench_json_field_string(out, "model", row->model);
        fprintf(out, ", \"bodies\": %u, \"springs\": %u, \"block_frames\": %d", row->bodies,
                row->springs, VOICES_BLOCK);
        bench_json_field_number(out, "sample_rate", VOICES_RATE);
        bench_json_field_number(out, "budget_us", block_budget_us());
        fprintf(out, ", \"engine_max_voices\": %u, \"max_voices\": %u", SPRUNG_MAX_VOICES,
                row->max_voices);
        bench_json_field_number(out, "realtime_factor", row_rtf(row));
        fprintf(out, ", \"supported\": %s", row->unsupported ? "false" : "true");
        bench_json_field_string(out, "error", row->error);
        fputs(",\n     \"voices_tried\": [", out);
        for (uint32_t k = 0; k < row->n_tried; k++) {
            const BenchVoicesTry *t = &row->tried[k];
            fprintf(out, "%s{\"voices\": %u, \"blocks\": %u, \"worker_threads\": %u",
                    k ? ", " : "", t->voices, t->blocks, t->worker_threads);
            bench_json_field_number(out, "p50_us", t->p50_us);
            bench_json_field_number(out, "p99_us", t->p99_us);
            bench_json_field_number(out, "max_us", t->max_us);
            bench_json_field_number(out, "realtime_factor", t->realtime_factor);
            fprintf(out, ", \"fits\": %s}", t->fits ? "true" : "false");
        }
        fputs("]}", out);
    }
    fputs("\n  ]", out);
}

void bench_voices_free(BenchVoices *voices)
{
    free(voices->rows);
    memset(voices, 0, sizeof *voices);
}

uint32_t bench_voices_limit(void)
{
    return SPRUNG_MAX_VOICES;
}
