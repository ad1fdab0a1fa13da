/* The instrument sections of a preset: "tempo", "voices" (instanced mode),
 * "mpe", modulation "sources" and "routes" (docs/preset-format.md,
 * "Voices, MPE and modulation"). Parsed after the physical objects, whose
 * ids the routes refer to. Private to libsprung; control thread only.
 *
 * Each source and route keeps the JSON it was read from (compact text) so
 * that saving writes back what was written. */
#ifndef SPRUNG_MODEL_MODEL_MODULATION_H
#define SPRUNG_MODEL_MODEL_MODULATION_H

#include <stdbool.h>
#include <stdint.h>

#include "sprung/status.h"

typedef struct SprungModel SprungModel;
typedef struct SprungModelInstrument SprungModelInstrument;

#define SPRUNG_MODEL_MAX_SOURCES 256u
#define SPRUNG_MODEL_MAX_ROUTES 1024u
#define SPRUNG_MACROS 8u

typedef enum SprungSourceType {
    SPRUNG_SOURCE_LFO = 0,
    SPRUNG_SOURCE_ENVELOPE,
    SPRUNG_SOURCE_FOLLOWER,
    SPRUNG_SOURCE_MIDI,
    SPRUNG_SOURCE_MACRO,
    SPRUNG_SOURCE_CONSTANT,
} SprungSourceType;

typedef enum SprungMidiControl {
    SPRUNG_MIDI_CC = 0,           /* controller `number` of the channel, /127 */
    SPRUNG_MIDI_PITCH_BEND,       /* the note's bend in [−1, 1] (MPE: member + master) */
    SPRUNG_MIDI_CHANNEL_PRESSURE, /* the note's channel's pressure, /127 */
    SPRUNG_MIDI_POLY_PRESSURE,    /* the note's own aftertouch, /127 */
    SPRUNG_MIDI_VELOCITY,         /* the note-on velocity, /127 */
    SPRUNG_MIDI_KEY,              /* the note number, /127 */
    SPRUNG_MIDI_TIMBRE,           /* CC74 of the note's channel, /127 (MPE's third dimension) */
} SprungMidiControl;

typedef struct SprungModelSource {
    char *id;
    SprungSourceType type;
    /* lfo */
    int shape;            /* SprungLfoShape */
    double rate_hz;       /* default 1 */
    double sync_beats;    /* 0 = free (default) */
    double phase;         /* default 0 */
    bool retrigger;       /* default false */
    uint32_t seed;        /* default 1 */
    /* envelope (ADSR) and follower (attack/release) */
    double attack_ms, decay_ms, sustain, release_ms;
    /* follower: an input channel (0-based) or a microphone */
    int input;            /* −1 when following a microphone */
    uint32_t microphone;  /* microphone index when input < 0 */
    /* midi */
    SprungMidiControl control;
    int number;           /* CC number */
    int channel;          /* 1..16, 0 = any (default) */
    /* macro */
    int macro;            /* 0..7 (written 1..8) */
    /* constant */
    double value;
    char *json;           /* the object as written, compact */
} SprungModelSource;

typedef enum SprungRouteKind {
    SPRUNG_ROUTE_PARAMETER = 0,
    SPRUNG_ROUTE_NOTE_TRIGGER,
} SprungRouteKind;

/* What a parameter route changes. */
typedef enum SprungTargetParameter {
    SPRUNG_TARGET_BODY_MASS = 0,
    SPRUNG_TARGET_BODY_DRAG,
    SPRUNG_TARGET_ANCHOR_X,
    SPRUNG_TARGET_ANCHOR_Y,
    SPRUNG_TARGET_ANCHOR_Z,
    SPRUNG_TARGET_SPRING_STIFFNESS,
    SPRUNG_TARGET_SPRING_DAMPING,
    SPRUNG_TARGET_SPRING_REST_LENGTH,
    SPRUNG_TARGET_MALLET_STRENGTH,
    SPRUNG_TARGET_MIC_GAIN,
    SPRUNG_TARGET_MIC_PAN,
    SPRUNG_TARGET_OSCILLATOR_AMPLITUDE,
    SPRUNG_TARGET_OSCILLATOR_FREQUENCY,
    SPRUNG_TARGET_DELAY_TIME,
    SPRUNG_TARGET_COUNT
} SprungTargetParameter;

typedef struct SprungModelRoute {
    uint32_t source;       /* index into sources */
    SprungRouteKind kind;
    /* parameter */
    SprungTargetParameter parameter;
    uint32_t object;       /* index in its section (body, anchor, spring, ...) */
    double lo, hi;         /* range */
    double amount;         /* default 1 */
    double offset;         /* default 0 */
    int curve;             /* SprungCurve, default linear */
    double smoothing_ms;   /* default 5 */
    /* note trigger */
    int note;              /* 0..127 */
    int velocity;          /* 1..127, default 100 */
    int channel;           /* 1..16, default 1 */
    char *json;
} SprungModelRoute;

struct SprungModelInstrument {
    double tempo;          /* bpm, default 120 */
    bool has_tempo;
    /* instanced mode: voices > 0 */
    uint32_t voices;       /* 0 = singleton */
    int root;              /* MIDI note the network is tuned at, default 60 */
    int note_low, note_high; /* playable notes, default [0, 127] */
    double steal_fade_ms;  /* default 3 */
    char *voices_json;
    /* MPE and bend ranges */
    int mpe_lower, mpe_upper;   /* member channels of each zone, 0 = none */
    double member_bend_range;   /* semitones, default 48 */
    double master_bend_range;   /* default 2 (also non-MPE channels) */
    char *mpe_json;
    uint32_t n_sources, n_routes;
    SprungModelSource *sources;
    SprungModelRoute *routes;
};

/* Parses the top-level keys "tempo", "voices", "mpe", "sources", "routes"
 * of `root` (a json_t *, passed as void * so this header needs no jansson)
 * into a new instrument for `model`, whose objects are already loaded.
 * *out is NULL when the preset has none of these keys. */
SprungStatus sprung_model_instrument_parse(const void *root, const SprungModel *model,
                                           SprungModelInstrument **out, SprungError *error);
/* Adds the instrument's keys to a JSON object (json_t *) being saved: 0, or -1
 * when out of memory. */
int sprung_model_instrument_save(const SprungModelInstrument *instrument, void *root);
void sprung_model_instrument_free(SprungModelInstrument *instrument);

/* 1 when the top-level key belongs to this file. */
int sprung_model_instrument_key(const char *key);

/* Names for messages. */
const char *sprung_target_parameter_name(SprungTargetParameter parameter);

#endif
