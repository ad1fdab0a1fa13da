/* The runner's callback cost: for each preset (and the bench/ models) and
 * each block size (32, 64, 128, 256, 512), the duration of
 * sprung_runner_process (the whole callback: queues, engine, output stage
 * as `sprung play` runs it) over SECONDS of audio with a note every 50 ms,
 * as p50/p99/max in microseconds and as a fraction of the block period.
 * Then the largest model that keeps up at 64 frames: synthetic strings of
 * growing size until the slowest callback exceeds the 64-frame period.
 * Writes a table to stdout and JSON to --json FILE. Offline: calls are
 * back to back, not paced, so the figures are the callback's own cost.
 * Usage: bench_runner [--seconds S] [--json FILE] FILE.json|DIR ... */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sprung/sprung.h"

static const uint32_t g_blocks[] = {32, 64, 128, 256, 512};
enum { N_BLOCKS = 5 };

typedef struct Result {
    char name[128];
    uint32_t bodies, springs, block;
    double p50_us, p99_us, max_us, period_us;
    int ok;
} Result;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Times every process() call of `seconds` of audio at `block` frames. */
static int measure(const SprungModel *model, uint32_t block, double seconds, Result *out)
{
    const double rate = 48000.0;
    SprungEngineConfig ec = sprung_engine_config_default();
    ec.sample_rate = rate;
    ec.max_block_frames = block;
    SprungEngine *engine = NULL;
    SprungError error = {0};
    if (sprung_engine_new(&ec, model, &engine, &error) != SPRUNG_OK) {
        fprintf(stderr, "  %s\n", error.message);
        return -1;
    }
    SprungRunnerConfig rc = sprung_runner_config_default();
    rc.sample_rate = rate;
    rc.max_block_frames = block;
    rc.dc_blocker = 1;
    rc.limiter = 1;
    SprungRunner *runner = NULL;
    if (sprung_runner_new(&rc, engine, &runner, &error) != SPRUNG_OK) {
        fprintf(stderr, "  %s\n", error.message);
        sprung_engine_free(engine);
        return -1;
    }
    uint32_t n_calls = (uint32_t)ceil(seconds * rate / block);
    double *times = malloc(sizeof(double) * n_calls);
    float *left = calloc(block, sizeof(float)), *right = calloc(block, sizeof(float));
    float *const outs[2] = {left, right};
    const uint32_t note_every = (uint32_t)(0.05 * rate);
    uint64_t frame = 0;
    for (uint32_t i = 0; i < n_calls; i++) {
        SprungEvent event;
        uint32_t n_events = 0;
        uint64_t next_note = (frame + note_every - 1) / note_every * note_every;
        if (next_note < frame + block) {
            event = (SprungEvent){.frame = (uint32_t)(next_note - frame),
                                  .type = SPRUNG_EVENT_NOTE_ON,
                                  .note = (uint8_t)(36 + (next_note / note_every) % 60),
                                  .velocity = 100};
            n_events = 1;
        }
        double t0 = now_us();
        sprung_runner_process(runner, block, NULL, 0, outs, 2, &event, n_events);
        times[i] = now_us() - t0;
        frame += block;
        if ((i & 255) == 0)
            sprung_runner_poll(runner, NULL);
    }
    qsort(times, n_calls, sizeof(double), compare_double);
    out->block = block;
    out->p50_us = times[(n_calls - 1) / 2];
    out->p99_us = times[(uint32_t)ceil(0.99 * n_calls) - 1];
    out->max_us = times[n_calls - 1];
    out->period_us = block / rate * 1e6;
    out->ok = out->max_us < out->period_us;
    free(times);
    free(left);
    free(right);
    sprung_runner_free(runner);
    return 0;
}

/* A string of n bodies between two anchors (stable at 48 kHz). */
static SprungModel *synthetic_string(uint32_t n)
{
    size_t cap = 256 + (size_t)n * 300;
    char *json = malloc(cap);
    size_t used = (size_t)snprintf(json, cap,
                                   "{\"sprung\": 1, \"name\": \"string-%u\", \"bodies\": [", n);
    for (uint32_t i = 0; i < n; i++)
        used += (size_t)snprintf(json + used, cap - used,
                                 "%s{\"id\": \"b%u\", \"position\": [%u, 0, 0], \"mass\": 0.002}",
                                 i ? ", " : "", i, i + 1);
    used += (size_t)snprintf(json + used, cap - used,
                             "], \"anchors\": [{\"id\": \"l\", \"position\": [0, 0, 0]}, "
                             "{\"id\": \"r\", \"position\": [%u, 0, 0]}], \"springs\": [",
                             n + 1);
    for (uint32_t i = 0; i <= n; i++) {
        char from[16], to[16];
        snprintf(from, sizeof from, i ? "b%u" : "l", i - 1);
        snprintf(to, sizeof to, i < n ? "b%u" : "r", i);
        used += (size_t)snprintf(json + used, cap - used,
                                 "%s{\"id\": \"s%u\", \"from\": \"%s\", \"to\": \"%s\", "
                                 "\"stiffness\": 2000, \"damping\": 0.001}",
                                 i ? ", " : "", i, from, to);
    }
    snprintf(json + used, cap - used,
             "], \"mallets\": [{\"id\": \"m\", \"target\": \"b%u\", \"direction\": [0, 1, 0], "
             "\"strength\": 0.001}], \"microphones\": [{\"id\": \"mic\", \"target\": \"b%u\", "
             "\"axis\": [0, 1, 0], \"gain\": 100}]}",
             n / 3, n / 2);
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_string(json, "synthetic", &model, &error) != SPRUNG_OK)
        fprintf(stderr, "synthetic string %u: %s\n", n, error.message);
    free(json);
    return model;
}

static Result g_results[512];
static uint32_t g_n_results;

static void bench_model(const char *name, const SprungModel *model, double seconds)
{
    SprungModelCounts counts = sprung_model_counts(model);
    for (int b = 0; b < N_BLOCKS && g_n_results < 512; b++) {
        Result *r = &g_results[g_n_results];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", name);
        r->bodies = counts.bodies;
        r->springs = counts.springs;
        if (measure(model, g_blocks[b], seconds, r) != 0)
            return;
        printf("%-22s %6u %6u %6u %9.1f %9.1f %9.1f %9.1f %6.1f%%\n", name, r->bodies,
               r->springs, r->block, r->p50_us, r->p99_us, r->max_us, r->period_us,
               100.0 * r->max_us / r->period_us);
        fflush(stdout);
        g_n_results++;
    }
}

static void bench_path(const char *path, double seconds)
{
    size_t len = strlen(path);
    if (len > 5 && !strcmp(path + len - 5, ".json")) {
        SprungModel *model = NULL;
        SprungError error = {0};
        if (sprung_model_load_file(path, &model, &error) != SPRUNG_OK) {
            fprintf(stderr, "%s\n", error.message);
            return;
        }
        const char *base = strrchr(path, '/');
        bench_model(base ? base + 1 : path, model, seconds);
        sprung_model_free(model);
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "cannot open %s\n", path);
        return;
    }
    char *names[256];
    size_t n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) && n < 256) {
        size_t l = strlen(entry->d_name);
        if (l > 5 && !strcmp(entry->d_name + l - 5, ".json"))
            names[n++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(names, n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (size_t i = 0; i < n; i++) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, names[i]);
        bench_path(full, seconds);
        free(names[i]);
    }
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    const char *json_path = NULL;
    int first_path = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json_path = argv[++i];
        else {
            first_path = i;
            break;
        }
    }
    printf("%-22s %6s %6s %6s %9s %9s %9s %9s %7s\n", "model", "bodies", "spring", "block",
           "p50 us", "p99 us", "max us", "period", "max/per");
    for (int i = first_path; i < argc; i++)
        bench_path(argv[i], seconds);

    /* The largest string that keeps up at 64 frames (slowest call < period). */
    uint32_t largest_ok = 0, first_fail = 0;
    double largest_ok_max = 0.0;
    Result growth[32];
    uint32_t n_growth = 0;
    for (uint32_t n = 64; n <= (1u << 20) && n_growth < 32; n *= 2) {
        SprungModel *model = synthetic_string(n);
        if (!model)
            break;
        Result *r = &growth[n_growth++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "string-%u", n);
        SprungModelCounts counts = sprung_model_counts(model);
        r->bodies = counts.bodies;
        r->springs = counts.springs;
        measure(model, 64, seconds / 2.0, r);
        sprung_model_free(model);
        printf("%-22s %6u %6u %6u %9.1f %9.1f %9.1f %9.1f %6.1f%%\n", r->name, r->bodies,
               r->springs, 64, r->p50_us, r->p99_us, r->max_us, r->period_us,
               100.0 * r->max_us / r->period_us);
        fflush(stdout);
        if (!r->ok) {
            first_fail = n;
            break;
        }
        largest_ok = n;
        largest_ok_max = r->max_us;
    }
    printf("largest synthetic string without an xrun at 64 frames (slowest callback below "
           "the %.0f us period): %u bodies (slowest %.0f us); %u bodies did not keep up\n",
           64 / 48000.0 * 1e6, largest_ok, largest_ok_max, first_fail);

    if (json_path) {
        FILE *f = fopen(json_path, "w");
        if (!f) {
            fprintf(stderr, "cannot write %s\n", json_path);
            return 1;
        }
        fprintf(f, "{\n  \"sample_rate\": 48000,\n  \"seconds_per_case\": %g,\n  \"results\": [\n",
                seconds);
        for (uint32_t i = 0; i < g_n_results; i++) {
            const Result *r = &g_results[i];
            fprintf(f,
                    "    {\"model\": \"%s\", \"bodies\": %u, \"springs\": %u, \"block\": %u, "
                    "\"p50_us\": %.2f, \"p99_us\": %.2f, \"max_us\": %.2f, \"period_us\": %.2f}%s\n",
                    r->name, r->bodies, r->springs, r->block, r->p50_us, r->p99_us, r->max_us,
                    r->period_us, i + 1 < g_n_results ? "," : "");
        }
        fprintf(f, "  ],\n  \"growth_64\": [\n");
        for (uint32_t i = 0; i < n_growth; i++) {
            const Result *r = &growth[i];
            fprintf(f,
                    "    {\"model\": \"%s\", \"bodies\": %u, \"springs\": %u, \"p50_us\": %.2f, "
                    "\"p99_us\": %.2f, \"max_us\": %.2f, \"period_us\": %.2f, \"keeps_up\": %s}%s\n",
                    r->name, r->bodies, r->springs, r->p50_us, r->p99_us, r->max_us, r->period_us,
                    r->ok ? "true" : "false", i + 1 < n_growth ? "," : "");
        }
        fprintf(f, "  ],\n  \"largest_string_without_xrun_at_64\": %u\n}\n", largest_ok);
        fclose(f);
        printf("wrote %s\n", json_path);
    }
    return 0;
}
