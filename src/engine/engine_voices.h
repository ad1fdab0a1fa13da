/* Instanced mode ("voices" in a preset): N voices, each its own copy of the
 * network's moving state (SprungState) stepped by its own backend with its
 * own kernel view of the constants (its time step, and per-voice copies of
 * the arrays modulation writes); springs and other constants are shared.
 * A backend that steps every voice in one launch (a GPU's create_voices)
 * takes them all instead, a run of frames at a time, with the same result
 * (engine_voices_batch.c).
 * The engine hands a whole block to sprung_engine_voices_process when the
 * model has "voices". Private to libsprung.
 *
 * Threading: new/free on the control thread (every voice, state, backend
 * and buffer is allocated there); process, reset and set_macro are
 * SPRUNG_REALTIME.
 *
 * Per output frame f (so the output is the same for any block size):
 *   1. the host's events at f: a note-on goes to the voice the allocator
 *      chooses (voice_allocator.h: free, else released longest ago, else
 *      the oldest held; a stolen voice fades out first); a note-off
 *      releases its voice; pitch bend, pressure, CC74 and other controllers
 *      go to the MPE state (mpe.h) and the modulation runtime, poly
 *      pressure to the note's voice;
 *   2. modulation (if any): sources, Note Triggers (played as notes at f),
 *      every route's value written into each voice's arrays (a per-note
 *      source, such as an envelope or a note's pressure, gives each voice
 *      its own value);
 *   3. pitch: voice v playing note n with smoothed bend b steps with
 *      dt_v = dt·2^((n + b − root)/12), never above the rate of the highest
 *      playable note (the one the stability check passed);
 *   4. every sounding voice renders the frame's `oversampling` engine steps
 *      (spread over a worker pool when there is one: voices share nothing
 *      they write); the voices are summed at the engine rate in index
 *      order (a fading voice times its raised-cosine gain), then
 *      decimated;
 *   5. fades move on; a voice whose fade ended restarts from rest with its
 *      new note at the next frame; a released voice silent for 200 ms is
 *      freed.
 *
 * Dilation: a voice is the network at its root, played faster or slower.
 * A mallet delivers the same impulse (in the voice's time) at every note;
 * an oscillator's phase advances by its root-note increment × the voice's
 * time scale (so it follows bends); a plectrum's travel per step scales
 * with dt_v. Exciter envelopes, mallet pulse lengths and delay lines count
 * engine steps, so they keep their real-time durations. Every exciter and
 * mallet answers every playable note (its note range and channel are for
 * singleton mode). */
#ifndef SPRUNG_ENGINE_ENGINE_VOICES_H
#define SPRUNG_ENGINE_ENGINE_VOICES_H

#include <stdint.h>

#include "engine/compiled.h"
#include "sprung/engine.h"
#include "sprung/events.h"
#include "sprung/status.h"

typedef struct SprungEngineVoices SprungEngineVoices;

/* For a model with "voices" compiled into `compiled` (which outlives the
 * voices). Creates config->backend once per voice, or once for all of them
 * when it can (create_voices); fails with SPRUNG_ERROR_UNSUPPORTED when
 * that backend cannot play voices. */
SprungStatus sprung_engine_voices_new(const SprungModel *model, SprungCompiled *compiled,
                                      const SprungEngineConfig *config,
                                      SprungEngineVoices **out, SprungError *error);
void sprung_engine_voices_free(SprungEngineVoices *voices);

/* A validated block (the engine checked it). */
SPRUNG_REALTIME void sprung_engine_voices_process(SprungEngineVoices *voices,
                                                  const SprungBlock *block);
SPRUNG_REALTIME void sprung_engine_voices_reset(SprungEngineVoices *voices);
SPRUNG_REALTIME void sprung_engine_voices_set_macro(SprungEngineVoices *voices, uint32_t index,
                                                    double value);
/* The channels a pedal or All Notes Off on `channel` governs (mpe.h's
 * sprung_mpe_channels_reached, as the MIDI heard so far set the zones). */
SPRUNG_REALTIME uint16_t sprung_engine_voices_channels_reached(const SprungEngineVoices *voices,
                                                               uint8_t channel);

/* Tests and tools (control thread, never while process runs): the voice
 * count, a voice's state, and its current time scale dt_v/dt. */
uint32_t sprung_engine_voices_count(const SprungEngineVoices *voices);
const SprungState *sprung_engine_voices_state(const SprungEngineVoices *voices, uint32_t voice);
double sprung_engine_voices_time_scale(const SprungEngineVoices *voices, uint32_t voice);
/* The voice's allocator status (SprungVoiceStatus, voice_allocator.h) and
 * the note it plays (or, fading, played). */
int sprung_engine_voices_slot(const SprungEngineVoices *voices, uint32_t voice, uint8_t *note);
/* Threads stepping the voices: 1 without a pool (engine_voices.c says when
 * there is one; SPRUNG_VOICE_THREADS=N forces N, at most the voices). */
uint32_t sprung_engine_voices_threads(const SprungEngineVoices *voices);
/* Their SCHED_FIFO priority (SprungEngineConfig.worker_priority); 0 when
 * they run with default scheduling or there are none. */
int sprung_engine_voices_worker_priority(const SprungEngineVoices *voices);
/* Tests only: voices created from now on get a pool with this deliberate
 * protocol bug (util/worker_pool.h), for the ThreadSanitizer test. */
void sprung_engine_voices_testing_pool_sabotage(int sabotage);
/* An engine's voices; NULL for a singleton model (defined in engine.c). */
const SprungEngineVoices *sprung_engine_voices_of(const SprungEngine *engine);

/* The factory sprung_engine_testing_factory (engine_internal.h) set, or
 * NULL (defined in engine.c). */
struct SprungBackendFactory;
const struct SprungBackendFactory *sprung_engine_testing_factory_in_use(void);

#endif
