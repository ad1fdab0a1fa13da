/* Per-block latency with and without the GPU clock keeper: renders blocks
 * paced like an audio callback (one block every frames/rate seconds, the
 * device idle in between, which is when GPUs drop their clocks) and reports
 * the time each sprung_engine_process() call took: percentiles as a table
 * and JSON. The figure that matters needs a GPU backend on a GPU:
 *
 *   keeper_latency --preset presets/bells.json --backend cuda --work cuda \
 *                  --blocks 10000 --frames 128 --json keeper-latency.json
 *
 * On a machine without a GPU it runs with any backend (the ctest smoke run
 * uses cpu and no-op work) to show the harness works. Not a timed test. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sprung/engine.h"
#include "sprung/keeper.h"
#include "sprung/model.h"

typedef struct Stats {
    double mean, p50, p90, p99, p999, max;
} Stats;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static void sleep_until_us(double deadline)
{
    struct timespec t = {(time_t)(deadline / 1e6),
                         (long)((deadline - (double)(time_t)(deadline / 1e6) * 1e6) * 1e3)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
    }
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static Stats stats_of(double *us, uint32_t n)
{
    Stats s = {0};
    for (uint32_t i = 0; i < n; ++i)
        s.mean += us[i] / n;
    qsort(us, n, sizeof *us, compare);
    s.p50 = us[n / 2];
    s.p90 = us[(uint32_t)(n * 0.9)];
    s.p99 = us[(uint32_t)(n * 0.99)];
    s.p999 = us[(uint32_t)(n * 0.999)];
    s.max = us[n - 1];
    return s;
}

static int run(const SprungModel *model, const char *backend, uint32_t frames, double rate,
               uint32_t blocks, int keeper, SprungKeeperWork work, Stats *out)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = rate;
    config.max_block_frames = frames;
    config.backend = backend;
    SprungEngine *engine = NULL;
    SprungError error = {0};
    if (sprung_engine_new(&config, model, &engine, &error) != SPRUNG_OK) {
        fprintf(stderr, "keeper_latency: %s\n", error.message);
        return 0;
    }
    int held = 0;
    if (keeper) {
        if (sprung_keeper_acquire(work, &held) != SPRUNG_OK || !held) {
            fprintf(stderr, "keeper_latency: cannot take a keeper reference\n");
            sprung_engine_free(engine);
            return 0;
        }
        sleep_until_us(now_us() + 1e6); /* let the keeper start and the clocks rise */
    }
    float *left = calloc(frames, sizeof *left), *right = calloc(frames, sizeof *right);
    double *us = calloc(blocks, sizeof *us);
    float *outputs[2] = {left, right};
    /* The first blocks (kernel builds, first uploads) are not measured. */
    const uint32_t warmup = 100;
    double period = frames / rate * 1e6, start = now_us();
    for (uint32_t b = 0; b < warmup + blocks; ++b) {
        sleep_until_us(start + b * period);
        SprungEvent note = {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .channel = 0,
                            .note = (uint8_t)(48 + b / 64 % 24), .velocity = 100};
        SprungBlock block = {.n_frames = frames, .events = &note,
                             .n_events = b % 64 == 0 ? 1u : 0u, .outputs = outputs,
                             .n_outputs = 2};
        double t0 = now_us();
        sprung_engine_process(engine, &block);
        if (b >= warmup)
            us[b - warmup] = now_us() - t0;
    }
    *out = stats_of(us, blocks);
    if (held)
        sprung_keeper_release();
    free(us);
    free(left);
    free(right);
    sprung_engine_free(engine);
    return 1;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"preset", required_argument, NULL, 'p'}, {"backend", required_argument, NULL, 'b'},
        {"blocks", required_argument, NULL, 'n'}, {"frames", required_argument, NULL, 'f'},
        {"rate", required_argument, NULL, 'r'},   {"keeper", required_argument, NULL, 'k'},
        {"work", required_argument, NULL, 'w'},   {"json", required_argument, NULL, 'j'},
        {0, 0, 0, 0},
    };
    const char *preset = NULL, *backend = "auto", *mode = "both", *json_path = NULL;
    uint32_t blocks = 10000, frames = 128;
    double rate = 48000;
    SprungKeeperWork work = SPRUNG_KEEPER_WORK_NOOP;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'p': preset = optarg; break;
        case 'b': backend = optarg; break;
        case 'n': blocks = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'f': frames = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'r': rate = strtod(optarg, NULL); break;
        case 'k': mode = optarg; break;
        case 'w':
            work = !strcmp(optarg, "opencl") ? SPRUNG_KEEPER_WORK_OPENCL
                   : !strcmp(optarg, "cuda") ? SPRUNG_KEEPER_WORK_CUDA
                                             : SPRUNG_KEEPER_WORK_NOOP;
            break;
        case 'j': json_path = optarg; break;
        default:
            fprintf(stderr, "usage: keeper_latency --preset FILE [--backend NAME] [--blocks N] "
                            "[--frames N] [--rate HZ] [--keeper off|on|both] "
                            "[--work noop|opencl|cuda] [--json FILE]\n");
            return 2;
        }
    }
    if (!preset || blocks < 10 || frames == 0 || rate < 8000) {
        fprintf(stderr, "keeper_latency: --preset is required; --blocks >= 10\n");
        return 2;
    }
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_file(preset, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "keeper_latency: %s\n", error.message);
        return 1;
    }
    int modes[2] = {!strcmp(mode, "off") || !strcmp(mode, "both"),
                    !strcmp(mode, "on") || !strcmp(mode, "both")};
    Stats stats[2];
    printf("%-8s %10s %10s %10s %10s %10s %10s   (us per block: %u blocks of %u frames, "
           "backend %s, keeper work %s)\n",
           "keeper", "mean", "p50", "p90", "p99", "p99.9", "max", blocks, frames, backend,
           sprung_keeper_work_name(work));
    FILE *json = json_path ? fopen(json_path, "w") : NULL;
    if (json)
        fprintf(json, "{\"preset\": \"%s\", \"backend\": \"%s\", \"blocks\": %u, \"frames\": %u, "
                      "\"rate\": %.0f, \"work\": \"%s\", \"runs\": [",
                preset, backend, blocks, frames, rate, sprung_keeper_work_name(work));
    int ok = 1, first = 1;
    for (int k = 0; k < 2; ++k) {
        if (!modes[k])
            continue;
        if (!run(model, backend, frames, rate, blocks, k, work, &stats[k])) {
            ok = 0;
            break;
        }
        const Stats *s = &stats[k];
        printf("%-8s %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f\n", k ? "on" : "off", s->mean,
               s->p50, s->p90, s->p99, s->p999, s->max);
        if (json)
            fprintf(json, "%s\n  {\"keeper\": %s, \"mean_us\": %.2f, \"p50_us\": %.2f, "
                          "\"p90_us\": %.2f, \"p99_us\": %.2f, \"p999_us\": %.2f, "
                          "\"max_us\": %.2f}",
                    first ? "" : ",", k ? "true" : "false", s->mean, s->p50, s->p90, s->p99,
                    s->p999, s->max);
        first = 0;
    }
    if (json) {
        fprintf(json, "]}\n");
        fclose(json);
    }
    sprung_model_free(model);
    return ok ? 0 : 1;
}
