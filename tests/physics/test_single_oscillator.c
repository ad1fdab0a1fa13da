/* One body on a spring to an anchor rings at the discrete frequency
 * f = (fs/π)·asin(½·sqrt(k/m)·dt) within 0.01 % (DESIGN.md §1), and that
 * frequency is far enough from the continuous sqrt(k/m)/2π that the test
 * tells the two apart. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "physics_common.h"

int main(void)
{
    /* sqrt(k/m)·dt = 0.884: f ≈ 6993 Hz, 3.6 % above the continuous value. */
    const double mass = 1e-3, stiffness = 1.8e6;
    const double lambda = stiffness / mass;
    const double tolerance = 1e-4; /* 0.01 %, from the issue */

    PhysJson json = {0};
    phys_json_add(&json,
                  "{\"sprung\": 1, \"name\": \"single\","
                  " \"bodies\": [{\"id\": \"b\", \"position\": [0.1, 0, 0], \"mass\": %.17g,"
                  "               \"velocity\": [0.1, 0, 0]}],"
                  " \"anchors\": [{\"id\": \"a\", \"position\": [0, 0, 0]}],"
                  " \"springs\": [{\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": %.17g}],"
                  " \"microphones\": [{\"id\": \"mic\", \"target\": \"b\", \"axis\": [1, 0, 0]}]}",
                  mass, stiffness);
    SprungModel *model = phys_load(json.text, "single.json");
    SprungEngine *engine = phys_engine(model, 1);

    const uint32_t n = 1u << 16;
    float *left = malloc(n * sizeof *left);
    phys_render(engine, n, 4096, NULL, 0, left, NULL);

    double expected = phys_discrete_hz(lambda, PHYS_FS);
    double continuous = phys_continuous_hz(lambda);
    double peaks[4];
    uint32_t found = phys_find_peaks(left, n, PHYS_FS, -60.0, peaks, 4);
    phys_check(found == 1, "one spectral peak above -60 dB (found %u)", found);
    if (found >= 1) {
        double error = fabs(peaks[0] - expected) / expected;
        phys_check(error < tolerance,
                   "rings at %.4f Hz, discrete theory %.4f Hz: relative error %.2e (< %.0e)",
                   peaks[0], expected, error, tolerance);
        double distance = fabs(continuous - expected) / expected;
        phys_check(distance > 100 * tolerance,
                   "continuous formula %.4f Hz is %.2f %% away: the test distinguishes them",
                   continuous, 100 * distance);
    }
    /* Second estimator, independent of windows: a single undamped discrete
     * sinusoid obeys x[n+1] + x[n-1] = 2cos(θ)x[n] exactly, so least
     * squares over the whole render gives cos θ. */
    double num = 0.0, den = 0.0;
    for (uint32_t k = 1; k + 1 < n; k++) {
        num += (double)left[k] * ((double)left[k + 1] + (double)left[k - 1]);
        den += 2.0 * (double)left[k] * (double)left[k];
    }
    double f_recurrence = acos(num / den) * PHYS_FS / (2.0 * M_PI);
    double error2 = fabs(f_recurrence - expected) / expected;
    phys_check(error2 < tolerance, "recurrence fit %.4f Hz: relative error %.2e (< %.0e)",
               f_recurrence, error2, tolerance);

    free(left);
    sprung_engine_free(engine);
    sprung_model_free(model);
    phys_json_free(&json);
    return phys_exit("test_single_oscillator");
}
