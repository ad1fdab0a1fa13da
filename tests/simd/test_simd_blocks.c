/* Block-size invariance of the `simd` backend: every preset given, and a
 * larger generated network, rendered for half a second with notes at odd
 * frames in blocks of 1, 7, 64, 512 and 4096 frames must give the same
 * bits, on every instruction set of this CPU (simd:0, simd:1, ...). Run
 * once as is and once with the worker pool forced on (SPRUNG_SIMD_THREADS=2,
 * tests/simd/CMakeLists.txt). --sabotage moves every note to the start of
 * its block, the bug this guards against, and the check must then fail.
 *
 * Usage: test_simd_blocks [--device N] [--short] [--sabotage] PRESET.json ...
 *   --device N   only simd:N (default: every instruction set)
 *   --short      an eighth of a second instead of half */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sprung/sprung.h"

enum { MAX_FRAMES = 24000, N_EVENTS = 24 };
static uint32_t g_frames = MAX_FRAMES; /* --short: a quarter */
static const uint32_t block_sizes[] = {1, 7, 64, 512, 4096};
#define N_SIZES (sizeof block_sizes / sizeof block_sizes[0])

static bool g_sabotage;

static SprungEngine *make_engine(const SprungModel *model, const char *spec, SprungError *error)
{
    SprungStatus status = SPRUNG_ERROR_UNSTABLE;
    SprungEngine *engine = NULL;
    for (uint32_t oversampling = 1; oversampling <= 4 && status == SPRUNG_ERROR_UNSTABLE;
         oversampling *= 2) {
        SprungEngineConfig config = sprung_engine_config_default();
        config.max_block_frames = 4096;
        config.oversampling = oversampling;
        config.backend = spec;
        status = sprung_engine_new(&config, model, &engine, error);
    }
    return status == SPRUNG_OK ? engine : NULL;
}

/* Renders g_frames frames in blocks of `block`, events at absolute frames. */
static void render(SprungEngine *engine, const SprungEvent *events, uint32_t block, float *left,
                   float *right)
{
    sprung_engine_reset(engine);
    uint32_t next = 0;
    for (uint32_t first = 0; first < g_frames; first += block) {
        uint32_t n = g_frames - first < block ? g_frames - first : block;
        SprungEvent local[N_EVENTS];
        uint32_t count = 0;
        for (; next < N_EVENTS && events[next].frame < first + n; ++next) {
            local[count] = events[next];
            local[count].frame = g_sabotage ? 0 : events[next].frame - first;
            count++;
        }
        float *outputs[2] = {left + first, right + first};
        SprungBlock b = {.n_frames = n, .events = local, .n_events = count, .outputs = outputs,
                         .n_outputs = 2};
        sprung_engine_process(engine, &b);
    }
}

static int check_model(const SprungModel *model, const char *name, const char *spec)
{
    SprungEvent events[N_EVENTS];
    for (uint32_t e = 0; e < N_EVENTS; ++e)
        events[e] = (SprungEvent){.frame = 333 + e * 997, .type = SPRUNG_EVENT_NOTE_ON,
                                  .note = (uint8_t)(30 + (e * 23) % 80),
                                  .velocity = (uint8_t)(50 + e * 3)};
    SprungError error = {0};
    SprungEngine *engine = make_engine(model, spec, &error);
    if (!engine) {
        printf("FAIL %s on %s: %s\n", name, spec, error.message);
        return 1;
    }
    float *out = malloc(sizeof(float) * 2 * g_frames * N_SIZES);
    if (!out)
        exit(2);
    int failures = 0;
    for (uint32_t k = 0; k < N_SIZES; ++k) {
        float *left = out + 2 * g_frames * k, *right = left + g_frames;
        render(engine, events, block_sizes[k], left, right);
        if (k && memcmp(out, left, sizeof(float) * 2 * g_frames)) {
            uint32_t at = 0;
            while (at < 2 * g_frames && !memcmp(out + at, left + at, sizeof(float)))
                at++;
            printf("FAIL %s on %s: blocks of %u differ from blocks of %u (first at sample %u)\n",
                   name, spec, block_sizes[k], block_sizes[0], at % g_frames);
            failures++;
        }
    }
    if (!failures)
        printf("ok   %s on %s: blocks of 1, 7, 64, 512, 4096 bit-identical\n", name, spec);
    free(out);
    sprung_engine_free(engine);
    return failures;
}

/* A 3,000-spring random network, so the pool's split has real shares. */
static SprungModel *big_network(void)
{
    enum { BODIES = 1200, SPRINGS = 3000 };
    size_t capacity = 200u * (BODIES + SPRINGS) + 1024, used = 0;
    char *text = malloc(capacity);
    if (!text)
        exit(2);
#define EMIT(...) used += (size_t)snprintf(text + used, capacity - used, __VA_ARGS__)
    uint32_t random_state = 99u;
    EMIT("{\"sprung\": 1, \"name\": \"blocks-network\", \"bodies\": [");
    for (uint32_t i = 0; i < BODIES; ++i)
        EMIT("%s{\"id\": \"b%u\", \"position\": [%u, %u, %u], \"mass\": 0.01}", i ? "," : "", i,
             i % 11, (i / 11) % 11, i / 121);
    EMIT("], \"anchors\": [{\"id\": \"a\", \"position\": [-1, -1, -1]}], \"springs\": [");
    for (uint32_t s = 0; s < SPRINGS; ++s) {
        random_state = random_state * 1664525u + 1013904223u;
        uint32_t p = s % BODIES, q = (random_state >> 8) % BODIES;
        if (q == p)
            q = (q + 1) % BODIES;
        if (s % 97 == 0)
            EMIT("%s{\"id\": \"s%u\", \"from\": \"a\", \"to\": \"b%u\", \"stiffness\": 50}",
                 s ? "," : "", s, p);
        else
            EMIT("%s{\"id\": \"s%u\", \"from\": \"b%u\", \"to\": \"b%u\", \"stiffness\": 50,"
                 " \"damping\": 0.0001}", s ? "," : "", s, p, q);
    }
    EMIT("], \"mallets\": [{\"id\": \"m\", \"target\": \"b5\", \"direction\": [0, 0, 1],"
         " \"strength\": 0.01}], \"microphones\": [{\"id\": \"l\", \"target\": \"b600\","
         " \"axis\": [0, 0, 1], \"gain\": 100, \"pan\": -0.5}, {\"id\": \"r\", \"target\": \"b9\","
         " \"axis\": [1, 0, 0], \"signal\": \"velocity\", \"gain\": 1, \"pan\": 0.5}]}");
#undef EMIT
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_string(text, "blocks-network", &model, &error) != SPRUNG_OK) {
        printf("FAIL generated network: %s\n", error.message);
        exit(1);
    }
    free(text);
    return model;
}

int main(int argc, char **argv)
{
    int failures = 0;
    SprungBackendInfo info;
    uint32_t simd = UINT32_MAX;
    for (uint32_t b = 0; b < sprung_backend_count(); ++b) {
        sprung_backend_info(b, &info);
        if (!strcmp(info.name, "simd")) {
            simd = b;
            break;
        }
    }
    if (simd == UINT32_MAX || !info.available) {
        printf("skipped: the simd backend %s\n",
               simd == UINT32_MAX ? "is not in this build" : info.reason);
        return 77;
    }
    SprungModel *models[64];
    const char *names[64];
    uint32_t n = 0;
    long only_device = -1;
    for (int i = 1; i < argc && n < 63; ++i) {
        if (!strcmp(argv[i], "--sabotage")) {
            g_sabotage = true;
            fprintf(stderr, "sabotage: every note moved to the start of its block\n");
            continue;
        }
        if (!strcmp(argv[i], "--short")) {
            g_frames = MAX_FRAMES / 4;
            continue;
        }
        if (!strcmp(argv[i], "--device") && i + 1 < argc) {
            only_device = strtol(argv[++i], NULL, 10);
            continue;
        }
        SprungError error = {0};
        if (sprung_model_load_file(argv[i], &models[n], &error) != SPRUNG_OK) {
            printf("FAIL %s: %s\n", argv[i], error.message);
            return 1;
        }
        names[n++] = argv[i];
    }
    models[n] = big_network();
    names[n++] = "generated network (1,200 bodies, 3,000 springs)";
    const char *threads = getenv("SPRUNG_SIMD_THREADS");
    for (uint32_t device = 0; device < info.n_devices; ++device) {
        if (only_device >= 0 && device != (uint32_t)only_device)
            continue;
        char spec[32];
        snprintf(spec, sizeof spec, "simd:%u", device);
        printf("---- %s (%s), SPRUNG_SIMD_THREADS=%s\n", spec, info.devices[device],
               threads ? threads : "(unset)");
        for (uint32_t m = 0; m < n; ++m)
            failures += check_model(models[m], names[m], spec);
    }
    for (uint32_t m = 0; m < n; ++m)
        sprung_model_free(models[m]);
    return failures ? 1 : 0;
}
