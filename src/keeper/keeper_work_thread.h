/* Creating and destroying the keeper's spin work off the keeper thread: the
 * work's create() (with the fallback CUDA -> OpenCL -> no-op) and its
 * destroy() run on a short-lived work thread, so a slow one (a first,
 * uncached OpenCL program build; tearing down an OpenCL or CUDA context)
 * never keeps the keeper thread from refreshing its keepalives
 * (docs/keeper.md, Set-up and tear-down). Private to libsprung; keeper
 * thread only: one job at a time, started, waited for with a time limit,
 * collected. */
#ifndef SPRUNG_KEEPER_WORK_THREAD_H
#define SPRUNG_KEEPER_WORK_THREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "keeper/keeper_work.h"

typedef enum KeeperJob {
    KEEPER_JOB_NONE,    /* nothing was collected */
    KEEPER_JOB_CREATE,  /* set up the wanted work */
    KEEPER_JOB_DESTROY, /* tear down a work no longer needed */
} KeeperJob;

/* How a job runs: on the work thread, or one of the tests' sabotages. */
typedef enum KeeperJobMode {
    KEEPER_JOB_THREAD,   /* on the work thread, joined once it is done */
    KEEPER_JOB_BLOCKING, /* on the keeper thread (sabotage, or the fallback for
                            a destroy when no thread can be started) */
    KEEPER_JOB_UNJOINED, /* sabotage: thread detached, outcome taken after a
                            relaxed load, so nothing orders it (a data race
                            ThreadSanitizer must report) */
} KeeperJobMode;

typedef struct KeeperWorkThread {
    /* The job: written before the work thread starts. */
    KeeperJob job;
    KeeperJobMode mode;
    SprungKeeperWork wanted; /* create: the kind asked for */
    KeeperWorkConfig config;
    /* create: its outcome, written by the work thread before it publishes
     * `finished` (release, under `lock`), read by the keeper thread after
     * joining it. destroy: the work to tear down. */
    const KeeperWorkOps *ops; /* NULL when no work could be created */
    void *ctx;
    int64_t code;
    atomic_int finished;
    pthread_mutex_t lock; /* with `done`: the keeper thread sleeps until the */
    pthread_cond_t done;  /* job ends or its own deadline, CLOCK_MONOTONIC */
    /* Keeper thread only. */
    pthread_t thread;
    int busy;     /* started and not collected: no second job meanwhile */
    int threaded; /* it ran on a thread that is still to be joined */
} KeeperWorkThread;

/* Starts setting up `wanted` work. Returns 0, with the reason in *code (an
 * errno), when no thread could be started; nothing is busy then. Only while
 * none is busy. */
int keeper_work_thread_create(KeeperWorkThread *worker, SprungKeeperWork wanted,
                              const KeeperWorkConfig *config, KeeperJobMode mode,
                              int64_t *code);

/* Starts tearing down a work (ops, ctx), which the work thread then owns.
 * When no thread can be started it is destroyed here and now: a context
 * leaked at every failure would cost more than one late keepalive. Only
 * while none is busy. */
void keeper_work_thread_destroy(KeeperWorkThread *worker, const KeeperWorkOps *ops, void *ctx,
                                KeeperJobMode mode);

/* Whether a job was started and not yet collected. */
static inline int keeper_work_thread_busy(const KeeperWorkThread *worker)
{
    return worker->busy;
}

/* Waits until the job under way is done or CLOCK_MONOTONIC reaches
 * `deadline_us` (microseconds), whichever comes first, without polling: the
 * work thread wakes it. Returns whether it is done (0 when none is busy). */
int keeper_work_thread_wait(KeeperWorkThread *worker, uint64_t deadline_us);

/* Collects a finished job: joins its thread and returns which job it was
 * (KEEPER_JOB_NONE while it is still running or none is busy). For a create,
 * hands over the work created (*ops, *ctx; *ops NULL and the error in *code
 * when creating failed), which the caller then owns. `wait`: waits for a
 * running job (shutdown only). */
KeeperJob keeper_work_thread_collect(KeeperWorkThread *worker, int wait,
                                     const KeeperWorkOps **ops, void **ctx, int64_t *code);

#endif
