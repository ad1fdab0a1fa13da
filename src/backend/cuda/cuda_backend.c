/* The CUDA backend: the block kernel of src/kernel/sprung_block.h compiled
 * by nvcc (cuda_kernels.cu), driven from plain C through the CUDA runtime
 * API (linked statically: the program starts, and probe() says why not,
 * on machines without a driver). See docs/gpu.md. NEVER EXECUTED IN THE
 * SESSION THAT WROTE IT (no GPU): it builds; tests/gpu runs it wherever a
 * CUDA device exists and skips elsewhere.
 *
 * Paths (SPRUNG_CUDA_PATH=local|global|multi): one thread block with the
 * state in shared memory while it fits, or in global memory; above
 * SPRUNG_CUDA_MULTI_SPRINGS springs (default 32 × the block size) one
 * cooperative launch over many blocks with a grid barrier per phase.
 *
 * Launch variants (SPRUNG_CUDA_LAUNCH), all measured by `sprung bench`:
 *   plain       copy the late parameters, launch, copy the output back;
 *   graph       the same three operations as one CUDA graph, built at create
 *               (the copies' sizes updated per block);
 *   streamwait  the next block's input copy and launch are enqueued ahead,
 *               behind cuStreamWaitValue32 on a host-written flag (driver
 *               entry point fetched at run time; falls back to spingate);
 *   spingate    the next block's kernel is launched ahead and spins on that
 *               flag in mapped memory, reading its inputs from there;
 *   persistent  one kernel lives across blocks, polling a mailbox in pinned
 *               mapped memory and writing the output straight back into it.
 * Late parameters (SPRUNG_CUDA_PARAMS, plain launch only): "buffer" (copied
 * to device memory), "args" (by value in the kernel arguments, up to 64
 * starts), "constant" (__constant__ memory). Completion (SPRUNG_CUDA_WAIT):
 * "block" (cudaEventSynchronize on a blocking-sync event) or "spin"
 * (cudaEventQuery in a loop); the persistent kernel always spins on its
 * mailbox.
 *
 * Feature models (exciters, collisions, gravity, delays, channels) run the
 * feature kernels through advance_features, on every path, with the plain
 * launch from the buffer only. docs/gpu.md. An instanced model's voices
 * run as thread blocks of one launch: cuda_voices.c (create_voices).
 *
 * Threading: probe, create, destroy, sync_state, upload_state on the control
 * thread; advance and reset on the audio thread. advance() allocates
 * nothing itself; the CUDA driver may inside its calls (unavoidable). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h> /* types and enums of cuStreamWaitValue32 only: no libcuda link */
#include <cuda_runtime_api.h>

#include "backend/backend.h"
#include "backend/cuda/cuda_launch.h"
#include "backend/cuda/cuda_voices.h"
#include "backend/opencl/gpu_common.h"
#include "sprung/keeper.h"

#define CUDA_INPUT_BYTES \
    (SPRUNG_BLOCK_HEADER_WORDS * 4u + SPRUNG_BACKEND_MAX_PULSE_STARTS * sizeof(SprungKernelPulseStart))
#define CUDA_SHARED_MARGIN 1024u


_Static_assert(sizeof(SprungKernelPulseStart) == sizeof(SprungPulseStart),
               "pulse starts upload unchanged");
_Static_assert(sizeof(((SprungCudaMailbox *)0)->starts) / sizeof(SprungKernelPulseStart) ==
                   SPRUNG_BACKEND_MAX_PULSE_STARTS,
               "the mailbox holds a block's starts");

typedef enum CudaPath { PATH_LOCAL, PATH_GLOBAL, PATH_MULTI } CudaPath;
typedef enum CudaLaunch {
    LAUNCH_PLAIN, LAUNCH_GRAPH, LAUNCH_STREAMWAIT, LAUNCH_SPINGATE, LAUNCH_PERSISTENT
} CudaLaunch;
static const char *const launch_names[] = {"plain", "graph", "streamwait", "spingate",
                                           "persistent"};

typedef CUresult (*WaitValue32)(CUstream stream, CUdeviceptr address, cuuint32_t value,
                                unsigned int flags);

typedef struct CudaBackend {
    SprungGpuStats stats; /* first: see gpu_common.h */
    const SprungCompiled *compiled;
    SprungState *state;
    int device;
    CudaPath path;
    CudaLaunch launch;
    unsigned int params; /* SPRUNG_CUDA_LATE_* for the plain launch */
    int spin;
    uint32_t max_steps;
    int features; /* compiled->features != 0: advance_features runs the feature kernel */
    SprungBlockFeatureLayout feature_layout;
    size_t input_bytes;  /* inputs_device and each inputs_host */
    size_t output_bytes; /* out_device and out_host */

    cudaStream_t stream;
    cudaEvent_t kernel_start, kernel_end, done;
    SprungCudaLaunchSetup setup;

    unsigned char *constants_device;
    unsigned int *state_device, *inputs_device;
    float *out_device;
    SprungKernelPulseStart *scratch_device;

    unsigned int *inputs_host[2]; /* pinned, mapped: header + starts */
    float *out_host;              /* pinned, mapped */
    volatile unsigned int *flag_host; /* pinned, mapped: the gate */
    unsigned int *flag_device;
    SprungCudaMailbox *mailbox_host; /* pinned, mapped */
    SprungCudaMailbox *mailbox_device;
    float *out_mapped_device;

    WaitValue32 wait_value32;
    unsigned int sequence;
    unsigned int parity;
    int prepared;  /* streamwait/spingate: next block enqueued */
    int persistent_running;

    cudaGraph_t graph;
    cudaGraphExec_t graph_exec;
    cudaGraphNode_t graph_in, graph_kernel, graph_out;

    int keeper_held;
} CudaBackend;

/* ---- probe ---- */

static void cuda_probe(SprungBackendInfo *info)
{
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        snprintf(info->reason, sizeof info->reason, "cudaGetDeviceCount: %s (%s)",
                 cudaGetErrorString(err), cudaGetErrorName(err));
        return;
    }
    if (count == 0) {
        snprintf(info->reason, sizeof info->reason, "the CUDA driver reports no device");
        return;
    }
    if (count > SPRUNG_BACKEND_MAX_DEVICES)
        count = SPRUNG_BACKEND_MAX_DEVICES;
    info->available = 1;
    info->n_devices = (uint32_t)count;
    for (int d = 0; d < count; ++d) {
        struct cudaDeviceProp prop;
        if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) {
            snprintf(info->devices[d], sizeof info->devices[d], "device %d: no properties", d);
            continue;
        }
        int cooperative = 0;
        cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, d);
        /* One line of 192 bytes: the name (256 bytes in CUDA, ~20 in practice)
         * is cut at 64 so the limits after it always fit. */
        snprintf(info->devices[d], sizeof info->devices[d],
                 "%.64s (sm_%d%d): %d SMs, block <= %d threads, shared memory %zu KiB per block "
                 "(opt-in), %s",
                 prop.name, prop.major, prop.minor, prop.multiProcessorCount,
                 prop.maxThreadsPerBlock, prop.sharedMemPerBlockOptin / 1024,
                 cooperative ? "cooperative launch" : "no cooperative launch");
    }
}

/* ---- helpers ---- */

static cudaError_t cuda_wait(const CudaBackend *self, cudaEvent_t event)
{
    if (!self->spin)
        return cudaEventSynchronize(event);
    cudaError_t err;
    while ((err = cudaEventQuery(event)) == cudaErrorNotReady) {
    }
    return err;
}

static void cuda_release(CudaBackend *self);
static void cuda_fill_vtable(CudaBackend *self, SprungBackend *out);

#define CUDA_TRY(call, what)                                                                   \
    do {                                                                                       \
        cudaError_t err_ = (call);                                                             \
        if (err_ != cudaSuccess) {                                                             \
            sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "cuda backend", 0, 0, NULL,      \
                             "%s failed: %s", what, cudaGetErrorString(err_));                 \
            goto fail;                                                                         \
        }                                                                                      \
    } while (0)

/* The block kernel's argument list for a graph kernel node; the values are
 * copied when the node is made. */
static cudaError_t cuda_build_graph(CudaBackend *self)
{
    SprungCudaLate late = {.source = SPRUNG_CUDA_LATE_BUFFER}; /* copied into the node */
    unsigned int shared = self->setup.shared_bytes ? 1u : 0u;
    const volatile unsigned int *gate = NULL;
    void *args[] = {&self->setup.constants, &self->setup.layout, &self->setup.state,
                    &self->setup.inputs,    &self->setup.out,    &late,
                    &shared,                &gate};
    cudaError_t err = cudaGraphCreate(&self->graph, 0);
    if (err == cudaSuccess)
        err = cudaGraphAddMemcpyNode1D(&self->graph_in, self->graph, NULL, 0, self->inputs_device,
                                       self->inputs_host[0], CUDA_INPUT_BYTES,
                                       cudaMemcpyHostToDevice);
    if (err == cudaSuccess) {
        struct cudaKernelNodeParams params = {
            .func = (void *)sprung_cuda_block_function(),
            .gridDim = {1, 1, 1},
            .blockDim = {self->setup.threads, 1, 1},
            .sharedMemBytes = self->setup.shared_bytes,
            .kernelParams = args,
            .extra = NULL,
        };
        err = cudaGraphAddKernelNode(&self->graph_kernel, self->graph, &self->graph_in, 1, &params);
    }
    if (err == cudaSuccess)
        err = cudaGraphAddMemcpyNode1D(&self->graph_out, self->graph, &self->graph_kernel, 1,
                                       self->out_host, self->out_device,
                                       (size_t)self->max_steps * 2u * sizeof(float),
                                       cudaMemcpyDeviceToHost);
    if (err == cudaSuccess)
        err = cudaGraphInstantiate(&self->graph_exec, self->graph, 0);
    return err;
}

static SprungStatus cuda_create(const SprungCompiled *compiled, SprungState *state,
                                uint32_t device, const SprungEngineConfig *config,
                                SprungBackend *out, SprungError *error)
{
    if (compiled->block_bytes > 0xFFFFFFF0u || state->block_bytes > 0xFFFFFFF0u)
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "cuda backend", 0, 0, NULL,
                                "model too large: offsets past 4 GiB");
    CudaBackend *self = calloc(1, sizeof *self);
    if (!self)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the CUDA backend");
    self->stats.magic = SPRUNG_GPU_STATS_MAGIC;
    self->stats.last_kernel_s = -1.0;
    self->stats.exact_math = 1; /* --fmad=false -prec-div=true -prec-sqrt=true */
    self->compiled = compiled;
    self->state = state;
    self->device = (int)device;
    self->max_steps = config->max_block_frames * config->oversampling;
    self->features = compiled->features != 0;
    self->feature_layout = sprung_gpu_feature_layout(compiled, state);
    self->input_bytes = self->features
                            ? sprung_gpu_feature_input_bytes(compiled, config->max_block_frames)
                            : CUDA_INPUT_BYTES;
    self->output_bytes = self->features
                             ? sprung_gpu_feature_output_bytes(compiled, self->max_steps)
                             : (size_t)self->max_steps * 2u * sizeof(float);

    struct cudaDeviceProp prop;
    CUDA_TRY(cudaSetDevice(self->device), "cudaSetDevice");
    CUDA_TRY(cudaGetDeviceProperties(&prop, self->device), "cudaGetDeviceProperties");
    snprintf(self->stats.device, sizeof self->stats.device, "%s", prop.name);
    int cooperative = 0;
    cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, self->device);

    /* Path. */
    unsigned int max_threads = (unsigned int)prop.maxThreadsPerBlock;
    unsigned int cap = (unsigned int)sprung_gpu_env_number("SPRUNG_CUDA_WORK_GROUP", 1024);
    if (cap >= 32 && cap < max_threads)
        max_threads = cap;
    size_t work = compiled->n_springs > compiled->n_nodes ? compiled->n_springs : compiled->n_nodes;
    unsigned long multi_springs =
        sprung_gpu_env_number("SPRUNG_CUDA_MULTI_SPRINGS", 32ul * max_threads);
    /* The shared copy: the state but its delay rings (sprung_block.h). */
    size_t shared_state_bytes = (size_t)sprung_gpu_layout(compiled, state).state_words * 4u;
    int fits_shared = shared_state_bytes + CUDA_SHARED_MARGIN <= prop.sharedMemPerBlockOptin;
    if (sprung_gpu_env_is("SPRUNG_CUDA_PATH", "multi") && cooperative)
        self->path = PATH_MULTI;
    else if (sprung_gpu_env_is("SPRUNG_CUDA_PATH", "global"))
        self->path = PATH_GLOBAL;
    else if (sprung_gpu_env_is("SPRUNG_CUDA_PATH", "local") && fits_shared)
        self->path = PATH_LOCAL;
    else if (compiled->n_springs > multi_springs && cooperative)
        self->path = PATH_MULTI;
    else
        self->path = fits_shared ? PATH_LOCAL : PATH_GLOBAL;

    self->launch = LAUNCH_PLAIN;
    for (int v = 0; v < (int)(sizeof launch_names / sizeof launch_names[0]); ++v)
        if (sprung_gpu_env_is("SPRUNG_CUDA_LAUNCH", launch_names[v]))
            self->launch = (CudaLaunch)v;
    if (self->path == PATH_MULTI)
        self->launch = LAUNCH_PLAIN; /* cooperative launches are plain */
    self->params = sprung_gpu_env_is("SPRUNG_CUDA_PARAMS", "args")       ? SPRUNG_CUDA_LATE_ARGS
                   : sprung_gpu_env_is("SPRUNG_CUDA_PARAMS", "constant") ? SPRUNG_CUDA_LATE_CONSTANT
                                                              : SPRUNG_CUDA_LATE_BUFFER;
    self->spin = sprung_gpu_env_is("SPRUNG_CUDA_WAIT", "spin");
    if (self->features) {
        /* The feature kernel has the plain launch from the buffer only (the
         * other variants carry pulse starts alone); docs/gpu.md. */
        self->launch = LAUNCH_PLAIN;
        self->params = SPRUNG_CUDA_LATE_BUFFER;
    }

    /* The stream-wait gate needs the driver's cuStreamWaitValue32. */
    if (self->launch == LAUNCH_STREAMWAIT) {
        enum cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
        void *function = NULL;
        if (cudaGetDriverEntryPointByVersion("cuStreamWaitValue32", &function, 12000,
                                             cudaEnableDefault, &found) != cudaSuccess ||
            found != cudaDriverEntryPointSuccess || !function)
            self->launch = LAUNCH_SPINGATE;
        else
            self->wait_value32 = (WaitValue32)function;
    }

    /* Memory: the compiled and state blocks upload unchanged. */
    CUDA_TRY(cudaStreamCreateWithFlags(&self->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    CUDA_TRY(cudaEventCreate(&self->kernel_start), "cudaEventCreate");
    CUDA_TRY(cudaEventCreate(&self->kernel_end), "cudaEventCreate");
    CUDA_TRY(cudaEventCreateWithFlags(&self->done, self->spin ? cudaEventDefault
                                                              : cudaEventBlockingSync),
             "cudaEventCreate");
    CUDA_TRY(cudaMalloc((void **)&self->constants_device, compiled->block_bytes), "cudaMalloc");
    CUDA_TRY(cudaMalloc((void **)&self->state_device, state->block_bytes), "cudaMalloc");
    CUDA_TRY(cudaMalloc((void **)&self->inputs_device, self->input_bytes), "cudaMalloc");
    CUDA_TRY(cudaMalloc((void **)&self->out_device, self->output_bytes), "cudaMalloc");
    CUDA_TRY(cudaMalloc((void **)&self->scratch_device, CUDA_INPUT_BYTES), "cudaMalloc");
    CUDA_TRY(cudaMemcpy(self->constants_device, compiled->block, compiled->block_bytes,
                        cudaMemcpyHostToDevice),
             "cudaMemcpy (constants)");
    CUDA_TRY(cudaMemcpy(self->state_device, state->block, state->block_bytes,
                        cudaMemcpyHostToDevice),
             "cudaMemcpy (state)");
    for (int i = 0; i < 2; ++i) {
        CUDA_TRY(cudaHostAlloc((void **)&self->inputs_host[i], self->input_bytes,
                               cudaHostAllocMapped),
                 "cudaHostAlloc (inputs)");
        memset(self->inputs_host[i], 0, self->input_bytes);
    }
    CUDA_TRY(cudaHostAlloc((void **)&self->out_host, self->output_bytes, cudaHostAllocMapped),
             "cudaHostAlloc (outputs)");
    CUDA_TRY(cudaHostAlloc((void **)&self->flag_host, sizeof(unsigned int), cudaHostAllocMapped),
             "cudaHostAlloc (flag)");
    *self->flag_host = 0;
    CUDA_TRY(cudaHostGetDevicePointer((void **)&self->flag_device, (void *)self->flag_host, 0),
             "cudaHostGetDevicePointer (flag)");
    CUDA_TRY(cudaHostAlloc((void **)&self->mailbox_host, sizeof *self->mailbox_host,
                           cudaHostAllocMapped),
             "cudaHostAlloc (mailbox)");
    memset(self->mailbox_host, 0, sizeof *self->mailbox_host);
    CUDA_TRY(cudaHostGetDevicePointer((void **)&self->mailbox_device, self->mailbox_host, 0),
             "cudaHostGetDevicePointer (mailbox)");
    CUDA_TRY(cudaHostGetDevicePointer((void **)&self->out_mapped_device, self->out_host, 0),
             "cudaHostGetDevicePointer (outputs)");

    SprungCudaLaunchSetup *setup = &self->setup;
    setup->constants = self->constants_device;
    setup->state = self->state_device;
    setup->inputs = self->inputs_device;
    setup->out = self->out_device;
    setup->layout = sprung_gpu_layout(compiled, state);
    setup->gate_flag = self->flag_device;
    setup->mailbox = self->mailbox_device;
    setup->scratch_starts = self->scratch_device;
    if (self->path == PATH_MULTI) {
        int per_sm = 0, per_sm_features = 0;
        setup->threads = 256;
        CUDA_TRY(sprung_cuda_cooperative_occupancy(setup->threads, 0, &per_sm), "occupancy");
        if (self->features) {
            /* One grid size for both kernels: the one both fit. */
            CUDA_TRY(sprung_cuda_cooperative_occupancy(setup->threads, 1, &per_sm_features),
                     "occupancy");
            if (per_sm_features < per_sm)
                per_sm = per_sm_features;
        }
        size_t most = (size_t)per_sm * (size_t)prop.multiProcessorCount;
        size_t need = (work + setup->threads - 1) / setup->threads;
        setup->blocks = (unsigned int)(need < most ? need : most);
        if (setup->blocks < 1)
            setup->blocks = 1;
    } else {
        int kernel_threads = 0;
        CUDA_TRY(sprung_cuda_block_max_threads(self->features, &kernel_threads),
                 "cudaFuncGetAttributes");
        if (kernel_threads >= 32 && (unsigned int)kernel_threads < max_threads)
            max_threads = (unsigned int)kernel_threads / 32u * 32u;
        size_t want = (work + 31) / 32 * 32;
        setup->threads = (unsigned int)(want < 32 ? 32 : want < max_threads ? want : max_threads);
        setup->blocks = 1;
        if (self->path == PATH_LOCAL) {
            setup->shared_bytes = (unsigned int)shared_state_bytes;
            CUDA_TRY(sprung_cuda_prepare_kernels(setup->shared_bytes), "cudaFuncSetAttribute");
        }
    }
    if (self->launch == LAUNCH_GRAPH)
        CUDA_TRY(cuda_build_graph(self), "building the CUDA graph");
    CUDA_TRY(cudaDeviceSynchronize(), "cudaDeviceSynchronize");

    self->stats.work_group_size = setup->threads;
    self->stats.groups = setup->blocks;
    self->stats.local_bytes = setup->shared_bytes;
    snprintf(self->stats.path, sizeof self->stats.path, "%s",
             self->path == PATH_LOCAL ? "local" : self->path == PATH_GLOBAL ? "global" : "multi");
    snprintf(self->stats.launch, sizeof self->stats.launch, "%s%s", launch_names[self->launch],
             self->launch == LAUNCH_PLAIN && self->params == SPRUNG_CUDA_LATE_ARGS       ? "+args"
             : self->launch == LAUNCH_PLAIN && self->params == SPRUNG_CUDA_LATE_CONSTANT ? "+const"
                                                                                         : "");
    snprintf(self->stats.wait, sizeof self->stats.wait, "%s",
             self->launch == LAUNCH_PERSISTENT ? "spin" : self->spin ? "spin" : "block");
    if (sprung_keeper_acquire(SPRUNG_KEEPER_WORK_CUDA, &self->keeper_held) != SPRUNG_OK)
        self->keeper_held = 0;
    cuda_fill_vtable(self, out);
    return SPRUNG_OK;

fail:
    cuda_release(self);
    return SPRUNG_ERROR_UNSUPPORTED;
}

/* ---- audio thread ---- */

static void fill_inputs(unsigned int *inputs, uint32_t n_steps, const SprungPulseStart *starts,
                        uint32_t n_starts)
{
    inputs[0] = n_steps;
    inputs[1] = n_starts;
    if (n_starts)
        memcpy(inputs + SPRUNG_BLOCK_HEADER_WORDS, starts, (size_t)n_starts * sizeof *starts);
}

/* Enqueues the next block behind the gate (streamwait, spingate). */
static cudaError_t cuda_prepare(CudaBackend *self)
{
    unsigned int gate = ++self->sequence;
    SprungCudaLate late = {.source = SPRUNG_CUDA_LATE_BUFFER};
    cudaError_t err = cudaSuccess;
    if (self->launch == LAUNCH_STREAMWAIT) {
        CUresult result = self->wait_value32((CUstream)self->stream,
                                             (CUdeviceptr)(uintptr_t)self->flag_device, gate,
                                             CU_STREAM_WAIT_VALUE_GEQ);
        if (result != CUDA_SUCCESS)
            return cudaErrorUnknown;
        err = cudaMemcpyAsync(self->inputs_device, self->inputs_host[self->parity],
                              CUDA_INPUT_BYTES, cudaMemcpyHostToDevice, self->stream);
    } else {
        unsigned int *mapped = NULL;
        err = cudaHostGetDevicePointer((void **)&mapped, self->inputs_host[self->parity], 0);
        late.source = SPRUNG_CUDA_LATE_MAPPED;
        late.gate = gate;
        self->setup.inputs = mapped;
    }
    if (err == cudaSuccess)
        err = cudaEventRecord(self->kernel_start, self->stream);
    if (err == cudaSuccess)
        err = sprung_cuda_launch_block(&self->setup, &late, self->stream);
    if (err == cudaSuccess)
        err = cudaEventRecord(self->kernel_end, self->stream);
    self->setup.inputs = self->inputs_device;
    self->prepared = 1;
    return err;
}

static void open_gate(CudaBackend *self)
{
    __atomic_store_n(self->flag_host, self->sequence, __ATOMIC_RELEASE);
}

static void cuda_stop_persistent(CudaBackend *self)
{
    if (!self->persistent_running)
        return;
    self->mailbox_host->n_steps = SPRUNG_CUDA_STOP;
    __atomic_store_n(&self->mailbox_host->request, ++self->sequence, __ATOMIC_RELEASE);
    cudaStreamSynchronize(self->stream);
    self->persistent_running = 0;
}

/* Empties the stream: a prepared block runs with no steps; the persistent
 * kernel stops (and writes its state back). */
static void cuda_drain(CudaBackend *self)
{
    if (self->prepared) {
        self->inputs_host[self->parity][0] = 0;
        self->inputs_host[self->parity][1] = 0;
        open_gate(self);
        self->prepared = 0;
    }
    cuda_stop_persistent(self);
    cudaStreamSynchronize(self->stream);
}

/* After a block's kernel: `out_bytes` of output back into out_host, then
 * the wait for them. */
static cudaError_t cuda_read_and_wait(CudaBackend *self, size_t out_bytes)
{
    cudaError_t err = cudaMemcpyAsync(self->out_host, self->out_device, out_bytes,
                                      cudaMemcpyDeviceToHost, self->stream);
    if (err == cudaSuccess)
        err = cudaEventRecord(self->done, self->stream);
    if (err == cudaSuccess)
        err = cuda_wait(self, self->done);
    return err;
}

/* The kernel of a block: the block kernel (`late`), its feature-model twin
 * (`features`), or their cooperative versions on the multi path. */
static cudaError_t cuda_launch(CudaBackend *self, const SprungCudaLate *late, int features)
{
    const SprungCudaLaunchSetup *setup = &self->setup;
    if (self->path == PATH_MULTI)
        return features ? sprung_cuda_launch_cooperative_features(setup, &self->feature_layout,
                                                                  self->stream)
                        : sprung_cuda_launch_cooperative(setup, self->stream);
    return features ? sprung_cuda_launch_features(setup, &self->feature_layout, self->stream)
                    : sprung_cuda_launch_block(setup, late, self->stream);
}

/* The plain launch once its inputs are on the device: its kernel
 * (cuda_launch), timed by events, then `out_bytes` of output back and the
 * wait. */
static cudaError_t cuda_launch_and_wait(CudaBackend *self, const SprungCudaLate *late,
                                        int features, size_t out_bytes)
{
    cudaError_t err = cudaEventRecord(self->kernel_start, self->stream);
    if (err == cudaSuccess)
        err = cuda_launch(self, late, features);
    if (err == cudaSuccess)
        err = cudaEventRecord(self->kernel_end, self->stream);
    if (err == cudaSuccess)
        err = cuda_read_and_wait(self, out_bytes);
    return err;
}

/* The device time of the last launch, s (< 0: unknown). */
static double cuda_kernel_seconds(const CudaBackend *self)
{
    float ms = 0.0f;
    return cudaEventElapsedTime(&ms, self->kernel_start, self->kernel_end) == cudaSuccess
               ? ms * 1e-3
               : -1.0;
}

static void cuda_advance(void *ctx, uint32_t n_steps, const SprungPulseStart *starts,
                         uint32_t n_starts, float *left, float *right)
{
    CudaBackend *self = ctx;
    cudaError_t err = cudaSuccess;
    int timed = 1;
    self->stats.blocks++;
    if (n_steps == 0)
        return;
    if (n_steps > self->max_steps)
        n_steps = self->max_steps;
    size_t out_bytes = (size_t)n_steps * 2u * sizeof(float);
    size_t in_bytes = SPRUNG_BLOCK_HEADER_WORDS * 4u + (size_t)n_starts * sizeof *starts;
    unsigned int *inputs = self->inputs_host[self->parity];

    switch (self->launch) {
    case LAUNCH_PERSISTENT: {
        timed = 0;
        if (!self->persistent_running) {
            self->mailbox_host->done = self->sequence;
            self->mailbox_host->request = self->sequence;
            SprungCudaLaunchSetup setup = self->setup;
            setup.out = self->out_mapped_device;
            err = sprung_cuda_launch_persistent(&setup, self->stream);
            self->persistent_running = err == cudaSuccess;
        }
        SprungCudaMailbox *box = self->mailbox_host;
        box->n_steps = n_steps;
        box->n_starts = n_starts;
        if (n_starts)
            memcpy(box->starts, starts, (size_t)n_starts * sizeof *starts);
        unsigned int request = ++self->sequence;
        __atomic_store_n(&box->request, request, __ATOMIC_RELEASE);
        unsigned int polls = 0;
        while (err == cudaSuccess && __atomic_load_n(&box->done, __ATOMIC_ACQUIRE) != request) {
            /* A dead kernel would leave us spinning: check the stream now and then. */
            if ((++polls & 0xFFFFu) == 0 && cudaStreamQuery(self->stream) != cudaErrorNotReady)
                err = cudaErrorLaunchFailure;
        }
        break;
    }
    case LAUNCH_STREAMWAIT:
    case LAUNCH_SPINGATE:
        if (!self->prepared)
            err = cuda_prepare(self);
        fill_inputs(inputs, n_steps, starts, n_starts);
        open_gate(self);
        self->prepared = 0;
        if (err == cudaSuccess)
            err = cuda_read_and_wait(self, out_bytes);
        break;
    case LAUNCH_GRAPH:
        fill_inputs(inputs, n_steps, starts, n_starts);
        err = cudaGraphExecMemcpyNodeSetParams1D(self->graph_exec, self->graph_in,
                                                 self->inputs_device, inputs, in_bytes,
                                                 cudaMemcpyHostToDevice);
        if (err == cudaSuccess)
            err = cudaGraphExecMemcpyNodeSetParams1D(self->graph_exec, self->graph_out,
                                                     self->out_host, self->out_device, out_bytes,
                                                     cudaMemcpyDeviceToHost);
        if (err == cudaSuccess)
            err = cudaGraphLaunch(self->graph_exec, self->stream);
        if (err == cudaSuccess)
            err = cudaEventRecord(self->done, self->stream);
        if (err == cudaSuccess)
            err = cuda_wait(self, self->done);
        timed = 0;
        break;
    case LAUNCH_PLAIN:
    default: {
        SprungCudaLate late = {.n_steps = n_steps, .n_starts = n_starts, .source = self->params};
        fill_inputs(inputs, n_steps, starts, n_starts);
        if (self->params == SPRUNG_CUDA_LATE_ARGS && n_starts <= SPRUNG_CUDA_INLINE_STARTS) {
            if (n_starts)
                memcpy(late.starts, starts, (size_t)n_starts * sizeof *starts);
        } else if (self->params == SPRUNG_CUDA_LATE_CONSTANT) {
            err = sprung_cuda_set_constant(inputs, in_bytes, self->stream);
        } else {
            err = cudaMemcpyAsync(self->inputs_device, inputs, in_bytes, cudaMemcpyHostToDevice,
                                  self->stream);
        }
        if (err == cudaSuccess)
            err = cuda_launch_and_wait(self, &late, 0, out_bytes);
        break;
    }
    }

    if (err == cudaSuccess) {
        const float *interleaved = self->out_host;
        for (uint32_t s = 0; s < n_steps; ++s) {
            left[s] = interleaved[2u * s];
            right[s] = interleaved[2u * s + 1u];
        }
        self->stats.last_kernel_s = timed ? cuda_kernel_seconds(self) : -1.0;
    } else {
        memset(left, 0, (size_t)n_steps * sizeof *left);
        memset(right, 0, (size_t)n_steps * sizeof *right);
        self->stats.last_kernel_s = -1.0;
    }
    self->parity ^= 1u;
    if (err == cudaSuccess &&
        (self->launch == LAUNCH_STREAMWAIT || self->launch == LAUNCH_SPINGATE))
        cuda_prepare(self); /* the next block waits behind its gate */
}

/* A feature model's block: the plain launch of the feature kernel, its
 * inputs packed by gpu_common.h, one output buffer per channel. */
static void cuda_advance_features(void *ctx, uint32_t n_steps, const SprungPulseStart *starts,
                                  uint32_t n_starts, const SprungFeatureIo *io)
{
    CudaBackend *self = ctx;
    self->stats.blocks++;
    if (n_steps == 0)
        return;
    if (n_steps > self->max_steps)
        n_steps = self->max_steps;
    unsigned int *inputs = self->inputs_host[self->parity];
    size_t words = sprung_gpu_pack_features(inputs, self->compiled, n_steps, starts, n_starts, io);
    size_t output_floats = sprung_gpu_feature_output_floats(self->compiled, n_steps, io);
    cudaError_t err = cudaMemcpyAsync(self->inputs_device, inputs, words * 4u,
                                      cudaMemcpyHostToDevice, self->stream);
    if (err == cudaSuccess)
        err = cuda_launch_and_wait(self, NULL, 1, output_floats * sizeof(float));
    if (err == cudaSuccess) {
        sprung_gpu_unpack_features(self->out_host, self->compiled, n_steps, io);
        self->stats.last_kernel_s = cuda_kernel_seconds(self);
    } else {
        sprung_gpu_silence_features(self->compiled, n_steps, io);
        self->stats.last_kernel_s = -1.0;
    }
    self->parity ^= 1u;
}

static void cuda_upload(void *ctx)
{
    CudaBackend *self = ctx;
    cuda_drain(self);
    cudaMemcpy(self->state_device, self->state->block, self->state->block_bytes,
               cudaMemcpyHostToDevice);
}

static void cuda_reset(void *ctx)
{
    CudaBackend *self = ctx;
    sprung_state_reset(self->compiled, self->state);
    cuda_upload(ctx);
}

static void cuda_sync(void *ctx)
{
    CudaBackend *self = ctx;
    cuda_drain(self);
    cudaMemcpy(self->state->block, self->state_device, self->state->block_bytes,
               cudaMemcpyDeviceToHost);
}

static void cuda_release(CudaBackend *self)
{
    if (!self)
        return;
    if (self->stream) {
        cuda_drain(self);
        cudaStreamDestroy(self->stream);
    }
    if (self->graph_exec)
        cudaGraphExecDestroy(self->graph_exec);
    if (self->graph)
        cudaGraphDestroy(self->graph);
    cudaEvent_t events[] = {self->kernel_start, self->kernel_end, self->done};
    for (size_t i = 0; i < 3; ++i)
        if (events[i])
            cudaEventDestroy(events[i]);
    void *device[] = {self->constants_device, self->state_device, self->inputs_device,
                      self->out_device, self->scratch_device};
    for (size_t i = 0; i < sizeof device / sizeof device[0]; ++i)
        if (device[i])
            cudaFree(device[i]);
    void *host[] = {self->inputs_host[0], self->inputs_host[1], self->out_host,
                    (void *)self->flag_host, self->mailbox_host};
    for (size_t i = 0; i < sizeof host / sizeof host[0]; ++i)
        if (host[i])
            cudaFreeHost(host[i]);
    if (self->keeper_held)
        sprung_keeper_release();
    free(self);
}

static void cuda_destroy(void *ctx)
{
    cuda_release(ctx);
}

static void cuda_fill_vtable(CudaBackend *self, SprungBackend *out)
{
    *out = (SprungBackend){
        .name = "cuda",
        .ctx = self,
        .advance = cuda_advance,
        .reset = cuda_reset,
        .sync_state = cuda_sync,
        .upload_state = cuda_upload,
        .destroy = cuda_destroy,
        .advance_features = self->features ? cuda_advance_features : NULL,
        .applies_writes = 1,
    };
}

const SprungBackendFactory sprung_backend_cuda_factory = {
    .name = "cuda",
    .description = "CUDA: one thread block renders a whole block; cooperative grid for large models",
    .features = SPRUNG_GPU_FEATURES,
    .probe = cuda_probe,
    .create = cuda_create,
    .create_voices = sprung_cuda_create_voices,
};
