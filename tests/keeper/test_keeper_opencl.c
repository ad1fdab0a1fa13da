/* The OpenCL spin work runs for real (PoCL in CI): a reference with OpenCL
 * work on a private segment makes this process the owner; its slot must show
 * OpenCL work, spins and no errors. Skips (77) where no OpenCL platform is
 * installed. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sprung/keeper.h"

static int opencl_platforms(void)
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

int main(void)
{
    if (opencl_platforms() == 0) {
        printf("SKIP: no OpenCL platform (libOpenCL.so.1 and an ICD such as PoCL)\n");
        return 77;
    }
    char name[64];
    snprintf(name, sizeof name, "/sprung-keeper-test-opencl-%d", (int)getpid());
    shm_unlink(name);
    setenv("SPRUNG_KEEPER_SHM", name, 1);
    setenv("SPRUNG_KEEPER_SPIN_US", "200", 1);
    setenv("SPRUNG_KEEPER_PERIOD_US", "2000", 1);
    unsetenv("SPRUNG_KEEPER_WORK");
    int held = 0;
    if (sprung_keeper_acquire(SPRUNG_KEEPER_WORK_OPENCL, &held) != SPRUNG_OK || !held) {
        printf("FAIL: acquire\n");
        return 1;
    }
    SprungKeeperSnapshot snap;
    int result = 1;
    for (int t = 0; t < 200; ++t) { /* the first kernel build takes about a second */
        struct timespec step = {0, 50 * 1000 * 1000};
        nanosleep(&step, NULL);
        if (sprung_keeper_snapshot(name, &snap, NULL) != SPRUNG_OK || snap.n_slots != 1)
            continue;
        const SprungKeeperSlotInfo *slot = &snap.slots[0];
        if (slot->errors) {
            printf("FAIL: OpenCL spin work failed %llu times (last error %lld)\n",
                   (unsigned long long)slot->errors, (long long)slot->last_error);
            break;
        }
        if (slot->spins >= 50) {
            if (slot->work != SPRUNG_KEEPER_WORK_OPENCL) {
                printf("FAIL: the owner runs %s work, not opencl\n",
                       sprung_keeper_work_name(slot->work));
                break;
            }
            printf("PASS: %llu OpenCL spin kernels, no errors\n",
                   (unsigned long long)slot->spins);
            result = 0;
            break;
        }
    }
    if (result && snap.n_slots == 1 && !snap.slots[0].errors && snap.slots[0].spins < 50)
        printf("FAIL: only %llu spins in 10 s\n", (unsigned long long)snap.slots[0].spins);
    sprung_keeper_release();
    shm_unlink(name);
    return result;
}
