/* The worker pool: lock-free hand-over, completion and barrier, spinning
 * briefly and then sleeping on a Linux futex (portable builds without futex
 * spin and yield). See worker_pool.h for the protocol.
 * new/free: control thread; run/barrier: the caller thread and tasks. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__linux__)
#  include <linux/futex.h>
#  include <sys/syscall.h>
#  include <unistd.h>
#endif
#if defined(__SSE__)
#  include <xmmintrin.h>
#endif

#include "util/worker_pool.h"

/* Pause instructions before a waiter sleeps. Inside a block (barriers,
 * and the caller waiting for the workers' share) the partner is microseconds
 * away, and a futex sleep costs tens of microseconds to wake from, far more
 * on a loaded machine: spin long (about 0.1-1 ms). Between blocks a worker
 * spins briefly, then sleeps until the next block, leaving its core to
 * others. Measured: with 4,096 spins everywhere, two workers on a loaded
 * 2-core machine slept at most barriers and ran 20-30x slower. */
#define POOL_SPIN_BLOCK (1 << 18)
#define POOL_SPIN_IDLE (1 << 14)
#define POOL_SPIN_PURE (1 << 16)
#define POOL_SLEEP_TIMEOUT_NS 20000000L /* a lost wake-up costs at most 20 ms */

typedef struct PoolWorker {
    SprungWorkerPool *pool;
    pthread_t thread;
    uint32_t index;
    uint32_t barrier_sense; /* touched only by this worker */
    char pad[64];
} PoolWorker;

struct SprungWorkerPool {
    uint32_t n_workers;
    SprungWorkerPoolSabotage sabotage;
    PoolWorker *workers; /* n_workers; [0] is the caller */
    uint32_t n_threads_started;

    /* The task: plain data, published by `generation`. */
    SprungWorkerTask task;
    void *ctx;
    int quit;

    _Alignas(64) _Atomic uint32_t generation;
    _Atomic uint32_t generation_sleepers;
    _Alignas(64) _Atomic uint32_t remaining;
    _Atomic uint32_t caller_sleeping;
    _Alignas(64) _Atomic uint32_t barrier_count;
    _Alignas(64) _Atomic uint32_t barrier_sense;
    _Atomic uint32_t barrier_sleepers;

    /* Only for SPRUNG_WORKER_POOL_SABOTAGE_MUTEX. */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
};

static inline void cpu_relax(void)
{
#if defined(__SSE2__) || defined(__x86_64__)
    _mm_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* Sleeps while *word == expected (or until woken or timed out). */
static void futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
#if defined(__linux__)
    struct timespec timeout = {0, POOL_SLEEP_TIMEOUT_NS};
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, &timeout, NULL, 0);
#else
    (void)word;
    (void)expected;
    sched_yield();
#endif
}

static void futex_wake_all(_Atomic uint32_t *word)
{
#if defined(__linux__)
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)word;
#endif
}

/* Waits until *word != value; returns the new value. */
static uint32_t wait_while_equal(_Atomic uint32_t *word, uint32_t value,
                                 _Atomic uint32_t *sleepers, memory_order order, int spins)
{
    uint32_t now;
    for (int spin = 0; spin < spins; ++spin) {
        now = atomic_load_explicit(word, order);
        if (now != value)
            return now;
        cpu_relax();
        /* The partner may be waiting for this very core (more threads than
         * free cores): after a short pure spin, offer the core now and then
         * (sched_yield never blocks; under SCHED_FIFO it only lets threads of
         * the same priority run). */
        if (spin >= POOL_SPIN_PURE && spin % 64 == 0)
            sched_yield();
    }
    atomic_fetch_add_explicit(sleepers, 1, memory_order_seq_cst);
    while ((now = atomic_load_explicit(word, order == memory_order_relaxed
                                                     ? memory_order_relaxed
                                                     : memory_order_seq_cst)) == value)
        futex_wait(word, value);
    atomic_fetch_sub_explicit(sleepers, 1, memory_order_relaxed);
    return now;
}

void sprung_set_flush_to_zero(void)
{
#if defined(__SSE__)
    _mm_setcsr(_mm_getcsr() | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
#elif defined(__aarch64__)
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr | (1ul << 24)));
#endif
}

static void worker_finish(SprungWorkerPool *pool)
{
    if (pool->sabotage == SPRUNG_WORKER_POOL_SABOTAGE_MUTEX) {
        pthread_mutex_lock(&pool->mutex);
        atomic_fetch_sub_explicit(&pool->remaining, 1, memory_order_seq_cst);
        pthread_cond_signal(&pool->cond);
        pthread_mutex_unlock(&pool->mutex);
        return;
    }
    memory_order order = pool->sabotage == SPRUNG_WORKER_POOL_SABOTAGE_RELAXED
                             ? memory_order_relaxed
                             : memory_order_seq_cst; /* release, and Dekker with the sleeper flag */
    if (atomic_fetch_sub_explicit(&pool->remaining, 1, order) == 1 &&
        atomic_load_explicit(&pool->caller_sleeping, memory_order_seq_cst))
        futex_wake_all(&pool->remaining);
}

static void *worker_main(void *arg)
{
    PoolWorker *self = arg;
    SprungWorkerPool *pool = self->pool;
    memory_order order = pool->sabotage == SPRUNG_WORKER_POOL_SABOTAGE_RELAXED
                             ? memory_order_relaxed
                             : memory_order_acquire;
    sprung_set_flush_to_zero();
    uint32_t seen = 0;
    for (;;) {
        seen = wait_while_equal(&pool->generation, seen, &pool->generation_sleepers, order,
                                POOL_SPIN_IDLE);
        if (pool->quit)
            break;
        pool->task(pool->ctx, self->index, pool->n_workers);
        worker_finish(pool);
    }
    return NULL;
}

SprungStatus sprung_worker_pool_new(uint32_t n_workers, SprungWorkerPool **out)
{
    return sprung_worker_pool_new_sabotaged(n_workers, SPRUNG_WORKER_POOL_CORRECT, out);
}

SprungStatus sprung_worker_pool_new_sabotaged(uint32_t n_workers, SprungWorkerPoolSabotage sabotage,
                                            SprungWorkerPool **out)
{
    *out = NULL;
    if (n_workers < 1)
        n_workers = 1;
    SprungWorkerPool *pool = aligned_alloc(64, (sizeof *pool + 63) / 64 * 64);
    if (!pool)
        return SPRUNG_ERROR_NO_MEMORY;
    memset(pool, 0, sizeof *pool);
    pool->n_workers = n_workers;
    pool->sabotage = sabotage;
    pool->workers = calloc(n_workers, sizeof *pool->workers);
    if (!pool->workers) {
        free(pool);
        return SPRUNG_ERROR_NO_MEMORY;
    }
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->cond, NULL);
    for (uint32_t w = 0; w < n_workers; ++w) {
        pool->workers[w].pool = pool;
        pool->workers[w].index = w;
    }
    for (uint32_t w = 1; w < n_workers; ++w) {
        if (pthread_create(&pool->workers[w].thread, NULL, worker_main, &pool->workers[w])) {
            sprung_worker_pool_free(pool);
            return SPRUNG_ERROR_NO_MEMORY;
        }
        pool->n_threads_started = w;
    }
    *out = pool;
    return SPRUNG_OK;
}

void sprung_worker_pool_free(SprungWorkerPool *pool)
{
    if (!pool)
        return;
    if (pool->n_threads_started) {
        pool->quit = 1;
        atomic_fetch_add_explicit(&pool->generation, 1, memory_order_seq_cst);
        futex_wake_all(&pool->generation);
        for (uint32_t w = 1; w <= pool->n_threads_started; ++w)
            pthread_join(pool->workers[w].thread, NULL);
    }
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->cond);
    free(pool->workers);
    free(pool);
}

uint32_t sprung_worker_pool_workers(const SprungWorkerPool *pool)
{
    return pool ? pool->n_workers : 1;
}

SprungStatus sprung_worker_pool_set_priority(SprungWorkerPool *pool, int policy, int priority)
{
    struct sched_param param = {.sched_priority = priority};
    for (uint32_t w = 1; w <= pool->n_threads_started; ++w)
        if (pthread_setschedparam(pool->workers[w].thread, policy, &param))
            return SPRUNG_ERROR_UNSUPPORTED;
    return SPRUNG_OK;
}

void sprung_worker_pool_match_audio(SprungWorkerPool *pool, int priority)
{
    if (pool && priority > 0)
        (void)sprung_worker_pool_set_priority(pool, SCHED_FIFO, priority);
}

void sprung_worker_pool_priority(const SprungWorkerPool *pool, int *policy, int *priority)
{
    struct sched_param param = {.sched_priority = 0};
    *policy = SCHED_OTHER;
    if (pool && pool->n_threads_started >= 1)
        pthread_getschedparam(pool->workers[1].thread, policy, &param);
    *priority = param.sched_priority;
}

SPRUNG_REALTIME void sprung_worker_pool_run(SprungWorkerPool *pool, SprungWorkerTask task,
                                            void *ctx)
{
    if (pool->n_workers == 1) {
        task(ctx, 0, 1);
        return;
    }
    pool->task = task;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->remaining, pool->n_workers - 1, memory_order_relaxed);

    if (pool->sabotage == SPRUNG_WORKER_POOL_SABOTAGE_MUTEX) {
        /* The bug: a lock (and a condition wait) on the audio thread. */
        pthread_mutex_lock(&pool->mutex);
        atomic_fetch_add_explicit(&pool->generation, 1, memory_order_seq_cst);
        pthread_mutex_unlock(&pool->mutex);
        futex_wake_all(&pool->generation);
        task(ctx, 0, pool->n_workers);
        pthread_mutex_lock(&pool->mutex);
        while (atomic_load_explicit(&pool->remaining, memory_order_seq_cst) != 0)
            pthread_cond_wait(&pool->cond, &pool->mutex);
        pthread_mutex_unlock(&pool->mutex);
        return;
    }

    int relaxed = pool->sabotage == SPRUNG_WORKER_POOL_SABOTAGE_RELAXED;
    atomic_fetch_add_explicit(&pool->generation, 1,
                              relaxed ? memory_order_relaxed : memory_order_seq_cst);
    if (atomic_load_explicit(&pool->generation_sleepers, memory_order_seq_cst))
        futex_wake_all(&pool->generation);

    task(ctx, 0, pool->n_workers);

    memory_order order = relaxed ? memory_order_relaxed : memory_order_acquire;
    for (int spin = 0; spin < POOL_SPIN_BLOCK; ++spin) {
        if (atomic_load_explicit(&pool->remaining, order) == 0)
            return;
        cpu_relax();
    }
    atomic_store_explicit(&pool->caller_sleeping, 1, memory_order_seq_cst);
    uint32_t left;
    while ((left = atomic_load_explicit(&pool->remaining, relaxed ? memory_order_relaxed
                                                                  : memory_order_seq_cst)) != 0)
        futex_wait(&pool->remaining, left);
    atomic_store_explicit(&pool->caller_sleeping, 0, memory_order_relaxed);
}

SPRUNG_REALTIME void sprung_worker_pool_barrier(SprungWorkerPool *pool, uint32_t worker)
{
    uint32_t n = pool->n_workers;
    if (n == 1)
        return;
    uint32_t sense = pool->workers[worker].barrier_sense ^= 1u;
    if (atomic_fetch_add_explicit(&pool->barrier_count, 1, memory_order_acq_rel) == n - 1) {
        atomic_store_explicit(&pool->barrier_count, 0, memory_order_relaxed);
        atomic_store_explicit(&pool->barrier_sense, sense, memory_order_seq_cst);
        if (atomic_load_explicit(&pool->barrier_sleepers, memory_order_seq_cst))
            futex_wake_all(&pool->barrier_sense);
        return;
    }
    wait_while_equal(&pool->barrier_sense, sense ^ 1u, &pool->barrier_sleepers,
                     memory_order_acquire, POOL_SPIN_BLOCK);
}
