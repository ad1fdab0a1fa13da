/* The linear analysis (src/model/analysis.c) against closed forms, and the
 * stability check sprung_engine_new() runs:
 *  - a fixed-fixed chain: highest and lowest mode, rigid modes, the whole
 *    dense spectrum, and the power-iteration estimate on a chain too long
 *    for the dense path;
 *  - a pre-stressed string: the tension term of the linearised stiffness;
 *  - a spring too stiff for 48 kHz: rejected, naming oversampling 2; one
 *    too stiff even at 4 says so; damping alone that destabilises
 *    (b >= 2, or a + 2b >= 4 with b < 2) is caught, and the criterion is
 *    checked against the scalar recurrence itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/analysis.h"
#include "model/analysis_modes.h"
#include "physics_common.h"

static void chain_json(PhysJson *json, int n, double mass, double stiffness, double spacing,
                       double rest)
{
    phys_json_add(json, "{\"sprung\": 1, \"name\": \"chain\", \"bodies\": [");
    for (int i = 1; i <= n; i++)
        phys_json_add(json, "%s{\"id\": \"b%d\", \"position\": [%.17g, 0, 0], \"mass\": %.17g}",
                      i > 1 ? ", " : "", i, i * spacing, mass);
    phys_json_add(json,
                  "], \"anchors\": [{\"id\": \"l\", \"position\": [0, 0, 0]},"
                  " {\"id\": \"r\", \"position\": [%.17g, 0, 0]}], \"springs\": [",
                  (n + 1) * spacing);
    for (int i = 0; i <= n; i++) {
        char from[16], to[16];
        snprintf(from, sizeof from, i == 0 ? "l" : "b%d", i);
        snprintf(to, sizeof to, i == n ? "r" : "b%d", i + 1);
        phys_json_add(json, "%s{\"id\": \"s%d\", \"from\": \"%s\", \"to\": \"%s\", \"stiffness\": %.17g",
                      i ? ", " : "", i, from, to, stiffness);
        if (rest >= 0)
            phys_json_add(json, ", \"rest_length\": %.17g", rest);
        phys_json_add(json, "}");
    }
    phys_json_add(json, "], \"microphones\": [{\"id\": \"mic\", \"target\": \"b1\", \"axis\": [1, 0, 0]}]}");
}

static double chain_lambda(int j, int n, double k_over_m)
{
    double s = sin(j * M_PI / (2.0 * (n + 1)));
    return 4.0 * k_over_m * s * s;
}

static double rel(double a, double b)
{
    return fabs(a - b) / fabs(b);
}

static void test_chain(void)
{
    const int n = 10;
    const double mass = 1e-3, k = mass * pow(0.9 * PHYS_FS, 2);
    PhysJson json = {0};
    chain_json(&json, n, mass, k, 0.05, -1);
    SprungModel *model = phys_load(json.text, "chain.json");
    SprungAnalysis a;
    phys_check(sprung_model_analyze(model, PHYS_FS, &a) == SPRUNG_OK, "chain: analyze succeeds");
    double high = phys_discrete_hz(chain_lambda(n, n, k / mass), PHYS_FS);
    double low = phys_discrete_hz(chain_lambda(1, n, k / mass), PHYS_FS);
    phys_check(a.modes_exact == 1, "chain: small model gets the dense decomposition");
    phys_check(rel(a.highest_mode_hz, high) < 1e-9, "chain: highest mode %.6f Hz, closed form %.6f Hz",
               a.highest_mode_hz, high);
    phys_check(rel(a.lowest_mode_hz, low) < 1e-9, "chain: lowest mode %.6f Hz, closed form %.6f Hz",
               a.lowest_mode_hz, low);
    phys_check(a.rigid_modes == 2u * n,
               "chain: %u rigid modes (untensioned springs: 2 transverse per body = %d)",
               a.rigid_modes, 2 * n);
    phys_check(rel(a.lambda_max, chain_lambda(n, n, k / mass)) < 1e-9, "chain: lambda_max %.9g",
               a.lambda_max);
    double margin = 4.0 - chain_lambda(n, n, k / mass) / (PHYS_FS * PHYS_FS);
    phys_check(a.stable && a.min_oversampling == 1 && fabs(a.stability_margin - margin) < 1e-5,
               "chain: stable, margin %.6f (closed form %.6f), min oversampling %u",
               a.stability_margin, margin, a.min_oversampling);

    SprungModes modes;
    phys_check(sprung_model_modes(model, PHYS_FS, &modes) == SPRUNG_OK && modes.count == 3u * n,
               "chain: dense spectrum of %u eigenvalues", modes.count);
    double worst = 0;
    for (int j = 1; j <= n; j++) {
        double f = modes.frequencies_hz[2 * n + j - 1];
        worst = fmax(worst, rel(f, phys_discrete_hz(chain_lambda(j, n, k / mass), PHYS_FS)));
    }
    phys_check(worst < 1e-9 && modes.rigid == 2u * n && modes.negative == 0,
               "chain: all %d longitudinal modes match the closed form (worst %.1e)", n, worst);
    sprung_modes_free(&modes);
    sprung_model_free(model);
    phys_json_free(&json);

    /* Too long for the dense path: power iteration alone. Its eigenvalues
     * crowd under the top (gap ~10⁻⁵ relative), the hard case. */
    const int long_n = 700;
    chain_json(&json, long_n, mass, k, 0.05, -1);
    model = phys_load(json.text, "long-chain.json");
    phys_check(sprung_model_analyze(model, PHYS_FS, &a) == SPRUNG_OK, "long chain: analyze succeeds");
    double lambda = chain_lambda(long_n, long_n, k / mass);
    phys_check(a.modes_exact == 0 && a.lowest_mode_hz == 0.0,
               "long chain (%d DOF): no dense decomposition, lowest mode not computed", 3 * long_n);
    phys_check(a.lambda_max <= lambda * (1 + 1e-12) && rel(a.lambda_max, lambda) < 1e-4,
               "long chain: power iteration lambda_max %.9g vs %.9g (relative %.1e, from below)",
               a.lambda_max, lambda, rel(a.lambda_max, lambda));
    phys_check(a.lambda_max_damped >= lambda,
               "long chain: the stability estimate %.9g is safe (>= true %.9g)", a.lambda_max_damped,
               lambda);
    sprung_model_free(model);
    phys_json_free(&json);
}

static void test_string(void)
{
    const int n = 10;
    const double mass = 1e-3, spacing = 0.1, rest = 0.06, k = mass * pow(0.9 * PHYS_FS, 2);
    PhysJson json = {0};
    chain_json(&json, n, mass, k, spacing, rest);
    SprungModel *model = phys_load(json.text, "string.json");
    SprungAnalysis a;
    sprung_model_analyze(model, PHYS_FS, &a);
    double t_over_ml = k * (spacing - rest) / (mass * spacing);
    double low = phys_discrete_hz(chain_lambda(1, n, t_over_ml), PHYS_FS);
    phys_check(rel(a.lowest_mode_hz, low) < 1e-9 && a.rigid_modes == 0,
               "string: lowest mode %.6f Hz is the tension law's %.6f Hz, no rigid modes",
               a.lowest_mode_hz, low);
    sprung_model_free(model);
    phys_json_free(&json);
}

/* One body on a spring (a = (k/m)dt², b = (c/m)dt at 48 kHz). */
static SprungModel *single(double a, double b, const char *name)
{
    const double mass = 1e-3;
    PhysJson json = {0};
    phys_json_add(&json,
                  "{\"sprung\": 1, \"bodies\": [{\"id\": \"b\", \"position\": [0.1, 0, 0], \"mass\": %.17g}],"
                  " \"anchors\": [{\"id\": \"a\", \"position\": [0, 0, 0]}],"
                  " \"springs\": [{\"id\": \"stiff\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": %.17g,"
                  " \"damping\": %.17g}],"
                  " \"microphones\": [{\"id\": \"mic\", \"target\": \"b\", \"axis\": [1, 0, 0]}]}",
                  mass, a * mass * PHYS_FS * PHYS_FS, b * mass * PHYS_FS);
    SprungModel *model = phys_load(json.text, name);
    phys_json_free(&json);
    return model;
}

static SprungStatus engine_status(const SprungModel *model, uint32_t oversampling, SprungError *error)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = PHYS_FS;
    config.oversampling = oversampling;
    config.backend = "cpu"; /* physics is checked on the reference, the oracle */
    SprungEngine *engine = NULL;
    memset(error, 0, sizeof *error);
    SprungStatus status = sprung_engine_new(&config, model, &engine, error);
    sprung_engine_free(engine);
    return status;
}

/* Does the scalar recurrence x⁺ = (2-a-b)x - (1-b)x⁻ grow? */
static int recurrence_grows(double a, double b)
{
    double previous = 0.0, x = 1.0;
    for (int n = 0; n < 20000; n++) {
        double next = (2 - a - b) * x - (1 - b) * previous;
        previous = x;
        x = next;
    }
    return fabs(x) + fabs(previous) > 1.0;
}

static void test_unstable(void)
{
    SprungError error;
    /* sqrt(k/m)·dt = 2.5: unstable at 48 kHz, 1.25 at 96 kHz. */
    SprungModel *model = single(2.5 * 2.5, 0.0, "stiff.json");
    SprungStatus status = engine_status(model, 1, &error);
    printf("  message: %s\n", error.message);
    phys_check(status == SPRUNG_ERROR_UNSTABLE && error.status == SPRUNG_ERROR_UNSTABLE,
               "stiff spring at 48 kHz: SPRUNG_ERROR_UNSTABLE");
    phys_check(strstr(error.message, "stiff.json") && strstr(error.message, "oversampling 2") &&
                   strstr(error.message, "2.500"),
               "the message names the file, sqrt(λ)·dt = 2.500 and oversampling 2");
    phys_check(engine_status(model, 2, &error) == SPRUNG_OK, "the same model builds at oversampling 2");
    SprungAnalysis a;
    sprung_model_analyze(model, PHYS_FS, &a);
    phys_check(!a.stable && a.min_oversampling == 2 && a.stability_margin < 0 && isnan(a.highest_mode_hz),
               "analysis: unstable, margin %.3f, min oversampling %u, highest mode NaN",
               a.stability_margin, a.min_oversampling);
    sprung_model_free(model);

    /* sqrt(k/m)·dt = 9: still 2.25 at oversampling 4. */
    model = single(81.0, 0.0, "rigid.json");
    status = engine_status(model, 1, &error);
    printf("  message: %s\n", error.message);
    phys_check(status == SPRUNG_ERROR_UNSTABLE && strstr(error.message, "not stable even at oversampling 4") &&
                   strstr(error.message, "springs[0] \"stiff\""),
               "a spring too stiff even for oversampling 4 says so and names the spring");
    sprung_model_analyze(model, PHYS_FS, &a);
    phys_check(a.min_oversampling == 0, "analysis: min oversampling 0 (none is stable)");
    sprung_model_free(model);

    /* Asked for oversampling 2 where 4 is needed: sqrt(k/m)·dt = 5 at 48 kHz. */
    model = single(25.0, 0.0, "stiff.json");
    status = engine_status(model, 2, &error);
    printf("  message: %s\n", error.message);
    phys_check(status == SPRUNG_ERROR_UNSTABLE && strstr(error.message, "oversampling 2)") &&
                   strstr(error.message, "use oversampling 4"),
               "at oversampling 2 a model that needs 4 names the engine rate and oversampling 4");
    phys_check(engine_status(model, 4, &error) == SPRUNG_OK, "and builds at oversampling 4");
    sprung_model_free(model);

    /* Just inside and just outside the limit. */
    model = single(1.999 * 1.999, 0.0, "edge.json");
    phys_check(engine_status(model, 1, &error) == SPRUNG_OK, "sqrt(k/m)·dt = 1.999 is accepted");
    sprung_model_free(model);
    model = single(2.001 * 2.001, 0.0, "edge.json");
    phys_check(engine_status(model, 1, &error) == SPRUNG_ERROR_UNSTABLE, "sqrt(k/m)·dt = 2.001 is rejected");
    sprung_model_free(model);
}

static void test_damping(void)
{
    SprungError error;
    /* Damping alone: b = 2.2 with a soft spring. */
    SprungModel *model = single(0.01, 2.2, "mud.json");
    SprungStatus status = engine_status(model, 1, &error);
    printf("  message: %s\n", error.message);
    phys_check(status == SPRUNG_ERROR_UNSTABLE && strstr(error.message, "damping") &&
                   strstr(error.message, "oversampling 2"),
               "b = 2.2: rejected as a damping problem, cured by oversampling 2");
    phys_check(recurrence_grows(0.01, 2.2), "b = 2.2: the recurrence indeed grows");
    sprung_model_free(model);

    /* b < 2 but a + 2b >= 4. */
    model = single(1.0, 1.6, "mud.json");
    status = engine_status(model, 1, &error);
    printf("  message: %s\n", error.message);
    phys_check(status == SPRUNG_ERROR_UNSTABLE && strstr(error.message, "damping"),
               "a = 1, b = 1.6 (a + 2b = 4.2): rejected, damping named");
    phys_check(recurrence_grows(1.0, 1.6), "a = 1, b = 1.6: the recurrence indeed grows");
    sprung_model_free(model);

    model = single(1.0, 1.4, "mud.json");
    phys_check(engine_status(model, 1, &error) == SPRUNG_OK, "a = 1, b = 1.4 (a + 2b = 3.8): accepted");
    phys_check(!recurrence_grows(1.0, 1.4), "a = 1, b = 1.4: the recurrence indeed decays");
    phys_check(sprung_model_check_stability(model, PHYS_FS, 1, &error) == SPRUNG_OK,
               "sprung_model_check_stability agrees");
    sprung_model_free(model);
}

int main(void)
{
    test_chain();
    test_string();
    test_unstable();
    test_damping();
    return phys_exit("test_analysis");
}
