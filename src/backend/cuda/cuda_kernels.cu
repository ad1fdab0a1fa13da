/* The CUDA driver of the block kernel (src/kernel/sprung_block.h, written
 * once for C, OpenCL C and CUDA C): the block kernel on one thread block
 * (state in shared memory while it fits) and its feature-model twin, the
 * voices kernel (a thread block per voice of an instanced model), the
 * cooperative kernel for large
 * models (grid barrier per phase), and the persistent kernel that polls a
 * mailbox in pinned mapped memory. Built by nvcc with --fmad=false
 * -prec-div=true -prec-sqrt=true -ftz=true (src/backend/cuda/CMakeLists.txt)
 * so each step gives the CPU reference's bits (the engine flushes
 * subnormals on the CPU too). Launchers with C linkage for cuda_backend.c. */
#include <cooperative_groups.h>

#include "backend/cuda/cuda_launch.h"

namespace cg = cooperative_groups;

/* The "constant" late parameters: header words, then starts. */
__constant__ unsigned int sprung_late_constant[SPRUNG_BLOCK_HEADER_WORDS + 3u * 1024u];

extern __shared__ unsigned int sprung_shared_state[];

/* Copies `words` words between the global state and the shared copy. */
static __device__ void copy_words(unsigned int *to, const unsigned int *from, unsigned int words)
{
    for (unsigned int w = threadIdx.x; w < words; w += blockDim.x)
        to[w] = from[w];
}

__global__ void sprung_cuda_block_kernel(const unsigned char *constants, SprungBlockLayout layout,
                                         unsigned int *state, const unsigned int *inputs,
                                         float *out, SprungCudaLate late, unsigned int shared,
                                         const volatile unsigned int *gate_flag)
{
    __shared__ unsigned int header[2];
    __shared__ const SprungKernelPulseStart *starts;
    unsigned int item = threadIdx.x, items = blockDim.x;
    if (item == 0u) {
        /* Gated launch: wait for the host to say the inputs are written. */
        if (late.gate) {
            while (*gate_flag < late.gate) {
            }
            __threadfence_system();
        }
        switch (late.source) {
        case SPRUNG_CUDA_LATE_ARGS:
            header[0] = late.n_steps;
            header[1] = late.n_starts;
            starts = late.n_starts <= SPRUNG_CUDA_INLINE_STARTS
                         ? late.starts
                         : (const SprungKernelPulseStart *)(inputs + SPRUNG_BLOCK_HEADER_WORDS);
            break;
        case SPRUNG_CUDA_LATE_CONSTANT:
            header[0] = sprung_late_constant[0];
            header[1] = sprung_late_constant[1];
            starts = (const SprungKernelPulseStart *)(sprung_late_constant +
                                                      SPRUNG_BLOCK_HEADER_WORDS);
            break;
        default: /* buffer or mapped host memory */
            header[0] = ((const volatile unsigned int *)inputs)[0];
            header[1] = ((const volatile unsigned int *)inputs)[1];
            starts = (const SprungKernelPulseStart *)(inputs + SPRUNG_BLOCK_HEADER_WORDS);
            break;
        }
    }
    __syncthreads();
    unsigned int n_steps = header[0], n_starts = header[1];
    SprungStepModel model = sprung_block_model(constants, &layout);
    if (shared) {
        copy_words(sprung_shared_state, state, layout.state_words);
        __syncthreads();
        SprungStepState view = sprung_block_state((unsigned char *)sprung_shared_state, &layout);
        sprung_block_run(item, items, n_steps, n_starts, starts, &model, &view, out);
        __syncthreads();
        copy_words(state, sprung_shared_state, layout.state_words);
    } else {
        SprungStepState view = sprung_block_state((unsigned char *)state, &layout);
        sprung_block_run(item, items, n_steps, n_starts, starts, &model, &view, out);
    }
}

/* A feature model's block (sprung_block_run_features) on one thread block,
 * its inputs from the buffer (header, starts, notes, audio inputs). */
__global__ void sprung_cuda_features_kernel(unsigned char *constants,
                                            SprungBlockLayout layout,
                                            SprungBlockFeatureLayout features, unsigned int *state,
                                            const unsigned int *inputs, float *out,
                                            unsigned int shared)
{
    unsigned int item = threadIdx.x, items = blockDim.x;
    unsigned char *bytes = (unsigned char *)state;
    if (shared) {
        copy_words(sprung_shared_state, state, layout.state_words);
        __syncthreads();
        bytes = (unsigned char *)sprung_shared_state;
    }
    sprung_block_run_features_at(item, items, constants, &layout, &features, bytes,
                                 (unsigned char *)state, inputs, NULL, out);
    if (shared) {
        __syncthreads();
        copy_words(state, sprung_shared_state, layout.state_words);
    }
}

/* Several voices' blocks in one launch (advance_voices): thread block b
 * runs entry b of the launch table at the start of `inputs`
 * (sprung_block.h, SprungKernelVoiceRun) on its voice's copies of the
 * compiled block and the state (base + voice × stride), the state in shared
 * memory when `shared` (the rings stay in the voice's global block). */
__global__ void sprung_cuda_voices_kernel(unsigned char *constants, unsigned int constants_stride,
                                          SprungBlockLayout layout,
                                          SprungBlockFeatureLayout features, unsigned char *state,
                                          unsigned int state_stride, const unsigned int *inputs,
                                          float *out, unsigned int shared)
{
    unsigned int item = threadIdx.x, items = blockDim.x;
    SprungKernelVoiceRun run = sprung_block_voice_run(inputs, blockIdx.x);
    unsigned char *voice_state = state + (size_t)run.voice * state_stride;
    unsigned char *bytes = voice_state;
    if (shared) {
        copy_words(sprung_shared_state, (const unsigned int *)voice_state, layout.state_words);
        __syncthreads();
        bytes = (unsigned char *)sprung_shared_state;
    }
    sprung_block_run_voice_at(item, items, &run, constants + (size_t)run.voice * constants_stride,
                              &layout, &features, bytes, voice_state, inputs, out);
    if (shared) {
        __syncthreads();
        copy_words((unsigned int *)voice_state, sprung_shared_state, layout.state_words);
    }
}

/* Large models: the whole grid shares one network; a grid barrier
 * separates the phases (the same order of operations as sprung_block_run). */
__global__ void sprung_cuda_cooperative_kernel(const unsigned char *constants,
                                               SprungBlockLayout layout, unsigned int *state,
                                               const unsigned int *inputs, float *out)
{
    cg::grid_group grid = cg::this_grid();
    unsigned int item = (unsigned int)grid.thread_rank();
    unsigned int items = (unsigned int)grid.size();
    unsigned int n_steps = inputs[0], n_starts = inputs[1], next_start = 0u;
    const SprungKernelPulseStart *starts =
        (const SprungKernelPulseStart *)(inputs + SPRUNG_BLOCK_HEADER_WORDS);
    SprungStepModel model = sprung_block_model(constants, &layout);
    SprungStepState view = sprung_block_state((unsigned char *)state, &layout);
    for (unsigned int step = 0u; step < n_steps; ++step) {
        if (item == 0u)
            sprung_block_apply_starts(step, &next_start, n_starts, starts, &view);
        sprung_block_springs(item, items, &model, &view);
        grid.sync();
        sprung_block_nodes(item, items, &model, &view);
        grid.sync();
        if (item == 0u)
            sprung_block_mix(step, &model, &view, out);
    }
}

/* Large feature models: the same over the whole grid, the serial parts of
 * a step on its thread 0 (the order of sprung_block_run_features, whose
 * barriers around a frame's modulation writes become grid barriers). */
__global__ void sprung_cuda_cooperative_features_kernel(unsigned char *constants,
                                                        SprungBlockLayout layout,
                                                        SprungBlockFeatureLayout features,
                                                        unsigned int *state,
                                                        const unsigned int *inputs, float *out)
{
    cg::grid_group grid = cg::this_grid();
    unsigned int item = (unsigned int)grid.thread_rank();
    unsigned int items = (unsigned int)grid.size();
    unsigned char *bytes = (unsigned char *)state;
    SprungStepModel model = sprung_block_model(constants, &layout);
    SprungStepState view = sprung_block_state(bytes, &layout);
    SprungFeatureModel fm = sprung_block_feature_model(constants, &features);
    SprungFeatureState fs = sprung_block_feature_state(bytes, bytes, &features);
    SprungBlockFeatureInputs in = sprung_block_feature_inputs(inputs, constants, &features);
    unsigned int next_start = 0u, next_event = 0u;
    for (unsigned int step = 0u; step < in.n_steps; ++step) {
        unsigned int first_write, end_write;
        if (sprung_block_frame_writes(step, &in, &first_write, &end_write)) {
            grid.sync();
            sprung_block_apply_writes(item, items, first_write, end_write, &in,
                                      (unsigned int *)constants, state);
            grid.sync();
        }
        if (item == 0u)
            sprung_block_features_before(step, &in, &next_start, &next_event, &model, &view,
                                         &fm, &fs);
        sprung_block_springs(item, items, &model, &view);
        grid.sync();
        sprung_block_nodes_features(item, items, &model, &view, &fm, &fs);
        grid.sync();
        if (item == 0u)
            sprung_block_features_after(step, &in, &model, &view, &fm, &fs, out);
    }
}

/* Lives across blocks: polls the mailbox in pinned mapped memory, runs each
 * block it finds with the state kept in shared memory (when `shared`), and
 * writes the output straight into mapped host memory. */
__global__ void sprung_cuda_persistent_kernel(const unsigned char *constants,
                                              SprungBlockLayout layout, unsigned int *state,
                                              SprungCudaMailbox *mailbox, float *out,
                                              SprungKernelPulseStart *scratch, unsigned int shared)
{
    __shared__ unsigned int request, n_steps, n_starts;
    unsigned int item = threadIdx.x, items = blockDim.x;
    SprungStepModel model = sprung_block_model(constants, &layout);
    unsigned char *state_bytes = (unsigned char *)state;
    if (shared) {
        copy_words(sprung_shared_state, state, layout.state_words);
        state_bytes = (unsigned char *)sprung_shared_state;
    }
    SprungStepState view = sprung_block_state(state_bytes, &layout);
    unsigned int last = 0u;
    if (item == 0u)
        last = mailbox->done;
    __syncthreads();
    for (;;) {
        if (item == 0u) {
            unsigned int r;
            do {
                r = mailbox->request;
            } while (r == last);
            __threadfence_system();
            request = r;
            n_steps = mailbox->n_steps;
            n_starts = mailbox->n_starts;
            if (n_steps != SPRUNG_CUDA_STOP) {
                const volatile SprungKernelPulseStart *from = mailbox->starts;
                for (unsigned int k = 0u; k < n_starts; ++k) {
                    scratch[k].step = from[k].step;
                    scratch[k].slot = from[k].slot;
                    scratch[k].amplitude = from[k].amplitude;
                }
            }
            last = r;
        }
        __syncthreads();
        if (n_steps == SPRUNG_CUDA_STOP)
            break;
        sprung_block_run(item, items, n_steps, n_starts, scratch, &model, &view, out);
        __syncthreads();
        if (item == 0u) {
            __threadfence_system();
            mailbox->done = request;
        }
    }
    if (shared) {
        __syncthreads();
        copy_words(state, sprung_shared_state, layout.state_words);
    }
}

extern "C" {

cudaError_t sprung_cuda_prepare_kernels(unsigned int bytes)
{
    cudaError_t err = cudaFuncSetAttribute(sprung_cuda_block_kernel,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    if (err == cudaSuccess)
        err = cudaFuncSetAttribute(sprung_cuda_persistent_kernel,
                                   cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    if (err == cudaSuccess)
        err = cudaFuncSetAttribute(sprung_cuda_features_kernel,
                                   cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    return err;
}

cudaError_t sprung_cuda_block_max_threads(int features, int *max_threads)
{
    /* The persistent kernel stands in for a plain model's launch variants. */
    const void *kernels[] = {features ? (const void *)sprung_cuda_features_kernel
                                      : (const void *)sprung_cuda_block_kernel,
                             (const void *)sprung_cuda_persistent_kernel};
    int most = 1024;
    for (int k = 0; k < (features ? 1 : 2); ++k) {
        struct cudaFuncAttributes attributes;
        cudaError_t err = cudaFuncGetAttributes(&attributes, kernels[k]);
        if (err != cudaSuccess)
            return err;
        if (attributes.maxThreadsPerBlock < most)
            most = attributes.maxThreadsPerBlock;
    }
    *max_threads = most;
    return cudaSuccess;
}

cudaError_t sprung_cuda_cooperative_occupancy(unsigned int threads, int features,
                                              int *blocks_per_sm)
{
    return features ? cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                          blocks_per_sm, sprung_cuda_cooperative_features_kernel, (int)threads, 0)
                    : cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                          blocks_per_sm, sprung_cuda_cooperative_kernel, (int)threads, 0);
}

cudaError_t sprung_cuda_launch_block(const SprungCudaLaunchSetup *setup, const SprungCudaLate *late,
                                     cudaStream_t stream)
{
    sprung_cuda_block_kernel<<<1, setup->threads, setup->shared_bytes, stream>>>(
        setup->constants, setup->layout, setup->state, setup->inputs, setup->out, *late,
        setup->shared_bytes ? 1u : 0u, setup->gate_flag);
    return cudaGetLastError();
}

cudaError_t sprung_cuda_launch_features(const SprungCudaLaunchSetup *setup,
                                        const SprungBlockFeatureLayout *features,
                                        cudaStream_t stream)
{
    sprung_cuda_features_kernel<<<1, setup->threads, setup->shared_bytes, stream>>>(
        setup->constants, setup->layout, *features, setup->state, setup->inputs, setup->out,
        setup->shared_bytes ? 1u : 0u);
    return cudaGetLastError();
}

cudaError_t sprung_cuda_launch_cooperative(const SprungCudaLaunchSetup *setup,
                                           cudaStream_t stream)
{
    const unsigned char *constants = setup->constants;
    SprungBlockLayout layout = setup->layout;
    unsigned int *state = setup->state;
    const unsigned int *inputs = setup->inputs;
    float *out = setup->out;
    void *args[] = {&constants, &layout, &state, &inputs, &out};
    return cudaLaunchCooperativeKernel((const void *)sprung_cuda_cooperative_kernel,
                                       dim3(setup->blocks), dim3(setup->threads), args, 0, stream);
}

cudaError_t sprung_cuda_launch_cooperative_features(const SprungCudaLaunchSetup *setup,
                                                    const SprungBlockFeatureLayout *features,
                                                    cudaStream_t stream)
{
    unsigned char *constants = setup->constants;
    SprungBlockLayout layout = setup->layout;
    SprungBlockFeatureLayout feature_layout = *features;
    unsigned int *state = setup->state;
    const unsigned int *inputs = setup->inputs;
    float *out = setup->out;
    void *args[] = {&constants, &layout, &feature_layout, &state, &inputs, &out};
    return cudaLaunchCooperativeKernel((const void *)sprung_cuda_cooperative_features_kernel,
                                       dim3(setup->blocks), dim3(setup->threads), args, 0, stream);
}

cudaError_t sprung_cuda_prepare_voices(unsigned int shared_bytes, int *max_threads)
{
    cudaError_t err = cudaSuccess;
    if (shared_bytes)
        err = cudaFuncSetAttribute(sprung_cuda_voices_kernel,
                                   cudaFuncAttributeMaxDynamicSharedMemorySize, (int)shared_bytes);
    struct cudaFuncAttributes attributes;
    if (err == cudaSuccess)
        err = cudaFuncGetAttributes(&attributes, sprung_cuda_voices_kernel);
    if (err == cudaSuccess)
        *max_threads = attributes.maxThreadsPerBlock;
    return err;
}

cudaError_t sprung_cuda_launch_voices(const SprungCudaVoicesSetup *setup, unsigned int n_runs,
                                      cudaStream_t stream)
{
    sprung_cuda_voices_kernel<<<n_runs, setup->threads, setup->shared_bytes, stream>>>(
        setup->constants, setup->constants_stride, setup->layout, setup->features, setup->state,
        setup->state_stride, setup->inputs, setup->out, setup->shared_bytes ? 1u : 0u);
    return cudaGetLastError();
}

cudaError_t sprung_cuda_set_constant(const unsigned int *host_inputs, size_t bytes,
                                     cudaStream_t stream)
{
    return cudaMemcpyToSymbolAsync(sprung_late_constant, host_inputs, bytes, 0,
                                   cudaMemcpyHostToDevice, stream);
}

cudaError_t sprung_cuda_launch_persistent(const SprungCudaLaunchSetup *setup,
                                          cudaStream_t stream)
{
    sprung_cuda_persistent_kernel<<<1, setup->threads, setup->shared_bytes, stream>>>(
        setup->constants, setup->layout, setup->state, setup->mailbox, setup->out,
        setup->scratch_starts, setup->shared_bytes ? 1u : 0u);
    return cudaGetLastError();
}

const void *sprung_cuda_block_function(void)
{
    return (const void *)sprung_cuda_block_kernel;
}

} /* extern "C" */
