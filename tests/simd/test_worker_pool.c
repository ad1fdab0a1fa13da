/* The worker pool's protocol (src/util/worker_pool.c):
 * hand-over, completion and the in-task barrier, exercised many times.
 *
 * Built twice (tests/simd/CMakeLists.txt):
 * - with ThreadSanitizer (test_simd_pool_tsan): the caller writes a job as
 *   plain data, workers read it, write plain results, meet at barriers and
 *   read each other's results; the caller reads everything after the run.
 *   A correct protocol has no data race. --sabotage builds the pool with
 *   relaxed hand-over and completion: ThreadSanitizer must report a race.
 * - with RealtimeSanitizer (test_simd_pool_rtsan): the same runs inside a
 *   real-time section, then a `simd` engine with its pool forced on
 *   processes blocks of every preset given inside the section. --sabotage
 *   hands over through a mutex and a condition variable: RealtimeSanitizer
 *   must report it.
 * tests/expect_sabotage.cmake wraps the sabotage runs and looks for the
 * sanitizer's own report, not just a failure.
 *
 * Usage: test_worker_pool [--sabotage] [PRESET.json ...] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/worker_pool.h"

#ifdef SPRUNG_TEST_RTSAN
#  include "sprung/sprung.h"
void __rtsan_init(void);
void __rtsan_realtime_enter(void);
void __rtsan_realtime_exit(void);
#  define REALTIME_ENTER() __rtsan_realtime_enter()
#  define REALTIME_EXIT() __rtsan_realtime_exit()
#else
#  define REALTIME_ENTER() ((void)0)
#  define REALTIME_EXIT() ((void)0)
#endif

/* Up to 3 workers: one more than the 2-core machines this runs on, so the
 * protocol is also exercised with a worker that is not running. */
enum { WORKERS = 3, RUNS = 500, MAX_WORKERS = 8 };

typedef struct Job {
    SprungWorkerPool *pool;
    uint64_t round;                 /* written by the caller before each run */
    uint64_t partial[MAX_WORKERS];  /* worker w writes [w] */
    uint64_t seen_sum[MAX_WORKERS]; /* each worker's sum of all partials, after a barrier */
    uint64_t second[MAX_WORKERS];   /* after a second barrier */
} Job;

static void task(void *ctx, uint32_t worker, uint32_t n_workers)
{
    Job *job = ctx;
    job->partial[worker] = job->round * (worker + 1);
    sprung_worker_pool_barrier(job->pool, worker);
    uint64_t sum = 0;
    for (uint32_t w = 0; w < n_workers; ++w)
        sum += job->partial[w];
    job->seen_sum[worker] = sum;
    sprung_worker_pool_barrier(job->pool, worker);
    job->second[worker] = job->seen_sum[(worker + 1) % n_workers];
}

/* Returns the number of wrong results (recorded inside the real-time
 * section, printed outside it). */
static uint32_t run_rounds(Job *job, uint32_t n_workers, uint32_t rounds)
{
    uint32_t wrong = 0;
    uint64_t expected_factor = (uint64_t)n_workers * (n_workers + 1) / 2;
    for (uint32_t r = 1; r <= rounds; ++r) {
        job->round = r;
        sprung_worker_pool_run(job->pool, task, job);
        for (uint32_t w = 0; w < n_workers; ++w)
            wrong += job->seen_sum[w] != r * expected_factor ||
                     job->second[w] != r * expected_factor;
    }
    return wrong;
}

#ifdef SPRUNG_TEST_RTSAN
/* A simd engine with its pool on, processing blocks in the section. */
static int engine_run(const char *path)
{
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_file(path, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL %s does not load: %s\n", path, error.message);
        return 1;
    }
    SprungEngine *engine = NULL;
    SprungStatus status = SPRUNG_ERROR_UNSTABLE;
    for (uint32_t oversampling = 1; oversampling <= 4 && status == SPRUNG_ERROR_UNSTABLE;
         oversampling *= 2) {
        SprungEngineConfig config = sprung_engine_config_default();
        config.max_block_frames = 256;
        config.oversampling = oversampling;
        config.backend = "simd";
        status = sprung_engine_new(&config, model, &engine, &error);
    }
    if (status != SPRUNG_OK) {
        fprintf(stderr, "FAIL %s: engine: %s\n", path, error.message);
        sprung_model_free(model);
        return 1;
    }
    static float left[256], right[256];
    float *outputs[2] = {left, right};
    SprungEvent event = {.frame = 17, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 100};
    uint32_t bad = 0;
    REALTIME_ENTER();
    for (uint32_t b = 0; b < 100; ++b) {
        SprungBlock block = {.n_frames = b % 3 ? 256 : 31, .events = &event,
                             .n_events = b % 10 == 0, .outputs = outputs, .n_outputs = 2};
        bad += sprung_engine_process(engine, &block) != SPRUNG_OK;
        if (b == 50)
            sprung_engine_reset(engine);
    }
    REALTIME_EXIT();
    sprung_engine_free(engine);
    sprung_model_free(model);
    if (bad) {
        fprintf(stderr, "FAIL %s: %u blocks failed\n", path, bad);
        return 1;
    }
    printf("ok   %s: 100 blocks through the simd engine's pool in a real-time section\n", path);
    return 0;
}
#endif

int main(int argc, char **argv)
{
    int sabotage = 0, first_path = argc;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--sabotage"))
            sabotage = 1;
        else if (first_path == argc)
            first_path = i;
    }
#ifdef SPRUNG_TEST_RTSAN
    __rtsan_init();
    SprungWorkerPoolSabotage kind = SPRUNG_WORKER_POOL_SABOTAGE_MUTEX;
    const char *what = "a mutex and condition variable in the hand-over";
#else
    SprungWorkerPoolSabotage kind = SPRUNG_WORKER_POOL_SABOTAGE_RELAXED;
    const char *what = "relaxed hand-over and completion";
#endif
    int failures = 0;
    for (uint32_t n_workers = 1; n_workers <= WORKERS; ++n_workers) {
        Job job = {0};
        SprungStatus status = sprung_worker_pool_new_sabotaged(
            n_workers, sabotage ? kind : SPRUNG_WORKER_POOL_CORRECT, &job.pool);
        if (status != SPRUNG_OK) {
            fprintf(stderr, "FAIL cannot make a pool of %u\n", n_workers);
            return 1;
        }
        if (sabotage && n_workers > 1)
            fprintf(stderr, "sabotage: %s, %u workers\n", what, n_workers);
        REALTIME_ENTER();
        uint32_t wrong = run_rounds(&job, n_workers, RUNS);
        REALTIME_EXIT();
        sprung_worker_pool_free(job.pool);
        if (wrong) {
            fprintf(stderr, "FAIL %u workers: %u wrong results\n", n_workers, wrong);
            failures++;
        } else {
            printf("ok   %u worker(s): %d runs, 2 barriers each\n", n_workers, RUNS);
        }
    }
#ifdef SPRUNG_TEST_RTSAN
    setenv("SPRUNG_SIMD_THREADS", "2", 1);
    for (int i = first_path; i < argc; ++i)
        if (strcmp(argv[i], "--sabotage"))
            failures += engine_run(argv[i]);
#else
    (void)first_path;
#endif
    return failures ? 1 : 0;
}
