/* Helpers shared by the engine tests: models from JSON written with single
 * quotes, engines, and a renderer that feeds a whole event list through
 * process() in blocks of a chosen size. Test code only. */
#ifndef SPRUNG_TEST_ENGINE_UTIL_H
#define SPRUNG_TEST_ENGINE_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "sprung/sprung.h"

static int test_failures;

#define CHECK(cond, ...)                                              \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);      \
            fprintf(stderr, __VA_ARGS__);                             \
            fprintf(stderr, "\n");                                    \
            test_failures++;                                          \
        }                                                             \
    } while (0)

static inline void *test_alloc(size_t bytes)
{
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* Single quotes become double quotes, so JSON reads well in C strings. */
static inline SprungModel *test_model(const char *text)
{
    char *json = test_alloc(strlen(text) + 1);
    for (size_t i = 0; text[i]; i++)
        json[i] = text[i] == '\'' ? '"' : text[i];
    SprungModel *model = NULL;
    SprungError error = {0};
    SprungStatus status = sprung_model_load_string(json, "test-model", &model, &error);
    free(json);
    if (status != SPRUNG_OK) {
        fprintf(stderr, "FAIL: test model does not load: %s\n", error.message);
        exit(1);
    }
    return model;
}

static inline SprungEngine *test_engine(const SprungModel *model, double sample_rate,
                                        uint32_t max_block, uint32_t oversampling)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = sample_rate;
    config.max_block_frames = max_block;
    config.oversampling = oversampling;
    /* The engine's own logic (events, pulses, filters) is checked on the
     * reference backend; the fast backends have conformance tests. */
    config.backend = "cpu";
    SprungEngine *engine = NULL;
    SprungError error = {0};
    if (sprung_engine_new(&config, model, &engine, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: engine does not build: %s\n", error.message);
        exit(1);
    }
    return engine;
}

/* Renders `total` frames in blocks of `block` frames. `events` carry
 * absolute frames (sorted); each goes into the block that holds its frame,
 * with its offset in that block. With `at_block_start` set, events are
 * moved to the start of their block instead: the bug a block-size test must
 * catch (the sabotage switch). Returns 0 if any process() call failed. */
static inline int test_render(SprungEngine *engine, const SprungEvent *events, uint32_t n_events,
                              uint32_t total, uint32_t block, float *left, float *right,
                              int at_block_start)
{
    SprungEvent *local = test_alloc((n_events + 1) * sizeof *local);
    uint32_t e = 0;
    for (uint32_t start = 0; start < total; start += block) {
        uint32_t n = total - start < block ? total - start : block;
        uint32_t count = 0;
        while (e < n_events && events[e].frame < start + n) {
            local[count] = events[e++];
            local[count].frame = at_block_start ? 0 : local[count].frame - start;
            count++;
        }
        float *outputs[2] = {left + start, right + start};
        SprungBlock b = {.n_frames = n, .events = local, .n_events = count,
                         .outputs = outputs, .n_outputs = 2};
        if (sprung_engine_process(engine, &b) != SPRUNG_OK) {
            free(local);
            return 0;
        }
    }
    free(local);
    return 1;
}

static inline SprungEvent test_note_on(uint32_t frame, uint8_t note, uint8_t velocity)
{
    SprungEvent event = {.frame = frame, .type = SPRUNG_EVENT_NOTE_ON, .channel = 0,
                         .note = note, .velocity = velocity};
    return event;
}

static inline SprungEvent test_note_off(uint32_t frame, uint8_t note)
{
    SprungEvent event = {.frame = frame, .type = SPRUNG_EVENT_NOTE_OFF, .channel = 0,
                         .note = note, .velocity = 0};
    return event;
}

static inline double test_peak(const float *x, size_t n)
{
    double peak = 0.0;
    for (size_t i = 0; i < n; i++)
        peak = fmax(peak, fabs((double)x[i]));
    return peak;
}

/* A small network with everything in it: a damped chain of three bodies
 * between two anchors (one spring pre-stressed, one of rest length 0), drag,
 * an initial velocity, three mallets with different note ranges and pulse
 * lengths, and three microphones (position and velocity, panned). */
static const char *const test_network_json =
    "{'sprung': 1, 'name': 'engine-test',"
    " 'bodies': ["
    "  {'id': 'b1', 'position': [0.1, 0, 0], 'mass': 0.01, 'drag': 0.001},"
    "  {'id': 'b2', 'position': [0.2, 0.01, 0], 'mass': 0.015, 'velocity': [0, 0.01, 0]},"
    "  {'id': 'b3', 'position': [0.3, 0, 0.02], 'mass': 0.012}],"
    " 'anchors': [{'id': 'a1', 'position': [0, 0, 0]}, {'id': 'a2', 'position': [0.4, 0, 0]}],"
    " 'springs': ["
    "  {'id': 's1', 'from': 'a1', 'to': 'b1', 'stiffness': 4000, 'damping': 0.02},"
    "  {'id': 's2', 'from': 'b1', 'to': 'b2', 'stiffness': 3000, 'damping': 0.01,"
    "   'rest_length': 0.09},"
    "  {'id': 's3', 'from': 'b2', 'to': 'b3', 'stiffness': 5000},"
    "  {'id': 's4', 'from': 'b3', 'to': 'a2', 'stiffness': 2000, 'rest_length': 0},"
    "  {'id': 's5', 'from': 'a1', 'to': 'b2', 'stiffness': 500, 'damping': 0.005}],"
    " 'mallets': ["
    "  {'id': 'm1', 'target': 'b1', 'direction': [0, 1, 0], 'strength': 0.002},"
    "  {'id': 'm2', 'target': 'b2', 'direction': [1, 1, 1], 'strength': 0.003,"
    "   'duration_ms': 5, 'notes': [60, 72]},"
    "  {'id': 'm3', 'target': 'b3', 'direction': [0, 0, -1], 'strength': 0.001,"
    "   'duration_ms': 0.01, 'notes': [48, 59]}],"
    " 'microphones': ["
    "  {'id': 'mic1', 'target': 'b1', 'axis': [0, 1, 0], 'pan': -0.5},"
    "  {'id': 'mic2', 'target': 'b2', 'axis': [1, 1, 0], 'signal': 'velocity', 'gain': 0.01,"
    "   'pan': 0.7},"
    "  {'id': 'mic3', 'target': 'b3', 'axis': [0, 0, 1], 'gain': 2}]}";

/* Events at odd frames, two at one frame, re-strikes faster than the 5 ms
 * pulse of m2 (more than its 4 pulse slots), note-offs and a velocity-0
 * note-on, crossing every block boundary of the sizes tested. */
static inline uint32_t test_network_events(SprungEvent *events)
{
    uint32_t n = 0;
    events[n++] = test_note_on(3, 64, 100);
    events[n++] = test_note_on(1001, 50, 90);
    events[n++] = test_note_on(1001, 40, 127);
    events[n++] = test_note_off(1500, 64);
    events[n++] = test_note_on(2049, 66, 70);
    events[n++] = test_note_on(4095, 30, 127);
    events[n++] = test_note_on(4097, 70, 20);
    events[n++] = test_note_on(7777, 64, 0);
    for (uint32_t k = 0; k < 6; k++)
        events[n++] = test_note_on(9001 + 37 * k, 61, (uint8_t)(40 + 10 * k));
    events[n++] = test_note_on(12287, 55, 127);
    events[n++] = test_note_on(12288, 35, 60);
    events[n++] = test_note_on(16383, 64, 127);
    return n;
}

#endif
