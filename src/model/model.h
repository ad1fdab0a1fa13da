/* The in-memory model: what a preset says, parsed, with ids resolved to
 * indices. Private to libsprung (the public handle is opaque). Numbers are
 * kept as double exactly as the preset wrote them; the engine compiles them
 * to float32. Optional fields remember whether the preset gave them, so
 * saving writes back what was written and nothing more.
 *
 * Comments: a preset may carry a "comment" (any JSON value) on the top
 * level and on every object; it is kept as compact JSON text in `comment`
 * (NULL when absent) so that saving writes it back.
 *
 * Points: springs may join bodies and anchors. A point index p < n_bodies is
 * body p; p >= n_bodies is anchor p - n_bodies. */
#ifndef SPRUNG_MODEL_MODEL_H
#define SPRUNG_MODEL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "sprung/model.h"

typedef struct SprungVec3 {
    double x, y, z;
} SprungVec3;

typedef enum SprungMicSignal {
    SPRUNG_MIC_POSITION = 0,
    SPRUNG_MIC_VELOCITY = 1,
} SprungMicSignal;

typedef struct SprungModelBody {
    char *id;
    SprungVec3 position;
    double mass;
    double drag;          /* default 0 */
    SprungVec3 velocity;  /* default 0 */
    bool has_drag;
    bool has_velocity;
    char *comment;        /* compact JSON text or NULL */
} SprungModelBody;

typedef struct SprungModelAnchor {
    char *id;
    SprungVec3 position;
    char *comment;        /* compact JSON text or NULL */
} SprungModelAnchor;

typedef struct SprungModelSpring {
    char *id;
    char *from;           /* ids as written */
    char *to;
    uint32_t from_point;  /* resolved point indices (see above) */
    uint32_t to_point;
    double stiffness;
    double damping;       /* default 0 */
    double rest_length;   /* resolved: the given value or the initial distance */
    bool has_damping;
    bool has_rest_length;
    char *comment;        /* compact JSON text or NULL */
} SprungModelSpring;

typedef struct SprungModelMallet {
    char *id;
    char *target;
    uint32_t target_body;  /* body index */
    SprungVec3 direction;  /* as written; nonzero, normalised at compile */
    double strength;       /* N·s at velocity 127 */
    double duration_ms;    /* default 1 */
    int note_low;          /* default 0 */
    int note_high;         /* default 127 */
    bool has_duration_ms;
    bool has_notes;
    char *comment;         /* compact JSON text or NULL */
} SprungModelMallet;

typedef struct SprungModelMicrophone {
    char *id;
    char *target;
    uint32_t target_body;  /* body index */
    SprungVec3 axis;       /* as written; nonzero, normalised at compile */
    SprungMicSignal signal; /* default position */
    double gain;           /* default 1 */
    double pan;            /* -1..1, default 0 */
    bool has_signal;
    bool has_gain;
    bool has_pan;
    char *comment;         /* compact JSON text or NULL */
} SprungModelMicrophone;

struct SprungModel {
    char *name;
    bool has_name;        /* false: name was taken from the file name */
    char *source;         /* file name (or "<string>") used in messages */
    char *comment;        /* top-level "comment" as compact JSON text, or NULL */

    uint32_t n_bodies, n_anchors, n_springs, n_mallets, n_microphones;
    SprungModelBody *bodies;
    SprungModelAnchor *anchors;
    SprungModelSpring *springs;
    SprungModelMallet *mallets;
    SprungModelMicrophone *microphones;
};

/* Position of point p (body or anchor). */
static inline SprungVec3 sprung_model_point_position(const SprungModel *model, uint32_t p)
{
    return p < model->n_bodies ? model->bodies[p].position
                               : model->anchors[p - model->n_bodies].position;
}

/* Fills `error` (may be NULL) with a formatted message and returns status.
 * `line`/`column` 0 and `path` NULL when unknown. */
SprungStatus sprung_error_set(SprungError *error, SprungStatus status, const char *source,
                              int line, int column, const char *path, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;

#endif
