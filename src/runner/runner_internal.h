/* The inside of a SprungRunner, shared by runner.c (setup and the control
 * thread) and runner_audio.c (the audio thread), and the private hooks the
 * tests use (runner_testing.h). Each field says which thread owns it; the
 * two threads share only the queues and `reset_request`. */
#ifndef SPRUNG_RUNNER_INTERNAL_H
#define SPRUNG_RUNNER_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "runner/runner_keys.h"
#include "runner/spsc.h"
#include "sprung/runner.h"

/* An event the control thread schedules at an absolute runner frame. */
typedef struct RunnerQueuedEvent {
    uint64_t at_frame;
    SprungEvent event;
} RunnerQueuedEvent;

typedef enum RunnerParameterKind {
    RUNNER_PARAMETER_GAIN_DB = 1,
    RUNNER_PARAMETER_MUTE,
    RUNNER_PARAMETER_SMOOTHING_MS,
    RUNNER_PARAMETER_LIMITER,
    RUNNER_PARAMETER_DC_BLOCKER,
    RUNNER_PARAMETER_TEST_INJECT, /* tests: add `value` to `count` engine samples */
    RUNNER_PARAMETER_MACRO,       /* macro `count` (0..7) to `value` */
} RunnerParameterKind;

typedef struct RunnerParameter {
    uint32_t kind;
    uint32_t count;
    double value;
} RunnerParameter;

/* One block's report, audio thread -> control thread. The counters are
 * totals, so a dropped record loses only that block's load sample. */
typedef struct RunnerBlockRecord {
    uint64_t frames; /* total after this block */
    uint64_t blocks, late_blocks, breaker_trips, resets_user, resets_transport, swaps;
    uint64_t events_late, events_dropped, telemetry_dropped, invalid_blocks;
    float load;
    float peak[2];
    uint32_t voices;
} RunnerBlockRecord;

/* Sabotage switches (tests only): each puts back one bug the tests guard
 * against. Set before the audio thread starts. */
enum {
    RUNNER_SABOTAGE_RELAXED_PUBLISH = 1u << 0, /* queues publish with a relaxed store */
    RUNNER_SABOTAGE_ALLOCATE = 1u << 1,        /* process() allocates */
    RUNNER_SABOTAGE_FREE_ON_AUDIO = 1u << 2,   /* a swapped-out engine is freed on the audio thread */
};

typedef enum RunnerEnvelopeState {
    ENVELOPE_IDLE = 0,
    ENVELOPE_FADE_OUT,
    ENVELOPE_FADE_IN,
} RunnerEnvelopeState;

/* Everything the audio thread owns: plain data, touched by no other thread
 * while the runner runs. */
typedef struct RunnerAudio {
    SprungEngine *engine;
    SprungEngine *incoming; /* during a crossfade: the engine fading in */
    uint32_t crossfade_position, crossfade_length;
    float *incoming_out[2]; /* max_block_frames each */

    double sample_rate;
    float gain_target;      /* linear, 0 when muted */
    float gain_linear;      /* the unmuted target */
    float gain;             /* smoothed */
    float gain_coefficient; /* one-pole: 1 - exp(-1 / (tau · fs)) */
    int muted;

    uint32_t envelope_state;  /* RunnerEnvelopeState */
    uint32_t envelope_type;   /* the strongest SprungResetType of this reset */
    uint32_t envelope_position, envelope_length;
    uint32_t reset_fade_frames, breaker_fade_frames;

    float breaker_threshold;
    uint32_t breaker_hold_frames;
    uint32_t over_count[2];
    int breaker_silence_input; /* after a non-finite sample: the engine is ignored until reset */

    int dc_blocker;
    float dc_r;
    float dc_x1[2], dc_y1[2];
    int limiter;
    float limiter_knee;

    /* Events: this block's merged list; the same played through the keys
     * (runner_keys.h: a damper pedal's note-offs held back, released ones
     * added), `played_capacity` of them; and those held back during a
     * fade-out (applied at the reset point), as many. */
    SprungEvent *merged, *played, *segment, *held;
    uint32_t played_capacity;
    uint32_t n_held;
    RunnerKeys keys;

    float inject_value;
    uint32_t inject_remaining;

    /* Macro values, handed to the engine (and an incoming one) every block
     * so a swapped-in engine hears them too. */
    float macros[8];

    RunnerBlockRecord totals;
    float block_peak[2];
    float block_engine_peak;
} RunnerAudio;

/* Everything the control thread owns. */
typedef struct RunnerControl {
    float *load_window;  /* ring of load_window_blocks */
    float *load_sorted;  /* scratch for the percentiles */
    uint32_t load_count, load_next;
    RunnerBlockRecord last;
    float peak[2];
} RunnerControl;

struct SprungRunner {
    SprungRunnerConfig config;
    unsigned sabotage;

    /* control -> audio */
    SprungSpsc events;     /* RunnerQueuedEvent */
    SprungSpsc parameters; /* RunnerParameter */
    SprungSpsc engines_in; /* SprungEngine * */
    _Alignas(64) _Atomic uint32_t reset_request; /* SprungResetType bits */
    /* audio -> control */
    SprungSpsc engines_out; /* SprungEngine * */
    SprungSpsc telemetry;   /* RunnerBlockRecord */
    SprungSpsc breaker_events; /* SprungBreakerEvent */

    _Alignas(64) RunnerAudio audio;
    _Alignas(64) RunnerControl control;
};

/* The one-pole coefficient for a time constant of `ms` at `rate` Hz
 * (1 - exp(-1/(tau·fs))); 1 for ms <= 0. Any thread. */
SPRUNG_REALTIME float sprung_runner_smoothing_coefficient(double ms, double rate);

#endif
