/* CUDA spin work: one tiny kernel (keeper_spin.cu, one warp busy-waiting
 * about spin_us on the device's timer) on a stream of the lowest priority,
 * on the first GPU. Each spin launches and records an event, which the
 * keeper polls (cudaEventQuery) before it launches the next: never more
 * than one kernel in flight, and the keeper thread never blocks in the
 * driver waiting for one. Every CUDA failure comes back as its cudaError_t
 * code (create also names the call and the error's text in the reason).
 * No driver, no device, or a device this build has no code for is
 * SPRUNG_ERROR_UNSUPPORTED, so the keeper falls back to OpenCL work, then to
 * no-op work; so is a build without CUDA. Keeper only: create() and
 * destroy() on its work thread, the rest on the keeper thread. */
#include <stdio.h>
#include <stdlib.h>

#include "keeper/keeper_work.h"

#ifndef SPRUNG_HAVE_CUDA

static SprungStatus cuda_create(const KeeperWorkConfig *config, void **ctx, int64_t *code,
                                char *reason, size_t reason_size)
{
    (void)config;
    *ctx = NULL;
    *code = 0;
    snprintf(reason, reason_size,
             "built without CUDA (no nvcc or CUDA runtime found, or SPRUNG_CUDA=OFF)");
    return SPRUNG_ERROR_UNSUPPORTED;
}
static SprungStatus cuda_launch(void *ctx, int64_t *code)
{
    (void)ctx;
    *code = 0;
    return SPRUNG_ERROR_UNSUPPORTED;
}
static SprungStatus cuda_poll(void *ctx, int *done, int64_t *code)
{
    (void)ctx;
    *done = 1;
    *code = 0;
    return SPRUNG_ERROR_UNSUPPORTED;
}
static void cuda_destroy(void *ctx)
{
    (void)ctx;
}

#else

#include <cuda_runtime_api.h>

#include "keeper/keeper_spin.h"

/* The kernel's safety cap, in cycles at the rated clock: this many times
 * spin_us. It ends the wait only if the device's timer were broken; a GPU
 * running below its rated clock takes longer still to count them. */
#define CUDA_SPIN_CYCLE_CAP 4

typedef struct CudaSpin {
    cudaStream_t stream;
    cudaEvent_t done;
    unsigned long long spin_ns;
    long long max_cycles;
} CudaSpin;

/* Errors that say CUDA cannot run here at all (rather than that it failed
 * this time): the keeper then tries the next kind of work. */
static int cuda_unusable_here(cudaError_t err)
{
    switch (err) {
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorInitializationError:
    case cudaErrorCompatNotSupportedOnDevice:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorDevicesUnavailable:
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
    case cudaErrorInvalidPtx:
        return 1;
    default:
        return 0;
    }
}

static void cuda_destroy(void *opaque)
{
    CudaSpin *spin = opaque;
    if (!spin)
        return;
    /* Both return at once; CUDA frees them when anything left in the stream
     * is done. The primary context stays: the CUDA backend may share it. */
    if (spin->done)
        cudaEventDestroy(spin->done);
    if (spin->stream)
        cudaStreamDestroy(spin->stream);
    free(spin);
}

static cudaError_t spin_launch(const CudaSpin *spin)
{
    cudaError_t err = sprung_keeper_spin_launch(spin->spin_ns, spin->max_cycles, spin->stream);
    if (err == cudaSuccess)
        err = cudaEventRecord(spin->done, spin->stream);
    return err;
}

static SprungStatus cuda_create(const KeeperWorkConfig *config, void **ctx, int64_t *code,
                                char *reason, size_t reason_size)
{
    *ctx = NULL;
    *code = 0;
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
        *code = err;
        if (err != cudaSuccess)
            snprintf(reason, reason_size, "no usable CUDA device: cudaGetDeviceCount: %s (%s)",
                     cudaGetErrorString(err), cudaGetErrorName(err));
        else
            snprintf(reason, reason_size, "no CUDA device: the driver reports none");
        return SPRUNG_ERROR_UNSUPPORTED;
    }
    CudaSpin *spin = calloc(1, sizeof *spin);
    if (!spin)
        return SPRUNG_ERROR_NO_MEMORY;
    /* The first GPU (docs/keeper.md, Limits). The setting is the set-up
     * thread's, and it ends with it; the keeper thread never sets a device,
     * so its current device is 0 as well and its launches and polls use the
     * same primary context, which the stream and event belong to. */
    const char *step = "cudaSetDevice(0)";
    int clock_khz = 0, least = 0, greatest = 0;
    err = cudaSetDevice(0);
    if (err == cudaSuccess) {
        step = "cudaDeviceGetAttribute(cudaDevAttrClockRate)";
        err = cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0);
    }
    if (err == cudaSuccess) {
        step = "cudaDeviceGetStreamPriorityRange";
        err = cudaDeviceGetStreamPriorityRange(&least, &greatest);
    }
    if (err == cudaSuccess) {
        /* Non-blocking: the legacy default stream never waits for us. */
        step = "cudaStreamCreateWithPriority";
        err = cudaStreamCreateWithPriority(&spin->stream, cudaStreamNonBlocking, least);
    }
    if (err == cudaSuccess) {
        /* Only polled (cudaEventQuery), never synchronised on: the keeper
         * thread sleeps between polls instead of waiting in the driver. */
        step = "cudaEventCreateWithFlags";
        err = cudaEventCreateWithFlags(&spin->done, cudaEventDisableTiming);
    }
    if (err == cudaSuccess) {
        if (clock_khz <= 0)
            clock_khz = 3000000; /* above any GPU's clock: the cap only grows */
        spin->spin_ns = (unsigned long long)config->spin_us * 1000u;
        spin->max_cycles = (long long)config->spin_us * clock_khz / 1000 * CUDA_SPIN_CYCLE_CAP;
        /* One spin launched now, so a device this build has no kernel for
         * is found here (the launch itself fails) and is unsupported, rather
         * than failing at every spin. Not waited for: the keeper polls it
         * like any spin before it launches the next. */
        step = "the first spin kernel";
        err = spin_launch(spin);
    }
    if (err != cudaSuccess) {
        *code = err;
        snprintf(reason, reason_size, "CUDA keeper: %s failed: %s (%s)", step,
                 cudaGetErrorString(err), cudaGetErrorName(err));
        cuda_destroy(spin);
        return cuda_unusable_here(err) ? SPRUNG_ERROR_UNSUPPORTED : SPRUNG_ERROR_IO;
    }
    *ctx = spin;
    return SPRUNG_OK;
}

static SprungStatus cuda_launch(void *opaque, int64_t *code)
{
    cudaError_t err = spin_launch(opaque);
    *code = err;
    return err == cudaSuccess ? SPRUNG_OK : SPRUNG_ERROR_IO;
}

static SprungStatus cuda_poll(void *opaque, int *done, int64_t *code)
{
    const CudaSpin *spin = opaque;
    cudaError_t err = cudaEventQuery(spin->done);
    *done = err != cudaErrorNotReady;
    if (err == cudaErrorNotReady) {
        /* "Not ready" is an answer, not a failure, but some runtimes keep it
         * as the thread's last error, which the next launch's
         * cudaGetLastError() (keeper_spin.cu) would then report: clear it. */
        (void)cudaGetLastError();
        err = cudaSuccess;
    }
    *code = err;
    return err == cudaSuccess ? SPRUNG_OK : SPRUNG_ERROR_IO;
}

#endif

const KeeperWorkOps keeper_work_cuda = {
    .kind = SPRUNG_KEEPER_WORK_CUDA,
    .create = cuda_create,
    .launch = cuda_launch,
    .poll = cuda_poll,
    .destroy = cuda_destroy,
};
