/* The OpenCL backend's instanced mode (SPRUNG_FEATURE_VOICES, the
 * factory's create_voices): every voice of an instanced model in one launch
 * per block, a work-group per voice (DESIGN.md §2), running
 * sprung_voices_features_kernel (src/kernel/sprung_block.cl). The device
 * holds n_voices copies of the compiled block (modulation writes each
 * voice's own) and of the state, one after another at fixed strides, and
 * one more copy of the initial state that reset_voice copies from on the
 * device. A block's inputs are one buffer: a launch table (a
 * SprungKernelVoiceRun per run, sprung_block.h), then per run its feature
 * inputs as a single block's (packed by gpu_common.h) and its time step per
 * output frame. Each voice keeps its state in __local memory while it fits
 * (copied in and out per block), else in __global memory
 * (SPRUNG_OPENCL_PATH=global forces that); never the multi-group path: a
 * voice that large would not be a voice. The launch is the plain one
 * (write, kernel, read, blocking wait).
 *
 * Threading as opencl_backend.c: create, destroy, sync_state and
 * upload_state on the control thread; advance_voices, reset_voice and reset
 * on the audio thread, allocating nothing themselves (clEnqueue* allocate
 * inside the driver: unavoidable with this API). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/opencl/gpu_common.h"
#include "backend/opencl/opencl_internal.h"
#include "kernel/sprung_block.h"
#include "sprung/keeper.h"

/* Voice copies start on this boundary (bytes): the largest alignment an
 * OpenCL device asks of a buffer (CL_DEVICE_MEM_BASE_ADDR_ALIGN is at most
 * 1024 bits), so a voice's arrays sit as aligned as a single block's. */
#define VOICES_COPY_ALIGN 128u

typedef struct OpenclVoices {
    SprungGpuStats stats; /* first: gpu_common.h */
    const SprungCompiled *compiled;
    SprungState **states; /* the engine's host copies, n_voices */
    uint32_t n_voices;
    uint32_t max_steps;
    int local; /* the state in __local memory */
    size_t local_size;
    size_t constants_stride, state_stride; /* bytes from one voice's copy to the next */
    size_t input_bytes, output_bytes;
    SprungBlockLayout layout;
    SprungBlockFeatureLayout feature_layout;

    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernel;
    cl_mem constants, state, initial_state, inputs, outputs;
    cl_mem staging_in_buffer, staging_out_buffer; /* pinned host memory, mapped once */
    uint32_t *staging_in;
    float *staging_out;

    int keeper_held;
} OpenclVoices;

/* ---- audio thread ---- */

static void voices_advance(void *ctx, uint32_t n_steps, uint32_t n_runs,
                           const SprungVoiceRun *runs)
{
    OpenclVoices *self = ctx;
    uint32_t n_channels = self->compiled->n_channels;
    self->stats.blocks++;
    if (n_steps == 0 || n_runs == 0)
        return;
    if (n_steps > self->max_steps)
        n_steps = self->max_steps; /* the engine never asks for more */
    if (n_runs > self->n_voices)
        n_runs = self->n_voices;
    size_t input_words = sprung_gpu_pack_voices(self->staging_in, self->compiled, self->n_voices,
                                                n_steps, n_runs, runs);
    size_t global_size = self->local_size * n_runs;
    size_t output_floats = (size_t)n_runs * n_channels * n_steps;
    cl_event kernel = NULL, read = NULL;
    cl_int err = input_words ? CL_SUCCESS : CL_INVALID_VALUE;
    if (err == CL_SUCCESS)
        err = clEnqueueWriteBuffer(self->queue, self->inputs, CL_FALSE, 0, input_words * 4u,
                                   self->staging_in, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(self->queue, self->kernel, 1, NULL, &global_size,
                                     &self->local_size, 0, NULL, &kernel);
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(self->queue, self->outputs, CL_FALSE, 0,
                                  output_floats * sizeof(float), self->staging_out, 0, NULL,
                                  &read);
    if (err == CL_SUCCESS)
        err = clFlush(self->queue);
    if (err == CL_SUCCESS)
        err = clWaitForEvents(1, &read);
    self->stats.groups = n_runs;
    self->stats.last_kernel_s =
        err == CL_SUCCESS && kernel ? sprung_opencl_event_span_s(kernel, kernel) : -1.0;
    if (kernel)
        clReleaseEvent(kernel);
    if (read)
        clReleaseEvent(read);
    /* A failed device is silence, never garbage. */
    sprung_gpu_unpack_voices(self->staging_out, err == CL_SUCCESS, n_channels, n_steps, n_runs,
                             runs);
}

/* The voice's state from the device's initial copy, queued in order before
 * the next launch: no host round trip, no wait. Its constants stay as the
 * writes left them. */
static void voices_reset_voice(void *ctx, uint32_t voice)
{
    OpenclVoices *self = ctx;
    if (voice >= self->n_voices)
        return;
    clEnqueueCopyBuffer(self->queue, self->initial_state, self->state, 0,
                        voice * self->state_stride, self->states[0]->block_bytes, 0, NULL, NULL);
}

/* Every voice back to the initial state, the host copies too (as the
 * single-model backend's reset). */
static void voices_reset(void *ctx)
{
    OpenclVoices *self = ctx;
    for (uint32_t v = 0; v < self->n_voices; ++v) {
        sprung_state_reset(self->compiled, self->states[v]);
        voices_reset_voice(ctx, v);
    }
    clFinish(self->queue);
}

/* ---- control thread ---- */

static void voices_sync(void *ctx)
{
    OpenclVoices *self = ctx;
    for (uint32_t v = 0; v < self->n_voices; ++v)
        clEnqueueReadBuffer(self->queue, self->state, CL_FALSE, v * self->state_stride,
                            self->states[v]->block_bytes, self->states[v]->block, 0, NULL, NULL);
    clFinish(self->queue);
}

static void voices_upload(void *ctx)
{
    OpenclVoices *self = ctx;
    for (uint32_t v = 0; v < self->n_voices; ++v)
        clEnqueueWriteBuffer(self->queue, self->state, CL_FALSE, v * self->state_stride,
                             self->states[v]->block_bytes, self->states[v]->block, 0, NULL,
                             NULL);
    clFinish(self->queue);
}

static void voices_release(OpenclVoices *self)
{
    if (!self)
        return;
    if (self->queue) {
        if (self->staging_in)
            clEnqueueUnmapMemObject(self->queue, self->staging_in_buffer, self->staging_in, 0,
                                    NULL, NULL);
        if (self->staging_out)
            clEnqueueUnmapMemObject(self->queue, self->staging_out_buffer, self->staging_out, 0,
                                    NULL, NULL);
        clFinish(self->queue);
    }
    cl_mem buffers[] = {self->constants, self->state,          self->initial_state,
                        self->inputs,    self->outputs,        self->staging_in_buffer,
                        self->staging_out_buffer};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; ++i)
        if (buffers[i])
            clReleaseMemObject(buffers[i]);
    if (self->kernel)
        clReleaseKernel(self->kernel);
    sprung_opencl_release_base(self->program, self->queue, self->context, self->keeper_held);
    free(self->states);
    free(self);
}

static void voices_destroy(void *ctx)
{
    voices_release(ctx);
}

/* The kernel with every argument set: the voices' constants and their
 * stride, the layouts, the voices' states and their stride, the inputs and
 * outputs, and the group's local state on the local path. */
static cl_int voices_kernel(OpenclVoices *self)
{
    cl_int err = CL_SUCCESS;
    self->kernel = clCreateKernel(self->program, "sprung_voices_features_kernel", &err);
    if (err != CL_SUCCESS)
        return err;
    cl_uint constants_stride = (cl_uint)self->constants_stride;
    cl_uint state_stride = (cl_uint)self->state_stride;
    cl_uint arg = 0;
    err = clSetKernelArg(self->kernel, arg++, sizeof(cl_mem), &self->constants);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(self->kernel, arg++, sizeof constants_stride, &constants_stride);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(self->kernel, arg++, sizeof self->layout, &self->layout);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(self->kernel, arg++, sizeof self->feature_layout,
                             &self->feature_layout);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(self->kernel, arg++, sizeof(cl_mem), &self->state);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(self->kernel, arg++, sizeof state_stride, &state_stride);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(self->kernel, arg++, sizeof(cl_mem), &self->inputs);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(self->kernel, arg++, sizeof(cl_mem), &self->outputs);
    if (err == CL_SUCCESS && self->local)
        err = clSetKernelArg(self->kernel, arg++, self->layout.state_words * 4u, NULL);
    return err;
}

/* A pinned host buffer of `bytes`, mapped for the host once. */
static cl_int voices_staging(OpenclVoices *self, size_t bytes, cl_map_flags map, cl_mem *buffer,
                             void **host)
{
    cl_int err = CL_SUCCESS;
    *buffer = clCreateBuffer(self->context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes,
                             NULL, &err);
    if (err == CL_SUCCESS)
        *host = clEnqueueMapBuffer(self->queue, *buffer, CL_TRUE, map, 0, bytes, 0, NULL, NULL,
                                   &err);
    if (err == CL_SUCCESS)
        memset(*host, 0, bytes);
    return err;
}

/* The device buffers of the voices' copies: the compiled block n_voices
 * times, each voice's state from the engine's host copy, the initial state
 * (a fresh one's, which sprung_state_reset also gives). */
static SprungStatus voices_buffers(OpenclVoices *self, SprungError *error)
{
    const SprungCompiled *compiled = self->compiled;
    size_t state_bytes = self->states[0]->block_bytes;
    cl_int err = CL_SUCCESS;
    cl_mem_flags constant_access =
        compiled->max_frame_writes ? CL_MEM_READ_WRITE : CL_MEM_READ_ONLY;
    self->constants = clCreateBuffer(self->context, constant_access,
                                     self->constants_stride * self->n_voices, NULL, &err);
    CL_TRY(err, "clCreateBuffer (the voices' constants)");
    self->state = clCreateBuffer(self->context, CL_MEM_READ_WRITE,
                                 self->state_stride * self->n_voices, NULL, &err);
    CL_TRY(err, "clCreateBuffer (the voices' states)");
    for (uint32_t v = 0; v < self->n_voices; ++v) {
        CL_TRY(clEnqueueWriteBuffer(self->queue, self->constants, CL_TRUE,
                                    v * self->constants_stride, compiled->block_bytes,
                                    compiled->block, 0, NULL, NULL),
               "clEnqueueWriteBuffer (constants)");
        CL_TRY(clEnqueueWriteBuffer(self->queue, self->state, CL_TRUE, v * self->state_stride,
                                    state_bytes, self->states[v]->block, 0, NULL, NULL),
               "clEnqueueWriteBuffer (state)");
    }
    SprungState initial = {0};
    if (sprung_state_new(compiled, &initial) != SPRUNG_OK)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory for the voices' initial state");
    self->initial_state = clCreateBuffer(self->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                         state_bytes, initial.block, &err);
    sprung_state_free(&initial);
    CL_TRY(err, "clCreateBuffer (initial state)");
    self->inputs = clCreateBuffer(self->context, CL_MEM_READ_ONLY, self->input_bytes, NULL, &err);
    CL_TRY(err, "clCreateBuffer (block inputs)");
    self->outputs =
        clCreateBuffer(self->context, CL_MEM_WRITE_ONLY, self->output_bytes, NULL, &err);
    CL_TRY(err, "clCreateBuffer (outputs)");
    CL_TRY(voices_staging(self, self->input_bytes, CL_MAP_WRITE, &self->staging_in_buffer,
                          (void **)&self->staging_in),
           "pinned input staging");
    CL_TRY(voices_staging(self, self->output_bytes, CL_MAP_READ, &self->staging_out_buffer,
                          (void **)&self->staging_out),
           "pinned output staging");
    return SPRUNG_OK;
fail:
    return SPRUNG_ERROR_UNSUPPORTED;
}

static void voices_fill_vtable(OpenclVoices *self, SprungBackend *out)
{
    /* No advance/advance_features/set_views: the engine steps a voices
     * backend through advance_voices only. */
    *out = (SprungBackend){
        .name = "opencl",
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

SprungStatus sprung_opencl_create_voices(const SprungCompiled *compiled, uint32_t n_voices,
                                         SprungState *const *states, uint32_t device_index,
                                         const SprungEngineConfig *config, SprungBackend *out,
                                         SprungError *error)
{
    OpenclDevice devices[SPRUNG_BACKEND_MAX_DEVICES];
    uint32_t count = 0;
    cl_int err = sprung_opencl_devices(devices, SPRUNG_BACKEND_MAX_DEVICES, &count);
    if (err != CL_SUCCESS || device_index >= count)
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "opencl backend", 0, 0, NULL,
                                "no OpenCL device %u (%u found; %s)", device_index, count,
                                sprung_opencl_error_name(err));
    if (n_voices == 0)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, "opencl backend", 0, 0,
                                NULL, "no voices to create");
    SprungGpuVoicesLayout sizes;
    if (sprung_gpu_voices_layout(compiled, states[0]->block_bytes, config, n_voices,
                                 VOICES_COPY_ALIGN, &sizes) != 0)
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "opencl backend", 0, 0, NULL,
                                "model too large for %u voices: offsets past 4 GiB", n_voices);

    OpenclVoices *self = calloc(1, sizeof *self);
    SprungState **host_states = calloc(n_voices, sizeof *host_states);
    if (!self || !host_states) {
        free(self);
        free(host_states);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the OpenCL voices backend");
    }
    SprungStatus status = SPRUNG_ERROR_UNSUPPORTED;
    cl_device_id device = devices[device_index].device;
    memcpy(host_states, states, n_voices * sizeof *host_states);
    self->states = host_states;
    self->stats.magic = SPRUNG_GPU_STATS_MAGIC;
    self->stats.last_kernel_s = -1.0;
    clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof self->stats.device, self->stats.device, NULL);
    self->stats.device[sizeof self->stats.device - 1] = '\0';
    self->compiled = compiled;
    self->n_voices = n_voices;
    self->max_steps = config->max_block_frames * config->oversampling;
    self->constants_stride = sizes.constants_stride;
    self->state_stride = sizes.state_stride;
    self->input_bytes = sizes.input_bytes;
    self->output_bytes = (size_t)self->max_steps * compiled->n_channels * n_voices * sizeof(float);
    self->layout = sprung_gpu_layout(compiled, states[0]);
    self->feature_layout = sprung_gpu_feature_layout(compiled, states[0]);

    OpenclLimits limits = sprung_opencl_limits(device);
    self->stats.exact_math = limits.exact_math;
    /* Each group's copy of its voice's state (but the delay rings). */
    size_t local_state_bytes = (size_t)self->layout.state_words * 4u;
    self->local = local_state_bytes + SPRUNG_OPENCL_LOCAL_MARGIN <= limits.local_bytes &&
                  !sprung_gpu_env_is("SPRUNG_OPENCL_PATH", "global");

    self->context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    CL_TRY(err, "clCreateContext");
    self->queue = clCreateCommandQueue(self->context, device, CL_QUEUE_PROFILING_ENABLE, &err);
    CL_TRY(err, "clCreateCommandQueue");
    if (sprung_opencl_build(self->context, device, limits.exact_math, self->local,
                            &self->program, error) != CL_SUCCESS)
        goto fail;
    status = voices_buffers(self, error);
    if (status != SPRUNG_OK)
        goto fail;
    status = SPRUNG_ERROR_UNSUPPORTED;
    CL_TRY(voices_kernel(self), "the voices kernel (sprung_voices_features_kernel)");

    /* One item per spring (or node) up to the group limit, in whole warps
     * of 32 so each warp takes one branch (as the single-model path). */
    size_t max_group = limits.max_group, kernel_group = 0;
    clGetKernelWorkGroupInfo(self->kernel, device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_group,
                             &kernel_group, NULL);
    if (kernel_group && kernel_group < max_group)
        max_group = kernel_group;
    size_t work = compiled->n_springs > compiled->n_nodes ? compiled->n_springs : compiled->n_nodes;
    size_t want = sprung_gpu_round_up(work ? work : 1, 32);
    self->local_size = want < max_group ? want : max_group;

    self->stats.work_group_size = (uint32_t)self->local_size;
    self->stats.groups = n_voices;
    self->stats.local_bytes = self->local ? (uint32_t)local_state_bytes : 0u;
    snprintf(self->stats.path, sizeof self->stats.path, "%s", self->local ? "local" : "global");
    snprintf(self->stats.launch, sizeof self->stats.launch, "voices");
    snprintf(self->stats.wait, sizeof self->stats.wait, "block");
    CL_TRY(clFinish(self->queue), "clFinish");
    /* Keep a GPU's clocks up while this backend lives (DESIGN.md §3); not
     * for a CPU device (opencl_backend.c says why). */
    if (limits.type & CL_DEVICE_TYPE_GPU) {
        if (sprung_keeper_acquire(SPRUNG_KEEPER_WORK_OPENCL, &self->keeper_held) != SPRUNG_OK)
            self->keeper_held = 0;
    }
    voices_fill_vtable(self, out);
    return SPRUNG_OK;

fail:
    voices_release(self);
    return status;
}
