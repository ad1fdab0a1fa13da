/* The large-model path of a GPU backend (argv[1]): a model above the
 * backend's size threshold (lowered here to 2,000 springs through
 * SPRUNG_<BACKEND>_MULTI_SPRINGS so the test stays quick) must spread over
 * many work-groups (OpenCL: two launches per engine step; CUDA: one
 * cooperative launch with a grid barrier per phase) and still match the CPU
 * reference: a 9,000-spring random network, three blocks with pulse starts,
 * NaN/Inf free, NMSE ≤ 1e-10 per block on state and output (bit-exactness is
 * reported), then reset() must bring back the first block's output exactly. */
#include "gpu_test_util.h"

enum { STEPS = 40, BLOCKS = 3 };

int main(int argc, char **argv)
{
    const char *backend = gpu_test_backend(argc, argv);
    gpu_test_env(backend, "path", NULL);
    gpu_test_env(backend, "launch", "userevent"); /* must fall back to a plain launch */
    gpu_test_env(backend, "multi_springs", "2000");

    SprungModel *model = gpu_random_network(7, 4000, 60, 9000);
    SprungCompiled *compiled = NULL;
    SprungError error = {0};
    if (sprung_compiled_new(model, 48000.0, &compiled, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: compile: %s\n", error.message);
        return 1;
    }
    SprungState ref, dev;
    sprung_state_new(compiled, &ref);
    sprung_state_new(compiled, &dev);
    SprungBackend cpu = gpu_backend("cpu", compiled, &ref, STEPS);
    SprungBackend gpu = gpu_backend(backend, compiled, &dev, STEPS);
    SprungGpuStats *stats = sprung_gpu_stats(gpu.name, gpu.ctx);
    GPU_CHECK(stats && !strcmp(stats->path, "multi") && stats->groups > 1,
              "a 9,000-spring model above the threshold should take the many-group path "
              "(got %s, %u groups)", stats ? stats->path : "?", stats ? stats->groups : 0);
    if (stats)
        printf("path %s, %u groups of %u, launch %s\n", stats->path, stats->groups,
               stats->work_group_size, stats->launch);

    float out_ref[2 * STEPS], out_dev[2 * STEPS], first[2 * STEPS];
    int all_exact = 1;
    double worst = 0.0;
    for (int round = 0; round < 2; ++round) {
        for (uint32_t block = 0; block < BLOCKS; ++block) {
            SprungPulseStart starts[6];
            uint32_t n_starts = 0;
            for (uint32_t k = 0; k < 6; ++k)
                starts[n_starts++] = (SprungPulseStart){
                    .step = 7 * k + block,
                    .slot = ((k + block) % compiled->n_mallets) * SPRUNG_PULSE_SLOTS + k % 4,
                    .amplitude = 0.003f};
            cpu.advance(cpu.ctx, STEPS, starts, n_starts, out_ref, out_ref + STEPS);
            gpu.advance(gpu.ctx, STEPS, starts, n_starts, out_dev, out_dev + STEPS);
            if (round == 1 && block == 0)
                GPU_CHECK(!memcmp(first, out_dev, sizeof first),
                          "after reset() the first block differs from before");
            if (block == 0 && round == 0)
                memcpy(first, out_dev, sizeof first);
            gpu.sync_state(gpu.ctx);
            int bad = 0, exact = 1;
            double nmse = gpu_nmse(out_ref, out_dev, 2 * STEPS, &bad, &exact);
            const float *a[] = {ref.ux, ref.uy, ref.uz, ref.vx, ref.vy, ref.vz};
            const float *b[] = {dev.ux, dev.uy, dev.uz, dev.vx, dev.vy, dev.vz};
            for (int k = 0; k < 6; ++k)
                nmse = fmax(nmse, gpu_nmse(a[k], b[k], compiled->n_nodes, &bad, &exact));
            GPU_CHECK(!bad, "block %u: NaN or unmatched Inf", block);
            GPU_CHECK(nmse <= 1e-10, "block %u: NMSE %.3g > 1e-10", block, nmse);
            all_exact &= exact;
            worst = fmax(worst, nmse);
        }
        GPU_CHECK(fabsf(out_ref[STEPS - 1]) > 0.0f, "the reference is silent");
        cpu.reset(cpu.ctx);
        gpu.reset(gpu.ctx);
    }
    printf("9,000 springs, %d blocks of %d steps twice (reset between): worst NMSE %.3g, %s\n",
           BLOCKS, STEPS, worst, all_exact ? "bit-identical" : "not bit-identical");
    cpu.destroy(cpu.ctx);
    gpu.destroy(gpu.ctx);
    sprung_state_free(&ref);
    sprung_state_free(&dev);
    sprung_compiled_free(compiled);
    sprung_model_free(model);
    gpu_test_env(backend, "launch", NULL);
    gpu_test_env(backend, "multi_springs", NULL);
    if (gpu_failures) {
        fprintf(stderr, "%d check(s) failed\n", gpu_failures);
        return 1;
    }
    printf("%s large-model path: ok\n", backend);
    return 0;
}
