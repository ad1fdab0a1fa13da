/* The SIMD backend's worker pool protocol (src/backend/simd/simd_pool.c):
 * hand-over, completion and the in-task barrier, exercised many times.
 *
 * Built twice (tests/simd/CMakeLists.txt):
 * - with ThreadSanitizer (--mode tsan): the caller writes a job as plain
 *   data, workers read it, write plain results, meet at barriers and read
 *   each other's results; the caller reads everything after the run. A
 *   correct protocol has no data race. --sabotage builds the pool with
 *   relaxed hand-over and completion: ThreadSanitizer must report a race.
 * - with RealtimeSanitizer (--mode rtsan): the same runs inside a real-time
 *   section, then a `simd` engine with its pool forced on processes blocks
 *   of a preset inside the section. --sabotage hands over through a mutex
 *   and condition variable: RealtimeSanitizer must report it.
 * Checks wrap the sabotage runs (expect_sanitizer.cmake) and look for the
 * sanitizer's own report, not just a failure.
 *
 * Usage: test_simd_pool --mode tsan|rtsan [--sabotage] [PRESET] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/simd/simd_pool.h"

#ifdef SPRUNG_TEST_RTSAN
#  include "sprung/sprung.h"
void __rtsan_init(void);
void __rtsan_realtime_enter(void);
void __rtsan_realtime_exit(void);
#endif

enum { WORKERS = 3, RUNS = 3000, MAX_WORKERS = 8 };

typedef struct Job {
    uint32_t round;                    /* written by the caller before each run */
    uint64_t partial[MAX_WORKERS];     /* worker w writes [w] */
    uint64_t seen_sum[MAX_WORKERS];    /* after the barrier: sum of all partials */
} Job;

static void task(void *ctx, uint32_t worker, uint32_t n_workers)
{
    Job *job = ctx;
    job->partial[worker] = (uint64_t)job->round * (worker + 1);
    sprung_simd_pool_barrier_for_test:;
    extern void sprung_simd_pool_barrier(SprungSimdPool *, uint32_t);
}
