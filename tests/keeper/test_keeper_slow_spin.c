/* A slow spin kernel must not make the owner look dead. On a GPU saturated
 * by other work a spin kernel can wait in the queue for longer than the
 * stale timeout; the keeper polls it instead of blocking, so it goes on
 * refreshing its keepalive meanwhile. Here no-op work stands in for such a
 * kernel: each spin stays in flight for spin_us = 1 s, five stale timeouts
 * (200 ms). While spins are in flight, this process's slot and owner lease
 * must stay younger than the stale timeout and the process must stay the
 * owner; over 2.6 s exactly two spins must complete: each waited its full
 * second, none was counted early, and a second was never launched beside
 * the first (no-op work counts that as an error).
 *
 *   test_keeper_slow_spin [--sabotage]
 *
 * --sabotage makes the keeper wait for each kernel however long it takes
 * (SPRUNG_KEEPER_SABOTAGE=blocking-wait), as a blocking wait in the driver
 * did: the keepalive goes stale and the test must fail. Prints "FAIL: ..."
 * and exits 1 when the property does not hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "keeper_test_runs.h"
#include "sprung/keeper.h"

#define STALE_MS 200
#define SPIN_US 1000000
#define WATCH_MS 2600

/* Watches the segment for WATCH_MS; returns 1 when the property held. */
static int watch(const char *name)
{
    double start = keeper_test_now_ms(), slot_age_max = 0.0, owner_age_max = 0.0;
    uint64_t spins = 0;
    int seen = 0;
    while (keeper_test_now_ms() - start < WATCH_MS) {
        struct timespec step = {0, 5 * 1000 * 1000};
        nanosleep(&step, NULL);
        SprungKeeperSnapshot snap;
        if (sprung_keeper_snapshot(name, &snap, NULL) != SPRUNG_OK || snap.n_slots != 1)
            continue;
        const SprungKeeperSlotInfo *slot = &snap.slots[0];
        if (slot->errors) {
            printf("FAIL: the keeper's work failed %llu times (last error %lld; -1: a "
                   "spin launched while one was in flight)\n",
                   (unsigned long long)slot->errors, (long long)slot->last_error);
            return 0;
        }
        if (!seen && snap.owner_id != slot->id)
            continue; /* not owner yet */
        seen = 1;
        if (snap.owner_id != slot->id) {
            printf("FAIL: ownership lost after %.0f ms (owner %u, takeovers %llu)\n",
                   keeper_test_now_ms() - start, snap.owner_id, (unsigned long long)snap.takeovers);
            return 0;
        }
        if (slot->age_ms >= STALE_MS || snap.owner_age_ms >= STALE_MS) {
            printf("FAIL: keepalive stale while a spin was in flight: slot %.0f ms, owner "
                   "lease %.0f ms old (stale at %u ms), %llu spins done\n",
                   slot->age_ms, snap.owner_age_ms, snap.stale_ms,
                   (unsigned long long)slot->spins);
            return 0;
        }
        if (slot->age_ms > slot_age_max)
            slot_age_max = slot->age_ms;
        if (snap.owner_age_ms > owner_age_max)
            owner_age_max = snap.owner_age_ms;
        spins = slot->spins;
    }
    if (!seen) {
        printf("FAIL: this process never became the owner in %d ms\n", WATCH_MS);
        return 0;
    }
    if (spins != 2) {
        printf("FAIL: %llu spins of %d ms completed in %d ms, not 2\n",
               (unsigned long long)spins, SPIN_US / 1000, WATCH_MS);
        return 0;
    }
    printf("PASS: 2 spins of %d ms; oldest keepalive seen: slot %.0f ms, owner lease %.0f ms "
           "(stale at %d ms)\n",
           SPIN_US / 1000, slot_age_max, owner_age_max, STALE_MS);
    return 1;
}

int main(int argc, char **argv)
{
    int sabotaged = argc > 1 && !strcmp(argv[1], "--sabotage");
    if (argc > 2 || (argc == 2 && !sabotaged)) {
        fprintf(stderr, "usage: %s [--sabotage]\n", argv[0]);
        return 2;
    }
    char name[64];
    snprintf(name, sizeof name, "/sprung-keeper-test-slow-%d", (int)getpid());
    shm_unlink(name);
    setenv("SPRUNG_KEEPER_SHM", name, 1);
    keeper_test_setenv_number("SPRUNG_KEEPER_STALE_MS", (long)STALE_MS);
    keeper_test_setenv_number("SPRUNG_KEEPER_SPIN_US", (long)SPIN_US);
    setenv("SPRUNG_KEEPER_PERIOD_US", "2000", 1);
    setenv("SPRUNG_KEEPER_LINGER_MS", "0", 1);
    unsetenv("SPRUNG_KEEPER_WORK");
    unsetenv("SPRUNG_KEEPER_SABOTAGE");
    if (sabotaged) {
        setenv("SPRUNG_KEEPER_SABOTAGE", "blocking-wait", 1);
        printf("sabotage: the keeper waits for each spin without a time limit "
               "(SPRUNG_KEEPER_SABOTAGE=blocking-wait)\n");
    }
    fflush(stdout);
    int held = 0;
    if (sprung_keeper_acquire(SPRUNG_KEEPER_WORK_NOOP, &held) != SPRUNG_OK || !held) {
        printf("FAIL: acquire\n");
        shm_unlink(name);
        return 1;
    }
    int ok = watch(name);
    sprung_keeper_release();
    shm_unlink(name);
    return ok ? 0 : 1;
}
