/* Block-size invariance on a GPU backend (argv[1]): the engine test network
 * (tests/engine/engine_test_util.h: pre-stressed and zero-length springs,
 * drag, three mallets, re-strikes faster than the pulse ring, events at odd
 * frames) rendered in blocks of 1, 7, 64 and 512 frames must give
 * bit-identical output among the block sizes, on each path (state in local
 * and in global memory), with each launch variant (plain, and prepared ahead
 * behind a user event) and each completion wait (blocking, spinning), at
 * oversampling 1 and 2. The test also reports whether it equals the CPU
 * reference bit for bit. */
#include "../engine/engine_test_util.h"
#include "gpu_test_util.h"

#define TOTAL 4800u

static const uint32_t block_sizes[] = {1, 7, 64, 512};

typedef struct Variant {
    const char *path, *launch, *wait;
} Variant;

static const Variant variants[] = {
    {"local", "plain", "block"},
    {"global", "plain", "block"},
    {"local", "userevent", "block"},
    {"global", "userevent", "spin"},
};

static SprungEngine *engine_on(const SprungModel *model, const char *backend, uint32_t os)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.max_block_frames = 512;
    config.oversampling = os;
    config.backend = backend;
    SprungEngine *engine = NULL;
    SprungError error = {0};
    if (sprung_engine_new(&config, model, &engine, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: engine on %s: %s\n", backend, error.message);
        exit(1);
    }
    return engine;
}

int main(int argc, char **argv)
{
    const char *backend = gpu_test_backend(argc, argv);
    SprungModel *model = test_model(test_network_json);
    SprungEvent events[64];
    uint32_t n_events = test_network_events(events);
    size_t bytes = TOTAL * sizeof(float);
    float *ref_l = gpu_alloc(bytes), *ref_r = gpu_alloc(bytes);
    float *first_l = gpu_alloc(bytes), *first_r = gpu_alloc(bytes);
    float *l = gpu_alloc(bytes), *r = gpu_alloc(bytes);

    for (uint32_t os = 1; os <= 2; ++os) {
        SprungEngine *cpu = engine_on(model, "cpu", os);
        GPU_CHECK(test_render(cpu, events, n_events, TOTAL, 512, ref_l, ref_r, 0), "cpu render");
        sprung_engine_free(cpu);
        for (size_t v = 0; v < sizeof variants / sizeof variants[0]; ++v) {
            gpu_test_env(backend, "path", variants[v].path);
            gpu_test_env(backend, "launch", variants[v].launch);
            gpu_test_env(backend, "wait", variants[v].wait);
            int same_all = 1, ref_same = 1;
            for (size_t b = 0; b < sizeof block_sizes / sizeof block_sizes[0]; ++b) {
                SprungEngine *engine = engine_on(model, backend, os);
                float *out_l = b == 0 ? first_l : l, *out_r = b == 0 ? first_r : r;
                GPU_CHECK(test_render(engine, events, n_events, TOTAL, block_sizes[b], out_l,
                                      out_r, 0),
                          "render");
                sprung_engine_free(engine);
                if (b > 0) {
                    int same = !memcmp(l, first_l, bytes) && !memcmp(r, first_r, bytes);
                    GPU_CHECK(same, "oversampling %u, %s/%s/%s: blocks of %u differ from blocks "
                                    "of 1",
                              os, variants[v].path, variants[v].launch, variants[v].wait,
                              block_sizes[b]);
                    same_all &= same;
                }
            }
            ref_same = !memcmp(first_l, ref_l, bytes) && !memcmp(first_r, ref_r, bytes);
            GPU_CHECK(test_peak(first_l, TOTAL) > 1e-6, "silent render");
            printf("oversampling %u, path %-6s launch %-9s wait %-5s: blocks 1/7/64/512 %s; "
                   "%s the CPU reference\n",
                   os, variants[v].path, variants[v].launch, variants[v].wait,
                   same_all ? "bit-identical" : "DIFFERENT",
                   ref_same ? "bit-identical to" : "differs from");
        }
    }
    gpu_test_env(backend, "path", NULL);
    gpu_test_env(backend, "launch", NULL);
    gpu_test_env(backend, "wait", NULL);
    sprung_model_free(model);
    free(ref_l);
    free(ref_r);
    free(first_l);
    free(first_r);
    free(l);
    free(r);
    if (gpu_failures || test_failures) {
        fprintf(stderr, "%d check(s) failed\n", gpu_failures + test_failures);
        return 1;
    }
    printf("%s block-size invariance: ok\n", backend);
    return 0;
}
