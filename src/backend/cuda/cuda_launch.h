/* The seam between the CUDA backend's host code (cuda_backend.c, plain C
 * against the CUDA runtime API) and its kernels (cuda_kernels.cu, compiled
 * by nvcc from src/kernel/sprung_block.h): launchers with C linkage that
 * take plain values. Private to src/backend/cuda/. Control thread for the
 * setup functions; the launchers run on the audio thread (they allocate
 * nothing themselves; the CUDA driver may). */
#ifndef SPRUNG_BACKEND_CUDA_LAUNCH_H
#define SPRUNG_BACKEND_CUDA_LAUNCH_H

#include <cuda_runtime_api.h>

#include "kernel/sprung_block.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pulse starts carried inline in the kernel arguments ("args" late
 * parameters); a block with more takes them from the input buffer. */
#define SPRUNG_CUDA_INLINE_STARTS 64u

/* Where the kernel finds the block's late parameters (length, starts). */
enum {
    SPRUNG_CUDA_LATE_BUFFER = 0,   /* device buffer `inputs`, copied from pinned memory */
    SPRUNG_CUDA_LATE_ARGS = 1,     /* the SprungCudaLate kernel argument */
    SPRUNG_CUDA_LATE_CONSTANT = 2, /* __constant__ memory, copied per block */
    SPRUNG_CUDA_LATE_MAPPED = 3    /* pinned mapped host memory, read over the bus */
};

/* Late parameters by value (the "args" variant): 16 + 12 × 64 bytes. */
typedef struct SprungCudaLate {
    unsigned int n_steps;
    unsigned int n_starts;
    unsigned int source; /* SPRUNG_CUDA_LATE_* */
    unsigned int gate;   /* nonzero: item 0 first spins until *gate_flag >= gate */
    SprungKernelPulseStart starts[SPRUNG_CUDA_INLINE_STARTS];
} SprungCudaLate;

/* The persistent kernel's mailbox in pinned, mapped host memory. The host
 * writes the block (n_steps, n_starts, starts), then bumps `request`; the
 * kernel runs it, writes the output into `out`, then sets `done` to the
 * request. n_steps == SPRUNG_CUDA_STOP ends the kernel (the state is then
 * written back to global memory). */
#define SPRUNG_CUDA_STOP 0xFFFFFFFFu
typedef struct SprungCudaMailbox {
    volatile unsigned int request;
    volatile unsigned int done;
    volatile unsigned int n_steps;
    volatile unsigned int n_starts;
    SprungKernelPulseStart starts[1024]; /* SPRUNG_BACKEND_MAX_PULSE_STARTS */
} SprungCudaMailbox;

/* Everything a launch needs that does not change between blocks. */
typedef struct SprungCudaLaunchSetup {
    unsigned char *constants; /* device; a modulated model's kernel writes into it */
    unsigned int *state;            /* device */
    unsigned int *inputs;           /* device: header + starts */
    float *out;                     /* device (or mapped host for the persistent kernel) */
    SprungBlockLayout layout;
    unsigned int threads;           /* per block */
    unsigned int blocks;            /* cooperative grid size (1 otherwise) */
    unsigned int shared_bytes;      /* dynamic shared memory: the state, or 0 */
    const volatile unsigned int *gate_flag; /* device view of a mapped flag, or NULL */
    SprungCudaMailbox *mailbox;     /* device view of the mapped mailbox, or NULL */
    SprungKernelPulseStart *scratch_starts; /* device, 1024 entries (persistent kernel) */
} SprungCudaLaunchSetup;

/* Raises the kernels' dynamic shared memory limit to `bytes` (above 48 KiB
 * needs opting in). */
cudaError_t sprung_cuda_prepare_kernels(unsigned int bytes);

/* The most threads per block the one-block kernels (`features`: the
 * feature model's) can be launched with: their register use may allow
 * fewer than the device's limit (the feature kernel: about 256). */
cudaError_t sprung_cuda_block_max_threads(int features, int *max_threads);

/* Blocks per SM the cooperative kernel (`features`: the feature model's)
 * can keep resident with `threads`. */
cudaError_t sprung_cuda_cooperative_occupancy(unsigned int threads, int features,
                                              int *blocks_per_sm);

/* One block on one thread block (state in shared memory when
 * setup->shared_bytes, else global). */
cudaError_t sprung_cuda_launch_block(const SprungCudaLaunchSetup *setup, const SprungCudaLate *late,
                                     cudaStream_t stream);

/* A feature model's block on one thread block (sprung_block_run_features):
 * its inputs from setup->inputs, packed by sprung_gpu_pack_features(). */
cudaError_t sprung_cuda_launch_features(const SprungCudaLaunchSetup *setup,
                                        const SprungBlockFeatureLayout *features,
                                        cudaStream_t stream);

/* One block over setup->blocks thread blocks with a grid barrier per phase
 * (cudaLaunchCooperativeKernel); late parameters from the buffer. */
cudaError_t sprung_cuda_launch_cooperative(const SprungCudaLaunchSetup *setup,
                                           cudaStream_t stream);

/* A feature model's block over setup->blocks thread blocks, its inputs as
 * sprung_cuda_launch_features takes them. */
cudaError_t sprung_cuda_launch_cooperative_features(const SprungCudaLaunchSetup *setup,
                                                    const SprungBlockFeatureLayout *features,
                                                    cudaStream_t stream);

/* What a voices launch (advance_voices) needs that does not change between
 * blocks: n_voices copies of the compiled block and of the state at these
 * strides (bytes), the inputs (launch table first: sprung_block.h,
 * SprungKernelVoiceRun) and outputs. */
typedef struct SprungCudaVoicesSetup {
    unsigned char *constants; /* device */
    unsigned int constants_stride;
    unsigned char *state;     /* device */
    unsigned int state_stride;
    const unsigned int *inputs; /* device */
    float *out;               /* device */
    SprungBlockLayout layout;
    SprungBlockFeatureLayout features;
    unsigned int threads;      /* per block (a voice) */
    unsigned int shared_bytes; /* dynamic shared memory: a voice's state, or 0 */
} SprungCudaVoicesSetup;

/* Raises the voices kernel's dynamic shared memory limit to shared_bytes
 * (0: leaves it) and says how many threads per block it can take. */
cudaError_t sprung_cuda_prepare_voices(unsigned int shared_bytes, int *max_threads);

/* n_runs thread blocks, block b running the table's entry b. */
cudaError_t sprung_cuda_launch_voices(const SprungCudaVoicesSetup *setup, unsigned int n_runs,
                                      cudaStream_t stream);

/* Copies the late parameters into __constant__ memory (the "constant"
 * variant), from pinned host memory: header words then starts. */
cudaError_t sprung_cuda_set_constant(const unsigned int *host_inputs, size_t bytes,
                                     cudaStream_t stream);

/* Starts the persistent kernel; it returns once the mailbox says STOP. */
cudaError_t sprung_cuda_launch_persistent(const SprungCudaLaunchSetup *setup,
                                          cudaStream_t stream);

/* The block kernel's function, for graph kernel nodes, and its arguments'
 * order: (constants, layout, state, inputs, out, late, shared). */
const void *sprung_cuda_block_function(void);

#ifdef __cplusplus
}
#endif
#endif
