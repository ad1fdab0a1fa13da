/* Setting up the keeper's spin work off the keeper thread: the work's
 * create() (with the fallback CUDA -> OpenCL -> no-op) runs on a short-lived
 * set-up thread, so a slow create (a first, uncached OpenCL program build
 * takes longer than the stale timeout) never keeps the keeper thread from
 * refreshing its keepalives (docs/keeper.md, Set-up). Private to libsprung;
 * keeper thread only: one set-up at a time, started, waited for with a time
 * limit, collected. */
#ifndef SPRUNG_KEEPER_SETUP_H
#define SPRUNG_KEEPER_SETUP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "keeper/keeper_work.h"

/* How a set-up runs: on its thread, or one of the tests' sabotages. */
typedef enum KeeperSetupMode {
    KEEPER_SETUP_THREAD,   /* on the set-up thread, joined once it is done */
    KEEPER_SETUP_BLOCKING, /* sabotage: on the keeper thread (its old behaviour) */
    KEEPER_SETUP_UNJOINED, /* sabotage: thread detached, outcome taken after a
                              relaxed load, so nothing orders it (a data race
                              ThreadSanitizer must report) */
} KeeperSetupMode;

typedef struct KeeperSetup {
    /* What to set up: written before the set-up thread starts. */
    SprungKeeperWork wanted;
    KeeperWorkConfig config;
    KeeperSetupMode mode;
    /* The outcome: written by the set-up thread before it publishes
     * `finished` (release, under `lock`), read by the keeper thread after
     * joining it. */
    const KeeperWorkOps *ops; /* the work created; NULL when none could be */
    void *ctx;
    int64_t code;
    atomic_int finished;
    pthread_mutex_t lock; /* with `done`: the keeper thread sleeps until the */
    pthread_cond_t done;  /* set-up ends or its own deadline, CLOCK_MONOTONIC */
    /* Keeper thread only. */
    pthread_t thread;
    int busy;     /* started and not collected: no second one meanwhile */
    int threaded; /* it ran on a thread that is still to be joined */
} KeeperSetup;

/* Starts setting up `wanted` work. Returns 0, with the reason in *code (an
 * errno), when no thread could be started; nothing is busy then. */
int keeper_setup_start(KeeperSetup *setup, SprungKeeperWork wanted,
                       const KeeperWorkConfig *config, KeeperSetupMode mode, int64_t *code);

/* Whether a set-up was started and not yet collected. */
static inline int keeper_setup_busy(const KeeperSetup *setup)
{
    return setup->busy;
}

/* Waits until the set-up under way is done or CLOCK_MONOTONIC reaches
 * `deadline_us` (microseconds), whichever comes first, without polling: the
 * set-up thread wakes it. Returns whether it is done (0 when none is busy). */
int keeper_setup_wait(KeeperSetup *setup, uint64_t deadline_us);

/* Collects a finished set-up: joins its thread and hands over the work
 * created (*ops, *ctx; *ops NULL and the error in *code when creating
 * failed), which the caller then owns. Returns 0 while the set-up is still
 * running or none is busy. `wait`: waits for a running one (shutdown only). */
int keeper_setup_collect(KeeperSetup *setup, int wait, const KeeperWorkOps **ops, void **ctx,
                         int64_t *code);

#endif
