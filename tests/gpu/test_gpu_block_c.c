/* The block kernel (src/kernel/sprung_block.h) compiled as C and run with one
 * work-item must give the CPU reference's bits: the offsets it rebuilds the
 * arrays from, the pulse starts it applies at their steps and the
 * interleaved output are checked here without any GPU or OpenCL. */
#include "gpu_test_util.h"
#include "kernel/sprung_block.h"

enum { STEPS = 2000 };

int main(void)
{
    for (uint32_t seed = 1; seed <= 3; ++seed) {
        SprungModel *model = gpu_random_network(seed, 40, 6, 90);
        SprungCompiled *compiled = NULL;
        SprungError error = {0};
        if (sprung_compiled_new(model, 96000.0, &compiled, &error) != SPRUNG_OK) {
            fprintf(stderr, "FAIL: compile: %s\n", error.message);
            return 1;
        }
        SprungState reference_state, block_state;
        sprung_state_new(compiled, &reference_state);
        sprung_state_new(compiled, &block_state);

        SprungPulseStart starts[8];
        uint32_t n_starts = 0;
        for (uint32_t k = 0; k < 8; ++k)
            starts[n_starts++] = (SprungPulseStart){
                .step = 3u + 250u * k, .slot = (k % compiled->n_mallets) * SPRUNG_PULSE_SLOTS + k % 4,
                .amplitude = 0.001f * (float)(k + 1)};

        float *ref = gpu_alloc(2 * STEPS * sizeof(float));
        float *out = gpu_alloc(2 * STEPS * sizeof(float));
        SprungBackend cpu = gpu_backend("cpu", compiled, &reference_state, STEPS);
        cpu.advance(cpu.ctx, STEPS, starts, n_starts, ref, ref + STEPS);
        cpu.destroy(cpu.ctx);

        SprungBlockLayout layout = sprung_gpu_layout(compiled, &block_state);
        SprungStepModel m = sprung_block_model(compiled->block, &layout);
        SprungStepState st = sprung_block_state(block_state.block, &layout);
        sprung_block_run(0, 1, STEPS, n_starts, (const SprungKernelPulseStart *)starts, &m, &st,
                         out);

        int same_out = 1;
        for (uint32_t s = 0; s < STEPS; ++s)
            same_out &= !memcmp(&out[2 * s], &ref[s], 4) && !memcmp(&out[2 * s + 1], &ref[STEPS + s], 4);
        int same_state = !memcmp(reference_state.block, block_state.block, block_state.block_bytes);
        GPU_CHECK(same_out && same_state, "seed %u: block kernel as C differs from the reference "
                                          "(output %s, state %s)",
                  seed, same_out ? "same" : "differs", same_state ? "same" : "differs");
        GPU_CHECK(fabsf(ref[STEPS - 1]) > 0.0f, "seed %u: the reference render is silent", seed);
        printf("seed %u: %u steps, %u starts: %s\n", seed, STEPS, n_starts,
               same_out && same_state ? "bit-identical" : "DIFFERENT");
        free(ref);
        free(out);
        sprung_state_free(&reference_state);
        sprung_state_free(&block_state);
        sprung_compiled_free(compiled);
        sprung_model_free(model);
    }
    if (gpu_failures)
        return 1;
    printf("block kernel as C: ok\n");
    return 0;
}
