/* The CUDA backend's instanced mode (SPRUNG_FEATURE_VOICES, the factory's
 * create_voices): every voice of an instanced model in one launch per
 * block, a thread block per voice (sprung_cuda_voices_kernel in
 * cuda_kernels.cu), as the OpenCL backend's opencl_voices.c does: the
 * device holds n_voices copies of the compiled block (modulation writes
 * each voice's own) and of the state at fixed strides, and one copy of the
 * initial state that reset_voice copies from on the device. A block's
 * inputs are one buffer, a launch table first (gpu_common.h packs it,
 * sprung_block.h reads it). Each voice keeps its state in shared memory
 * while it fits (SPRUNG_CUDA_PATH=global: global memory); never the
 * cooperative path. The plain launch only: copy in, kernel, copy out, wait
 * on a blocking-sync event, all on the backend's stream. NEVER EXECUTED IN
 * THE SESSION THAT WROTE IT (no GPU): it builds; tests/gpu/test_gpu_voices
 * runs it wherever a CUDA device exists and skips elsewhere.
 *
 * Threading as cuda_backend.c: create, destroy, sync_state and upload_state
 * on the control thread; advance_voices, reset_voice and reset on the audio
 * thread, allocating nothing themselves (the CUDA driver may). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "backend/backend.h"
#include "backend/cuda/cuda_launch.h"
#include "backend/cuda/cuda_voices.h"
#include "backend/opencl/gpu_common.h"
#include "sprung/keeper.h"

/* Room the kernel's shared memory needs besides a voice's state. */
#define VOICES_SHARED_MARGIN 1024u
/* Voice copies start on this boundary (bytes): cudaMalloc's own alignment,
 * so a voice's arrays sit as aligned as a single block's. */
#define VOICES_COPY_ALIGN 256u

typedef struct CudaVoices {
    SprungGpuStats stats; /* first: gpu_common.h */
    const SprungCompiled *compiled;
    SprungState **states; /* the engine's host copies, n_voices */
    uint32_t n_voices;
    uint32_t max_steps;
    size_t state_bytes;
    size_t input_bytes, output_bytes;

    cudaStream_t stream;
    cudaEvent_t kernel_start, kernel_end, done;
    SprungCudaVoicesSetup setup;
    unsigned char *constants_device, *state_device, *initial_device;
    unsigned int *inputs_device;
    float *out_device;
    unsigned int *inputs_host; /* pinned */
    float *out_host;           /* pinned */

    int keeper_held;
} CudaVoices;

#define CUDA_TRY(call, what)                                                                   \
    do {                                                                                       \
        cudaError_t err_ = (call);                                                             \
        if (err_ != cudaSuccess) {                                                             \
            sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "cuda backend", 0, 0, NULL,      \
                             "%s failed: %s", what, cudaGetErrorString(err_));                 \
            goto fail;                                                                         \
        }                                                                                      \
    } while (0)

/* ---- audio thread ---- */

static void voices_advance(void *ctx, uint32_t n_steps, uint32_t n_runs,
                           const SprungVoiceRun *runs)
{
    CudaVoices *self = ctx;
    uint32_t n_channels = self->compiled->n_channels;
    self->stats.blocks++;
    if (n_steps == 0 || n_runs == 0)
        return;
    if (n_steps > self->max_steps)
        n_steps = self->max_steps; /* the engine never asks for more */
    if (n_runs > self->n_voices)
        n_runs = self->n_voices;
    size_t words = sprung_gpu_pack_voices(self->inputs_host, self->compiled, self->n_voices,
                                          n_steps, n_runs, runs);
    size_t out_bytes = (size_t)n_runs * n_channels * n_steps * sizeof(float);
    cudaError_t err = words ? cudaSuccess : cudaErrorInvalidValue;
    if (err == cudaSuccess)
        err = cudaMemcpyAsync(self->inputs_device, self->inputs_host, words * 4u,
                              cudaMemcpyHostToDevice, self->stream);
    if (err == cudaSuccess)
        err = cudaEventRecord(self->kernel_start, self->stream);
    if (err == cudaSuccess)
        err = sprung_cuda_launch_voices(&self->setup, n_runs, self->stream);
    if (err == cudaSuccess)
        err = cudaEventRecord(self->kernel_end, self->stream);
    if (err == cudaSuccess)
        err = cudaMemcpyAsync(self->out_host, self->out_device, out_bytes,
                              cudaMemcpyDeviceToHost, self->stream);
    if (err == cudaSuccess)
        err = cudaEventRecord(self->done, self->stream);
    if (err == cudaSuccess)
        err = cudaEventSynchronize(self->done);
    float ms = 0.0f;
    self->stats.groups = n_runs;
    self->stats.last_kernel_s =
        err == cudaSuccess &&
                cudaEventElapsedTime(&ms, self->kernel_start, self->kernel_end) == cudaSuccess
            ? ms * 1e-3
            : -1.0;
    /* A failed device is silence, never garbage. */
    sprung_gpu_unpack_voices(self->out_host, err == cudaSuccess, n_channels, n_steps, n_runs,
                             runs);
}

/* The voice's state from the device's initial copy, queued on the stream
 * before the next launch: no host round trip, no wait. Its constants stay
 * as the writes left them. */
static void voices_reset_voice(void *ctx, uint32_t voice)
{
    CudaVoices *self = ctx;
    if (voice >= self->n_voices)
        return;
    cudaMemcpyAsync(self->state_device + (size_t)voice * self->setup.state_stride,
                    self->initial_device, self->state_bytes, cudaMemcpyDeviceToDevice,
                    self->stream);
}

/* Every voice back to the initial state, the host copies too (as the
 * single-model backend's reset). */
static void voices_reset(void *ctx)
{
    CudaVoices *self = ctx;
    for (uint32_t v = 0; v < self->n_voices; ++v) {
        sprung_state_reset(self->compiled, self->states[v]);
        voices_reset_voice(ctx, v);
    }
    cudaStreamSynchronize(self->stream);
}

/* ---- control thread ---- */

static void voices_sync(void *ctx)
{
    CudaVoices *self = ctx;
    for (uint32_t v = 0; v < self->n_voices; ++v)
        cudaMemcpyAsync(self->states[v]->block,
                        self->state_device + (size_t)v * self->setup.state_stride,
                        self->state_bytes, cudaMemcpyDeviceToHost, self->stream);
    cudaStreamSynchronize(self->stream);
}

static void voices_upload(void *ctx)
{
    CudaVoices *self = ctx;
    for (uint32_t v = 0; v < self->n_voices; ++v)
        cudaMemcpyAsync(self->state_device + (size_t)v * self->setup.state_stride,
                        self->states[v]->block, self->state_bytes, cudaMemcpyHostToDevice,
                        self->stream);
    cudaStreamSynchronize(self->stream);
}

static void voices_release(CudaVoices *self)
{
    if (!self)
        return;
    if (self->stream) {
        cudaStreamSynchronize(self->stream);
        cudaStreamDestroy(self->stream);
    }
    cudaEvent_t events[] = {self->kernel_start, self->kernel_end, self->done};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; ++i)
        if (events[i])
            cudaEventDestroy(events[i]);
    void *device[] = {self->constants_device, self->state_device, self->initial_device,
                      self->inputs_device, self->out_device};
    for (size_t i = 0; i < sizeof device / sizeof device[0]; ++i)
        if (device[i])
            cudaFree(device[i]);
    if (self->inputs_host)
        cudaFreeHost(self->inputs_host);
    if (self->out_host)
        cudaFreeHost(self->out_host);
    if (self->keeper_held)
        sprung_keeper_release();
    free(self->states);
    free(self);
}

static void voices_destroy(void *ctx)
{
    voices_release(ctx);
}

/* The device's copies: the compiled block n_voices times, each voice's
 * state from the engine's host copy, the initial state (a fresh one's,
 * which sprung_state_reset also gives); the inputs and outputs, device and
 * pinned host. */
static SprungStatus voices_memory(CudaVoices *self, SprungError *error)
{
    const SprungCompiled *compiled = self->compiled;
    size_t constants_stride = self->setup.constants_stride;
    size_t state_stride = self->setup.state_stride;
    SprungState initial = {0};
    CUDA_TRY(cudaMalloc((void **)&self->constants_device, constants_stride * self->n_voices),
             "cudaMalloc (the voices' constants)");
    CUDA_TRY(cudaMalloc((void **)&self->state_device, state_stride * self->n_voices),
             "cudaMalloc (the voices' states)");
    CUDA_TRY(cudaMalloc((void **)&self->initial_device, self->state_bytes),
             "cudaMalloc (initial state)");
    CUDA_TRY(cudaMalloc((void **)&self->inputs_device, self->input_bytes), "cudaMalloc (inputs)");
    CUDA_TRY(cudaMalloc((void **)&self->out_device, self->output_bytes), "cudaMalloc (outputs)");
    for (uint32_t v = 0; v < self->n_voices; ++v) {
        CUDA_TRY(cudaMemcpy(self->constants_device + (size_t)v * constants_stride,
                            compiled->block, compiled->block_bytes, cudaMemcpyHostToDevice),
                 "cudaMemcpy (constants)");
        CUDA_TRY(cudaMemcpy(self->state_device + (size_t)v * state_stride,
                            self->states[v]->block, self->state_bytes, cudaMemcpyHostToDevice),
                 "cudaMemcpy (state)");
    }
    if (sprung_state_new(compiled, &initial) != SPRUNG_OK)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory for the voices' initial state");
    cudaError_t copied = cudaMemcpy(self->initial_device, initial.block, self->state_bytes,
                                    cudaMemcpyHostToDevice);
    sprung_state_free(&initial);
    CUDA_TRY(copied, "cudaMemcpy (initial state)");
    CUDA_TRY(cudaHostAlloc((void **)&self->inputs_host, self->input_bytes, cudaHostAllocDefault),
             "cudaHostAlloc (inputs)");
    memset(self->inputs_host, 0, self->input_bytes);
    CUDA_TRY(cudaHostAlloc((void **)&self->out_host, self->output_bytes, cudaHostAllocDefault),
             "cudaHostAlloc (outputs)");
    return SPRUNG_OK;
fail:
    return SPRUNG_ERROR_UNSUPPORTED;
}

static void voices_fill_vtable(CudaVoices *self, SprungBackend *out)
{
    /* No advance/advance_features/set_views: the engine steps a voices
     * backend through advance_voices only. */
    *out = (SprungBackend){
        .name = "cuda",
        .ctx = self,
        .reset = voices_reset,
        .sync_state = voices_sync,
        .upload_state = voices_upload,
        .destroy = voices_destroy,
        .applies_writes = 1,
        .advance_voices = voices_advance,
        .reset_voice = voices_reset_voice,
    };
}

SprungStatus sprung_cuda_create_voices(const SprungCompiled *compiled, uint32_t n_voices,
                                       SprungState *const *states, uint32_t device,
                                       const SprungEngineConfig *config, SprungBackend *out,
                                       SprungError *error)
{
    if (n_voices == 0)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, "cuda backend", 0, 0, NULL,
                                "no voices to create");
    SprungGpuVoicesLayout sizes;
    if (sprung_gpu_voices_layout(compiled, states[0]->block_bytes, config, n_voices,
                                 VOICES_COPY_ALIGN, &sizes) != 0)
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "cuda backend", 0, 0, NULL,
                                "model too large for %u voices: offsets past 4 GiB", n_voices);
    CudaVoices *self = calloc(1, sizeof *self);
    SprungState **host_states = calloc(n_voices, sizeof *host_states);
    if (!self || !host_states) {
        free(self);
        free(host_states);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the CUDA voices backend");
    }
    SprungStatus status = SPRUNG_ERROR_UNSUPPORTED;
    memcpy(host_states, states, n_voices * sizeof *host_states);
    self->states = host_states;
    self->stats.magic = SPRUNG_GPU_STATS_MAGIC;
    self->stats.last_kernel_s = -1.0;
    self->stats.exact_math = 1; /* --fmad=false -prec-div=true -prec-sqrt=true */
    self->compiled = compiled;
    self->n_voices = n_voices;
    self->max_steps = config->max_block_frames * config->oversampling;
    self->state_bytes = states[0]->block_bytes;
    self->input_bytes = sizes.input_bytes;
    self->output_bytes = (size_t)self->max_steps * compiled->n_channels * n_voices * sizeof(float);

    struct cudaDeviceProp prop;
    CUDA_TRY(cudaSetDevice((int)device), "cudaSetDevice");
    CUDA_TRY(cudaGetDeviceProperties(&prop, (int)device), "cudaGetDeviceProperties");
    snprintf(self->stats.device, sizeof self->stats.device, "%s", prop.name);

    SprungCudaVoicesSetup *setup = &self->setup;
    setup->constants_stride = (unsigned int)sizes.constants_stride;
    setup->state_stride = (unsigned int)sizes.state_stride;
    setup->layout = sprung_gpu_layout(compiled, states[0]);
    setup->features = sprung_gpu_feature_layout(compiled, states[0]);
    /* Each block's copy of its voice's state (but the delay rings). */
    size_t shared_state_bytes = (size_t)setup->layout.state_words * 4u;
    int shared = shared_state_bytes + VOICES_SHARED_MARGIN <= prop.sharedMemPerBlockOptin &&
                 !sprung_gpu_env_is("SPRUNG_CUDA_PATH", "global");
    setup->shared_bytes = shared ? (unsigned int)shared_state_bytes : 0u;
    int kernel_threads = 0;
    CUDA_TRY(sprung_cuda_prepare_voices(setup->shared_bytes, &kernel_threads),
             "preparing the voices kernel");

    /* One thread per spring (or node) up to the block limit (the device's,
     * the kernel's, SPRUNG_CUDA_WORK_GROUP), in whole warps. */
    unsigned int max_threads = (unsigned int)prop.maxThreadsPerBlock;
    if (kernel_threads > 0 && (unsigned int)kernel_threads < max_threads)
        max_threads = (unsigned int)kernel_threads;
    unsigned int cap = (unsigned int)sprung_gpu_env_number("SPRUNG_CUDA_WORK_GROUP", 1024);
    if (cap >= 32 && cap < max_threads)
        max_threads = cap;
    max_threads = max_threads / 32u * 32u;
    size_t work = compiled->n_springs > compiled->n_nodes ? compiled->n_springs : compiled->n_nodes;
    size_t want = (work + 31u) / 32u * 32u;
    setup->threads = (unsigned int)(want < 32u ? 32u : want < max_threads ? want : max_threads);

    CUDA_TRY(cudaStreamCreateWithFlags(&self->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    CUDA_TRY(cudaEventCreate(&self->kernel_start), "cudaEventCreate");
    CUDA_TRY(cudaEventCreate(&self->kernel_end), "cudaEventCreate");
    CUDA_TRY(cudaEventCreateWithFlags(&self->done, cudaEventBlockingSync), "cudaEventCreate");
    status = voices_memory(self, error);
    if (status != SPRUNG_OK)
        goto fail;
    status = SPRUNG_ERROR_UNSUPPORTED;
    setup->constants = self->constants_device;
    setup->state = self->state_device;
    setup->inputs = self->inputs_device;
    setup->out = self->out_device;
    CUDA_TRY(cudaDeviceSynchronize(), "cudaDeviceSynchronize");

    self->stats.work_group_size = setup->threads;
    self->stats.groups = n_voices;
    self->stats.local_bytes = setup->shared_bytes;
    snprintf(self->stats.path, sizeof self->stats.path, "%s", shared ? "local" : "global");
    snprintf(self->stats.launch, sizeof self->stats.launch, "voices");
    snprintf(self->stats.wait, sizeof self->stats.wait, "block");
    if (sprung_keeper_acquire(SPRUNG_KEEPER_WORK_CUDA, &self->keeper_held) != SPRUNG_OK)
        self->keeper_held = 0;
    voices_fill_vtable(self, out);
    return SPRUNG_OK;

fail:
    voices_release(self);
    return status;
}
