/* What `sprung bench`'s CPU benchmark reports once its rows are measured
 * (bench_report.h): the targets after the table, and the whole run
 * as JSON. Command thread only. */
#include "bench_report.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SPRUNG_BUILD_TYPE
#define SPRUNG_BUILD_TYPE "unknown"
#endif

/* ---- the targets ---- */

typedef struct BenchTarget {
    const char *model;     /* a `bench` group row */
    double max_core_percent;
} BenchTarget;

/* At 48 kHz: the 20 x 30 mesh in at most 10 % of one core, the network of
 * 1,000 bodies and 5,000 springs in at most 50 %. */
static const BenchTarget bench_targets[] = {{"mesh-20x30", 10.0}, {"net-1000x5000", 50.0}};
#define BENCH_TARGET_COUNT (sizeof bench_targets / sizeof bench_targets[0])

static const BenchResult *bench_find(const BenchResults *results, const char *backend,
                                     const char *group, const char *name)
{
    for (size_t i = 0; i < results->count; i++) {
        const BenchResult *r = &results->items[i];
        if (!r->error[0] && !strcmp(r->backend, backend) && !strcmp(r->group, group) &&
            !strcmp(r->name, name))
            return r;
    }
    return NULL;
}

/* Share of one core: the calling thread's CPU time per audio time; for a
 * backend with helper threads the wall-clock share is the honest one (it
 * includes waiting for them), so both are kept. */
static double bench_core_percent(const BenchResult *r, bool wall)
{
    return 100.0 * (wall ? r->median_wall_s : r->median_cpu_s) / r->audio_s;
}

/* Speed-up over the reference backend in this run: the median over the
 * repetitions of the reference's CPU time per spring-step over the row's,
 * each ratio taken from a pair that ran side by side (bench.c's
 * bench_model), so a slow moment of the machine cancels out. NAN without a
 * cpu row for the same model. */
static double bench_speedup(const BenchResults *results, const BenchResult *r)
{
    const BenchResult *reference = bench_find(results, "cpu", r->group, r->name);
    if (!reference || r->error[0] || reference->repeats != r->repeats || r->repeats < 1)
        return NAN;
    double ratios[BENCH_MAX_REPEATS];
    for (int k = 0; k < r->repeats; k++)
        ratios[k] = (reference->cpu_s[k] / reference->audio_s / reference->oversampling) /
                    (r->cpu_s[k] / r->audio_s / r->oversampling);
    return bench_median(ratios, (size_t)r->repeats);
}

/* The target a row is measured against, or NULL: only rows of the `bench`
 * group that name a target model have one. */
static const BenchTarget *bench_target_of(const BenchResult *r)
{
    if (r->error[0] || strcmp(r->group, "bench"))
        return NULL;
    for (size_t t = 0; t < BENCH_TARGET_COUNT; t++)
        if (!strcmp(r->name, bench_targets[t].model))
            return &bench_targets[t];
    return NULL;
}

/* The least CPU time of the repetitions as a share of one core: what the
 * code did in the machine's quietest moment of the run. The verdict
 * stays on the median. */
static double bench_core_percent_best(const BenchResult *r)
{
    double best = INFINITY;
    for (int k = 0; k < r->repeats; k++)
        best = fmin(best, r->cpu_s[k]);
    return r->repeats > 0 ? 100.0 * best / r->audio_s : NAN;
}

/* Core cycles per engine step at the probed clock (NAN without a probe):
 * unlike the share of a core, a slower clock leaves it alone, but for the
 * waits on memory beyond the core's own caches. */
static double bench_cycles_per_step(const BenchResult *r, double clock_ghz)
{
    return r->median_cpu_s * clock_ghz * 1e9 / (r->audio_s * BENCH_RATE * r->oversampling);
}

void bench_print_targets(FILE *out, const BenchResults *results, double clock_ghz)
{
    fprintf(out, "\ntargets at 48 kHz (share of one core from the median CPU time, wall"
                 " time and the best repetition in brackets; speed-up over cpu in this run;"
                 " core cycles per step at the probed clock):\n");
    for (size_t i = 0; i < results->count; i++) {
        const BenchResult *r = &results->items[i];
        const BenchTarget *target = bench_target_of(r);
        if (!target)
            continue;
        double percent = bench_core_percent(r, false);
        double speedup = bench_speedup(results, r);
        fprintf(out, "  %-7s %-14s %6.1f %% of a core (%.1f %% wall, best %.1f %%)", r->backend,
                r->name, percent, bench_core_percent(r, true), bench_core_percent_best(r));
        fprintf(out, ", target <= %.0f %%: %s", target->max_core_percent,
                percent <= target->max_core_percent ? "met" : "MISSED");
        if (isfinite(speedup) && strcmp(r->backend, "cpu"))
            fprintf(out, "; %.2fx the reference", speedup);
        double cycles = bench_cycles_per_step(r, clock_ghz);
        if (isfinite(cycles))
            fprintf(out, "; %.0f cycles a step", cycles);
        fputc('\n', out);
    }
}

static void bench_write_targets_json(FILE *out, const BenchResults *results, double clock_ghz)
{
    fputs(",\n  \"targets\": [", out);
    bool first = true;
    for (size_t i = 0; i < results->count; i++) {
        const BenchResult *r = &results->items[i];
        const BenchTarget *target = bench_target_of(r);
        if (!target)
            continue;
        fprintf(out, "%s\n    {\"backend\": ", first ? "" : ",");
        first = false;
        bench_json_string(out, r->backend);
        bench_json_field_string(out, "model", r->name);
        bench_json_field_number(out, "core_percent", bench_core_percent(r, false));
        bench_json_field_number(out, "core_percent_wall", bench_core_percent(r, true));
        bench_json_field_number(out, "core_percent_best", bench_core_percent_best(r));
        bench_json_field_number(out, "target_core_percent", target->max_core_percent);
        fprintf(out, ", \"met\": %s",
                bench_core_percent(r, false) <= target->max_core_percent ? "true" : "false");
        bench_json_field_number(out, "speedup_vs_cpu", bench_speedup(results, r));
        bench_json_field_number(out, "cycles_per_step", bench_cycles_per_step(r, clock_ghz));
        fputc('}', out);
    }
    fputs("\n  ]", out);
}

/* `, "key": [v0, v1, ...]` */
static void bench_json_field_list(FILE *out, const char *key, const double *values, int n)
{
    fprintf(out, ", \"%s\": [", key);
    for (int k = 0; k < n; k++) {
        if (k)
            fputs(", ", out);
        bench_json_number(out, values[k]);
    }
    fputc(']', out);
}

void bench_write_json(FILE *out, const BenchMachine *machine, const BenchResults *results,
                      int repeats, bool quick, const BenchVoices *voices)
{
    fputs("{\n  \"sprung_bench\": 1,\n  \"machine\": ", out);
    bench_machine_write_json(out, machine);
    fputs(",\n  \"build\": {\"compiler\": ", out);
#if defined(__clang__)
    bench_json_string(out, "clang " __clang_version__);
#elif defined(__VERSION__)
    bench_json_string(out, __VERSION__);
#else
    bench_json_string(out, "unknown");
#endif
    bench_json_field_string(out, "build_type", SPRUNG_BUILD_TYPE);
    const char *threads = getenv("SPRUNG_SIMD_THREADS");
    bench_json_field_string(out, "simd_threads", threads && *threads ? threads : "auto");
    fprintf(out, "},\n"
                 "  \"sample_rate\": %.0f,\n  \"block_frames\": %d,\n  \"repeats\": %d,\n"
                 "  \"quick\": %s,\n  \"results\": [",
            BENCH_RATE, BENCH_BLOCK, repeats, quick ? "true" : "false");
    for (size_t i = 0; i < results->count; i++) {
        const BenchResult *r = &results->items[i];
        fprintf(out, "%s\n    {\"backend\": ", i ? "," : "");
        bench_json_string(out, r->backend);
        bench_json_field_string(out, "group", r->group);
        bench_json_field_string(out, "name", r->name);
        fprintf(out, ", \"bodies\": %u, \"anchors\": %u, \"springs\": %u",
                r->counts.bodies, r->counts.anchors, r->counts.springs);
        if (r->error[0]) {
            bench_json_field_string(out, "error", r->error);
            fputc('}', out);
            continue;
        }
        fprintf(out, ", \"oversampling\": %u, \"blocks\": %u", r->oversampling, r->blocks);
        bench_json_field_number(out, "audio_seconds", r->audio_s);
        bench_json_field_number(out, "wall_seconds_median", r->median_wall_s);
        bench_json_field_number(out, "realtime_factor", r->realtime_factor);
        bench_json_field_number(out, "ns_per_spring_step", r->ns_per_spring_step);
        bench_json_field_number(out, "cpu_seconds_median", r->median_cpu_s);
        bench_json_field_number(out, "cpu_ns_per_spring_step", r->cpu_ns_per_spring_step);
        bench_json_field_number(out, "speedup_vs_cpu", bench_speedup(results, r));
        bench_json_field_list(out, "wall_seconds", r->wall_s, r->repeats);
        bench_json_field_list(out, "cpu_seconds", r->cpu_s, r->repeats);
        fputc('}', out);
    }
    fputs("\n  ]", out);
    bench_write_targets_json(out, results, bench_machine_clock_ghz(machine));
    if (voices)
        bench_voices_write_json(voices, out);
    fputs("\n}\n", out);
}
