/* The keeper's work created and destroyed on a short-lived thread of its own
 * (see keeper_work_thread.h): the keeper thread starts a job, sleeps on a
 * condition variable until it ends or the next keepalive is due, and joins
 * the thread only once it has said it is done, so the join does not wait in
 * practice. Keeper thread only (the work thread runs job_run and nothing
 * else). */
#include <errno.h>
#include <time.h>

#include "keeper/keeper_work_thread.h"

static int job_done(const KeeperWorkThread *worker)
{
    return atomic_load_explicit(&worker->finished, worker->mode == KEEPER_JOB_UNJOINED
                                                       ? memory_order_relaxed
                                                       : memory_order_acquire);
}

/* Creates the wanted work, falling back CUDA -> OpenCL -> no-op when a kind
 * is not supported in this build or on this machine; a real failure of a
 * supported kind stops there, to be retried with backoff. */
static void job_create(KeeperWorkThread *worker)
{
    static const KeeperWorkOps *const chain[] = {&keeper_work_cuda, &keeper_work_opencl,
                                                 &keeper_work_noop};
    worker->ops = NULL;
    worker->ctx = NULL;
    worker->code = 0;
    for (size_t i = 0; i < sizeof chain / sizeof chain[0]; ++i) {
        if (chain[i]->kind > worker->wanted)
            continue;
        char reason[256] = ""; /* for a debugger: the keeper reports codes only */
        void *ctx = NULL;
        SprungStatus status = chain[i]->create(&worker->config, &ctx, &worker->code, reason,
                                               sizeof reason);
        if (status == SPRUNG_OK) {
            worker->ops = chain[i];
            worker->ctx = ctx;
            return;
        }
        if (status != SPRUNG_ERROR_UNSUPPORTED)
            return;
    }
}

static void job_destroy(KeeperWorkThread *worker)
{
    worker->ops->destroy(worker->ctx);
    worker->ops = NULL;
    worker->ctx = NULL;
}

static void job_run(KeeperWorkThread *worker)
{
    if (worker->job == KEEPER_JOB_CREATE)
        job_create(worker);
    else
        job_destroy(worker);
    if (worker->mode == KEEPER_JOB_UNJOINED) {
        /* The sabotage publishes with nothing for TSan to order by. */
        atomic_store_explicit(&worker->finished, 1, memory_order_relaxed);
        return;
    }
    pthread_mutex_lock(&worker->lock);
    atomic_store_explicit(&worker->finished, 1, memory_order_release);
    pthread_cond_signal(&worker->done);
    pthread_mutex_unlock(&worker->lock);
}

static void *work_thread_main(void *opaque)
{
    job_run(opaque);
    return NULL;
}

static void sync_init(KeeperWorkThread *worker)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&worker->done, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&worker->lock, NULL);
}

static void sync_destroy(KeeperWorkThread *worker)
{
    pthread_cond_destroy(&worker->done);
    pthread_mutex_destroy(&worker->lock);
}

/* Runs the job set up in *worker as `mode` says. Returns 0, or the error of
 * pthread_create (nothing is busy then). */
static int job_start(KeeperWorkThread *worker, KeeperJobMode mode)
{
    worker->mode = mode;
    atomic_store_explicit(&worker->finished, 0, memory_order_relaxed);
    worker->threaded = 0;
    sync_init(worker);
    if (mode == KEEPER_JOB_BLOCKING) {
        job_run(worker);
    } else {
        int err = pthread_create(&worker->thread, NULL, work_thread_main, worker);
        if (err != 0) {
            sync_destroy(worker);
            return err;
        }
        if (mode == KEEPER_JOB_UNJOINED)
            pthread_detach(worker->thread);
        else
            worker->threaded = 1;
    }
    worker->busy = 1;
    return 0;
}

int keeper_work_thread_create(KeeperWorkThread *worker, SprungKeeperWork wanted,
                              const KeeperWorkConfig *config, KeeperJobMode mode,
                              int64_t *code)
{
    worker->job = KEEPER_JOB_CREATE;
    worker->wanted = wanted;
    worker->config = *config;
    *code = job_start(worker, mode);
    return *code == 0;
}

void keeper_work_thread_destroy(KeeperWorkThread *worker, const KeeperWorkOps *ops, void *ctx,
                                KeeperJobMode mode)
{
    worker->job = KEEPER_JOB_DESTROY;
    worker->ops = ops;
    worker->ctx = ctx;
    worker->code = 0;
    if (job_start(worker, mode) != 0)
        job_start(worker, KEEPER_JOB_BLOCKING);
}

int keeper_work_thread_wait(KeeperWorkThread *worker, uint64_t deadline_us)
{
    if (!worker->busy)
        return 0;
    struct timespec until = {.tv_sec = (time_t)(deadline_us / 1000000u),
                             .tv_nsec = (long)(deadline_us % 1000000u) * 1000L};
    /* The flag is read under the lock the work thread signals under, so its
     * wake-up cannot fall between the test and the wait. */
    pthread_mutex_lock(&worker->lock);
    while (!job_done(worker) &&
           pthread_cond_timedwait(&worker->done, &worker->lock, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&worker->lock);
    return job_done(worker);
}

KeeperJob keeper_work_thread_collect(KeeperWorkThread *worker, int wait,
                                     const KeeperWorkOps **ops, void **ctx, int64_t *code)
{
    if (!worker->busy)
        return KEEPER_JOB_NONE;
    if (!wait && !job_done(worker))
        return KEEPER_JOB_NONE;
    /* Finished, or shutting down: the thread is at most returning now, or
     * (wait) still in create() or destroy(), which cannot be interrupted;
     * it must be over before the keeper thread (and, at dlclose, the
     * library's code) goes away, and what a create made must be destroyed,
     * not left behind. */
    if (worker->threaded)
        pthread_join(worker->thread, NULL);
    while (worker->mode == KEEPER_JOB_UNJOINED && !job_done(worker)) {
        struct timespec nap = {0, 1000000L};
        nanosleep(&nap, NULL);
    }
    sync_destroy(worker);
    worker->threaded = 0;
    worker->busy = 0;
    *ops = worker->ops;
    *ctx = worker->ctx;
    *code = worker->code;
    worker->ops = NULL;
    worker->ctx = NULL;
    return worker->job;
}
