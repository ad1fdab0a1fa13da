/* The preset format of issue 3's objects: a model using every one of them
 * (kitchen_sink.h) saves and loads back to the identical text; each bad
 * preset case has its own clear error (status, JSON path, key words); the
 * engine refuses an oscillator above the Nyquist frequency and a contact
 * too stiff for the engine rate (naming the contact); and a model using
 * the features runs on the reference only ("simd" says what it lacks). */
#include "instrument_test_util.h"
#include "kitchen_sink.h"

/* The models below are written with single quotes, for legibility. */
static void double_quotes(char *json)
{
    for (char *p = json; *p; p++)
        if (*p == '\'')
            *p = '"';
}

static void check_round_trip(void)
{
    SprungModel *model = load_model(KITCHEN_SINK);
    char *first = NULL, *second = NULL;
    CHECK(sprung_model_save_string(model, &first) == SPRUNG_OK, "save failed");
    SprungModel *again = load_model(first);
    CHECK(sprung_model_save_string(again, &second) == SPRUNG_OK, "second save failed");
    CHECK(first && second && strcmp(first, second) == 0, "save -> load -> save changed the text");
    CHECK(first && strstr(first, "\"stick_velocity\"") && strstr(first, "\"feedback\"") &&
              strstr(first, "\"output\": \"none\"") && strstr(first, "\"plane\"") &&
              strstr(first, "\"gravity\"") && strstr(first, "\"channel\": 2"),
          "the saved text lost fields:\n%s", first ? first : "");
    SprungModelCounts counts = sprung_model_counts(again);
    CHECK(counts.microphones == 4 && again->n_oscillators == 4 && again->n_plucks == 1 &&
              again->n_bows == 1 && again->n_audio_inputs == 3 && again->n_collisions == 3 &&
              again->n_delays == 1,
          "the reloaded model lost objects");
    /* The reloaded model renders the same bits. */
    const size_t n = 4800;
    SprungEvent events[] = {note_on(10, 60, 100), note_on(20, 45, 90), note_on(30, 80, 127)};
    Render r = {.events = events, .n_events = 3, .n_channels = 3, .n_frames = n, .block = 256};
    float *a = render_model(model, 48000.0, 1, &r);
    float *b = render_model(again, 48000.0, 1, &r);
    CHECK(memcmp(a, b, 3 * n * sizeof *a) == 0, "the reloaded model sounds different");
    free(a);
    free(b);
    sprung_free(first);
    sprung_free(second);
    sprung_model_free(again);
    sprung_model_free(model);
}

typedef struct Case {
    const char *label;
    const char *json; /* single quotes for double quotes */
    const char *path;
    const char *words[3];
} Case;

#define V "'sprung': 1, "
#define BODIES "'bodies': [{'id': 'b', 'position': [0, 0, 0], 'mass': 1}, {'id': 'c', 'position': [1, 0, 0], 'mass': 1}], 'anchors': [{'id': 'a', 'position': [0, 0, 1]}], 'springs': [{'id': 's', 'from': 'a', 'to': 'b', 'stiffness': 10}]"
#define MIC "'microphones': [{'id': 'mic', 'target': 'b', 'axis': [1, 0, 0]}]"
#define MODEL(section) "{" V BODIES ", " section ", " MIC "}"
#define OSC(fields) MODEL("'oscillators': [{'id': 'o', 'target': 'b', 'direction': [1, 0, 0], 'amplitude': 1" fields "}]")
#define PLUCK(fields) MODEL("'plucks': [{'id': 'p', 'target': 'b', 'direction': [1, 0, 0], 'strength': 1" fields "}]")
#define BOW(fields) MODEL("'bows': [{'id': 'w', 'target': 'b', 'direction': [1, 0, 0], 'force': 1" fields "}]")
#define INPUT(fields) MODEL("'audio_inputs': [{'id': 'i', 'target': 'b', 'direction': [1, 0, 0], 'gain': 1" fields "}]")
#define COLLISION(fields) MODEL("'collisions': [{'id': 'k', 'body': 'b', 'stiffness': 100" fields "}]")
#define DELAY(fields) "{" V BODIES ", 'audio_inputs': [{'id': 'i', 'target': 'b', 'direction': [1, 0, 0], 'gain': 1}], " MIC ", 'delays': [{'id': 'd'" fields "}]}"
#define MICS(fields) "{" V BODIES ", 'microphones': [{'id': 'mic', 'target': 'b', 'axis': [1, 0, 0]" fields "}]}"

static const Case cases[] = {
    {"unknown waveform", OSC(", 'waveform': 'triangle'"), "oscillators[0].waveform",
     {"expected \"sine\", \"saw\", \"square\" or \"noise\"", "\"triangle\""}},
    {"oscillator without amplitude",
     MODEL("'oscillators': [{'id': 'o', 'target': 'b', 'direction': [1, 0, 0]}]"),
     "oscillators[0]", {"missing field \"amplitude\""}},
    {"oscillator frequency 0", OSC(", 'frequency': 0"), "oscillators[0].frequency",
     {"greater than 0"}},
    {"noise seed 0", OSC(", 'seed': 0"), "oscillators[0].seed", {"noise seed 1..4294967295"}},
    {"negative attack", OSC(", 'attack_ms': -1"), "oscillators[0].attack_ms",
     {"between 0 and 60000"}},
    {"oscillator on an anchor",
     MODEL("'oscillators': [{'id': 'o', 'target': 'a', 'direction': [1, 0, 0], 'amplitude': 1}]"),
     "oscillators[0].target", {"is an anchor", "oscillators drive bodies"}},
    {"misspelt oscillator field", OSC(", 'atack_ms': 5"), "oscillators[0]",
     {"unknown field \"atack_ms\"", "did you mean \"attack_ms\""}},
    {"pluck field on an oscillator", OSC(", 'stiffness': 5"), "oscillators[0]",
     {"unknown field \"stiffness\""}},
    {"MIDI channel 17", OSC(", 'channel': 17"), "oscillators[0].channel",
     {"MIDI channel 1..16", "17"}},
    {"mallet channel 0",
     MODEL("'mallets': [{'id': 'm', 'target': 'b', 'direction': [1, 0, 0], 'strength': 1, 'channel': 0}]"),
     "mallets[0].channel", {"MIDI channel 1..16"}},
    {"pluck without stiffness", PLUCK(""), "plucks[0]", {"missing field \"stiffness\""}},
    {"pluck stiffness 0", PLUCK(", 'stiffness': 0"), "plucks[0].stiffness", {"greater than 0"}},
    {"pluck speed 0", PLUCK(", 'stiffness': 10, 'speed': 0"), "plucks[0].speed",
     {"greater than 0"}},
    {"bow friction grows when slipping", BOW(", 'dynamic_friction': 0.9"), "bows[0]",
     {"dynamic_friction 0.9 is above static_friction 0.8"}},
    {"bow stick velocity 0", BOW(", 'stick_velocity': 0"), "bows[0].stick_velocity",
     {"greater than 0"}},
    {"bow without force",
     MODEL("'bows': [{'id': 'w', 'target': 'b', 'direction': [1, 0, 0]}]"), "bows[0]",
     {"missing field \"force\""}},
    {"input channel name", INPUT(", 'input': 'left'"), "audio_inputs[0].input",
     {"input channel", "or \"none\""}},
    {"input channel 64", INPUT(", 'input': 64"), "audio_inputs[0].input",
     {"input channel 0..63", "64"}},
    {"gate not a boolean", INPUT(", 'gate': 1"), "audio_inputs[0].gate",
     {"expected true or false"}},
    {"unknown microphone signal", MICS(", 'signal': 'acceleration'"), "microphones[0].signal",
     {"\"position\", \"velocity\" or \"force\""}},
    {"output channel 64", MICS(", 'output': 64"), "microphones[0].output",
     {"output channel 0..63"}},
    {"pan and output", MICS(", 'pan': 0.5, 'output': 1"), "microphones[0]",
     {"both \"pan\" and \"output\""}},
    {"collision with nothing", COLLISION(""), "collisions[0]",
     {"missing field \"other\" or \"plane\""}},
    {"collision with two things",
     COLLISION(", 'other': 'c', 'radius': 1, 'plane': {'point': [0, 0, 0], 'normal': [0, 0, 1]}"),
     "collisions[0]", {"both \"other\" and \"plane\""}},
    {"collision with itself", COLLISION(", 'other': 'b', 'radius': 1"), "collisions[0]",
     {"collides with itself"}},
    {"collision with a spring", COLLISION(", 'other': 's'"), "collisions[0].other",
     {"is a spring", "bodies collide with bodies, anchors or planes"}},
    {"plane without a normal", COLLISION(", 'plane': {'point': [0, 0, 0]}"),
     "collisions[0].plane", {"missing field \"normal\""}},
    {"plane with a zero normal", COLLISION(", 'plane': {'point': [0, 0, 0], 'normal': [0, 0, 0]}"),
     "collisions[0].plane.normal", {"must not be the zero vector"}},
    {"plane not an object", COLLISION(", 'plane': [0, 0, 1]"), "collisions[0].plane",
     {"expected an object", "\"normal\""}},
    {"bodies without radius", COLLISION(", 'other': 'c'"), "collisions[0]",
     {"contact distance", "is 0", "radius"}},
    {"collision without stiffness",
     MODEL("'collisions': [{'id': 'k', 'body': 'b', 'other': 'c', 'radius': 1}]"),
     "collisions[0]", {"missing field \"stiffness\""}},
    {"delay from an exciter", DELAY(", 'from': 'i', 'to': 'i', 'time_ms': 5"), "delays[0].from",
     {"is an audio input", "starts at a microphone"}},
    {"delay to a microphone", DELAY(", 'from': 'mic', 'to': 'mic', 'time_ms': 5"),
     "delays[0].to", {"is a microphone", "feeds an audio input"}},
    {"delay of 0 ms", DELAY(", 'from': 'mic', 'to': 'i', 'time_ms': 0"), "delays[0].time_ms",
     {"greater than 0 and at most 1000"}},
    {"delay over a second", DELAY(", 'from': 'mic', 'to': 'i', 'time_ms': 1000.5"),
     "delays[0].time_ms", {"at most 1000"}},
    {"feedback 1", DELAY(", 'from': 'mic', 'to': 'i', 'time_ms': 5, 'feedback': 1"),
     "delays[0].feedback", {"less than 1", "never die"}},
    {"delay without time", DELAY(", 'from': 'mic', 'to': 'i'"), "delays[0]",
     {"missing field \"time_ms\""}},
    {"gravity not a vector", "{" V "'gravity': -9.81, " BODIES ", " MIC "}", "gravity",
     {"expected an array of 3 numbers"}},
    {"negative radius",
     "{" V "'bodies': [{'id': 'b', 'position': [0, 0, 0], 'mass': 1, 'radius': -1}], " MIC "}",
     "bodies[0].radius", {"0 or more"}},
    {"duplicate id across new sections",
     MODEL("'oscillators': [{'id': 's', 'target': 'b', 'direction': [1, 0, 0], 'amplitude': 1}]"),
     "oscillators[0].id", {"duplicate id \"s\"", "springs[0].id"}},
};

static void check_errors(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const Case *c = &cases[i];
        char json[4096];
        snprintf(json, sizeof json, "%s", c->json);
        double_quotes(json);
        SprungModel *model = NULL;
        SprungError error;
        SprungStatus status = sprung_model_load_string(json, "case.json", &model, &error);
        printf("%-34s %s\n", c->label, error.message);
        CHECK(status == SPRUNG_ERROR_INVALID_MODEL, "%s: status %d", c->label, (int)status);
        CHECK(strcmp(error.path, c->path) == 0, "%s: path \"%s\", expected \"%s\"", c->label,
              error.path, c->path);
        for (int w = 0; w < 3 && c->words[w]; w++)
            CHECK(strstr(error.message, c->words[w]), "%s: \"%s\" not in \"%s\"", c->label,
                  c->words[w], error.message);
        sprung_model_free(model);
    }
}


/* opencl (`config`), where it can run, accepts `model`: no "does not
 * implement" refusal for `what` it uses. */
static void check_opencl_runs(const SprungEngineConfig *config, const SprungModel *model,
                              const char *what)
{
    SprungEngine *engine = NULL;
    SprungError error;
    SprungStatus status = sprung_engine_new(config, model, &engine, &error);
    printf("opencl and %-23s %s\n", what, status == SPRUNG_OK ? "runs" : error.message);
    CHECK(status == SPRUNG_OK || !strstr(error.message, "does not implement"),
          "opencl refused %s: %s", what, error.message);
    sprung_engine_free(engine);
}
static void check_engine_errors(void)
{
    SprungEngineConfig config = sprung_engine_config_default();
    SprungEngine *engine = NULL;
    SprungError error;

    /* An oscillator's fixed frequency at or above the Nyquist frequency. */
    char json[2048];
    snprintf(json, sizeof json, "%s", OSC(", 'frequency': 30000"));
    double_quotes(json);
    SprungModel *model = load_model(json);
    SprungStatus status = sprung_engine_new(&config, model, &engine, &error);
    printf("%-34s %s\n", "oscillator above Nyquist", error.message);
    CHECK(status == SPRUNG_ERROR_INVALID_MODEL && strstr(error.message, "Nyquist") &&
              strcmp(error.path, "oscillators[0].frequency") == 0,
          "an oscillator above Nyquist: %s", error.message);
    config.sample_rate = 96000; /* fine at 96 kHz */
    CHECK(sprung_engine_new(&config, model, &engine, &error) == SPRUNG_OK,
          "30 kHz refused at 96 kHz: %s", error.message);
    sprung_engine_free(engine);
    engine = NULL;
    sprung_model_free(model);

    /* A collision far too stiff: the stability check counts it engaged. */
    snprintf(json, sizeof json, "%s",
             MODEL("'collisions': [{'id': 'k', 'body': 'b', 'plane': {'point': [0, 0, -1], "
                   "'normal': [0, 0, 1]}, 'stiffness': 1e12}]"));
    double_quotes(json);
    model = load_model(json);
    config = sprung_engine_config_default();
    status = sprung_engine_new(&config, model, &engine, &error);
    printf("%-34s %s\n", "contact too stiff", error.message);
    CHECK(status == SPRUNG_ERROR_UNSTABLE && strstr(error.message, "contact stiffness"),
          "a too stiff contact: %s", error.message);
    sprung_model_free(model);

    /* Both CPU backends run every feature; auto picks cpu for this model
     * of 6 springs (src/backend/registry.c: simd from 8). */
    model = load_model(KITCHEN_SINK);
    config.backend = "simd";
    status = sprung_engine_new(&config, model, &engine, &error);
    CHECK(status == SPRUNG_OK, "simd refused a model with features: %s", error.message);
    sprung_engine_free(engine);
    engine = NULL;
    config.backend = "auto";
    CHECK(sprung_engine_new(&config, model, &engine, &error) == SPRUNG_OK &&
              strcmp(sprung_engine_backend_name(engine), "cpu") == 0,
          "auto did not pick cpu for a model of 6 springs");
    sprung_engine_free(engine);
    engine = NULL;
    /* opencl, where it can run, runs every feature, followers of a
     * microphone included; with voices (one launch for all) such a follower
     * is refused with what it lacks named. */
    config.backend = "opencl";
    check_opencl_runs(&config, model, "features");
    sprung_model_free(model);
    snprintf(json, sizeof json, "%s",
             MODEL("'sources': [{'id': 'l', 'type': 'lfo'}], 'routes': [{'source': 'l', "
                   "'target': 'b', 'parameter': 'mass', 'range': [0.001, 0.002]}]"));
    double_quotes(json);
    model = load_model(json);
    check_opencl_runs(&config, model, "modulation");
    sprung_model_free(model);
    snprintf(json, sizeof json, "%s",
             MODEL("'sources': [{'id': 'f', 'type': 'follower', 'microphone': 'mic'}], "
                   "'routes': [{'source': 'f', 'target': 'b', 'parameter': 'mass', "
                   "'range': [0.001, 0.002]}]"));
    double_quotes(json);
    model = load_model(json);
    check_opencl_runs(&config, model, "a microphone follower");
    sprung_model_free(model);
    snprintf(json, sizeof json, "%s",
             MODEL("'voices': {'count': 2}, "
                   "'sources': [{'id': 'f', 'type': 'follower', 'microphone': 'mic'}], "
                   "'routes': [{'source': 'f', 'target': 'b', 'parameter': 'mass', "
                   "'range': [0.001, 0.002]}]"));
    double_quotes(json);
    model = load_model(json);
    status = sprung_engine_new(&config, model, &engine, &error);
    printf("%-34s %s\n", "opencl, voices and a follower", error.message);
    if (status == SPRUNG_ERROR_UNSUPPORTED && strstr(error.message, "does not implement"))
        CHECK(strstr(error.message, "microphone followers in voices"),
              "opencl's refusal does not say what it lacks: %s", error.message);
    else
        CHECK(status != SPRUNG_OK, "opencl accepted voices that follow a microphone");
    sprung_engine_free(engine);
    engine = NULL;
    sprung_model_free(model);

    /* `sprung backends` says the same: what each backend lacks. */
    for (uint32_t i = 0; i < sprung_backend_count(); i++) {
        SprungBackendInfo info;
        CHECK(sprung_backend_info(i, &info) == SPRUNG_OK, "backend %u: no info", i);
        CHECK(!info.lacks[0], "%s lacks \"%s\"", info.name, info.lacks);
    }
}

int main(void)
{
    check_round_trip();
    check_errors();
    check_engine_errors();
    return finish("instrument_model");
}
