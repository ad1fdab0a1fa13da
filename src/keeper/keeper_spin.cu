/* The CUDA spin work's kernel (work_cuda.c launches it through
 * keeper_spin.h): one warp that busy-waits about spin_us on the device, so
 * the GPU sees a short burst of work every keeper period. Built by nvcc into
 * its own static library (src/keeper/CMakeLists.txt) only when the build has
 * CUDA. Keeper thread only. */
#include "keeper/keeper_spin.h"

/* The device's nanosecond wall clock. The wait is measured on it, not on
 * clock64(): SM cycles tick at the current SM clock, which is the very thing
 * the keeper is there to change, so a cycle count would last several times
 * longer on an idle, down-clocked GPU. */
static __device__ __forceinline__ unsigned long long global_timer_ns(void)
{
    unsigned long long ns;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(ns));
    return ns;
}

__global__ void sprung_keeper_spin_kernel(unsigned long long spin_ns, long long max_cycles)
{
    const unsigned long long start_ns = global_timer_ns();
    const long long start_cycles = clock64();
    while (global_timer_ns() - start_ns < spin_ns && clock64() - start_cycles < max_cycles) {
    }
}

cudaError_t sprung_keeper_spin_launch(unsigned long long spin_ns, long long max_cycles,
                                      cudaStream_t stream)
{
    sprung_keeper_spin_kernel<<<1, 32, 0, stream>>>(spin_ns, max_cycles);
    return cudaGetLastError();
}
