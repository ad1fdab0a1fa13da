/* The keeper's work set-up on a short-lived thread of its own (see
 * keeper_setup.h): the keeper thread starts it, sleeps on a condition
 * variable until it ends or the next keepalive is due, and joins the thread
 * only once it has said it is done, so the join does not wait in practice.
 * Keeper thread only (the set-up thread runs setup_run and nothing else). */
#include <errno.h>
#include <time.h>

#include "keeper/keeper_setup.h"

static int setup_done(const KeeperSetup *setup)
{
    return atomic_load_explicit(&setup->finished, setup->mode == KEEPER_SETUP_UNJOINED
                                                      ? memory_order_relaxed
                                                      : memory_order_acquire);
}

/* Creates the wanted work, falling back CUDA -> OpenCL -> no-op when a kind
 * is not supported in this build or on this machine; a real failure of a
 * supported kind stops there, to be retried with backoff. */
static void setup_create(KeeperSetup *setup)
{
    static const KeeperWorkOps *const chain[] = {&keeper_work_cuda, &keeper_work_opencl,
                                                 &keeper_work_noop};
    setup->ops = NULL;
    setup->ctx = NULL;
    setup->code = 0;
    for (size_t i = 0; i < sizeof chain / sizeof chain[0]; ++i) {
        if (chain[i]->kind > setup->wanted)
            continue;
        char reason[256] = ""; /* for a debugger: the keeper reports codes only */
        void *ctx = NULL;
        SprungStatus status = chain[i]->create(&setup->config, &ctx, &setup->code, reason,
                                               sizeof reason);
        if (status == SPRUNG_OK) {
            setup->ops = chain[i];
            setup->ctx = ctx;
            return;
        }
        if (status != SPRUNG_ERROR_UNSUPPORTED)
            return;
    }
}

static void setup_run(KeeperSetup *setup)
{
    setup_create(setup);
    if (setup->mode == KEEPER_SETUP_UNJOINED) {
        /* The sabotage publishes with nothing for TSan to order by. */
        atomic_store_explicit(&setup->finished, 1, memory_order_relaxed);
        return;
    }
    pthread_mutex_lock(&setup->lock);
    atomic_store_explicit(&setup->finished, 1, memory_order_release);
    pthread_cond_signal(&setup->done);
    pthread_mutex_unlock(&setup->lock);
}

static void *setup_thread_main(void *opaque)
{
    setup_run(opaque);
    return NULL;
}

static void setup_sync_init(KeeperSetup *setup)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&setup->done, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&setup->lock, NULL);
}

static void setup_sync_destroy(KeeperSetup *setup)
{
    pthread_cond_destroy(&setup->done);
    pthread_mutex_destroy(&setup->lock);
}

int keeper_setup_start(KeeperSetup *setup, SprungKeeperWork wanted,
                       const KeeperWorkConfig *config, KeeperSetupMode mode, int64_t *code)
{
    *code = 0;
    setup->wanted = wanted;
    setup->config = *config;
    setup->mode = mode;
    atomic_store_explicit(&setup->finished, 0, memory_order_relaxed);
    setup->threaded = 0;
    setup_sync_init(setup);
    if (mode == KEEPER_SETUP_BLOCKING) {
        setup_run(setup);
    } else {
        int err = pthread_create(&setup->thread, NULL, setup_thread_main, setup);
        if (err != 0) {
            setup_sync_destroy(setup);
            *code = err;
            return 0;
        }
        if (mode == KEEPER_SETUP_UNJOINED)
            pthread_detach(setup->thread);
        else
            setup->threaded = 1;
    }
    setup->busy = 1;
    return 1;
}

int keeper_setup_wait(KeeperSetup *setup, uint64_t deadline_us)
{
    if (!setup->busy)
        return 0;
    struct timespec until = {.tv_sec = (time_t)(deadline_us / 1000000u),
                             .tv_nsec = (long)(deadline_us % 1000000u) * 1000L};
    /* The flag is read under the lock the set-up thread signals under, so
     * its wake-up cannot fall between the test and the wait. */
    pthread_mutex_lock(&setup->lock);
    while (!setup_done(setup) &&
           pthread_cond_timedwait(&setup->done, &setup->lock, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&setup->lock);
    return setup_done(setup);
}

int keeper_setup_collect(KeeperSetup *setup, int wait, const KeeperWorkOps **ops, void **ctx,
                         int64_t *code)
{
    if (!setup->busy)
        return 0;
    if (!wait && !setup_done(setup))
        return 0;
    /* Finished, or shutting down: the thread is at most returning now, or
     * (wait) still in create(), which cannot be interrupted; its outcome must
     * be destroyed, not left behind. */
    if (setup->threaded)
        pthread_join(setup->thread, NULL);
    while (setup->mode == KEEPER_SETUP_UNJOINED && !setup_done(setup)) {
        struct timespec nap = {0, 1000000L};
        nanosleep(&nap, NULL);
    }
    setup_sync_destroy(setup);
    setup->threaded = 0;
    setup->busy = 0;
    *ops = setup->ops;
    *ctx = setup->ctx;
    *code = setup->code;
    setup->ops = NULL;
    setup->ctx = NULL;
    return 1;
}
