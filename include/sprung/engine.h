/* SprungEngine: a model compiled for one sample rate, block size and
 * oversampling factor, rendering blocks of audio from timestamped events.
 *
 * Threading: new/free on the control thread; everything marked
 * SPRUNG_REALTIME on the audio thread (one thread at a time per engine). */
#ifndef SPRUNG_ENGINE_H
#define SPRUNG_ENGINE_H

#include <stdint.h>

#include "sprung/attributes.h"
#include "sprung/backends.h"
#include "sprung/events.h"
#include "sprung/model.h"
#include "sprung/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct SprungEngine SprungEngine;

typedef struct SprungEngineConfig {
    double sample_rate;        /* output rate, Hz */
    uint32_t max_block_frames; /* largest n_frames process() will be given */
    uint32_t oversampling;     /* 1, 2 or 4: engine steps per output frame */
    const char *backend;       /* "auto" (or NULL), "cpu", "simd", "opencl[:N]", "cuda[:N]";
                                  see sprung/backends.h. Copied, need not outlive new(). */
    int worker_priority;       /* > 0: the SCHED_FIFO priority of the engine's worker
                                  threads, normally the audio thread's (JACK:
                                  jack_client_real_time_priority()), so that the audio
                                  thread never waits for a worker that other threads can
                                  preempt; 0: default scheduling, as does a priority the
                                  process may not set. */
} SprungEngineConfig;

/* 48000 Hz, 4096 frames, no oversampling, backend "auto". */
SPRUNG_API SprungEngineConfig sprung_engine_config_default(void);

/* ---- Setup (control thread) ---- */

/* Compiles `model` (which may be freed afterwards). Fails with
 * SPRUNG_ERROR_UNSTABLE, naming the smallest oversampling factor that would
 * be stable, when the model would blow up at this engine rate. All memory
 * the engine will ever use is allocated here. */
SPRUNG_API SprungStatus sprung_engine_new(const SprungEngineConfig *config,
                                          const SprungModel *model, SprungEngine **out,
                                          SprungError *error);

SPRUNG_API void sprung_engine_free(SprungEngine *engine);

/* The backend the engine runs on ("cpu", "simd", ...). */
SPRUNG_API const char *sprung_engine_backend_name(const SprungEngine *engine);

/* Output frames by which the decimation filter delays the signal
 * (0 without oversampling). */
SPRUNG_API uint32_t sprung_engine_latency_frames(const SprungEngine *engine);

/* Worker threads the engine hands work to and waits for (the simd
 * backend's, the voices'); 0: none. Their priority is fixed at creation
 * (SprungEngineConfig.worker_priority), so a host that learns its audio
 * thread's priority only once it runs (the LV2 plugin) makes a new engine
 * when this is not 0. Any thread; it reads what creation fixed. */
SPRUNG_API uint32_t sprung_engine_worker_threads(const SprungEngine *engine);

/* ---- Audio thread ---- */

/* Renders one block. Each event applies at its exact frame, so the output
 * is bit-identical whatever the block sizes. Returns
 * SPRUNG_ERROR_INVALID_ARGUMENT (and renders silence) for a block larger
 * than max_block_frames, unsorted or out-of-range events, or too few
 * output buffers. */
SPRUNG_API SPRUNG_REALTIME SprungStatus sprung_engine_process(SprungEngine *engine,
                                                              const SprungBlock *block);

/* Returns the simulation to its initial state (positions, velocities,
 * active excitations, filter memory). */
SPRUNG_API SPRUNG_REALTIME void sprung_engine_reset(SprungEngine *engine);

/* The MIDI channels a channel-wide message on `channel` (0..15) governs,
 * one bit each: the channel itself, and on the master channel of an MPE
 * zone (as the preset and the MIDI heard so far set them) the zone's member
 * channels too. The runner holds notes for the pedals and releases
 * them for All Notes Off on these channels (docs/runner.md). */
SPRUNG_API SPRUNG_REALTIME uint16_t sprung_engine_channels_reached(const SprungEngine *engine,
                                                                   uint8_t channel);

/* Sets macro `index` (0..7) to `value` in [0, 1] (clamped; NaN ignored):
 * the value of every "macro" modulation source with that index (written
 * 1..8 in presets), smoothed like any route. No effect on a model without
 * modulation. */
SPRUNG_API SPRUNG_REALTIME void sprung_engine_set_macro(SprungEngine *engine, uint32_t index,
                                                        float value);

#ifdef __cplusplus
}
#endif
#endif
