/* Modulation sources and the pieces of a modulation route, as plain state
 * machines stepped once per output frame: LFO, ADSR envelope, envelope
 * follower, the MIDI Note Trigger edge detector, and the curves that map a
 * route's position to a parameter value. Each is defined exactly here (the
 * tests in tests/modulation check the waveforms against these definitions).
 * Private to libsprung.
 *
 * Threading: *_init on the control thread (or the audio thread: nothing
 * allocates anywhere in this file); everything else is SPRUNG_REALTIME.
 *
 * Convention: `*_next()` returns the source's value at the current frame,
 * then moves to the next frame. Events at a frame (note-on: retrigger, gate)
 * are applied before that frame's `*_next()`.
 *
 * Ranges: LFO [−1, 1] (bipolar); ADSR [0, 1]; follower ≥ 0 (the input's
 * amplitude); MIDI sources [0, 1], pitch bend [−1, 1]; macros [0, 1]. */
#ifndef SPRUNG_ENGINE_MODULATION_SOURCES_H
#define SPRUNG_ENGINE_MODULATION_SOURCES_H

#include <math.h>
#include <stdint.h>

#include "sprung/attributes.h"

/* ---- LFO ----
 * Phase φ ∈ [0, 1) at frame n after the last anchor (start, retrigger, or a
 * change of rate or tempo):
 *     φ(n) = frac(φ_a + n·f/fs)      (computed as n·f first, then ÷ fs)
 * so the phase never drifts and a 2 Hz LFO at 48 kHz is exactly at φ_a
 * again every 24000 frames. At an anchor φ_a is the phase reached.
 * Shapes, of φ:
 *   sine      sin(2πφ)
 *   triangle  4φ for φ < ¼;  2 − 4φ for φ < ¾;  4φ − 4 otherwise (starts at 0, rising)
 *   saw       2φ − 1 (rising)
 *   square    +1 for φ < ½, −1 otherwise
 *   sample-and-hold  a value uniform in [−1, 1) drawn at each start, retrigger
 *             and phase wrap, from a xorshift32 generator seeded by `seed`
 *             (the same seed gives the same sequence).
 * Rate: `rate_hz`, or, when `sync_beats` > 0, one cycle every `sync_beats`
 * beats of the tempo: f = tempo/60/sync_beats. */
typedef enum SprungLfoShape {
    SPRUNG_LFO_SINE = 0,
    SPRUNG_LFO_TRIANGLE,
    SPRUNG_LFO_SAW,
    SPRUNG_LFO_SQUARE,
    SPRUNG_LFO_SAMPLE_HOLD,
} SprungLfoShape;

typedef struct SprungLfoConfig {
    SprungLfoShape shape;
    double rate_hz;    /* used when sync_beats is 0 */
    double sync_beats; /* > 0: tempo-synced cycle length in beats */
    double phase;      /* start phase in [0, 1) */
    int retrigger;     /* 1: every note-on restarts the phase (per voice in instanced mode) */
    uint32_t seed;     /* sample-and-hold generator seed (0 is replaced by 1) */
} SprungLfoConfig;

typedef struct SprungLfo {
    SprungLfoConfig config;
    double sample_rate;
    double rate;         /* Hz now */
    double anchor_phase; /* φ_a */
    uint64_t frames;     /* n: frames since the anchor */
    int64_t cycle;       /* floor(φ_a + n·f/fs) at the last frame (sample-and-hold) */
    uint32_t random;     /* xorshift32 state */
    double held;         /* sample-and-hold value */
} SprungLfo;

void sprung_lfo_init(SprungLfo *lfo, const SprungLfoConfig *config, double sample_rate,
                     double tempo_bpm);
/* The rate implied by the config at `tempo_bpm`. */
double sprung_lfo_config_rate(const SprungLfoConfig *config, double tempo_bpm);
SPRUNG_REALTIME double sprung_lfo_next(SprungLfo *lfo);
/* Back to the start phase (a note-on with retrigger, or a reset). */
SPRUNG_REALTIME void sprung_lfo_retrigger(SprungLfo *lfo);
/* A new rate (Hz) from the current phase on, without a jump. */
SPRUNG_REALTIME void sprung_lfo_set_rate(SprungLfo *lfo, double rate_hz);
/* A new tempo: synced LFOs change rate (without a jump); free ones ignore it. */
SPRUNG_REALTIME void sprung_lfo_set_tempo(SprungLfo *lfo, double tempo_bpm);
/* The phase the next call to sprung_lfo_next() will use. */
SPRUNG_REALTIME double sprung_lfo_phase(const SprungLfo *lfo);
/* The shape's value at phase φ (no state). */
SPRUNG_REALTIME double sprung_lfo_shape_value(SprungLfoShape shape, double phase);

/* ---- ADSR envelope ----
 * Straight segments at fixed rates per frame (fs = output rate):
 *   attack:  level rises by 1/(A·fs) per frame until it reaches 1 (A = 0: 1 at once)
 *   decay:   falls by (1 − S)/(D·fs) per frame until S (D = 0: S at once)
 *   sustain: S while the gate is held
 *   release: falls by L_r/(R·fs) per frame, L_r the level at the gate-off,
 *            until 0 (R = 0: 0 at once); then idle.
 * A gate-on starts the attack from the current level (a retriggered note
 * never jumps to 0: no click). The value at the gate-on frame is the level
 * before that frame's step; a step that passes a segment's end stops on it. */
typedef struct SprungAdsrConfig {
    double attack_ms, decay_ms, sustain, release_ms;
} SprungAdsrConfig;

typedef enum SprungAdsrStage {
    SPRUNG_ADSR_IDLE = 0,
    SPRUNG_ADSR_ATTACK,
    SPRUNG_ADSR_DECAY,
    SPRUNG_ADSR_SUSTAIN,
    SPRUNG_ADSR_RELEASE,
} SprungAdsrStage;

typedef struct SprungAdsr {
    double attack_step;  /* per frame; +inf for A = 0 */
    double decay_step;
    double sustain;
    double release_frames; /* R·fs */
    double release_step;   /* set at gate-off */
    double level;
    SprungAdsrStage stage;
} SprungAdsr;

void sprung_adsr_init(SprungAdsr *adsr, const SprungAdsrConfig *config, double sample_rate);
SPRUNG_REALTIME void sprung_adsr_gate_on(SprungAdsr *adsr);
SPRUNG_REALTIME void sprung_adsr_gate_off(SprungAdsr *adsr);
SPRUNG_REALTIME double sprung_adsr_next(SprungAdsr *adsr);
/* Level 0, idle. */
SPRUNG_REALTIME void sprung_adsr_reset(SprungAdsr *adsr);

/* ---- Envelope follower ----
 * y ← y + a·(|x| − y), a = a_attack while |x| > y, else a_release, with
 * a = 1 − exp(−1/(τ·fs)): a peak detector with separate attack and release
 * time constants. `next` takes the frame's input and returns the new y. */
typedef struct SprungFollower {
    double attack_coefficient;
    double release_coefficient;
    double level;
} SprungFollower;

void sprung_follower_init(SprungFollower *follower, double attack_ms, double release_ms,
                          double sample_rate);
SPRUNG_REALTIME double sprung_follower_next(SprungFollower *follower, double input);
SPRUNG_REALTIME void sprung_follower_reset(SprungFollower *follower);

/* ---- MIDI Note Trigger ----
 * Low → high when the signal goes above 0.5 (a note-on), high → low when it
 * goes below 0.5 (a note-off); exactly 0.5 and NaN keep the state. Starts
 * low, so a signal that starts high fires at its first frame. Evaluated
 * every frame, so an onset and its release inside one block both happen, at
 * their own frames (the onset is latched as an event, never lost). */
typedef enum SprungTriggerEdge {
    SPRUNG_TRIGGER_NONE = 0,
    SPRUNG_TRIGGER_ON = 1,
    SPRUNG_TRIGGER_OFF = 2,
} SprungTriggerEdge;

typedef struct SprungNoteTrigger {
    int high;
} SprungNoteTrigger;

static inline void sprung_note_trigger_reset(SprungNoteTrigger *trigger)
{
    trigger->high = 0;
}
SPRUNG_REALTIME SprungTriggerEdge sprung_note_trigger_next(SprungNoteTrigger *trigger,
                                                           double value);

/* ---- Route curves ----
 * A route's position x = clamp(offset + amount·s, 0, 1) for source value s
 * maps to the parameter value over the route's range [lo, hi]:
 *   linear       lo + (hi − lo)·x
 *   exponential  lo·(hi/lo)^x      (lo and hi nonzero, same sign: equal
 *                                    ratios per equal step, for frequencies,
 *                                    stiffnesses, gains)
 *   quadratic    lo + (hi − lo)·x²
 *   cubic        lo + (hi − lo)·x³
 *   smooth       lo + (hi − lo)·x²(3 − 2x)  (smoothstep: flat at both ends) */
typedef enum SprungCurve {
    SPRUNG_CURVE_LINEAR = 0,
    SPRUNG_CURVE_EXPONENTIAL,
    SPRUNG_CURVE_QUADRATIC,
    SPRUNG_CURVE_CUBIC,
    SPRUNG_CURVE_SMOOTH,
} SprungCurve;

/* Inline: every parameter route that moves goes through both every output
 * frame (the vibraphone preset renders 7 % faster than with calls). */
static inline SPRUNG_REALTIME double sprung_route_position(double offset, double amount,
                                                          double source)
{
    double x = offset + amount * source;
    if (!(x > 0.0))
        return 0.0; /* also NaN */
    return x > 1.0 ? 1.0 : x;
}

static inline SPRUNG_REALTIME double sprung_curve_map(SprungCurve curve, double lo, double hi,
                                                      double x)
{
    if (!(x > 0.0))
        x = 0.0;
    if (x > 1.0)
        x = 1.0;
    switch (curve) {
    case SPRUNG_CURVE_EXPONENTIAL:
        if (x == 0.0)
            return lo;
        if (x == 1.0)
            return hi;
        return lo * pow(hi / lo, x);
    case SPRUNG_CURVE_QUADRATIC:
        return lo + (hi - lo) * (x * x);
    case SPRUNG_CURVE_CUBIC:
        return lo + (hi - lo) * (x * x * x);
    case SPRUNG_CURVE_SMOOTH:
        return lo + (hi - lo) * (x * x * (3.0 - 2.0 * x));
    case SPRUNG_CURVE_LINEAR:
    default:
        return lo + (hi - lo) * x;
    }
}

/* Names as written in presets ("sine", "exponential", ...); -1 when unknown. */
int sprung_lfo_shape_from_name(const char *name);
int sprung_curve_from_name(const char *name);
const char *sprung_lfo_shape_name(SprungLfoShape shape);
const char *sprung_curve_name(SprungCurve curve);

#endif
