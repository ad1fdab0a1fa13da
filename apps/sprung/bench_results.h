/* The rows of `sprung bench`'s CPU benchmark: what bench.c measures for
 * one model on one backend, and bench_report.c reports (the table's
 * targets and the JSON). Command thread only. */
#ifndef SPRUNG_APP_BENCH_RESULTS_H
#define SPRUNG_APP_BENCH_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "bench_output.h"
#include "bench_stats.h"
#include "sprung/sprung.h"

/* Every model renders blocks of BENCH_BLOCK frames at BENCH_RATE. */
#define BENCH_RATE 48000.0
enum { BENCH_BLOCK = 256, BENCH_MAX_NAME = 256, BENCH_MAX_REPEATS = BENCH_MEDIAN_MAX };

typedef struct BenchResult {
    char group[16];           /* "synthetic", "bench" or "preset" */
    char backend[32];         /* as the engine names it ("cpu", "simd", ...) */
    char name[BENCH_MAX_NAME + sizeof " (+midi)"];
    SprungModelCounts counts;
    uint32_t oversampling;
    uint32_t blocks;          /* per repetition */
    double audio_s;           /* per repetition */
    double wall_s[BENCH_MAX_REPEATS]; /* one per repetition */
    double cpu_s[BENCH_MAX_REPEATS];  /* this thread's CPU time, one per repetition */
    int repeats;
    double median_wall_s;
    double median_cpu_s;
    double realtime_factor;   /* from the wall time */
    double ns_per_spring_step; /* from the wall time */
    double cpu_ns_per_spring_step; /* from the CPU time: robust on a busy machine */
    char error[BENCH_MAX_ERROR]; /* non-empty: not measured, and why */
} BenchResult;

typedef struct BenchResults {
    BenchResult *items;
    size_t count, capacity;
} BenchResults;

#endif
