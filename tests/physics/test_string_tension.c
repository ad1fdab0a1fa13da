/* A pre-stressed chain (a string): N bodies between two anchors, springs
 * with rest length L shorter than the spacing ℓ, so each carries tension
 * T = k(ℓ - L). Its transverse modes follow the tension law
 *   λ_j = (4T/(mℓ))·sin²(jπ/(2(N+1))),  f_j = (fs/π)·asin(½·sqrt(λ_j)·dt).
 *
 * Tolerance 0.01 %: the linearisation is exact to second order in the
 * amplitude, and the amplitude here is about 2·10⁻⁶ m on 0.1 m springs, so
 * the nonlinear shift is of order (k/T)(y/ℓ)² ≈ 10⁻⁹; float32 rounding of k,
 * L and the elongation costs about 10⁻⁷; the peak estimator is good to
 * better than 10⁻⁶ on undamped modes over 2^16 samples. 0.01 % leaves a
 * wide margin while still failing for a missing or wrong tension term
 * (e.g. T/L instead of T/ℓ is a 25 % error) or the continuous formula
 * (1.6 % off at the fourth mode). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "physics_common.h"

enum { N = 10, MODES = 4 };

int main(void)
{
    const double mass = 1e-3, spacing = 0.1, rest = 0.06;
    const double stiffness = mass * pow(0.9 * PHYS_FS, 2);
    const double tension = stiffness * (spacing - rest);
    const double tolerance = 1e-4;

    PhysJson json = {0};
    phys_json_add(&json, "{\"sprung\": 1, \"name\": \"string\", \"bodies\": [");
    for (int i = 1; i <= N; i++)
        phys_json_add(&json, "%s{\"id\": \"b%d\", \"position\": [%.17g, 0, 0], \"mass\": %.17g%s}",
                      i > 1 ? ", " : "", i, i * spacing, mass,
                      i == 1 ? ", \"velocity\": [0, 0.01, 0]" : "");
    phys_json_add(&json,
                  "], \"anchors\": [{\"id\": \"left\", \"position\": [0, 0, 0]},"
                  " {\"id\": \"right\", \"position\": [%.17g, 0, 0]}], \"springs\": [",
                  (N + 1) * spacing);
    for (int i = 0; i <= N; i++) {
        char from[16], to[16];
        snprintf(from, sizeof from, i == 0 ? "left" : "b%d", i);
        snprintf(to, sizeof to, i == N ? "right" : "b%d", i + 1);
        phys_json_add(&json,
                      "%s{\"id\": \"s%d\", \"from\": \"%s\", \"to\": \"%s\", \"stiffness\": %.17g,"
                      " \"rest_length\": %.17g}",
                      i ? ", " : "", i, from, to, stiffness, rest);
    }
    phys_json_add(&json, "], \"microphones\": [{\"id\": \"mic\", \"target\": \"b2\", \"axis\": [0, 1, 0]}]}");

    SprungModel *model = phys_load(json.text, "string.json");
    SprungEngine *engine = phys_engine(model, 1);
    const uint32_t n = 1u << 16;
    float *left = malloc(n * sizeof *left);
    phys_render(engine, n, 4096, NULL, 0, left, NULL);

    double peaks[N + 4];
    uint32_t found = phys_find_peaks(left, n, PHYS_FS, -70.0, peaks, N + 4);
    phys_check(found == N, "%u transverse peaks above -70 dB (the string has %d per plane)", found, N);
    for (int j = 1; j <= MODES && (uint32_t)j <= found; j++) {
        double s = sin(j * M_PI / (2.0 * (N + 1)));
        double lambda = 4.0 * tension / (mass * spacing) * s * s;
        double expected = phys_discrete_hz(lambda, PHYS_FS);
        double error = fabs(peaks[j - 1] - expected) / expected;
        phys_check(error < tolerance, "mode %d: %.4f Hz, tension law %.4f Hz, relative error %.2e (< %.0e)",
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
    return phys_exit("test_string_tension");
}
