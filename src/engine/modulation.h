/* The modulation runtime: a preset's sources and routes
 * (model/model_modulation.h) as live state, evaluated once per output frame.
 * It computes every source, turns Note Trigger routes into note events, and
 * gives each parameter route's smoothed value per voice; the engine writes
 * those values into the arrays the kernel reads (docs/preset-format.md,
 * "How modulation reaches the physics"). Private to libsprung.
 *
 * Threading: new/free on the control thread (all memory is allocated
 * there); everything else SPRUNG_REALTIME.
 *
 * Voices: with n_voices > 1 (instanced mode) the per-note sources (an
 * envelope, a retriggered LFO, velocity, key, a note's pitch bend, pressure
 * and timbre) have one instance per voice, and so do the routes they feed;
 * the others (free LFOs, followers, CCs, macros, constants) have one
 * instance, shared. With n_voices = 1 (singleton mode) per-note sources
 * follow the most recent note, and envelopes stay open while any note is
 * held.
 *
 * Order within a frame f (so the result is the same for any block size):
 * the frame's events first (note-on: gates and retriggers), then
 * sprung_modulation_frame(): every source's value at f, Note Trigger edges
 * at f (the engine applies them as note events at f, before rendering f),
 * then each parameter route's smoothed position and value for f. */
#ifndef SPRUNG_ENGINE_MODULATION_H
#define SPRUNG_ENGINE_MODULATION_H

#include <stdint.h>

#include "engine/modulation_sources.h"
#include "engine/mpe.h"
#include "engine/smoothing.h"
#include "model/model_modulation.h"
#include "sprung/attributes.h"
#include "sprung/status.h"

typedef struct SprungModulation SprungModulation;

/* A Note Trigger edge of this frame. */
typedef struct SprungTriggerEvent {
    uint32_t route;
    uint8_t on;       /* 1 note-on, 0 note-off */
    uint8_t channel;  /* 0-based */
    uint8_t note;
    uint8_t velocity;
} SprungTriggerEvent;

/* What a follower reads this frame: the host's input channels and the
 * microphones' signals (summed over voices), or NULL for silence. */
typedef struct SprungModulationInputs {
    const float *input_frame; /* one sample per input channel, or NULL */
    uint32_t n_inputs;
    const float *mic_values;  /* one value per microphone, or NULL */
    uint32_t n_mics;
} SprungModulationInputs;

SprungStatus sprung_modulation_new(const SprungModelInstrument *spec, uint32_t n_voices,
                                   double sample_rate, const char *source_name,
                                   SprungModulation **out, SprungError *error);
void sprung_modulation_free(SprungModulation *modulation);

/* 1 when route `r` has one instance per voice (instanced mode, per-note source). */
int sprung_modulation_route_per_voice(const SprungModulation *modulation, uint32_t route);
/* 1 when source `s` is per-note (see above). */
int sprung_modulation_source_per_note(const SprungModelSource *source);

/* ---- Audio thread ---- */

/* Everything back to the start: LFO phases, envelopes, followers,
 * triggers, smoothers at their initial values, MIDI state neutral; the
 * macros and tempo stay. */
SPRUNG_REALTIME void sprung_modulation_reset(SprungModulation *modulation);

/* Notes as the engine assigned them to voices (voice 0 in singleton mode). */
SPRUNG_REALTIME void sprung_modulation_note_on(SprungModulation *modulation, uint32_t voice,
                                               uint8_t channel, uint8_t note, uint8_t velocity);
SPRUNG_REALTIME void sprung_modulation_note_off(SprungModulation *modulation, uint32_t voice,
                                                uint8_t channel, uint8_t note);
/* A voice restarted from rest (stolen): its smoothers jump to their targets. */
SPRUNG_REALTIME void sprung_modulation_voice_started(SprungModulation *modulation,
                                                     uint32_t voice);

/* MIDI channel messages (channel 0-based). The MPE state is shared with the
 * engine (sprung_modulation_mpe) for voice pitch. */
SPRUNG_REALTIME void sprung_modulation_control_change(SprungModulation *modulation,
                                                      uint8_t channel, uint8_t control,
                                                      uint8_t value);
SPRUNG_REALTIME void sprung_modulation_pitch_bend(SprungModulation *modulation, uint8_t channel,
                                                  uint16_t value14);
SPRUNG_REALTIME void sprung_modulation_channel_pressure(SprungModulation *modulation,
                                                        uint8_t channel, uint8_t value);
/* Poly pressure for the note on `voice`. */
SPRUNG_REALTIME void sprung_modulation_poly_pressure(SprungModulation *modulation,
                                                     uint32_t voice, uint8_t value);

/* Macro `index` (0..7) to `value` (clamped to [0, 1]); NaN is ignored. */
SPRUNG_REALTIME void sprung_modulation_set_macro(SprungModulation *modulation, uint32_t index,
                                                 double value);
SPRUNG_REALTIME void sprung_modulation_set_tempo(SprungModulation *modulation, double bpm);

/* Evaluates frame f. Writes this frame's Note Trigger edges to `triggers`
 * (capacity: the number of note-trigger routes × n_voices, see
 * sprung_modulation_max_triggers) and returns how many. */
SPRUNG_REALTIME uint32_t sprung_modulation_frame(SprungModulation *modulation,
                                                 const SprungModulationInputs *inputs,
                                                 SprungTriggerEvent *triggers);
uint32_t sprung_modulation_max_triggers(const SprungModulation *modulation);

/* Followers of a microphone, deferred (a GPU's block renders a run of
 * frames before the host hears its microphones): with `defer` 1,
 * sprung_modulation_frame() leaves the sources that hear a microphone,
 * and the routes they feed, as they are, and sprung_modulation_follow()
 * evaluates only those, once per frame, in frame order. The two parts
 * share no state, so frame f's two halves may run at different times, as
 * long as whoever reads a deferred route's value waits for its half. Only
 * for routes that are not Note Triggers (the engine's rule: a deferred
 * Note Trigger is dropped). Control thread, before the first frame. */
void sprung_modulation_defer_mic_followers(SprungModulation *modulation, int defer);
int sprung_modulation_source_hears_mic(const SprungModelSource *source);
SPRUNG_REALTIME void sprung_modulation_follow(SprungModulation *modulation,
                                              const SprungModulationInputs *inputs);

/* The parameter routes whose shared instance (voice 0's, in singleton
 * mode) the last frame() or follow() changed, each once, those of one
 * source, offset, amount and smoothing together (in route order among
 * them): its value's bits differ from the pass before, or it jumped to its
 * target (after a reset or a new voice), or it has just stopped changing
 * and is reported then (below). A route left out kept its value, so
 * whoever applies the values may skip it: a vibraphone's 37 routes on a
 * controller at rest cost nothing. The order is not route order, which
 * nothing needs: the loader gives each parameter one route. *routes: valid
 * until the next pass. */
SPRUNG_REALTIME uint32_t sprung_modulation_changed_routes(const SprungModulation *modulation,
                                                          const uint32_t **routes);
/* Lists route r also in the first pass after its value stopped changing
 * (a route whose write depends on its last change too: an anchor's
 * velocity, its move since the frame before, must come back to 0).
 * Control thread, before the first frame. */
void sprung_modulation_report_settled(SprungModulation *modulation, uint32_t route);

/* Route r's value for voice v (voice ignored for shared routes) after the
 * last frame(): the smoothed position through its curve and range. */
SPRUNG_REALTIME double sprung_modulation_route_value(const SprungModulation *modulation,
                                                     uint32_t route, uint32_t voice);
/* Source s's raw value for voice v at the last frame(). */
SPRUNG_REALTIME double sprung_modulation_source_value(const SprungModulation *modulation,
                                                      uint32_t source, uint32_t voice);

SPRUNG_REALTIME SprungMpe *sprung_modulation_mpe(SprungModulation *modulation);

#endif
