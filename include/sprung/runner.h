/* SprungRunner: what the standalone program, the plugins and the offline
 * renderer all run. It owns the engine on the audio thread and puts an output
 * stage behind it (smoothed gain and mute, click-free resets, engine hot-swap
 * with a crossfade, a circuit breaker, optional DC blocker and limiter), and
 * reports back what happened (load, peaks, breaker trips).
 *
 * Threading: exactly two roles.
 * - ONE control thread (the caller of everything under "Control thread"; if
 *   several threads of the host play that role they must serialise their
 *   calls) is the single producer of the event, parameter and engine queues
 *   and the single consumer of the telemetry and returned-engine queues.
 * - ONE audio thread calls sprung_runner_process (one call at a time).
 * They meet only in lock-free single-producer single-consumer queues and
 * atomic flags, consumed at block boundaries; neither ever waits for the
 * other. new/free are setup: no process() call may run during them. */
#ifndef SPRUNG_RUNNER_H
#define SPRUNG_RUNNER_H

#include <stdint.h>

#include "sprung/attributes.h"
#include "sprung/engine.h"
#include "sprung/events.h"
#include "sprung/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct SprungRunner SprungRunner;

typedef struct SprungRunnerConfig {
    double sample_rate;        /* must equal the engines' sample rate */
    uint32_t max_block_frames; /* largest n_frames process() is given; engines need at least this */
    uint32_t max_block_events; /* events one block can carry (argument + queued); default 1024 */
    uint32_t event_queue_capacity;     /* power of two; default 1024 */
    uint32_t parameter_queue_capacity; /* power of two; default 256 */
    uint32_t engine_queue_capacity;    /* power of two; default 4 */
    uint32_t telemetry_capacity;       /* per-block records queued for the control thread
                                          (power of two); default 4096 */
    uint32_t load_window_blocks;       /* blocks the load percentiles are taken over; default 1024 */
    double gain_db;            /* initial output gain; default 0 */
    int muted;                 /* initially muted; default 0 */
    double smoothing_ms;       /* gain/mute time constant; default 20 */
    double reset_fade_ms;      /* reset fade-out, and fade-in after it; default 5 */
    double crossfade_ms;       /* engine swap crossfade; default 30 */
    double breaker_threshold_db; /* |sample| above this (dBFS) for breaker_hold_ms trips; default +12 */
    double breaker_hold_ms;      /* default 5 */
    double breaker_fade_ms;      /* the breaker's fade-out; default 2 */
    int dc_blocker;            /* one-pole high-pass at dc_blocker_hz; default off */
    double dc_blocker_hz;      /* default 5 */
    int limiter;               /* tanh-style soft limiter above limiter_knee_db, ceiling 0 dBFS;
                                  default off */
    double limiter_knee_db;    /* default -6 */
} SprungRunnerConfig;

/* Reset requests, strongest last: a request never lowers the type of a
 * reset already under way. */
typedef enum SprungResetType {
    SPRUNG_RESET_TRANSPORT = 1u << 0, /* the host's transport went from stop to play */
    SPRUNG_RESET_USER = 1u << 1,      /* the player asked for it (panic) */
    SPRUNG_RESET_BREAKER = 1u << 2,   /* the circuit breaker tripped (internal) */
} SprungResetType;

typedef enum SprungBreakerReason {
    SPRUNG_BREAKER_NONFINITE = 1, /* a NaN or infinite sample */
    SPRUNG_BREAKER_OVERLOAD = 2,  /* above the threshold for longer than the hold time */
} SprungBreakerReason;

typedef struct SprungBreakerEvent {
    uint64_t frame;   /* runner frame (since creation) of the offending sample */
    uint32_t reason;  /* SprungBreakerReason */
    uint32_t channel; /* 0 left, 1 right */
    float value;      /* the offending sample (NaN/Inf, or the loudest) */
} SprungBreakerEvent;

/* What the control thread learns from sprung_runner_poll(). Counters are
 * totals since creation; load figures cover the last load_window_blocks
 * blocks; peaks cover the blocks drained by this poll. */
typedef struct SprungRunnerStats {
    uint64_t frames;           /* frames the audio thread has processed */
    uint64_t blocks;
    uint64_t late_blocks;      /* render time above the block period: an xrun on a real device */
    double load_p50, load_p99, load_max; /* render time ÷ block period */
    uint32_t load_window;      /* blocks those figures were taken over */
    float peak[2];             /* linear peak of the output since the last poll */
    uint32_t voices;           /* voices sounding now (one engine: 0 or 1) */
    uint64_t breaker_trips;
    uint64_t resets_user;      /* user resets carried out (a transport request merged
                                  into a user one counts here) */
    uint64_t resets_transport; /* transport resets carried out */
    uint64_t swaps;            /* engines swapped in */
    uint64_t events_late;      /* queued events applied after their time (block full) */
    uint64_t events_dropped;   /* argument events that did not fit the block */
    uint64_t telemetry_dropped; /* block records lost because the control thread polled too late */
    uint64_t invalid_blocks;   /* process() calls rejected (bad size, unsorted events) */
} SprungRunnerStats;

/* ---- Setup ---- */

/* 48 kHz, 4096 frames, and the defaults written above. */
SPRUNG_API SprungRunnerConfig sprung_runner_config_default(void);

/* Creates a runner around `engine`, which the runner then owns (freed by
 * sprung_runner_free). `engine` must have been made with this sample rate
 * and max_block_frames >= config->max_block_frames. Allocates everything
 * the runner will ever use. On failure the engine stays the caller's. */
SPRUNG_API SprungStatus sprung_runner_new(const SprungRunnerConfig *config, SprungEngine *engine,
                                          SprungRunner **out, SprungError *error);

/* Frees the runner, its engine and any engine still queued either way.
 * The audio thread must have stopped calling process(). NULL is a no-op. */
SPRUNG_API void sprung_runner_free(SprungRunner *runner);

/* ---- Control thread ---- */

/* Schedules `event` (its frame field is ignored) at runner frame `at_frame`
 * (see sprung_runner_stats' frames; 0 = at the start of the next block).
 * Events must be sent in time order; one due later than an earlier one
 * waits behind it. Returns 0 when the queue is full (the event is not sent). */
SPRUNG_API int sprung_runner_send_event(SprungRunner *runner, uint64_t at_frame,
                                        const SprungEvent *event);

/* Output gain in dB (smoothed); mute (smoothed); the smoothing time
 * constant in ms. Each returns 0 when the parameter queue is full. */
SPRUNG_API int sprung_runner_set_gain_db(SprungRunner *runner, double gain_db);
SPRUNG_API int sprung_runner_set_mute(SprungRunner *runner, int muted);
SPRUNG_API int sprung_runner_set_smoothing_ms(SprungRunner *runner, double milliseconds);
SPRUNG_API int sprung_runner_set_limiter(SprungRunner *runner, int enabled);
SPRUNG_API int sprung_runner_set_dc_blocker(SprungRunner *runner, int enabled);
/* Macro `index` (0..7, "index" 1..8 in presets) to `value` in [0, 1]; the
 * engine smooths it like any modulation route. 0 when the queue is full or
 * the arguments are out of range. */
SPRUNG_API int sprung_runner_set_macro(SprungRunner *runner, uint32_t index, double value);

/* Asks for a click-free reset (SPRUNG_RESET_USER or SPRUNG_RESET_TRANSPORT).
 * Never fails: requests made before the audio thread's next block merge,
 * the strongest type winning. One atomic OR: callable from any thread,
 * including the audio thread itself (an LV2 plugin seeing its transport
 * start). */
SPRUNG_API void sprung_runner_request_reset(SprungRunner *runner, SprungResetType type);

/* Hands a new engine (same sample rate, max_block_frames large enough) to
 * the audio thread, which crossfades to it at a block boundary. Returns 1
 * when the runner took it, 0 when the swap queue is full: the engine is
 * still the caller's; retry after sprung_runner_take_retired_engine. */
SPRUNG_API int sprung_runner_offer_engine(SprungRunner *runner, SprungEngine *engine);

/* An engine the audio thread has finished with (swapped out), or NULL. The
 * caller frees it (sprung_engine_free) here, on the control thread. */
SPRUNG_API SprungEngine *sprung_runner_take_retired_engine(SprungRunner *runner);

/* Drains the telemetry the audio thread has sent since the last call and
 * fills `out` (may be NULL just to drain). Call a few times a second or
 * more: records beyond telemetry_capacity blocks are dropped (counted). */
SPRUNG_API void sprung_runner_poll(SprungRunner *runner, SprungRunnerStats *out);

/* The next breaker event not yet read, in order; 0 when none. Poll first. */
SPRUNG_API int sprung_runner_next_breaker_event(SprungRunner *runner, SprungBreakerEvent *out);

/* ---- Audio thread ---- */

/* Renders one block of n_frames (<= max_block_frames) into `outputs`
 * (n_outputs >= 2 buffers; channels past 2 get silence). `events` (sorted
 * by frame, each < n_frames; may be NULL with n_events 0) are the block's
 * events in hand (JACK MIDI, LV2 atoms, the renderer's phrase); events
 * queued by the control thread are merged in. Each applies at its exact
 * frame. `inputs` (n_inputs buffers of n_frames, may be NULL; at most 64
 * are used) feed the model's audio input exciters (channel c reads
 * inputs[c]; a NULL or missing channel is silence).
 * Returns SPRUNG_ERROR_INVALID_ARGUMENT (and writes silence) on a bad block. */
SPRUNG_API SPRUNG_REALTIME SprungStatus sprung_runner_process(
    SprungRunner *runner, uint32_t n_frames, const float *const *inputs, uint32_t n_inputs,
    float *const *outputs, uint32_t n_outputs, const SprungEvent *events, uint32_t n_events);

#ifdef __cplusplus
}
#endif
#endif
