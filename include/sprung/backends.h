/* The simulation backends this build has, and whether each can run on this
 * machine (for `sprung backends` and --backend). Control thread only. */
#ifndef SPRUNG_BACKENDS_H
#define SPRUNG_BACKENDS_H

#include <stdint.h>

#include "sprung/attributes.h"
#include "sprung/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SPRUNG_BACKEND_MAX_DEVICES 8

typedef struct SprungBackendInfo {
    char name[16];          /* "cpu", "simd", "opencl", "cuda" */
    char description[128];
    int available;          /* can run on this machine now */
    uint32_t n_devices;
    char devices[SPRUNG_BACKEND_MAX_DEVICES][192]; /* name and limits, one line each */
    char reason[256];       /* why not, when !available */
    char lacks[128];        /* the preset features it cannot run ("modulation, voices"),
                               "" when it runs them all */
} SprungBackendInfo;

/* Backends compiled into this build, in the order "auto" prefers them. */
SPRUNG_API uint32_t sprung_backend_count(void);

/* The name of backend `index` ("simd", "cpu", "opencl", "cuda"), without
 * probing it; NULL from sprung_backend_count() on. For checking a name a
 * person typed (the command line's --backend) before any driver starts. */
SPRUNG_API const char *sprung_backend_name(uint32_t index);

/* Probes backend `index` (< sprung_backend_count()). May take a moment the
 * first time (driver start-up). */
SPRUNG_API SprungStatus sprung_backend_info(uint32_t index, SprungBackendInfo *out);

#ifdef __cplusplus
}
#endif
#endif
