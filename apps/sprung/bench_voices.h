/* `sprung bench --voices`: how many voices of a model of each size a backend
 * plays in real time at 128-frame blocks (apps/sprung/bench_voices.c).
 * Called from bench.c (--voices, --voices-only) and bench_gpu.c (by
 * default). Command thread only. */
#ifndef SPRUNG_APP_BENCH_VOICES_H
#define SPRUNG_APP_BENCH_VOICES_H

#include <stdint.h>
#include <stdio.h>

#include "bench_output.h"

enum { BENCH_VOICES_MAX_TRIES = 12 };

/* One voice count on one model: the time of each process() call, timed
 * alone (CLOCK_MONOTONIC), over `blocks` blocks after a warm-up. */
typedef struct BenchVoicesTry {
    uint32_t voices;
    uint32_t blocks;        /* timed; fewer than asked when the wall-time cap ended it */
    uint32_t worker_threads; /* sprung_engine_worker_threads(): the voices' pool or simd's */
    double p50_us, p99_us, max_us;
    double realtime_factor; /* audio time / the timed blocks' wall time */
    int fits;               /* p50 below the block's duration (2,667 us) */
} BenchVoicesTry;

/* One backend and model size: the counts tried (1, 2, 4, ... up to the
 * engine's limit, stopping at the first that does not fit). */
typedef struct BenchVoicesRow {
    char backend[32];
    char model[32];        /* "mesh-7x7" */
    uint32_t bodies, springs;
    uint32_t n_tried;
    BenchVoicesTry tried[BENCH_VOICES_MAX_TRIES];
    uint32_t max_voices;   /* the largest count that fits; 0: none */
    int unsupported;       /* the backend cannot play voices (error says why) */
    char error[BENCH_MAX_ERROR]; /* non-empty: the sweep stopped there, and why */
} BenchVoicesRow;

typedef struct BenchVoices {
    BenchVoicesRow *rows;
    size_t count, capacity;
    int quick;
} BenchVoices;

/* Sweeps the model sizes (about 100, 300, 1,000, 3,000 and 10,000 springs;
 * quick: 100 and 1,000 with short runs) for `backend` (a spelling for
 * sprung_engine_new), appending a row per size and printing each as it is
 * measured to `table`. Returns 1 when a measurement failed, 0 otherwise;
 * a backend that cannot play voices is recorded, not a failure. */
int bench_voices_run(BenchVoices *voices, const char *backend, FILE *table);

/* The summary: a row per model size, a column per backend, the largest
 * voice count that fits and the real-time factor at that count. */
void bench_voices_print_summary(const BenchVoices *voices, FILE *table);

/* `,\n  "voices": [...]`: a member after the first of the bench JSON. */
void bench_voices_write_json(const BenchVoices *voices, FILE *out);

void bench_voices_free(BenchVoices *voices);

/* The most voices the sweep tries: the engine's limit (SPRUNG_MAX_VOICES). */
uint32_t bench_voices_limit(void);

#endif
