/* Shared helpers of the instrument tests (tests/instrument): load a model
 * from a string, build an engine, render with events, audio inputs and any
 * number of output channels at a chosen block size, and small checks. */
#ifndef SPRUNG_TEST_INSTRUMENT_UTIL_H
#define SPRUNG_TEST_INSTRUMENT_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "model/model.h"
#include "sprung/sprung.h"

#ifndef M_PI
#  define M_PI 3.14159265358979323846
#endif

static int failures;

#define CHECK(cond, ...)                                              \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
            fprintf(stderr, __VA_ARGS__);                             \
            fputc('\n', stderr);                                      \
            failures++;                                               \
        }                                                             \
    } while (0)

static inline SprungModel *load_model(const char *json)
{
    SprungModel *model = NULL;
    SprungError error;
    if (sprung_model_load_string(json, "test.json", &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: cannot load the test model: %s\n", error.message);
        exit(1);
    }
    return model;
}

/* The backend make_engine() builds on (a test may set another). */
static const char *instrument_backend = "cpu";

static inline SprungEngine *make_engine(const SprungModel *model, double rate, uint32_t oversampling,
                                 uint32_t max_block)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = rate;
    config.oversampling = oversampling;
    config.max_block_frames = max_block;
    config.backend = instrument_backend;
    SprungEngine *engine = NULL;
    SprungError error;
    if (sprung_engine_new(&config, model, &engine, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: cannot build the engine on %s: %s\n", instrument_backend,
                error.message);
        exit(1);
    }
    return engine;
}

/* A render: n_channels outputs of n_frames (channel-major in `out`), events
 * with frames relative to the start, inputs (n_inputs channels of n_frames,
 * channel-major, may be NULL), blocks of `block` frames. */
typedef struct Render {
    const SprungEvent *events;
    size_t n_events;
    const float *inputs;
    uint32_t n_inputs;
    uint32_t n_channels;
    size_t n_frames;
    uint32_t block;
} Render;

static inline int render_into(SprungEngine *engine, const Render *r, float *out)
{
    enum { MAX_EVENTS = 256, MAX_CHANNELS = 16 };
    SprungEvent block_events[MAX_EVENTS];
    size_t next = 0;
    for (size_t start = 0; start < r->n_frames; start += r->block) {
        uint32_t n = (uint32_t)(r->n_frames - start < r->block ? r->n_frames - start : r->block);
        uint32_t count = 0;
        while (next < r->n_events && r->events[next].frame < start + n && count < MAX_EVENTS) {
            block_events[count] = r->events[next++];
            block_events[count].frame -= (uint32_t)start;
            count++;
        }
        float *outputs[MAX_CHANNELS];
        const float *inputs[MAX_CHANNELS];
        for (uint32_t ch = 0; ch < r->n_channels; ch++)
            outputs[ch] = out + ch * r->n_frames + start;
        for (uint32_t ch = 0; ch < r->n_inputs; ch++)
            inputs[ch] = r->inputs + ch * r->n_frames + start;
        SprungBlock block = {.n_frames = n, .events = block_events, .n_events = count,
                             .outputs = outputs, .n_outputs = r->n_channels,
                             .inputs = r->n_inputs ? inputs : NULL, .n_inputs = r->n_inputs};
        if (sprung_engine_process(engine, &block) != SPRUNG_OK)
            return 0;
    }
    return 1;
}

/* Renders with a fresh engine; returns a malloc'd n_channels × n_frames array. */
static inline float *render_model(const SprungModel *model, double rate, uint32_t oversampling,
                           const Render *r)
{
    SprungEngine *engine = make_engine(model, rate, oversampling, r->block);
    float *out = calloc((size_t)r->n_channels * r->n_frames, sizeof *out);
    if (!out || !render_into(engine, r, out)) {
        fprintf(stderr, "FAIL: render failed\n");
        exit(1);
    }
    sprung_engine_free(engine);
    return out;
}

static inline SprungEvent note_on(uint32_t frame, uint8_t note, uint8_t velocity)
{
    SprungEvent e = {.frame = frame, .type = SPRUNG_EVENT_NOTE_ON, .note = note,
                     .velocity = velocity};
    return e;
}

static inline SprungEvent note_off(uint32_t frame, uint8_t note)
{
    SprungEvent e = {.frame = frame, .type = SPRUNG_EVENT_NOTE_OFF, .note = note};
    return e;
}

static inline double rms(const float *x, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)x[i] * x[i];
    return n ? sqrt(sum / n) : 0.0;
}

static inline double peak(const float *x, size_t n)
{
    double best = 0.0;
    for (size_t i = 0; i < n; i++)
        best = fmax(best, fabs(x[i]));
    return best;
}

/* Frequency of the strongest component in [lo, hi] Hz by a fine DFT scan
 * with a Hann window (direct sums: the signals are short). */
static inline double dominant_frequency(const float *x, size_t n, double rate, double lo, double hi)
{
    double best_f = 0.0, best_power = -1.0;
    for (int pass = 0; pass < 3; pass++) {
        double step = (hi - lo) / 200.0;
        for (double f = lo; f <= hi; f += step) {
            double re = 0.0, im = 0.0;
            for (size_t i = 0; i < n; i++) {
                double w = 0.5 - 0.5 * cos(2.0 * M_PI * i / (n - 1));
                re += w * x[i] * cos(2.0 * M_PI * f * i / rate);
                im -= w * x[i] * sin(2.0 * M_PI * f * i / rate);
            }
            double power = re * re + im * im;
            if (power > best_power) {
                best_power = power;
                best_f = f;
            }
        }
        double width = 2.0 * (hi - lo) / 200.0;
        lo = best_f - width;
        hi = best_f + width;
        best_power = -1.0;
    }
    return best_f;
}

static inline int finish(const char *name)
{
    if (failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

#endif
