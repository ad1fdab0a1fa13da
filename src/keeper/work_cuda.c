/* CUDA spin work: THE SLOT FOR THE GPU SESSION. Not written yet: it needs
 * the CUDA backend (src/backend/cuda) and a machine with a GPU to test on.
 * What it must do (docs/keeper.md): a stream created with the lowest
 * priority (cudaDeviceGetStreamPriorityRange, cudaStreamCreateWithPriority),
 * a tiny spin kernel of about spin_us, each launch after the previous one
 * finished (cudaEventSynchronize), errors returned as cudaError_t codes.
 * Until then create() fails with SPRUNG_ERROR_UNSUPPORTED and the keeper
 * falls back to OpenCL work (NVIDIA's driver ships an OpenCL ICD for the same
 * GPU), then to no-op work. Keeper thread only. */
#include <stdio.h>

#include "keeper/keeper_work.h"

static SprungStatus cuda_create(const KeeperWorkConfig *config, void **ctx, int64_t *code,
                                char *reason, size_t reason_size)
{
    (void)config;
    *ctx = NULL;
    *code = 0;
    snprintf(reason, reason_size,
             "src/keeper/work_cuda.c: CUDA spin work is not built yet (needs the CUDA "
             "backend and a GPU session)");
    return SPRUNG_ERROR_UNSUPPORTED;
}

static SprungStatus cuda_spin(void *ctx, int64_t *code)
{
    (void)ctx;
    *code = 0;
    return SPRUNG_ERROR_UNSUPPORTED;
}

static void cuda_destroy(void *ctx)
{
    (void)ctx;
}

const KeeperWorkOps keeper_work_cuda = {
    .kind = SPRUNG_KEEPER_WORK_CUDA,
    .create = cuda_create,
    .spin = cuda_spin,
    .destroy = cuda_destroy,
};
