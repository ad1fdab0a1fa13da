/* One-second renders of every factory preset through the engine, on the
 * backend named in argv[1] and on the CPU reference, with notes struck across
 * each preset's range: the outputs must agree within 1e-3 of the reference's
 * peak (the bound). The backends compute every step with the
 * reference's operations in the reference's order (tests/gpu/test_gpu_step
 * shows one step bit for bit), so the test also reports whether the whole
 * render is bit-identical. Each preset runs at the smallest stable
 * oversampling factor. */
#include "gpu_test_util.h"

#define RATE 48000.0
#define FRAMES 48000u
#define BLOCK 256u

static SprungEngine *engine_for(const SprungModel *model, const char *backend, uint32_t *os)
{
    for (uint32_t oversampling = 1; oversampling <= 4; oversampling *= 2) {
        SprungEngineConfig config = sprung_engine_config_default();
        config.sample_rate = RATE;
        config.max_block_frames = BLOCK;
        config.oversampling = oversampling;
        config.backend = backend;
        SprungEngine *engine = NULL;
        SprungError error = {0};
        SprungStatus status = sprung_engine_new(&config, model, &engine, &error);
        if (status == SPRUNG_OK) {
            *os = oversampling;
            return engine;
        }
        if (status != SPRUNG_ERROR_UNSTABLE) {
            fprintf(stderr, "FAIL: engine on %s: %s\n", backend, error.message);
            exit(1);
        }
    }
    fprintf(stderr, "FAIL: no stable oversampling\n");
    exit(1);
}

static void render(SprungEngine *engine, float *left, float *right)
{
    for (uint32_t start = 0; start < FRAMES; start += BLOCK) {
        SprungEvent events[2];
        uint32_t n = 0, n_frames = FRAMES - start < BLOCK ? FRAMES - start : BLOCK;
        /* A note every 40 ms (1920 frames = 7.5 blocks: odd offsets). */
        for (uint32_t f = start; f < start + n_frames; ++f)
            if (f % 1920u == 77u && n < 2)
                events[n++] = (SprungEvent){.frame = f - start, .type = SPRUNG_EVENT_NOTE_ON,
                                            .note = (uint8_t)(36u + (f / 1920u) * 7u % 60u),
                                            .velocity = (uint8_t)(60u + f % 67u)};
        float *outputs[2] = {left + start, right + start};
        SprungBlock block = {.n_frames = n_frames, .events = events, .n_events = n,
                             .outputs = outputs, .n_outputs = 2};
        if (sprung_engine_process(engine, &block) != SPRUNG_OK) {
            fprintf(stderr, "FAIL: process\n");
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    const char *backend = gpu_test_backend(argc, argv);
    size_t bytes = FRAMES * sizeof(float);
    float *ref_l = gpu_alloc(bytes), *ref_r = gpu_alloc(bytes);
    float *dev_l = gpu_alloc(bytes), *dev_r = gpu_alloc(bytes);
    int all_exact = 1;
    for (size_t i = 0; i < GPU_PRESET_COUNT; ++i) {
        SprungModel *model = gpu_preset(gpu_presets[i]);
        uint32_t os = 1, os_dev = 1;
        SprungEngine *cpu = engine_for(model, "cpu", &os);
        SprungEngine *dev = engine_for(model, backend, &os_dev);
        render(cpu, ref_l, ref_r);
        render(dev, dev_l, dev_r);
        double peak = 0.0, worst = 0.0;
        int bad = 0, exact = 1;
        for (uint32_t f = 0; f < FRAMES; ++f) {
            peak = fmax(peak, fmax(fabs(ref_l[f]), fabs(ref_r[f])));
            worst = fmax(worst, fmax(fabs((double)ref_l[f] - dev_l[f]),
                                     fabs((double)ref_r[f] - dev_r[f])));
            bad |= !isfinite(dev_l[f]) || !isfinite(dev_r[f]);
        }
        exact = !memcmp(ref_l, dev_l, bytes) && !memcmp(ref_r, dev_r, bytes);
        all_exact &= exact;
        GPU_CHECK(peak > 0.0, "%s: the reference render is silent", gpu_presets[i]);
        GPU_CHECK(!bad, "%s: %s output has NaN or Inf", gpu_presets[i], backend);
        GPU_CHECK(worst <= 1e-3 * peak, "%s: max |diff| %.3g > 1e-3 of peak %.3g",
                  gpu_presets[i], worst, peak);
        printf("%-8s oversampling %u: peak %.4g, max |diff| %.3g (%.3g of peak)%s\n",
               gpu_presets[i], os, peak, worst, peak > 0 ? worst / peak : 0.0,
               exact ? ", bit-identical" : "");
        sprung_engine_free(cpu);
        sprung_engine_free(dev);
        sprung_model_free(model);
    }
    free(ref_l);
    free(ref_r);
    free(dev_l);
    free(dev_r);
    if (gpu_failures) {
        fprintf(stderr, "%d check(s) failed\n", gpu_failures);
        return 1;
    }
    printf("%s 1-second preset renders: ok (%s)\n", backend,
           all_exact ? "all bit-identical to the reference" : "within 1e-3 of peak");
    return 0;
}
