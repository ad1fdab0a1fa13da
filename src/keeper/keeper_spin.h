/* The seam between the CUDA spin work (work_cuda.c, plain C against the CUDA
 * runtime API) and its kernel (keeper_spin.cu, built by nvcc only when the
 * build has CUDA): one launcher with C linkage that takes plain values.
 * Private to src/keeper/; keeper thread only. */
#ifndef SPRUNG_KEEPER_SPIN_H
#define SPRUNG_KEEPER_SPIN_H

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Enqueues one spin kernel (one warp) on `stream` and returns the launch's
 * error without waiting. The kernel busy-waits until `spin_ns` nanoseconds of
 * the device's global timer have passed, or `max_cycles` SM clock cycles,
 * whichever comes first (the cycle cap only matters if the timer is broken:
 * no kernel of the keeper can run for ever). */
cudaError_t sprung_keeper_spin_launch(unsigned long long spin_ns, long long max_cycles,
                                      cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
