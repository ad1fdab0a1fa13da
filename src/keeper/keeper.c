/* The keeper inside one copy of libsprung: the reference count that
 * simulations take and drop (control thread), and the keeper thread that
 * publishes this copy's demand, competes for ownership and, while owner,
 * runs the spin work (docs/keeper.md). Two dlopen'ed copies each have their
 * own statics here and meet only in the shared segment, like two processes.
 * The work's set-up and tear-down run on a short-lived thread of their own
 * (keeper_work_thread.c). Nothing here runs on, or waits for, the audio
 * thread. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keeper/keeper_shm.h"
#include "keeper/keeper_work.h"
#include "keeper/keeper_work_thread.h"
#include "model/model.h"

/* Retrying failed spin work: first after this, doubling up to the cap. */
#define KEEPER_BACKOFF_FIRST_MS 10u
#define KEEPER_BACKOFF_MAX_MS 5000u
/* How long the destructor waits for the keeper thread at exit or dlclose. */
#define KEEPER_JOIN_TIMEOUT_MS 5000u

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* CLOCK_MONOTONIC; set up once by keeper_once */
    unsigned counts[SPRUNG_KEEPER_WORK_COUNT];
    int configured;
    SprungKeeperConfig config;
    KeeperSabotage sabotage;
    uint32_t setup_delay_ms;   /* tests only: $SPRUNG_KEEPER_TEST_SETUP_MS */
    uint32_t destroy_delay_ms; /* tests only: $SPRUNG_KEEPER_TEST_DESTROY_MS */
    KeeperAttachment attachment;
    uint32_t id;
    int running;  /* the thread is in its loop */
    int joinable; /* a thread was started and not joined */
    int stopping; /* shutdown: the thread must leave now */
    pthread_t thread;
} keeper = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t keeper_once_control = PTHREAD_ONCE_INIT;

static void keeper_shutdown(void);

static void wake_init(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&keeper.wake, &attr);
    pthread_condattr_destroy(&attr);
}

static void keeper_after_fork_child(void)
{
    /* The child has no keeper thread and is a new participant. The lock and
     * the condition variable start afresh: the parent's keeper thread may
     * have been waiting on them, a waiter the child would wait for in
     * pthread_cond_signal for ever. */
    pthread_mutex_init(&keeper.lock, NULL);
    wake_init();
    memset(keeper.counts, 0, sizeof keeper.counts);
    keeper.running = 0;
    keeper.joinable = 0;
    keeper.stopping = 0;
    keeper.id = 0;
}

static void keeper_once(void)
{
    wake_init();
    pthread_atfork(NULL, NULL, keeper_after_fork_child);
    /* atexit runs before the libraries' destructors, so the thread stops
     * while OpenCL or CUDA are still there. In a dlopen'ed copy it runs at
     * dlclose. */
    atexit(keeper_shutdown);
}

const char *sprung_keeper_work_name(SprungKeeperWork work)
{
    switch (work) {
    case SPRUNG_KEEPER_WORK_NONE: return "none";
    case SPRUNG_KEEPER_WORK_NOOP: return "noop";
    case SPRUNG_KEEPER_WORK_OPENCL: return "opencl";
    case SPRUNG_KEEPER_WORK_CUDA: return "cuda";
    case SPRUNG_KEEPER_WORK_COUNT: break;
    }
    return "unknown";
}

static uint32_t env_uint(const char *name, uint32_t fallback, uint32_t min, uint32_t max)
{
    const char *text = getenv(name);
    if (!text || !*text)
        return fallback;
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno || *end || value < min || value > max)
        return fallback;
    return (uint32_t)value;
}

SprungKeeperConfig sprung_keeper_config_default(void)
{
    SprungKeeperConfig config = {
        .stale_ms = env_uint("SPRUNG_KEEPER_STALE_MS", 500, 10, 600000),
        .linger_ms = env_uint("SPRUNG_KEEPER_LINGER_MS", 2000, 0, 3600000),
        .spin_us = env_uint("SPRUNG_KEEPER_SPIN_US", 100, 1, 1000000),
        .period_us = env_uint("SPRUNG_KEEPER_PERIOD_US", 1000, 100, 10000000),
        .force = env_uint("SPRUNG_KEEPER_FORCE", 0, 0, 1),
        .work_override = SPRUNG_KEEPER_WORK_NONE,
    };
    const char *name = getenv("SPRUNG_KEEPER_SHM");
    snprintf(config.shm_name, sizeof config.shm_name, "%s",
             name && *name ? name : KEEPER_DEFAULT_SHM);
    const char *work = getenv("SPRUNG_KEEPER_WORK");
    for (int w = SPRUNG_KEEPER_WORK_NOOP; work && w < SPRUNG_KEEPER_WORK_COUNT; ++w)
        if (!strcmp(work, sprung_keeper_work_name((SprungKeeperWork)w)))
            config.work_override = (SprungKeeperWork)w;
    return config;
}

/* Sabotage is for the tests' private segments only, never the machine's. */
static KeeperSabotage sabotage_from_env(const SprungKeeperConfig *config)
{
    const char *text = getenv("SPRUNG_KEEPER_SABOTAGE");
    if (!text || !*text || !strcmp(config->shm_name, KEEPER_DEFAULT_SHM))
        return KEEPER_SABOTAGE_NONE;
    static const struct {
        const char *name;
        KeeperSabotage sabotage;
    } names[] = {
        {"store", KEEPER_SABOTAGE_STORE},
        {"ignore-stale", KEEPER_SABOTAGE_IGNORE_STALE},
        {"no-release", KEEPER_SABOTAGE_NO_RELEASE},
        {"ignore-demand", KEEPER_SABOTAGE_IGNORE_DEMAND},
        {"pid-identity", KEEPER_SABOTAGE_PID_IDENTITY},
        {"blocking-wait", KEEPER_SABOTAGE_BLOCKING_WAIT},
        {"blocking-setup", KEEPER_SABOTAGE_BLOCKING_SETUP},
        {"unjoined-setup", KEEPER_SABOTAGE_UNJOINED_SETUP},
        {"blocking-destroy", KEEPER_SABOTAGE_BLOCKING_DESTROY},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
        if (!strcmp(text, names[i].name)) {
            fprintf(stderr, "libsprung keeper: SABOTAGE '%s' on %s (tests only)\n", text,
                    config->shm_name);
            return names[i].sabotage;
        }
    return KEEPER_SABOTAGE_NONE;
}

/* How long the no-op work's create() or destroy() takes, standing in in the
 * tests for a slow first OpenCL build or a slow context tear-down. Like
 * sabotage, never on the machine's segment: there it is 0 whatever the
 * environment says. */
static uint32_t test_delay_from_env(const SprungKeeperConfig *config, const char *name)
{
    if (!strcmp(config->shm_name, KEEPER_DEFAULT_SHM))
        return 0;
    return env_uint(name, 0, 0, 600000);
}

SprungStatus sprung_keeper_configure(const SprungKeeperConfig *config)
{
    if (!config)
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&keeper.lock);
    unsigned held = 0;
    for (int w = 0; w < SPRUNG_KEEPER_WORK_COUNT; ++w)
        held += keeper.counts[w];
    SprungStatus status = SPRUNG_ERROR_INVALID_ARGUMENT;
    if (held == 0 && !keeper.running) {
        /* A new segment name means a new participant there. */
        if (keeper.attachment.segment && strcmp(config->shm_name, keeper.config.shm_name)) {
            keeper_segment_detach(&keeper.attachment);
            keeper.id = 0;
        }
        keeper.config = *config;
        keeper.configured = 1;
        status = SPRUNG_OK;
    }
    pthread_mutex_unlock(&keeper.lock);
    return status;
}

static uint64_t monotonic_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

/* Waits on keeper.wake (lock held) until `deadline_us` or a signal. */
static void wait_until(uint64_t deadline_us)
{
    struct timespec until = {.tv_sec = (time_t)(deadline_us / 1000000u),
                             .tv_nsec = (long)(deadline_us % 1000000u) * 1000L};
    pthread_cond_timedwait(&keeper.wake, &keeper.lock, &until);
}

/* The strongest kind of work a held reference asks for (CUDA over OpenCL
 * over no-op); NONE when nothing is held. */
static SprungKeeperWork wanted_work(void)
{
    for (int w = SPRUNG_KEEPER_WORK_COUNT - 1; w > SPRUNG_KEEPER_WORK_NONE; --w)
        if (keeper.counts[w])
            return (SprungKeeperWork)w;
    return SPRUNG_KEEPER_WORK_NONE;
}

typedef struct WorkState {
    const KeeperWorkOps *ops;
    void *ctx;
    SprungKeeperWork wanted;   /* what the references asked for */
    uint32_t backoff_ms;
    uint64_t next_try_us;
    int in_flight;             /* a kernel may still run: poll it before the next launch */
    int counts;                /* ...and it is a spin of ours (not create's trial) */
    uint64_t launched_us;
    KeeperWorkThread worker;   /* create() or destroy() on its own thread, when busy */
    KeeperSabotage sabotage;   /* tests only; fixed for the keeper thread's life */
} WorkState;

/* How a job runs: on the work thread, unless a test's sabotage puts it back
 * on the keeper thread (blocking-setup, blocking-destroy) or takes its
 * outcome with nothing ordering it (unjoined-setup). */
static KeeperJobMode job_mode(KeeperJob job, KeeperSabotage sabotage)
{
    int create = job == KEEPER_JOB_CREATE;
    if ((create && sabotage == KEEPER_SABOTAGE_BLOCKING_SETUP) ||
        (!create && sabotage == KEEPER_SABOTAGE_BLOCKING_DESTROY))
        return KEEPER_JOB_BLOCKING;
    if (create && sabotage == KEEPER_SABOTAGE_UNJOINED_SETUP)
        return KEEPER_JOB_UNJOINED;
    return KEEPER_JOB_THREAD;
}

/* Lets go of the work: its destroy() runs on the work thread, collected
 * like a set-up. Tearing the device side down (releasing an OpenCL context
 * with its program and queue) can take longer than the stale timeout, and
 * the keeper thread, an owner's among them (the kind changed, or its work
 * failed), must go on refreshing its keepalives meanwhile. The work thread is always free here:
 * work exists only once its set-up has been collected, and no set-up
 * starts until the tear-down before it has been. */
static void work_drop(WorkState *work)
{
    if (work->ops)
        keeper_work_thread_destroy(&work->worker, work->ops, work->ctx,
                                   job_mode(KEEPER_JOB_DESTROY, work->sabotage));
    work->ops = NULL;
    work->ctx = NULL;
    work->in_flight = 0;
}

/* Counts a failure in our slot (NULL: we hold none just now) and schedules
 * the retry. */
static void work_failed(WorkState *work, KeeperSlot *slot, int64_t code)
{
    if (slot) {
        atomic_fetch_add(&slot->errors, 1);
        atomic_store(&slot->last_error, (uint64_t)code);
    }
    work_drop(work);
    work->backoff_ms = work->backoff_ms ? work->backoff_ms * 2 : KEEPER_BACKOFF_FIRST_MS;
    if (work->backoff_ms > KEEPER_BACKOFF_MAX_MS)
        work->backoff_ms = KEEPER_BACKOFF_MAX_MS;
    work->next_try_us = monotonic_us() + (uint64_t)work->backoff_ms * 1000u;
}

/* Starts setting up the wanted work (a failure is retried with backoff).
 *
 * Set-up runs on the work thread, while the keeper thread goes on with its
 * loop: create() may take longer than the stale timeout (PoCL compiles the
 * first, uncached program with LLVM; a CUDA context takes a while too), and
 * a keeper thread blocked in it would let its slot and the owner lease go
 * stale, so that another participant takes over and the machine briefly has
 * two keepers.
 *
 * It starts only once this participant owns the lease, not before claiming
 * it. Setting up first would make every participant with demand build a
 * context and a program of its own (with many processes, many contexts on
 * one GPU for one keeper's work), and would make a takeover wait for the
 * taker's driver, so that the bound the model checks (a live owner within
 * STALE + 1 iterations of demand) would hang on create() times; the lease
 * protocol would no longer be the one tests/keeper/keeper.pml proves. The
 * price of setting up after the claim is a gap in spinning of one set-up
 * after a takeover, as before; the work thread only makes sure that gap
 * can never cost the lease.
 *
 * It starts only once the tear-down of the previous work (if any) has been
 * collected, never beside it. Both would often be on the same device, and
 * drivers are allowed to run them at once; but waiting keeps at most one
 * context of ours on the device (a deposed owner's old one is never still
 * going away while a new one is built), one job and one thread at a time,
 * and costs only a later first spin, never a keepalive: the keeper thread
 * goes on with its loop meanwhile. */
static void work_setup_start(WorkState *work, const KeeperWorkConfig *work_config,
                             KeeperSlot *slot)
{
    int64_t code = 0;
    if (!keeper_work_thread_create(&work->worker, work->wanted, work_config,
                                   job_mode(KEEPER_JOB_CREATE, work->sabotage), &code))
        work_failed(work, slot, code);
}

/* Collects the work thread's job once it has finished (`wait`: waits for
 * it), and takes over the work of a set-up, owner or not: a deposed owner's
 * (or one whose demand has gone) is then handled like any work it no longer
 * needs (its trial kernel polled, then dropped), and one whose ownership
 * came back meanwhile spins at once. Until then no second job starts, so
 * there is never more than one, and none is leaked. */
static void work_collect(WorkState *work, KeeperSlot *slot, int wait)
{
    const KeeperWorkOps *ops = NULL;
    void *ctx = NULL;
    int64_t code = 0;
    if (keeper_work_thread_collect(&work->worker, wait, &ops, &ctx, &code) != KEEPER_JOB_CREATE)
        return; /* nothing finished, or a tear-down: nothing to take over */
    if (!ops) {
        work_failed(work, slot, code);
        return;
    }
    work->ops = ops;
    work->ctx = ctx;
    /* Create may have launched a trial kernel (CUDA): poll it like a spin
     * before the first launch, but do not count it. */
    work->in_flight = 1;
    work->counts = 0;
    work->launched_us = monotonic_us();
    if (slot)
        atomic_store(&slot->work, (uint64_t)ops->kind);
}

/* Polls the kernel in flight until it is done or `deadline_us` passes. The
 * keeper never waits for a kernel in the driver: on a GPU busy with other
 * work the kernel may sit in its queue for longer than the stale timeout,
 * and the thread must be back at its keepalive before then (the loop
 * refreshes it and calls again). Between polls it sleeps a quarter of the
 * time the kernel has been in flight, at least a quarter of spin_us: a
 * kernel on time is seen done soon after it ends, one late by several
 * periods costs one wake-up per period. *done says whether it is done. */
static SprungStatus work_wait(WorkState *work, uint64_t deadline_us, uint32_t spin_us,
                              KeeperSabotage sabotage, int *done, int64_t *code)
{
    for (;;) {
        SprungStatus status = work->ops->poll(work->ctx, done, code);
        if (status != SPRUNG_OK || *done)
            return status;
        uint64_t now_us = monotonic_us();
        /* The sabotage waits however long the kernel takes, as a blocking
         * wait in the driver would. */
        int limited = sabotage != KEEPER_SABOTAGE_BLOCKING_WAIT;
        if (limited && now_us >= deadline_us)
            return SPRUNG_OK; /* still in flight */
        uint64_t flying_us = now_us - work->launched_us;
        uint64_t nap_us = (flying_us > spin_us ? flying_us : spin_us) / 4u;
        if (nap_us < 10u)
            nap_us = 10u;
        if (limited && nap_us > deadline_us - now_us)
            nap_us = deadline_us - now_us;
        struct timespec nap = {.tv_sec = (time_t)(nap_us / 1000000u),
                               .tv_nsec = (long)(nap_us % 1000000u) * 1000L};
        nanosleep(&nap, NULL); /* a signal only makes it poll sooner */
    }
}

/* One step of the owner's spin work: launch a spin unless a kernel is still
 * in flight (never two), then wait for it until `deadline_us`. A spin is
 * counted when it is done; one still running is picked up at the next
 * iteration, after the keepalive. */
static void work_spin(WorkState *work, KeeperSegment *segment, KeeperSlot *slot,
                      uint64_t deadline_us, uint32_t spin_us, KeeperSabotage sabotage)
{
    int64_t code = 0;
    if (!work->in_flight) {
        if (work->ops->launch(work->ctx, &code) != SPRUNG_OK) {
            work_failed(work, slot, code);
            return;
        }
        work->in_flight = 1;
        work->counts = 1;
        work->launched_us = monotonic_us();
    }
    int done = 0;
    if (work_wait(work, deadline_us, spin_us, sabotage, &done, &code) != SPRUNG_OK) {
        work_failed(work, slot, code);
        return;
    }
    if (!done)
        return;
    work->in_flight = 0;
    work->backoff_ms = 0;
    if (work->counts) {
        atomic_store(&slot->spinning, 1);
        atomic_fetch_add(&slot->spins, 1);
        atomic_fetch_add(&segment->spin_total, 1);
    }
}

static void *keeper_thread_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&keeper.lock);
    KeeperSegment *segment = keeper.attachment.segment;
    uint32_t stale_ms = keeper.attachment.stale_ms;
    uint32_t id = keeper.id;
    SprungKeeperConfig config = keeper.config;
    KeeperSabotage sabotage = keeper.sabotage;
    KeeperWorkConfig work_config = {.spin_us = config.spin_us,
                                    .setup_delay_ms = keeper.setup_delay_ms,
                                    .destroy_delay_ms = keeper.destroy_delay_ms};
    pthread_mutex_unlock(&keeper.lock);

    uint32_t pid = (uint32_t)getpid();
    uint64_t refresh_us = (uint64_t)stale_ms * 1000u / 10u; /* ten chances before stale */
    uint64_t linger_us = (uint64_t)config.linger_ms * 1000u;
    int slot = -1, owner = 0, published_demand = -1;
    uint64_t last_refresh_us = 0, last_demand_us = monotonic_us();
    WorkState work = {.sabotage = sabotage};
    int left_idle = 0; /* left at step 5, where running was cleared */

    for (;;) {
        pthread_mutex_lock(&keeper.lock);
        SprungKeeperWork wanted = wanted_work();
        int stopping = keeper.stopping;
        pthread_mutex_unlock(&keeper.lock);
        if (stopping)
            break;
        int local_demand = wanted != SPRUNG_KEEPER_WORK_NONE;
        /* A new kind of work only once the old one's kernel is done and
         * its set-up collected; its set-up waits for the old one's
         * tear-down. */
        if (local_demand && wanted != work.wanted && !work.in_flight &&
            !keeper_work_thread_busy(&work.worker)) {
            work_drop(&work);
            work.wanted = wanted;
            work.backoff_ms = 0;
            work.next_try_us = 0;
        }
        uint64_t now_us = monotonic_us();

        /* 1. Our slot: claim it, or refresh it (keepalive and demand bit). */
        if (slot >= 0 && (local_demand != published_demand ||
                          now_us - last_refresh_us >= refresh_us)) {
            if (keeper_slot_refresh(segment, slot, id, local_demand, sabotage)) {
                last_refresh_us = now_us;
                published_demand = local_demand;
            } else {
                slot = -1; /* it went stale and someone reclaimed it */
            }
        }
        if (slot < 0 && (local_demand || owner)) {
            slot = keeper_slot_claim(segment, stale_ms, id, local_demand, pid, work.wanted,
                                     sabotage);
            last_refresh_us = now_us;
            published_demand = local_demand;
        }

        /* 2. Demand anywhere on the machine (stale slots are swept). */
        uint32_t demand = keeper_demand_scan(segment, stale_ms, sabotage);
        if (demand)
            last_demand_us = now_us;
        int keep = demand || now_us - last_demand_us < linger_us ||
                   sabotage == KEEPER_SABOTAGE_IGNORE_DEMAND;
        int take = slot >= 0 && local_demand && demand;

        /* 3. Ownership: refresh, give up, or take over a free or stale lease.
         * Without a slot nobody could see us spin: no ownership then. */
        owner = slot >= 0 && keeper_owner_step(segment, stale_ms, id, pid, keep, take, sabotage);

        /* 4. Spin, right after the ownership check succeeded; waiting for
         * the kernel at most until the next iteration is due. The owner
         * without work first sets it up on the work thread, once a
         * tear-down there is over; a job that ends is collected whether we
         * still own the lease or not. */
        KeeperSlot *mine = slot >= 0 ? &segment->slots[slot] : NULL;
        uint64_t idle_us = refresh_us < 50000 ? refresh_us : 50000;
        uint64_t wake_us = now_us + idle_us;
        if (owner) {
            wake_us = now_us + config.period_us;
            if (!work.ops && !keeper_work_thread_busy(&work.worker) &&
                now_us >= work.next_try_us)
                work_setup_start(&work, &work_config, mine);
            /* Nothing to spin meanwhile: sleep until the work thread says
             * it is done (a quick create(), such as no-op work or a cached
             * build, is then taken over in this very iteration, as when it
             * ran on this thread) or the keepalives are due. */
            if (keeper_work_thread_busy(&work.worker))
                keeper_work_thread_wait(&work.worker, monotonic_us() + idle_us);
        }
        work_collect(&work, mine, 0);
        if (owner) {
            if (work.ops)
                work_spin(&work, segment, mine, wake_us, config.spin_us, sabotage);
        } else {
            if (slot >= 0)
                atomic_store(&segment->slots[slot].spinning, 0);
            /* Keep the work until its last kernel is done, so that ownership
             * regained meanwhile never puts a second one beside it. Its
             * outcome no longer matters to anyone. */
            if (work.in_flight) {
                int done = 0;
                int64_t code = 0;
                if (work.ops->poll(work.ctx, &done, &code) != SPRUNG_OK || done)
                    work.in_flight = 0;
            }
            if (!work.in_flight)
                work_drop(&work);
        }

        /* 5. Nothing to do for anyone: leave (acquire starts a new thread),
         * but not before a set-up or tear-down still running has been
         * collected. */
        pthread_mutex_lock(&keeper.lock);
        if (!owner && !work.in_flight && !keeper_work_thread_busy(&work.worker) &&
            wanted_work() == SPRUNG_KEEPER_WORK_NONE) {
            keeper.running = 0;
            left_idle = 1;
            pthread_mutex_unlock(&keeper.lock);
            break;
        }
        if (!keeper.stopping)
            wait_until(wake_us);
        pthread_mutex_unlock(&keeper.lock);
    }

    if (owner && sabotage != KEEPER_SABOTAGE_NO_RELEASE)
        keeper_owner_release(segment, id);
    if (slot >= 0) {
        if (sabotage == KEEPER_SABOTAGE_NO_RELEASE)
            atomic_store(&segment->slots[slot].spinning, 0);
        else
            keeper_slot_release(segment, slot, id);
    }
    /* Shutting down: the lease and the slot are handed back above, so the
     * others take over now, whatever the work thread is doing; then wait for
     * its job (a set-up's work is taken over), destroy the work and wait for
     * that too. Nothing of ours runs on after this thread: at dlclose the
     * library's code goes away. */
    work_collect(&work, NULL, 1);
    work_drop(&work);
    work_collect(&work, NULL, 1);
    /* Not after leaving idle: an acquire may already be joining this thread
     * with the lock held, and waiting for the lock here would deadlock. */
    if (!left_idle) {
        pthread_mutex_lock(&keeper.lock);
        keeper.running = 0;
        pthread_mutex_unlock(&keeper.lock);
    }
    return NULL;
}

SprungStatus sprung_keeper_acquire(SprungKeeperWork work, int *held)
{
    if (held)
        *held = 0;
    if ((unsigned)work >= SPRUNG_KEEPER_WORK_COUNT || !held)
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    pthread_once(&keeper_once_control, keeper_once);
    pthread_mutex_lock(&keeper.lock);
    if (!keeper.configured) {
        keeper.config = sprung_keeper_config_default();
        keeper.configured = 1;
    }
    if (keeper.config.work_override != SPRUNG_KEEPER_WORK_NONE)
        work = keeper.config.work_override;
    if (work == SPRUNG_KEEPER_WORK_NONE) {
        if (!keeper.config.force) {
            pthread_mutex_unlock(&keeper.lock);
            return SPRUNG_OK; /* a CPU simulation: nothing to keep warm */
        }
        work = SPRUNG_KEEPER_WORK_NOOP;
    }
    if (!keeper.attachment.segment) {
        SprungError error;
        SprungStatus status = keeper_segment_attach(keeper.config.shm_name, 1,
                                                    keeper.config.stale_ms,
                                                    &keeper.attachment, &error);
        if (status != SPRUNG_OK) {
            pthread_mutex_unlock(&keeper.lock);
            return status;
        }
        keeper.sabotage = sabotage_from_env(&keeper.config);
        keeper.setup_delay_ms = test_delay_from_env(&keeper.config,
                                                    "SPRUNG_KEEPER_TEST_SETUP_MS");
        keeper.destroy_delay_ms = test_delay_from_env(&keeper.config,
                                                      "SPRUNG_KEEPER_TEST_DESTROY_MS");
    }
    if (keeper.id == 0)
        keeper.id = keeper_new_id(keeper.attachment.segment, keeper.sabotage);
    keeper.counts[work]++;
    SprungStatus status = SPRUNG_OK;
    if (!keeper.running) {
        if (keeper.joinable) {
            /* The old thread set running = 0 and needs the lock no more. */
            pthread_join(keeper.thread, NULL);
            keeper.joinable = 0;
        }
        keeper.stopping = 0;
        if (pthread_create(&keeper.thread, NULL, keeper_thread_main, NULL) == 0) {
            keeper.running = 1;
            keeper.joinable = 1;
        } else {
            keeper.counts[work]--;
            status = SPRUNG_ERROR_NO_MEMORY;
        }
    }
    pthread_cond_signal(&keeper.wake);
    pthread_mutex_unlock(&keeper.lock);
    *held = status == SPRUNG_OK;
    return status;
}

void sprung_keeper_release(void)
{
    pthread_mutex_lock(&keeper.lock);
    SprungKeeperWork work = wanted_work();
    if (work != SPRUNG_KEEPER_WORK_NONE) {
        /* References are not told apart by kind on release: drop the
         * weakest first, so the strongest stays while any is held. */
        for (int w = SPRUNG_KEEPER_WORK_NOOP; w < SPRUNG_KEEPER_WORK_COUNT; ++w)
            if (keeper.counts[w]) {
                keeper.counts[w]--;
                break;
            }
    }
    pthread_cond_signal(&keeper.wake);
    pthread_mutex_unlock(&keeper.lock);
}

/* At exit (before the libraries' destructors) or dlclose: stop the thread,
 * hand ownership back at once, unmap. */
static void keeper_shutdown(void)
{
    pthread_mutex_lock(&keeper.lock);
    keeper.stopping = 1;
    pthread_cond_signal(&keeper.wake);
    int joinable = keeper.joinable;
    keeper.joinable = 0;
    pthread_mutex_unlock(&keeper.lock);
    if (joinable) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += KEEPER_JOIN_TIMEOUT_MS / 1000u;
        if (pthread_timedjoin_np(keeper.thread, NULL, &until) != 0)
            return; /* stuck in a driver call: leave the mapping to it */
    }
    pthread_mutex_lock(&keeper.lock);
    keeper_segment_detach(&keeper.attachment);
    keeper.id = 0;
    keeper.running = 0;
    pthread_mutex_unlock(&keeper.lock);
}

__attribute__((destructor)) static void keeper_destructor(void)
{
    keeper_shutdown();
}
