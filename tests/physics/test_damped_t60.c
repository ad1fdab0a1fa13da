/* A damped oscillator's T60 matches the discrete theory within 2 %.
 *
 * Theory. One body on a spring (stiffness k, damping c) to an anchor, with
 * drag γ, moving along the spring. The spring's damping acts along the
 * spring, so along the motion the damping is c + γ. With a = (k/m)·dt² and
 * b = ((c + γ)/m)·dt the engine's semi-implicit Euler is the recurrence
 *   x⁺ = (2 - a - b)·x - (1 - b)·x⁻,
 * whose roots z, z̄ (complex while (2 - a - b)² < 4(1 - b)) have
 * |z|² = z·z̄ = 1 - b. The amplitude falls by |z| per step, so 60 dB takes
 *   T60 = ln(10⁻³) / (fs·ln|z|) = -2·6.9078 / (fs·ln(1 - b))  seconds,
 * against the continuous 2·6.9078·m/(c + γ). They agree to O(b): case A
 * (musical, b ≈ 2.4·10⁻⁴) cannot tell them apart, case B (b = 0.1) differs
 * by 5.4 %, more than twice the tolerance.
 *
 * Measurement: a least-squares line through the log of the envelope, with
 * two envelopes: the discrete Teager-Kaiser energy x[n]² - x[n-1]·x[n+1]
 * (for a single damped discrete sinusoid exactly A²|z|^{2n}·sin²θ, so its
 * log is a straight line) and the per-half-cycle peaks of |x| refined by a
 * parabola through log|x|. Both fit the range from -3 dB to -100 dB below
 * the start. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "physics_common.h"

static double fit_slope(const double *t, const double *y, uint32_t n)
{
    double st = 0, sy = 0, stt = 0, sty = 0;
    for (uint32_t i = 0; i < n; i++) {
        st += t[i];
        sy += y[i];
        stt += t[i] * t[i];
        sty += t[i] * y[i];
    }
    return (n * sty - st * sy) / (n * stt - st * st);
}

/* Natural-log amplitude slope (per sample) from the Teager-Kaiser energy. */
static double slope_teager(const float *x, uint32_t n, double hi_db, double lo_db)
{
    double *t = malloc(n * sizeof *t), *y = malloc(n * sizeof *y);
    double start = 0;
    for (uint32_t k = 1; k < 64; k++)
        start = fmax(start, (double)x[k] * x[k] - (double)x[k - 1] * x[k + 1]);
    uint32_t count = 0;
    for (uint32_t k = 1; k + 1 < n; k++) {
        double e = (double)x[k] * x[k] - (double)x[k - 1] * x[k + 1];
        if (e <= 0)
            continue;
        double db = 10 * log10(e / start);
        if (db <= hi_db && db >= lo_db) {
            t[count] = k;
            y[count] = 0.5 * log(e); /* energy ~ amplitude² */
            count++;
        }
    }
    double slope = count > 8 ? fit_slope(t, y, count) : NAN;
    free(t);
    free(y);
    return slope;
}

/* The same from the peaks of |x|, each refined by a parabola through the
 * log magnitudes of the peak sample and its neighbours. */
static double slope_peaks(const float *x, uint32_t n, double hi_db, double lo_db)
{
    double *t = malloc(n * sizeof *t), *y = malloc(n * sizeof *y);
    double start = 0;
    for (uint32_t k = 0; k < 64; k++)
        start = fmax(start, fabs(x[k]));
    uint32_t count = 0;
    for (uint32_t k = 1; k + 1 < n; k++) {
        double a = fabs(x[k - 1]), b = fabs(x[k]), c = fabs(x[k + 1]);
        if (!(b > a && b >= c) || a == 0 || c == 0)
            continue;
        double la = log(a), lb = log(b), lc = log(c);
        double denom = la - 2 * lb + lc;
        double offset = denom < 0 ? 0.5 * (la - lc) / denom : 0.0;
        double peak = lb - 0.25 * (la - lc) * offset;
        double db = 20 * (peak - log(start)) / log(10);
        if (db <= hi_db && db >= lo_db) {
            t[count] = k + offset;
            y[count] = peak;
            count++;
        }
    }
    double slope = count > 4 ? fit_slope(t, y, count) : NAN;
    free(t);
    free(y);
    return slope;
}

static void run_case(const char *label, double a, double b, double damping_share, uint32_t n)
{
    const double mass = 1e-3;
    const double stiffness = a * mass * PHYS_FS * PHYS_FS;
    const double total_damping = b * mass * PHYS_FS;
    const double spring_damping = damping_share * total_damping;
    const double drag = total_damping - spring_damping;
    const double tolerance = 0.02; /* from the issue */

    PhysJson json = {0};
    phys_json_add(&json,
                  "{\"sprung\": 1, \"name\": \"damped\","
                  " \"bodies\": [{\"id\": \"b\", \"position\": [0, 0.1, 0], \"mass\": %.17g,"
                  "  \"drag\": %.17g, \"velocity\": [0, 0.2, 0]}],"
                  " \"anchors\": [{\"id\": \"a\", \"position\": [0, 0, 0]}],"
                  " \"springs\": [{\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": %.17g,"
                  "  \"damping\": %.17g}],"
                  " \"microphones\": [{\"id\": \"mic\", \"target\": \"b\", \"axis\": [0, 1, 0]}]}",
                  mass, drag, stiffness, spring_damping);
    SprungModel *model = phys_load(json.text, "damped.json");
    SprungEngine *engine = phys_engine(model, 1);
    float *x = malloc(n * sizeof *x);
    phys_render(engine, n, 4096, NULL, 0, x, NULL);

    double discrete = -2.0 * log(1000.0) / (PHYS_FS * log(1.0 - b));
    double continuous = 2.0 * log(1000.0) * mass / total_damping;
    printf("%s: a = %.4g, b = %.4g; T60 discrete %.6f s, continuous %.6f s\n", label, a, b,
           discrete, continuous);
    double measured[2] = {
        log(1000.0) / (-slope_teager(x, n, -3, -100) * PHYS_FS),
        log(1000.0) / (-slope_peaks(x, n, -3, -100) * PHYS_FS),
    };
    const char *names[2] = {"Teager-Kaiser envelope", "peak envelope"};
    for (int e = 0; e < 2; e++) {
        double error = fabs(measured[e] - discrete) / discrete;
        phys_check(error < tolerance, "%s: %s T60 %.6f s, relative error %.2e (< %.0e)", label,
                   names[e], measured[e], error, tolerance);
    }
    if (b > 0.05)
        phys_check(fabs(continuous - discrete) / discrete > 2 * tolerance,
                   "%s: the continuous T60 is %.2f %% off, so the test tells them apart", label,
                   100 * fabs(continuous - discrete) / discrete);
    free(x);
    sprung_engine_free(engine);
    sprung_model_free(model);
    phys_json_free(&json);
}

int main(void)
{
    /* A: about 440 Hz with T60 = 1.2 s (spring damping and drag). */
    double a_A = pow(2.0 * M_PI * 440.0 / PHYS_FS, 2);
    double b_A = -2.0 * log(1000.0) / (PHYS_FS * 1.2);
    b_A = 1.0 - exp(b_A);
    run_case("A (440 Hz, T60 1.2 s)", a_A, b_A, 0.7, 3u * 48000u);
    /* B: heavy damping, where discrete and continuous theory differ. */
    run_case("B (b = 0.1)", 0.25, 0.1, 0.75, 2048u);
    return phys_exit("test_damped_t60");
}
