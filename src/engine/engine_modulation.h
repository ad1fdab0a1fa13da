/* The engine's side of modulation (singleton mode): once per output frame,
 * feed that frame's MIDI to the modulation runtime (engine/modulation.h),
 * evaluate it, write every parameter route's value into the arrays the
 * kernel reads, and hand back the frame's note events (the host's plus the
 * Note Triggers') for the engine to render. Private to libsprung.
 *
 * Threading: new/free on the control thread; the rest SPRUNG_REALTIME.
 *
 * Where values go (docs/preset-format.md, "How modulation reaches the
 * physics"): body mass → inv_mass, drag → drag, spring stiffness / damping
 * → spring_stiffness / spring_damping, rest length → spring_rest_length and
 * spring_preload (ℓ0 − L), microphone gain and pan → mic_gain_left/right and
 * mic_gain, mallet strength → mallet_strength (read at each strike),
 * oscillator amplitude → exciter_strength, oscillator frequency →
 * exciter_frequency (read at each note-on), delay time → delay_steps, anchor
 * x/y/z → the anchor's displacement in the state, with the velocity of that
 * motion (Δu per frame ÷ frame time) so spring damping sees a moving anchor.
 * Values change once per output frame and stay for its oversampled steps;
 * every route is smoothed per frame (smoothing_ms), so nothing zippers. */
#ifndef SPRUNG_ENGINE_ENGINE_MODULATION_H
#define SPRUNG_ENGINE_ENGINE_MODULATION_H

#include <stdint.h>

#include "engine/compiled.h"
#include "sprung/events.h"
#include "sprung/status.h"

typedef struct SprungEngineModulation SprungEngineModulation;

/* NULL in *out (and SPRUNG_OK) when the model has no sources or routes. */
SprungStatus sprung_engine_modulation_new(const SprungModel *model, SprungCompiled *compiled,
                                          double sample_rate, uint32_t oversampling,
                                          SprungEngineModulation **out, SprungError *error);
void sprung_engine_modulation_free(SprungEngineModulation *modulation);

/* The most note events one frame can hand back beyond the host's own. */
uint32_t sprung_engine_modulation_extra_events(const SprungEngineModulation *modulation);

/* Frame f: `events` are the host's events at f (any type); `input_frame`
 * the host's input samples at f (one per channel, NULL for none). Writes
 * the note events to render at f (frame field 0; host notes first, then
 * triggers) to `notes` (capacity: n_events + extra_events) and returns how
 * many. */
SPRUNG_REALTIME uint32_t sprung_engine_modulation_frame(
    SprungEngineModulation *modulation, SprungCompiled *compiled, SprungState *state,
    const SprungEvent *events, uint32_t n_events, const float *input_frame, uint32_t n_inputs,
    SprungEvent *notes);

/* Followers of a microphone on a backend that renders a run of frames
 * before the host hears them (engine.c, "Followers of a microphone"):
 * when every route such a follower feeds (if any) sets a mallet's strength
 * (read by the host at each strike) and no other route sets those
 * mallets', defers them (frame() then leaves them out) and returns 1; else
 * changes nothing and returns 0. Control thread, before the first frame. */
int sprung_engine_modulation_defer_followers(SprungEngineModulation *modulation);

/* Whether a deferred route sets mallet `mallet`'s strength: a strike of it
 * at frame f must wait for follow() of frame f. */
SPRUNG_REALTIME int sprung_engine_modulation_mallet_followed(
    const SprungEngineModulation *modulation, uint32_t mallet);

/* The deferred half of frame f (after the defer call): the followers hear
 * `mic_values` (every microphone after frame f − 1) and their routes'
 * values go where frame() would have put them. In frame order. */
SPRUNG_REALTIME void sprung_engine_modulation_follow(SprungEngineModulation *modulation,
                                                     SprungCompiled *compiled,
                                                     SprungState *state,
                                                     const float *mic_values);

/* Sources, smoothers and moved anchors back to the start (after the state
 * was reset); macros and tempo stay. */
SPRUNG_REALTIME void sprung_engine_modulation_reset(SprungEngineModulation *modulation,
                                                    SprungCompiled *compiled,
                                                    SprungState *state);

SPRUNG_REALTIME void sprung_engine_modulation_set_macro(SprungEngineModulation *modulation,
                                                        uint32_t index, double value);

/* The channels a pedal or All Notes Off on `channel` governs (mpe.h's
 * sprung_mpe_channels_reached, as the MIDI heard so far set the zones). */
SPRUNG_REALTIME uint16_t sprung_engine_modulation_channels_reached(
    const SprungEngineModulation *modulation, uint8_t channel);

#endif
