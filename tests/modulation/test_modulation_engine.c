/* Modulation through the engine and the runner (singleton mode):
 *   trigger   an LFO at 2 Hz through a Note Trigger renders bit-identically
 *             to the same preset played by note-ons at frames 0, 24000, ...
 *             (so exactly 2 strikes per second at the predicted frames)
 *   blocks    a modulated preset (LFO on a stiffness, envelope on a gain,
 *             a moving anchor, MIDI CC and pitch bend, triggers) renders
 *             the same for block sizes 1, 7, 64, 512, 4096
 *   follower  an envelope follower on an input channel fires on a loud
 *             burst and not on a quiet one
 *   breaker   a macro driving the stiffness unstable is caught by the
 *             runner's breaker: no non-finite sample, none above the
 *             threshold, then recovery
 *   applied   routes applied only when their values change, where that is
 *             safe: a moved anchor comes to rest, a microphone's gain
 *             holds while another route pans it
 * Usage: test_modulation_engine [trigger|blocks|follower|breaker|applied] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "sprung/sprung.h"

#include "rt_section.h"

#define PI 3.14159265358979323846
#define RATE 48000.0

/* One body on a spring to an anchor, tuned to `hz` at the engine rate's
 * discrete map (so the root sounds exactly at hz), struck by a mallet. */
static char *preset(double hz, const char *extra)
{
    double dt = 1.0 / RATE, mass = 0.001;
    double lambda = pow(2.0 * sin(PI * hz * dt) / dt, 2);
    static char json[8192];
    snprintf(json, sizeof json,
             "{ \"sprung\": 1, \"name\": \"voice-test\",\n"
             "  \"bodies\": [ {\"id\": \"b\", \"position\": [0, 0, 0], \"mass\": %.17g} ],\n"
             "  \"anchors\": [ {\"id\": \"a\", \"position\": [0, 0, 0.1]} ],\n"
             "  \"springs\": [ {\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": %.17g"
             "} ],\n"
             "  \"mallets\": [ {\"id\": \"m\", \"target\": \"b\", \"direction\": [0, 0, 1],"
             " \"strength\": 0.001} ],\n"
             "  \"microphones\": [ {\"id\": \"mic\", \"target\": \"b\", \"axis\": [0, 0, 1],"
             " \"gain\": 1000} ]%s }\n",
             mass, lambda * mass, extra);
    return json;
}

static SprungEngine *make_engine(const char *json, uint32_t max_block, SprungError *error)
{
    SprungModel *model = NULL;
    SprungError local;
    if (!error)
        error = &local;
    CHECK(sprung_model_load_string(json, "voice-test", &model, error) == SPRUNG_OK, "%s",
          error->message);
    SprungEngineConfig config = sprung_engine_config_default();
    config.max_block_frames = max_block;
    config.backend = "cpu";
    SprungEngine *engine = NULL;
    SprungStatus status = sprung_engine_new(&config, model, &engine, error);
    sprung_model_free(model);
    return status == SPRUNG_OK ? engine : NULL;
}

enum { N = 3 * 48000 };
static float left_a[N], right_a[N], left_b[N], right_b[N];

static void test_trigger(void)
{
    SprungEngine *triggered = make_engine(
        preset(440, ",\n \"sources\": [{\"id\": \"clock\", \"type\": \"lfo\", \"shape\": "
                    "\"square\", \"rate_hz\": 2}],\n \"routes\": [{\"source\": \"clock\", "
                    "\"note_trigger\": {\"note\": 60, \"velocity\": 100}}]"),
        4096, NULL);
    SprungEngine *played = make_engine(
        preset(440, ",\n \"sources\": [{\"id\": \"k\", \"type\": \"constant\", \"value\": 0}]"),
        4096, NULL);
    SprungEvent notes[12];
    for (int k = 0; k < 6; ++k) {
        notes[2 * k] = (SprungEvent){.frame = 24000u * k, .type = SPRUNG_EVENT_NOTE_ON,
                                     .note = 60, .velocity = 100};
        notes[2 * k + 1] = (SprungEvent){.frame = 24000u * k + 12000,
                                         .type = SPRUNG_EVENT_NOTE_OFF, .note = 60};
    }
    rt_render(triggered, NULL, 0, N, 512, left_a, right_a);
    rt_render(played, notes, 12, N, 512, left_b, right_b);
    CHECK(!memcmp(left_a, left_b, sizeof left_a), "trigger render differs from the played one");
    CHECK(left_a[0] != 0.0f, "no strike at frame 0");
    sprung_engine_free(triggered);
    sprung_engine_free(played);
    printf("trigger: ok (strikes at 0, 24000, 48000, ... bit-identical to note-ons)\n");
}


static const char *modulated_extra =
    ",\n \"sources\": [{\"id\": \"env\", \"type\": \"envelope\", \"attack_ms\": 2, "
    "\"release_ms\": 50},\n {\"id\": \"wob\", \"type\": \"lfo\", \"rate_hz\": 3},\n"
    " {\"id\": \"sh\", \"type\": \"lfo\", \"shape\": \"sample_and_hold\", \"rate_hz\": 7},\n"
    " {\"id\": \"wheel\", \"type\": \"midi\", \"control\": \"cc\", \"number\": 1},\n"
    " {\"id\": \"bend\", \"type\": \"midi\", \"control\": \"pitch_bend\"},\n"
    " {\"id\": \"clock\", \"type\": \"lfo\", \"shape\": \"square\", \"rate_hz\": 5.3}],\n"
    " \"routes\": [{\"source\": \"env\", \"target\": \"mic\", \"parameter\": \"gain\", "
    "\"range\": [0, 1000]},\n {\"source\": \"wob\", \"target\": \"s\", \"parameter\": "
    "\"stiffness\", \"range\": [3000, 12000], \"curve\": \"exponential\", \"offset\": 0.5, "
    "\"amount\": 0.5},\n {\"source\": \"sh\", \"target\": \"a\", \"parameter\": \"x\", "
    "\"range\": [-0.001, 0.001], \"offset\": 0.5, \"amount\": 0.5},\n"
    " {\"source\": \"wheel\", \"target\": \"s\", \"parameter\": \"damping\", "
    "\"range\": [0, 0.001]},\n {\"source\": \"bend\", \"target\": \"mic\", "
    "\"parameter\": \"pan\", \"range\": [-1, 1], \"offset\": 0.5, \"amount\": 0.5},\n"
    " {\"source\": \"clock\", \"note_trigger\": {\"note\": 61, \"velocity\": 80}}]";

static void test_blocks(void)
{
    static const uint32_t sizes[] = {1, 7, 64, 512, 4096};
    SprungEvent events[] = {
        {.frame = 10, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 100},
        {.frame = 3000, .type = SPRUNG_EVENT_CONTROL_CHANGE, .note = 1, .value = 100},
        {.frame = 5001, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 2, .value = 12000},
        {.frame = 9000, .type = SPRUNG_EVENT_NOTE_OFF, .note = 60},
        {.frame = 9500, .type = SPRUNG_EVENT_NOTE_ON, .channel = 3, .note = 72, .velocity = 100},
        {.frame = 15000, .type = SPRUNG_EVENT_CHANNEL_PRESSURE, .channel = 3, .value = 50},
    };
    double energy = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        SprungEngine *engine = make_engine(preset(440, modulated_extra), 4096, NULL);
        rt_render(engine, events, 6, 24000, sizes[s], s ? left_b : left_a, s ? right_b : right_a);
        if (s) {
            CHECK(!memcmp(left_a, left_b, 24000 * sizeof(float)) &&
                      !memcmp(right_a, right_b, 24000 * sizeof(float)),
                  "block size %u differs from 1", sizes[s]);
        }
        sprung_engine_free(engine);
    }
    for (uint32_t k = 0; k < 24000; ++k) {
        CHECK(isfinite(left_a[k]), "non-finite at %u", k);
        energy += (double)left_a[k] * left_a[k] + (double)right_a[k] * right_a[k];
    }
    CHECK(energy > 0, "silent");
    printf("blocks: ok (1, 7, 64, 512, 4096 bit-identical)\n");
}

static void test_follower(void)
{
    SprungEngine *engine = make_engine(
        preset(440, ",\n \"sources\": [{\"id\": \"loud\", \"type\": \"follower\", "
                    "\"input\": 0, \"attack_ms\": 1, \"release_ms\": 20}],\n \"routes\": "
                    "[{\"source\": \"loud\", \"note_trigger\": {\"note\": 60}}]"),
        4096, NULL);
    static float input[48000];
    for (uint32_t k = 0; k < 48000; ++k) {
        double t = k / RATE;
        input[k] = (t >= 0.1 && t < 0.15)   ? (float)(0.2 * sin(2 * PI * 440 * t))
                   : (t >= 0.5 && t < 0.55) ? (float)(0.9 * sin(2 * PI * 440 * t))
                                            : 0.0f;
    }
    for (uint32_t first = 0; first < 48000; first += 480) {
        float *outputs[2] = {left_a + first, right_a + first};
        const float *inputs[1] = {input + first};
        SprungBlock b = {.n_frames = 480, .outputs = outputs, .n_outputs = 2,
                         .inputs = inputs, .n_inputs = 1};
        RT_ENTER();
        SprungStatus status = sprung_engine_process(engine, &b);
        RT_EXIT();
        CHECK(status == SPRUNG_OK, "process");
    }
    double quiet = 0, loud = 0;
    for (uint32_t k = 0; k < 24000; ++k)
        quiet = fmax(quiet, fabs(left_a[k]));
    uint32_t onset = 0;
    for (uint32_t k = 24000; k < 48000 && !onset; ++k)
        if (left_a[k] != 0.0f)
            onset = k;
    for (uint32_t k = 24000; k < 48000; ++k)
        loud = fmax(loud, fabs(left_a[k]));
    uint32_t first_sound = 0;
    for (uint32_t k = 0; k < 24000 && !first_sound; ++k)
        if (left_a[k] != 0.0f)
            first_sound = k + 1;
    CHECK(quiet == 0.0, "the quiet burst struck (peak %g, from frame %u)", quiet,
          first_sound - 1);
    CHECK(loud > 0 && onset >= 24000 && onset < 24000 + 240, "the loud burst: peak %g, onset %u",
          loud, onset);
    sprung_engine_free(engine);
    printf("follower: ok (quiet burst: silence; loud burst: struck at frame %u)\n", onset);
}

static void test_breaker(void)
{
    /* A macro sweeps the stiffness up to far beyond the stability limit. */
    SprungEngine *engine = make_engine(
        preset(440, ",\n \"sources\": [{\"id\": \"m1\", \"type\": \"macro\", \"index\": 1}],\n"
                    " \"routes\": [{\"source\": \"m1\", \"target\": \"s\", \"parameter\": "
                    "\"stiffness\", \"range\": [7643, 1e9], \"curve\": \"exponential\", "
                    "\"smoothing_ms\": 1}]"),
        512, NULL);
    SprungRunnerConfig config = sprung_runner_config_default();
    config.max_block_frames = 512;
    SprungRunner *runner = NULL;
    SprungError error;
    CHECK(sprung_runner_new(&config, engine, &runner, &error) == SPRUNG_OK, "%s",
          error.message);
    float threshold = (float)pow(10.0, config.breaker_threshold_db / 20.0);
    SprungEvent strike = {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 127};
    float out_l[512], out_r[512];
    float *outputs[2] = {out_l, out_r};
    int bad = 0;
    for (uint32_t block = 0; block < 400; ++block) {
        if (block == 10)
            sprung_runner_set_macro(runner, 0, 1.0);
        if (block == 100)
            sprung_runner_set_macro(runner, 0, 0.0);
        RT_ENTER();
        sprung_runner_process(runner, 512, NULL, 0, outputs, 2, block % 50 == 0 ? &strike : NULL,
                              block % 50 == 0);
        RT_EXIT();
        for (int k = 0; k < 512; ++k)
            bad |= !isfinite(out_l[k]) || fabsf(out_l[k]) > threshold;
    }
    SprungRunnerStats stats;
    sprung_runner_poll(runner, &stats);
    CHECK(!bad, "a non-finite sample or one above the threshold reached the output");
    CHECK(stats.breaker_trips >= 1, "the breaker never tripped");
    double tail = 0;
    for (int k = 0; k < 512; ++k)
        tail = fmax(tail, fabs(out_l[k]));
    CHECK(tail > 0 && tail < threshold, "no recovery: last block peak %g", tail);
    sprung_runner_free(runner);
    printf("breaker: ok (%llu trips, recovered)\n", (unsigned long long)stats.breaker_trips);
}

/* Routes applied through the engine only when their values change
 * (engine_modulation.c, sprung_modulation_changed_routes), where that is
 * safe: an anchor moved by a controller with no smoothing moves with a
 * velocity in its frame and then rests (velocity exactly 0: its route is
 * applied every frame, though its value no longer changes); a microphone's
 * gain set by the same controller holds while an LFO pans it (the pan
 * route writes the gains from both). */
static void test_applied(void)
{
    SprungEngine *engine = make_engine(
        preset(440, ",\n \"sources\": [{\"id\": \"wheel\", \"type\": \"midi\", \"control\": "
                    "\"cc\", \"number\": 1},\n {\"id\": \"wob\", \"type\": \"lfo\", "
                    "\"rate_hz\": 30}],\n \"routes\": [{\"source\": \"wheel\", \"target\": \"a\", "
                    "\"parameter\": \"z\", \"range\": [0.1, 0.11], \"smoothing_ms\": 0},\n"
                    " {\"source\": \"wheel\", \"target\": \"mic\", \"parameter\": \"gain\", "
                    "\"range\": [500, 1000], \"smoothing_ms\": 0},\n {\"source\": \"wob\", "
                    "\"target\": \"mic\", \"parameter\": \"pan\", \"range\": [-1, 1]}]"),
        64, NULL);
    const SprungCompiled *c = sprung_engine_compiled(engine);
    uint32_t anchor = c->n_bodies;
    enum { MOVE_AT = 100, FRAMES = 3000 };
    double widest = 0.0;
    for (uint32_t f = 0; f < FRAMES; ++f) {
        SprungEvent wheel = {.frame = 0, .type = SPRUNG_EVENT_CONTROL_CHANGE, .note = 1,
                             .value = 127};
        float left, right;
        float *outputs[2] = {&left, &right};
        SprungBlock b = {.n_frames = 1, .events = &wheel, .n_events = f == MOVE_AT,
                         .outputs = outputs, .n_outputs = 2};
        RT_ENTER();
        SprungStatus status = sprung_engine_process(engine, &b);
        RT_EXIT();
        CHECK(status == SPRUNG_OK, "process");
        float vz = sprung_engine_state(engine)->vz[anchor];
        CHECK(f == MOVE_AT ? fabsf(vz - 0.01f * 48000.0f) < 1.0f : vz == 0.0f,
              "frame %u: the anchor's velocity %g", f, vz);
        double gain = f < MOVE_AT ? 500.0 : 1000.0;
        double l = c->mic_gain_left[0], r = c->mic_gain_right[0];
        CHECK(c->mic_gain[0] == (float)gain && fabs(hypot(l, r) - gain) < 1e-4 * gain,
              "frame %u: gain %g, panned %g and %g, not %g", f, c->mic_gain[0], l, r, gain);
        widest = fmax(widest, fabs(l - r) / gain);
    }
    CHECK(widest > 0.99, "the pan never reached a side (%g)", widest);
    sprung_engine_free(engine);
    printf("applied: ok (the anchor rests after its move; the gain holds while panned)\n");
}

int main(int argc, char **argv)
{
    RT_INIT();
    const char *which = argc > 1 ? argv[1] : "all";
    int all = !strcmp(which, "all");
    if (all || !strcmp(which, "trigger"))
        test_trigger();
    if (all || !strcmp(which, "blocks"))
        test_blocks();
    if (all || !strcmp(which, "follower"))
        test_follower();
    if (all || !strcmp(which, "breaker"))
        test_breaker();
    if (all || !strcmp(which, "applied"))
        test_applied();
    return 0;
}
