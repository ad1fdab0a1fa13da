/* Bad presets: one table case per error class. Each case checks the status,
 * the JSON path (or line for invalid JSON) and the key words of the message,
 * so every class keeps its own clear message. Every message is printed, so
 * `ctest -V -R model_errors` shows what a user would read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Building blocks, with single quotes for JSON's double quotes. */
#define V "'sprung': 1, "
#define BODY "'bodies': [{'id': 'b1', 'position': [0, 0, 0], 'mass': 1}]"
#define BODYF(fields) "'bodies': [{'id': 'b1', 'position': [0, 0, 0]" fields "}]"
#define ANCHOR "'anchors': [{'id': 'a1', 'position': [0, 0, 1]}]"
#define ANCHORS2 "'anchors': [{'id': 'a1', 'position': [0, 0, 1]}, {'id': 'a2', 'position': [0, 1, 1]}]"
#define MIC "'microphones': [{'id': 'mic1', 'target': 'b1', 'axis': [1, 0, 0]}]"
#define MICF(fields) "'microphones': [{'id': 'mic1', 'target': 'b1'" fields "}]"
#define SPRINGF(fields) "'springs': [{'id': 's1', 'from': 'a1'" fields "}]"
#define SPRING(fields) SPRINGF(", 'to': 'b1', 'stiffness': 100" fields)
#define MALLETF(fields) "'mallets': [{'id': 'm1', 'target': 'b1'" fields "}]"
#define MALLET(fields) MALLETF(", 'direction': [0, 0, 1], 'strength': 1" fields)
/* A valid preset around one changed section. */
#define WITH_SPRING(fields) "{" V BODY ", " ANCHOR ", " SPRING(fields) ", " MIC "}"
#define WITH_MALLET(fields) "{" V BODY ", " ANCHOR ", " MALLET(fields) ", " MIC "}"
#define WITH_MIC(fields) "{" V BODY ", " ANCHOR ", " MICF(", 'axis': [1, 0, 0]" fields) "}"
#define WITH_BODY(fields) "{" V BODYF(fields) ", " MIC "}"

typedef struct Case {
    const char *label;
    const char *json;
    SprungStatus status;
    int line;                /* > 0: the error's line must be this */
    const char *path;        /* the error's JSON path, exactly ("" for none) */
    /* Each must appear in the message; one starting with '!' must not. */
    const char *words[4];
} Case;

static const Case cases[] = {
    /* Not JSON at all: jansson's text with line:column. */
    {"invalid JSON", "{\n 'sprung': 1,\n 'bodies': [,]\n}", SPRUNG_ERROR_PARSE, 3, "",
     {"case.json:3:", "invalid JSON", "unexpected token"}},
    {"invalid JSON: trailing text", "{" V BODY ", " MIC "} x", SPRUNG_ERROR_PARSE, 1, "",
     {"case.json:1:", "invalid JSON", "end of file expected"}},
    {"invalid JSON: empty", "", SPRUNG_ERROR_PARSE, 0, "", {"invalid JSON: empty"}},
    {"invalid JSON: blanks only", " \n\t\r\n", SPRUNG_ERROR_PARSE, 0, "",
     {"invalid JSON: empty (a preset is a JSON object"}},
    {"invalid JSON: duplicate key", "{" V BODYF(", 'mass': 1, 'mass': 2") ", " MIC "}",
     SPRUNG_ERROR_PARSE, 1, "", {"invalid JSON", "duplicate object key", "mass"}},
    {"huge real (overflows to inf)",
     "{" V "'bodies': [{'id': 'b1', 'position': [0, 0, 1e400], 'mass': 1}], " MIC "}",
     SPRUNG_ERROR_PARSE, 1, "", {"invalid JSON", "real number overflow", "1e400"}},
    {"huge integer", WITH_BODY(", 'mass': 100000000000000000000"), SPRUNG_ERROR_PARSE, 1, "",
     {"invalid JSON", "too big integer"}},

    /* The top level and the version. */
    {"top level is an array", "[1, 2]", SPRUNG_ERROR_INVALID_MODEL, 0, "",
     {"top level must be a JSON object", "got an array"}},
    {"top level is a string", "'bell'", SPRUNG_ERROR_INVALID_MODEL, 0, "",
     {"top level must be a JSON object", "got a string"}},
    {"missing version", "{" BODY ", " MIC "}", SPRUNG_ERROR_INVALID_MODEL, 0, "",
     {"missing field \"sprung\"", "version 1"}},
    {"wrong version", "{'sprung': 2, " BODY ", " MIC "}", SPRUNG_ERROR_INVALID_MODEL, 0,
     "sprung", {"unsupported preset version 2 (this build reads version 1)"}},
    {"version is a string", "{'sprung': '1', " BODY ", " MIC "}", SPRUNG_ERROR_INVALID_MODEL,
     0, "sprung", {"version as an integer", "got a string"}},
    {"version is a real", "{'sprung': 1.0, " BODY ", " MIC "}", SPRUNG_ERROR_INVALID_MODEL,
     0, "sprung", {"version as an integer", "got a real number"}},
    {"name is not a string", "{" V "'name': 3, " BODY ", " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "name", {"expected a string", "got an integer"}},

    /* Sections. */
    {"no bodies (missing)", "{" V MIC "}", SPRUNG_ERROR_INVALID_MODEL, 0, "",
     {"missing field \"bodies\"", "at least one body"}},
    {"no bodies (empty)", "{" V "'bodies': [], " MIC "}", SPRUNG_ERROR_INVALID_MODEL, 0,
     "bodies", {"at least one body"}},
    {"no microphone (missing)", "{" V BODY "}", SPRUNG_ERROR_INVALID_MODEL, 0, "microphones",
     {"no microphone"}},
    {"no microphone (empty)", "{" V BODY ", 'microphones': []}", SPRUNG_ERROR_INVALID_MODEL,
     0, "microphones", {"no microphone"}},
    {"section is not an array", "{" V BODY ", 'springs': {}, " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "springs", {"expected an array", "got an object"}},
    {"object is not an object", "{" V "'bodies': [3], " MIC "}", SPRUNG_ERROR_INVALID_MODEL, 0,
     "bodies[0]", {"expected an object", "got an integer"}},

    /* Missing and wrongly typed fields. */
    {"missing field", "{" V BODY ", " ANCHOR ", " SPRINGF(", 'to': 'b1'") ", " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "springs[0]", {"missing field \"stiffness\""}},
    {"missing id", "{" V "'bodies': [{'position': [0, 0, 0], 'mass': 1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "bodies[0]", {"missing field \"id\""}},
    {"number is a string", WITH_BODY(", 'mass': '1'"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "bodies[0].mass", {"expected a number", "got a string"}},
    {"number is a boolean", WITH_MIC(", 'gain': true"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "microphones[0].gain", {"expected a number", "got a boolean"}},
    {"number is null", WITH_SPRING(", 'damping': null"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "springs[0].damping", {"expected a number", "got null"}},
    {"id is a number", "{" V "'bodies': [{'id': 5, 'position': [0, 0, 0], 'mass': 1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "bodies[0].id", {"expected a non-empty string", "integer"}},
    {"id is empty", "{" V "'bodies': [{'id': '', 'position': [0, 0, 0], 'mass': 1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "bodies[0].id", {"must not be empty"}},
    {"reference is not a string",
     "{" V BODY ", 'microphones': [{'id': 'mic1', 'target': 1, 'axis': [1, 0, 0]}]}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "microphones[0].target",
     {"expected the id of an object", "got an integer"}},

    /* Unknown fields: an error, with the closest known field suggested. */
    {"unknown field, misspelt", WITH_SPRING(", 'dampnig': 0.1"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "springs[0]", {"unknown field \"dampnig\" (did you mean \"damping\"?)"}},
    {"unknown field, capitalised", WITH_BODY(", 'Mass': 1"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "bodies[0]", {"unknown field \"Mass\" (did you mean \"mass\"?)"}},
    {"unknown field, no close match", WITH_BODY(", 'mass': 1, 'colour': 'red'"),
     SPRUNG_ERROR_INVALID_MODEL, 0, "bodies[0]", {"unknown field \"colour\"", "!did you mean"}},
    {"unknown top-level field", "{" V "'bodys': [], " BODY ", " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "",
     {"unknown top-level field \"bodys\" (did you mean \"bodies\"?)"}},

    /* Ids: unknown, duplicate (one namespace), wrong kind. */
    {"unknown id", "{" V BODY ", " ANCHOR ", " SPRINGF(", 'to': 'b9', 'stiffness': 1") ", " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "springs[0].to", {"unknown id \"b9\""}},
    {"duplicate id in one section",
     "{" V "'bodies': [{'id': 'b1', 'position': [0, 0, 0], 'mass': 1},"
     " {'id': 'b1', 'position': [1, 0, 0], 'mass': 1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "bodies[1].id",
     {"duplicate id \"b1\" (first used at bodies[0].id)"}},
    {"duplicate id across sections",
     "{" V BODY ", " ANCHOR ", 'springs': [{'id': 'a1', 'from': 'a1', 'to': 'b1',"
     " 'stiffness': 1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "springs[0].id",
     {"duplicate id \"a1\" (first used at anchors[0].id)"}},
    {"spring end is a mallet", "{" V BODY ", " ANCHOR ", " MALLET("") ", "
     SPRINGF(", 'to': 'm1', 'stiffness': 1") ", " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "springs[0].to",
     {"\"m1\" is a mallet", "springs join bodies and anchors"}},
    {"mallet target is an anchor", "{" V BODY ", " ANCHOR ", 'mallets': [{'id': 'm1', 'target': 'a1',"
     " 'direction': [0, 0, 1], 'strength': 1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "mallets[0].target",
     {"\"a1\" is an anchor", "mallets strike bodies"}},
    {"microphone target is an anchor",
     "{" V BODY ", " ANCHOR ", 'microphones': [{'id': 'mic1', 'target': 'a1', 'axis': [1, 0, 0]}]}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "microphones[0].target",
     {"\"a1\" is an anchor", "microphones listen to bodies"}},
    {"microphone target is a spring",
     "{" V BODY ", " ANCHOR ", " SPRING("") ", 'microphones': [{'id': 'mic1', 'target': 's1',"
     " 'axis': [1, 0, 0]}]}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "microphones[0].target",
     {"\"s1\" is a spring", "microphones listen to bodies"}},

    /* Springs that cannot work. */
    {"spring joins a body to itself", "{" V BODY ", 'springs': [{'id': 's1', 'from': 'b1',"
     " 'to': 'b1', 'stiffness': 1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "springs[0]", {"joins \"b1\" to itself"}},
    {"spring joins two anchors", "{" V BODY ", " ANCHORS2 ", 'springs': [{'id': 's1',"
     " 'from': 'a1', 'to': 'a2', 'stiffness': 1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "springs[0]", {"joins two anchors", "\"a1\" and \"a2\"",
     "never move"}},
    {"spring span beyond float32",
     "{" V "'bodies': [{'id': 'b1', 'position': [3e38, 0, 0], 'mass': 1}],"
     " 'anchors': [{'id': 'a1', 'position': [-3e38, 0, 0]}], " SPRING("") ", " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "springs[0]", {"too far apart", "float32"}},
    {"number beyond float32", WITH_BODY(", 'mass': 1e39"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "bodies[0].mass", {"beyond the engine's float32 range"}},
    {"mass rounds to zero in float32", WITH_BODY(", 'mass': 2.1e-323"),
     SPRUNG_ERROR_INVALID_MODEL, 0, "bodies[0].mass", {"at least", "float32"}},

    /* Numbers out of range, one per rule. */
    {"mass is zero", WITH_BODY(", 'mass': 0"), SPRUNG_ERROR_INVALID_MODEL, 0, "bodies[0].mass",
     {"must be greater than 0", "got 0"}},
    {"mass is negative", WITH_BODY(", 'mass': -2.5"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "bodies[0].mass", {"must be greater than 0", "got -2.5"}},
    {"drag is negative", WITH_BODY(", 'mass': 1, 'drag': -1"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "bodies[0].drag", {"must be 0 or more", "got -1"}},
    {"stiffness is negative", "{" V BODY ", " ANCHOR ", " SPRINGF(", 'to': 'b1', 'stiffness': -100")
     ", " MIC "}", SPRUNG_ERROR_INVALID_MODEL, 0, "springs[0].stiffness",
     {"must be 0 or more", "got -100"}},
    {"damping is negative", WITH_SPRING(", 'damping': -0.5"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "springs[0].damping", {"must be 0 or more", "got -0.5"}},
    {"rest_length is negative", WITH_SPRING(", 'rest_length': -1e-9"),
     SPRUNG_ERROR_INVALID_MODEL, 0, "springs[0].rest_length", {"must be 0 or more", "-1e-09"}},
    {"strength is negative", "{" V BODY ", " MALLETF(", 'direction': [0, 0, 1], 'strength': -1")
     ", " MIC "}", SPRUNG_ERROR_INVALID_MODEL, 0, "mallets[0].strength",
     {"must be 0 or more", "got -1"}},
    {"duration_ms is zero", WITH_MALLET(", 'duration_ms': 0"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "mallets[0].duration_ms", {"greater than 0 and at most 1000", "got 0"}},
    {"duration_ms is too long", WITH_MALLET(", 'duration_ms': 1000.5"),
     SPRUNG_ERROR_INVALID_MODEL, 0, "mallets[0].duration_ms",
     {"greater than 0 and at most 1000", "got 1000.5"}},
    {"note above 127", WITH_MALLET(", 'notes': [60, 128]"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "mallets[0].notes[1]", {"MIDI note number 0..127", "got 128"}},
    {"note below 0", WITH_MALLET(", 'notes': [-1, 60]"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "mallets[0].notes[0]", {"MIDI note number 0..127", "got -1"}},
    {"note is a real", WITH_MALLET(", 'notes': [60.0, 72]"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "mallets[0].notes[0]", {"an integer 0..127", "got a real number"}},
    {"notes: low above high", WITH_MALLET(", 'notes': [72, 60]"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "mallets[0].notes", {"low note 72 is above high note 60"}},
    {"notes: wrong length", WITH_MALLET(", 'notes': [60]"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "mallets[0].notes", {"expected [low, high]", "got an array of 1"}},
    {"notes: not an array", WITH_MALLET(", 'notes': '36-96'"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "mallets[0].notes", {"expected [low, high]", "got a string"}},
    {"pan out of range", WITH_MIC(", 'pan': 1.5"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "microphones[0].pan", {"between -1 (left) and 1 (right)", "got 1.5"}},
    {"pan just out of range", WITH_MIC(", 'pan': -1.0000000000000002"),
     SPRUNG_ERROR_INVALID_MODEL, 0, "microphones[0].pan", {"got -1.0000000000000002"}},
    {"signal unknown", WITH_MIC(", 'signal': 'pos'"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "microphones[0].signal", {"expected \"position\", \"velocity\" or \"force\"", "got \"pos\""}},
    {"signal not a string", WITH_MIC(", 'signal': 0"), SPRUNG_ERROR_INVALID_MODEL, 0,
     "microphones[0].signal", {"expected \"position\", \"velocity\" or \"force\"", "got an integer"}},

    /* Vectors. */
    {"vector too short", "{" V "'bodies': [{'id': 'b1', 'position': [0, 0], 'mass': 1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "bodies[0].position",
     {"expected an array of 3 numbers", "got an array of 2"}},
    {"vector too long", WITH_BODY(", 'mass': 1, 'velocity': [0, 0, 0, 0]"),
     SPRUNG_ERROR_INVALID_MODEL, 0, "bodies[0].velocity",
     {"expected an array of 3 numbers", "got an array of 4"}},
    {"vector element not a number",
     "{" V "'bodies': [{'id': 'b1', 'position': [0, 'x', 0], 'mass': 1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "bodies[0].position[1]", {"expected a number", "got a string"}},
    {"vector not an array", "{" V BODY ", " MICF(", 'axis': 1") "}", SPRUNG_ERROR_INVALID_MODEL, 0,
     "microphones[0].axis", {"expected an array of 3 numbers", "got an integer"}},
    {"zero direction", "{" V BODY ", " MALLETF(", 'direction': [0, 0, 0], 'strength': 1") ", " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "mallets[0].direction", {"zero vector"}},
    {"zero axis", "{" V BODY ", " MICF(", 'axis': [0, -0.0, 0]") "}", SPRUNG_ERROR_INVALID_MODEL, 0,
     "microphones[0].axis", {"zero vector"}},

    /* The first problem in document order is the one reported. */
    {"document order: earlier section first",
     "{" V "'springs': [{'id': 's1', 'from': 'b1', 'to': 'b9', 'stiffness': 1}],"
     " 'bodies': [{'id': 'b1', 'position': [0, 0, 0], 'mass': -1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "springs[0].to", {"unknown id \"b9\""}},
    {"document order: bad value before missing field",
     "{" V "'bodies': [{'id': 'b1', 'mass': -1}], " MIC "}", SPRUNG_ERROR_INVALID_MODEL, 0,
     "bodies[0].mass", {"must be greater than 0"}},
    {"document order: unknown field before bad value",
     "{" V "'bodies': [{'id': 'b1', 'position': [0, 0, 0], 'mas': 1, 'mass': -1}], " MIC "}",
     SPRUNG_ERROR_INVALID_MODEL, 0, "bodies[0]", {"unknown field \"mas\" (did you mean \"mass\"?)"}},
};

static void check_message(const char *label, const SprungError *error, SprungStatus status,
                          SprungStatus expected, const char *path, const char *const *words,
                          size_t n_words)
{
    printf("%-44s %s\n", label, error->message);
    EXPECT(status == expected, "%s: status %s, expected %s (%s)", label,
           sprung_strerror(status), sprung_strerror(expected), error->message);
    EXPECT(error->status == status, "%s: error.status does not match the returned status",
           label);
    if (path) {
        EXPECT(strcmp(error->path, path) == 0, "%s: path \"%s\", expected \"%s\"", label,
               error->path, path);
        if (path[0]) {
            char where[160];
            snprintf(where, sizeof where, ": %s: ", path);
            EXPECT(strstr(error->message, where) != NULL, "%s: message does not name %s: %s",
                   label, path, error->message);
        }
    }
    for (size_t w = 0; w < n_words && words[w]; w++) {
        if (words[w][0] == '!')
            EXPECT(strstr(error->message, words[w] + 1) == NULL, "%s: message has \"%s\": %s",
                   label, words[w] + 1, error->message);
        else
            EXPECT(strstr(error->message, words[w]) != NULL, "%s: message lacks \"%s\": %s",
                   label, words[w], error->message);
    }
}

static void run_table(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const Case *c = &cases[i];
        char *json = dequote(c->json);
        SprungModel *model = (SprungModel *)&json; /* must be overwritten with NULL */
        SprungError error;
        memset(&error, 0x55, sizeof error);
        SprungStatus status = sprung_model_load_string(json, "case.json", &model, &error);
        check_message(c->label, &error, status, c->status, c->path, c->words,
                      sizeof c->words / sizeof *c->words);
        EXPECT(model == NULL, "%s: *out is not NULL after a failure", c->label);
        EXPECT(strncmp(error.message, "case.json", 9) == 0, "%s: message does not name the file",
               c->label);
        if (c->line > 0)
            EXPECT(error.line == c->line && error.column > 0, "%s: line:column %d:%d, expected line %d",
                   c->label, error.line, error.column, c->line);
        /* The status alone (no error record) is the same. */
        SprungModel *again = NULL;
        EXPECT(sprung_model_load_string(json, "case.json", &again, NULL) == c->status,
               "%s: status differs without an error record", c->label);
        sprung_model_free(again);
        if (model != (SprungModel *)&json)
            sprung_model_free(model);
        free(json);
    }
}

/* More bodies than a preset may hold is refused before anything is built. */
static void check_too_many(void)
{
    const size_t n = 1000001;
    size_t size = 64 + 2 * n + 200;
    char *json = malloc(size);
    if (!json)
        abort();
    size_t used = (size_t)snprintf(json, size, "{\"sprung\": 1, \"bodies\": [");
    for (size_t i = 0; i < n; i++) {
        json[used++] = i ? ',' : '0';
        if (i)
            json[used++] = '0';
    }
    snprintf(json + used, size - used,
             "], \"microphones\": [{\"id\": \"m\", \"target\": \"b\", \"axis\": [1, 0, 0]}]}");
    SprungModel *model = NULL;
    SprungError error;
    SprungStatus status = sprung_model_load_string(json, "case.json", &model, &error);
    const char *words[] = {"too many objects", "1000001", "at most 1000000"};
    check_message("too many bodies", &error, status, SPRUNG_ERROR_INVALID_MODEL, "bodies", words,
                  3);
    sprung_model_free(model);
    free(json);
}

static void check_files_and_arguments(void)
{
    SprungModel *model = NULL;
    SprungError error;
    SprungStatus status;
    char dir[] = "/tmp/sprung-model-errors-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
    char path[512];

    snprintf(path, sizeof path, "%s/missing.json", dir);
    status = sprung_model_load_file(path, &model, &error);
    const char *missing_words[] = {path, "cannot open: No such file or directory"};
    check_message("unreadable file (missing)", &error, status, SPRUNG_ERROR_IO, "", missing_words,
                  2);
    EXPECT(model == NULL, "missing file: *out set");

    status = sprung_model_load_file(dir, &model, &error);
    const char *dir_words[] = {dir, "cannot read", "Is a directory"};
    check_message("unreadable file (a directory)", &error, status, SPRUNG_ERROR_IO, "", dir_words,
                  3);

    /* Errors from a file name the file, line:column or path included. */
    snprintf(path, sizeof path, "%s/bell.json", dir);
    FILE *file = fopen(path, "w");
    if (!file)
        abort();
    fputs("{\n  \"sprung\": 1,\n  \"bodies\": [}\n", file);
    fclose(file);
    status = sprung_model_load_file(path, &model, &error);
    char where[600];
    snprintf(where, sizeof where, "%s:3:", path);
    const char *json_words[] = {where, "invalid JSON"};
    check_message("invalid JSON in a file", &error, status, SPRUNG_ERROR_PARSE, "", json_words, 2);

    file = fopen(path, "w");
    if (!file)
        abort();
    fputs("{\"sprung\": 1, \"bodies\": [{\"id\": \"b1\", \"position\": [0, 0, 0], \"mass\": 1}],"
          " \"microphones\": [{\"id\": \"m\", \"target\": \"b2\", \"axis\": [1, 0, 0]}]}",
          file);
    fclose(file);
    status = sprung_model_load_file(path, &model, &error);
    snprintf(where, sizeof where, "%s: microphones[0].target: unknown id \"b2\"", path);
    const char *model_words[] = {where};
    check_message("invalid model in a file", &error, status, SPRUNG_ERROR_INVALID_MODEL,
                  "microphones[0].target", model_words, 1);
    unlink(path);

    /* NULL arguments. */
    status = sprung_model_load_string(NULL, "case.json", &model, &error);
    const char *null_words[] = {"is NULL"};
    check_message("NULL json", &error, status, SPRUNG_ERROR_INVALID_ARGUMENT, "", null_words, 1);
    status = sprung_model_load_string("{}", NULL, NULL, &error);
    check_message("NULL out (load_string)", &error, status, SPRUNG_ERROR_INVALID_ARGUMENT, "",
                  null_words, 1);
    status = sprung_model_load_file(NULL, &model, &error);
    check_message("NULL path", &error, status, SPRUNG_ERROR_INVALID_ARGUMENT, "", null_words, 1);
    status = sprung_model_load_file("x.json", NULL, &error);
    check_message("NULL out (load_file)", &error, status, SPRUNG_ERROR_INVALID_ARGUMENT, "",
                  null_words, 1);
    char *text = (char *)"not NULL";
    EXPECT(sprung_model_save_string(NULL, &text) == SPRUNG_ERROR_INVALID_ARGUMENT && !text,
           "save_string(NULL model)");

    char *json = dequote("{" V BODY ", " MIC "}");
    EXPECT(sprung_model_load_string(json, NULL, &model, NULL) == SPRUNG_OK,
           "valid preset without error record or source name");
    free(json);
    EXPECT(sprung_model_save_string(model, NULL) == SPRUNG_ERROR_INVALID_ARGUMENT,
           "save_string(NULL out)");
    status = sprung_model_save_file(NULL, "x.json", &error);
    check_message("save_file: NULL model", &error, status, SPRUNG_ERROR_INVALID_ARGUMENT, "",
                  null_words, 1);
    status = sprung_model_save_file(model, NULL, &error);
    check_message("save_file: NULL path", &error, status, SPRUNG_ERROR_INVALID_ARGUMENT, "",
                  null_words, 1);

    /* Writing where one cannot names the file. */
    snprintf(path, sizeof path, "%s/no/such/dir/out.json", dir);
    status = sprung_model_save_file(model, path, &error);
    const char *write_words[] = {path, "cannot open for writing", "No such file or directory"};
    check_message("save_file: unwritable path", &error, status, SPRUNG_ERROR_IO, "", write_words,
                  3);

    /* A model edited in memory into something JSON cannot say. */
    model->bodies[0].mass = 1.0 / 0.0;
    text = NULL;
    EXPECT(sprung_model_save_string(model, &text) == SPRUNG_ERROR_INVALID_ARGUMENT && !text,
           "save_string of a non-finite mass");
    model->bodies[0].mass = 1;
    model->microphones[0].target_body = 7;
    EXPECT(sprung_model_save_string(model, &text) == SPRUNG_ERROR_INVALID_ARGUMENT && !text,
           "save_string with a dangling target index");
    model->microphones[0].target_body = 0;
    EXPECT(sprung_model_save_string(model, &text) == SPRUNG_OK && text, "save after repair");
    sprung_free(text);

    sprung_model_free(model);
    sprung_model_free(NULL);
    SprungModelCounts counts = sprung_model_counts(NULL);
    EXPECT(counts.bodies == 0 && counts.microphones == 0, "counts(NULL)");
    EXPECT(strcmp(sprung_model_name(NULL), "") == 0, "name(NULL)");
    sprung_free(NULL);
    rmdir(dir);
}

int main(void)
{
    run_table();
    check_too_many();
    check_files_and_arguments();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("model errors: all %zu table cases and the file/argument cases passed\n",
           sizeof cases / sizeof *cases);
    return 0;
}
