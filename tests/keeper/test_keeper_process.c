/* Process tests of the keeper: real processes (`sprung keeper hold`, no-op
 * work) on a private segment, watched through sprung_keeper_snapshot().
 *
 *   test_keeper_process SPRUNG CASE [--sabotage]
 *
 * CASE (and the bug --sabotage puts back into the children):
 *   one_spinner   4 processes with demand: exactly one spins   (store)
 *   kill_owner    kill -9 of the owner: another takes over within the
 *                 stale timeout plus a margin                  (ignore-stale)
 *   owner_exits   the owner exits cleanly while others demand: they take
 *                 over at once, well inside the stale timeout  (no-release)
 *   demand_stops  demand goes to zero: spinning stops after the linger
 *                                                              (ignore-demand)
 * Prints "FAIL: ..." and exits 1 when the property does not hold. */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keeper_test_runs.h"
#include "sprung/keeper.h"

#define MAX_CHILDREN 8

static const char *sprung_path;
static char shm_name[64];
static const char *sabotage;
static unsigned stale_ms = 200, linger_ms = 300;
static pid_t children[MAX_CHILDREN];
static int n_children;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static void sleep_ms(double ms)
{
    struct timespec t = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static void cleanup(void)
{
    for (int i = 0; i < n_children; ++i)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    shm_unlink(shm_name);
}

static int fail(const char *format, ...)
    __attribute__((format(printf, 1, 2)));
static int fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    printf("FAIL: ");
    vprintf(format, args);
    printf("\n");
    va_end(args);
    fflush(stdout);
    cleanup();
    return 1;
}

/* `sprung keeper hold --seconds S --stay T` on our segment. */
static pid_t spawn(const char *seconds, const char *stay)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("SPRUNG_KEEPER_SHM", shm_name, 1);
        keeper_test_setenv_number("SPRUNG_KEEPER_STALE_MS", (long)stale_ms);
        keeper_test_setenv_number("SPRUNG_KEEPER_LINGER_MS", (long)linger_ms);
        setenv("SPRUNG_KEEPER_PERIOD_US", "2000", 1);
        if (sabotage)
            setenv("SPRUNG_KEEPER_SABOTAGE", sabotage, 1);
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(sprung_path, "sprung", "keeper", "hold", "--seconds", seconds, "--stay", stay,
              (char *)NULL);
        _exit(127);
    }
    if (pid > 0 && n_children < MAX_CHILDREN)
        children[n_children++] = pid;
    return pid;
}

static int snapshot(SprungKeeperSnapshot *snap)
{
    return sprung_keeper_snapshot(shm_name, snap, NULL) == SPRUNG_OK;
}

static uint64_t spins_of(const SprungKeeperSnapshot *snap, uint32_t id)
{
    for (uint32_t i = 0; i < snap->n_slots; ++i)
        if (snap->slots[i].id == id)
            return snap->slots[i].spins;
    return 0;
}

static uint32_t live_demand(const SprungKeeperSnapshot *snap)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < snap->n_slots; ++i)
        n += snap->slots[i].live && snap->slots[i].demand;
    return n;
}

/* Participants whose spin count grew over `window_ms`; the last one in *who. */
static int spinners(double window_ms, uint32_t *who)
{
    SprungKeeperSnapshot before, after;
    if (!snapshot(&before))
        return -1;
    sleep_ms(window_ms);
    if (!snapshot(&after))
        return -1;
    int n = 0;
    for (uint32_t i = 0; i < after.n_slots; ++i)
        if (after.slots[i].live && after.slots[i].spins > spins_of(&before, after.slots[i].id)) {
            ++n;
            *who = after.slots[i].id;
        }
    return n;
}

/* Waits until the segment shows `want` live demand slots and a live owner
 * that has spun; returns its snapshot. */
static int wait_for_owner(uint32_t want, double timeout_ms, SprungKeeperSnapshot *snap)
{
    double end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        if (snapshot(snap) && live_demand(snap) >= want && snap->owner_live &&
            spins_of(snap, snap->owner_id) > 0)
            return 1;
        sleep_ms(5);
    }
    return 0;
}

/* Polls until a live owner other than `old_id` has spun; returns ms waited
 * from `t0`, or -1 after `limit_ms`. */
static double wait_for_takeover(uint32_t old_id, double t0, double limit_ms)
{
    SprungKeeperSnapshot snap;
    while (now_ms() - t0 < limit_ms) {
        if (snapshot(&snap) && snap.owner_live && snap.owner_id != old_id &&
            spins_of(&snap, snap.owner_id) > 0)
            return now_ms() - t0;
        sleep_ms(1);
    }
    return -1;
}

static int case_one_spinner(void)
{
    for (int i = 0; i < 4; ++i)
        spawn("0", "0");
    SprungKeeperSnapshot snap;
    if (!wait_for_owner(4, 3000, &snap))
        return fail("4 holders: no live owner spinning with 4 live demand slots within 3 s");
    sleep_ms(300); /* let any racing takeover land */
    /* Nobody died, so ownership never had a reason to change hands: only
     * one participant may ever have spun. */
    if (!snapshot(&snap))
        return fail("segment %s vanished", shm_name);
    int ever = 0;
    for (uint32_t i = 0; i < snap.n_slots; ++i)
        ever += snap.slots[i].spins > 0;
    printf("4 processes with demand: %d of them ever spun, takeovers %llu\n", ever,
           (unsigned long long)snap.takeovers);
    if (ever != 1)
        return fail("%d participants spinning at once or in turn while nobody died "
                    "(expected exactly 1)", ever);
    uint32_t who = 0;
    int n = spinners(500, &who);
    if (!snapshot(&snap))
        return fail("segment %s vanished", shm_name);
    printf("4 processes with demand: %d spinning over 500 ms, owner id %u (pid %u), "
           "takeovers %llu\n",
           n, snap.owner_id, snap.owner_pid, (unsigned long long)snap.takeovers);
    if (n != 1)
        return fail("%d participants spinning at once (expected exactly 1)", n);
    if (snap.takeovers != 1)
        return fail("%llu takeovers among live participants (expected 1)",
                    (unsigned long long)snap.takeovers);
    if (who != snap.owner_id)
        return fail("participant %u spins but the owner record says %u", who, snap.owner_id);
    cleanup();
    return 0;
}

static int case_kill_owner(void)
{
    for (int i = 0; i < 3; ++i)
        spawn("0", "0");
    SprungKeeperSnapshot snap;
    if (!wait_for_owner(3, 3000, &snap))
        return fail("3 holders: no live owner spinning within 3 s");
    pid_t victim = (pid_t)snap.owner_pid;
    uint32_t old_id = snap.owner_id;
    int ours = 0;
    for (int i = 0; i < n_children; ++i)
        ours |= children[i] == victim;
    if (!ours)
        return fail("owner pid %d is not one of the holders", (int)victim);
    kill(victim, SIGKILL);
    waitpid(victim, NULL, 0);
    double t0 = now_ms();
    for (int i = 0; i < n_children; ++i)
        if (children[i] == victim)
            children[i] = 0;
    double limit = stale_ms + 250.0;
    double took = wait_for_takeover(old_id, t0, limit + 1000);
    printf("kill -9 of the owner (pid %d): takeover after %.1f ms (stale %u ms, limit %.0f ms)\n",
           (int)victim, took, stale_ms, limit);
    if (took < 0 || took > limit)
        return fail("no takeover within %.0f ms of kill -9 (stale timeout %u ms + 250 ms margin)",
                    limit, stale_ms);
    cleanup();
    return 0;
}

static int case_owner_exits(void)
{
    stale_ms = 400;
    pid_t first = spawn("0", "0");
    SprungKeeperSnapshot snap;
    if (!wait_for_owner(1, 3000, &snap) || snap.owner_pid != (uint32_t)first)
        return fail("the first holder did not become the owner within 3 s");
    uint32_t old_id = snap.owner_id;
    spawn("0", "0");
    spawn("0", "0");
    double end = now_ms() + 3000;
    while (now_ms() < end && !(snapshot(&snap) && live_demand(&snap) == 3))
        sleep_ms(5);
    if (live_demand(&snap) != 3)
        return fail("3 holders: not 3 live demand slots within 3 s");
    kill(first, SIGTERM); /* `sprung keeper hold` releases and exits normally */
    int status = 0;
    waitpid(first, &status, 0);
    double t0 = now_ms();
    children[0] = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return fail("the owner did not exit cleanly on SIGTERM (status %d)", status);
    double limit = stale_ms / 2.0;
    double took = wait_for_takeover(old_id, t0, stale_ms + 1000.0);
    printf("owner (pid %d) exited cleanly: takeover %.1f ms after its exit (limit %.0f ms, "
           "stale %u ms)\n",
           (int)first, took, limit, stale_ms);
    if (took < 0 || took > limit)
        return fail("handover took %.1f ms after a clean exit, more than %.0f ms: the owner "
                    "record was not handed back (the others waited for it to go stale)",
                    took, limit);
    cleanup();
    return 0;
}

static int case_demand_stops(void)
{
    spawn("0.6", "5");
    spawn("0.6", "5");
    SprungKeeperSnapshot snap;
    if (!wait_for_owner(2, 3000, &snap))
        return fail("2 holders: no live owner spinning within 3 s");
    double end = now_ms() + 3000, t0 = -1;
    while (now_ms() < end) {
        if (snapshot(&snap) && live_demand(&snap) == 0) {
            t0 = now_ms();
            break;
        }
        sleep_ms(2);
    }
    if (t0 < 0)
        return fail("demand did not end within 3 s");
    sleep_ms(linger_ms + 200.0);
    uint32_t who = 0;
    int n = spinners(500, &who);
    snapshot(&snap);
    printf("demand ended; from %u ms after (linger %u ms) over 500 ms: %d spinning, owner id %u\n",
           linger_ms + 200, linger_ms, n, snap.owner_id);
    if (n != 0)
        return fail("still spinning %u ms after the last demand ended (linger %u ms)",
                    linger_ms + 200, linger_ms);
    if (snap.owner_id != 0)
        return fail("the owner record (id %u) was not given back after the linger",
                    snap.owner_id);
    cleanup();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SPRUNG CASE [--sabotage]\n", argv[0]);
        return 2;
    }
    sprung_path = argv[1];
    const char *name = argv[2];
    int sabotaged = argc > 3 && !strcmp(argv[3], "--sabotage");
    static const struct {
        const char *name;
        int (*run)(void);
        const char *sabotage;
    } cases[] = {
        {"one_spinner", case_one_spinner, "store"},
        {"kill_owner", case_kill_owner, "ignore-stale"},
        {"owner_exits", case_owner_exits, "no-release"},
        {"demand_stops", case_demand_stops, "ignore-demand"},
    };
    snprintf(shm_name, sizeof shm_name, "/sprung-keeper-test-%s-%d", name, (int)getpid());
    shm_unlink(shm_name);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i)
        if (!strcmp(name, cases[i].name)) {
            if (sabotaged) {
                sabotage = cases[i].sabotage;
                printf("sabotage: children run with SPRUNG_KEEPER_SABOTAGE=%s\n", sabotage);
            }
            int result = cases[i].run();
            if (result == 0)
                printf("PASS: %s\n", name);
            return result;
        }
    fprintf(stderr, "%s: unknown case '%s'\n", argv[0], name);
    return 2;
}
