/* Collisions: one-sided Kelvin-Voigt contacts (force k·p - c·v_n while the
 * penetration p > 0).
 *  - A ball (10 g) dropped from 5 cm under gravity onto a plane: each
 *    rebound leaves with e = exp(-ζπ/√(1-ζ²)) times the impact speed
 *    (ζ = c/(2√(km))), so the k-th apex is e^(2k)·h0 and the k-th flight
 *    lasts 2·e^k·v0/g; checked for three bounces within 3 %. The
 *    penetration never exceeds the energy bound p ≤ δ + √(δ² + m·v0²/k)
 *    with δ = mg/k (the static deflection) and settles at δ (within 2 %).
 *  - Two bodies meeting head-on: momentum is conserved and the relative
 *    speed is restored by e computed with the reduced mass. */
#include "instrument_test_util.h"

#define RATE 48000.0

static void check_bouncing_ball(void)
{
    const double m = 0.01, k = 1e5, zeta = 0.1, g = 9.81, h0 = 0.05;
    const double c = 2.0 * zeta * sqrt(k * m);
    char json[1024];
    snprintf(json, sizeof json,
             "{\"sprung\": 1, \"gravity\": [0, 0, %g], \"bodies\": [{\"id\": \"ball\", "
             "\"position\": [0, 0, %g], \"mass\": %g, \"radius\": 0.005}], \"collisions\": "
             "[{\"id\": \"floor\", \"body\": \"ball\", \"plane\": {\"point\": [0, 0, 0.005], "
             "\"normal\": [0, 0, 1]}, \"stiffness\": %g, \"damping\": %.17g}], \"microphones\": "
             "[{\"id\": \"z\", \"target\": \"ball\", \"axis\": [0, 0, 1], \"output\": 0}]}",
             -g, h0 + 0.01, m, k, c);
    /* The ball's centre starts 5 cm above the contact height (radius 5 mm
     * over a plane at 5 mm). */
    SprungModel *model = load_model(json);
    const size_t n = 2 * 48000;
    Render r = {.n_channels = 2, .n_frames = n, .block = 4096};
    float *out = render_model(model, RATE, 1, &r);
    const double e = exp(-zeta * M_PI / sqrt(1.0 - zeta * zeta));
    const double v0 = sqrt(2.0 * g * h0), delta = m * g / k;
    double deepest = 0.0;
    /* Heights above contact: h = h0 + u. Departures: h crosses 0 upward. */
    size_t departures[8];
    int n_departures = 0;
    double apex[8] = {0};
    for (size_t i = 1; i < n; i++) {
        double h = h0 + out[i], before = h0 + out[i - 1];
        deepest = fmax(deepest, -h);
        if (before <= 0.0 && h > 0.0 && n_departures < 8)
            departures[n_departures++] = i;
        if (n_departures > 0 && n_departures <= 8)
            apex[n_departures - 1] = fmax(apex[n_departures - 1], h);
    }
    double bound = delta + sqrt(delta * delta + m * v0 * v0 / k);
    double rest = -(h0 + out[n - 1]);
    printf("bouncing ball: e = %.4f, deepest %.4g m (bound %.4g), at rest %.4g m (mg/k %.4g)\n",
           e, deepest, bound, rest, delta);
    CHECK(deepest <= bound, "penetration %.4g beyond the bound %.4g", deepest, bound);
    CHECK(fabs(rest / delta - 1.0) < 0.02, "resting penetration %.4g, not mg/k = %.4g", rest,
          delta);
    CHECK(n_departures >= 4, "only %d bounces", n_departures);
    for (int b = 0; b + 1 < n_departures && b < 3; b++) {
        double expected_apex = pow(e, 2.0 * (b + 1)) * h0;
        /* The flight from departure b to the next impact: the next
         * departure minus one contact time (π/ω_d). */
        double omega_d = sqrt(k / m) * sqrt(1.0 - zeta * zeta);
        double flight = (departures[b + 1] - departures[b]) / RATE - M_PI / omega_d;
        double expected_flight = 2.0 * pow(e, b + 1) * v0 / g;
        printf("  bounce %d: apex %.5f m (theory %.5f), flight %.5f s (theory %.5f)\n", b + 1,
               apex[b], expected_apex, flight, expected_flight);
        CHECK(fabs(apex[b] / expected_apex - 1.0) < 0.03, "bounce %d apex %.5f, theory %.5f",
              b + 1, apex[b], expected_apex);
        CHECK(fabs(flight / expected_flight - 1.0) < 0.03, "bounce %d flight %.5f, theory %.5f",
              b + 1, flight, expected_flight);
    }
    free(out);
    sprung_model_free(model);
}

static void check_pair(void)
{
    const double m = 0.002, k = 5e4, zeta = 0.05, mu = m / 2.0;
    const double c = 2.0 * zeta * sqrt(k * mu);
    char json[1024];
    snprintf(json, sizeof json,
             "{\"sprung\": 1, \"bodies\": [{\"id\": \"a\", \"position\": [0, 0, 0], "
             "\"mass\": %g, \"velocity\": [0.5, 0, 0], \"radius\": 0.01}, {\"id\": \"b\", "
             "\"position\": [0.1, 0, 0], \"mass\": %g, \"velocity\": [-0.5, 0, 0], "
             "\"radius\": 0.01}], \"collisions\": [{\"id\": \"hit\", \"body\": \"a\", "
             "\"other\": \"b\", \"stiffness\": %g, \"damping\": %.17g}], \"microphones\": "
             "[{\"id\": \"va\", \"target\": \"a\", \"axis\": [1, 0, 0], \"signal\": "
             "\"velocity\", \"output\": 0}, {\"id\": \"vb\", \"target\": \"b\", \"axis\": "
             "[1, 0, 0], \"signal\": \"velocity\", \"output\": 1}]}",
             m, m, k, c);
    SprungModel *model = load_model(json);
    const size_t n = 9600;
    Render r = {.n_channels = 2, .n_frames = n, .block = 512};
    float *out = render_model(model, RATE, 1, &r);
    double va = out[n - 1], vb = out[2 * n - 1];
    double e = exp(-zeta * M_PI / sqrt(1.0 - zeta * zeta));
    printf("pair: after the collision %.5f and %.5f m/s; restitution %.4f (theory %.4f)\n", va,
           vb, (vb - va) / 1.0, e);
    CHECK(fabs(va + vb) < 1e-5, "momentum not conserved (%.3g)", va + vb);
    CHECK(fabs((vb - va) / e - 1.0) < 0.02, "restitution %.4f, theory %.4f", vb - va, e);
    free(out);
    sprung_model_free(model);
}

int main(void)
{
    check_bouncing_ball();
    check_pair();
    return finish("instrument_collision");
}
