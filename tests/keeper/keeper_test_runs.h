/* Helpers of the keeper's tests: a monotonic clock, a numeric setting in
 * the environment, whether an OpenCL platform is installed, and (test_keeper_opencl.c, test_keeper_cuda.c)
 * keeper_runs(), which holds one reference with the wanted work on a private
 * segment and watches this process's slot until it shows enough spins, or
 * errors, or 10 s pass. */
#ifndef SPRUNG_TESTS_KEEPER_TEST_RUNS_H
#define SPRUNG_TESTS_KEEPER_TEST_RUNS_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sprung/keeper.h"

static inline double keeper_test_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* Sets the keeper setting `name` (an environment variable) to `value`. */
static inline void keeper_test_setenv_number(const char *name, long value)
{
    char text[32];
    snprintf(text, sizeof text, "%ld", value);
    setenv(name, text, 1);
}

/* OpenCL platforms the ICD loader finds (0 without the loader). */
static inline int keeper_test_opencl_platforms(void)
{
    void *library = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library)
        return 0;
    int (*get_platforms)(unsigned, void *, unsigned *);
    *(void **)&get_platforms = dlsym(library, "clGetPlatformIDs");
    unsigned n = 0;
    if (!get_platforms || get_platforms(0, NULL, &n) != 0)
        n = 0;
    return (int)n;
}

/* Holds a reference with `wanted` work on the segment named after `tag`
 * until the slot shows `min_spins` spins with no error; writes the kind of
 * work that ran into *ran. Returns 1 then, else prints FAIL and returns 0. */
static inline int keeper_runs(const char *tag, SprungKeeperWork wanted, uint64_t min_spins,
                       SprungKeeperWork *ran)
{
    char name[64];
    snprintf(name, sizeof name, "/sprung-keeper-test-%s-%d", tag, (int)getpid());
    shm_unlink(name);
    setenv("SPRUNG_KEEPER_SHM", name, 1);
    setenv("SPRUNG_KEEPER_SPIN_US", "200", 1);
    setenv("SPRUNG_KEEPER_PERIOD_US", "2000", 1);
    unsetenv("SPRUNG_KEEPER_WORK");
    int held = 0;
    if (sprung_keeper_acquire(wanted, &held) != SPRUNG_OK || !held) {
        printf("FAIL: acquire\n");
        shm_unlink(name);
        return 0;
    }
    SprungKeeperSnapshot snap;
    int ok = 0, seen = 0, failed = 0;
    uint64_t spins = 0;
    /* Up to 10 s: OpenCL's first kernel build takes about 1 s. */
    for (int t = 0; t < 200 && !ok && !failed; ++t) {
        struct timespec step = {0, 50 * 1000 * 1000};
        nanosleep(&step, NULL);
        if (sprung_keeper_snapshot(name, &snap, NULL) != SPRUNG_OK || snap.n_slots != 1)
            continue;
        const SprungKeeperSlotInfo *slot = &snap.slots[0];
        seen = 1;
        spins = slot->spins;
        if (slot->errors) {
            printf("FAIL: the keeper's %s work failed %llu times (last error %lld)\n",
                   sprung_keeper_work_name(slot->work), (unsigned long long)slot->errors,
                   (long long)slot->last_error);
            failed = 1;
        } else if (slot->spins >= min_spins) {
            *ran = slot->work;
            ok = 1;
        }
    }
    if (!ok && !failed && seen)
        printf("FAIL: only %llu spins in 10 s\n", (unsigned long long)spins);
    else if (!ok && !failed)
        printf("FAIL: the keeper's slot never appeared in 10 s\n");
    sprung_keeper_release();
    shm_unlink(name);
    return ok;
}

#endif
