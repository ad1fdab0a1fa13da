/* The registry of backends compiled into this build: listing, probing, and
 * turning a --backend spelling ("auto", "cpu", "opencl:1") into a created
 * backend. Control thread only.
 *
 * "auto" rule: the first available backend of `auto_order` that implements
 * every feature the model uses, i.e. `simd` on its device 0 (the widest
 * instruction set this CPU has: AVX-512, AVX2, SSE2, else the portable
 * kernels; SPRUNG_SIMD_ISA narrows it), else `cpu`; a factory's
 * auto_min_springs passes it over for smaller models (simd: 8). A
 * documented rule, not a calibration: simd gives the reference's bits
 * (tests/conformance) and is faster than cpu on every model measured from
 * the 10-spring echo preset (1.5x) and the 16-spring bouncing balls (1.2x)
 * to 100,000-spring networks. Below 8 springs the two are within a quarter
 * of each other either way (re-measured at commit e3bde43: mpe-pad, three
 * springs in eight voices and the slowest preset at 9x real time, and the
 * rattle run 5-10 % faster on cpu; the arpeggiator and resonator-input,
 * above 100x real time on both, 9-25 % faster on simd; docs/benchmarks.md).
 * What is left for a calibration to win is small, on models that are cheap
 * either way, against a start-up cost and a choice that could change from
 * run to run on a busy machine; the rule picks the same backend every time.
 * simd spreads one network over a worker pool only from 16,384 springs on
 * machines of 4 or more cores (SPRUNG_SIMD_THREADS overrides;
 * src/backend/simd/simd_backend.c).
 * GPU backends are never chosen by "auto": for the model sizes musicians
 * play, a launch per block costs more than the CPU needs (to be revisited
 * with GPU measurements). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "model/model.h"

#ifdef SPRUNG_HAVE_SIMD
extern const SprungBackendFactory sprung_backend_simd_factory;
#endif
#ifdef SPRUNG_HAVE_OPENCL
extern const SprungBackendFactory sprung_backend_opencl_factory;
#endif
#ifdef SPRUNG_HAVE_CUDA
extern const SprungBackendFactory sprung_backend_cuda_factory;
#endif

static const SprungBackendFactory *const factories[] = {
#ifdef SPRUNG_HAVE_SIMD
    &sprung_backend_simd_factory,
#endif
    &sprung_backend_cpu_factory,
#ifdef SPRUNG_HAVE_OPENCL
    &sprung_backend_opencl_factory,
#endif
#ifdef SPRUNG_HAVE_CUDA
    &sprung_backend_cuda_factory,
#endif
};
#define FACTORY_COUNT (sizeof factories / sizeof factories[0])

/* Names "auto" may choose, in order of preference. */
static const char *const auto_order[] = {"simd", "cpu"};

uint32_t sprung_backend_count(void)
{
    return (uint32_t)FACTORY_COUNT;
}

static void probe(const SprungBackendFactory *factory, SprungBackendInfo *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", factory->name);
    snprintf(info->description, sizeof info->description, "%s", factory->description);
    sprung_feature_names(SPRUNG_FEATURE_ALL & ~factory->features, info->lacks,
                         sizeof info->lacks);
    factory->probe(info);
}

const char *sprung_backend_name(uint32_t index)
{
    return index < FACTORY_COUNT ? factories[index]->name : NULL;
}

SprungStatus sprung_backend_info(uint32_t index, SprungBackendInfo *out)
{
    if (index >= FACTORY_COUNT || !out)
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    probe(factories[index], out);
    return SPRUNG_OK;
}

static const SprungBackendFactory *find(const char *name, size_t length)
{
    for (size_t i = 0; i < FACTORY_COUNT; ++i)
        if (strlen(factories[i]->name) == length && !strncmp(factories[i]->name, name, length))
            return factories[i];
    return NULL;
}

void sprung_feature_names(uint32_t features, char *buffer, size_t size)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {SPRUNG_FEATURE_OSCILLATOR, "oscillators"},
        {SPRUNG_FEATURE_PLUCK, "plucks"},
        {SPRUNG_FEATURE_BOW, "bows"},
        {SPRUNG_FEATURE_AUDIO_INPUT, "audio inputs"},
        {SPRUNG_FEATURE_MIC_FORCE, "force microphones"},
        {SPRUNG_FEATURE_OUTPUT_CHANNELS, "microphone output channels"},
        {SPRUNG_FEATURE_DELAY, "delay lines"},
        {SPRUNG_FEATURE_COLLISION, "collisions"},
        {SPRUNG_FEATURE_GRAVITY, "gravity"},
        {SPRUNG_FEATURE_MODULATION, "modulation"},
        {SPRUNG_FEATURE_VOICES, "voices"},
        {SPRUNG_FEATURE_MIC_FOLLOWER, "microphone followers"},
    };
    size_t used = 0;
    if (size)
        buffer[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0] && used < size; ++i)
        if (names[i].name && (features & names[i].bit))
            used += (size_t)snprintf(buffer + used, size - used, "%s%s", used ? ", " : "",
                                     names[i].name);
}

/* The features the model uses that `factory` does not implement. A
 * backend that steps every voice in one launch (create_voices) cannot let
 * a follower hear the voices' microphones frame by frame, so voices with a
 * microphone follower are left to the backends that step voice by voice. */
static uint32_t missing_features(const SprungBackendFactory *factory,
                                 const SprungCompiled *compiled)
{
    uint32_t missing = compiled->features & ~factory->features;
    const uint32_t voices_following = SPRUNG_FEATURE_VOICES | SPRUNG_FEATURE_MIC_FOLLOWER;
    if (factory->create_voices && (compiled->features & voices_following) == voices_following)
        missing |= SPRUNG_FEATURE_MIC_FOLLOWER;
    return missing;
}

static void known_names(char *buffer, size_t size)
{
    size_t used = (size_t)snprintf(buffer, size, "auto");
    for (size_t i = 0; i < FACTORY_COUNT && used < size; ++i)
        used += (size_t)snprintf(buffer + used, size - used, ", %s", factories[i]->name);
}

SprungStatus sprung_backend_choose(const SprungCompiled *compiled,
                                   const SprungEngineConfig *config,
                                   const SprungBackendFactory **chosen, uint32_t *chosen_device,
                                   SprungError *error)
{
    const char *spec = config->backend ? config->backend : "auto";
    SprungBackendInfo info;
    *chosen = NULL;
    *chosen_device = 0;
    if (!strcmp(spec, "auto")) {
        for (size_t i = 0; i < sizeof auto_order / sizeof auto_order[0]; ++i) {
            const SprungBackendFactory *factory = find(auto_order[i], strlen(auto_order[i]));
            if (!factory || missing_features(factory, compiled) ||
                compiled->n_springs < factory->auto_min_springs)
                continue;
            probe(factory, &info);
            if (info.available) {
                *chosen = factory;
                return SPRUNG_OK;
            }
        }
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "engine config", 0, 0,
                                "backend", "no backend can run here");
    }
    /* "name" or "name:device" */
    const char *colon = strchr(spec, ':');
    size_t name_length = colon ? (size_t)(colon - spec) : strlen(spec);
    uint32_t device = 0;
    if (colon) {
        char *end = NULL;
        errno = 0;
        unsigned long value = strtoul(colon + 1, &end, 10);
        if (!isdigit((unsigned char)colon[1]) || *end || errno || value > UINT32_MAX)
            return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, "engine config", 0, 0,
                                    "backend",
                                    "\"%s\": the device after ':' must be a number (as in "
                                    "\"%.*s:0\")",
                                    spec, (int)(colon - spec), spec);
        /* A number past this backend's devices is named below, by their count. */
        device = (uint32_t)value;
    }
    const SprungBackendFactory *factory = find(spec, name_length);
    if (!factory) {
        char names[128];
        known_names(names, sizeof names);
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, "engine config", 0, 0,
                                "backend", "unknown backend \"%s\" (this build has: %s)", spec,
                                names);
    }
    probe(factory, &info);
    if (!info.available)
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "engine config", 0, 0,
                                "backend", "backend \"%s\" cannot run here: %s", factory->name,
                                info.reason);
    uint32_t missing = missing_features(factory, compiled);
    if (missing) {
        char names[256];
        sprung_feature_names(missing, names, sizeof names);
        /* The bit it has, missing only beside voices (missing_features). */
        int in_voices = (missing & factory->features & SPRUNG_FEATURE_MIC_FOLLOWER) != 0;
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, "engine config", 0, 0,
                                "backend", "backend \"%s\" does not implement %s%s yet; use cpu",
                                factory->name, names, in_voices ? " in voices" : "");
    }
    if (device >= info.n_devices)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, "engine config", 0, 0,
                                "backend", "backend \"%s\" has %u device%s; there is no device %u",
                                factory->name, info.n_devices, info.n_devices == 1 ? "" : "s",
                                device);
    *chosen = factory;
    *chosen_device = device;
    return SPRUNG_OK;
}

SprungStatus sprung_backend_create(const SprungCompiled *compiled, SprungState *state,
                                   const SprungEngineConfig *config, SprungBackend *out,
                                   SprungError *error)
{
    const SprungBackendFactory *factory;
    uint32_t device;
    SprungStatus status = sprung_backend_choose(compiled, config, &factory, &device, error);
    if (status != SPRUNG_OK)
        return status;
    return factory->create(compiled, state, device, config, out, error);
}
