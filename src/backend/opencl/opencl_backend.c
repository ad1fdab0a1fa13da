/* The OpenCL backend: the block kernel of src/kernel/sprung_block.h, built
 * from the embedded sources (src/kernel/sprung_block.cl) once at create, one
 * launch per block. Tested bit for bit against the CPU reference
 * (tests/gpu/). See docs/gpu.md for the design and the measurements.
 *
 * Paths (chosen at create; SPRUNG_OPENCL_PATH=local|global|multi forces one):
 *   local   one work-group, the state in __local memory (copied in and out
 *           per block) while it fits CL_DEVICE_LOCAL_MEM_SIZE;
 *   global  one work-group, the state in __global memory;
 *   multi   models of more than SPRUNG_OPENCL_MULTI_SPRINGS springs (default
 *           32 × the work-group size on a GPU, 2^20 on a CPU device): many
 *           work-groups, two launches per engine step, since OpenCL 1.2 has
 *           no grid-wide barrier. Correct, but launch-bound: not real time.
 *
 * Feature models (exciters, collisions, gravity, delays, channels,
 * modulation) run sprung_block_features_kernel (or, on the multi path,
 * sprung_multi_features_*) through advance_features, with either launch;
 * advance() still runs the plain kernels for them (tests step the physics
 * alone). A modulated model's constants buffer is writable: the kernel
 * applies each frame's modulation writes to it. docs/gpu.md. An instanced
 * model's voices run as work-groups of one launch: opencl_voices.c
 * (create_voices).
 *
 * Launch (SPRUNG_OPENCL_LAUNCH): "plain" writes the block's inputs, enqueues
 * the kernel and the read of the output; "userevent" enqueues the next
 * block's input write and kernel at the end of the current block, gated on
 * a user event the host completes once the inputs are in the pinned staging
 * buffer. Completion (SPRUNG_OPENCL_WAIT): "block" (blocking read) or
 * "spin" (poll the read's event status).
 *
 * Threading: probe, create, destroy, sync_state, upload_state on the control
 * thread; advance and reset on the audio thread. advance() allocates nothing
 * itself, but clEnqueue* (and clCreateUserEvent) allocate inside every
 * OpenCL driver: unavoidable with this API, and why the RealtimeSanitizer
 * tests run the CPU backends only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/opencl/gpu_common.h"
#include "backend/opencl/opencl_internal.h"
#include "kernel/sprung_block.h"
#include "sprung/keeper.h"

extern const char sprung_opencl_kernel_source[];
extern const size_t sprung_opencl_kernel_source_size;

#define OPENCL_MAX_PLATFORMS 8u
#define OPENCL_INPUT_BYTES \
    (SPRUNG_BLOCK_HEADER_WORDS * 4u + SPRUNG_BACKEND_MAX_PULSE_STARTS * sizeof(SprungKernelPulseStart))

_Static_assert(sizeof(SprungKernelPulseStart) == sizeof(SprungPulseStart),
               "pulse starts upload unchanged");

typedef enum OpenclPath { PATH_LOCAL, PATH_GLOBAL, PATH_MULTI } OpenclPath;
typedef enum OpenclLaunch { LAUNCH_PLAIN, LAUNCH_USER_EVENT } OpenclLaunch;

/* The large-model path's two kernels of an engine step (sprung_block.cl),
 * a feature model's third one for a frame's modulation writes, and the
 * index of their `step` argument. */
typedef struct OpenclMulti {
    cl_kernel springs, nodes, writes;
    cl_uint step_arg;
} OpenclMulti;

typedef struct OpenclBackend {
    SprungGpuStats stats; /* first: see gpu_stats.h */
    const SprungCompiled *compiled;
    SprungState *state;
    SprungBlockLayout layout;
    SprungBlockFeatureLayout feature_layout;
    int features;        /* compiled->features != 0: sprung_block_features_kernel */
    size_t input_bytes;  /* the block input buffer (and each staging buffer) */
    OpenclPath path;
    OpenclLaunch launch;
    int spin;
    uint32_t max_steps;

    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel block_kernel;
    cl_kernel features_kernel; /* feature models: advance_features (advance runs block_kernel) */
    OpenclMulti multi, multi_features; /* multi path: plain, and a feature model's */
    size_t local_size, spring_global, node_global;

    cl_mem constants, state_buffer, inputs, outputs;
    cl_mem staging_in_buffer[2], staging_out_buffer; /* pinned host memory, mapped once */
    uint32_t *staging_in[2];
    float *staging_out;

    /* userevent launch: the block prepared ahead, gated on `gate`. */
    int prepared;
    unsigned int parity;
    cl_event gate;
    cl_event prepared_kernel;
    cl_kernel prepared_for; /* the kernel enqueued behind the gate */

    int keeper_held; /* a GPU clock keeper reference is held */
} OpenclBackend;

/* ---- errors and devices ---- */

const char *sprung_opencl_error_name(cl_int code)
{
    switch (code) {
    case CL_SUCCESS: return "CL_SUCCESS";
    case CL_DEVICE_NOT_FOUND: return "CL_DEVICE_NOT_FOUND";
    case CL_DEVICE_NOT_AVAILABLE: return "CL_DEVICE_NOT_AVAILABLE";
    case CL_COMPILER_NOT_AVAILABLE: return "CL_COMPILER_NOT_AVAILABLE";
    case CL_MEM_OBJECT_ALLOCATION_FAILURE: return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
    case CL_OUT_OF_RESOURCES: return "CL_OUT_OF_RESOURCES";
    case CL_OUT_OF_HOST_MEMORY: return "CL_OUT_OF_HOST_MEMORY";
    case CL_BUILD_PROGRAM_FAILURE: return "CL_BUILD_PROGRAM_FAILURE";
    case CL_INVALID_VALUE: return "CL_INVALID_VALUE";
    case CL_INVALID_PLATFORM: return "CL_INVALID_PLATFORM";
    case CL_INVALID_DEVICE: return "CL_INVALID_DEVICE";
    case CL_INVALID_BUILD_OPTIONS: return "CL_INVALID_BUILD_OPTIONS";
    case CL_INVALID_KERNEL_ARGS: return "CL_INVALID_KERNEL_ARGS";
    case CL_INVALID_ARG_SIZE: return "CL_INVALID_ARG_SIZE";
    case CL_INVALID_WORK_GROUP_SIZE: return "CL_INVALID_WORK_GROUP_SIZE";
    case CL_INVALID_BUFFER_SIZE: return "CL_INVALID_BUFFER_SIZE";
    case CL_INVALID_EVENT_WAIT_LIST: return "CL_INVALID_EVENT_WAIT_LIST";
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL platform installed)";
    default: return "OpenCL error";
    }
}

cl_int sprung_opencl_devices(OpenclDevice *out, uint32_t capacity, uint32_t *count)
{
    cl_platform_id platforms[OPENCL_MAX_PLATFORMS];
    cl_uint n_platforms = 0;
    *count = 0;
    cl_int err = clGetPlatformIDs(OPENCL_MAX_PLATFORMS, platforms, &n_platforms);
    if (err != CL_SUCCESS)
        return err;
    if (n_platforms > OPENCL_MAX_PLATFORMS)
        n_platforms = OPENCL_MAX_PLATFORMS;
    for (cl_uint p = 0; p < n_platforms && *count < capacity; ++p) {
        cl_device_id devices[SPRUNG_BACKEND_MAX_DEVICES];
        cl_uint n = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, SPRUNG_BACKEND_MAX_DEVICES, devices,
                           &n) != CL_SUCCESS)
            continue;
        if (n > SPRUNG_BACKEND_MAX_DEVICES)
            n = SPRUNG_BACKEND_MAX_DEVICES;
        for (cl_uint d = 0; d < n && *count < capacity; ++d)
            out[(*count)++] = (OpenclDevice){platforms[p], devices[d]};
    }
    return CL_SUCCESS;
}

static void opencl_device_describe(cl_device_id device, char *out, size_t size)
{
    char name[96] = "?", version[48] = "?";
    cl_uint units = 0;
    size_t max_group = 0;
    cl_ulong local = 0;
    cl_device_type type = 0;
    clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name, name, NULL);
    clGetDeviceInfo(device, CL_DEVICE_OPENCL_C_VERSION, sizeof version, version, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_group, &max_group, NULL);
    clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    name[sizeof name - 1] = version[sizeof version - 1] = '\0';
    snprintf(out, size, "%s (%s): %u compute units, work-group <= %zu, local memory %llu KiB, %s",
             name, type & CL_DEVICE_TYPE_GPU ? "GPU" : type & CL_DEVICE_TYPE_CPU ? "CPU" : "other",
             units, max_group, (unsigned long long)(local / 1024), version);
}

static void opencl_probe(SprungBackendInfo *info)
{
    OpenclDevice devices[SPRUNG_BACKEND_MAX_DEVICES];
    uint32_t count = 0;
    cl_int err = sprung_opencl_devices(devices, SPRUNG_BACKEND_MAX_DEVICES, &count);
    if (err != CL_SUCCESS) {
        snprintf(info->reason, sizeof info->reason,
                 "no OpenCL platform: clGetPlatformIDs says %s (%d); install a driver, e.g. "
                 "pocl-opencl-icd for the CPU", sprung_opencl_error_name(err), err);
        return;
    }
    if (count == 0) {
        snprintf(info->reason, sizeof info->reason,
                 "OpenCL platforms are installed but none has a device");
        return;
    }
    info->available = 1;
    info->n_devices = count;
    for (uint32_t i = 0; i < count; ++i)
        opencl_device_describe(devices[i].device, info->devices[i], sizeof info->devices[i]);
}

/* ---- setup ---- */

static void opencl_release(OpenclBackend *self);
static void opencl_fill_vtable(OpenclBackend *self, SprungBackend *out);

OpenclLimits sprung_opencl_limits(cl_device_id device)
{
    OpenclLimits limits = {0};
    size_t device_max_group = 1, item_sizes[3] = {1, 1, 1};
    cl_device_fp_config fp = 0;
    clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof limits.local_bytes,
                    &limits.local_bytes, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof device_max_group,
                    &device_max_group, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof item_sizes, item_sizes, NULL);
    clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof limits.type, &limits.type, NULL);
    clGetDeviceInfo(device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    limits.exact_math = (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
    limits.max_group = device_max_group < item_sizes[0] ? device_max_group : item_sizes[0];
    size_t group_cap = sprung_gpu_env_number("SPRUNG_OPENCL_WORK_GROUP", 1024);
    if (group_cap >= 1 && group_cap < limits.max_group)
        limits.max_group = group_cap;
    return limits;
}

cl_int sprung_opencl_build(cl_context context, cl_device_id device, int exact, int local_state,
                           cl_program *program, SprungError *error)
{
    const char *source = sprung_opencl_kernel_source;
    size_t length = sprung_opencl_kernel_source_size;
    cl_int err = CL_SUCCESS;
    *program = clCreateProgramWithSource(context, 1, &source, &length, &err);
    if (err != CL_SUCCESS)
        return err;
    /* No -cl-mad-enable, no -cl-fast-relaxed-math: the reference's bits
     * (the kernel also says #pragma OPENCL FP_CONTRACT OFF). Subnormals
     * flushed, as the engine does on the CPU (a hint the driver may
     * ignore; it matters only once a decaying network reaches them). */
    char options[256];
    snprintf(options, sizeof options, "-cl-std=CL1.2 -cl-denorms-are-zero%s%s",
             exact ? " -cl-fp32-correctly-rounded-divide-sqrt" : "",
             local_state ? " -DSPRUNG_LOCAL_STATE=1 -DSPRUNG_STATE_SPACE=__local" : "");
    err = clBuildProgram(*program, 1, &device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[200] = "";
        clGetProgramBuildInfo(*program, device, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        log[sizeof log - 1] = '\0';
        sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "src/kernel/sprung_block.cl", 0, 0, NULL,
                         "the OpenCL kernel does not build (%s): %s",
                         sprung_opencl_error_name(err), log);
    }
    return err;
}

/* Creates the single-group block kernel (`features`: the feature model's)
 * with every argument set: the constants, the layout, the feature layout
 * (feature kernel only), the state, inputs and outputs, and the local state
 * on the local path. */
static cl_kernel opencl_block_kernel(OpenclBackend *self, int features, cl_int *err)
{
    cl_kernel kernel = clCreateKernel(
        self->program, features ? "sprung_block_features_kernel" : "sprung_block_kernel", err);
    if (*err != CL_SUCCESS)
        return NULL;
    cl_uint arg = 0;
    *err = clSetKernelArg(kernel, arg++, sizeof(cl_mem), &self->constants);
    if (*err == CL_SUCCESS)
        *err = clSetKernelArg(kernel, arg++, sizeof self->layout, &self->layout);
    if (*err == CL_SUCCESS && features)
        *err = clSetKernelArg(kernel, arg++, sizeof self->feature_layout, &self->feature_layout);
    if (*err == CL_SUCCESS)
        *err = clSetKernelArg(kernel, arg++, sizeof(cl_mem), &self->state_buffer);
    if (*err == CL_SUCCESS)
        *err = clSetKernelArg(kernel, arg++, sizeof(cl_mem), &self->inputs);
    if (*err == CL_SUCCESS)
        *err = clSetKernelArg(kernel, arg++, sizeof(cl_mem), &self->outputs);
    if (*err == CL_SUCCESS && self->path == PATH_LOCAL)
        *err = clSetKernelArg(kernel, arg++, self->layout.state_words * 4u, NULL);
    if (*err != CL_SUCCESS) {
        clReleaseKernel(kernel);
        return NULL;
    }
    return kernel;
}

/* Creates the multi path's kernels (`features`: a feature model's) with
 * every argument set but the step: the constants, the layout, the feature
 * layout (feature kernels only), the state, and for the springs' and the
 * writes' kernels the inputs and outputs. */
static cl_int opencl_multi_kernels(OpenclBackend *self, int features, OpenclMulti *multi)
{
    cl_int err = CL_SUCCESS;
    multi->springs = clCreateKernel(
        self->program, features ? "sprung_multi_features_springs" : "sprung_multi_springs", &err);
    if (err == CL_SUCCESS)
        multi->nodes = clCreateKernel(
            self->program, features ? "sprung_multi_features_nodes" : "sprung_multi_nodes", &err);
    if (err == CL_SUCCESS && features)
        multi->writes = clCreateKernel(self->program, "sprung_multi_features_writes", &err);
    cl_kernel kernels[3] = {multi->springs, multi->writes, multi->nodes};
    for (int k = 0; k < 3 && err == CL_SUCCESS; ++k) {
        if (!kernels[k])
            continue;
        cl_uint arg = 0;
        err = clSetKernelArg(kernels[k], arg++, sizeof(cl_mem), &self->constants);
        if (err == CL_SUCCESS)
            err = clSetKernelArg(kernels[k], arg++, sizeof self->layout, &self->layout);
        if (err == CL_SUCCESS && features)
            err = clSetKernelArg(kernels[k], arg++, sizeof self->feature_layout,
                                 &self->feature_layout);
        if (err == CL_SUCCESS)
            err = clSetKernelArg(kernels[k], arg++, sizeof(cl_mem), &self->state_buffer);
        if (err == CL_SUCCESS && kernels[k] != multi->nodes) {
            cl_uint zero = 0;
            err = clSetKernelArg(kernels[k], arg++, sizeof(cl_mem), &self->inputs);
            if (err == CL_SUCCESS)
                err = clSetKernelArg(kernels[k], arg++, sizeof(cl_mem), &self->outputs);
            multi->step_arg = arg;
            if (err == CL_SUCCESS)
                err = clSetKernelArg(kernels[k], arg++, sizeof zero, &zero);
        }
    }
    return err;
}

static SprungStatus opencl_create(const SprungCompiled *compiled, SprungState *state,
                                  uint32_t device_index, const SprungEngineConfig *config,
                                  SprungBackend *out, SprungError *error)
{
    OpenclDevice devices[SPRUNG_BACKEND_MAX_DEVICES];
    uint32_t count = 0;
    cl_int err = sprung_opencl_devices(devices, SPRUNG_BACKEND_MAX_DEVICES, &count);
    if (err != CL_SUCCESS || device_index >= count)
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "opencl backend", 0, 0, NULL,
                                "no OpenCL device %u (%u found; %s)", device_index, count,
                                sprung_opencl_error_name(err));
    if (compiled->block_bytes > 0xFFFFFFF0u || state->block_bytes > 0xFFFFFFF0u)
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "opencl backend", 0, 0, NULL,
                                "model too large: offsets past 4 GiB");

    OpenclBackend *self = calloc(1, sizeof *self);
    if (!self)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, NULL, 0, 0, NULL,
                                "out of memory creating the OpenCL backend");
    cl_device_id device = devices[device_index].device;
    self->stats.magic = SPRUNG_GPU_STATS_MAGIC;
    self->stats.last_kernel_s = -1.0;
    clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof self->stats.device, self->stats.device, NULL);
    self->stats.device[sizeof self->stats.device - 1] = '\0';
    self->compiled = compiled;
    self->state = state;
    self->layout = sprung_gpu_layout(compiled, state);
    self->feature_layout = sprung_gpu_feature_layout(compiled, state);
    self->features = compiled->features != 0;
    self->max_steps = config->max_block_frames * config->oversampling;
    self->input_bytes = self->features
                            ? sprung_gpu_feature_input_bytes(compiled, config->max_block_frames)
                            : OPENCL_INPUT_BYTES;

    /* Exact math needs correctly rounded division and sqrt. */
    OpenclLimits limits = sprung_opencl_limits(device);
    self->stats.exact_math = limits.exact_math;
    cl_ulong local_bytes = limits.local_bytes;
    cl_device_type type = limits.type;
    size_t max_group = limits.max_group;

    /* Choose the path. */
    size_t work = compiled->n_springs > compiled->n_nodes ? compiled->n_springs : compiled->n_nodes;
    unsigned long multi_springs = sprung_gpu_env_number(
        "SPRUNG_OPENCL_MULTI_SPRINGS", (type & CL_DEVICE_TYPE_GPU) ? 32ul * max_group : 1ul << 20);
    /* The local copy: the state but its delay rings (sprung_block.h). */
    size_t local_state_bytes = self->layout.state_words * 4u;
    int fits_local = local_state_bytes + SPRUNG_OPENCL_LOCAL_MARGIN <= local_bytes;
    if (sprung_gpu_env_is("SPRUNG_OPENCL_PATH", "multi"))
        self->path = PATH_MULTI;
    else if (sprung_gpu_env_is("SPRUNG_OPENCL_PATH", "global"))
        self->path = PATH_GLOBAL;
    else if (sprung_gpu_env_is("SPRUNG_OPENCL_PATH", "local") && fits_local)
        self->path = PATH_LOCAL;
    else if (compiled->n_springs > multi_springs)
        self->path = PATH_MULTI;
    else
        self->path = fits_local ? PATH_LOCAL : PATH_GLOBAL;
    int user_event = sprung_gpu_env_is("SPRUNG_OPENCL_LAUNCH", "userevent");
    self->launch = user_event && self->path != PATH_MULTI ? LAUNCH_USER_EVENT : LAUNCH_PLAIN;
    self->spin = sprung_gpu_env_is("SPRUNG_OPENCL_WAIT", "spin");

    self->context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    CL_TRY(err, "clCreateContext");
    self->queue = clCreateCommandQueue(self->context, device, CL_QUEUE_PROFILING_ENABLE, &err);
    CL_TRY(err, "clCreateCommandQueue");
    if (sprung_opencl_build(self->context, device, self->stats.exact_math,
                            self->path == PATH_LOCAL, &self->program, error) != CL_SUCCESS)
        goto fail;

    /* Buffers: the compiled block and the state block upload unchanged;
     * modulation writes into the compiled block's copy. */
    cl_mem_flags constant_access =
        compiled->max_frame_writes ? CL_MEM_READ_WRITE : CL_MEM_READ_ONLY;
    self->constants = clCreateBuffer(self->context, constant_access | CL_MEM_COPY_HOST_PTR,
                                     compiled->block_bytes, compiled->block, &err);
    CL_TRY(err, "clCreateBuffer (constants)");
    self->state_buffer = clCreateBuffer(self->context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                        state->block_bytes, state->block, &err);
    CL_TRY(err, "clCreateBuffer (state)");
    self->inputs = clCreateBuffer(self->context, CL_MEM_READ_ONLY, self->input_bytes, NULL, &err);
    CL_TRY(err, "clCreateBuffer (block inputs)");
    size_t output_bytes = self->features
                              ? sprung_gpu_feature_output_bytes(compiled, self->max_steps)
                              : (size_t)self->max_steps * 2u * sizeof(float);
    self->outputs = clCreateBuffer(self->context, CL_MEM_WRITE_ONLY, output_bytes, NULL, &err);
    CL_TRY(err, "clCreateBuffer (outputs)");
    for (int i = 0; i < 2; ++i) {
        self->staging_in_buffer[i] = clCreateBuffer(
            self->context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, self->input_bytes, NULL,
            &err);
        CL_TRY(err, "clCreateBuffer (pinned input staging)");
        self->staging_in[i] = clEnqueueMapBuffer(self->queue, self->staging_in_buffer[i], CL_TRUE,
                                                 CL_MAP_WRITE, 0, self->input_bytes, 0, NULL,
                                                 NULL, &err);
        CL_TRY(err, "clEnqueueMapBuffer (pinned input staging)");
        memset(self->staging_in[i], 0, self->input_bytes);
    }
    self->staging_out_buffer = clCreateBuffer(
        self->context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, output_bytes, NULL, &err);
    CL_TRY(err, "clCreateBuffer (pinned output staging)");
    self->staging_out = clEnqueueMapBuffer(self->queue, self->staging_out_buffer, CL_TRUE,
                                           CL_MAP_READ, 0, output_bytes, 0, NULL, NULL, &err);
    CL_TRY(err, "clEnqueueMapBuffer (pinned output staging)");

    /* Kernels, with every argument set once here. */
    if (self->path == PATH_MULTI) {
        CL_TRY(opencl_multi_kernels(self, 0, &self->multi), "the multi-path kernels");
        if (self->features)
            CL_TRY(opencl_multi_kernels(self, 1, &self->multi_features),
                   "the multi-path feature kernels");
        size_t kernel_group = 0;
        clGetKernelWorkGroupInfo(self->multi.springs, device, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof kernel_group, &kernel_group, NULL);
        self->local_size = max_group < 256 ? max_group : 256;
        if (kernel_group && kernel_group < self->local_size)
            self->local_size = kernel_group;
        self->spring_global = sprung_gpu_round_up(
            compiled->n_springs ? compiled->n_springs : 1, self->local_size);
        self->node_global =
            sprung_gpu_round_up(compiled->n_nodes ? compiled->n_nodes : 1, self->local_size);
        self->stats.groups = (uint32_t)(self->spring_global / self->local_size);
    } else {
        self->block_kernel = opencl_block_kernel(self, 0, &err);
        CL_TRY(err, "clCreateKernel (sprung_block_kernel)");
        if (self->features) {
            self->features_kernel = opencl_block_kernel(self, 1, &err);
            CL_TRY(err, "clCreateKernel (sprung_block_features_kernel)");
        }
        if (self->path == PATH_LOCAL)
            self->stats.local_bytes = (uint32_t)local_state_bytes;
        cl_kernel kernels[2] = {self->block_kernel, self->features_kernel};
        for (int k = 0; k < 2 && kernels[k]; ++k) {
            size_t kernel_group = 0;
            clGetKernelWorkGroupInfo(kernels[k], device, CL_KERNEL_WORK_GROUP_SIZE,
                                     sizeof kernel_group, &kernel_group, NULL);
            if (kernel_group && kernel_group < max_group)
                max_group = kernel_group;
        }
        /* One item per spring (or node) up to the group limit, in whole
         * warps of 32 so each warp takes one branch. */
        size_t want = sprung_gpu_round_up(work ? work : 1, 32);
        self->local_size = want < max_group ? want : max_group;
        self->stats.groups = 1;
    }
    self->stats.work_group_size = (uint32_t)self->local_size;
    snprintf(self->stats.path, sizeof self->stats.path, "%s",
             self->path == PATH_LOCAL ? "local" : self->path == PATH_GLOBAL ? "global" : "multi");
    snprintf(self->stats.launch, sizeof self->stats.launch, "%s",
             self->launch == LAUNCH_USER_EVENT ? "userevent" : "plain");
    snprintf(self->stats.wait, sizeof self->stats.wait, "%s", self->spin ? "spin" : "block");
    CL_TRY(clFinish(self->queue), "clFinish");
    /* Keep a GPU's clocks up while this backend lives (DESIGN.md §3). A CPU
     * device (PoCL) has no clocks to keep, and spinning kernels there would
     * only steal the simulation's cores. No keeper is no error. */
    if (type & CL_DEVICE_TYPE_GPU) {
        if (sprung_keeper_acquire(SPRUNG_KEEPER_WORK_OPENCL, &self->keeper_held) != SPRUNG_OK)
            self->keeper_held = 0;
    }

    opencl_fill_vtable(self, out);
    return SPRUNG_OK;

fail:
    opencl_release(self);
    return SPRUNG_ERROR_UNSUPPORTED;
}

/* ---- audio thread ---- */

/* Waits for `event`: a blocking wait, or spinning on its status. */
static cl_int opencl_wait(const OpenclBackend *self, cl_event event)
{
    if (!self->spin)
        return clWaitForEvents(1, &event);
    cl_int status = CL_QUEUED;
    cl_int err;
    do {
        err = clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status,
                             NULL);
    } while (err == CL_SUCCESS && status > CL_COMPLETE);
    return err != CL_SUCCESS ? err : status < 0 ? status : CL_SUCCESS;
}

void sprung_opencl_release_base(cl_program program, cl_command_queue queue, cl_context context,
                                int keeper_held)
{
    if (program)
        clReleaseProgram(program);
    if (queue)
        clReleaseCommandQueue(queue);
    if (context)
        clReleaseContext(context);
    if (keeper_held)
        sprung_keeper_release();
}

double sprung_opencl_event_span_s(cl_event first, cl_event last)
{
    cl_ulong start = 0, end = 0;
    if (clGetEventProfilingInfo(first, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL) !=
            CL_SUCCESS ||
        clGetEventProfilingInfo(last, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) !=
            CL_SUCCESS)
        return -1.0;
    return (double)(end - start) * 1e-9;
}

/* Enqueues the prepared block (userevent launch): the input write, gated on
 * a new user event, and the kernel. */
static cl_int opencl_prepare(OpenclBackend *self, cl_kernel kernel)
{
    cl_int err = CL_SUCCESS;
    self->gate = clCreateUserEvent(self->context, &err);
    if (err != CL_SUCCESS)
        return err;
    err = clEnqueueWriteBuffer(self->queue, self->inputs, CL_FALSE, 0, self->input_bytes,
                               self->staging_in[self->parity], 1, &self->gate, NULL);
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(self->queue, kernel, 1, NULL, &self->local_size,
                                     &self->local_size, 0, NULL, &self->prepared_kernel);
    self->prepared_for = kernel;
    if (err == CL_SUCCESS)
        err = clFlush(self->queue);
    self->prepared = 1;
    return err;
}

/* Runs the prepared block with no steps and waits: the queue is then empty
 * and the state is the device's. */
static void opencl_drain(OpenclBackend *self)
{
    if (!self->prepared)
        return;
    /* An empty block: no steps, starts or notes (oversampling 1 keeps the
     * feature kernel's frame count defined). */
    uint32_t *in = self->staging_in[self->parity];
    in[0] = in[1] = in[2] = in[4] = 0;
    in[3] = 1;
    clSetUserEventStatus(self->gate, CL_COMPLETE);
    clFinish(self->queue);
    clReleaseEvent(self->gate);
    if (self->prepared_kernel)
        clReleaseEvent(self->prepared_kernel);
    self->gate = self->prepared_kernel = NULL;
    self->prepared = 0;
}

/* A block on the multi path: two launches per step, and before a step that
 * begins a frame with modulation writes (`io`: a feature model's block),
 * one single-item launch that applies them (sprung_multi_features_writes). */
static cl_int opencl_enqueue_multi(OpenclBackend *self, const OpenclMulti *multi,
                                   uint32_t n_steps, const SprungFeatureIo *io, cl_event *first,
                                   cl_event *last)
{
    cl_int err = CL_SUCCESS;
    const size_t one = 1;
    for (cl_uint step = 0; step <= n_steps && err == CL_SUCCESS; ++step) {
        if (io && step < n_steps && step % io->oversampling == 0 &&
            sprung_gpu_frame_has_writes(io, step / io->oversampling)) {
            err = clSetKernelArg(multi->writes, multi->step_arg, sizeof step, &step);
            if (err == CL_SUCCESS)
                err = clEnqueueNDRangeKernel(self->queue, multi->writes, 1, NULL, &one, &one, 0,
                                             NULL, NULL);
        }
        if (err == CL_SUCCESS)
            err = clSetKernelArg(multi->springs, multi->step_arg, sizeof step, &step);
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(self->queue, multi->springs, 1, NULL,
                                         step < n_steps ? &self->spring_global : &self->local_size,
                                         &self->local_size, 0, NULL, step == 0 ? first : NULL);
        if (err == CL_SUCCESS && step < n_steps)
            err = clEnqueueNDRangeKernel(self->queue, multi->nodes, 1, NULL,
                                         &self->node_global, &self->local_size, 0, NULL,
                                         step + 1 == n_steps ? last : NULL);
    }
    return err;
}

/* Before a block's inputs go into the staging buffer: a launch prepared
 * for the other kernel (a test stepping a feature model without its
 * features) is run empty first, since its input write reads that buffer. */
static void opencl_begin_block(OpenclBackend *self, cl_kernel kernel)
{
    if (self->prepared && self->prepared_for != kernel)
        opencl_drain(self);
}

/* Runs one block (`features`: a feature model's, with its `io`) whose
 * inputs (`input_words` words) are in staging_in[parity]: writes them (or
 * completes the prepared launch's gate), launches, reads `output_floats`
 * floats back into staging_out and waits. Then prepares the next block
 * (userevent launch). */
static cl_int opencl_run_block(OpenclBackend *self, const SprungFeatureIo *io, uint32_t n_steps,
                               size_t input_words, size_t output_floats)
{
    int features = io != NULL;
    cl_kernel kernel = features ? self->features_kernel : self->block_kernel;
    cl_event kernel_first = NULL, kernel_last = NULL, read = NULL;
    cl_int err = CL_SUCCESS;
    if (self->launch == LAUNCH_USER_EVENT) {
        if (!self->prepared)
            err = opencl_prepare(self, kernel);
        if (err == CL_SUCCESS)
            err = clSetUserEventStatus(self->gate, CL_COMPLETE);
        kernel_first = kernel_last = self->prepared_kernel;
    } else {
        err = clEnqueueWriteBuffer(self->queue, self->inputs, CL_FALSE, 0, input_words * 4u,
                                   self->staging_in[self->parity], 0, NULL, NULL);
        if (err == CL_SUCCESS && self->path == PATH_MULTI) {
            err = opencl_enqueue_multi(self, features ? &self->multi_features : &self->multi,
                                       n_steps, io, &kernel_first, &kernel_last);
        } else if (err == CL_SUCCESS) {
            err = clEnqueueNDRangeKernel(self->queue, kernel, 1, NULL, &self->local_size,
                                         &self->local_size, 0, NULL, &kernel_first);
            kernel_last = kernel_first;
        }
    }
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(self->queue, self->outputs, CL_FALSE, 0,
                                  output_floats * sizeof(float), self->staging_out, 0, NULL,
                                  &read);
    if (err == CL_SUCCESS)
        err = clFlush(self->queue);
    if (err == CL_SUCCESS)
        err = opencl_wait(self, read);
    self->stats.last_kernel_s = err == CL_SUCCESS && kernel_first && kernel_last
                                    ? sprung_opencl_event_span_s(kernel_first, kernel_last)
                                    : -1.0;
    if (read)
        clReleaseEvent(read);
    if (self->launch == LAUNCH_USER_EVENT) {
        if (self->gate)
            clReleaseEvent(self->gate);
        if (self->prepared_kernel)
            clReleaseEvent(self->prepared_kernel);
        self->gate = self->prepared_kernel = NULL;
        self->prepared = 0;
        /* Prepare the next block while the host works on this one. */
        self->parity ^= 1u;
        if (err == CL_SUCCESS)
            opencl_prepare(self, kernel);
    } else {
        if (kernel_first)
            clReleaseEvent(kernel_first);
        if (kernel_last && kernel_last != kernel_first)
            clReleaseEvent(kernel_last);
        self->parity ^= 1u;
    }
    return err;
}

static void opencl_advance(void *ctx, uint32_t n_steps, const SprungPulseStart *starts,
                           uint32_t n_starts, float *left, float *right)
{
    OpenclBackend *self = ctx;
    self->stats.blocks++;
    if (n_steps == 0)
        return;
    if (n_steps > self->max_steps)
        n_steps = self->max_steps; /* the engine never asks for more */
    opencl_begin_block(self, self->block_kernel);
    uint32_t *in = self->staging_in[self->parity];
    in[0] = n_steps;
    in[1] = n_starts;
    if (n_starts)
        memcpy(in + SPRUNG_BLOCK_HEADER_WORDS, starts, (size_t)n_starts * sizeof *starts);
    if (opencl_run_block(self, NULL, n_steps, SPRUNG_BLOCK_HEADER_WORDS + 3u * (size_t)n_starts,
                         2u * (size_t)n_steps) == CL_SUCCESS) {
        const float *interleaved = self->staging_out;
        for (uint32_t s = 0; s < n_steps; ++s) {
            left[s] = interleaved[2u * s];
            right[s] = interleaved[2u * s + 1u];
        }
    } else {
        /* A failed device is silence, never garbage. */
        memset(left, 0, (size_t)n_steps * sizeof *left);
        memset(right, 0, (size_t)n_steps * sizeof *right);
    }
}

/* A feature model's block: the same launch with sprung_block_features_kernel
 * and its inputs (gpu_common.h packs them), one output buffer per channel. */
static void opencl_advance_features(void *ctx, uint32_t n_steps, const SprungPulseStart *starts,
                                    uint32_t n_starts, const SprungFeatureIo *io)
{
    OpenclBackend *self = ctx;
    self->stats.blocks++;
    if (n_steps == 0)
        return;
    if (n_steps > self->max_steps)
        n_steps = self->max_steps; /* the engine never asks for more */
    opencl_begin_block(self, self->features_kernel);
    size_t words = sprung_gpu_pack_features(self->staging_in[self->parity], self->compiled,
                                            n_steps, starts, n_starts, io);
    size_t output_floats = sprung_gpu_feature_output_floats(self->compiled, n_steps, io);
    if (opencl_run_block(self, io, n_steps, words, output_floats) == CL_SUCCESS)
        sprung_gpu_unpack_features(self->staging_out, self->compiled, n_steps, io);
    else
        sprung_gpu_silence_features(self->compiled, n_steps, io);
}

static void opencl_upload(void *ctx)
{
    OpenclBackend *self = ctx;
    opencl_drain(self);
    clEnqueueWriteBuffer(self->queue, self->state_buffer, CL_TRUE, 0, self->state->block_bytes,
                         self->state->block, 0, NULL, NULL);
}

static void opencl_reset(void *ctx)
{
    OpenclBackend *self = ctx;
    sprung_state_reset(self->compiled, self->state);
    opencl_upload(ctx);
}

static void opencl_sync(void *ctx)
{
    OpenclBackend *self = ctx;
    opencl_drain(self);
    clEnqueueReadBuffer(self->queue, self->state_buffer, CL_TRUE, 0, self->state->block_bytes,
                        self->state->block, 0, NULL, NULL);
}

static void opencl_release(OpenclBackend *self)
{
    if (!self)
        return;
    if (self->queue)
        opencl_drain(self);
    for (int i = 0; i < 2; ++i)
        if (self->staging_in[i])
            clEnqueueUnmapMemObject(self->queue, self->staging_in_buffer[i], self->staging_in[i],
                                    0, NULL, NULL);
    if (self->staging_out)
        clEnqueueUnmapMemObject(self->queue, self->staging_out_buffer, self->staging_out, 0, NULL,
                                NULL);
    if (self->queue)
        clFinish(self->queue);
    cl_mem buffers[] = {self->constants, self->state_buffer, self->inputs, self->outputs,
                        self->staging_in_buffer[0], self->staging_in_buffer[1],
                        self->staging_out_buffer};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; ++i)
        if (buffers[i])
            clReleaseMemObject(buffers[i]);
    if (self->block_kernel)
        clReleaseKernel(self->block_kernel);
    if (self->features_kernel)
        clReleaseKernel(self->features_kernel);
    cl_kernel multi[] = {self->multi.springs, self->multi.nodes, self->multi_features.springs,
                         self->multi_features.nodes, self->multi_features.writes};
    for (size_t i = 0; i < sizeof multi / sizeof multi[0]; ++i)
        if (multi[i])
            clReleaseKernel(multi[i]);
    sprung_opencl_release_base(self->program, self->queue, self->context, self->keeper_held);
    free(self);
}

static void opencl_destroy(void *ctx)
{
    opencl_release(ctx);
}

static void opencl_fill_vtable(OpenclBackend *self, SprungBackend *out)
{
    *out = (SprungBackend){
        .name = "opencl",
        .ctx = self,
        .advance = opencl_advance,
        .reset = opencl_reset,
        .sync_state = opencl_sync,
        .upload_state = opencl_upload,
        .destroy = opencl_destroy,
        .advance_features = self->features ? opencl_advance_features : NULL,
        .applies_writes = 1,
    };
}

const SprungBackendFactory sprung_backend_opencl_factory = {
    .name = "opencl",
    .description = "OpenCL 1.2: one work-group renders a whole block (src/kernel/sprung_block.cl)",
    .features = SPRUNG_GPU_FEATURES,
    .probe = opencl_probe,
    .create = opencl_create,
    .create_voices = sprung_opencl_create_voices,
};
