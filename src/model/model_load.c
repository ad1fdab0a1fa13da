/* The preset loader: preset JSON (format version 1, docs/preset-format.md)
 * to a validated SprungModel. Control thread only.
 *
 * Validation reports the first problem in document order, so a preset with
 * several mistakes gets them fixed one at a time, top to bottom. It works in
 * two passes over the parsed tree:
 *   0. collect every well-formed id into one table (ids share one namespace,
 *      and references may point forward in the document);
 *   1. walk every key of every object in document order, checking types,
 *      ranges and references as it goes, and filling the model.
 * Spring rest lengths that the preset leaves out are computed last, once all
 * positions are known. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/model.h"
#include "model/model_ids.h"
#include "model/model_json.h"
#include "model/model_modulation.h"
#include "model/model_text.h"

/* Protects memory: a preset larger than this is almost certainly a mistake,
 * and counts must fit the engine's 32-bit indices with room to spare. */
#define SPRUNG_MODEL_MAX_OBJECTS 1000000u

#define SPRUNG_FORMAT_VERSION 1

typedef struct Loader {
    SprungJsonReader reader; /* the preset's name and the caller's error record */
    SprungModel *model;
    SprungIdTable ids;
    uint32_t planned_bodies;  /* size of "bodies", known before it is parsed */
} Loader;

/* What each section is called, in the order the format documents them. */
static const struct {
    const char *key;       /* top-level key */
    const char *singular;  /* "a body" */
} kind_names[SPRUNG_KIND_COUNT] = {
    [SPRUNG_KIND_BODY] = {"bodies", "a body"},
    [SPRUNG_KIND_ANCHOR] = {"anchors", "an anchor"},
    [SPRUNG_KIND_SPRING] = {"springs", "a spring"},
    [SPRUNG_KIND_MALLET] = {"mallets", "a mallet"},
    [SPRUNG_KIND_MICROPHONE] = {"microphones", "a microphone"},
    [SPRUNG_KIND_OSCILLATOR] = {"oscillators", "an oscillator"},
    [SPRUNG_KIND_PLUCK] = {"plucks", "a pluck"},
    [SPRUNG_KIND_BOW] = {"bows", "a bow"},
    [SPRUNG_KIND_AUDIO_INPUT] = {"audio_inputs", "an audio input"},
    [SPRUNG_KIND_COLLISION] = {"collisions", "a collision"},
    [SPRUNG_KIND_DELAY] = {"delays", "a delay"},
};

/* ---- Messages ---- */

static SprungStatus fail(Loader *L, SprungStatus status, const char *path, const char *format,
                         ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static SprungStatus fail(Loader *L, SprungStatus status, const char *path, const char *format,
                         ...)
{
    va_list args;
    va_start(args, format);
    status = sprung_json_vfail(&L->reader, status, path, format, args);
    va_end(args);
    return status;
}

static SprungStatus no_memory(Loader *L)
{
    return fail(L, SPRUNG_ERROR_NO_MEMORY, NULL, "out of memory while loading the preset");
}

/* ---- Fields ---- */

/* The index of `key` in `fields`, or an error suggesting the closest field
 * (sprung_json_field_index). */
static SprungStatus field_index(Loader *L, const char *object_path, const char *const *fields,
                                const char *key, int *out)
{
    return sprung_json_field_index(&L->reader, object_path, fields, key, out);
}

/* Reports the first required field (in documented order) that `seen` lacks. */
static SprungStatus require_fields(Loader *L, const char *object_path, const char *const *fields,
                                   unsigned seen, unsigned required)
{
    for (int f = 0; fields[f]; f++) {
        if ((required & (1u << f)) && !(seen & (1u << f)))
            return fail(L, SPRUNG_ERROR_INVALID_MODEL, object_path, "missing field \"%s\"",
                        fields[f]);
    }
    return SPRUNG_OK;
}

/* ---- Values ---- */

/* A number the engine can use (sprung_json_number; a mass has a further
 * rule: see read_mass). */
static SprungStatus read_number(Loader *L, const char *path, const json_t *value, double *out)
{
    return sprung_json_read_number(&L->reader, path, value, out);
}

static SprungStatus out_of_range(Loader *L, const char *path, const char *rule, double value)
{
    return sprung_json_out_of_range(&L->reader, path, rule, value);
}

static SprungStatus read_positive(Loader *L, const char *path, const json_t *value, double *out)
{
    SPRUNG_TRY(read_number(L, path, value, out));
    return *out > 0 ? SPRUNG_OK : out_of_range(L, path, "greater than 0", *out);
}

/* A mass is divided by: one float32 rounds to zero (a subnormal such as
 * 1e-320) would make an infinite inverse mass. */
static SprungStatus read_mass(Loader *L, const char *path, const json_t *value, double *out)
{
    SPRUNG_TRY(read_positive(L, path, value, out));
    if (*out < FLT_MIN) {
        char rule[64];
        snprintf(rule, sizeof rule, "at least %.3g kg (the engine computes in float32)",
                 (double)FLT_MIN);
        return out_of_range(L, path, rule, *out);
    }
    return SPRUNG_OK;
}

static SprungStatus read_non_negative(Loader *L, const char *path, const json_t *value,
                                      double *out)
{
    SPRUNG_TRY(read_number(L, path, value, out));
    return *out >= 0 ? SPRUNG_OK : out_of_range(L, path, "0 or more", *out);
}

static SprungStatus read_vec3(Loader *L, const char *path, const json_t *value, bool nonzero,
                              SprungVec3 *out)
{
    if (!json_is_array(value))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected an array of 3 numbers [x, y, z], got %s", sprung_json_type_phrase(value));
    size_t n = json_array_size(value);
    if (n != 3)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected an array of 3 numbers [x, y, z], got an array of %zu", n);
    double xyz[3];
    for (size_t i = 0; i < 3; i++) {
        char element[SPRUNG_PATH_SIZE];
        sprung_json_path(element, "%s[%zu]", path, i);
        SPRUNG_TRY(read_number(L, element, json_array_get(value, i), &xyz[i]));
    }
    if (nonzero && xyz[0] == 0 && xyz[1] == 0 && xyz[2] == 0)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "must not be the zero vector (it gives a direction)");
    *out = (SprungVec3){xyz[0], xyz[1], xyz[2]};
    return SPRUNG_OK;
}

static SprungStatus copy_string(Loader *L, const char *text, char **out)
{
    *out = strdup(text);
    return *out ? SPRUNG_OK : no_memory(L);
}

static SprungStatus read_comment(Loader *L, const json_t *value, char **out)
{
    *out = sprung_json_to_text(value, JSON_COMPACT | JSON_ENCODE_ANY | SPRUNG_JSON_ROUND_TRIP);
    return *out ? SPRUNG_OK : no_memory(L);
}

/* A non-empty string, the id of the object at kind[index]. */
static SprungStatus read_id(Loader *L, const char *path, const json_t *value,
                            SprungObjectKind kind, uint32_t index, char **out)
{
    if (!json_is_string(value))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path, "expected a non-empty string, got %s",
                    sprung_json_type_phrase(value));
    const char *id = json_string_value(value);
    if (id[0] == '\0')
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path, "an id must not be empty");
    /* Pass 0 put the first object with this id in the table. */
    const SprungIdEntry *first = sprung_id_table_find(&L->ids, id);
    if (first && (first->kind != kind || first->index != index))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "duplicate id \"%s\" (first used at %s[%u].id)", id,
                    kind_names[first->kind].key, (unsigned)first->index);
    return copy_string(L, id, out);
}

/* A reference to another object's id; *entry says what it names. */
static SprungStatus read_reference(Loader *L, const char *path, const json_t *value, char **out,
                                   const SprungIdEntry **entry)
{
    if (!json_is_string(value))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected the id of an object (a string), got %s", sprung_json_type_phrase(value));
    const char *id = json_string_value(value);
    *entry = sprung_id_table_find(&L->ids, id);
    if (!*entry)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path, "unknown id \"%s\"", id);
    return copy_string(L, id, out);
}

/* Mallets and microphones act on bodies only. */
static SprungStatus read_body_target(Loader *L, const char *path, const json_t *value,
                                     const char *what_it_does, char **out, uint32_t *body)
{
    const SprungIdEntry *entry;
    SPRUNG_TRY(read_reference(L, path, value, out, &entry));
    if (entry->kind != SPRUNG_KIND_BODY)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path, "\"%s\" is %s; %s", *out,
                    kind_names[entry->kind].singular, what_it_does);
    *body = entry->index;
    return SPRUNG_OK;
}

static uint32_t point_index(const Loader *L, const SprungIdEntry *entry)
{
    return entry->kind == SPRUNG_KIND_BODY ? entry->index : L->planned_bodies + entry->index;
}

/* ---- Objects ---- */

#define FIELD_PATH(buffer, object_path, field) sprung_json_path(buffer, "%s.%s", object_path, field)

#define BIT(f) (1u << (f))

static SprungStatus parse_body(Loader *L, const char *path, json_t *object, uint32_t i)
{
    static const char *const fields[] = {"id",       "position", "mass",    "drag",
                                         "velocity", "radius",   "comment", NULL};
    enum { ID, POSITION, MASS, DRAG, VELOCITY, RADIUS, COMMENT };
    SprungModelBody *body = &L->model->bodies[i];
    unsigned seen = 0;
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        int f;
        char field[SPRUNG_PATH_SIZE];
        SPRUNG_TRY(field_index(L, path, fields, key, &f));
        FIELD_PATH(field, path, key);
        seen |= BIT(f);
        switch (f) {
        case ID: SPRUNG_TRY(read_id(L, field, value, SPRUNG_KIND_BODY, i, &body->id)); break;
        case POSITION: SPRUNG_TRY(read_vec3(L, field, value, false, &body->position)); break;
        case MASS: SPRUNG_TRY(read_mass(L, field, value, &body->mass)); break;
        case DRAG:
            SPRUNG_TRY(read_non_negative(L, field, value, &body->drag));
            body->has_drag = true;
            break;
        case VELOCITY:
            SPRUNG_TRY(read_vec3(L, field, value, false, &body->velocity));
            body->has_velocity = true;
            break;
        case RADIUS:
            SPRUNG_TRY(read_non_negative(L, field, value, &body->radius));
            body->has_radius = true;
            break;
        case COMMENT: SPRUNG_TRY(read_comment(L, value, &body->comment)); break;
        }
    }
    return require_fields(L, path, fields, seen, BIT(ID) | BIT(POSITION) | BIT(MASS));
}

static SprungStatus parse_anchor(Loader *L, const char *path, json_t *object, uint32_t i)
{
    static const char *const fields[] = {"id", "position", "comment", NULL};
    enum { ID, POSITION, COMMENT };
    SprungModelAnchor *anchor = &L->model->anchors[i];
    unsigned seen = 0;
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        int f;
        char field[SPRUNG_PATH_SIZE];
        SPRUNG_TRY(field_index(L, path, fields, key, &f));
        FIELD_PATH(field, path, key);
        seen |= BIT(f);
        switch (f) {
        case ID: SPRUNG_TRY(read_id(L, field, value, SPRUNG_KIND_ANCHOR, i, &anchor->id)); break;
        case POSITION: SPRUNG_TRY(read_vec3(L, field, value, false, &anchor->position)); break;
        case COMMENT: SPRUNG_TRY(read_comment(L, value, &anchor->comment)); break;
        }
    }
    return require_fields(L, path, fields, seen, BIT(ID) | BIT(POSITION));
}

static SprungStatus read_spring_end(Loader *L, const char *path, const json_t *value,
                                    char **out, const SprungIdEntry **entry)
{
    SPRUNG_TRY(read_reference(L, path, value, out, entry));
    if ((*entry)->kind != SPRUNG_KIND_BODY && (*entry)->kind != SPRUNG_KIND_ANCHOR)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "\"%s\" is %s; springs join bodies and anchors", *out,
                    kind_names[(*entry)->kind].singular);
    return SPRUNG_OK;
}

static SprungStatus parse_spring(Loader *L, const char *path, json_t *object, uint32_t i)
{
    static const char *const fields[] = {"id",          "from",    "to", "stiffness", "damping",
                                         "rest_length", "comment", NULL};
    enum { ID, FROM, TO, STIFFNESS, DAMPING, REST_LENGTH, COMMENT };
    SprungModelSpring *spring = &L->model->springs[i];
    const SprungIdEntry *from = NULL, *to = NULL;
    unsigned seen = 0;
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        int f;
        char field[SPRUNG_PATH_SIZE];
        SPRUNG_TRY(field_index(L, path, fields, key, &f));
        FIELD_PATH(field, path, key);
        seen |= BIT(f);
        switch (f) {
        case ID: SPRUNG_TRY(read_id(L, field, value, SPRUNG_KIND_SPRING, i, &spring->id)); break;
        case FROM: SPRUNG_TRY(read_spring_end(L, field, value, &spring->from, &from)); break;
        case TO: SPRUNG_TRY(read_spring_end(L, field, value, &spring->to, &to)); break;
        case STIFFNESS: SPRUNG_TRY(read_non_negative(L, field, value, &spring->stiffness)); break;
        case DAMPING:
            SPRUNG_TRY(read_non_negative(L, field, value, &spring->damping));
            spring->has_damping = true;
            break;
        case REST_LENGTH:
            SPRUNG_TRY(read_non_negative(L, field, value, &spring->rest_length));
            spring->has_rest_length = true;
            break;
        case COMMENT: SPRUNG_TRY(read_comment(L, value, &spring->comment)); break;
        }
    }
    SPRUNG_TRY(require_fields(L, path, fields, seen, BIT(ID) | BIT(FROM) | BIT(TO) | BIT(STIFFNESS)));
    if (from == to)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "joins \"%s\" to itself; a spring needs two different ends", spring->from);
    if (from->kind == SPRUNG_KIND_ANCHOR && to->kind == SPRUNG_KIND_ANCHOR)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "joins two anchors (\"%s\" and \"%s\"); such a spring can never move",
                    spring->from, spring->to);
    spring->from_point = point_index(L, from);
    spring->to_point = point_index(L, to);
    return SPRUNG_OK;
}

static SprungStatus read_note(Loader *L, const char *path, const json_t *value, int *out)
{
    if (!json_is_integer(value))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected a MIDI note number (an integer 0..127), got %s",
                    sprung_json_type_phrase(value));
    json_int_t note = json_integer_value(value);
    if (note < 0 || note > 127)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected a MIDI note number 0..127, got %lld", (long long)note);
    *out = (int)note;
    return SPRUNG_OK;
}

static SprungStatus read_notes(Loader *L, const char *path, const json_t *value, int *low,
                               int *high)
{
    if (!json_is_array(value) || json_array_size(value) != 2) {
        if (json_is_array(value))
            return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                        "expected [low, high] (2 MIDI note numbers), got an array of %zu",
                        json_array_size(value));
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected [low, high] (2 MIDI note numbers), got %s", sprung_json_type_phrase(value));
    }
    char element[SPRUNG_PATH_SIZE];
    sprung_json_path(element, "%s[0]", path);
    SPRUNG_TRY(read_note(L, element, json_array_get(value, 0), low));
    sprung_json_path(element, "%s[1]", path);
    SPRUNG_TRY(read_note(L, element, json_array_get(value, 1), high));
    if (*low > *high)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path, "low note %d is above high note %d",
                    *low, *high);
    return SPRUNG_OK;
}

/* A MIDI channel as musicians count them, 1..16. */
static SprungStatus read_channel(Loader *L, const char *path, const json_t *value, int *out)
{
    if (!json_is_integer(value))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected a MIDI channel (an integer 1..16), got %s", sprung_json_type_phrase(value));
    json_int_t channel = json_integer_value(value);
    if (channel < 1 || channel > 16)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected a MIDI channel 1..16, got %lld", (long long)channel);
    *out = (int)channel;
    return SPRUNG_OK;
}

static SprungStatus parse_mallet(Loader *L, const char *path, json_t *object, uint32_t i)
{
    static const char *const fields[] = {"id",    "target",  "direction", "strength", "duration_ms",
                                         "notes", "channel", "comment",   NULL};
    enum { ID, TARGET, DIRECTION, STRENGTH, DURATION_MS, NOTES, CHANNEL, COMMENT };
    SprungModelMallet *mallet = &L->model->mallets[i];
    mallet->duration_ms = 1;
    mallet->note_low = 0;
    mallet->note_high = 127;
    unsigned seen = 0;
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        int f;
        char field[SPRUNG_PATH_SIZE];
        SPRUNG_TRY(field_index(L, path, fields, key, &f));
        FIELD_PATH(field, path, key);
        seen |= BIT(f);
        switch (f) {
        case ID: SPRUNG_TRY(read_id(L, field, value, SPRUNG_KIND_MALLET, i, &mallet->id)); break;
        case TARGET:
            SPRUNG_TRY(read_body_target(L, field, value, "mallets strike bodies", &mallet->target,
                                        &mallet->target_body));
            break;
        case DIRECTION: SPRUNG_TRY(read_vec3(L, field, value, true, &mallet->direction)); break;
        case STRENGTH: SPRUNG_TRY(read_non_negative(L, field, value, &mallet->strength)); break;
        case DURATION_MS:
            SPRUNG_TRY(read_number(L, field, value, &mallet->duration_ms));
            if (!(mallet->duration_ms > 0 && mallet->duration_ms <= 1000))
                return out_of_range(L, field, "greater than 0 and at most 1000 (milliseconds)",
                                    mallet->duration_ms);
            mallet->has_duration_ms = true;
            break;
        case NOTES:
            SPRUNG_TRY(read_notes(L, field, value, &mallet->note_low, &mallet->note_high));
            mallet->has_notes = true;
            break;
        case CHANNEL:
            SPRUNG_TRY(read_channel(L, field, value, &mallet->channel));
            mallet->has_channel = true;
            break;
        case COMMENT: SPRUNG_TRY(read_comment(L, value, &mallet->comment)); break;
        }
    }
    return require_fields(L, path, fields, seen,
                          BIT(ID) | BIT(TARGET) | BIT(DIRECTION) | BIT(STRENGTH));
}

/* "output": a channel number 0..63, or "none" for a send-only microphone. */
static SprungStatus read_output(Loader *L, const char *path, const json_t *value, int *out)
{
    if (json_is_string(value) && strcmp(json_string_value(value), "none") == 0) {
        *out = SPRUNG_MIC_OUTPUT_NONE;
        return SPRUNG_OK;
    }
    if (!json_is_integer(value))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected an output channel (an integer 0..%d) or \"none\", got %s",
                    SPRUNG_MODEL_MAX_OUTPUT_CHANNEL, sprung_json_type_phrase(value));
    json_int_t channel = json_integer_value(value);
    if (channel < 0 || channel > SPRUNG_MODEL_MAX_OUTPUT_CHANNEL)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected an output channel 0..%d, got %lld",
                    SPRUNG_MODEL_MAX_OUTPUT_CHANNEL, (long long)channel);
    *out = (int)channel;
    return SPRUNG_OK;
}

static SprungStatus parse_microphone(Loader *L, const char *path, json_t *object, uint32_t i)
{
    static const char *const fields[] = {"id",  "target", "axis",    "signal", "gain",
                                         "pan", "output", "comment", NULL};
    enum { ID, TARGET, AXIS, SIGNAL, GAIN, PAN, OUTPUT, COMMENT };
    SprungModelMicrophone *mic = &L->model->microphones[i];
    mic->signal = SPRUNG_MIC_POSITION;
    mic->gain = 1;
    mic->pan = 0;
    mic->output = SPRUNG_MIC_OUTPUT_PAN;
    unsigned seen = 0;
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        int f;
        char field[SPRUNG_PATH_SIZE];
        SPRUNG_TRY(field_index(L, path, fields, key, &f));
        FIELD_PATH(field, path, key);
        seen |= BIT(f);
        switch (f) {
        case ID: SPRUNG_TRY(read_id(L, field, value, SPRUNG_KIND_MICROPHONE, i, &mic->id)); break;
        case TARGET:
            SPRUNG_TRY(read_body_target(L, field, value, "microphones listen to bodies", &mic->target,
                                        &mic->target_body));
            break;
        case AXIS: SPRUNG_TRY(read_vec3(L, field, value, true, &mic->axis)); break;
        case SIGNAL: {
            const char *signal = json_string_value(value);
            if (signal && strcmp(signal, "position") == 0)
                mic->signal = SPRUNG_MIC_POSITION;
            else if (signal && strcmp(signal, "velocity") == 0)
                mic->signal = SPRUNG_MIC_VELOCITY;
            else if (signal && strcmp(signal, "force") == 0)
                mic->signal = SPRUNG_MIC_FORCE;
            else if (signal)
                return fail(L, SPRUNG_ERROR_INVALID_MODEL, field,
                            "expected \"position\", \"velocity\" or \"force\", got \"%s\"",
                            signal);
            else
                return fail(L, SPRUNG_ERROR_INVALID_MODEL, field,
                            "expected \"position\", \"velocity\" or \"force\", got %s",
                            sprung_json_type_phrase(value));
            mic->has_signal = true;
            break;
        }
        case GAIN:
            SPRUNG_TRY(read_number(L, field, value, &mic->gain));
            mic->has_gain = true;
            break;
        case PAN:
            SPRUNG_TRY(read_number(L, field, value, &mic->pan));
            if (!(mic->pan >= -1 && mic->pan <= 1))
                return out_of_range(L, field, "between -1 (left) and 1 (right)", mic->pan);
            mic->has_pan = true;
            break;
        case OUTPUT:
            SPRUNG_TRY(read_output(L, field, value, &mic->output));
            mic->has_output = true;
            break;
        case COMMENT: SPRUNG_TRY(read_comment(L, value, &mic->comment)); break;
        }
    }
    SPRUNG_TRY(require_fields(L, path, fields, seen, BIT(ID) | BIT(TARGET) | BIT(AXIS)));
    if (mic->has_pan && mic->has_output)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "has both \"pan\" and \"output\"; a microphone is panned to stereo or sent "
                    "to one output channel, not both");
    return SPRUNG_OK;
}

/* ---- Exciters: oscillators, plucks, bows, audio inputs ---- */

/* The fields of each exciter kind, in documented order. */
static const char *const oscillator_fields[] = {
    "id",         "target", "direction", "waveform", "amplitude", "frequency",
    "attack_ms", "release_ms", "seed", "notes", "channel", "comment", NULL};
static const char *const pluck_fields[] = {"id",         "target", "direction", "strength",
                                           "stiffness",  "speed",  "max_travel", "notes",
                                           "channel",    "comment", NULL};
static const char *const bow_fields[] = {
    "id",            "target",         "direction", "force",      "speed",
    "static_friction", "dynamic_friction", "slip_velocity", "stick_velocity", "attack_ms",
    "release_ms",    "notes",          "channel",   "comment",    NULL};
static const char *const audio_input_fields[] = {
    "id",        "target",     "direction", "gain",    "input", "gate",
    "attack_ms", "release_ms", "notes",     "channel", "comment", NULL};

static unsigned field_bit(const char *const *fields, const char *name)
{
    for (int f = 0; fields[f]; f++)
        if (strcmp(fields[f], name) == 0)
            return BIT(f);
    return 0;
}

static SprungStatus read_milliseconds(Loader *L, const char *path, const json_t *value,
                                      double *out)
{
    SPRUNG_TRY(read_number(L, path, value, out));
    if (!(*out >= 0 && *out <= 60000))
        return out_of_range(L, path, "between 0 and 60000 (milliseconds)", *out);
    return SPRUNG_OK;
}

static SprungStatus read_waveform(Loader *L, const char *path, const json_t *value,
                                  SprungWaveform *out)
{
    static const char *const names[] = {"sine", "saw", "square", "noise"};
    const char *text = json_string_value(value);
    for (int w = 0; text && w < 4; w++) {
        if (strcmp(text, names[w]) == 0) {
            *out = (SprungWaveform)w;
            return SPRUNG_OK;
        }
    }
    if (text)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected \"sine\", \"saw\", \"square\" or \"noise\", got \"%s\"", text);
    return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                "expected \"sine\", \"saw\", \"square\" or \"noise\", got %s", sprung_json_type_phrase(value));
}

static SprungStatus read_seed(Loader *L, const char *path, const json_t *value, uint32_t *out)
{
    if (!json_is_integer(value))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected a noise seed (an integer 1..4294967295), got %s",
                    sprung_json_type_phrase(value));
    json_int_t seed = json_integer_value(value);
    if (seed < 1 || seed > (json_int_t)UINT32_MAX)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected a noise seed 1..4294967295, got %lld", (long long)seed);
    *out = (uint32_t)seed;
    return SPRUNG_OK;
}

static SprungStatus read_input_channel(Loader *L, const char *path, const json_t *value,
                                       int *out)
{
    if (json_is_string(value) && strcmp(json_string_value(value), "none") == 0) {
        *out = SPRUNG_INPUT_NONE;
        return SPRUNG_OK;
    }
    if (!json_is_integer(value))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected an input channel (an integer 0..63) or \"none\", got %s",
                    sprung_json_type_phrase(value));
    json_int_t channel = json_integer_value(value);
    if (channel < 0 || channel > 63)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected an input channel 0..63, got %lld", (long long)channel);
    *out = (int)channel;
    return SPRUNG_OK;
}

static SprungStatus parse_exciter(Loader *L, const char *path, json_t *object, uint32_t i,
                                  SprungObjectKind kind)
{
    SprungModel *m = L->model;
    const char *const *fields;
    SprungModelExciter *x;
    unsigned required;
    switch (kind) {
    case SPRUNG_KIND_OSCILLATOR:
        fields = oscillator_fields;
        x = &m->oscillators[i];
        x->kind = SPRUNG_EXCITER_OSCILLATOR;
        x->attack_ms = 5;
        x->release_ms = 50;
        x->seed = 1;
        required = field_bit(fields, "amplitude");
        break;
    case SPRUNG_KIND_PLUCK:
        fields = pluck_fields;
        x = &m->plucks[i];
        x->kind = SPRUNG_EXCITER_PLUCK;
        x->speed = 1;
        required = field_bit(fields, "strength") | field_bit(fields, "stiffness");
        break;
    case SPRUNG_KIND_BOW:
        fields = bow_fields;
        x = &m->bows[i];
        x->kind = SPRUNG_EXCITER_BOW;
        x->speed = 0.2;
        x->static_friction = 0.8;
        x->dynamic_friction = 0.3;
        x->slip_velocity = 0.1;
        x->stick_velocity = 0.001;
        x->attack_ms = 50;
        x->release_ms = 100;
        required = field_bit(fields, "force");
        break;
    default:
        fields = audio_input_fields;
        x = &m->audio_inputs[i];
        x->kind = SPRUNG_EXCITER_AUDIO_INPUT;
        x->input = 0;
        x->attack_ms = 5;
        x->release_ms = 50;
        required = field_bit(fields, "gain");
        break;
    }
    required |= field_bit(fields, "id") | field_bit(fields, "target") |
                field_bit(fields, "direction");
    x->note_low = 0;
    x->note_high = 127;
    const char *what = kind == SPRUNG_KIND_OSCILLATOR ? "oscillators drive bodies"
                       : kind == SPRUNG_KIND_PLUCK    ? "plucks pluck bodies"
                       : kind == SPRUNG_KIND_BOW      ? "bows bow bodies"
                                                      : "audio inputs drive bodies";
    unsigned seen = 0;
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        int f;
        char field[SPRUNG_PATH_SIZE];
        SPRUNG_TRY(field_index(L, path, fields, key, &f));
        FIELD_PATH(field, path, key);
        seen |= BIT(f);
        if (!strcmp(key, "id")) {
            SPRUNG_TRY(read_id(L, field, value, kind, i, &x->id));
        } else if (!strcmp(key, "target")) {
            SPRUNG_TRY(read_body_target(L, field, value, what, &x->target, &x->target_body));
        } else if (!strcmp(key, "direction")) {
            SPRUNG_TRY(read_vec3(L, field, value, true, &x->direction));
        } else if (!strcmp(key, "waveform")) {
            SPRUNG_TRY(read_waveform(L, field, value, &x->waveform));
            x->has_waveform = true;
        } else if (!strcmp(key, "amplitude")) {
            SPRUNG_TRY(read_non_negative(L, field, value, &x->amplitude));
        } else if (!strcmp(key, "frequency")) {
            SPRUNG_TRY(read_positive(L, field, value, &x->frequency));
            x->has_frequency = true;
        } else if (!strcmp(key, "attack_ms")) {
            SPRUNG_TRY(read_milliseconds(L, field, value, &x->attack_ms));
            x->has_attack_ms = true;
        } else if (!strcmp(key, "release_ms")) {
            SPRUNG_TRY(read_milliseconds(L, field, value, &x->release_ms));
            x->has_release_ms = true;
        } else if (!strcmp(key, "seed")) {
            SPRUNG_TRY(read_seed(L, field, value, &x->seed));
            x->has_seed = true;
        } else if (!strcmp(key, "strength")) {
            SPRUNG_TRY(read_positive(L, field, value, &x->strength));
        } else if (!strcmp(key, "force")) {
            SPRUNG_TRY(read_non_negative(L, field, value, &x->strength));
        } else if (!strcmp(key, "stiffness")) {
            SPRUNG_TRY(read_positive(L, field, value, &x->stiffness));
        } else if (!strcmp(key, "speed")) {
            if (kind == SPRUNG_KIND_PLUCK)
                SPRUNG_TRY(read_positive(L, field, value, &x->speed));
            else
                SPRUNG_TRY(read_non_negative(L, field, value, &x->speed));
            x->has_speed = true;
        } else if (!strcmp(key, "max_travel")) {
            SPRUNG_TRY(read_positive(L, field, value, &x->max_travel));
            x->has_max_travel = true;
        } else if (!strcmp(key, "static_friction")) {
            SPRUNG_TRY(read_non_negative(L, field, value, &x->static_friction));
            x->has_static_friction = true;
        } else if (!strcmp(key, "dynamic_friction")) {
            SPRUNG_TRY(read_non_negative(L, field, value, &x->dynamic_friction));
            x->has_dynamic_friction = true;
        } else if (!strcmp(key, "slip_velocity")) {
            SPRUNG_TRY(read_positive(L, field, value, &x->slip_velocity));
            x->has_slip_velocity = true;
        } else if (!strcmp(key, "stick_velocity")) {
            SPRUNG_TRY(read_positive(L, field, value, &x->stick_velocity));
            x->has_stick_velocity = true;
        } else if (!strcmp(key, "gain")) {
            SPRUNG_TRY(read_number(L, field, value, &x->gain));
        } else if (!strcmp(key, "input")) {
            SPRUNG_TRY(read_input_channel(L, field, value, &x->input));
            x->has_input = true;
        } else if (!strcmp(key, "gate")) {
            if (!json_is_boolean(value))
                return fail(L, SPRUNG_ERROR_INVALID_MODEL, field,
                            "expected true or false, got %s", sprung_json_type_phrase(value));
            x->gate = json_is_true(value);
            x->has_gate = true;
        } else if (!strcmp(key, "notes")) {
            SPRUNG_TRY(read_notes(L, field, value, &x->note_low, &x->note_high));
            x->has_notes = true;
        } else if (!strcmp(key, "channel")) {
            SPRUNG_TRY(read_channel(L, field, value, &x->channel));
            x->has_channel = true;
        } else if (!strcmp(key, "comment")) {
            SPRUNG_TRY(read_comment(L, value, &x->comment));
        }
    }
    SPRUNG_TRY(require_fields(L, path, fields, seen, required));
    if (kind == SPRUNG_KIND_BOW && x->dynamic_friction > x->static_friction) {
        char a[40], b[40];
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "dynamic_friction %s is above static_friction %s; friction must not grow "
                    "once the bow slips",
                    sprung_format_number(a, x->dynamic_friction), sprung_format_number(b, x->static_friction));
    }
    return SPRUNG_OK;
}

/* ---- Collisions ---- */

static SprungStatus parse_plane(Loader *L, const char *path, const json_t *object,
                                SprungModelCollision *collision)
{
    static const char *const fields[] = {"point", "normal", NULL};
    enum { POINT, NORMAL };
    if (!json_is_object(object))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "expected an object {\"point\": [x, y, z], \"normal\": [x, y, z]}, got %s",
                    sprung_json_type_phrase(object));
    unsigned seen = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)object, key, value) {
        int f;
        char field[SPRUNG_PATH_SIZE];
        SPRUNG_TRY(field_index(L, path, fields, key, &f));
        FIELD_PATH(field, path, key);
        seen |= BIT(f);
        if (f == POINT)
            SPRUNG_TRY(read_vec3(L, field, value, false, &collision->plane_point));
        else
            SPRUNG_TRY(read_vec3(L, field, value, true, &collision->plane_normal));
    }
    return require_fields(L, path, fields, seen, BIT(POINT) | BIT(NORMAL));
}

static SprungStatus parse_collision(Loader *L, const char *path, json_t *object, uint32_t i)
{
    static const char *const fields[] = {"id",        "body",    "other",   "plane", "radius",
                                         "stiffness", "damping", "comment", NULL};
    enum { ID, BODY, OTHER, PLANE, RADIUS, STIFFNESS, DAMPING, COMMENT };
    SprungModelCollision *collision = &L->model->collisions[i];
    const SprungIdEntry *other = NULL;
    unsigned seen = 0;
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        int f;
        char field[SPRUNG_PATH_SIZE];
        SPRUNG_TRY(field_index(L, path, fields, key, &f));
        FIELD_PATH(field, path, key);
        seen |= BIT(f);
        switch (f) {
        case ID: SPRUNG_TRY(read_id(L, field, value, SPRUNG_KIND_COLLISION, i, &collision->id)); break;
        case BODY:
            SPRUNG_TRY(read_body_target(L, field, value, "a collision moves a body", &collision->body_id,
                                        &collision->body));
            break;
        case OTHER:
            SPRUNG_TRY(read_reference(L, field, value, &collision->other_id, &other));
            if (other->kind != SPRUNG_KIND_BODY && other->kind != SPRUNG_KIND_ANCHOR)
                return fail(L, SPRUNG_ERROR_INVALID_MODEL, field,
                            "\"%s\" is %s; bodies collide with bodies, anchors or planes",
                            collision->other_id, kind_names[other->kind].singular);
            collision->other_point = point_index(L, other);
            break;
        case PLANE: SPRUNG_TRY(parse_plane(L, field, value, collision)); break;
        case RADIUS:
            SPRUNG_TRY(read_non_negative(L, field, value, &collision->radius));
            collision->has_radius = true;
            break;
        case STIFFNESS: SPRUNG_TRY(read_positive(L, field, value, &collision->stiffness)); break;
        case DAMPING:
            SPRUNG_TRY(read_non_negative(L, field, value, &collision->damping));
            collision->has_damping = true;
            break;
        case COMMENT: SPRUNG_TRY(read_comment(L, value, &collision->comment)); break;
        }
    }
    SPRUNG_TRY(require_fields(L, path, fields, seen, BIT(ID) | BIT(BODY)));
    if (!(seen & (BIT(OTHER) | BIT(PLANE))))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "missing field \"other\" or \"plane\" (what the body collides with)");
    if ((seen & BIT(OTHER)) && (seen & BIT(PLANE)))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "has both \"other\" and \"plane\"; a collision is with one of them");
    SPRUNG_TRY(require_fields(L, path, fields, seen, BIT(STIFFNESS)));
    if (other && other->kind == SPRUNG_KIND_BODY && other->index == collision->body)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                    "\"%s\" collides with itself; name another body, an anchor or a plane",
                    collision->body_id);
    return SPRUNG_OK;
}

/* ---- Delay lines ---- */

static SprungStatus parse_delay(Loader *L, const char *path, json_t *object, uint32_t i)
{
    static const char *const fields[] = {"id",   "from",     "to",      "time_ms",
                                         "gain", "feedback", "comment", NULL};
    enum { ID, FROM, TO, TIME_MS, GAIN, FEEDBACK, COMMENT };
    SprungModelDelay *delay = &L->model->delays[i];
    delay->gain = 1;
    unsigned seen = 0;
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        int f;
        char field[SPRUNG_PATH_SIZE];
        const SprungIdEntry *entry;
        SPRUNG_TRY(field_index(L, path, fields, key, &f));
        FIELD_PATH(field, path, key);
        seen |= BIT(f);
        switch (f) {
        case ID: SPRUNG_TRY(read_id(L, field, value, SPRUNG_KIND_DELAY, i, &delay->id)); break;
        case FROM:
            SPRUNG_TRY(read_reference(L, field, value, &delay->from, &entry));
            if (entry->kind != SPRUNG_KIND_MICROPHONE)
                return fail(L, SPRUNG_ERROR_INVALID_MODEL, field,
                            "\"%s\" is %s; a delay line starts at a microphone", delay->from,
                            kind_names[entry->kind].singular);
            delay->from_mic = entry->index;
            break;
        case TO:
            SPRUNG_TRY(read_reference(L, field, value, &delay->to, &entry));
            if (entry->kind != SPRUNG_KIND_AUDIO_INPUT)
                return fail(L, SPRUNG_ERROR_INVALID_MODEL, field,
                            "\"%s\" is %s; a delay line feeds an audio input", delay->to,
                            kind_names[entry->kind].singular);
            delay->to_input = entry->index;
            break;
        case TIME_MS:
            SPRUNG_TRY(read_number(L, field, value, &delay->time_ms));
            if (!(delay->time_ms > 0 && delay->time_ms <= 1000))
                return out_of_range(L, field, "greater than 0 and at most 1000 (milliseconds)",
                                    delay->time_ms);
            break;
        case GAIN:
            SPRUNG_TRY(read_number(L, field, value, &delay->gain));
            delay->has_gain = true;
            break;
        case FEEDBACK:
            SPRUNG_TRY(read_number(L, field, value, &delay->feedback));
            if (!(delay->feedback > -1 && delay->feedback < 1))
                return out_of_range(L, field,
                                    "greater than -1 and less than 1 (or the echoes never die)",
                                    delay->feedback);
            delay->has_feedback = true;
            break;
        case COMMENT: SPRUNG_TRY(read_comment(L, value, &delay->comment)); break;
        }
    }
    return require_fields(L, path, fields, seen, BIT(ID) | BIT(FROM) | BIT(TO) | BIT(TIME_MS));
}

/* ---- Sections and the top level ---- */

static SprungStatus allocate_section(Loader *L, SprungObjectKind kind, size_t n)
{
    if (n == 0)
        return SPRUNG_OK;
    SprungModel *m = L->model;
    void *items = NULL;
    switch (kind) {
    case SPRUNG_KIND_BODY: items = m->bodies = calloc(n, sizeof *m->bodies); break;
    case SPRUNG_KIND_ANCHOR: items = m->anchors = calloc(n, sizeof *m->anchors); break;
    case SPRUNG_KIND_SPRING: items = m->springs = calloc(n, sizeof *m->springs); break;
    case SPRUNG_KIND_MALLET: items = m->mallets = calloc(n, sizeof *m->mallets); break;
    case SPRUNG_KIND_MICROPHONE:
        items = m->microphones = calloc(n, sizeof *m->microphones);
        break;
    case SPRUNG_KIND_OSCILLATOR: items = m->oscillators = calloc(n, sizeof *m->oscillators); break;
    case SPRUNG_KIND_PLUCK: items = m->plucks = calloc(n, sizeof *m->plucks); break;
    case SPRUNG_KIND_BOW: items = m->bows = calloc(n, sizeof *m->bows); break;
    case SPRUNG_KIND_AUDIO_INPUT:
        items = m->audio_inputs = calloc(n, sizeof *m->audio_inputs);
        break;
    case SPRUNG_KIND_COLLISION: items = m->collisions = calloc(n, sizeof *m->collisions); break;
    case SPRUNG_KIND_DELAY: items = m->delays = calloc(n, sizeof *m->delays); break;
    case SPRUNG_KIND_COUNT: break;
    }
    if (!items)
        return no_memory(L);
    /* Counted as soon as allocated, so sprung_model_free releases whatever
     * strings a half-parsed section holds. */
    switch (kind) {
    case SPRUNG_KIND_BODY: m->n_bodies = (uint32_t)n; break;
    case SPRUNG_KIND_ANCHOR: m->n_anchors = (uint32_t)n; break;
    case SPRUNG_KIND_SPRING: m->n_springs = (uint32_t)n; break;
    case SPRUNG_KIND_MALLET: m->n_mallets = (uint32_t)n; break;
    case SPRUNG_KIND_MICROPHONE: m->n_microphones = (uint32_t)n; break;
    case SPRUNG_KIND_OSCILLATOR: m->n_oscillators = (uint32_t)n; break;
    case SPRUNG_KIND_PLUCK: m->n_plucks = (uint32_t)n; break;
    case SPRUNG_KIND_BOW: m->n_bows = (uint32_t)n; break;
    case SPRUNG_KIND_AUDIO_INPUT: m->n_audio_inputs = (uint32_t)n; break;
    case SPRUNG_KIND_COLLISION: m->n_collisions = (uint32_t)n; break;
    case SPRUNG_KIND_DELAY: m->n_delays = (uint32_t)n; break;
    case SPRUNG_KIND_COUNT: break;
    }
    return SPRUNG_OK;
}

static SprungStatus no_microphone(Loader *L)
{
    return fail(L, SPRUNG_ERROR_INVALID_MODEL, "microphones",
                "a model with no microphone makes no sound; add at least one");
}

static SprungStatus parse_section(Loader *L, SprungObjectKind kind, json_t *array)
{
    const char *key = kind_names[kind].key;
    if (!json_is_array(array))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, key, "expected an array, got %s",
                    sprung_json_type_phrase(array));
    size_t n = json_array_size(array);
    if (n > SPRUNG_MODEL_MAX_OBJECTS)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, key,
                    "too many objects (%zu; this build reads at most %u)", n,
                    SPRUNG_MODEL_MAX_OBJECTS);
    if (n == 0 && kind == SPRUNG_KIND_BODY)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, key, "a model needs at least one body");
    if (n == 0 && kind == SPRUNG_KIND_MICROPHONE)
        return no_microphone(L);
    /* The mix is one pass over the microphones per engine step: a bound
     * keeps its cost (and a GPU's per-step mix) small. */
    if (n > SPRUNG_MODEL_MAX_MICROPHONES && kind == SPRUNG_KIND_MICROPHONE)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, key,
                    "too many microphones (%zu; a model has at most %u)", n,
                    SPRUNG_MODEL_MAX_MICROPHONES);
    SPRUNG_TRY(allocate_section(L, kind, n));
    for (size_t i = 0; i < n; i++) {
        json_t *object = json_array_get(array, i);
        char path[SPRUNG_PATH_SIZE];
        sprung_json_path(path, "%s[%zu]", key, i);
        if (!json_is_object(object))
            return fail(L, SPRUNG_ERROR_INVALID_MODEL, path, "expected an object, got %s",
                        sprung_json_type_phrase(object));
        uint32_t index = (uint32_t)i;
        switch (kind) {
        case SPRUNG_KIND_BODY: SPRUNG_TRY(parse_body(L, path, object, index)); break;
        case SPRUNG_KIND_ANCHOR: SPRUNG_TRY(parse_anchor(L, path, object, index)); break;
        case SPRUNG_KIND_SPRING: SPRUNG_TRY(parse_spring(L, path, object, index)); break;
        case SPRUNG_KIND_MALLET: SPRUNG_TRY(parse_mallet(L, path, object, index)); break;
        case SPRUNG_KIND_MICROPHONE: SPRUNG_TRY(parse_microphone(L, path, object, index)); break;
        case SPRUNG_KIND_OSCILLATOR:
        case SPRUNG_KIND_PLUCK:
        case SPRUNG_KIND_BOW:
        case SPRUNG_KIND_AUDIO_INPUT: SPRUNG_TRY(parse_exciter(L, path, object, index, kind)); break;
        case SPRUNG_KIND_COLLISION: SPRUNG_TRY(parse_collision(L, path, object, index)); break;
        case SPRUNG_KIND_DELAY: SPRUNG_TRY(parse_delay(L, path, object, index)); break;
        case SPRUNG_KIND_COUNT: break;
        }
    }
    return SPRUNG_OK;
}

static int section_kind(const char *key)
{
    for (int k = 0; k < SPRUNG_KIND_COUNT; k++)
        if (strcmp(kind_names[k].key, key) == 0)
            return k;
    return -1;
}

/* Pass 0: every well-formed id, first occurrence in document order wins.
 * Malformed sections and objects are skipped here; pass 1 reports them. */
static SprungStatus collect_ids(Loader *L, json_t *root)
{
    size_t total = 0;
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        int kind = section_kind(key);
        if (kind >= 0 && json_is_array(value) &&
            json_array_size(value) <= SPRUNG_MODEL_MAX_OBJECTS) {
            total += json_array_size(value);
            if (kind == SPRUNG_KIND_BODY)
                L->planned_bodies = (uint32_t)json_array_size(value);
        }
    }
    if (sprung_id_table_init(&L->ids, total) != 0)
        return no_memory(L);
    json_object_foreach(root, key, value) {
        int kind = section_kind(key);
        if (kind < 0 || !json_is_array(value) ||
            json_array_size(value) > SPRUNG_MODEL_MAX_OBJECTS)
            continue;
        size_t i;
        json_t *object;
        json_array_foreach(value, i, object) {
            const char *id = json_string_value(json_object_get(object, "id"));
            if (id && id[0])
                sprung_id_table_insert(&L->ids, id, (SprungObjectKind)kind, (uint32_t)i);
        }
    }
    return SPRUNG_OK;
}

static SprungStatus check_version(Loader *L, const json_t *root)
{
    const json_t *version = json_object_get(root, "sprung");
    if (!version)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, NULL,
                    "missing field \"sprung\" (the format version; this build reads version %d)",
                    SPRUNG_FORMAT_VERSION);
    if (!json_is_integer(version))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, "sprung",
                    "expected the format version as an integer (%d), got %s",
                    SPRUNG_FORMAT_VERSION, sprung_json_type_phrase(version));
    if (json_integer_value(version) != SPRUNG_FORMAT_VERSION)
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, "sprung",
                    "unsupported preset version %lld (this build reads version %d)",
                    (long long)json_integer_value(version), SPRUNG_FORMAT_VERSION);
    return SPRUNG_OK;
}

/* Rest lengths left out are the initial distance, so an unmodulated model
 * starts at rest; computed in double once every position is known. Every
 * spring's span must also fit the engine's float32 rest vector. */
static SprungStatus resolve_spring_lengths(Loader *L)
{
    SprungModel *m = L->model;
    for (uint32_t s = 0; s < m->n_springs; s++) {
        SprungModelSpring *spring = &m->springs[s];
        SprungVec3 p = sprung_model_point_position(m, spring->from_point);
        SprungVec3 q = sprung_model_point_position(m, spring->to_point);
        double dx = q.x - p.x, dy = q.y - p.y, dz = q.z - p.z;
        double span = sqrt(dx * dx + dy * dy + dz * dz);
        if (!(span <= FLT_MAX)) {
            char path[SPRUNG_PATH_SIZE];
            sprung_json_path(path, "springs[%u]", (unsigned)s);
            return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                        "\"%s\" and \"%s\" are too far apart for the engine's float32 "
                        "(at most %.3g m)",
                        spring->from, spring->to, (double)FLT_MAX);
        }
        if (!spring->has_rest_length)
            spring->rest_length = span;
    }
    return SPRUNG_OK;
}

/* A collision without "radius" touches at the body's radius (plane), or at
 * the sum of both radii (another body; an anchor has none). Known once
 * every body is read. A zero contact distance to a point never touches. */
static SprungStatus resolve_collision_radii(Loader *L)
{
    SprungModel *m = L->model;
    for (uint32_t c = 0; c < m->n_collisions; c++) {
        SprungModelCollision *collision = &m->collisions[c];
        if (!collision->has_radius) {
            collision->radius = m->bodies[collision->body].radius;
            if (collision->other_id && collision->other_point < m->n_bodies)
                collision->radius += m->bodies[collision->other_point].radius;
        }
        if (collision->other_id && !(collision->radius > 0)) {
            char path[SPRUNG_PATH_SIZE];
            sprung_json_path(path, "collisions[%u]", (unsigned)c);
            return fail(L, SPRUNG_ERROR_INVALID_MODEL, path,
                        "the contact distance of \"%s\" and \"%s\" is 0, so they never touch; "
                        "give the bodies a \"radius\" or the collision one",
                        collision->body_id, collision->other_id);
        }
    }
    return SPRUNG_OK;
}

/* The name a preset without "name" gets: its file's base name without the
 * extension ("presets/bell.json" -> "bell"). */
static char *default_name(const char *source_path)
{
    if (!source_path)
        return strdup("untitled");
    const char *base = strrchr(source_path, '/');
    base = base ? base + 1 : source_path;
    const char *dot = strrchr(base, '.');
    size_t length = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (length == 0)
        return strdup("untitled");
    return strndup(base, length);
}

static SprungStatus load_tree(Loader *L, json_t *root, const char *name_source)
{
    static const char *const fields[] = {
        "sprung",       "name",       "comment",    "gravity", "bodies",
        "anchors",      "springs",    "mallets",    "oscillators", "plucks",
        "bows",         "audio_inputs", "microphones", "collisions", "delays",
        "tempo",        "voices",     "mpe",        "sources",  "routes",
        NULL};
    if (!json_is_object(root))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, NULL,
                    "the top level must be a JSON object, got %s", sprung_json_type_phrase(root));
    /* The version decides how everything else reads, so it goes first. */
    SPRUNG_TRY(check_version(L, root));

    /* Missing sections are reported before the walk: without bodies every
     * reference would be "unknown", which hides the real problem. */
    if (!json_object_get(root, "bodies"))
        return fail(L, SPRUNG_ERROR_INVALID_MODEL, NULL,
                    "missing field \"bodies\" (a model needs at least one body)");
    if (!json_object_get(root, "microphones"))
        return no_microphone(L);

    SprungModel *m = L->model;
    m->source = strdup(L->reader.source);
    if (!m->source)
        return no_memory(L);
    SPRUNG_TRY(collect_ids(L, root));

    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        int f;
        SPRUNG_TRY(field_index(L, NULL, fields, key, &f));
        if (strcmp(key, "name") == 0) {
            if (!json_is_string(value))
                return fail(L, SPRUNG_ERROR_INVALID_MODEL, "name", "expected a string, got %s",
                            sprung_json_type_phrase(value));
            SPRUNG_TRY(copy_string(L, json_string_value(value), &m->name));
            m->has_name = true;
        } else if (strcmp(key, "comment") == 0) {
            SPRUNG_TRY(read_comment(L, value, &m->comment));
        } else if (strcmp(key, "gravity") == 0) {
            SPRUNG_TRY(read_vec3(L, "gravity", value, false, &m->gravity));
            m->has_gravity = true;
        } else if (sprung_model_instrument_key(key)) {
            /* Read after the objects they refer to (model_modulation.c). */
        } else if (strcmp(key, "sprung") != 0) {
            int kind = section_kind(key);
            SPRUNG_TRY(parse_section(L, (SprungObjectKind)kind, value));
        }
    }
    if (!m->has_name) {
        m->name = default_name(name_source);
        if (!m->name)
            return no_memory(L);
    }
    SPRUNG_TRY(resolve_spring_lengths(L));
    SPRUNG_TRY(resolve_collision_radii(L));
    return sprung_model_instrument_parse(root, m, &m->instrument, L->reader.error);
}

static void clear_error(SprungError *error)
{
    if (!error)
        return;
    error->status = SPRUNG_OK;
    error->line = 0;
    error->column = 0;
    error->path[0] = '\0';
    error->message[0] = '\0';
}

/* Parses and validates `length` bytes of JSON; `source` names them in
 * messages, `name_source` gives the default name (NULL: "untitled"). */
static SprungStatus load_buffer(const char *text, size_t length, const char *source,
                                const char *name_source, SprungModel **out, SprungError *error)
{
    Loader loader = {.reader = {.source = source, .error = error}};
    Loader *L = &loader;

    /* jansson would say "unexpected token near end of file". */
    size_t blank = 0;
    while (blank < length && text[blank] && strchr(" \t\r\n", text[blank]))
        blank++;
    if (blank == length)
        return sprung_error_set(error, SPRUNG_ERROR_PARSE, source, 0, 0, NULL,
                                "invalid JSON: empty (a preset is a JSON object, see "
                                "docs/preset-format.md)");

    json_error_t json_error;
    /* Duplicate keys are rejected: {"mass": 1, "mass": 2} is a mistake, not
     * a way to say 2. DECODE_ANY lets us say what the top level was. */
    json_t *root;
    int parsed = sprung_json_parse(text, length, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &root,
                                   &json_error);
    if (parsed < 0)
        return no_memory(L);
    if (parsed > 0)
        return sprung_error_set(error, SPRUNG_ERROR_PARSE, source, json_error.line,
                                json_error.column, NULL, "invalid JSON: %s", json_error.text);

    SprungStatus status = SPRUNG_OK;
    loader.model = calloc(1, sizeof *loader.model);
    if (!loader.model)
        status = no_memory(L);
    else
        status = load_tree(L, root, name_source);
    sprung_id_table_destroy(&loader.ids);
    json_decref(root);
    if (status != SPRUNG_OK) {
        sprung_model_free(loader.model);
        return status;
    }
    *out = loader.model;
    return SPRUNG_OK;
}

SprungStatus sprung_model_load_string(const char *json, const char *source_name,
                                      SprungModel **out, SprungError *error)
{
    clear_error(error);
    if (out)
        *out = NULL;
    const char *source = source_name ? source_name : "<string>";
    if (!json || !out)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, source, 0, 0, NULL,
                                "sprung_model_load_string: %s is NULL", json ? "out" : "json");
    return load_buffer(json, strlen(json), source, source_name, out, error);
}

/* Reads a whole file into a malloc'd buffer; IO errors name the file. */
static SprungStatus read_file(const char *path, char **text, size_t *length, SprungError *error)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return sprung_error_set(error, SPRUNG_ERROR_IO, path, 0, 0, NULL, "cannot open: %s",
                                strerror(errno));
    size_t capacity = 1 << 16, size = 0;
    char *buffer = malloc(capacity);
    SprungStatus status = SPRUNG_OK;
    while (buffer) {
        size += fread(buffer + size, 1, capacity - size, file);
        if (size < capacity)
            break;
        char *bigger = capacity <= SIZE_MAX / 2 ? realloc(buffer, capacity * 2) : NULL;
        if (!bigger) {
            free(buffer);
            buffer = NULL;
            break;
        }
        buffer = bigger;
        capacity *= 2;
    }
    if (!buffer)
        status = sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, path, 0, 0, NULL,
                                  "out of memory while reading the preset");
    else if (ferror(file))
        status = sprung_error_set(error, SPRUNG_ERROR_IO, path, 0, 0, NULL, "cannot read: %s",
                                  strerror(errno));
    fclose(file);
    if (status != SPRUNG_OK) {
        free(buffer);
        return status;
    }
    *text = buffer;
    *length = size;
    return SPRUNG_OK;
}

SprungStatus sprung_model_load_file(const char *path, SprungModel **out, SprungError *error)
{
    clear_error(error);
    if (out)
        *out = NULL;
    if (!path || !out)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, path, 0, 0, NULL,
                                "sprung_model_load_file: %s is NULL", path ? "out" : "path");
    char *text = NULL;
    size_t length = 0;
    SPRUNG_TRY(read_file(path, &text, &length, error));
    SprungStatus status = load_buffer(text, length, path, path, out, error);
    free(text);
    return status;
}
