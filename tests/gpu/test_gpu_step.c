/* Conformance of one engine step: from the same state (random displacements,
 * velocities and running mallet pulses), the backend named in argv[1] and the
 * CPU reference take one step (and, separately, a 16-step block with pulse
 * starts), for every factory preset and for random networks, on each of the
 * backend's paths (state in local/shared memory, in global memory, and the
 * many-group large-model path). A NaN or an unmatched Inf fails; the
 * normalised error Σ(a−b)²/Σa² of displacements, velocities and the output
 * must be ≤ 1e-10 per step. Built with correctly rounded division and sqrt
 * and no FMA contraction, the backends are expected to match bit for bit;
 * the test reports whether they did. */
#include "gpu_test_util.h"

#define NMSE_BOUND 1e-10

static const char *const paths[] = {"local", "global", "multi"};

typedef struct Tally {
    int cases, exact;
    double worst;
} Tally;

/* Random state: u ~ 1 mm, v ~ 0.1 m/s on bodies; anchors stay at rest;
 * every other pulse slot running at a random step. */
static void perturb(const SprungCompiled *c, SprungState *s, uint32_t seed)
{
    uint32_t rng = seed * 747796405u + 7u;
    for (uint32_t i = 0; i < c->n_bodies; ++i) {
        s->ux[i] = (float)gpu_uniform(&rng, -1e-3, 1e-3);
        s->uy[i] = (float)gpu_uniform(&rng, -1e-3, 1e-3);
        s->uz[i] = (float)gpu_uniform(&rng, -1e-3, 1e-3);
        s->vx[i] = (float)gpu_uniform(&rng, -0.1, 0.1);
        s->vy[i] = (float)gpu_uniform(&rng, -0.1, 0.1);
        s->vz[i] = (float)gpu_uniform(&rng, -0.1, 0.1);
    }
    for (uint32_t slot = 0; slot < c->n_pulse_slots; slot += 2) {
        uint32_t mallet = slot / SPRUNG_PULSE_SLOTS;
        s->pulse_amplitude[slot] = (float)gpu_uniform(&rng, 1e-4, 1e-2);
        s->pulse_step[slot] = gpu_random(&rng) % c->mallet_steps[mallet];
    }
}

static double compare(const SprungCompiled *c, const SprungState *a, const SprungState *b,
                      const float *out_a, const float *out_b, uint32_t n_out, int *bad,
                      int *exact)
{
    size_t n = c->n_nodes;
    double worst = 0.0;
    const float *arrays_a[] = {a->ux, a->uy, a->uz, a->vx, a->vy, a->vz};
    const float *arrays_b[] = {b->ux, b->uy, b->uz, b->vx, b->vy, b->vz};
    for (int k = 0; k < 6; k += 3) {
        /* One normalised error over the three components of u (then v). */
        double error = 0.0, energy = 0.0;
        for (int d = 0; d < 3; ++d) {
            int e = 1;
            double nmse = gpu_nmse(arrays_a[k + d], arrays_b[k + d], n, bad, &e);
            *exact &= e;
            double energy_d = 0.0;
            for (size_t i = 0; i < n; ++i)
                energy_d += (double)arrays_a[k + d][i] * arrays_a[k + d][i];
            error += isinf(nmse) ? INFINITY : nmse * energy_d;
            energy += energy_d;
        }
        double nmse = energy > 0.0 ? error / energy : error;
        worst = fmax(worst, nmse);
    }
    worst = fmax(worst, gpu_nmse(out_a, out_b, n_out, bad, exact));
    *exact &= !memcmp(a->pulse_step, b->pulse_step, c->n_pulse_slots * sizeof(uint32_t));
    return worst;
}

static void check_model(const char *backend, const char *path, const char *label,
                        const SprungModel *model, uint32_t seed, Tally *tally)
{
    SprungCompiled *compiled = NULL;
    SprungError error = {0};
    if (sprung_compiled_new(model, 48000.0, &compiled, &error) != SPRUNG_OK) {
        GPU_CHECK(0, "%s: compile: %s", label, error.message);
        return;
    }
    SprungState ref, dev;
    if (sprung_state_new(compiled, &ref) != SPRUNG_OK || sprung_state_new(compiled, &dev) != SPRUNG_OK) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    SprungBackend cpu = gpu_backend("cpu", compiled, &ref, 64);
    SprungBackend gpu = gpu_backend(backend, compiled, &dev, 64);
    SprungGpuStats *stats = sprung_gpu_stats(gpu.name, gpu.ctx);
    GPU_CHECK(stats && !strcmp(stats->path, path), "%s: asked for path %s, got %s", label, path,
              stats ? stats->path : "(no stats)");

    /* Two cases: one step with no starts; 16 steps with starts. */
    for (int kase = 0; kase < 2; ++kase) {
        perturb(compiled, &ref, seed + (uint32_t)kase);
        memcpy(dev.block, ref.block, ref.block_bytes);
        gpu.upload_state(gpu.ctx);
        uint32_t n_steps = kase == 0 ? 1 : 16;
        SprungPulseStart starts[4];
        uint32_t n_starts = 0;
        if (kase == 1 && compiled->n_mallets)
            for (uint32_t k = 0; k < 4; ++k)
                starts[n_starts++] = (SprungPulseStart){
                    .step = 5 * k, .slot = (k % compiled->n_mallets) * SPRUNG_PULSE_SLOTS + 1,
                    .amplitude = 0.002f};
        float out_ref[32], out_dev[32];
        cpu.advance(cpu.ctx, n_steps, starts, n_starts, out_ref, out_ref + n_steps);
        gpu.advance(gpu.ctx, n_steps, starts, n_starts, out_dev, out_dev + n_steps);
        gpu.sync_state(gpu.ctx);
        int bad = 0, exact = 1;
        double nmse = compare(compiled, &ref, &dev, out_ref, out_dev, 2 * n_steps, &bad, &exact);
        GPU_CHECK(!bad, "%s, path %s, %u step(s): NaN or unmatched Inf", label, path, n_steps);
        GPU_CHECK(nmse <= NMSE_BOUND, "%s, path %s, %u step(s): NMSE %.3g > %g", label, path,
                  n_steps, nmse, NMSE_BOUND);
        tally->cases++;
        tally->exact += exact;
        tally->worst = fmax(tally->worst, nmse);
    }
    cpu.destroy(cpu.ctx);
    gpu.destroy(gpu.ctx);
    sprung_state_free(&ref);
    sprung_state_free(&dev);
    sprung_compiled_free(compiled);
}

int main(int argc, char **argv)
{
    const char *backend = gpu_test_backend(argc, argv);
    gpu_test_env(backend, "launch", NULL);
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; ++p) {
        gpu_test_env(backend, "path", paths[p]);
        Tally tally = {0};
        for (size_t i = 0; i < GPU_PRESET_COUNT; ++i) {
            SprungModel *model = gpu_preset(gpu_presets[i]);
            check_model(backend, paths[p], gpu_presets[i], model, (uint32_t)i + 1, &tally);
            sprung_model_free(model);
        }
        static const uint32_t sizes[][3] = {{5, 2, 9}, {60, 8, 150}, {300, 20, 700}, {1500, 40, 3000}};
        for (uint32_t k = 0; k < 4; ++k) {
            char label[64];
            snprintf(label, sizeof label, "random network %u (%u springs)", k, sizes[k][2]);
            SprungModel *model = gpu_random_network(100 + k, sizes[k][0], sizes[k][1], sizes[k][2]);
            check_model(backend, paths[p], label, model, 50 + k, &tally);
            sprung_model_free(model);
        }
        printf("%s path %-6s: %d cases (7 presets + 4 random networks, 1 step and 16 steps), "
               "worst NMSE %.3g, bit-exact %d/%d\n",
               backend, paths[p], tally.cases, tally.worst, tally.exact, tally.cases);
    }
    gpu_test_env(backend, "path", NULL);
    if (gpu_failures) {
        fprintf(stderr, "%d check(s) failed\n", gpu_failures);
        return 1;
    }
    printf("%s step conformance: ok\n", backend);
    return 0;
}
