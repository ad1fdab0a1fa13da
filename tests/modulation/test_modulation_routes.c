/* The instrument sections of a preset (src/model/model_modulation.c): every
 * bad-preset case has its own clear message naming the JSON path; and the
 * modulation runtime (src/engine/modulation.c): Note Trigger routes fire at
 * the predicted frames, routes are smoothed (no zipper), macros, per-voice
 * envelopes, and the routes each frame reports changed. Runs the
 * audio-thread calls inside a RealtimeSanitizer section when built with it.
 *
 * Usage: test_modulation_routes [errors|runtime|changes] */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/modulation.h"
#include "model/model.h"
#include "model/model_modulation.h"
#include "rt_section.h"

/* A tiny model: body "b", anchor "a", spring "s", mallet "m", mic "mic". */
static SprungModelBody bodies[1] = {{.id = "b", .mass = 0.01}};
static SprungModelAnchor anchors[1] = {{.id = "a"}};
static SprungModelSpring springs[1] = {{.id = "s", .stiffness = 1000}};
static SprungModelMallet mallets[1] = {{.id = "m", .strength = 0.01}};
static SprungModelMicrophone mics[1] = {{.id = "mic", .gain = 1}};

static SprungModel make_model(void)
{
    SprungModel model;
    memset(&model, 0, sizeof model);
    model.source = "test.json";
    model.n_bodies = 1;
    model.bodies = bodies;
    model.n_anchors = 1;
    model.anchors = anchors;
    model.n_springs = 1;
    model.springs = springs;
    model.n_mallets = 1;
    model.mallets = mallets;
    model.n_microphones = 1;
    model.microphones = mics;
    return model;
}

static SprungStatus parse(const char *text, SprungModelInstrument **out, SprungError *error)
{
    json_error_t json_error;
    json_t *root = json_loads(text, JSON_DECODE_ANY, &json_error);
    CHECK(root, "test JSON invalid: %s: %s", json_error.text, text);
    SprungModel model = make_model();
    memset(error, 0, sizeof *error);
    SprungStatus status = sprung_model_instrument_parse(root, &model, out, error);
    json_decref(root);
    return status;
}

static void expect_error(const char *text, const char *message)
{
    SprungModelInstrument *instrument = NULL;
    SprungError error;
    SprungStatus status = parse(text, &instrument, &error);
    CHECK(status == SPRUNG_ERROR_INVALID_MODEL, "accepted: %s", text);
    CHECK(strstr(error.message, message), "message\n  %s\nlacks\n  %s", error.message, message);
    CHECK(!instrument, "instrument returned on error");
}

/* The whole message, to show what it must not say as well. */
static void expect_whole_error(const char *text, const char *message)
{
    SprungModelInstrument *instrument = NULL;
    SprungError error;
    SprungStatus status = parse(text, &instrument, &error);
    CHECK(status == SPRUNG_ERROR_INVALID_MODEL, "accepted: %s", text);
    CHECK(!strcmp(error.message, message), "message\n  %s\nis not\n  %s", error.message, message);
    CHECK(!instrument, "instrument returned on error");
}

static void test_errors(void)
{
    static const struct {
        const char *json, *message;
    } cases[] = {
        {"{\"voices\": {\"root\": 60}}", "test.json: voices: missing field \"count\""},
        {"{\"voices\": {\"count\": 33}}", "voices.count: expected a voice count 1..32, got 33"},
        {"{\"voices\": {\"count\": 4, \"notes\": [80, 40]}}",
         "voices.notes: low note 80 is above high note 40"},
        {"{\"voices\": {\"count\": 4, \"root\": 20, \"notes\": [40, 80]}}",
         "voices.root: root 20 is below the lowest playable note 40"},
        {"{\"voices\": {\"count\": 4, \"rot\": 60}}",
         "voices: unknown field \"rot\" (did you mean \"root\"?)"},
        {"{\"tempo\": 0}", "tempo: must be between 1 and 999 beats per minute, got 0"},
        {"{\"mpe\": {\"lower\": 10, \"upper\": 10}}",
         "mpe: a lower zone of 10 and an upper zone of 10 member channels overlap"},
        {"{\"sources\": [{\"id\": \"b\", \"type\": \"lfo\"}]}",
         "sources[0].id: duplicate id \"b\" (already used by a body)"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"lfo\"}, {\"id\": \"x\", \"type\": \"lfo\"}]}",
         "sources[1].id: duplicate id \"x\" (already used by a modulation source)"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"wobble\"}]}",
         "sources[0].type: unknown source type \"wobble\""},
        {"{\"sources\": [{\"id\": \"x\"}]}", "sources[0]: missing field \"type\""},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"lfo\", \"shape\": \"sawtooth\"}]}",
         "sources[0].shape: unknown LFO shape \"sawtooth\""},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"lfo\", \"phase\": 1}]}",
         "sources[0].phase: must be in [0, 1)"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"lfo\", \"rate_hz\": 2, \"sync_beats\": 1}]}",
         "sources[0]: give \"rate_hz\" or \"sync_beats\", not both"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"lfo\", \"attack_ms\": 2}]}",
         "sources[0]: unknown field \"attack_ms\""},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"envelope\", \"sustain\": 2}]}",
         "sources[0].sustain: must be between 0 and 1, got 2"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"follower\", \"microphone\": \"s\"}]}",
         "sources[0].microphone: \"s\" is a spring; a follower follows a microphone"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"follower\", \"input\": 0, "
         "\"microphone\": \"mic\"}]}",
         "a follower follows either an \"input\" or a \"microphone\", not both"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"midi\"}]}",
         "sources[0]: missing field \"control\""},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"midi\", \"control\": \"cc\"}]}",
         "sources[0]: missing field \"number\""},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"midi\", \"control\": \"key\", "
         "\"number\": 3}]}",
         "\"number\" belongs to \"cc\" sources only"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"midi\", \"control\": \"wheel\"}]}",
         "sources[0].control: unknown MIDI control \"wheel\""},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"macro\", \"index\": 9}]}",
         "sources[0].index: expected a macro number 1..8, got 9"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\"}]}",
         "sources[0]: missing field \"value\""},
        {"{\"routes\": [{\"target\": \"s\"}]}", "routes[0]: missing field \"source\""},
        {"{\"routes\": [{\"source\": \"s\"}]}",
         "routes[0].source: \"s\" is a spring, not a modulation source"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"target\": \"nope\", \"parameter\": \"mass\"}]}",
         "routes[0].target: unknown id \"nope\""},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"target\": \"s\", \"parameter\": \"mass\","
         " \"range\": [1, 2]}]}",
         "routes[0].parameter: a spring has no parameter \"mass\" that can be modulated (one of "
         "\"stiffness\", \"damping\", \"rest_length\")"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"target\": \"s\", \"parameter\": \"stiffness\"}]}",
         "routes[0]: missing field \"range\""},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"target\": \"s\", \"parameter\": \"stiffness\","
         " \"range\": [0, 1e39]}]}",
         "routes[0].range[1]: 1e+39 is beyond the engine's float32 range"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"target\": \"b\", \"parameter\": \"mass\","
         " \"range\": [0, 1]}]}",
         "routes[0].range: a mass must stay greater than 0, got 0"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"target\": \"s\", \"parameter\": \"stiffness\","
         " \"range\": [-1, 1]}]}",
         "routes[0].range: stiffness must stay at or above 0, got -1"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"target\": \"s\", \"parameter\": \"stiffness\","
         " \"range\": [0, 1000], \"curve\": \"exponential\"}]}",
         "routes[0].range: an exponential curve needs a range of two nonzero values of the same "
         "sign, got [0, 1000]"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"target\": \"s\", \"parameter\": \"stiffness\","
         " \"range\": [1, 1000], \"curve\": \"log\"}]}",
         "routes[0].curve: unknown curve \"log\""},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"target\": \"s\", \"parameter\": \"stiffness\","
         " \"range\": [1, 2]}, {\"source\": \"x\", \"target\": \"s\", \"parameter\": "
         "\"stiffness\", \"range\": [1, 3]}]}",
         "routes[1]: \"stiffness\" of \"s\" is already modulated by routes[0]"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"target\": \"mic\", \"parameter\": \"pan\","
         " \"range\": [-2, 1]}]}",
         "routes[0].range: a pan must stay in [-1, 1], got -2"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"note_trigger\": {\"velocity\": 3}}]}",
         "routes[0].note_trigger: missing field \"note\""},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"note_trigger\": {\"note\": 60}, \"target\": \"s\"}]}",
         "routes[0]: a route has either a \"target\" and \"parameter\" or a \"note_trigger\""},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"note_trigger\": {\"note\": 60}, \"range\": [0, 1]}]}",
         "routes[0]: \"range\" does not apply to a note trigger"},
        {"{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
         " \"routes\": [{\"source\": \"x\", \"note_trigger\": {\"note\": 60, \"channel\": 17}}]}",
         "routes[0].note_trigger.channel: expected a MIDI channel 1..16, got 17"},
        {"{\"routes\": {}}", "routes: expected an array, got an object"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k)
        expect_error(cases[k].json, cases[k].message);

    /* The objects' rules (src/model/model_json.c): a suggestion only for a
     * slip of at most a third of the word, so "ty" is not taken for "id";
     * numbers written exactly, never rounded onto the bound they break. */
    expect_whole_error("{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1, "
                       "\"ty\": 2}]}",
                       "test.json: sources[0]: unknown field \"ty\"");
    expect_whole_error("{\"voices\": {\"count\": 4, \"steal_fade_ms\": 100.00000000000001}}",
                       "test.json: voices.steal_fade_ms: must be between 0.1 and 100 ms, got "
                       "100.00000000000001");
    expect_whole_error("{\"sources\": [{\"id\": \"x\", \"type\": \"constant\", \"value\": 1}],"
                       " \"routes\": [{\"source\": \"x\", \"target\": \"mic\", \"parameter\": "
                       "\"pan\", \"range\": [-1, 1.0000000000000002]}]}",
                       "test.json: routes[0].range: a pan must stay in [-1, 1], got "
                       "1.0000000000000002");

    /* A good one: parsed, saved, parsed again to the same values. */
    const char *good =
        "{\"tempo\": 90, \"voices\": {\"count\": 8, \"root\": 57, \"notes\": [36, 96]},"
        " \"mpe\": {\"lower\": 15},"
        " \"sources\": [{\"id\": \"lfo\", \"type\": \"lfo\", \"shape\": \"triangle\","
        " \"sync_beats\": 0.5, \"retrigger\": true},"
        " {\"id\": \"env\", \"type\": \"envelope\", \"attack_ms\": 2, \"sustain\": 0.3},"
        " {\"id\": \"wheel\", \"type\": \"midi\", \"control\": \"cc\", \"number\": 1}],"
        " \"routes\": [{\"source\": \"lfo\", \"target\": \"s\", \"parameter\": \"stiffness\","
        " \"range\": [500, 2000], \"curve\": \"exponential\", \"amount\": 0.5, \"offset\": 0.5},"
        " {\"source\": \"env\", \"note_trigger\": {\"note\": 72, \"channel\": 2}}]}";
    SprungModelInstrument *instrument = NULL;
    SprungError error;
    CHECK(parse(good, &instrument, &error) == SPRUNG_OK, "good preset refused: %s",
          error.message);
    CHECK(instrument->voices == 8 && instrument->root == 57 && instrument->note_low == 36 &&
              instrument->tempo == 90 && instrument->mpe_lower == 15 &&
              instrument->n_sources == 3 && instrument->n_routes == 2,
          "good preset values");
    CHECK(instrument->routes[0].curve == SPRUNG_CURVE_EXPONENTIAL &&
              instrument->routes[1].kind == SPRUNG_ROUTE_NOTE_TRIGGER &&
              instrument->routes[1].channel == 2 && instrument->routes[1].velocity == 100,
          "route values");
    json_t *saved = json_object();
    CHECK(sprung_model_instrument_save(instrument, saved) == 0, "save");
    char *text = json_dumps(saved, JSON_COMPACT | JSON_PRESERVE_ORDER);
    SprungModelInstrument *again = NULL;
    CHECK(parse(text, &again, &error) == SPRUNG_OK, "saved text refused: %s", error.message);
    CHECK(again->voices == 8 && again->n_routes == 2 && again->routes[0].lo == 500 &&
              again->sources[0].sync_beats == 0.5 && again->has_tempo,
          "round trip");
    free(text);
    json_decref(saved);
    sprung_model_instrument_free(again);
    sprung_model_instrument_free(instrument);
    /* No instrument keys: no instrument. */
    CHECK(parse("{\"name\": \"x\"}", &instrument, &error) == SPRUNG_OK && !instrument,
          "plain preset has no instrument");
    printf("errors: ok (%zu bad presets)\n", sizeof cases / sizeof cases[0]);
}

static SprungModulation *make_runtime(const char *json, uint32_t voices,
                                      SprungModelInstrument **spec_out)
{
    SprungError error;
    CHECK(parse(json, spec_out, &error) == SPRUNG_OK, "refused: %s", error.message);
    SprungModulation *modulation = NULL;
    CHECK(sprung_modulation_new(*spec_out, voices, 48000.0, "test", &modulation, &error) ==
              SPRUNG_OK,
          "new");
    return modulation;
}

static void test_runtime(void)
{
    enum { FRAMES = 3 * 48000 };
    static double values[FRAMES];
    SprungTriggerEvent triggers[16];
    SprungModelInstrument *spec;

    /* An LFO at 2 Hz through a Note Trigger: note-ons at 0, 24000, 48000,
     * ... (exactly 2 per second), note-offs half a cycle later. */
    SprungModulation *m = make_runtime(
        "{\"sources\": [{\"id\": \"clock\", \"type\": \"lfo\", \"shape\": \"square\", "
        "\"rate_hz\": 2}],"
        " \"routes\": [{\"source\": \"clock\", \"note_trigger\": {\"note\": 64, "
        "\"velocity\": 90, \"channel\": 3}}]}",
        1, &spec);
    CHECK(sprung_modulation_max_triggers(m) == 1, "max triggers");
    uint32_t onsets[8], n_on = 0, n_off = 0;
    int wrong = 0;
    RT_ENTER();
    for (uint32_t f = 0; f < FRAMES; ++f) {
        uint32_t n = sprung_modulation_frame(m, NULL, triggers);
        for (uint32_t k = 0; k < n; ++k) {
            if (triggers[k].on && n_on < 8)
                onsets[n_on++] = f;
            else if (!triggers[k].on && f != 24000 * n_off + 12000)
                wrong = 1;
            n_off += !triggers[k].on;
            wrong |= triggers[k].note != 64 || triggers[k].velocity != 90 ||
                     triggers[k].channel != 2;
        }
    }
    RT_EXIT();
    CHECK(!wrong, "a trigger at the wrong frame or with the wrong note");
    CHECK(n_on == 6 && n_off == 6, "%u onsets, %u releases in 3 s", n_on, n_off);
    for (uint32_t k = 0; k < n_on; ++k)
        CHECK(onsets[k] == 24000 * k, "onset %u at frame %u", k, onsets[k]);
    sprung_modulation_free(m);
    sprung_model_instrument_free(spec);

    /* A macro stepping 0 → 1 reaches the stiffness through a 5 ms one-pole
     * in the exponential domain: no step larger than the smoother allows,
     * and it settles exactly at the top of the range. */
    m = make_runtime(
        "{\"sources\": [{\"id\": \"knob\", \"type\": \"macro\", \"index\": 3}],"
        " \"routes\": [{\"source\": \"knob\", \"target\": \"s\", \"parameter\": \"stiffness\","
        " \"range\": [100, 6400], \"curve\": \"exponential\", \"smoothing_ms\": 5}]}",
        1, &spec);
    RT_ENTER();
    for (uint32_t f = 0; f < 14400; ++f) {
        if (f == 100)
            sprung_modulation_set_macro(m, 2, 1.0);
        sprung_modulation_frame(m, NULL, triggers);
        values[f] = sprung_modulation_route_value(m, 0, 0);
    }
    RT_EXIT();
    CHECK(values[99] == 100.0, "before the macro moves: %g", values[99]);
    double a = 1 - exp(-1 / (5e-3 * 48000));
    double largest_ratio = 0;
    for (uint32_t f = 1; f < 14400; ++f) {
        double ratio = log(values[f] / values[f - 1]) / log(64.0); /* step in x */
        if (ratio > largest_ratio)
            largest_ratio = ratio;
    }
    CHECK(largest_ratio <= a + 1e-12, "position step %g > a = %g (zipper)", largest_ratio, a);
    CHECK(fabs(values[100 + 240] / 100.0 - pow(64.0, 1 - exp(-1.0))) < 0.05 * values[340] / 100,
          "one time constant after the step: %g", values[340]);
    CHECK(values[14399] == 6400.0, "settles exactly at the top: %.17g", values[14399]);
    sprung_modulation_free(m);
    sprung_model_instrument_free(spec);

    /* Instanced: an envelope per voice; voice 1's gate leaves voice 0 at 0. */
    m = make_runtime(
        "{\"voices\": {\"count\": 4},"
        " \"sources\": [{\"id\": \"env\", \"type\": \"envelope\", \"attack_ms\": 1, "
        "\"decay_ms\": 0, \"sustain\": 1, \"release_ms\": 10},"
        " {\"id\": \"vel\", \"type\": \"midi\", \"control\": \"velocity\"},"
        " {\"id\": \"wheel\", \"type\": \"midi\", \"control\": \"cc\", \"number\": 1}],"
        " \"routes\": [{\"source\": \"env\", \"target\": \"mic\", \"parameter\": \"gain\","
        " \"range\": [0, 2], \"smoothing_ms\": 0},"
        " {\"source\": \"vel\", \"target\": \"m\", \"parameter\": \"strength\","
        " \"range\": [0, 1], \"smoothing_ms\": 0},"
        " {\"source\": \"wheel\", \"target\": \"s\", \"parameter\": \"damping\","
        " \"range\": [0, 1], \"smoothing_ms\": 0}]}",
        4, &spec);
    CHECK(sprung_modulation_route_per_voice(m, 0) && sprung_modulation_route_per_voice(m, 1) &&
              !sprung_modulation_route_per_voice(m, 2),
          "per-voice routes: envelope and velocity yes, CC no");
    RT_ENTER();
    sprung_modulation_note_on(m, 1, 0, 60, 127);
    sprung_modulation_control_change(m, 5, 1, 127);
    for (uint32_t f = 0; f < 100; ++f)
        sprung_modulation_frame(m, NULL, triggers);
    RT_EXIT();
    CHECK(sprung_modulation_route_value(m, 0, 1) == 2.0 &&
              sprung_modulation_route_value(m, 0, 0) == 0.0,
          "envelope per voice: v1 %g v0 %g", sprung_modulation_route_value(m, 0, 1),
          sprung_modulation_route_value(m, 0, 0));
    CHECK(sprung_modulation_route_value(m, 1, 1) == 1.0 &&
              sprung_modulation_route_value(m, 1, 2) == 0.0,
          "velocity per voice");
    CHECK(sprung_modulation_route_value(m, 2, 3) == 1.0, "CC shared: %g",
          sprung_modulation_route_value(m, 2, 3));
    /* Reset All Controllers on the wheel's channel takes the wheel, which
     * this source hears on any channel, back to 0. */
    RT_ENTER();
    sprung_modulation_control_change(m, 5, 121, 0);
    sprung_modulation_frame(m, NULL, triggers);
    RT_EXIT();
    CHECK(sprung_modulation_route_value(m, 2, 3) == 0.0, "the wheel after a reset: %g",
          sprung_modulation_route_value(m, 2, 3));
    sprung_modulation_note_off(m, 1, 0, 60);
    for (uint32_t f = 0; f < 500; ++f) /* 10 ms release = 480 frames */
        sprung_modulation_frame(m, NULL, triggers);
    CHECK(sprung_modulation_route_value(m, 0, 1) == 0.0, "released");
    sprung_modulation_free(m);
    sprung_model_instrument_free(spec);

    /* An envelope follower on an input fires a Note Trigger on a loud
     * burst and not on a quiet one. */
    m = make_runtime(
        "{\"sources\": [{\"id\": \"loud\", \"type\": \"follower\", \"input\": 1, "
        "\"attack_ms\": 1, \"release_ms\": 20}],"
        " \"routes\": [{\"source\": \"loud\", \"note_trigger\": {\"note\": 40}}]}",
        1, &spec);
    uint32_t fired_at = 0, fired = 0;
    RT_ENTER();
    for (uint32_t f = 0; f < 48000; ++f) {
        float frame_inputs[2] = {0.9f, 0.0f};
        /* Quiet burst (0.2) at 0.1 s, loud (0.9) at 0.5 s, 50 ms each. */
        double t = f / 48000.0;
        if (t >= 0.1 && t < 0.15)
            frame_inputs[1] = (float)(0.2 * sin(2 * 3.14159265 * 440 * t));
        if (t >= 0.5 && t < 0.55)
            frame_inputs[1] = (float)(0.9 * sin(2 * 3.14159265 * 440 * t));
        SprungModulationInputs inputs = {frame_inputs, 2, NULL, 0};
        uint32_t n = sprung_modulation_frame(m, &inputs, triggers);
        for (uint32_t k = 0; k < n; ++k)
            if (triggers[k].on) {
                fired++;
                fired_at = f;
            }
    }
    RT_EXIT();
    CHECK(fired == 1 && fired_at >= 24000 && fired_at < 24000 + 480,
          "follower trigger: %u times, at frame %u", fired, fired_at);
    sprung_modulation_free(m);
    sprung_model_instrument_free(spec);
    printf("runtime: ok\n");
}

static uint64_t bits_of(double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

/* The routes a frame reports (sprung_modulation_changed_routes), against the
 * values themselves, frame by frame: a route is listed exactly when its
 * value's bits changed or it jumped to its target (the first frame, after
 * a reset), and a route reported settled also in the frame after; each at
 * most once. A macro's glide is listed until it settles, an
 * LFO's route every frame, a controller's route without smoothing at its
 * one change only, and the same on an anchor (reported settled) in the
 * frame after too. */
static void test_changes(void)
{
    enum { FRAMES = 20000, ROUTES = 5, RESET_AT = 15000 };
    SprungModelInstrument *spec;
    SprungModulation *m = make_runtime(
        "{\"sources\": [{\"id\": \"knob\", \"type\": \"macro\", \"index\": 1},"
        " {\"id\": \"wob\", \"type\": \"lfo\", \"rate_hz\": 3},"
        " {\"id\": \"wheel\", \"type\": \"midi\", \"control\": \"cc\", \"number\": 1}],"
        " \"routes\": [{\"source\": \"knob\", \"target\": \"s\", \"parameter\": \"stiffness\","
        " \"range\": [100, 6400], \"smoothing_ms\": 5},"
        " {\"source\": \"wob\", \"target\": \"mic\", \"parameter\": \"gain\", \"range\": [0, 1]},"
        " {\"source\": \"wheel\", \"target\": \"s\", \"parameter\": \"damping\","
        " \"range\": [0, 1], \"smoothing_ms\": 0},"
        " {\"source\": \"wheel\", \"target\": \"a\", \"parameter\": \"z\", \"range\": [0, 1],"
        " \"smoothing_ms\": 0},"
        " {\"source\": \"wheel\", \"target\": \"mic\", \"parameter\": \"pan\", \"range\": [-1, 1],"
        " \"smoothing_ms\": 5}]}",
        1, &spec);
    sprung_modulation_report_settled(m, 3);
    SprungTriggerEvent triggers[4];
    uint64_t before[ROUTES] = {0};
    int moved_before[ROUTES] = {0};
    uint32_t listed_frames[ROUTES] = {0}, last_listed[ROUTES] = {0};
    for (uint32_t f = 0; f < FRAMES; ++f) {
        const uint32_t *changed;
        RT_ENTER();
        if (f == 100)
            sprung_modulation_set_macro(m, 0, 1.0); /* "index" counts from 1 */
        if (f == 5000)
            sprung_modulation_control_change(m, 0, 1, 64);
        if (f == RESET_AT)
            sprung_modulation_reset(m);
        sprung_modulation_frame(m, NULL, triggers);
        uint32_t n_changed = sprung_modulation_changed_routes(m, &changed);
        RT_EXIT();
        int listed[ROUTES] = {0};
        for (uint32_t k = 0; k < n_changed; ++k) {
            CHECK(changed[k] < ROUTES && !listed[changed[k]],
                  "frame %u: entry %u (route %u) unknown or listed twice", f, k, changed[k]);
            listed[changed[k]] = 1;
        }
        int jumped = f == 0 || f == RESET_AT;
        for (uint32_t r = 0; r < ROUTES; ++r) {
            uint64_t now = bits_of(sprung_modulation_route_value(m, r, 0));
            int moved = jumped || now != before[r];
            CHECK(listed[r] || !moved, "frame %u: route %u changed (%.17g) but is not listed",
                  f, r, sprung_modulation_route_value(m, r, 0));
            CHECK(!listed[r] || moved || (r == 3 && moved_before[r]),
                  "frame %u: route %u listed but unchanged", f, r);
            CHECK(r != 3 || listed[r] || !moved_before[r],
                  "frame %u: the anchor's route settled but is not listed", f);
            listed_frames[r] += (uint32_t)listed[r];
            if (listed[r])
                last_listed[r] = f;
            before[r] = now;
            moved_before[r] = moved;
        }
    }
    CHECK(listed_frames[3] == 6 && last_listed[3] == RESET_AT + 1,
          "the anchor's route: %u frames, the last %u (expected 0, 1, 5000, 5001, %u, %u)",
          listed_frames[3], last_listed[3], RESET_AT, RESET_AT + 1);
    CHECK(listed_frames[1] == FRAMES, "the LFO's route: %u of %u frames", listed_frames[1],
          FRAMES);
    CHECK(listed_frames[2] == 3 && last_listed[2] == RESET_AT,
          "the controller's route: %u frames, the last %u (expected 0, 5000, %u)",
          listed_frames[2], last_listed[2], RESET_AT);
    /* The glide from frame 100: about 28 time constants of 240 frames to
     * settle within 1e-12 (smoothing.h), then nothing until the reset. */
    CHECK(listed_frames[0] > 5000 && listed_frames[0] < 8000 && last_listed[0] == RESET_AT,
          "the macro's glide: %u frames", listed_frames[0]);
    /* The controller again, smoothed: its own glide, not the unsmoothed
     * routes' jump (routes share a smoother only with the same smoothing). */
    CHECK(listed_frames[4] > 5000 && listed_frames[4] < 8000 && last_listed[4] == RESET_AT,
          "the smoothed controller's glide: %u frames", listed_frames[4]);
    CHECK(sprung_modulation_route_value(m, 0, 0) == 6400.0,
          "after the reset (which keeps the macro): %g", sprung_modulation_route_value(m, 0, 0));
    sprung_modulation_free(m);
    sprung_model_instrument_free(spec);
    printf("changes: ok (glide listed %u frames, the LFO every frame, the controller 3, the "
           "anchor 6)\n",
           listed_frames[0]);
}

int main(int argc, char **argv)
{
    RT_INIT();
    const char *which = argc > 1 ? argv[1] : "all";
    int all = !strcmp(which, "all");
    if (all || !strcmp(which, "errors"))
        test_errors();
    if (all || !strcmp(which, "runtime"))
        test_runtime();
    if (all || !strcmp(which, "changes"))
        test_changes();
    return 0;
}
