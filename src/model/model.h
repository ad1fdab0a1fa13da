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
    SPRUNG_MIC_FORCE = 2,
} SprungMicSignal;

/* Microphone routing: stereo by pan (the default), one output channel, or
 * none (a send-only microphone that only feeds delay lines). */
#define SPRUNG_MIC_OUTPUT_PAN (-1)
#define SPRUNG_MIC_OUTPUT_NONE (-2)

/* At most this many microphones per model. Issue 3 asks for 64, but the
 * built-in demo preset (presets/demo.json, two microphones on each of its 37
 * bars) has 74 and must keep loading and sounding the same; the limit goes
 * down to 64 once the demo has at most 64. Output channels are 0..63
 * (SPRUNG_MAX_CHANNELS). */
#define SPRUNG_MODEL_MAX_MICROPHONES 128u
#define SPRUNG_MODEL_MAX_OUTPUT_CHANNEL 63

/* Exciters beyond mallets (docs/preset-format.md "Exciters"). */
typedef enum SprungExciterKind {
    SPRUNG_EXCITER_OSCILLATOR = 0,
    SPRUNG_EXCITER_PLUCK = 1,
    SPRUNG_EXCITER_BOW = 2,
    SPRUNG_EXCITER_AUDIO_INPUT = 3,
    SPRUNG_EXCITER_KIND_COUNT
} SprungExciterKind;

typedef enum SprungWaveform {
    SPRUNG_WAVE_SINE = 0,
    SPRUNG_WAVE_SAW = 1,
    SPRUNG_WAVE_SQUARE = 2,
    SPRUNG_WAVE_NOISE = 3,
} SprungWaveform;

/* An audio input exciter with "input": "none" hears only its delay lines. */
#define SPRUNG_INPUT_NONE (-1)

typedef struct SprungModelBody {
    char *id;
    SprungVec3 position;
    double mass;
    double drag;          /* default 0 */
    SprungVec3 velocity;  /* default 0 */
    double radius;        /* contact radius for collisions, m, default 0 */
    bool has_drag;
    bool has_velocity;
    bool has_radius;
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
    int channel;           /* MIDI channel 1..16, 0 = any (default) */
    bool has_duration_ms;
    bool has_notes;
    bool has_channel;
    char *comment;         /* compact JSON text or NULL */
} SprungModelMallet;

/* One oscillator, pluck, bow or audio input. Fields that do not belong to
 * the exciter's kind stay at zero and are never written back. */
typedef struct SprungModelExciter {
    char *id;
    char *target;
    uint32_t target_body;  /* body index */
    SprungVec3 direction;  /* as written; nonzero, normalised at compile */
    SprungExciterKind kind;
    int note_low;          /* default 0 */
    int note_high;         /* default 127 */
    int channel;           /* MIDI channel 1..16, 0 = any (default) */
    double attack_ms;      /* oscillator, bow, gated input */
    double release_ms;
    /* oscillator */
    SprungWaveform waveform;  /* default sine */
    double amplitude;         /* N at velocity 127 */
    double frequency;         /* Hz; 0 = the note's pitch (default) */
    uint32_t seed;            /* noise seed, default 1 */
    /* pluck: strength = release force (N at velocity 127), stiffness of the
     * plectrum contact, speed, max_travel (0 = none); bow: strength =
     * normal force (N), speed, friction curve */
    double strength;
    double stiffness;
    double speed;
    double max_travel;
    double static_friction;
    double dynamic_friction;
    double slip_velocity;
    double stick_velocity;
    /* audio input */
    double gain;              /* N per unit sample */
    int input;                /* channel (0-based) or SPRUNG_INPUT_NONE; default 0 */
    bool gate;                /* default false */
    bool has_notes, has_channel, has_attack_ms, has_release_ms, has_waveform, has_frequency,
        has_seed, has_speed, has_max_travel, has_static_friction, has_dynamic_friction,
        has_slip_velocity, has_stick_velocity, has_input, has_gate;
    char *comment;
} SprungModelExciter;

/* A one-sided spring-damper contact of `body` with a plane or another
 * point (body or anchor). */
typedef struct SprungModelCollision {
    char *id;
    char *body_id;
    uint32_t body;         /* body index */
    char *other_id;        /* NULL for a plane */
    uint32_t other_point;  /* point index (see above) when other_id */
    SprungVec3 plane_point;
    SprungVec3 plane_normal; /* as written; nonzero */
    double radius;         /* contact distance; resolved at load (see has_radius) */
    double stiffness;
    double damping;        /* default 0 */
    bool has_radius;
    bool has_damping;
    char *comment;
} SprungModelCollision;

/* A delay line from a microphone to an audio input exciter. */
typedef struct SprungModelDelay {
    char *id;
    char *from;            /* microphone id */
    uint32_t from_mic;
    char *to;              /* audio input id */
    uint32_t to_input;     /* index in audio_inputs */
    double time_ms;        /* 0 < t <= 1000 */
    double gain;           /* default 1 */
    double feedback;       /* default 0, |feedback| < 1 */
    bool has_gain;
    bool has_feedback;
    char *comment;
} SprungModelDelay;

typedef struct SprungModelMicrophone {
    char *id;
    char *target;
    uint32_t target_body;  /* body index */
    SprungVec3 axis;       /* as written; nonzero, normalised at compile */
    SprungMicSignal signal; /* default position */
    double gain;           /* default 1 */
    double pan;            /* -1..1, default 0 */
    int output;            /* channel >= 0, SPRUNG_MIC_OUTPUT_PAN (default) or _NONE */
    bool has_signal;
    bool has_gain;
    bool has_pan;
    bool has_output;
    char *comment;         /* compact JSON text or NULL */
} SprungModelMicrophone;

struct SprungModel {
    char *name;
    bool has_name;        /* false: name was taken from the file name */
    char *source;         /* file name (or "<string>") used in messages */
    char *comment;        /* top-level "comment" as compact JSON text, or NULL */

    uint32_t n_bodies, n_anchors, n_springs, n_mallets, n_microphones;
    SprungVec3 gravity;   /* m/s², default 0 */
    bool has_gravity;
    SprungModelBody *bodies;
    SprungModelAnchor *anchors;
    SprungModelSpring *springs;
    SprungModelMallet *mallets;
    SprungModelMicrophone *microphones;
    /* Exciters beyond mallets, one array per section. */
    uint32_t n_oscillators, n_plucks, n_bows, n_audio_inputs, n_collisions, n_delays;
    SprungModelExciter *oscillators;
    SprungModelExciter *plucks;
    SprungModelExciter *bows;
    SprungModelExciter *audio_inputs;
    SprungModelCollision *collisions;
    SprungModelDelay *delays;
    /* "tempo", "voices", "mpe", "sources", "routes" (model_modulation.h);
     * NULL when the preset has none of them. */
    struct SprungModelInstrument *instrument;
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
