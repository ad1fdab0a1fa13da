/* What the OpenCL backend's two files share: opencl_backend.c (one model,
 * one launch per block) and opencl_voices.c (an instanced model's voices,
 * a work-group each in one launch per block): devices, error names, the
 * program build, the device's limits and event timing. Private to
 * src/backend/opencl/; control thread except sprung_opencl_event_span_s. */
#ifndef SPRUNG_BACKEND_OPENCL_INTERNAL_H
#define SPRUNG_BACKEND_OPENCL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#ifndef CL_TARGET_OPENCL_VERSION
#  define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include "backend/backend.h"

/* Local memory the kernel needs besides the state (none today; a margin
 * for the driver's own use). */
#define SPRUNG_OPENCL_LOCAL_MARGIN 1024u

/* In a create function with a `SprungError *error` and a `fail:` label. */
#define CL_TRY(call, what)                                                                     \
    do {                                                                                       \
        cl_int err_ = (call);                                                                  \
        if (err_ != CL_SUCCESS) {                                                              \
            sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "opencl backend", 0, 0, NULL,    \
                             "%s failed: %s (%d)", what, sprung_opencl_error_name(err_),       \
                             err_);                                                            \
            goto fail;                                                                         \
        }                                                                                      \
    } while (0)

typedef struct OpenclDevice {
    cl_platform_id platform;
    cl_device_id device;
} OpenclDevice;

/* What create needs to know of a device to choose a path and a group size. */
typedef struct OpenclLimits {
    cl_ulong local_bytes;  /* CL_DEVICE_LOCAL_MEM_SIZE */
    size_t max_group;      /* items per group: the device's, capped by SPRUNG_OPENCL_WORK_GROUP */
    cl_device_type type;
    int exact_math;        /* correctly rounded division and sqrt: the reference's bits */
} OpenclLimits;

const char *sprung_opencl_error_name(cl_int code);

/* Every device of every platform, in platform order: --backend opencl:N
 * picks entry N. */
cl_int sprung_opencl_devices(OpenclDevice *out, uint32_t capacity, uint32_t *count);

OpenclLimits sprung_opencl_limits(cl_device_id device);

/* Builds the embedded kernel source for `device` into *program (`exact`:
 * correctly rounded division and sqrt; `local_state`: the state in __local
 * memory); on a build failure, says why in `error`. */
cl_int sprung_opencl_build(cl_context context, cl_device_id device, int exact, int local_state,
                           cl_program *program, SprungError *error);

/* Device seconds from the start of `first` to the end of `last` (profiling
 * queue); < 0 when unknown. */
double sprung_opencl_event_span_s(cl_event first, cl_event last);

/* The last of a backend's release: its program, queue and context (each
 * when made) and, when it took one, its keeper reference. */
void sprung_opencl_release_base(cl_program program, cl_command_queue queue, cl_context context,
                                int keeper_held);

/* The factory's create_voices (opencl_voices.c). */
SprungStatus sprung_opencl_create_voices(const SprungCompiled *compiled, uint32_t n_voices,
                                         SprungState *const *states, uint32_t device,
                                         const SprungEngineConfig *config, SprungBackend *out,
                                         SprungError *error);

#endif
