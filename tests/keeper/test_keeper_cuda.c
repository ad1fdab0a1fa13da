/* The CUDA spin work (src/keeper/work_cuda.c), two ways:
 *
 *   test_keeper_cuda work       creates the work on the first GPU and spins
 *                               it (launch, then poll until done, as the
 *                               keeper does; create's trial kernel polled
 *                               first): every spin returns code 0 and lasts at
 *                               least spin_us (the kernel really waited) and
 *                               not wildly longer; then the keeper itself,
 *                               on a private segment, must run CUDA work with
 *                               no errors. Skips (77) where create reports
 *                               no usable CUDA device, after checking that it
 *                               said so with a cudaError_t code and its text.
 *   test_keeper_cuda no-device  with CUDA_VISIBLE_DEVICES=-1: create must be
 *                               unsupported with the cudaError_t code and its
 *                               text in the reason (code 0 and "without CUDA"
 *                               in a build without CUDA), and a keeper asked
 *                               for CUDA work must fall back (OpenCL or
 *                               no-op) and spin without errors.
 * Checked by hand (no GPU here): work_cuda.c returning an I/O error instead
 * of unsupported, or code 0 instead of the cudaError_t, when there is no
 * device makes both cases fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keeper/keeper_work.h"
#include "keeper_test_runs.h"
#include "sprung/keeper.h"

#ifdef SPRUNG_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#define SKIP 77

static double now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e6 + (double)now.tv_nsec * 1e-3;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What an unsupported create must look like: no context, a reason, and in a
 * CUDA build the cudaError_t code with its text in the reason. */
static int check_unsupported(SprungStatus status, const void *ctx, int64_t code,
                             const char *reason)
{
    if (status != SPRUNG_ERROR_UNSUPPORTED) {
        printf("FAIL: create returned %s, not unsupported (code %lld: %s)\n",
               sprung_strerror(status), (long long)code, reason);
        return 0;
    }
    if (ctx) {
        printf("FAIL: an unsupported create left a context\n");
        return 0;
    }
    if (!reason[0]) {
        printf("FAIL: an unsupported create gave no reason\n");
        return 0;
    }
#ifdef SPRUNG_HAVE_CUDA
    if (code == cudaSuccess) {
        printf("FAIL: unsupported without a cudaError_t code (reason: %s)\n", reason);
        return 0;
    }
    const char *text = cudaGetErrorString((cudaError_t)code);
    if (!strstr(reason, text)) {
        printf("FAIL: the reason \"%s\" does not carry code %lld's text \"%s\"\n", reason,
               (long long)code, text);
        return 0;
    }
#else
    if (code != 0 || !strstr(reason, "without CUDA")) {
        printf("FAIL: a build without CUDA must say so with code 0 (code %lld: %s)\n",
               (long long)code, reason);
        return 0;
    }
#endif
    return 1;
}

/* Polls the kernel in flight until it is done, as the keeper does, with
 * 10 us naps: the timing below should measure the kernel, not the polling. */
static SprungStatus wait_done(void *ctx, int64_t *code)
{
    int done = 0;
    SprungStatus status = SPRUNG_OK;
    while (status == SPRUNG_OK && !done) {
        status = keeper_work_cuda.poll(ctx, &done, code);
        struct timespec nap = {0, 10 * 1000};
        if (status == SPRUNG_OK && !done)
            nanosleep(&nap, NULL);
    }
    return status;
}

/* One spin as the keeper runs it: launch, then poll until done. */
static SprungStatus spin_once(void *ctx, int64_t *code)
{
    SprungStatus status = keeper_work_cuda.launch(ctx, code);
    return status == SPRUNG_OK ? wait_done(ctx, code) : status;
}

/* `count` spins of `spin_us` each: code 0, and each took at least about
 * spin_us, the median not wildly more. */
static int spin_and_time(uint32_t spin_us, int count)
{
    KeeperWorkConfig config = {.spin_us = spin_us};
    void *ctx = NULL;
    int64_t code = -1;
    char reason[256] = "";
    SprungStatus status = keeper_work_cuda.create(&config, &ctx, &code, reason, sizeof reason);
    if (status != SPRUNG_OK) {
        printf("FAIL: create (spin %u us) returned %s, code %lld: %s\n", spin_us,
               sprung_strerror(status), (long long)code, reason);
        return 0;
    }
    /* Create's trial kernel first: never two in flight. */
    status = wait_done(ctx, &code);
    if (status != SPRUNG_OK || code != 0) {
        printf("FAIL: create's trial spin (%u us) returned %s, code %lld\n", spin_us,
               sprung_strerror(status), (long long)code);
        keeper_work_cuda.destroy(ctx);
        return 0;
    }
    double took[64];
    if (count > 64)
        count = 64;
    int ok = 1;
    for (int i = 0; i < count && ok; ++i) {
        code = -1;
        double start = now_us();
        status = spin_once(ctx, &code);
        took[i] = now_us() - start;
        if (status != SPRUNG_OK || code != 0) {
            printf("FAIL: spin %d of %u us returned %s, code %lld\n", i, spin_us,
                   sprung_strerror(status), (long long)code);
            ok = 0;
        }
    }
    keeper_work_cuda.destroy(ctx);
    if (!ok)
        return 0;
    qsort(took, (size_t)count, sizeof took[0], compare_doubles);
    double shortest = took[0], median = took[count / 2], longest = took[count - 1];
    printf("spin_us %u: %d spins, shortest %.1f us, median %.1f us, longest %.1f us\n",
           spin_us, count, shortest, median, longest);
    /* The kernel waits spin_us on the device's nanosecond timer, and the host
     * waits for the kernel: no spin can return sooner (1 us of slack for the
     * timer's tick). */
    if (shortest < (double)spin_us - 1.0) {
        printf("FAIL: a spin of %u us returned after %.1f us: the kernel did not wait\n",
               spin_us, shortest);
        return 0;
    }
    /* Launch and wake-up cost some microseconds; far more means the wait is
     * measured on the wrong clock. */
    double bound = 4.0 * spin_us + 2000.0;
    if (median > bound) {
        printf("FAIL: spins of %u us take %.1f us (median), over %.0f us\n", spin_us, median,
               bound);
        return 0;
    }
    return 1;
}

static int test_work(void)
{
    KeeperWorkConfig config = {.spin_us = 200};
    void *ctx = NULL;
    int64_t code = -1;
    char reason[256] = "";
    SprungStatus status = keeper_work_cuda.create(&config, &ctx, &code, reason, sizeof reason);
    if (status == SPRUNG_ERROR_UNSUPPORTED) {
        if (!check_unsupported(status, ctx, code, reason))
            return 1;
        printf("SKIP: CUDA spin work unsupported here (code %lld): %s; no spin kernel ran\n",
               (long long)code, reason);
        return SKIP;
    }
    if (status != SPRUNG_OK) {
        printf("FAIL: create returned %s, code %lld: %s\n", sprung_strerror(status),
               (long long)code, reason);
        return 1;
    }
    if (code != 0) {
        printf("FAIL: a successful create left code %lld\n", (long long)code);
        keeper_work_cuda.destroy(ctx);
        return 1;
    }
    keeper_work_cuda.destroy(ctx);
    if (!spin_and_time(200, 40) || !spin_and_time(2000, 20))
        return 1;
    SprungKeeperWork ran = SPRUNG_KEEPER_WORK_NONE;
    if (!keeper_runs("cuda", SPRUNG_KEEPER_WORK_CUDA, 50, &ran))
        return 1;
    if (ran != SPRUNG_KEEPER_WORK_CUDA) {
        printf("FAIL: the keeper ran %s work, not cuda\n", sprung_keeper_work_name(ran));
        return 1;
    }
    printf("PASS: CUDA spin kernels wait spin_us; the keeper runs CUDA work without errors\n");
    return 0;
}

static int test_no_device(void)
{
    /* Before the first CUDA call of this process: the runtime reads it once. */
    setenv("CUDA_VISIBLE_DEVICES", "-1", 1);
    KeeperWorkConfig config = {.spin_us = 200};
    void *ctx = NULL;
    int64_t code = -1;
    char reason[256] = "";
    SprungStatus status = keeper_work_cuda.create(&config, &ctx, &code, reason, sizeof reason);
    if (!check_unsupported(status, ctx, code, reason)) {
        if (status == SPRUNG_OK)
            keeper_work_cuda.destroy(ctx);
        return 1;
    }
    printf("create: unsupported, code %lld: %s\n", (long long)code, reason);
    SprungKeeperWork ran = SPRUNG_KEEPER_WORK_NONE;
    if (!keeper_runs("cuda", SPRUNG_KEEPER_WORK_CUDA, 20, &ran))
        return 1;
    if (ran != SPRUNG_KEEPER_WORK_OPENCL && ran != SPRUNG_KEEPER_WORK_NOOP) {
        printf("FAIL: without a CUDA device the keeper ran %s work\n",
               sprung_keeper_work_name(ran));
        return 1;
    }
    printf("PASS: CUDA work is unsupported here (code %lld); the keeper fell back to %s work\n",
           (long long)code, sprung_keeper_work_name(ran));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "work"))
        return test_work();
    if (argc == 2 && !strcmp(argv[1], "no-device"))
        return test_no_device();
    fprintf(stderr, "usage: test_keeper_cuda work|no-device\n");
    return 2;
}
