/* A worker pool for the audio thread: the caller hands a task to N - 1
 * threads made at setup, runs its own share, and waits for the rest, with
 * no lock anywhere (spin briefly, then sleep on a futex). Tasks may meet at
 * a barrier (same protocol). Used by the SIMD backend to split one large
 * network's steps across cores, and by the engine to spread a voiced
 * model's voices over cores (src/engine/engine_voices.c). The pool's
 * threads run with flush-to-zero and denormals-are-zero set.
 *
 * Protocol (proved by tests/simd/test_worker_pool.c under ThreadSanitizer):
 * - hand-over: the caller writes the task (plain data), then stores a new
 *   generation (release, seq_cst for the sleeper check); a worker that sees
 *   it (acquire) reads the task.
 * - completion: each worker decrements `remaining` (release) after its
 *   share; the caller reads 0 (acquire) before it returns.
 * - sleeping: a waiter that spun too long registers as a sleeper, re-checks
 *   the word and futex-waits on it (with a timeout, so no wake-up can be
 *   lost for good); a publisher wakes only when someone sleeps. Nobody ever
 *   takes a lock, so a low-priority worker can never hold one the audio
 *   thread needs; the audio thread waits only for work being done for it.
 *
 * Threading: new/free on the control thread; run and barrier on the one
 * caller thread (the audio thread) and inside tasks. */
#ifndef SPRUNG_UTIL_WORKER_POOL_H
#define SPRUNG_UTIL_WORKER_POOL_H

#include <stdint.h>

#include "sprung/attributes.h"
#include "sprung/status.h"

typedef struct SprungWorkerPool SprungWorkerPool;

/* A task: `worker` is 0 (the caller) .. n_workers - 1. */
typedef void (*SprungWorkerTask)(void *ctx, uint32_t worker, uint32_t n_workers);

/* Deliberate bugs for the protocol tests (tests/simd): RELAXED publishes
 * and completes with relaxed atomics (a data race ThreadSanitizer must
 * report), MUTEX hands over through a mutex and condition variable (a
 * blocking call RealtimeSanitizer must report). */
typedef enum SprungWorkerPoolSabotage {
    SPRUNG_WORKER_POOL_CORRECT = 0,
    SPRUNG_WORKER_POOL_SABOTAGE_RELAXED,
    SPRUNG_WORKER_POOL_SABOTAGE_MUTEX,
} SprungWorkerPoolSabotage;

/* Creates n_workers - 1 threads (n_workers >= 1; 1 makes no thread). */
SprungStatus sprung_worker_pool_new(uint32_t n_workers, SprungWorkerPool **out);
/* Stops and joins the threads. NULL is a no-op. */
void sprung_worker_pool_free(SprungWorkerPool *pool);
uint32_t sprung_worker_pool_workers(const SprungWorkerPool *pool);
/* Gives the pool's threads a scheduling policy and priority, normally the
 * audio thread's (SCHED_FIFO, its priority), so that the audio thread never
 * waits on a worker that other threads can preempt. Control thread; the
 * caller needs the right to set it (RLIMIT_RTPRIO or CAP_SYS_NICE).
 * SPRUNG_ERROR_UNSUPPORTED when refused. */
SprungStatus sprung_worker_pool_set_priority(SprungWorkerPool *pool, int policy, int priority);
/* The same for an engine's worker_priority (SprungEngineConfig): SCHED_FIFO
 * at `priority` when it is > 0, nothing otherwise. A refusal leaves the
 * workers as they were: the pool still works, it only loses the guarantee. */
void sprung_worker_pool_match_audio(SprungWorkerPool *pool, int priority);
/* The scheduling policy and priority of the pool's worker threads (the
 * first worker's; SCHED_OTHER and 0 without threads). */
void sprung_worker_pool_priority(const SprungWorkerPool *pool, int *policy, int *priority);
/* Tests only: a pool with a deliberate protocol bug. */
SprungStatus sprung_worker_pool_new_sabotaged(uint32_t n_workers, SprungWorkerPoolSabotage sabotage,
                                            SprungWorkerPool **out);

/* Runs task(ctx, w, n) on every worker w (the caller is worker 0) and
 * returns when all have finished. */
SPRUNG_REALTIME void sprung_worker_pool_run(SprungWorkerPool *pool, SprungWorkerTask task,
                                            void *ctx);
/* Inside a task: returns when every worker has reached it. */
SPRUNG_REALTIME void sprung_worker_pool_barrier(SprungWorkerPool *pool, uint32_t worker);

/* Sets flush-to-zero and denormals-are-zero on the calling thread (what
 * the pool's threads do at start). */
void sprung_set_flush_to_zero(void);

#endif
