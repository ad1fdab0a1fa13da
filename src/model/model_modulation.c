/* The instrument sections of a preset ("tempo", "voices", "mpe", "sources",
 * "routes"): parse and validate (one clear message per problem, naming the
 * JSON path), save, free. See model_modulation.h. Control thread only. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/modulation_sources.h"
#include "model/model.h"
#include "model/model_json.h"
#include "model/model_modulation.h"

typedef struct Parser {
    SprungJsonReader reader; /* the preset's name and the caller's error record */
    const SprungModel *model;
    SprungModelInstrument *instrument;
} Parser;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static SprungStatus fail(Parser *P, const char *path, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    SprungStatus status =
        sprung_json_vfail(&P->reader, SPRUNG_ERROR_INVALID_MODEL, path, format, args);
    va_end(args);
    return status;
}

static SprungStatus no_memory(Parser *P)
{
    return sprung_error_set(P->reader.error, SPRUNG_ERROR_NO_MEMORY, P->reader.source, 0, 0, NULL,
                            "out of memory reading the preset");
}

/* Checks every key of `object` against `fields` (NULL-terminated; "comment"
 * is always allowed; a misspelt one gets a suggestion, src/util/suggest.h). */
static SprungStatus known_fields(Parser *P, const char *path, json_t *object,
                                 const char *const *fields)
{
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        int f;
        if (strcmp(key, "comment") != 0)
            SPRUNG_TRY(sprung_json_field_index(&P->reader, path, fields, key, &f));
    }
    return SPRUNG_OK;
}

static SprungStatus read_number(Parser *P, const char *path, const json_t *value, double *out)
{
    return sprung_json_read_number(&P->reader, path, value, out);
}

static SprungStatus read_range(Parser *P, const char *path, const json_t *value, double lo,
                               double hi, const char *rule, double *out)
{
    SPRUNG_TRY(read_number(P, path, value, out));
    if (!(*out >= lo && *out <= hi))
        return sprung_json_out_of_range(&P->reader, path, rule, *out);
    return SPRUNG_OK;
}

static SprungStatus read_integer(Parser *P, const char *path, const json_t *value, long lo,
                                 long hi, const char *what, int *out)
{
    if (!json_is_integer(value))
        return fail(P, path, "expected %s (an integer %ld..%ld), got %s", what, lo, hi,
                    sprung_json_type_phrase(value));
    json_int_t v = json_integer_value(value);
    if (v < lo || v > hi)
        return fail(P, path, "expected %s %ld..%ld, got %lld", what, lo, hi, (long long)v);
    *out = (int)v;
    return SPRUNG_OK;
}

static SprungStatus read_bool(Parser *P, const char *path, const json_t *value, bool *out)
{
    if (!json_is_boolean(value))
        return fail(P, path, "expected true or false, got %s", sprung_json_type_phrase(value));
    *out = json_is_true(value);
    return SPRUNG_OK;
}

static SprungStatus read_string(Parser *P, const char *path, const json_t *value,
                                const char **out)
{
    if (!json_is_string(value))
        return fail(P, path, "expected a string, got %s", sprung_json_type_phrase(value));
    *out = json_string_value(value);
    return SPRUNG_OK;
}

static SprungStatus read_pair(Parser *P, const char *path, const json_t *value, double out[2])
{
    if (!json_is_array(value) || json_array_size(value) != 2)
        return fail(P, path, "expected an array of 2 numbers [low, high], got %s",
                    json_is_array(value) ? "an array of another length" : sprung_json_type_phrase(value));
    char element[SPRUNG_PATH_SIZE];
    for (size_t i = 0; i < 2; ++i) {
        sprung_json_path(element, "%s[%zu]", path, i);
        SPRUNG_TRY(read_number(P, element, json_array_get(value, i), &out[i]));
    }
    return SPRUNG_OK;
}

static SprungStatus save_json(Parser *P, const json_t *value, char **out)
{
    *out = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17) |
                                 JSON_ENCODE_ANY);
    return *out ? SPRUNG_OK : no_memory(P);
}

/* Any object id of the model (for the one namespace): its section name and
 * index, or NULL. */
typedef enum ObjectSection {
    SECTION_BODY, SECTION_ANCHOR, SECTION_SPRING, SECTION_MALLET, SECTION_MICROPHONE,
    SECTION_OSCILLATOR, SECTION_PLUCK, SECTION_BOW, SECTION_AUDIO_INPUT, SECTION_COLLISION,
    SECTION_DELAY, SECTION_SOURCE, SECTION_NONE
} ObjectSection;

static const char *const section_names[] = {"body", "anchor", "spring", "mallet",
                                            "microphone", "oscillator", "pluck", "bow",
                                            "audio input", "collision", "delay",
                                            "modulation source"};

static ObjectSection find_object(const Parser *P, const char *id, uint32_t *index)
{
    const SprungModel *m = P->model;
#define FIND(section, array, count)                         \
    for (uint32_t i = 0; i < (count); ++i)                  \
        if ((array)[i].id && !strcmp((array)[i].id, id)) {  \
            *index = i;                                     \
            return section;                                 \
        }
    FIND(SECTION_BODY, m->bodies, m->n_bodies);
    FIND(SECTION_ANCHOR, m->anchors, m->n_anchors);
    FIND(SECTION_SPRING, m->springs, m->n_springs);
    FIND(SECTION_MALLET, m->mallets, m->n_mallets);
    FIND(SECTION_MICROPHONE, m->microphones, m->n_microphones);
    FIND(SECTION_OSCILLATOR, m->oscillators, m->n_oscillators);
    FIND(SECTION_PLUCK, m->plucks, m->n_plucks);
    FIND(SECTION_BOW, m->bows, m->n_bows);
    FIND(SECTION_AUDIO_INPUT, m->audio_inputs, m->n_audio_inputs);
    FIND(SECTION_COLLISION, m->collisions, m->n_collisions);
    FIND(SECTION_DELAY, m->delays, m->n_delays);
    if (P->instrument)
        FIND(SECTION_SOURCE, P->instrument->sources, P->instrument->n_sources);
#undef FIND
    return SECTION_NONE;
}

/* ---- top-level scalars and objects ---- */

static SprungStatus parse_voices(Parser *P, json_t *object)
{
    SprungModelInstrument *I = P->instrument;
    static const char *const fields[] = {"count", "root", "notes", "steal_fade_ms", NULL};
    if (!json_is_object(object))
        return fail(P, "voices", "expected an object {\"count\": N, \"root\": note}, got %s",
                    sprung_json_type_phrase(object));
    SPRUNG_TRY(known_fields(P, "voices", object, fields));
    json_t *count = json_object_get(object, "count");
    if (!count)
        return fail(P, "voices", "missing field \"count\" (how many notes can sound at once, "
                                 "1..32)");
    int n;
    SPRUNG_TRY(read_integer(P, "voices.count", count, 1, 32, "a voice count", &n));
    I->voices = (uint32_t)n;
    json_t *value;
    if ((value = json_object_get(object, "root")))
        SPRUNG_TRY(read_integer(P, "voices.root", value, 0, 127, "a MIDI note", &I->root));
    if ((value = json_object_get(object, "notes"))) {
        if (!json_is_array(value) || json_array_size(value) != 2)
            return fail(P, "voices.notes", "expected [low, high] MIDI notes");
        SPRUNG_TRY(read_integer(P, "voices.notes[0]", json_array_get(value, 0), 0, 127, "a MIDI note",
                                &I->note_low));
        SPRUNG_TRY(read_integer(P, "voices.notes[1]", json_array_get(value, 1), 0, 127, "a MIDI note",
                                &I->note_high));
        if (I->note_low > I->note_high)
            return fail(P, "voices.notes", "low note %d is above high note %d", I->note_low,
                        I->note_high);
    }
    if ((value = json_object_get(object, "steal_fade_ms")))
        SPRUNG_TRY(read_range(P, "voices.steal_fade_ms", value, 0.1, 100, "between 0.1 and 100 ms",
                              &I->steal_fade_ms));
    return save_json(P, object, &I->voices_json);
}

static SprungStatus parse_mpe(Parser *P, json_t *object)
{
    SprungModelInstrument *I = P->instrument;
    static const char *const fields[] = {"lower", "upper", "member_bend_range",
                                         "master_bend_range", NULL};
    if (!json_is_object(object))
        return fail(P, "mpe", "expected an object {\"lower\": member channels}, got %s",
                    sprung_json_type_phrase(object));
    SPRUNG_TRY(known_fields(P, "mpe", object, fields));
    json_t *value;
    if ((value = json_object_get(object, "lower")))
        SPRUNG_TRY(read_integer(P, "mpe.lower", value, 0, 15, "a member channel count", &I->mpe_lower));
    if ((value = json_object_get(object, "upper")))
        SPRUNG_TRY(read_integer(P, "mpe.upper", value, 0, 15, "a member channel count", &I->mpe_upper));
    if (I->mpe_lower + I->mpe_upper > 14 && I->mpe_lower && I->mpe_upper)
        return fail(P, "mpe", "a lower zone of %d and an upper zone of %d member channels "
                              "overlap (together at most 14)",
                    I->mpe_lower, I->mpe_upper);
    if ((value = json_object_get(object, "member_bend_range")))
        SPRUNG_TRY(read_range(P, "mpe.member_bend_range", value, 0, 96, "between 0 and 96 semitones",
                              &I->member_bend_range));
    if ((value = json_object_get(object, "master_bend_range")))
        SPRUNG_TRY(read_range(P, "mpe.master_bend_range", value, 0, 96, "between 0 and 96 semitones",
                              &I->master_bend_range));
    return save_json(P, object, &I->mpe_json);
}

/* ---- sources ---- */

static const char *const source_type_names[] = {"lfo", "envelope", "follower", "midi", "macro",
                                                "constant"};
static const char *const midi_control_names[] = {"cc", "pitch_bend", "channel_pressure",
                                                 "poly_pressure", "velocity", "key", "timbre"};

static SprungStatus parse_source(Parser *P, const char *path, json_t *object, uint32_t i)
{
    SprungModelSource *s = &P->instrument->sources[i];
    char field[SPRUNG_PATH_SIZE];
    if (!json_is_object(object))
        return fail(P, path, "expected an object, got %s", sprung_json_type_phrase(object));
    json_t *id = json_object_get(object, "id");
    sprung_json_path(field, "%s.id", path);
    if (!id)
        return fail(P, path, "missing field \"id\"");
    if (!json_is_string(id) || !json_string_length(id))
        return fail(P, field, "expected a non-empty string id");
    uint32_t other;
    P->instrument->n_sources = i; /* only earlier sources count as taken */
    ObjectSection section = find_object(P, json_string_value(id), &other);
    P->instrument->n_sources = i + 1;
    if (section != SECTION_NONE)
        return fail(P, field, "duplicate id \"%s\" (already used by a %s)", json_string_value(id),
                    section_names[section]);
    s->id = strdup(json_string_value(id));
    if (!s->id)
        return no_memory(P);
    json_t *type = json_object_get(object, "type");
    sprung_json_path(field, "%s.type", path);
    if (!type)
        return fail(P, path, "missing field \"type\" (\"lfo\", \"envelope\", \"follower\", "
                             "\"midi\", \"macro\" or \"constant\")");
    const char *type_name = NULL;
    SPRUNG_TRY(read_string(P, field, type, &type_name));
    int t = -1;
    for (int k = 0; k < 6; ++k)
        if (!strcmp(type_name, source_type_names[k]))
            t = k;
    if (t < 0)
        return fail(P, field, "unknown source type \"%s\" (one of \"lfo\", \"envelope\", "
                              "\"follower\", \"midi\", \"macro\", \"constant\")",
                    type_name);
    s->type = (SprungSourceType)t;
    /* Defaults. */
    s->rate_hz = 1.0;
    s->seed = 1;
    s->attack_ms = s->type == SPRUNG_SOURCE_FOLLOWER ? 1.0 : 5.0;
    s->decay_ms = 100.0;
    s->sustain = 1.0;
    s->release_ms = s->type == SPRUNG_SOURCE_FOLLOWER ? 50.0 : 100.0;
    s->input = 0;

    static const char *const lfo_fields[] = {"id", "type", "shape", "rate_hz", "sync_beats",
                                             "phase", "retrigger", "seed", NULL};
    static const char *const envelope_fields[] = {"id", "type", "attack_ms", "decay_ms",
                                                  "sustain", "release_ms", NULL};
    static const char *const follower_fields[] = {"id", "type", "input", "microphone",
                                                  "attack_ms", "release_ms", NULL};
    static const char *const midi_fields[] = {"id", "type", "control", "number", "channel", NULL};
    static const char *const macro_fields[] = {"id", "type", "index", NULL};
    static const char *const constant_fields[] = {"id", "type", "value", NULL};
    static const char *const *const fields_of[] = {lfo_fields, envelope_fields, follower_fields,
                                                   midi_fields, macro_fields, constant_fields};
    SPRUNG_TRY(known_fields(P, path, object, fields_of[t]));

    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        sprung_json_path(field, "%s.%s", path, key);
        if (!strcmp(key, "shape")) {
            const char *name = NULL;
            SPRUNG_TRY(read_string(P, field, value, &name));
            s->shape = sprung_lfo_shape_from_name(name);
            if (s->shape < 0)
                return fail(P, field, "unknown LFO shape \"%s\" (one of \"sine\", \"triangle\", "
                                      "\"saw\", \"square\", \"sample_and_hold\")",
                            name);
        } else if (!strcmp(key, "rate_hz")) {
            SPRUNG_TRY(read_range(P, field, value, 1e-4, 1000, "between 0.0001 and 1000 Hz",
                                  &s->rate_hz));
        } else if (!strcmp(key, "sync_beats")) {
            SPRUNG_TRY(read_range(P, field, value, 1.0 / 64, 256, "between 1/64 and 256 beats",
                                  &s->sync_beats));
        } else if (!strcmp(key, "phase")) {
            SPRUNG_TRY(read_number(P, field, value, &s->phase));
            if (!(s->phase >= 0 && s->phase < 1))
                return sprung_json_out_of_range(&P->reader, field,
                                                "in [0, 1) (a fraction of a cycle)", s->phase);
        } else if (!strcmp(key, "retrigger")) {
            SPRUNG_TRY(read_bool(P, field, value, &s->retrigger));
        } else if (!strcmp(key, "seed")) {
            int seed;
            SPRUNG_TRY(read_integer(P, field, value, 1, 2147483647, "a seed", &seed));
            s->seed = (uint32_t)seed;
        } else if (!strcmp(key, "attack_ms")) {
            SPRUNG_TRY(read_range(P, field, value, 0, 60000, "between 0 and 60000 ms", &s->attack_ms));
        } else if (!strcmp(key, "decay_ms")) {
            SPRUNG_TRY(read_range(P, field, value, 0, 60000, "between 0 and 60000 ms", &s->decay_ms));
        } else if (!strcmp(key, "sustain")) {
            SPRUNG_TRY(read_range(P, field, value, 0, 1, "between 0 and 1", &s->sustain));
        } else if (!strcmp(key, "release_ms")) {
            SPRUNG_TRY(read_range(P, field, value, 0, 60000, "between 0 and 60000 ms", &s->release_ms));
        } else if (!strcmp(key, "input")) {
            SPRUNG_TRY(read_integer(P, field, value, 0, 63, "an input channel", &s->input));
        } else if (!strcmp(key, "microphone")) {
            const char *name = NULL;
            SPRUNG_TRY(read_string(P, field, value, &name));
            uint32_t index;
            ObjectSection found = find_object(P, name, &index);
            if (found == SECTION_NONE)
                return fail(P, field, "unknown id \"%s\"", name);
            if (found != SECTION_MICROPHONE)
                return fail(P, field, "\"%s\" is a %s; a follower follows a microphone or an "
                                      "input channel",
                            name, section_names[found]);
            s->microphone = index;
            s->input = -1;
        } else if (!strcmp(key, "control")) {
            const char *name = NULL;
            SPRUNG_TRY(read_string(P, field, value, &name));
            int c = -1;
            for (int k = 0; k < 7; ++k)
                if (!strcmp(name, midi_control_names[k]))
                    c = k;
            if (c < 0)
                return fail(P, field, "unknown MIDI control \"%s\" (one of \"cc\", "
                                      "\"pitch_bend\", \"channel_pressure\", \"poly_pressure\", "
                                      "\"velocity\", \"key\", \"timbre\")",
                            name);
            s->control = (SprungMidiControl)c;
        } else if (!strcmp(key, "number")) {
            SPRUNG_TRY(read_integer(P, field, value, 0, 127, "a controller number", &s->number));
        } else if (!strcmp(key, "channel")) {
            SPRUNG_TRY(read_integer(P, field, value, 1, 16, "a MIDI channel", &s->channel));
        } else if (!strcmp(key, "index")) {
            SPRUNG_TRY(read_integer(P, field, value, 1, SPRUNG_MACROS, "a macro number", &s->macro));
            s->macro -= 1;
        } else if (!strcmp(key, "value")) {
            SPRUNG_TRY(read_number(P, field, value, &s->value));
        }
    }
    if (t == SPRUNG_SOURCE_MIDI) {
        if (!json_object_get(object, "control"))
            return fail(P, path, "missing field \"control\" (which MIDI value: \"cc\", "
                                 "\"pitch_bend\", \"velocity\", ...)");
        if (s->control == SPRUNG_MIDI_CC && !json_object_get(object, "number"))
            return fail(P, path, "missing field \"number\" (the controller number of a \"cc\" "
                                 "source)");
        if (s->control != SPRUNG_MIDI_CC && json_object_get(object, "number"))
            return fail(P, path, "\"number\" belongs to \"cc\" sources only");
    }
    if (t == SPRUNG_SOURCE_MACRO && !json_object_get(object, "index"))
        return fail(P, path, "missing field \"index\" (the macro, 1..8)");
    if (t == SPRUNG_SOURCE_CONSTANT && !json_object_get(object, "value"))
        return fail(P, path, "missing field \"value\"");
    if (t == SPRUNG_SOURCE_FOLLOWER && json_object_get(object, "input") &&
        json_object_get(object, "microphone"))
        return fail(P, path, "a follower follows either an \"input\" or a \"microphone\", "
                             "not both");
    if (t == SPRUNG_SOURCE_LFO && json_object_get(object, "rate_hz") &&
        json_object_get(object, "sync_beats"))
        return fail(P, path, "give \"rate_hz\" or \"sync_beats\", not both");
    return save_json(P, object, &s->json);
}

/* ---- routes ---- */

typedef struct ParameterName {
    ObjectSection section;
    const char *name;
    SprungTargetParameter parameter;
} ParameterName;

static const ParameterName parameter_names[] = {
    {SECTION_BODY, "mass", SPRUNG_TARGET_BODY_MASS},
    {SECTION_BODY, "drag", SPRUNG_TARGET_BODY_DRAG},
    {SECTION_ANCHOR, "x", SPRUNG_TARGET_ANCHOR_X},
    {SECTION_ANCHOR, "y", SPRUNG_TARGET_ANCHOR_Y},
    {SECTION_ANCHOR, "z", SPRUNG_TARGET_ANCHOR_Z},
    {SECTION_SPRING, "stiffness", SPRUNG_TARGET_SPRING_STIFFNESS},
    {SECTION_SPRING, "damping", SPRUNG_TARGET_SPRING_DAMPING},
    {SECTION_SPRING, "rest_length", SPRUNG_TARGET_SPRING_REST_LENGTH},
    {SECTION_MALLET, "strength", SPRUNG_TARGET_MALLET_STRENGTH},
    {SECTION_MICROPHONE, "gain", SPRUNG_TARGET_MIC_GAIN},
    {SECTION_MICROPHONE, "pan", SPRUNG_TARGET_MIC_PAN},
    {SECTION_OSCILLATOR, "amplitude", SPRUNG_TARGET_OSCILLATOR_AMPLITUDE},
    {SECTION_OSCILLATOR, "frequency", SPRUNG_TARGET_OSCILLATOR_FREQUENCY},
    {SECTION_DELAY, "time_ms", SPRUNG_TARGET_DELAY_TIME},
};
#define N_PARAMETER_NAMES (sizeof parameter_names / sizeof parameter_names[0])

const char *sprung_target_parameter_name(SprungTargetParameter parameter)
{
    for (size_t k = 0; k < N_PARAMETER_NAMES; ++k)
        if (parameter_names[k].parameter == parameter)
            return parameter_names[k].name;
    return "?";
}

/* The values a parameter may take (checked against a route's range). */
static SprungStatus check_parameter_range(Parser *P, const char *path,
                                          SprungTargetParameter parameter, const double range[2])
{
    for (int k = 0; k < 2; ++k) {
        double v = range[k];
        char number[40];
        const char *got = sprung_format_number(number, v);
        switch (parameter) {
        case SPRUNG_TARGET_BODY_MASS:
            if (!(v > 0))
                return fail(P, path, "a mass must stay greater than 0, got %s", got);
            break;
        case SPRUNG_TARGET_MIC_PAN:
            if (!(v >= -1 && v <= 1))
                return fail(P, path, "a pan must stay in [-1, 1], got %s", got);
            break;
        case SPRUNG_TARGET_DELAY_TIME:
            if (!(v > 0 && v <= 1000))
                return fail(P, path, "a delay time must stay in (0, 1000] ms, got %s", got);
            break;
        case SPRUNG_TARGET_ANCHOR_X:
        case SPRUNG_TARGET_ANCHOR_Y:
        case SPRUNG_TARGET_ANCHOR_Z:
        case SPRUNG_TARGET_MIC_GAIN:
            break;
        default:
            if (!(v >= 0))
                return fail(P, path, "%s must stay at or above 0, got %s",
                            sprung_target_parameter_name(parameter), got);
            break;
        }
    }
    return SPRUNG_OK;
}

static SprungStatus parse_route(Parser *P, const char *path, json_t *object, uint32_t i)
{
    SprungModelInstrument *I = P->instrument;
    SprungModelRoute *r = &I->routes[i];
    char field[SPRUNG_PATH_SIZE];
    static const char *const fields[] = {"source", "target",  "parameter",    "range",
                                         "amount", "offset",  "curve",        "smoothing_ms",
                                         "note_trigger", NULL};
    if (!json_is_object(object))
        return fail(P, path, "expected an object, got %s", sprung_json_type_phrase(object));
    SPRUNG_TRY(known_fields(P, path, object, fields));
    r->amount = 1.0;
    r->smoothing_ms = 5.0;
    r->velocity = 100;
    r->channel = 1;

    json_t *source = json_object_get(object, "source");
    if (!source)
        return fail(P, path, "missing field \"source\" (the id of a modulation source)");
    sprung_json_path(field, "%s.source", path);
    const char *name = NULL;
    SPRUNG_TRY(read_string(P, field, source, &name));
    uint32_t index;
    ObjectSection found = find_object(P, name, &index);
    if (found == SECTION_NONE)
        return fail(P, field, "unknown id \"%s\"", name);
    if (found != SECTION_SOURCE)
        return fail(P, field, "\"%s\" is a %s, not a modulation source", name,
                    section_names[found]);
    r->source = index;

    json_t *value;
    if ((value = json_object_get(object, "amount"))) {
        sprung_json_path(field, "%s.amount", path);
        SPRUNG_TRY(read_number(P, field, value, &r->amount));
    }
    if ((value = json_object_get(object, "offset"))) {
        sprung_json_path(field, "%s.offset", path);
        SPRUNG_TRY(read_number(P, field, value, &r->offset));
    }

    json_t *trigger = json_object_get(object, "note_trigger");
    json_t *target = json_object_get(object, "target");
    if (trigger && target)
        return fail(P, path, "a route has either a \"target\" and \"parameter\" or a "
                             "\"note_trigger\", not both");
    if (trigger) {
        r->kind = SPRUNG_ROUTE_NOTE_TRIGGER;
        sprung_json_path(field, "%s.note_trigger", path);
        static const char *const trigger_fields[] = {"note", "velocity", "channel", NULL};
        if (!json_is_object(trigger))
            return fail(P, field, "expected an object {\"note\": n, \"velocity\": v, "
                                  "\"channel\": c}, got %s",
                        sprung_json_type_phrase(trigger));
        SPRUNG_TRY(known_fields(P, field, trigger, trigger_fields));
        if (!(value = json_object_get(trigger, "note")))
            return fail(P, field, "missing field \"note\" (the MIDI note it plays)");
        sprung_json_path(field, "%s.note_trigger.note", path);
        SPRUNG_TRY(read_integer(P, field, value, 0, 127, "a MIDI note", &r->note));
        if ((value = json_object_get(trigger, "velocity"))) {
            sprung_json_path(field, "%s.note_trigger.velocity", path);
            SPRUNG_TRY(read_integer(P, field, value, 1, 127, "a velocity", &r->velocity));
        }
        if ((value = json_object_get(trigger, "channel"))) {
            sprung_json_path(field, "%s.note_trigger.channel", path);
            SPRUNG_TRY(read_integer(P, field, value, 1, 16, "a MIDI channel", &r->channel));
        }
        static const char *const parameter_only[] = {"parameter", "range", "curve",
                                                     "smoothing_ms"};
        for (int k = 0; k < 4; ++k)
            if (json_object_get(object, parameter_only[k]))
                return fail(P, path, "\"%s\" does not apply to a note trigger",
                            parameter_only[k]);
        return save_json(P, object, &r->json);
    }

    r->kind = SPRUNG_ROUTE_PARAMETER;
    if (!target)
        return fail(P, path, "missing field \"target\" (the id of the object modulated) or "
                             "\"note_trigger\"");
    sprung_json_path(field, "%s.target", path);
    SPRUNG_TRY(read_string(P, field, target, &name));
    found = find_object(P, name, &index);
    if (found == SECTION_NONE)
        return fail(P, field, "unknown id \"%s\"", name);
    r->object = index;
    json_t *parameter = json_object_get(object, "parameter");
    if (!parameter)
        return fail(P, path, "missing field \"parameter\" (what of \"%s\" is modulated)", name);
    sprung_json_path(field, "%s.parameter", path);
    const char *parameter_name = NULL;
    SPRUNG_TRY(read_string(P, field, parameter, &parameter_name));
    int matched = -1;
    char choices[160] = "";
    for (size_t k = 0; k < N_PARAMETER_NAMES; ++k) {
        if (parameter_names[k].section != found)
            continue;
        if (!strcmp(parameter_names[k].name, parameter_name))
            matched = (int)k;
        size_t used = strlen(choices);
        snprintf(choices + used, sizeof choices - used, "%s\"%s\"", used ? ", " : "",
                 parameter_names[k].name);
    }
    if (matched < 0) {
        if (!choices[0])
            return fail(P, field, "a %s (\"%s\") has no parameter that can be modulated",
                        section_names[found], name);
        return fail(P, field, "a %s has no parameter \"%s\" that can be modulated (one of %s)",
                    section_names[found], parameter_name, choices);
    }
    r->parameter = parameter_names[matched].parameter;
    for (uint32_t k = 0; k < i; ++k)
        if (I->routes[k].kind == SPRUNG_ROUTE_PARAMETER && I->routes[k].parameter == r->parameter &&
            I->routes[k].object == r->object)
            return fail(P, path, "\"%s\" of \"%s\" is already modulated by routes[%u]; give "
                                 "each parameter one route",
                        parameter_name, name, k);

    json_t *range = json_object_get(object, "range");
    if (!range)
        return fail(P, path, "missing field \"range\" (the [low, high] values of \"%s\")",
                    parameter_name);
    sprung_json_path(field, "%s.range", path);
    double pair[2];
    SPRUNG_TRY(read_pair(P, field, range, pair));
    SPRUNG_TRY(check_parameter_range(P, field, r->parameter, pair));
    r->lo = pair[0];
    r->hi = pair[1];
    if ((value = json_object_get(object, "curve"))) {
        sprung_json_path(field, "%s.curve", path);
        const char *curve_name;
        SPRUNG_TRY(read_string(P, field, value, &curve_name));
        r->curve = sprung_curve_from_name(curve_name);
        if (r->curve < 0)
            return fail(P, field, "unknown curve \"%s\" (one of \"linear\", \"exponential\", "
                                  "\"quadratic\", \"cubic\", \"smooth\")",
                        curve_name);
    }
    if (r->curve == SPRUNG_CURVE_EXPONENTIAL && !(r->lo * r->hi > 0)) {
        char lo[40], hi[40];
        sprung_json_path(field, "%s.range", path);
        return fail(P, field, "an exponential curve needs a range of two nonzero values of "
                              "the same sign, got [%s, %s]",
                    sprung_format_number(lo, r->lo), sprung_format_number(hi, r->hi));
    }
    if ((value = json_object_get(object, "smoothing_ms"))) {
        sprung_json_path(field, "%s.smoothing_ms", path);
        SPRUNG_TRY(read_range(P, field, value, 0, 1000, "between 0 and 1000 ms", &r->smoothing_ms));
    }
    return save_json(P, object, &r->json);
}

int sprung_model_instrument_key(const char *key)
{
    static const char *const keys[] = {"tempo", "voices", "mpe", "sources", "routes"};
    for (int k = 0; k < 5; ++k)
        if (!strcmp(key, keys[k]))
            return 1;
    return 0;
}

SprungStatus sprung_model_instrument_parse(const void *root_json, const SprungModel *model,
                                           SprungModelInstrument **out, SprungError *error)
{
    json_t *root = (json_t *)root_json;
    *out = NULL;
    int any = 0;
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) any |= sprung_model_instrument_key(key);
    if (!any)
        return SPRUNG_OK;

    Parser parser = {.reader = {.source = model->source, .error = error}, .model = model};
    Parser *P = &parser;
    SprungModelInstrument *I = calloc(1, sizeof *I);
    if (!I)
        return no_memory(P);
    parser.instrument = I;
    I->tempo = 120.0;
    I->root = 60;
    I->note_low = 0;
    I->note_high = 127;
    I->steal_fade_ms = 3.0;
    I->member_bend_range = 48.0;
    I->master_bend_range = 2.0;
    SprungStatus status = SPRUNG_OK;

    json_t *sources = json_object_get(root, "sources");
    json_t *routes = json_object_get(root, "routes");
    size_t n_sources = json_is_array(sources) ? json_array_size(sources) : 0;
    size_t n_routes = json_is_array(routes) ? json_array_size(routes) : 0;
    if (sources && !json_is_array(sources)) {
        status = fail(P, "sources", "expected an array, got %s", sprung_json_type_phrase(sources));
        goto done;
    }
    if (routes && !json_is_array(routes)) {
        status = fail(P, "routes", "expected an array, got %s", sprung_json_type_phrase(routes));
        goto done;
    }
    if (n_sources > SPRUNG_MODEL_MAX_SOURCES) {
        status = fail(P, "sources", "too many sources (%zu; at most %u)", n_sources,
                      SPRUNG_MODEL_MAX_SOURCES);
        goto done;
    }
    if (n_routes > SPRUNG_MODEL_MAX_ROUTES) {
        status = fail(P, "routes", "too many routes (%zu; at most %u)", n_routes,
                      SPRUNG_MODEL_MAX_ROUTES);
        goto done;
    }
    I->sources = calloc(n_sources ? n_sources : 1, sizeof *I->sources);
    I->routes = calloc(n_routes ? n_routes : 1, sizeof *I->routes);
    if (!I->sources || !I->routes) {
        status = no_memory(P);
        goto done;
    }

    /* Document order for the scalars and objects; sources before routes
     * (routes name sources). */
    json_object_foreach(root, key, value) {
        if (!strcmp(key, "tempo")) {
            status = read_range(P, "tempo", value, 1, 999, "between 1 and 999 beats per minute",
                                &I->tempo);
            I->has_tempo = true;
        } else if (!strcmp(key, "voices")) {
            status = parse_voices(P, value);
        } else if (!strcmp(key, "mpe")) {
            status = parse_mpe(P, value);
        }
        if (status != SPRUNG_OK)
            goto done;
    }
    if (I->voices && !(I->root >= I->note_low && I->root <= 127)) {
        status = fail(P, "voices.root", "root %d is below the lowest playable note %d", I->root,
                      I->note_low);
        goto done;
    }
    for (size_t s = 0; s < n_sources; ++s) {
        char path[SPRUNG_PATH_SIZE];
        sprung_json_path(path, "sources[%zu]", s);
        I->n_sources = (uint32_t)s + 1;
        status = parse_source(P, path, json_array_get(sources, s), (uint32_t)s);
        if (status != SPRUNG_OK)
            goto done;
    }
    for (size_t r = 0; r < n_routes; ++r) {
        char path[SPRUNG_PATH_SIZE];
        sprung_json_path(path, "routes[%zu]", r);
        I->n_routes = (uint32_t)r + 1;
        status = parse_route(P, path, json_array_get(routes, r), (uint32_t)r);
        if (status != SPRUNG_OK)
            goto done;
    }

done:
    if (status != SPRUNG_OK) {
        sprung_model_instrument_free(I);
        return status;
    }
    *out = I;
    return SPRUNG_OK;
}

static json_t *load_json(const char *text)
{
    return text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
}

int sprung_model_instrument_save(const SprungModelInstrument *I, void *root_json)
{
    json_t *root = root_json;
    if (!I)
        return 0;
    if (I->has_tempo && json_object_set_new(root, "tempo", json_real(I->tempo)))
        return -1;
    if (I->voices_json && json_object_set_new(root, "voices", load_json(I->voices_json)))
        return -1;
    if (I->mpe_json && json_object_set_new(root, "mpe", load_json(I->mpe_json)))
        return -1;
    if (I->n_sources) {
        json_t *array = json_array();
        for (uint32_t s = 0; s < I->n_sources; ++s)
            if (json_array_append_new(array, load_json(I->sources[s].json))) {
                json_decref(array);
                return -1;
            }
        if (json_object_set_new(root, "sources", array))
            return -1;
    }
    if (I->n_routes) {
        json_t *array = json_array();
        for (uint32_t r = 0; r < I->n_routes; ++r)
            if (json_array_append_new(array, load_json(I->routes[r].json))) {
                json_decref(array);
                return -1;
            }
        if (json_object_set_new(root, "routes", array))
            return -1;
    }
    return 0;
}

void sprung_model_instrument_free(SprungModelInstrument *I)
{
    if (!I)
        return;
    for (uint32_t s = 0; s < I->n_sources; ++s) {
        free(I->sources[s].id);
        free(I->sources[s].json);
    }
    for (uint32_t r = 0; r < I->n_routes; ++r)
        free(I->routes[r].json);
    free(I->sources);
    free(I->routes);
    free(I->voices_json);
    free(I->mpe_json);
    free(I);
}
