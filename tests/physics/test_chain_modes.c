/* A fixed-fixed chain of N bodies (anchors at both ends, longitudinal
 * motion) rings at its first five discrete modes
 *   λ_j = (4k/m)·sin²(jπ/(2(N+1))),  f_j = (fs/π)·asin(½·sqrt(λ_j)·dt)
 * within 0.05 %. The chain is stiff enough (sqrt(k/m)·dt = 0.9) that the
 * continuous formula misses the fifth mode by several per cent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "physics_common.h"

enum { N = 10, MODES = 5 };

int main(void)
{
    const double mass = 1e-3, spacing = 0.05;
    const double stiffness = mass * pow(0.9 * PHYS_FS, 2);
    const double tolerance = 5e-4; /* 0.05 %, from the issue */

    PhysJson json = {0};
    phys_json_add(&json, "{\"sprung\": 1, \"name\": \"chain\", \"bodies\": [");
    for (int i = 1; i <= N; i++)
        /* Body 1 starts moving: it is on every mode's antinode side
         * (sin(jπ/(N+1)) != 0 for all j), so all modes are excited. */
        phys_json_add(&json, "%s{\"id\": \"b%d\", \"position\": [%.17g, 0, 0], \"mass\": %.17g%s}",
                      i > 1 ? ", " : "", i, i * spacing, mass,
                      i == 1 ? ", \"velocity\": [0.05, 0, 0]" : "");
    phys_json_add(&json,
                  "], \"anchors\": [{\"id\": \"left\", \"position\": [0, 0, 0]},"
                  " {\"id\": \"right\", \"position\": [%.17g, 0, 0]}], \"springs\": [",
                  (N + 1) * spacing);
    for (int i = 0; i <= N; i++) {
        char from[16], to[16];
        snprintf(from, sizeof from, i == 0 ? "left" : "b%d", i);
        snprintf(to, sizeof to, i == N ? "right" : "b%d", i + 1);
        phys_json_add(&json, "%s{\"id\": \"s%d\", \"from\": \"%s\", \"to\": \"%s\", \"stiffness\": %.17g}",
                      i ? ", " : "", i, from, to, stiffness);
    }
    /* The microphone listens at body 2: sin(2jπ/(N+1)) != 0 for j <= N. */
    phys_json_add(&json, "], \"microphones\": [{\"id\": \"mic\", \"target\": \"b2\", \"axis\": [1, 0, 0]}]}");

    SprungModel *model = phys_load(json.text, "chain.json");
    SprungEngine *engine = phys_engine(model, 1);
    const uint32_t n = 1u << 16;
    float *left = malloc(n * sizeof *left);
    phys_render(engine, n, 4096, NULL, 0, left, NULL);

    double peaks[N + 4];
    uint32_t found = phys_find_peaks(left, n, PHYS_FS, -70.0, peaks, N + 4);
    phys_check(found == N, "%u spectral peaks above -70 dB (the chain has %d modes)", found, N);
    for (int j = 1; j <= MODES && (uint32_t)j <= found; j++) {
        double s = sin(j * M_PI / (2.0 * (N + 1)));
        double lambda = 4.0 * stiffness / mass * s * s;
        double expected = phys_discrete_hz(lambda, PHYS_FS);
        double error = fabs(peaks[j - 1] - expected) / expected;
        phys_check(error < tolerance, "mode %d: %.4f Hz, theory %.4f Hz, relative error %.2e (< %.0e)",
                   j, peaks[j - 1], expected, error, tolerance);
        if (j == MODES) {
            double continuous = phys_continuous_hz(lambda);
            phys_check(fabs(continuous - expected) / expected > 10 * tolerance,
                       "mode %d: the continuous formula (%.1f Hz) would miss by %.2f %%", j,
                       continuous, 100 * fabs(continuous - expected) / expected);
        }
    }
    free(left);
    sprung_engine_free(engine);
    sprung_model_free(model);
    phys_json_free(&json);
    return phys_exit("test_chain_modes");
}
