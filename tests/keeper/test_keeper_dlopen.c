/* Two copies of libsprung in one process (an instrument and an effect
 * plugin side by side) share one keeper: the shared object is copied to two
 * files and dlopen'ed from each with RTLD_LOCAL | RTLD_DEEPBIND, so each
 * copy has its own statics and its own keeper thread, and they meet only in
 * the segment.
 *
 *   test_keeper_dlopen LIBSPRUNG_SO [--sabotage | --teardown]
 *
 * --sabotage makes a copy's participant id its pid (as a pid-keyed design
 * would), so both copies think the owner record is theirs: two spin.
 *
 * --teardown unloads one copy while its work is being torn down on its work
 * thread (no-op work whose destroy() takes TEARDOWN_MS;
 * SPRUNG_KEEPER_TEST_DESTROY_MS): dlclose must wait for it, since a thread
 * left in destroy() would return into the unloaded library's code and crash
 * the process, which then lives on for longer than the tear-down. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "keeper_test_runs.h"
#include "sprung/keeper.h"

typedef SprungStatus (*AcquireFn)(SprungKeeperWork, int *);
typedef void (*ReleaseFn)(void);
typedef SprungStatus (*SnapshotFn)(const char *, SprungKeeperSnapshot *, SprungError *);

typedef struct Copy {
    char path[256];
    void *handle;
    AcquireFn acquire;
    ReleaseFn release;
    SnapshotFn snapshot;
} Copy;

static char shm_name[64];

#define TEARDOWN_MS 1000

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return 0;
    }
    char buffer[65536];
    size_t n;
    int ok = 1;
    while ((n = fread(buffer, 1, sizeof buffer, in)) > 0)
        ok &= fwrite(buffer, 1, n, out) == n;
    fclose(in);
    return fclose(out) == 0 && ok;
}

static int open_copy(Copy *copy)
{
    copy->handle = dlopen(copy->path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!copy->handle) {
        printf("FAIL: dlopen %s: %s\n", copy->path, dlerror());
        return 0;
    }
    *(void **)&copy->acquire = dlsym(copy->handle, "sprung_keeper_acquire");
    *(void **)&copy->release = dlsym(copy->handle, "sprung_keeper_release");
    *(void **)&copy->snapshot = dlsym(copy->handle, "sprung_keeper_snapshot");
    if (!copy->acquire || !copy->release || !copy->snapshot) {
        printf("FAIL: %s lacks the keeper API\n", copy->path);
        return 0;
    }
    return 1;
}

/* By position: under the pid-identity sabotage both copies share an id. */
static uint64_t spins_at(const SprungKeeperSnapshot *snap, uint32_t index)
{
    return index < snap->n_slots ? snap->slots[index].spins : 0;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* Polls the copy's view of the segment every 5 ms, up to `limit_ms`, until
 * `done`; 0 on timeout. */
static int wait_until(const Copy *copy, int limit_ms,
                      int (*done)(const SprungKeeperSnapshot *snap))
{
    SprungKeeperSnapshot snap;
    for (int t = 0; t < limit_ms / 5; ++t) {
        sleep_ms(5);
        if (copy->snapshot(shm_name, &snap, NULL) == SPRUNG_OK && done(&snap))
            return 1;
    }
    return 0;
}

static int has_spun(const SprungKeeperSnapshot *snap) { return snap->spin_total > 0; }
static int unowned(const SprungKeeperSnapshot *snap) { return snap->owner_id == 0; }

/* --teardown: the copy spins, lets go (linger 0: the lease goes back and its
 * work's tear-down starts on the work thread), and is unloaded at once. */
static int teardown_at_unload(Copy *copy)
{
    int held = 0;
    if (copy->acquire(SPRUNG_KEEPER_WORK_NOOP, &held) != SPRUNG_OK || !held) {
        printf("FAIL: acquire failed\n");
        return 0;
    }
    if (!wait_until(copy, 1000, has_spun)) {
        printf("FAIL: no spin within 1 s\n");
        return 0;
    }
    copy->release();
    if (!wait_until(copy, 200, unowned)) {
        printf("FAIL: the lease was not handed back within 200 ms of the release\n");
        return 0;
    }
    double start = now_ms();
    dlclose(copy->handle); /* its atexit handler stops the keeper */
    copy->handle = NULL;
    double unload_ms = now_ms() - start;
    /* A work thread left in destroy() would return into unmapped code by
     * now and crash the process. */
    sleep_ms(TEARDOWN_MS + 300);
    printf("dlclose during a %d ms tear-down returned after %.0f ms\n", TEARDOWN_MS,
           unload_ms);
    if (unload_ms < TEARDOWN_MS / 2) {
        printf("FAIL: dlclose returned after %.0f ms: no tear-down was under way to wait "
               "for (SPRUNG_KEEPER_TEST_DESTROY_MS ignored?)\n",
               unload_ms);
        return 0;
    }
    printf("PASS: unloaded during a tear-down, which it waited for\n");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s LIBSPRUNG_SO [--sabotage | --teardown]\n", argv[0]);
        return 2;
    }
    int sabotaged = argc > 2 && !strcmp(argv[2], "--sabotage");
    int teardown = argc > 2 && !strcmp(argv[2], "--teardown");
    snprintf(shm_name, sizeof shm_name, "/sprung-keeper-test-dlopen-%d", (int)getpid());
    shm_unlink(shm_name);
    setenv("SPRUNG_KEEPER_SHM", shm_name, 1);
    setenv("SPRUNG_KEEPER_STALE_MS", "200", 1);
    setenv("SPRUNG_KEEPER_LINGER_MS", "300", 1);
    setenv("SPRUNG_KEEPER_PERIOD_US", "2000", 1);
    if (sabotaged) {
        setenv("SPRUNG_KEEPER_SABOTAGE", "pid-identity", 1);
        printf("sabotage: participant id = pid (SPRUNG_KEEPER_SABOTAGE=pid-identity)\n");
    }
    if (teardown) {
        keeper_test_setenv_number("SPRUNG_KEEPER_TEST_DESTROY_MS", (long)TEARDOWN_MS);
        setenv("SPRUNG_KEEPER_LINGER_MS", "0", 1);
    }

    char dir[] = "/tmp/sprung-keeper-dlopen-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("FAIL: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    Copy copies[2] = {0};
    int result = 1;
    for (int i = 0; i < (teardown ? 1 : 2); ++i) {
        snprintf(copies[i].path, sizeof copies[i].path, "%s/libsprung-copy%d.so", dir, i);
        if (!copy_file(argv[1], copies[i].path)) {
            printf("FAIL: cannot copy %s to %s\n", argv[1], copies[i].path);
            goto done;
        }
        if (!open_copy(&copies[i]))
            goto done;
    }
    if (teardown) {
        result = teardown_at_unload(&copies[0]) ? 0 : 1;
        goto done;
    }
    if (copies[0].handle == copies[1].handle || copies[0].acquire == copies[1].acquire) {
        printf("FAIL: the two dlopen calls gave the same copy of the library\n");
        goto done;
    }
    /* Copy 0 first, alone: it becomes the owner; then copy 1. */
    uint32_t ids[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
        int held = 0;
        if (copies[i].acquire(SPRUNG_KEEPER_WORK_NOOP, &held) != SPRUNG_OK || !held) {
            printf("FAIL: copy %d: acquire failed\n", i);
            goto done;
        }
        SprungKeeperSnapshot snap;
        for (int t = 0; t < 600 && !ids[i]; ++t) {
            sleep_ms(5);
            if (copies[i].snapshot(shm_name, &snap, NULL) != SPRUNG_OK ||
                snap.n_slots != (uint32_t)i + 1 || !snap.owner_live)
                continue;
            for (uint32_t k = 0; k < snap.n_slots; ++k)
                if (snap.slots[k].live && (i == 0 || snap.slots[k].id != ids[0] ||
                                           (k == 1 && snap.slots[1].id == ids[0])))
                    ids[i] = snap.slots[k].id;
        }
        if (!ids[i]) {
            printf("FAIL: copy %d: no live participant slot within 3 s\n", i);
            goto done;
        }
    }
    /* Both copies publish demand; one of them spins. */
    SprungKeeperSnapshot before, after;
    int ready = 0;
    for (int t = 0; t < 600 && !ready; ++t) {
        sleep_ms(5);
        ready = copies[0].snapshot(shm_name, &before, NULL) == SPRUNG_OK && before.n_slots == 2 &&
                before.slots[0].live && before.slots[1].live && before.owner_live &&
                before.spin_total > 0;
    }
    if (!ready) {
        printf("FAIL: two copies: no two live participants and a spinning owner within 3 s\n");
        goto done;
    }
    sleep_ms(300);
    copies[0].snapshot(shm_name, &before, NULL);
    sleep_ms(500);
    copies[1].snapshot(shm_name, &after, NULL);
    int spinning = 0;
    for (uint32_t i = 0; i < after.n_slots; ++i)
        if (after.slots[i].spins > spins_at(&before, i))
            ++spinning;
    printf("two copies in one process (pid %d): ids %u and %u, %d spinning over 500 ms, "
           "owner id %u\n",
           (int)getpid(), after.slots[0].id, after.slots[1].id, spinning, after.owner_id);
    if (spinning != 1) {
        printf("FAIL: %d copies spinning at once (expected exactly 1)\n", spinning);
        goto done;
    }
    if (after.slots[0].id == after.slots[1].id) {
        printf("FAIL: both copies have participant id %u\n", after.slots[0].id);
        goto done;
    }

    /* Unloading the owner's copy hands over to the other at once. */
    uint32_t owner = after.owner_id;
    int owner_copy = owner == ids[0] ? 0 : owner == ids[1] ? 1 : -1;
    if (owner_copy < 0) {
        printf("FAIL: owner id %u is neither copy's (%u, %u)\n", owner, ids[0], ids[1]);
        goto done;
    }
    copies[owner_copy].release();
    dlclose(copies[owner_copy].handle); /* runs its atexit handler: stops its thread */
    copies[owner_copy].handle = NULL;
    int other = 1 - owner_copy;
    int taken = 0;
    for (int t = 0; t < 100 && !taken; ++t) {
        sleep_ms(2);
        taken = copies[other].snapshot(shm_name, &after, NULL) == SPRUNG_OK && after.owner_live &&
                after.owner_id != owner && after.owner_id != 0;
    }
    printf("dlclose of the owning copy: the other copy %s\n",
           taken ? "took over within 200 ms" : "did NOT take over within 200 ms");
    if (!taken) {
        printf("FAIL: no handover after dlclose of the owning copy\n");
        goto done;
    }
    copies[other].release();
    printf("PASS: two library copies, one keeper\n");
    result = 0;
done:
    for (int i = 0; i < 2; ++i) {
        if (copies[i].handle)
            dlclose(copies[i].handle);
        unlink(copies[i].path);
    }
    rmdir(dir);
    shm_unlink(shm_name);
    return result;
}
