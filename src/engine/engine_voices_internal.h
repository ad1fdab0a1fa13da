/* The inside of instanced mode, shared by its two ways of stepping the
 * voices: engine_voices.c (control thread, the per-frame control of
 * engine_voices.h, and a backend per voice stepped frame by frame) and
 * engine_voices_batch.c (one backend for all voices, a GPU: every sounding
 * voice's run of frames in one launch). Private to src/engine. */
#ifndef SPRUNG_ENGINE_ENGINE_VOICES_INTERNAL_H
#define SPRUNG_ENGINE_ENGINE_VOICES_INTERNAL_H

#include <stdint.h>

#include "backend/backend.h"
#include "engine/decimator.h"
#include "engine/engine_voices.h"
#include "engine/mic_pan.h"
#include "engine/modulation.h"
#include "engine/modulation_writes.h"
#include "engine/mpe.h"
#include "engine/smoothing.h"
#include "engine/voice_allocator.h"
#include "model/model_modulation.h"
#include "util/worker_pool.h"

/* Audio input channels a block may pass (as engine.c). */
#define VOICES_MAX_INPUTS 64u
/* A released voice whose output stays below this for VOICES_QUIET_SECONDS
 * is freed (and reset to rest). */
#define VOICES_QUIET_LEVEL 1e-6f
#define VOICES_QUIET_SECONDS 0.2
/* Bends are smoothed by a one-pole of this time constant (per frame), so a
 * coarse controller does not step the pitch. */
#define VOICES_BEND_SMOOTHING_MS 3.0
/* The voices' steps go to a worker pool (util/worker_pool.h, one hand-over
 * per output frame) of half the cores when the machine has this many cores
 * and the voices together this many springs; SPRUNG_VOICE_THREADS=N forces
 * N threads (1: none). On the idle 2-core machine 2 threads were 1.3x to
 * 1.7x faster for 8 voices of 17 to 536 springs (docs/benchmarks.md,
 * "Voices on the worker pool"), but a spinning pool on an oversubscribed
 * machine loses badly (37x slower with a build running on the other
 * core), so by default only where cores are to spare, as the simd
 * backend's own pool. */
#define VOICES_POOL_MIN_CORES 4
#define VOICES_POOL_MIN_SPRINGS 256u

/* Batch mode: what one voice's run of frames collects while the frames
 * are planned, and where the backend puts its output (engine_voices_batch.c). */
typedef struct VoiceRun {
    SprungModulationWatch *watch;  /* the words of its arrays and state modulation moves */
    SprungModulationWrite *writes; /* capacity writes_capacity */
    uint32_t n_writes;
    uint32_t *frame_writes;        /* max_block_frames + 1 */
    float *frame_dt;               /* max_block_frames: the voice's dt per frame */
    float *gain;                   /* max_block_frames: its fade gain per frame */
    uint8_t *released;             /* max_block_frames: released at that frame */
    uint8_t *restarted;            /* max_block_frames: (re)struck or reset at that frame */
    uint32_t quiet;                /* frames released and silent, as of the last run */
    uint32_t quiet_bound;          /* the most `quiet` can be by the frame planned last */
    float *out;                    /* n_channels × max_block_frames × oversampling */
    float *channels[SPRUNG_MAX_CHANNELS]; /* into out, one per channel */
} VoiceRun;

typedef struct Voice {
    SprungState state;
    SprungBackend backend;          /* its own backend (none in batch mode) */
    int has_backend;
    SprungStepModel model;          /* this voice's kernel views */
    SprungFeatureModel feature_model;
    uint32_t *pulse_next;           /* per mallet: ring position of its next pulse */
    SprungPulseStart *starts;       /* this frame's (batch: this run's), capacity starts_capacity */
    uint32_t n_starts;
    SprungExciterEvent *events;     /* the same, capacity events_capacity */
    uint32_t n_events;
    SprungOnePole bend;             /* semitones */
    double scale;                   /* dt_v / dt */
    uint32_t quiet_frames;
    int quiet_restart;              /* batch mode: quiet_frames was zeroed (engine_voices_batch.c) */
    int primed;                     /* anchors: 0 until the first frame after a (re)start */
    float *frame_out;               /* this frame's output, n_channels × oversampling */
    float *frame_channels[SPRUNG_MAX_CHANNELS]; /* into frame_out, one per channel */
    /* Per-voice copies of what modulation writes (the views point here). */
    float *inv_mass, *drag;                               /* n_nodes */
    float *stiffness, *damping, *rest_length, *preload;   /* n_springs */
    float *mic_left, *mic_right, *mic_gain;               /* n_mics */
    float *exciter_strength;                              /* n_exciters */
    uint32_t *delay_steps;                                /* n_delays */
    double *mallet_strength;                              /* n_mallets, read at each strike */
    double *exciter_frequency;                            /* n_exciters, read at each note-on */
    double *root_increment;     /* n_exciters: an oscillator's phase per step at scale 1,
                                   fixed at its note-on (bends scale it) */
    double *mic_gain_value;                               /* n_mics, the route values */
    SprungMicPan *mic_pan;                                /* n_mics, with the pan law */
    VoiceRun run;               /* batch mode only: the run being planned */
} Voice;

struct SprungEngineVoices {
    SprungCompiled *compiled;
    uint32_t n_voices;
    uint32_t oversampling;
    uint32_t max_block_frames;
    double sample_rate;
    double root;
    int note_low, note_high;
    double max_scale;               /* the highest playable note's time scale */
    uint32_t quiet_limit;           /* frames */
    uint32_t max_starts, max_events;
    SprungVoiceAllocator allocator;
    SprungModulation *modulation;   /* always: the MPE state lives in it */
    SprungMpe *mpe;
    uint32_t n_routes;
    SprungModelRoute *routes;
    int *mic_stereo;
    double *preset_mic_gain;     /* the preset's values */
    SprungMicPan *preset_mic_pan;
    double frame_time;
    SprungTriggerEvent *triggers;
    uint32_t max_triggers;
    float *mic_sum;                 /* followers hear the microphones summed over voices */
    Voice *voices;
    /* The frame's sounding voices, in index order, stepped on the pool's
     * workers (or here, without a pool) between the serial parts. */
    uint32_t sounding[SPRUNG_MAX_VOICES];
    uint32_t n_sounding;
    const float *const *frame_inputs; /* the frame's audio inputs, for the steps
                                         (process's own array: only while it runs) */
    uint32_t n_frame_inputs;
    SprungWorkerPool *pool;           /* NULL: the voices step one after another here */
    /* Output: engine-rate buffers per channel (decimator inputs, or the
     * block's outputs without oversampling), and the sinks for channels a
     * block lacks. */
    SprungDecimator decimator;
    SprungDecimator *extra_decimators; /* channels 2.., two per decimator */
    uint32_t n_extra_decimators;
    float *discard;                 /* max_block_frames × oversampling */
    float *discard_out;             /* max_block_frames */
    float *channels[SPRUNG_MAX_CHANNELS];
    /* The pulse starts and exciter notes a voice's buffers hold (per frame,
     * or per run in batch mode), and the step, relative to the buffers'
     * start, of the frame being planned (0, or in batch mode the frame's
     * first step in its run). */
    uint32_t starts_capacity, events_capacity;
    uint32_t frame_step;
    /* Batch mode (engine_voices_batch.c): one backend for all voices. */
    SprungBackend batch;
    int has_batch;
    uint32_t writes_capacity;     /* per voice and run */
    uint32_t run_first;           /* the block frame the run begins at */
    uint32_t run_frames;          /* frames planned so far */
    uint32_t n_run_voices;
    uint32_t run_voices[SPRUNG_MAX_VOICES]; /* in index order */
    SprungVoiceRun runs[SPRUNG_MAX_VOICES];
    const float *run_inputs[VOICES_MAX_INPUTS];
};

#define N1(n) ((n) ? (size_t)(n) : 1u)

/* ---- engine_voices.c: the per-frame control both ways share ---- */

/* Steps 1 and 2 of frame f (engine_voices.h): the host's events at f (from
 * *next_event on), modulation, Note Triggers, the routes into each voice's
 * arrays. `input_frame` and `inputs` have room for n_inputs. */
SPRUNG_REALTIME void sprung_voices_frame_control(SprungEngineVoices *s, const SprungBlock *block,
                                                 uint32_t f, uint32_t *next_event,
                                                 uint32_t n_inputs, float *input_frame,
                                                 const float **inputs);
/* Step 3 for voice `index`: its bend, time step and oscillator increments. */
SPRUNG_REALTIME void sprung_voices_pitch(SprungEngineVoices *s, uint32_t index);
/* Voice `index` back to rest: its backend's state and the host's. */
SPRUNG_REALTIME void sprung_voices_rest(SprungEngineVoices *s, uint32_t index);
/* Step 4's sum: voice output voice_channels[ch][offset ..] for one frame
 * (oversampling samples per channel), times `gain`, added into
 * s->channels[ch][first ..]; returns the loudest sample added. */
SPRUNG_REALTIME float sprung_voices_add(SprungEngineVoices *s, float *const *voice_channels,
                                        size_t offset, float gain, size_t first);
/* Step 5's count for a released voice: one more frame silent (below
 * VOICES_QUIET_LEVEL), or back to 0; 1 when it has been silent long
 * enough to be freed. */
SPRUNG_REALTIME int sprung_voices_quiet(const SprungEngineVoices *s, uint32_t *quiet_frames,
                                        float loudest);
/* Step 5 after fades ended: voices started[0 .. n) restart with their notes. */
SPRUNG_REALTIME void sprung_voices_restart(SprungEngineVoices *s, const uint32_t *started,
                                           uint32_t n);

/* ---- engine_voices_batch.c ---- */

/* Allocates every voice's run and creates `factory`'s backend for all the
 * voices (create_voices). */
SprungStatus sprung_voices_batch_new(SprungEngineVoices *s, const SprungModel *model,
                                     const SprungBackendFactory *factory, uint32_t device,
                                     const SprungEngineConfig *config, SprungError *error);
void sprung_voices_batch_free(SprungEngineVoices *s);
/* Steps 1 to 5 for the block's frames, the voices' steps in runs of one
 * launch each; the engine-rate channels are s->channels. */
SPRUNG_REALTIME void sprung_voices_batch_process(SprungEngineVoices *s, const SprungBlock *block,
                                                 uint32_t n_inputs);

#endif
