/* Shared by the runner tests: small inline models, engine and runner
 * construction that dies loudly, and check macros. Test programs only. */
#ifndef SPRUNG_RUNNER_TEST_UTIL_H
#define SPRUNG_RUNNER_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sprung/sprung.h"

static int g_failures;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                    \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
            g_failures++;                                                                      \
        }                                                                                      \
    } while (0)

/* One body on a spring, ringing from an initial velocity at about
 * `hz` Hz with about `amplitude` at the output (mass 1 g, k = m·(2π f)²), lightly damped: it sounds without any
 * note, so resets and swaps have something to cut. */
static inline SprungModel *test_model_ringing(double hz, double amplitude)
{
    char json[1024];
    double velocity = amplitude / 1000.0 * 2.0 * M_PI * hz; /* microphone gain 1000 */
    double k = 0.001 * (2.0 * M_PI * hz) * (2.0 * M_PI * hz);
    snprintf(json, sizeof json,
             "{ \"sprung\": 1, \"name\": \"ring-%g\",\n"
             "  \"bodies\": [ {\"id\": \"b\", \"position\": [0, 0, 0], \"mass\": 0.001,"
             " \"velocity\": [0, 0, %.17g]} ],\n"
             "  \"anchors\": [ {\"id\": \"a\", \"position\": [0, 0, 0.1]} ],\n"
             "  \"springs\": [ {\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": %.17g,"
             " \"damping\": 0.00001} ],\n"
             "  \"mallets\": [ {\"id\": \"m\", \"target\": \"b\", \"direction\": [0, 0, 1],"
             " \"strength\": 0.001} ],\n"
             "  \"microphones\": [ {\"id\": \"mic\", \"target\": \"b\", \"axis\": [0, 0, 1],"
             " \"gain\": 1000} ] }\n",
             hz, velocity, k);
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_string(json, "test model", &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "test model does not load: %s\n", error.message);
        exit(2);
    }
    return model;
}

static inline SprungEngine *test_engine(const SprungModel *model, double rate, uint32_t max_block)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = rate;
    config.max_block_frames = max_block;
    SprungEngine *engine = NULL;
    SprungError error = {0};
    if (sprung_engine_new(&config, model, &engine, &error) != SPRUNG_OK) {
        fprintf(stderr, "engine: %s\n", error.message);
        exit(2);
    }
    return engine;
}

static inline SprungRunner *test_runner(SprungRunnerConfig *config, SprungEngine *engine)
{
    SprungRunner *runner = NULL;
    SprungError error = {0};
    if (sprung_runner_new(config, engine, &runner, &error) != SPRUNG_OK) {
        fprintf(stderr, "runner: %s\n", error.message);
        exit(2);
    }
    return runner;
}

/* Renders n frames in blocks of `block` into left/right (may be NULL). */
static inline void test_run(SprungRunner *runner, float *left, float *right, uint32_t n,
                            uint32_t block)
{
    float l[4096], r[4096];
    float *const outs[2] = {l, r};
    for (uint32_t pos = 0; pos < n; pos += block) {
        uint32_t len = n - pos < block ? n - pos : block;
        if (sprung_runner_process(runner, len, NULL, 0, outs, 2, NULL, 0) != SPRUNG_OK) {
            fprintf(stderr, "sprung_runner_process failed\n");
            exit(2);
        }
        if (left)
            memcpy(left + pos, l, len * sizeof(float));
        if (right)
            memcpy(right + pos, r, len * sizeof(float));
    }
}

static inline float test_max_step(const float *x, uint32_t first, uint32_t end)
{
    float worst = 0.0f;
    for (uint32_t i = first + 1; i < end; i++)
        if (fabsf(x[i] - x[i - 1]) > worst)
            worst = fabsf(x[i] - x[i - 1]);
    return worst;
}

static inline float test_peak(const float *x, uint32_t first, uint32_t end)
{
    float peak = 0.0f;
    for (uint32_t i = first; i < end; i++)
        if (fabsf(x[i]) > peak)
            peak = fabsf(x[i]);
    return peak;
}

#endif
