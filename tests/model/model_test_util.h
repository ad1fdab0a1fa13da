/* Helpers shared by the model tests: readable JSON in C strings and a
 * field-by-field, bit-exact model comparison. Test code only. */
#ifndef SPRUNG_TEST_MODEL_UTIL_H
#define SPRUNG_TEST_MODEL_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

/* JSON written with single quotes (no escaping in C) becomes real JSON. */
static inline char *dequote(const char *text)
{
    char *json = strdup(text);
    if (!json) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (char *p = json; *p; p++)
        if (*p == '\'')
            *p = '"';
    return json;
}

static int compare_failures;

static inline void differ(const char *what, size_t index, const char *field)
{
    fprintf(stderr, "FAIL: models differ at %s[%zu].%s\n", what, index, field);
    compare_failures++;
}

/* Bit-exact: -0.0 differs from 0.0, as a round trip must keep it. */
static inline int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static inline int same_vec(SprungVec3 a, SprungVec3 b)
{
    return same_double(a.x, b.x) && same_double(a.y, b.y) && same_double(a.z, b.z);
}

static inline int same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

#define CHECK_FIELD(cond, what, i, field) \
    do {                                  \
        if (!(cond))                      \
            differ(what, i, field);       \
    } while (0)

/* Returns the number of differing fields (0: identical). */
static inline int compare_models(const SprungModel *a, const SprungModel *b)
{
    compare_failures = 0;
    CHECK_FIELD(same_string(a->name, b->name), "model", 0, "name");
    CHECK_FIELD(a->has_name == b->has_name, "model", 0, "has_name");
    CHECK_FIELD(same_string(a->comment, b->comment), "model", 0, "comment");
    if (a->n_bodies != b->n_bodies || a->n_anchors != b->n_anchors ||
        a->n_springs != b->n_springs || a->n_mallets != b->n_mallets ||
        a->n_microphones != b->n_microphones) {
        differ("model", 0, "counts");
        return compare_failures;
    }
    for (size_t i = 0; i < a->n_bodies; i++) {
        const SprungModelBody *x = &a->bodies[i], *y = &b->bodies[i];
        CHECK_FIELD(same_string(x->id, y->id), "bodies", i, "id");
        CHECK_FIELD(same_vec(x->position, y->position), "bodies", i, "position");
        CHECK_FIELD(same_double(x->mass, y->mass), "bodies", i, "mass");
        CHECK_FIELD(same_double(x->drag, y->drag), "bodies", i, "drag");
        CHECK_FIELD(same_vec(x->velocity, y->velocity), "bodies", i, "velocity");
        CHECK_FIELD(x->has_drag == y->has_drag, "bodies", i, "has_drag");
        CHECK_FIELD(x->has_velocity == y->has_velocity, "bodies", i, "has_velocity");
        CHECK_FIELD(same_string(x->comment, y->comment), "bodies", i, "comment");
    }
    for (size_t i = 0; i < a->n_anchors; i++) {
        const SprungModelAnchor *x = &a->anchors[i], *y = &b->anchors[i];
        CHECK_FIELD(same_string(x->id, y->id), "anchors", i, "id");
        CHECK_FIELD(same_vec(x->position, y->position), "anchors", i, "position");
        CHECK_FIELD(same_string(x->comment, y->comment), "anchors", i, "comment");
    }
    for (size_t i = 0; i < a->n_springs; i++) {
        const SprungModelSpring *x = &a->springs[i], *y = &b->springs[i];
        CHECK_FIELD(same_string(x->id, y->id), "springs", i, "id");
        CHECK_FIELD(same_string(x->from, y->from), "springs", i, "from");
        CHECK_FIELD(same_string(x->to, y->to), "springs", i, "to");
        CHECK_FIELD(x->from_point == y->from_point, "springs", i, "from_point");
        CHECK_FIELD(x->to_point == y->to_point, "springs", i, "to_point");
        CHECK_FIELD(same_double(x->stiffness, y->stiffness), "springs", i, "stiffness");
        CHECK_FIELD(same_double(x->damping, y->damping), "springs", i, "damping");
        CHECK_FIELD(same_double(x->rest_length, y->rest_length), "springs", i, "rest_length");
        CHECK_FIELD(x->has_damping == y->has_damping, "springs", i, "has_damping");
        CHECK_FIELD(x->has_rest_length == y->has_rest_length, "springs", i, "has_rest_length");
        CHECK_FIELD(same_string(x->comment, y->comment), "springs", i, "comment");
    }
    for (size_t i = 0; i < a->n_mallets; i++) {
        const SprungModelMallet *x = &a->mallets[i], *y = &b->mallets[i];
        CHECK_FIELD(same_string(x->id, y->id), "mallets", i, "id");
        CHECK_FIELD(same_string(x->target, y->target), "mallets", i, "target");
        CHECK_FIELD(x->target_body == y->target_body, "mallets", i, "target_body");
        CHECK_FIELD(same_vec(x->direction, y->direction), "mallets", i, "direction");
        CHECK_FIELD(same_double(x->strength, y->strength), "mallets", i, "strength");
        CHECK_FIELD(same_double(x->duration_ms, y->duration_ms), "mallets", i, "duration_ms");
        CHECK_FIELD(x->note_low == y->note_low, "mallets", i, "note_low");
        CHECK_FIELD(x->note_high == y->note_high, "mallets", i, "note_high");
        CHECK_FIELD(x->has_duration_ms == y->has_duration_ms, "mallets", i, "has_duration_ms");
        CHECK_FIELD(x->has_notes == y->has_notes, "mallets", i, "has_notes");
        CHECK_FIELD(same_string(x->comment, y->comment), "mallets", i, "comment");
    }
    for (size_t i = 0; i < a->n_microphones; i++) {
        const SprungModelMicrophone *x = &a->microphones[i], *y = &b->microphones[i];
        CHECK_FIELD(same_string(x->id, y->id), "microphones", i, "id");
        CHECK_FIELD(same_string(x->target, y->target), "microphones", i, "target");
        CHECK_FIELD(x->target_body == y->target_body, "microphones", i, "target_body");
        CHECK_FIELD(same_vec(x->axis, y->axis), "microphones", i, "axis");
        CHECK_FIELD(x->signal == y->signal, "microphones", i, "signal");
        CHECK_FIELD(same_double(x->gain, y->gain), "microphones", i, "gain");
        CHECK_FIELD(same_double(x->pan, y->pan), "microphones", i, "pan");
        CHECK_FIELD(x->has_signal == y->has_signal, "microphones", i, "has_signal");
        CHECK_FIELD(x->has_gain == y->has_gain, "microphones", i, "has_gain");
        CHECK_FIELD(x->has_pan == y->has_pan, "microphones", i, "has_pan");
        CHECK_FIELD(same_string(x->comment, y->comment), "microphones", i, "comment");
    }
    return compare_failures;
}

#endif
