/* A slow set-up or tear-down of the spin work must not make the owner look
 * dead. A first, uncached OpenCL program build (PoCL compiles it with LLVM),
 * a CUDA context, or tearing down an OpenCL context can take longer than the
 * stale timeout; the keeper runs the work's create() and destroy() on a work
 * thread of its own and goes on refreshing its keepalives meanwhile. Here
 * no-op work whose create() or destroy() takes 1 s (five stale timeouts of
 * 200 ms; SPRUNG_KEEPER_TEST_SETUP_MS, SPRUNG_KEEPER_TEST_DESTROY_MS,
 * honoured on private segments only) stands in for such a build or
 * tear-down.
 *
 *   test_keeper_slow_setup keepalive [--sabotage]
 *       Two processes with demand on one segment. From the moment one of
 *       them owns the lease: every slot and the owner lease stay younger
 *       than the stale timeout, the owner never changes, no work fails, and
 *       the first spin comes only once the set-up is over (so it did take
 *       its second), then spins follow, all from the owner.
 *       --sabotage sets the work up on the keeper thread itself
 *       (SPRUNG_KEEPER_SABOTAGE=blocking-setup), as before the set-up
 *       thread: the owner's keepalive goes stale, the other process takes
 *       over, and the test must fail.
 *   test_keeper_slow_setup abandon [--sabotage]
 *       Demand goes away while the set-up runs: the lease is handed back at
 *       once, nothing spins, and the keeper thread leaves once the set-up is
 *       over (its work destroyed). Then demand goes away and comes back
 *       during a second set-up: that one is kept and used (the first spin
 *       one set-up after the first acquire, not two), never a second set-up
 *       beside it (no-op work counts that as error -2). Also built with
 *       ThreadSanitizer (keeper_tsan_slow_setup_abandon), where --sabotage
 *       takes the set-up's outcome with nothing to order it after the
 *       work thread's writes (SPRUNG_KEEPER_SABOTAGE=unjoined-setup): a
 *       data race TSan must report. Without TSan the sabotage goes unseen.
 *   test_keeper_slow_setup teardown [--sabotage]
 *       The owner lets go of its no-op work (a reference asking for CUDA
 *       work arrives; with no CUDA device and no OpenCL platform it is
 *       no-op work again) while a rival process with demand waits to take
 *       over a stale lease: throughout the tear-down every slot and the
 *       owner lease stay fresh, the owner never changes, and spinning
 *       pauses for the tear-down, then resumes. Then demand goes away and
 *       comes back during a tear-down: the lease is handed back and taken
 *       again at once, and the new work is set up only once the tear-down
 *       is over (no-op work counts a set-up beside it as error -3); after
 *       the last release the keeper thread stays until its tear-down is
 *       over. Also built with ThreadSanitizer. --sabotage tears the work
 *       down on the keeper thread itself
 *       (SPRUNG_KEEPER_SABOTAGE=blocking-destroy), as before the work
 *       thread: the owner's keepalive goes stale and the test must fail.
 *   test_keeper_slow_setup opencl [--sabotage]
 *       The real thing: OpenCL work with PoCL's kernel cache off, so the
 *       program is compiled afresh; keepalives fresh throughout, no errors,
 *       spins after. Skips (77) without an OpenCL platform. --sabotage as
 *       above, for a manual check only: whether it fails depends on how
 *       long the machine takes to build (here about 0.9 s).
 *
 * Prints "FAIL: ..." and exits 1 when a property does not hold. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keeper_test_runs.h"
#include "sprung/keeper.h"

#define STALE_MS 200
#define SETUP_MS 1000
#define DESTROY_MS 1000
#define WATCH_MS 2000
#define OPENCL_WATCH_MS 30000

static void nap_ms(int ms)
{
    struct timespec step = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&step, &step) != 0 && errno == EINTR) {
    }
}

/* A private segment, fast timing, no-op work unless asked otherwise, whose
 * set-up and tear-down take the times given. */
static void configure(const char *name, const char *sabotage, int setup_ms, int destroy_ms)
{
    shm_unlink(name);
    setenv("SPRUNG_KEEPER_SHM", name, 1);
    keeper_test_setenv_number("SPRUNG_KEEPER_STALE_MS", (long)STALE_MS);
    keeper_test_setenv_number("SPRUNG_KEEPER_TEST_SETUP_MS", (long)setup_ms);
    keeper_test_setenv_number("SPRUNG_KEEPER_TEST_DESTROY_MS", (long)destroy_ms);
    setenv("SPRUNG_KEEPER_SPIN_US", "500", 1);
    setenv("SPRUNG_KEEPER_PERIOD_US", "2000", 1);
    setenv("SPRUNG_KEEPER_LINGER_MS", "0", 1);
    unsetenv("SPRUNG_KEEPER_WORK");
    unsetenv("SPRUNG_KEEPER_FORCE");
    if (sabotage)
        setenv("SPRUNG_KEEPER_SABOTAGE", sabotage, 1);
    else
        unsetenv("SPRUNG_KEEPER_SABOTAGE");
}

static int acquire(SprungKeeperWork work)
{
    int held = 0;
    if (sprung_keeper_acquire(work, &held) != SPRUNG_OK || !held) {
        printf("FAIL: acquire\n");
        return 0;
    }
    return 1;
}

/* ---- Watching the segment ---- */

typedef struct Watch {
    const char *name;
    const char *phase;     /* what runs meanwhile: "set-up", "tear-down" */
    double start_ms;       /* the first acquire (set-up), the change (tear-down) */
    uint32_t owner;        /* the owner once seen, 0 before */
    double first_spin_ms;  /* since start_ms; negative until a spin is seen */
    double slot_age_max, owner_age_max;
    uint64_t spins;        /* the segment's total when last seen */
    double last_spin_ms;   /* since start_ms: when the total last grew */
    double longest_gap_ms; /* the longest time between spins (ended by a spin) */
} Watch;

static int slot_errors(const SprungKeeperSnapshot *snap)
{
    for (uint32_t i = 0; i < snap->n_slots; ++i)
        if (snap->slots[i].errors) {
            printf("FAIL: participant %u's work failed %llu times (last error %lld; -3: a "
                   "set-up beside a tear-down, -2: two set-ups at once, -1: two spins at "
                   "once)\n",
                   snap->slots[i].id, (unsigned long long)snap->slots[i].errors,
                   (long long)snap->slots[i].last_error);
            return 1;
        }
    return 0;
}

/* Once an owner is seen, it must stay the owner, with its lease and every
 * slot fresh. Returns 0 (after FAIL) when not. */
static int owner_kept(Watch *watch, const SprungKeeperSnapshot *snap)
{
    double t = keeper_test_now_ms() - watch->start_ms;
    if (snap->owner_id != watch->owner) {
        printf("FAIL: ownership lost during %s after %.0f ms: owner %u, then %u "
               "(takeovers %llu)\n",
               watch->phase, t, watch->owner, snap->owner_id,
               (unsigned long long)snap->takeovers);
        return 0;
    }
    int owner_slot = 0;
    for (uint32_t i = 0; i < snap->n_slots; ++i) {
        const SprungKeeperSlotInfo *slot = &snap->slots[i];
        owner_slot |= slot->id == watch->owner;
        if (slot->age_ms >= STALE_MS || snap->owner_age_ms >= STALE_MS) {
            printf("FAIL: keepalive stale during %s after %.0f ms: participant %u's "
                   "slot %.0f ms, owner lease %.0f ms old (stale at %u ms)\n",
                   watch->phase, t, slot->id, slot->age_ms, snap->owner_age_ms,
                   snap->stale_ms);
            return 0;
        }
        if (slot->spins && slot->id != watch->owner) {
            printf("FAIL: participant %u spun without owning the lease\n", slot->id);
            return 0;
        }
        if (slot->age_ms > watch->slot_age_max)
            watch->slot_age_max = slot->age_ms;
    }
    if (!owner_slot) {
        printf("FAIL: keepalive stale during %s after %.0f ms: the owner's slot was "
               "swept as stale\n", watch->phase, t);
        return 0;
    }
    if (snap->owner_age_ms > watch->owner_age_max)
        watch->owner_age_max = snap->owner_age_ms;
    if (snap->spin_total && watch->first_spin_ms < 0)
        watch->first_spin_ms = t;
    if (snap->spin_total != watch->spins) {
        if (t - watch->last_spin_ms > watch->longest_gap_ms)
            watch->longest_gap_ms = t - watch->last_spin_ms;
        watch->last_spin_ms = t;
    }
    watch->spins = snap->spin_total;
    return 1;
}

/* When to stop watching early (NULL: never). */
typedef int (*WatchEnough)(const Watch *watch);

static int first_spin_seen(const Watch *watch) { return watch->first_spin_ms >= 0; }

/* Watches until `until_ms` after the start, or until `enough`, at most
 * `until_ms`; returns 0 (after FAIL) on a broken property. */
static int watch_owner(Watch *watch, double until_ms, WatchEnough enough)
{
    while (keeper_test_now_ms() - watch->start_ms < until_ms && !(enough && enough(watch))) {
        nap_ms(5);
        SprungKeeperSnapshot snap;
        if (sprung_keeper_snapshot(watch->name, &snap, NULL) != SPRUNG_OK)
            continue;
        if (slot_errors(&snap))
            return 0;
        if (!watch->owner)
            watch->owner = snap.owner_id; /* the first owner seen, if any */
        if (watch->owner && !owner_kept(watch, &snap))
            return 0;
    }
    if (!watch->owner) {
        printf("FAIL: nobody became the owner in %.0f ms\n", until_ms);
        return 0;
    }
    return 1;
}

/* The first spin came once the set-up was over, and spins followed. */
static int spun_after_setup(const Watch *watch, double setup_ms)
{
    if (watch->first_spin_ms < 0) {
        printf("FAIL: no spin in %d ms (set-up takes %.0f ms)\n", WATCH_MS, setup_ms);
        return 0;
    }
    if (watch->first_spin_ms < 0.9 * setup_ms) {
        printf("FAIL: the first spin came after %.0f ms: the set-up did not take its %.0f ms "
               "(SPRUNG_KEEPER_TEST_SETUP_MS ignored?)\n",
               watch->first_spin_ms, setup_ms);
        return 0;
    }
    return 1;
}

/* ---- keepalive ---- */

/* Waits for a byte or the end of `fd`. */
static void await_byte(int fd)
{
    char byte;
    while (read(fd, &byte, 1) < 0 && errno == EINTR) {
    }
}

/* A second process with demand on the same segment, which would take over
 * a stale lease. It takes its reference at once, or (`deferred`) once a
 * byte is written to `*hold`, and holds it until `*hold` is closed. Forked
 * before this process has threads: ThreadSanitizer does not support
 * starting threads in the child of a multi-threaded fork. */
static pid_t start_rival(int *hold, int deferred)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        if (deferred)
            await_byte(fds[0]);
        if (!acquire(SPRUNG_KEEPER_WORK_NOOP))
            _exit(3);
        await_byte(fds[0]);
        sprung_keeper_release();
        exit(0); /* atexit stops its keeper and hands back what it holds */
    }
    close(fds[0]);
    *hold = fds[1];
    return pid;
}

/* Lets the rival go (it releases and exits) and reaps it. Returns `ok`, or 0
 * (after FAIL, unless a failure was already reported) when it ended badly. */
static int stop_rival(pid_t rival, int hold, int ok)
{
    close(hold);
    int status = 0;
    if (waitpid(rival, &status, 0) != rival || !WIFEXITED(status) || WEXITSTATUS(status)) {
        if (ok)
            printf("FAIL: the rival process ended badly (status %d)\n", status);
        return 0;
    }
    return ok;
}

static int case_keepalive(const char *name, int sabotaged)
{
    configure(name, sabotaged ? "blocking-setup" : NULL, SETUP_MS, 0);
    if (sabotaged)
        printf("sabotage: the keeper sets its work up on its own thread, blocking "
               "(SPRUNG_KEEPER_SABOTAGE=blocking-setup)\n");
    int hold = -1;
    pid_t rival = start_rival(&hold, 0);
    if (rival < 0) {
        printf("FAIL: fork\n");
        return 0;
    }
    Watch watch = {.name = name, .phase = "set-up", .start_ms = keeper_test_now_ms(),
                   .first_spin_ms = -1};
    int ok = acquire(SPRUNG_KEEPER_WORK_NOOP) && watch_owner(&watch, WATCH_MS, NULL) &&
             spun_after_setup(&watch, SETUP_MS);
    sprung_keeper_release();
    ok = stop_rival(rival, hold, ok);
    if (ok)
        printf("PASS: one owner throughout a %d ms set-up; first spin after %.0f ms, %llu "
               "spins; oldest keepalive seen: slot %.0f ms, owner lease %.0f ms (stale at "
               "%d ms)\n",
               SETUP_MS, watch.first_spin_ms, (unsigned long long)watch.spins,
               watch.slot_age_max, watch.owner_age_max, STALE_MS);
    return ok;
}

/* ---- abandon ---- */

/* Waits up to `limit_ms` for the segment to satisfy `done`; 0 on timeout. */
static int wait_for(const char *name, int limit_ms,
                    int (*done)(const SprungKeeperSnapshot *snap), SprungKeeperSnapshot *snap)
{
    double start = keeper_test_now_ms();
    while (keeper_test_now_ms() - start < limit_ms) {
        if (sprung_keeper_snapshot(name, snap, NULL) == SPRUNG_OK && done(snap))
            return 1;
        nap_ms(5);
    }
    return 0;
}

static int owned(const SprungKeeperSnapshot *snap) { return snap->owner_id != 0; }
static int unowned(const SprungKeeperSnapshot *snap) { return snap->owner_id == 0; }
static int no_slots(const SprungKeeperSnapshot *snap) { return snap->n_slots == 0; }
static int spun(const SprungKeeperSnapshot *snap) { return snap->spin_total != 0; }

/* Demand ends during the set-up: lease back at once, no spin, the thread
 * leaves once the set-up is over. */
static int abandon_once(const char *name)
{
    SprungKeeperSnapshot snap;
    double start = keeper_test_now_ms();
    if (!acquire(SPRUNG_KEEPER_WORK_NOOP))
        return 0;
    if (!wait_for(name, 150, owned, &snap)) {
        printf("FAIL: no owner 150 ms after the acquire\n");
        return 0;
    }
    nap_ms(300);
    sprung_keeper_release();
    if (!wait_for(name, 150, unowned, &snap)) {
        printf("FAIL: the lease was not handed back within 150 ms of the release, while "
               "the set-up ran\n");
        return 0;
    }
    if (!wait_for(name, SETUP_MS + 500, no_slots, &snap)) {
        printf("FAIL: the keeper thread was still there %.0f ms after its set-up began\n",
               keeper_test_now_ms() - start);
        return 0;
    }
    if (slot_errors(&snap))
        return 0;
    if (snap.spin_total) {
        printf("FAIL: %llu spins after demand ended during the set-up\n",
               (unsigned long long)snap.spin_total);
        return 0;
    }
    return 1;
}

/* Demand ends and returns during the set-up: the one set-up is kept. */
static int abandon_and_return(const char *name)
{
    SprungKeeperSnapshot snap;
    double start = keeper_test_now_ms();
    if (!acquire(SPRUNG_KEEPER_WORK_NOOP))
        return 0;
    nap_ms(300);
    sprung_keeper_release();
    if (!wait_for(name, 150, unowned, &snap)) {
        printf("FAIL: the lease was not handed back within 150 ms of the release\n");
        return 0;
    }
    nap_ms(200);
    if (!acquire(SPRUNG_KEEPER_WORK_NOOP))
        return 0;
    int ok = wait_for(name, 2 * SETUP_MS, spun, &snap);
    double first_spin_ms = keeper_test_now_ms() - start;
    sprung_keeper_release();
    if (!ok) {
        printf("FAIL: no spin within %d ms of demand coming back\n", 2 * SETUP_MS);
        return 0;
    }
    if (slot_errors(&snap))
        return 0;
    /* A fresh set-up on the second acquire (at ~500 ms) would put the
     * first spin at ~1500 ms or later. */
    if (first_spin_ms < 0.9 * SETUP_MS || first_spin_ms > SETUP_MS + 300) {
        printf("FAIL: the first spin came after %.0f ms, not one set-up (%d ms) after the "
               "first acquire: the set-up under way was not the one used\n",
               first_spin_ms, SETUP_MS);
        return 0;
    }
    if (!wait_for(name, 1000, no_slots, &snap)) {
        printf("FAIL: the keeper thread did not leave after the last release\n");
        return 0;
    }
    printf("PASS: demand gone during a set-up: lease handed back, nothing spun, thread "
           "left; demand back during one: it was kept (first spin after %.0f ms)\n",
           first_spin_ms);
    return 1;
}

static int case_abandon(const char *name, int sabotaged)
{
    configure(name, sabotaged ? "unjoined-setup" : NULL, SETUP_MS, 0);
    if (sabotaged)
        printf("sabotage: the set-up's outcome is taken after a relaxed load, its thread "
               "never joined (SPRUNG_KEEPER_SABOTAGE=unjoined-setup)\n");
    return abandon_once(name) && abandon_and_return(name);
}

/* ---- teardown ---- */

static int two_with_demand(const SprungKeeperSnapshot *snap)
{
    return snap->n_slots == 2 && snap->slots[0].demand && snap->slots[1].demand;
}

static int spinning_now(const SprungKeeperSnapshot *snap)
{
    for (uint32_t i = 0; i < snap->n_slots; ++i)
        if (snap->slots[i].spinning)
            return 1;
    return 0;
}

/* Spinning paused for a tear-down, then resumed. At least half of it: the
 * watcher may see the last spin before it late on a loaded machine. */
static int resumed_after_teardown(const Watch *watch)
{
    return watch->longest_gap_ms >= 0.5 * DESTROY_MS;
}

/* The owner (this process, with no-op work spinning) lets go of its work
 * while it keeps the lease: a reference asking for CUDA work arrives. A
 * rival process with demand waits to take over a stale lease. Every
 * keepalive stays fresh and the owner stays throughout; spinning pauses for
 * the tear-down and resumes once the new work is set up after it. Leaves
 * this process holding one reference. */
static int teardown_on_upgrade(const char *name)
{
    SprungKeeperSnapshot snap = {0};
    int hold = -1;
    pid_t rival = start_rival(&hold, 1);
    if (rival < 0) {
        printf("FAIL: fork\n");
        return 0;
    }
    int ok = acquire(SPRUNG_KEEPER_WORK_NOOP) && wait_for(name, 1000, spun, &snap);
    if (!ok)
        printf("FAIL: no spin within 1 s of the acquire\n");
    ok = ok && write(hold, "", 1) == 1; /* the rival's demand, now that we own the lease */
    if (ok && !wait_for(name, 1000, two_with_demand, &snap)) {
        printf("FAIL: the rival process's demand did not show within 1 s\n");
        ok = 0;
    }
    Watch watch = {.name = name, .phase = "tear-down", .start_ms = keeper_test_now_ms(),
                   .owner = snap.owner_id, .first_spin_ms = -1, .spins = snap.spin_total};
    ok = ok && acquire(SPRUNG_KEEPER_WORK_CUDA) &&
         watch_owner(&watch, DESTROY_MS + 1500, resumed_after_teardown);
    if (ok && !resumed_after_teardown(&watch)) {
        printf("FAIL: spinning did not pause for the %d ms tear-down and resume after it "
               "(longest pause %.0f ms; last spin %.0f ms after the change)\n",
               DESTROY_MS, watch.longest_gap_ms, watch.last_spin_ms);
        ok = 0;
    }
    sprung_keeper_release(); /* the no-op one: CUDA is still wanted */
    ok = stop_rival(rival, hold, ok);
    if (ok)
        printf("PASS: one owner throughout a %d ms tear-down, spinning again %.0f ms after "
               "the change; oldest keepalive seen: slot %.0f ms, owner lease %.0f ms "
               "(stale at %d ms)\n",
               DESTROY_MS, watch.last_spin_ms, watch.slot_age_max, watch.owner_age_max,
               STALE_MS);
    return ok;
}

/* Demand goes away (lease handed back at once, work torn down) and comes
 * back 300 ms into the tear-down: the lease is taken again at once, and the
 * new work set up only once the tear-down is over. */
static int teardown_and_return(const char *name)
{
    SprungKeeperSnapshot snap;
    double start = keeper_test_now_ms();
    sprung_keeper_release();
    if (!wait_for(name, 150, unowned, &snap)) {
        printf("FAIL: the lease was not handed back within 150 ms of the release\n");
        return 0;
    }
    nap_ms(300);
    if (!acquire(SPRUNG_KEEPER_WORK_NOOP))
        return 0;
    if (!wait_for(name, 150, owned, &snap)) {
        printf("FAIL: demand came back during a tear-down, but the lease was not taken "
               "within 150 ms\n");
        return 0;
    }
    int ok = wait_for(name, 2 * DESTROY_MS, spinning_now, &snap);
    double first_spin_ms = keeper_test_now_ms() - start;
    if (!ok) {
        printf("FAIL: no spin within %d ms of demand coming back\n", 2 * DESTROY_MS);
        return 0;
    }
    if (slot_errors(&snap))
        return 0;
    if (first_spin_ms < 0.9 * DESTROY_MS) {
        printf("FAIL: the first spin came %.0f ms after the release: the new work did not "
               "wait for the %d ms tear-down\n",
               first_spin_ms, DESTROY_MS);
        return 0;
    }
    printf("PASS: demand back during a tear-down: lease taken again, first spin %.0f ms "
           "after the release\n",
           first_spin_ms);
    return 1;
}

/* After the last release the keeper thread stays (its slot with it) until
 * the tear-down has been collected: the work thread never outlives it. */
static int teardown_then_leave(const char *name)
{
    SprungKeeperSnapshot snap;
    double start = keeper_test_now_ms();
    sprung_keeper_release();
    int ok = wait_for(name, DESTROY_MS + 500, no_slots, &snap);
    double left_ms = keeper_test_now_ms() - start;
    if (!ok) {
        printf("FAIL: the keeper thread was still there %.0f ms after the last release\n",
               left_ms);
        return 0;
    }
    if (left_ms < 0.9 * DESTROY_MS) {
        printf("FAIL: the keeper thread left %.0f ms into a %d ms tear-down\n", left_ms,
               DESTROY_MS);
        return 0;
    }
    printf("PASS: the keeper thread left %.0f ms after the last release, once its "
           "tear-down was over\n",
           left_ms);
    return 1;
}

static int case_teardown(const char *name, int sabotaged)
{
    configure(name, sabotaged ? "blocking-destroy" : NULL, 0, DESTROY_MS);
    /* The CUDA reference must land on no-op work again, whose set-up says
     * when it runs beside a tear-down: no CUDA device, no OpenCL platform. */
    setenv("CUDA_VISIBLE_DEVICES", "-1", 1);
    setenv("OCL_ICD_VENDORS", "/nonexistent", 1);
    if (sabotaged)
        printf("sabotage: the keeper tears its work down on its own thread, blocking "
               "(SPRUNG_KEEPER_SABOTAGE=blocking-destroy)\n");
    return teardown_on_upgrade(name) && teardown_and_return(name) &&
           teardown_then_leave(name);
}

/* ---- opencl ---- */

static int case_opencl(const char *name, int sabotaged)
{
    configure(name, sabotaged ? "blocking-setup" : NULL, 0, 0);
    if (sabotaged)
        printf("sabotage: the keeper builds the OpenCL program on its own thread, blocking "
               "(SPRUNG_KEEPER_SABOTAGE=blocking-setup)\n");
    /* Compile the program afresh, as on a machine's first run (PoCL). */
    setenv("POCL_KERNEL_CACHE", "0", 1);
    Watch watch = {.name = name, .phase = "set-up", .start_ms = keeper_test_now_ms(),
                   .first_spin_ms = -1};
    /* A loaded machine may take several seconds to build. */
    int ok = acquire(SPRUNG_KEEPER_WORK_OPENCL) &&
             watch_owner(&watch, OPENCL_WATCH_MS, first_spin_seen);
    SprungKeeperSnapshot snap;
    if (ok && sprung_keeper_snapshot(name, &snap, NULL) == SPRUNG_OK && snap.n_slots == 1 &&
        snap.slots[0].work != SPRUNG_KEEPER_WORK_OPENCL) {
        printf("FAIL: the owner runs %s work, not opencl\n",
               sprung_keeper_work_name(snap.slots[0].work));
        ok = 0;
    }
    sprung_keeper_release();
    if (ok && watch.first_spin_ms < 0) {
        printf("FAIL: no OpenCL spin in %d ms\n", OPENCL_WATCH_MS);
        ok = 0;
    }
    if (ok)
        printf("PASS: OpenCL set-up took about %.0f ms (stale at %d ms); oldest keepalive "
               "seen: slot %.0f ms, owner lease %.0f ms%s\n",
               watch.first_spin_ms, STALE_MS, watch.slot_age_max, watch.owner_age_max,
               watch.first_spin_ms < STALE_MS ? " (faster than the stale timeout: this "
                                                "run proves little)"
                                              : "");
    return ok;
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "";
    int sabotaged = argc > 2 && !strcmp(argv[2], "--sabotage");
    int known = !strcmp(which, "keepalive") || !strcmp(which, "abandon") ||
                !strcmp(which, "teardown") || !strcmp(which, "opencl");
    if (!known || argc > 3 || (argc == 3 && !sabotaged)) {
        fprintf(stderr, "usage: %s keepalive|abandon|teardown|opencl [--sabotage]\n",
                argv[0]);
        return 2;
    }
    if (!strcmp(which, "opencl") && keeper_test_opencl_platforms() == 0) {
        printf("SKIP: no OpenCL platform (libOpenCL.so.1 and an ICD such as PoCL)\n");
        return 77;
    }
    char name[64];
    snprintf(name, sizeof name, "/sprung-keeper-test-setup-%d", (int)getpid());
    int ok = !strcmp(which, "keepalive")  ? case_keepalive(name, sabotaged)
             : !strcmp(which, "abandon")  ? case_abandon(name, sabotaged)
             : !strcmp(which, "teardown") ? case_teardown(name, sabotaged)
                                          : case_opencl(name, sabotaged);
    shm_unlink(name);
    return ok ? 0 : 1;
}
