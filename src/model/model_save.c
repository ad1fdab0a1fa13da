/* Saving a model back to preset JSON (docs/preset-format.md). Control
 * thread only.
 *
 * The output loads back into an identical model and saves again to the
 * identical text: numbers are written with 17 significant digits (enough for
 * any double to round-trip), keys in the documented order, optional fields
 * only when the preset gave them, and comments as they were read. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/model.h"
#include "model/model_modulation.h"
#include "model/model_text.h"

typedef struct Saver {
    const SprungModel *model;
    SprungStatus status;  /* first failure; later calls become no-ops */
} Saver;

static void failed(Saver *S, SprungStatus status)
{
    if (S->status == SPRUNG_OK)
        S->status = status;
}

/* json_object_set_new takes ownership of `value` even on failure and
 * refuses NULL, so a NULL from an earlier constructor lands here. */
static void set(Saver *S, json_t *object, const char *key, json_t *value)
{
    if (json_object_set_new(object, key, value) != 0)
        failed(S, SPRUNG_ERROR_NO_MEMORY);
}

static void append(Saver *S, json_t *array, json_t *value)
{
    if (json_array_append_new(array, value) != 0)
        failed(S, SPRUNG_ERROR_NO_MEMORY);
}

static json_t *real(Saver *S, double value)
{
    /* The loader never lets a non-finite number in; a model edited in
     * memory might, and JSON cannot say it. */
    if (!isfinite(value)) {
        failed(S, SPRUNG_ERROR_INVALID_ARGUMENT);
        return NULL;
    }
    return json_real(value);
}

static json_t *string(Saver *S, const char *text)
{
    if (!text) {
        failed(S, SPRUNG_ERROR_INVALID_ARGUMENT);
        return NULL;
    }
    return json_string(text);
}

static json_t *vec3(Saver *S, SprungVec3 v)
{
    json_t *array = json_array();
    append(S, array, real(S, v.x));
    append(S, array, real(S, v.y));
    append(S, array, real(S, v.z));
    return array;
}

static void set_comment(Saver *S, json_t *object, const char *comment)
{
    if (!comment)
        return;
    json_error_t error;
    json_t *value;
    int parsed = sprung_json_parse(comment, strlen(comment), JSON_DECODE_ANY, &value, &error);
    /* The loader wrote this text, so bad JSON means the model was edited. */
    if (parsed != 0)
        failed(S, parsed < 0 ? SPRUNG_ERROR_NO_MEMORY : SPRUNG_ERROR_INVALID_ARGUMENT);
    set(S, object, "comment", value);
}

/* The id of point p, or NULL (an invalid argument) when p is out of range. */
static const char *point_id(Saver *S, uint32_t p)
{
    const SprungModel *m = S->model;
    if (p < m->n_bodies)
        return m->bodies[p].id;
    if (p - m->n_bodies < m->n_anchors)
        return m->anchors[p - m->n_bodies].id;
    failed(S, SPRUNG_ERROR_INVALID_ARGUMENT);
    return NULL;
}

static const char *body_id(Saver *S, uint32_t b)
{
    if (b < S->model->n_bodies)
        return S->model->bodies[b].id;
    failed(S, SPRUNG_ERROR_INVALID_ARGUMENT);
    return NULL;
}

static json_t *save_body(Saver *S, const SprungModelBody *body)
{
    json_t *o = json_object();
    set(S, o, "id", string(S, body->id));
    set_comment(S, o, body->comment);
    set(S, o, "position", vec3(S, body->position));
    set(S, o, "mass", real(S, body->mass));
    if (body->has_drag)
        set(S, o, "drag", real(S, body->drag));
    if (body->has_velocity)
        set(S, o, "velocity", vec3(S, body->velocity));
    if (body->has_radius)
        set(S, o, "radius", real(S, body->radius));
    return o;
}

static json_t *save_anchor(Saver *S, const SprungModelAnchor *anchor)
{
    json_t *o = json_object();
    set(S, o, "id", string(S, anchor->id));
    set_comment(S, o, anchor->comment);
    set(S, o, "position", vec3(S, anchor->position));
    return o;
}

static json_t *save_spring(Saver *S, const SprungModelSpring *spring)
{
    json_t *o = json_object();
    set(S, o, "id", string(S, spring->id));
    set_comment(S, o, spring->comment);
    /* The resolved indices are the truth; the strings are what was read. */
    set(S, o, "from", string(S, point_id(S, spring->from_point)));
    set(S, o, "to", string(S, point_id(S, spring->to_point)));
    set(S, o, "stiffness", real(S, spring->stiffness));
    if (spring->has_damping)
        set(S, o, "damping", real(S, spring->damping));
    if (spring->has_rest_length)
        set(S, o, "rest_length", real(S, spring->rest_length));
    return o;
}

static json_t *notes_array(Saver *S, int low, int high)
{
    json_t *notes = json_array();
    append(S, notes, json_integer(low));
    append(S, notes, json_integer(high));
    return notes;
}

static json_t *save_mallet(Saver *S, const SprungModelMallet *mallet)
{
    json_t *o = json_object();
    set(S, o, "id", string(S, mallet->id));
    set_comment(S, o, mallet->comment);
    set(S, o, "target", string(S, body_id(S, mallet->target_body)));
    set(S, o, "direction", vec3(S, mallet->direction));
    set(S, o, "strength", real(S, mallet->strength));
    if (mallet->has_duration_ms)
        set(S, o, "duration_ms", real(S, mallet->duration_ms));
    if (mallet->has_notes)
        set(S, o, "notes", notes_array(S, mallet->note_low, mallet->note_high));
    if (mallet->has_channel)
        set(S, o, "channel", json_integer(mallet->channel));
    return o;
}

static json_t *save_exciter(Saver *S, const SprungModelExciter *x)
{
    static const char *const waveforms[] = {"sine", "saw", "square", "noise"};
    json_t *o = json_object();
    set(S, o, "id", string(S, x->id));
    set_comment(S, o, x->comment);
    set(S, o, "target", string(S, body_id(S, x->target_body)));
    set(S, o, "direction", vec3(S, x->direction));
    switch (x->kind) {
    case SPRUNG_EXCITER_OSCILLATOR:
        if (x->has_waveform)
            set(S, o, "waveform", string(S, (unsigned)x->waveform < 4 ? waveforms[x->waveform]
                                                                       : NULL));
        set(S, o, "amplitude", real(S, x->amplitude));
        if (x->has_frequency)
            set(S, o, "frequency", real(S, x->frequency));
        if (x->has_attack_ms)
            set(S, o, "attack_ms", real(S, x->attack_ms));
        if (x->has_release_ms)
            set(S, o, "release_ms", real(S, x->release_ms));
        if (x->has_seed)
            set(S, o, "seed", json_integer(x->seed));
        break;
    case SPRUNG_EXCITER_PLUCK:
        set(S, o, "strength", real(S, x->strength));
        set(S, o, "stiffness", real(S, x->stiffness));
        if (x->has_speed)
            set(S, o, "speed", real(S, x->speed));
        if (x->has_max_travel)
            set(S, o, "max_travel", real(S, x->max_travel));
        break;
    case SPRUNG_EXCITER_BOW:
        set(S, o, "force", real(S, x->strength));
        if (x->has_speed)
            set(S, o, "speed", real(S, x->speed));
        if (x->has_static_friction)
            set(S, o, "static_friction", real(S, x->static_friction));
        if (x->has_dynamic_friction)
            set(S, o, "dynamic_friction", real(S, x->dynamic_friction));
        if (x->has_slip_velocity)
            set(S, o, "slip_velocity", real(S, x->slip_velocity));
        if (x->has_stick_velocity)
            set(S, o, "stick_velocity", real(S, x->stick_velocity));
        if (x->has_attack_ms)
            set(S, o, "attack_ms", real(S, x->attack_ms));
        if (x->has_release_ms)
            set(S, o, "release_ms", real(S, x->release_ms));
        break;
    default:
        set(S, o, "gain", real(S, x->gain));
        if (x->has_input)
            set(S, o, "input",
                x->input == SPRUNG_INPUT_NONE ? json_string("none") : json_integer(x->input));
        if (x->has_gate)
            set(S, o, "gate", json_boolean(x->gate));
        if (x->has_attack_ms)
            set(S, o, "attack_ms", real(S, x->attack_ms));
        if (x->has_release_ms)
            set(S, o, "release_ms", real(S, x->release_ms));
        break;
    }
    if (x->has_notes)
        set(S, o, "notes", notes_array(S, x->note_low, x->note_high));
    if (x->has_channel)
        set(S, o, "channel", json_integer(x->channel));
    return o;
}

static json_t *save_collision(Saver *S, const SprungModelCollision *collision)
{
    json_t *o = json_object();
    set(S, o, "id", string(S, collision->id));
    set_comment(S, o, collision->comment);
    set(S, o, "body", string(S, body_id(S, collision->body)));
    if (collision->other_id) {
        set(S, o, "other", string(S, point_id(S, collision->other_point)));
    } else {
        json_t *plane = json_object();
        set(S, plane, "point", vec3(S, collision->plane_point));
        set(S, plane, "normal", vec3(S, collision->plane_normal));
        set(S, o, "plane", plane);
    }
    if (collision->has_radius)
        set(S, o, "radius", real(S, collision->radius));
    set(S, o, "stiffness", real(S, collision->stiffness));
    if (collision->has_damping)
        set(S, o, "damping", real(S, collision->damping));
    return o;
}

static json_t *save_delay(Saver *S, const SprungModelDelay *delay)
{
    const SprungModel *m = S->model;
    json_t *o = json_object();
    set(S, o, "id", string(S, delay->id));
    set_comment(S, o, delay->comment);
    if (delay->from_mic >= m->n_microphones || delay->to_input >= m->n_audio_inputs) {
        failed(S, SPRUNG_ERROR_INVALID_ARGUMENT);
        return o;
    }
    set(S, o, "from", string(S, m->microphones[delay->from_mic].id));
    set(S, o, "to", string(S, m->audio_inputs[delay->to_input].id));
    set(S, o, "time_ms", real(S, delay->time_ms));
    if (delay->has_gain)
        set(S, o, "gain", real(S, delay->gain));
    if (delay->has_feedback)
        set(S, o, "feedback", real(S, delay->feedback));
    return o;
}

static json_t *save_microphone(Saver *S, const SprungModelMicrophone *mic)
{
    json_t *o = json_object();
    set(S, o, "id", string(S, mic->id));
    set_comment(S, o, mic->comment);
    set(S, o, "target", string(S, body_id(S, mic->target_body)));
    set(S, o, "axis", vec3(S, mic->axis));
    if (mic->has_signal)
        set(S, o, "signal",
            string(S, mic->signal == SPRUNG_MIC_VELOCITY ? "velocity"
                      : mic->signal == SPRUNG_MIC_FORCE  ? "force"
                                                         : "position"));
    if (mic->has_gain)
        set(S, o, "gain", real(S, mic->gain));
    if (mic->has_pan)
        set(S, o, "pan", real(S, mic->pan));
    if (mic->has_output)
        set(S, o, "output", mic->output == SPRUNG_MIC_OUTPUT_NONE ? json_string("none")
                                                                  : json_integer(mic->output));
    return o;
}

static json_t *save_tree(Saver *S)
{
    const SprungModel *m = S->model;
    json_t *root = json_object();
    set(S, root, "sprung", json_integer(1));
    if (m->has_name)
        set(S, root, "name", string(S, m->name));
    set_comment(S, root, m->comment);
    if (m->has_gravity)
        set(S, root, "gravity", vec3(S, m->gravity));

    /* Optional sections are left out when empty: loading gives the same
     * empty section either way. */
    json_t *array = json_array();
    for (uint32_t i = 0; i < m->n_bodies; i++)
        append(S, array, save_body(S, &m->bodies[i]));
    set(S, root, "bodies", array);
    if (m->n_anchors) {
        array = json_array();
        for (uint32_t i = 0; i < m->n_anchors; i++)
            append(S, array, save_anchor(S, &m->anchors[i]));
        set(S, root, "anchors", array);
    }
    if (m->n_springs) {
        array = json_array();
        for (uint32_t i = 0; i < m->n_springs; i++)
            append(S, array, save_spring(S, &m->springs[i]));
        set(S, root, "springs", array);
    }
    if (m->n_mallets) {
        array = json_array();
        for (uint32_t i = 0; i < m->n_mallets; i++)
            append(S, array, save_mallet(S, &m->mallets[i]));
        set(S, root, "mallets", array);
    }
    const char *const exciter_keys[] = {"oscillators", "plucks", "bows", "audio_inputs"};
    const SprungModelExciter *const exciter_sections[] = {m->oscillators, m->plucks, m->bows,
                                                          m->audio_inputs};
    const uint32_t exciter_counts[] = {m->n_oscillators, m->n_plucks, m->n_bows,
                                       m->n_audio_inputs};
    for (int k = 0; k < 4; k++) {
        if (!exciter_counts[k])
            continue;
        array = json_array();
        for (uint32_t i = 0; i < exciter_counts[k]; i++)
            append(S, array, save_exciter(S, &exciter_sections[k][i]));
        set(S, root, exciter_keys[k], array);
    }
    array = json_array();
    for (uint32_t i = 0; i < m->n_microphones; i++)
        append(S, array, save_microphone(S, &m->microphones[i]));
    set(S, root, "microphones", array);
    if (m->n_collisions) {
        array = json_array();
        for (uint32_t i = 0; i < m->n_collisions; i++)
            append(S, array, save_collision(S, &m->collisions[i]));
        set(S, root, "collisions", array);
    }
    if (m->n_delays) {
        array = json_array();
        for (uint32_t i = 0; i < m->n_delays; i++)
            append(S, array, save_delay(S, &m->delays[i]));
        set(S, root, "delays", array);
    }
    if (sprung_model_instrument_save(m->instrument, root) != 0)
        failed(S, SPRUNG_ERROR_NO_MEMORY);
    return root;
}

SprungStatus sprung_model_save_string(const SprungModel *model, char **out_json)
{
    if (out_json)
        *out_json = NULL;
    if (!model || !out_json)
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    Saver saver = {.model = model, .status = SPRUNG_OK};
    json_t *root = save_tree(&saver);
    if (!root)
        failed(&saver, SPRUNG_ERROR_NO_MEMORY);
    char *text = NULL;
    if (saver.status == SPRUNG_OK) {
        text = sprung_json_to_text(root, JSON_INDENT(2) | SPRUNG_JSON_ROUND_TRIP);
        if (!text)
            failed(&saver, SPRUNG_ERROR_NO_MEMORY);
    }
    json_decref(root);
    *out_json = text;
    return saver.status;
}

SprungStatus sprung_model_save_file(const SprungModel *model, const char *path,
                                    SprungError *error)
{
    if (!model || !path)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, path, 0, 0, NULL,
                                "sprung_model_save_file: %s is NULL", model ? "path" : "model");
    char *text;
    SprungStatus status = sprung_model_save_string(model, &text);
    if (status == SPRUNG_ERROR_NO_MEMORY)
        return sprung_error_set(error, status, path, 0, 0, NULL,
                                "out of memory while saving the preset");
    if (status != SPRUNG_OK)
        return sprung_error_set(error, status, path, 0, 0, NULL,
                                "the model holds a value a preset cannot express "
                                "(a non-finite number, a missing id or a bad reference)");
    FILE *file = fopen(path, "wb");
    if (!file) {
        status = sprung_error_set(error, SPRUNG_ERROR_IO, path, 0, 0, NULL,
                                  "cannot open for writing: %s", strerror(errno));
        free(text);
        return status;
    }
    size_t length = strlen(text);
    bool written = fwrite(text, 1, length, file) == length && fputc('\n', file) != EOF;
    int write_errno = errno;
    free(text);
    if (fclose(file) != 0 && written) {
        written = false;
        write_errno = errno;
    }
    if (!written)
        return sprung_error_set(error, SPRUNG_ERROR_IO, path, 0, 0, NULL, "cannot write: %s",
                                strerror(write_errno));
    if (error) {
        error->status = SPRUNG_OK;
        error->message[0] = '\0';
    }
    return SPRUNG_OK;
}
