/* Helpers shared by the GPU backend tests (tests/gpu/): which backend a test
 * runs on (argv[1]: "opencl" or "cuda"), skipping with a clear message and
 * exit code 77 when it cannot run here, factory presets and random networks
 * as models, error measures, and forcing a backend path through its
 * environment variables. Test code only. */
#ifndef SPRUNG_TEST_GPU_UTIL_H
#define SPRUNG_TEST_GPU_UTIL_H

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/opencl/gpu_common.h"
#include "engine/compiled.h"
#include "model/model.h"
#include "sprung/sprung.h"

/* ctest's SKIP_RETURN_CODE for these tests. */
#define GPU_TEST_SKIP 77

static int gpu_failures;

#define GPU_CHECK(cond, ...)                                          \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
            fprintf(stderr, __VA_ARGS__);                             \
            fprintf(stderr, "\n");                                    \
            gpu_failures++;                                           \
        }                                                             \
    } while (0)

static inline void *gpu_alloc(size_t bytes)
{
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* The backend named on the command line, or exit: 2 on a bad command line,
 * GPU_TEST_SKIP (with "SKIP: ...") when the backend is not in this build or
 * cannot run here. */
static inline const char *gpu_test_backend(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "opencl") && strcmp(argv[1], "cuda"))) {
        fprintf(stderr, "usage: %s opencl|cuda\n", argv[0]);
        exit(2);
    }
    const char *name = argv[1];
    const char *label = strcmp(name, "cuda") ? "OpenCL" : "CUDA";
    for (uint32_t i = 0; i < sprung_backend_count(); ++i) {
        SprungBackendInfo info;
        if (sprung_backend_info(i, &info) != SPRUNG_OK || strcmp(info.name, name))
            continue;
        if (!info.available) {
            printf("SKIP: no %s device: %s\n", label, info.reason);
            exit(GPU_TEST_SKIP);
        }
        printf("%s device 0: %s\n", label, info.devices[0]);
        return name;
    }
    printf("SKIP: no %s device: the %s backend is not in this build\n", label, name);
    exit(GPU_TEST_SKIP);
}

/* Sets SPRUNG_<BACKEND>_<what> (e.g. SPRUNG_OPENCL_PATH=local) for the
 * backends created after it; value NULL unsets it. */
static inline void gpu_test_env(const char *backend, const char *what, const char *value)
{
    char name[64];
    snprintf(name, sizeof name, "SPRUNG_%s_%s", backend, what);
    for (char *c = name; *c; ++c)
        *c = (char)toupper((unsigned char)*c);
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

/* ---- models ---- */

static const char *const gpu_presets[] = {"bells", "demo", "drums", "gong",
                                          "kalimba", "marimba", "string"};
#define GPU_PRESET_COUNT (sizeof gpu_presets / sizeof gpu_presets[0])

static inline SprungModel *gpu_preset(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/presets/%s.json", SPRUNG_SOURCE_DIR, name);
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_file(path, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s does not load: %s\n", path, error.message);
        exit(1);
    }
    return model;
}

static inline uint32_t gpu_random(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static inline double gpu_uniform(uint32_t *state, double low, double high)
{
    return low + (high - low) * (gpu_random(state) / 16777216.0);
}

/* A random network: bodies scattered in a 10 cm cube, anchors, springs
 * between random distinct points (rest length default, 0, or pre-stressed),
 * drag on some bodies, mallets of 1 to 60 steps, position and velocity
 * microphones. Stiffnesses keep it stable at 48 kHz × `oversampling` for
 * renders; the one-step test does not need that. */
static inline SprungModel *gpu_random_network(uint32_t seed, uint32_t n_bodies,
                                              uint32_t n_anchors, uint32_t n_springs)
{
    uint32_t rng = seed * 2654435761u + 1u;
    SprungModel *m = gpu_alloc(sizeof *m);
    m->n_bodies = n_bodies;
    m->n_anchors = n_anchors;
    m->n_springs = n_springs;
    m->n_mallets = 1u + n_bodies / 16u;
    m->n_microphones = 3;
    m->bodies = gpu_alloc(n_bodies * sizeof *m->bodies);
    m->anchors = gpu_alloc(n_anchors * sizeof *m->anchors);
    m->springs = gpu_alloc(n_springs * sizeof *m->springs);
    m->mallets = gpu_alloc(m->n_mallets * sizeof *m->mallets);
    m->microphones = gpu_alloc(m->n_microphones * sizeof *m->microphones);
    for (uint32_t i = 0; i < n_bodies; ++i) {
        SprungModelBody *b = &m->bodies[i];
        b->position = (SprungVec3){gpu_uniform(&rng, 0, 0.1), gpu_uniform(&rng, 0, 0.1),
                                   gpu_uniform(&rng, 0, 0.1)};
        b->mass = gpu_uniform(&rng, 0.005, 0.02);
        b->drag = i % 3 == 0 ? gpu_uniform(&rng, 0, 0.01) : 0.0;
        if (i % 5 == 0)
            b->velocity = (SprungVec3){gpu_uniform(&rng, -0.1, 0.1), 0, 0.01};
    }
    for (uint32_t i = 0; i < n_anchors; ++i)
        m->anchors[i].position = (SprungVec3){gpu_uniform(&rng, -0.05, 0.15),
                                              gpu_uniform(&rng, -0.05, 0.15),
                                              gpu_uniform(&rng, -0.05, 0.15)};
    uint32_t n_points = n_bodies + n_anchors;
    for (uint32_t s = 0; s < n_springs; ++s) {
        SprungModelSpring *spring = &m->springs[s];
        /* Every body gets a spring first (a ring), so none floats free. */
        uint32_t p = s < n_bodies ? s : gpu_random(&rng) % n_points;
        uint32_t q = s < n_bodies ? (s + 1u) % n_points : gpu_random(&rng) % n_points;
        if (q == p)
            q = (p + 1u) % n_points;
        if (p >= n_bodies && q >= n_bodies) /* anchor to anchor: move one end to a body */
            p = gpu_random(&rng) % n_bodies;
        spring->from_point = p;
        spring->to_point = q;
        spring->stiffness = gpu_uniform(&rng, 200, 2000);
        spring->damping = s % 2 ? gpu_uniform(&rng, 0, 0.01) : 0.0;
        SprungVec3 a = sprung_model_point_position(m, p), b = sprung_model_point_position(m, q);
        double length = sqrt((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y) +
                             (a.z - b.z) * (a.z - b.z));
        switch (s % 4) {
        case 0: spring->rest_length = 0.0; break;
        case 1: spring->rest_length = 0.9 * length; break;
        default: spring->rest_length = length; break;
        }
    }
    for (uint32_t k = 0; k < m->n_mallets; ++k) {
        SprungModelMallet *mallet = &m->mallets[k];
        mallet->target_body = gpu_random(&rng) % n_bodies;
        mallet->direction = (SprungVec3){gpu_uniform(&rng, -1, 1), gpu_uniform(&rng, -1, 1), 1};
        mallet->strength = gpu_uniform(&rng, 0.0005, 0.005);
        mallet->duration_ms = k % 3 == 0 ? 0.01 : gpu_uniform(&rng, 0.1, 1.2);
        mallet->note_low = 0;
        mallet->note_high = 127;
    }
    for (uint32_t k = 0; k < m->n_microphones; ++k) {
        SprungModelMicrophone *mic = &m->microphones[k];
        mic->target_body = gpu_random(&rng) % n_bodies;
        mic->axis = (SprungVec3){gpu_uniform(&rng, -1, 1), 1, gpu_uniform(&rng, -1, 1)};
        mic->signal = k == 1 ? SPRUNG_MIC_VELOCITY : SPRUNG_MIC_POSITION;
        mic->gain = k == 1 ? 0.01 : 1.0;
        mic->pan = gpu_uniform(&rng, -1, 1);
    }
    return m;
}

/* ---- measures ---- */

/* Σ(a−b)²/Σa² over n values, in double; 0/0 is 0. *bad is set when b has a
 * NaN, or an Inf that a does not have at the same place. *exact is cleared
 * when any bits differ. */
static inline double gpu_nmse(const float *a, const float *b, size_t n, int *bad, int *exact)
{
    double error = 0.0, energy = 0.0;
    for (size_t i = 0; i < n; ++i) {
        if (isnan(b[i]) || (isinf(b[i]) && b[i] != a[i]))
            *bad = 1;
        if (memcmp(&a[i], &b[i], sizeof(float)))
            *exact = 0;
        double d = (double)a[i] - (double)b[i];
        error += d * d;
        energy += (double)a[i] * (double)a[i];
    }
    if (energy == 0.0)
        return error == 0.0 ? 0.0 : INFINITY;
    return error / energy;
}

/* A backend on `name` for compiled/state, or exit with the error. */
static inline SprungBackend gpu_backend(const char *name, const SprungCompiled *compiled,
                                        SprungState *state, uint32_t max_frames)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.backend = name;
    config.max_block_frames = max_frames;
    SprungBackend backend = {0};
    SprungError error = {0};
    if (sprung_backend_create(compiled, state, &config, &backend, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: backend %s does not create: %s\n", name, error.message);
        exit(1);
    }
    return backend;
}

#endif
