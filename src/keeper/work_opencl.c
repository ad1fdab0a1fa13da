/* OpenCL spin work: one tiny kernel (one work-group) on its own context and
 * an in-order queue of low priority (cl_khr_priority_hints when the device
 * has it), launched only once the previous one is done (the keeper polls its
 * event), its length on the device (profiling) steered towards spin_us.
 * libOpenCL is opened with dlopen when first needed, so libsprung has no
 * link-time dependency on it and a machine without OpenCL just reports the
 * work as unsupported. Prefers a GPU; without one it takes any device (PoCL
 * in CI) so the work itself stays testable. Keeper only: create() (whose
 * program build is the slow part) and destroy() (releasing the context) on
 * its work thread, the rest on the keeper thread; OpenCL objects may be used
 * from any thread, and none is touched by both at once. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keeper/keeper_work.h"

#if defined(__has_include)
#  if __has_include(<CL/cl.h>)
#    define SPRUNG_KEEPER_HAVE_CL_HEADERS 1
#  endif
#endif

#ifndef SPRUNG_KEEPER_HAVE_CL_HEADERS

static SprungStatus opencl_create(const KeeperWorkConfig *config, void **ctx, int64_t *code,
                                  char *reason, size_t reason_size)
{
    (void)config;
    *ctx = NULL;
    *code = 0;
    snprintf(reason, reason_size, "built without the OpenCL headers");
    return SPRUNG_ERROR_UNSUPPORTED;
}
static SprungStatus opencl_launch(void *ctx, int64_t *code)
{
    (void)ctx;
    *code = 0;
    return SPRUNG_ERROR_UNSUPPORTED;
}
static SprungStatus opencl_poll(void *ctx, int *done, int64_t *code)
{
    (void)ctx;
    *done = 1;
    *code = 0;
    return SPRUNG_ERROR_UNSUPPORTED;
}
static void opencl_destroy(void *ctx)
{
    (void)ctx;
}

#else

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#include <CL/cl.h>
#include <CL/cl_ext.h>

#ifndef CL_QUEUE_PRIORITY_KHR
#define CL_QUEUE_PRIORITY_KHR 0x1096
#define CL_QUEUE_PRIORITY_LOW_KHR (1 << 2)
#endif

static const char spin_source[] =
    "__kernel void sprung_keeper_spin(__global uint *sink, uint iterations)\n"
    "{\n"
    "    uint x = (uint)get_global_id(0) + 1u;\n"
    "    for (uint i = 0; i < iterations; ++i)\n"
    "        x = x * 1664525u + 1013904223u;\n"
    "    if (x == 0u)\n" /* almost never: it only keeps the loop alive */
    "        sink[0] = x;\n"
    "}\n";

/* The entry points we use, looked up in libOpenCL.so.1. */
typedef struct ClApi {
    void *library;
    cl_int (*GetPlatformIDs)(cl_uint, cl_platform_id *, cl_uint *);
    cl_int (*GetDeviceIDs)(cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *);
    cl_int (*GetDeviceInfo)(cl_device_id, cl_device_info, size_t, void *, size_t *);
    cl_context (*CreateContext)(const cl_context_properties *, cl_uint, const cl_device_id *,
                                void (*)(const char *, const void *, size_t, void *), void *,
                                cl_int *);
    cl_command_queue (*CreateCommandQueueWithProperties)(cl_context, cl_device_id,
                                                         const cl_queue_properties *, cl_int *);
    cl_command_queue (*CreateCommandQueue)(cl_context, cl_device_id,
                                           cl_command_queue_properties, cl_int *);
    cl_program (*CreateProgramWithSource)(cl_context, cl_uint, const char **, const size_t *,
                                          cl_int *);
    cl_int (*BuildProgram)(cl_program, cl_uint, const cl_device_id *, const char *,
                           void (*)(cl_program, void *), void *);
    cl_kernel (*CreateKernel)(cl_program, const char *, cl_int *);
    cl_mem (*CreateBuffer)(cl_context, cl_mem_flags, size_t, void *, cl_int *);
    cl_int (*SetKernelArg)(cl_kernel, cl_uint, size_t, const void *);
    cl_int (*EnqueueNDRangeKernel)(cl_command_queue, cl_kernel, cl_uint, const size_t *,
                                   const size_t *, const size_t *, cl_uint, const cl_event *,
                                   cl_event *);
    cl_int (*Flush)(cl_command_queue);
    cl_int (*GetEventInfo)(cl_event, cl_event_info, size_t, void *, size_t *);
    cl_int (*GetEventProfilingInfo)(cl_event, cl_profiling_info, size_t, void *, size_t *);
    cl_int (*ReleaseEvent)(cl_event);
    cl_int (*ReleaseMemObject)(cl_mem);
    cl_int (*ReleaseKernel)(cl_kernel);
    cl_int (*ReleaseProgram)(cl_program);
    cl_int (*ReleaseCommandQueue)(cl_command_queue);
    cl_int (*ReleaseContext)(cl_context);
} ClApi;

typedef struct OpenclSpin {
    ClApi cl;
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernel;
    cl_mem sink;
    cl_event in_flight; /* the kernel launched last, until seen complete */
    double launched_us;
    cl_uint iterations;
    uint32_t spin_us;
} OpenclSpin;

static int load_api(ClApi *cl, char *reason, size_t reason_size)
{
    cl->library = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!cl->library) {
        snprintf(reason, reason_size, "libOpenCL.so.1: %s", dlerror());
        return 0;
    }
#define LOAD(name, required)                                                               \
    do {                                                                                   \
        *(void **)&cl->name = dlsym(cl->library, "cl" #name);                              \
        if (!cl->name && (required)) {                                                     \
            snprintf(reason, reason_size, "libOpenCL.so.1: no symbol cl" #name);           \
            return 0;                                                                      \
        }                                                                                  \
    } while (0)
    LOAD(GetPlatformIDs, 1);
    LOAD(GetDeviceIDs, 1);
    LOAD(GetDeviceInfo, 1);
    LOAD(CreateContext, 1);
    LOAD(CreateCommandQueueWithProperties, 0);
    LOAD(CreateCommandQueue, 0);
    LOAD(CreateProgramWithSource, 1);
    LOAD(BuildProgram, 1);
    LOAD(CreateKernel, 1);
    LOAD(CreateBuffer, 1);
    LOAD(SetKernelArg, 1);
    LOAD(EnqueueNDRangeKernel, 1);
    LOAD(Flush, 1);
    LOAD(GetEventInfo, 1);
    LOAD(GetEventProfilingInfo, 1);
    LOAD(ReleaseEvent, 1);
    LOAD(ReleaseMemObject, 1);
    LOAD(ReleaseKernel, 1);
    LOAD(ReleaseProgram, 1);
    LOAD(ReleaseCommandQueue, 1);
    LOAD(ReleaseContext, 1);
#undef LOAD
    if (!cl->CreateCommandQueueWithProperties && !cl->CreateCommandQueue) {
        snprintf(reason, reason_size, "libOpenCL.so.1: no clCreateCommandQueue*");
        return 0;
    }
    return 1;
}

/* The first GPU of any platform, else the first device of any kind. */
static int pick_device(ClApi *cl, cl_device_id *device, cl_int *err)
{
    cl_platform_id platforms[16];
    cl_uint n_platforms = 0;
    *err = cl->GetPlatformIDs(16, platforms, &n_platforms);
    if (*err != CL_SUCCESS)
        return 0;
    if (n_platforms > 16)
        n_platforms = 16;
    static const cl_device_type types[] = {CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_ALL};
    for (size_t t = 0; t < 2; ++t)
        for (cl_uint p = 0; p < n_platforms; ++p) {
            cl_uint n = 0;
            if (cl->GetDeviceIDs(platforms[p], types[t], 1, device, &n) == CL_SUCCESS && n > 0)
                return 1;
        }
    *err = CL_DEVICE_NOT_FOUND;
    return 0;
}

static int has_extension(ClApi *cl, cl_device_id device, const char *name)
{
    size_t size = 0;
    if (cl->GetDeviceInfo(device, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS || !size)
        return 0;
    char *extensions = malloc(size + 1);
    if (!extensions)
        return 0;
    int found = 0;
    if (cl->GetDeviceInfo(device, CL_DEVICE_EXTENSIONS, size, extensions, NULL) == CL_SUCCESS) {
        extensions[size] = '\0';
        found = strstr(extensions, name) != NULL;
    }
    free(extensions);
    return found;
}

static void opencl_destroy(void *opaque)
{
    OpenclSpin *spin = opaque;
    if (!spin)
        return;
    ClApi *cl = &spin->cl;
    if (spin->in_flight)
        cl->ReleaseEvent(spin->in_flight);
    if (spin->sink)
        cl->ReleaseMemObject(spin->sink);
    if (spin->kernel)
        cl->ReleaseKernel(spin->kernel);
    if (spin->program)
        cl->ReleaseProgram(spin->program);
    if (spin->queue)
        cl->ReleaseCommandQueue(spin->queue);
    if (spin->context)
        cl->ReleaseContext(spin->context);
    /* libOpenCL stays loaded: ICDs do not like being unloaded and reloaded. */
    free(spin);
}

static SprungStatus opencl_create(const KeeperWorkConfig *config, void **ctx, int64_t *code,
                                  char *reason, size_t reason_size)
{
    *ctx = NULL;
    *code = 0;
    OpenclSpin *spin = calloc(1, sizeof *spin);
    if (!spin)
        return SPRUNG_ERROR_NO_MEMORY;
    ClApi *cl = &spin->cl;
    if (!load_api(cl, reason, reason_size)) {
        free(spin);
        return SPRUNG_ERROR_UNSUPPORTED;
    }
    cl_int err = CL_SUCCESS;
    cl_device_id device;
    if (!pick_device(cl, &device, &err)) {
        *code = err;
        snprintf(reason, reason_size, "no OpenCL device (error %d)", (int)err);
        free(spin);
        return SPRUNG_ERROR_UNSUPPORTED;
    }
    const char *step = "clCreateContext";
    spin->context = cl->CreateContext(NULL, 1, &device, NULL, NULL, &err);
    if (err == CL_SUCCESS) {
        step = "create a command queue";
        /* Profiling: the kernel's own start and end steer its length. */
        if (cl->CreateCommandQueueWithProperties) {
            cl_queue_properties properties[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE,
                                                CL_QUEUE_PRIORITY_KHR, CL_QUEUE_PRIORITY_LOW_KHR,
                                                0};
            if (!has_extension(cl, device, "cl_khr_priority_hints"))
                properties[2] = 0; /* the list ends before the priority */
            spin->queue = cl->CreateCommandQueueWithProperties(spin->context, device,
                                                               properties, &err);
        } else {
            spin->queue = cl->CreateCommandQueue(spin->context, device,
                                                 CL_QUEUE_PROFILING_ENABLE, &err);
        }
    }
    if (err == CL_SUCCESS) {
        step = "build the spin kernel";
        const char *source = spin_source;
        spin->program = cl->CreateProgramWithSource(spin->context, 1, &source, NULL, &err);
        if (err == CL_SUCCESS)
            err = cl->BuildProgram(spin->program, 1, &device, "", NULL, NULL);
        if (err == CL_SUCCESS)
            spin->kernel = cl->CreateKernel(spin->program, "sprung_keeper_spin", &err);
    }
    if (err == CL_SUCCESS) {
        step = "create the sink buffer";
        spin->sink = cl->CreateBuffer(spin->context, CL_MEM_WRITE_ONLY, sizeof(cl_uint), NULL,
                                      &err);
        if (err == CL_SUCCESS)
            err = cl->SetKernelArg(spin->kernel, 0, sizeof spin->sink, &spin->sink);
    }
    if (err != CL_SUCCESS) {
        *code = err;
        snprintf(reason, reason_size, "OpenCL keeper: %s failed (error %d)", step, (int)err);
        opencl_destroy(spin);
        return SPRUNG_ERROR_IO;
    }
    spin->iterations = 256;
    spin->spin_us = config->spin_us;
    *ctx = spin;
    return SPRUNG_OK;
}

static double now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e6 + (double)now.tv_nsec * 1e-3;
}

static SprungStatus opencl_launch(void *opaque, int64_t *code)
{
    OpenclSpin *spin = opaque;
    ClApi *cl = &spin->cl;
    size_t global = 64, local = 64;
    spin->launched_us = now_us();
    cl_int err = cl->SetKernelArg(spin->kernel, 1, sizeof spin->iterations, &spin->iterations);
    if (err == CL_SUCCESS)
        err = cl->EnqueueNDRangeKernel(spin->queue, spin->kernel, 1, NULL, &global, &local, 0,
                                       NULL, &spin->in_flight);
    /* Submit it now: polling its event does not flush the queue. */
    if (err == CL_SUCCESS)
        err = cl->Flush(spin->queue);
    *code = err;
    return err == CL_SUCCESS ? SPRUNG_OK : SPRUNG_ERROR_IO;
}

static SprungStatus opencl_poll(void *opaque, int *done, int64_t *code)
{
    OpenclSpin *spin = opaque;
    ClApi *cl = &spin->cl;
    *done = 1;
    *code = 0;
    if (!spin->in_flight)
        return SPRUNG_OK;
    cl_int state = CL_COMPLETE;
    cl_int err = cl->GetEventInfo(spin->in_flight, CL_EVENT_COMMAND_EXECUTION_STATUS,
                                  sizeof state, &state, NULL);
    if (err == CL_SUCCESS && state < 0)
        err = state; /* the kernel failed: its status is the error */
    if (err != CL_SUCCESS) {
        *code = err;
        return SPRUNG_ERROR_IO;
    }
    if (state != CL_COMPLETE) {
        *done = 0; /* queued, submitted or running */
        return SPRUNG_OK;
    }
    /* Steer the kernel's length towards spin_us, measured on the device: the
     * time until the keeper sees it done also holds the keeper's polling
     * interval and any wait in a busy queue, and steering on that would
     * shrink the loop to its minimum. On the host only without profiling. */
    cl_ulong started = 0, ended = 0;
    double took = now_us() - spin->launched_us;
    if (cl->GetEventProfilingInfo(spin->in_flight, CL_PROFILING_COMMAND_START, sizeof started,
                                  &started, NULL) == CL_SUCCESS &&
        cl->GetEventProfilingInfo(spin->in_flight, CL_PROFILING_COMMAND_END, sizeof ended,
                                  &ended, NULL) == CL_SUCCESS && ended > started)
        took = (double)(ended - started) * 1e-3;
    cl->ReleaseEvent(spin->in_flight);
    spin->in_flight = NULL;
    double scale = took > 1.0 ? (double)spin->spin_us / took : 2.0;
    if (scale > 2.0)
        scale = 2.0;
    if (scale < 0.5)
        scale = 0.5;
    double next = (double)spin->iterations * scale;
    spin->iterations = next < 16.0 ? 16u : next > 16777216.0 ? 16777216u : (cl_uint)next;
    return SPRUNG_OK;
}

#endif

const KeeperWorkOps keeper_work_opencl = {
    .kind = SPRUNG_KEEPER_WORK_OPENCL,
    .create = opencl_create,
    .launch = opencl_launch,
    .poll = opencl_poll,
    .destroy = opencl_destroy,
};
