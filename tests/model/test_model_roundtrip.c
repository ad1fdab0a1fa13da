/* Preset round trip: load -> save -> load gives a model identical field by
 * field (bit-exact doubles), saving twice gives the identical text, files
 * load and save like strings, and defaults are filled as documented. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "model_test_util.h"
#include "sprung/model.h"

static int failures;

#define EXPECT(cond, ...)                                              \
    do {                                                               \
        if (!(cond)) {                                                 \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);       \
            fprintf(stderr, __VA_ARGS__);                              \
            fprintf(stderr, "\n");                                     \
            failures++;                                                \
        }                                                              \
    } while (0)

/* No optional field at all. */
static const char *const minimal =
    "{'sprung': 1,"
    " 'bodies': [{'id': 'b1', 'position': [0, 0, 0], 'mass': 1}],"
    " 'microphones': [{'id': 'mic1', 'target': 'b1', 'axis': [0, 0, 1]}]}";

/* Every optional field, comments of every JSON type, awkward doubles
 * (0.1, subnormal, -0, the largest double, 1 + 1 ulp, a big integer). */
static const char *const full =
    "{'sprung': 1, 'name': 'Fully \\u00e9quipped bell', 'comment': {'author': 'test',"
    "  'version': 0.1, 'tags': ['a', 1, null, true]},"
    " 'bodies': ["
    "  {'id': 'b1', 'comment': 'the clapper', 'position': [0.1, -0.0, 1e-300], 'mass': 0.2,"
    "   'drag': 0.003, 'velocity': [4.9406564584124654e-324, 3.4028234663852886e38, -3]},"
    "  {'id': 'b2', 'position': [1.0000000000000002, 2, 123456789012345678], 'mass': 7,"
    "   'drag': 0, 'velocity': [0, 0, 0], 'comment': null}],"
    " 'anchors': [{'id': 'a1', 'position': [0, 0, 1], 'comment': 42}],"
    " 'springs': ["
    "  {'id': 's1', 'from': 'a1', 'to': 'b1', 'stiffness': 1000.5, 'damping': 0.01,"
    "   'rest_length': 0.3333333333333333, 'comment': [1.5, 'x']},"
    "  {'id': 's2', 'from': 'b1', 'to': 'b2', 'stiffness': 0, 'damping': 0, 'rest_length': 0}],"
    " 'mallets': [{'id': 'm1', 'target': 'b2', 'direction': [0, 0, -1], 'strength': 0.05,"
    "   'duration_ms': 2.5, 'notes': [36, 96], 'comment': 'soft'}],"
    " 'microphones': ["
    "  {'id': 'mic1', 'target': 'b1', 'axis': [1, 1, 0], 'signal': 'velocity', 'gain': -2.5,"
    "   'pan': -1, 'comment': {}},"
    "  {'id': 'mic2', 'target': 'b2', 'axis': [0, 0, 1], 'signal': 'position', 'gain': 1,"
    "   'pan': 0.25}]}";

/* Sections out of the documented order, references pointing forward, a
 * rest length left to default (must be the initial distance), a spring
 * between two bodies, and the key order inside objects shuffled. */
static const char *const shuffled =
    "{'microphones': [{'axis': [0, 1, 0], 'target': 'b2', 'id': 'mic'}],"
    " 'springs': [{'to': 'b2', 'from': 'top', 'stiffness': 50, 'id': 's1'},"
    "             {'id': 's2', 'from': 'b2', 'to': 'b1', 'stiffness': 20}],"
    " 'sprung': 1,"
    " 'anchors': [{'id': 'top', 'position': [0, 3, 4]}],"
    " 'bodies': [{'mass': 1, 'position': [0, 0, 0], 'id': 'b1'},"
    "            {'id': 'b2', 'position': [1, 1, 1], 'mass': 2}],"
    " 'name': 'shuffled'}";

/* Random doubles from random bits: every mantissa pattern, exponents kept
 * within a physical range so they stay finite and positive. */
static double random_double(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return ldexp((double)(*state >> 11) / 9007199254740992.0 + 0.5, (int)(*state % 40) - 20);
}

/* A bigger preset with random bit patterns, built here: a chain of n bodies
 * hanging from one anchor. */
static char *generated_preset(int n)
{
    size_t capacity = (size_t)n * 600 + 1000, used = 0;
    char *text = malloc(capacity);
    if (!text)
        abort();
    uint64_t state = 0x9E3779B97F4A7C15ull;
    used += (size_t)snprintf(text + used, capacity - used, "{\"sprung\": 1, \"bodies\": [");
    for (int i = 0; i < n; i++) {
        double x = random_double(&state), y = -random_double(&state);
        double z = random_double(&state), mass = random_double(&state);
        used += (size_t)snprintf(text + used, capacity - used,
                                 "%s{\"id\": \"b%d\", \"position\": [%.17g, %.17g, %.17g], "
                                 "\"mass\": %.17g}",
                                 i ? ", " : "", i, x, y, z, mass);
    }
    used += (size_t)snprintf(text + used, capacity - used,
                             "], \"anchors\": [{\"id\": \"a\", \"position\": [0, 0, 0]}], "
                             "\"springs\": [");
    for (int i = 0; i < n; i++) {
        char from[32] = "a";
        if (i > 0)
            snprintf(from, sizeof from, "b%d", i - 1);
        double stiffness = random_double(&state), damping = random_double(&state);
        used += (size_t)snprintf(text + used, capacity - used,
                                 "%s{\"id\": \"s%d\", \"from\": \"%s\", \"to\": \"b%d\", "
                                 "\"stiffness\": %.17g, \"damping\": %.17g}",
                                 i ? ", " : "", i, from, i, stiffness, damping);
    }
    snprintf(text + used, capacity - used,
             "], \"microphones\": [{\"id\": \"m\", \"target\": \"b%d\", "
             "\"axis\": [1, 0, 0], \"gain\": %.17g}]}",
             n - 1, random_double(&state));
    return text;
}

/* load(text) -> save -> load -> compare; save again -> identical text. */
static void round_trip(const char *label, const char *json)
{
    SprungError error;
    SprungModel *first = NULL, *second = NULL;
    char *saved = NULL, *saved_again = NULL, *saved_twice = NULL;
    SprungStatus status = sprung_model_load_string(json, "roundtrip.json", &first, &error);
    EXPECT(status == SPRUNG_OK, "%s: load: %s", label, error.message);
    if (status != SPRUNG_OK)
        return;
    status = sprung_model_save_string(first, &saved);
    EXPECT(status == SPRUNG_OK && saved, "%s: save failed (%d)", label, status);
    status = sprung_model_save_string(first, &saved_twice);
    EXPECT(status == SPRUNG_OK && saved && saved_twice && strcmp(saved, saved_twice) == 0,
           "%s: saving the same model twice gave different text", label);
    status = sprung_model_load_string(saved, "roundtrip.json", &second, &error);
    EXPECT(status == SPRUNG_OK, "%s: reload of saved text: %s\n%s", label, error.message, saved);
    if (status == SPRUNG_OK) {
        EXPECT(compare_models(first, second) == 0, "%s: reloaded model differs; saved:\n%s",
               label, saved);
        status = sprung_model_save_string(second, &saved_again);
        EXPECT(status == SPRUNG_OK && strcmp(saved, saved_again) == 0,
               "%s: load(save(m)) saved to different text:\n%s\n---\n%s", label, saved,
               saved_again ? saved_again : "(null)");
    }
    sprung_free(saved);
    sprung_free(saved_again);
    sprung_free(saved_twice);
    sprung_model_free(first);
    sprung_model_free(second);
}

static SprungModel *load(const char *json, const char *source)
{
    SprungError error;
    SprungModel *model = NULL;
    char *real_json = dequote(json);
    if (sprung_model_load_string(real_json, source, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: cannot load test preset: %s\n", error.message);
        exit(1);
    }
    free(real_json);
    return model;
}

static void check_defaults(void)
{
    SprungModel *m = load(minimal, "presets/little bell.v2.json");
    EXPECT(strcmp(sprung_model_name(m), "little bell.v2") == 0, "default name is \"%s\"",
           sprung_model_name(m));
    EXPECT(!m->has_name, "has_name set without a name");
    const SprungModelBody *b = &m->bodies[0];
    EXPECT(b->drag == 0 && !b->has_drag, "drag default");
    EXPECT(b->velocity.x == 0 && b->velocity.y == 0 && b->velocity.z == 0 && !b->has_velocity,
           "velocity default");
    const SprungModelMicrophone *mic = &m->microphones[0];
    EXPECT(mic->signal == SPRUNG_MIC_POSITION && !mic->has_signal, "signal default");
    EXPECT(mic->gain == 1 && !mic->has_gain, "gain default");
    EXPECT(mic->pan == 0 && !mic->has_pan, "pan default");
    EXPECT(mic->target_body == 0, "microphone target");
    SprungModelCounts c = sprung_model_counts(m);
    EXPECT(c.bodies == 1 && c.anchors == 0 && c.springs == 0 && c.mallets == 0 &&
               c.microphones == 1,
           "counts %u %u %u %u %u", c.bodies, c.anchors, c.springs, c.mallets, c.microphones);
    char *saved = NULL;
    EXPECT(sprung_model_save_string(m, &saved) == SPRUNG_OK, "save minimal");
    /* Only what the preset gave is written back. */
    EXPECT(saved && !strstr(saved, "\"name\"") && !strstr(saved, "\"drag\"") &&
               !strstr(saved, "\"gain\"") && !strstr(saved, "\"anchors\""),
           "save wrote fields the preset left out:\n%s", saved ? saved : "");
    sprung_free(saved);
    sprung_model_free(m);

    m = load(minimal, NULL);
    EXPECT(strcmp(sprung_model_name(m), "untitled") == 0, "name without source is \"%s\"",
           sprung_model_name(m));
    sprung_model_free(m);

    m = load(full, "x.json");
    EXPECT(strcmp(sprung_model_name(m), "Fully \xc3\xa9quipped bell") == 0 && m->has_name,
           "name");
    const SprungModelMallet *mallet = &m->mallets[0];
    EXPECT(mallet->duration_ms == 2.5 && mallet->note_low == 36 && mallet->note_high == 96 &&
               mallet->target_body == 1,
           "mallet fields");
    EXPECT(m->bodies[0].position.y == 0 && signbit(m->bodies[0].position.y), "-0.0 kept");
    EXPECT(m->bodies[1].position.z == 123456789012345678.0, "big integer as double");
    EXPECT(m->springs[0].from_point == 2 && m->springs[0].to_point == 0,
           "anchor point index %u", m->springs[0].from_point);
    EXPECT(m->springs[0].rest_length == 0.3333333333333333 && m->springs[0].has_rest_length,
           "given rest length");
    EXPECT(strcmp(m->comment, "{\"author\":\"test\",\"version\":0.10000000000000001,"
                              "\"tags\":[\"a\",1,null,true]}") == 0,
           "top comment is %s", m->comment);
    EXPECT(m->bodies[1].comment && strcmp(m->bodies[1].comment, "null") == 0,
           "a null comment is kept");
    EXPECT(m->bodies[1].has_drag && m->bodies[1].has_velocity, "explicit zero defaults kept");
    sprung_model_free(m);

    /* Rest length defaults to the initial distance, computed in double. */
    m = load(shuffled, "s.json");
    EXPECT(strcmp(sprung_model_name(m), "shuffled") == 0, "name");
    const SprungModelSpring *s = &m->springs[0];
    EXPECT(!s->has_rest_length && s->rest_length == sqrt(1.0 + 4.0 + 9.0),
           "default rest length %.17g", s->rest_length);
    EXPECT(s->from_point == 2 && s->to_point == 1, "forward references %u %u", s->from_point,
           s->to_point);
    EXPECT(m->springs[1].rest_length == sqrt(3.0), "body-body rest length");
    EXPECT(m->microphones[0].target_body == 1, "microphone target");
    char *saved_shuffled = NULL;
    EXPECT(sprung_model_save_string(m, &saved_shuffled) == SPRUNG_OK, "save");
    /* Keys come back in the documented order; the default rest length is
     * not written (it was not given). */
    const char *order[] = {"\"sprung\"", "\"name\"", "\"bodies\"", "\"anchors\"",
                           "\"springs\"", "\"microphones\""};
    const char *previous = saved_shuffled;
    for (size_t i = 0; saved_shuffled && i < sizeof order / sizeof *order; i++) {
        const char *at = strstr(saved_shuffled, order[i]);
        EXPECT(at && at >= previous, "key %s out of order in:\n%s", order[i], saved_shuffled);
        if (at)
            previous = at;
    }
    EXPECT(saved_shuffled && !strstr(saved_shuffled, "rest_length"),
           "a default rest length was written");
    sprung_free(saved_shuffled);
    sprung_model_free(m);
}

/* save_file / load_file behave like the string versions. */
static void check_files(void)
{
    char dir[] = "/tmp/sprung-model-test-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/bell.json", dir);
    SprungModel *m = load(minimal, "whatever.json");
    SprungError error;
    EXPECT(sprung_model_save_file(m, path, &error) == SPRUNG_OK, "save_file: %s",
           error.message);
    SprungModel *from_file = NULL;
    EXPECT(sprung_model_load_file(path, &from_file, &error) == SPRUNG_OK, "load_file: %s",
           error.message);
    if (from_file) {
        /* No "name" in the file: the name is the file's base name. */
        EXPECT(strcmp(sprung_model_name(from_file), "bell") == 0, "file name default \"%s\"",
               sprung_model_name(from_file));
        free(m->name);
        m->name = strdup("bell");
        EXPECT(compare_models(m, from_file) == 0, "file round trip differs");
        /* The file holds exactly save_string's text plus a newline. */
        char *text = NULL;
        sprung_model_save_string(m, &text);
        FILE *f = fopen(path, "rb");
        char buffer[4096] = "";
        size_t n = f ? fread(buffer, 1, sizeof buffer - 1, f) : 0;
        if (f)
            fclose(f);
        buffer[n] = '\0';
        EXPECT(text && n == strlen(text) + 1 && strncmp(buffer, text, n - 1) == 0 &&
                   buffer[n - 1] == '\n',
               "file content differs from save_string");
        sprung_free(text);
    }
    sprung_model_free(from_file);
    sprung_model_free(m);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct {
        const char *label;
        const char *json;
    } presets[] = {{"minimal", minimal}, {"full", full}, {"shuffled", shuffled}};
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++) {
        char *json = dequote(presets[i].json);
        round_trip(presets[i].label, json);
        free(json);
    }
    char *big = generated_preset(2000);
    round_trip("generated", big);
    free(big);

    check_defaults();
    check_files();

    /* One saved preset, shown for the reader of the verbose log. */
    SprungModel *m = load(full, "full.json");
    char *text = NULL;
    if (sprung_model_save_string(m, &text) == SPRUNG_OK)
        printf("saved form of the 'full' preset:\n%s\n", text);
    sprung_free(text);
    sprung_model_free(m);

    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("model round trip: all checks passed\n");
    return 0;
}
