/* The backend interface: a table of function pointers plus a context
 * (STYLE.md rule 7), and the factory each backend folder exports so the
 * registry (registry.c) can list, probe and create it. The engine owns the
 * compiled constants and a host copy of the state; a backend advances the
 * simulation a whole block at a time. Private to libsprung.
 *
 * Threading: probe, create and destroy on the control thread; advance,
 * reset (and sync_state) on the audio thread, never allocating. */
#ifndef SPRUNG_BACKEND_BACKEND_H
#define SPRUNG_BACKEND_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "engine/compiled.h"
#include "sprung/backends.h"
#include "sprung/engine.h"
#include "sprung/status.h"

/* A mallet pulse that starts during a block: from engine step `step` on
 * (relative to the block's first step), pulse slot `slot` (mallet ×
 * SPRUNG_PULSE_SLOTS + ring position, chosen by the engine so every backend
 * uses the same slots) runs with impulse `amplitude` (N·s). */
typedef struct SprungPulseStart {
    uint32_t step;
    uint32_t slot;
    float amplitude;
} SprungPulseStart;

/* A note for a sustained exciter (oscillator, pluck, bow, gated audio
 * input) from engine step `step` of the block on: velocity/127 (0 releases
 * it) and the increment sprung_exciter_note() stores (kernel/sprung_step.h).
 * The engine decides which exciters a MIDI note reaches. */
typedef struct SprungExciterEvent {
    uint32_t step;
    uint32_t exciter;
    float velocity;
    float increment;
} SprungExciterEvent;

/* One word that modulation changed, for a backend with its own copy of the
 * compiled block and the state (SprungBackend.applies_writes): word
 * `target` of the compiled block (or of the state block, with
 * SPRUNG_BLOCK_WRITE_STATE set), in 4-byte words from its start, takes the
 * value `bits` (src/engine/modulation_writes.h). As the kernel's
 * SprungKernelWrite. */
typedef struct SprungModulationWrite {
    uint32_t target;
    uint32_t bits;
} SprungModulationWrite;

/* Words modulation may change in one output frame: every word a route can
 * write (compiled->max_frame_writes) and, for an instanced model, each
 * exciter's increment and harmonics, which a voice's pitch rewrites
 * (modulation_writes.h: sprung_modulation_watch_new_voice watches no more). */
static inline uint32_t sprung_backend_frame_writes(const SprungCompiled *compiled)
{
    uint32_t pitch = (compiled->features & SPRUNG_FEATURE_VOICES) ? 2u * compiled->n_exciters : 0u;
    return compiled->max_frame_writes + pitch;
}

/* Writes one advance_features() call (or one voice's run of an
 * advance_voices() call) may carry, a run with more being split at a
 * frame: every word a frame may change, for every frame of the longest
 * block, but no more than 8 MiB of them. */
#define SPRUNG_BACKEND_MAX_WRITES (1u << 20)
static inline uint32_t sprung_backend_write_capacity(const SprungCompiled *compiled,
                                                     uint32_t max_block_frames)
{
    uint64_t per_frame = sprung_backend_frame_writes(compiled);
    uint64_t all = per_frame * max_block_frames;
    uint64_t capacity = all < SPRUNG_BACKEND_MAX_WRITES ? all : SPRUNG_BACKEND_MAX_WRITES;
    return (uint32_t)(capacity > per_frame ? capacity : per_frame);
}

/* What a feature model's block needs beyond pulse starts (advance_features). */
typedef struct SprungFeatureIo {
    const SprungExciterEvent *exciter_events; /* sorted by step */
    uint32_t n_exciter_events;
    /* The host's audio inputs at the OUTPUT rate, from the run's first
     * frame: engine step s reads frame s / oversampling (held across the
     * sub-steps). A channel past n_inputs, or NULL, is silence. */
    const float *const *inputs;
    uint32_t n_inputs;
    uint32_t oversampling;
    /* compiled->n_channels engine-rate buffers, from the run's first step. */
    float *const *outputs;
    /* Backends with applies_writes only: before the first step of output
     * frame f of the run, writes[frame_writes[f] .. frame_writes[f + 1])
     * take effect. NULL (or no writes): the constants stay as they are. */
    const SprungModulationWrite *writes;
    const uint32_t *frame_writes; /* ceil(n_steps / oversampling) + 1 entries */
    /* Backends with applies_writes only: NULL, or where every microphone's
     * value (SprungState.mic_value) after each output frame's last step
     * goes, n_microphones floats per frame of the run: what the host's
     * followers of a microphone hear (engine.c). Never for voices. */
    float *mic_frames;
} SprungFeatureIo;

/* One voice's share of an advance_voices() call: advance_features()'s
 * arguments for the backend's copy number `voice` of the compiled block and
 * the state (its writes' targets are offsets in that voice's copies), and
 * the voice's time step for each output frame of the run (frame_dt:
 * ceil(n_steps / oversampling) entries, in place of the compiled dt: a
 * voice's pitch is its dt, src/engine/engine_voices.c). */
typedef struct SprungVoiceRun {
    uint32_t voice;
    const SprungPulseStart *starts; /* sorted by step */
    uint32_t n_starts;
    SprungFeatureIo io;
    const float *frame_dt;
} SprungVoiceRun;

typedef struct SprungBackend {
    const char *name;
    void *ctx;

    /* Runs n_steps engine steps. Before step s, every start with .step == s
     * takes effect (starts are sorted by step, each step < n_steps; NULL
     * when n_starts is 0); then phase 1 and phase 2 (kernel/sprung_step.h)
     * and the stereo microphone mix into left[s] and right[s]. n_steps is
     * at most the config's max_block_frames × oversampling; n_starts at
     * most SPRUNG_BACKEND_MAX_PULSE_STARTS. One call is one block: a GPU
     * backend renders it in one launch. */
    void (*advance)(void *ctx, uint32_t n_steps, const SprungPulseStart *starts,
                    uint32_t n_starts, float *left, float *right);

    /* Back to the compiled initial state; no pulses. */
    void (*reset)(void *ctx);

    /* Optional pair. sync_state copies the backend's state into the
     * engine's host SprungState; upload_state copies the host state into the
     * backend (tests set a state, then step every backend from it). NULL:
     * the backend steps the host state in place. Control thread or tests
     * only, never while advance() runs. */
    void (*sync_state)(void *ctx);
    void (*upload_state)(void *ctx);

    /* Frees ctx. */
    void (*destroy)(void *ctx);

    /* As advance, for a model with SPRUNG_FEATURE_* bits (compiled->features
     * != 0): exciter notes, audio inputs, delay lines, and the mix into
     * compiled->n_channels outputs. Required of a backend whose factory
     * declares any feature; NULL otherwise (the engine never calls it then). */
    void (*advance_features)(void *ctx, uint32_t n_steps, const SprungPulseStart *starts,
                             uint32_t n_starts, const SprungFeatureIo *io);

    /* Optional (instanced mode, SPRUNG_FEATURE_VOICES): from now on step
     * with these kernel views of the constants instead of the compiled
     * model's own: a voice's time step dt·2^((note + bend − root)/12) and
     * its per-voice copies of the arrays modulation writes
     * (src/engine/engine_voices.c). The structs are copied; the arrays
     * they point at outlive the backend. Audio thread, between advance
     * calls, no allocation. NULL: the backend cannot play voices (its
     * factory must not declare SPRUNG_FEATURE_VOICES). */
    void (*set_views)(void *ctx, const SprungStepModel *model,
                      const SprungFeatureModel *feature_model);

    /* Optional: the worker threads advance() hands work to
     * (sprung_engine_worker_threads). NULL: none. */
    uint32_t (*worker_threads)(void *ctx);

    /* 1: the backend steps its own copy of the constants (a GPU), so the
     * engine hands it a modulated model's whole block in one
     * advance_features() call with the words modulation changed
     * (SprungFeatureIo.writes). 0: it reads the compiled arrays in place,
     * and a modulated model is stepped one output frame per call. */
    int applies_writes;

    /* A backend from its factory's create_voices (instanced mode on a GPU)
     * has these two and no set_views. advance_voices: runs[0 .. n_runs)
     * advance n_steps engine steps each, in one launch (a work-group per
     * run), each as advance_features() on its voice's copies; n_runs is at
     * most the voices created. reset_voice: that voice's state back to the
     * compiled initial state (its copy of the constants keeps what writes
     * made it; the engine hands those words over again). Audio thread. */
    void (*advance_voices)(void *ctx, uint32_t n_steps, uint32_t n_runs,
                           const SprungVoiceRun *runs);
    void (*reset_voice)(void *ctx, uint32_t voice);
} SprungBackend;

/* Exciter events one advance_features() call may carry. */
#define SPRUNG_BACKEND_MAX_EXCITER_EVENTS 1024u

/* Pulse starts one advance() call may carry; the engine splits a block with
 * more into several calls. */
#define SPRUNG_BACKEND_MAX_PULSE_STARTS 1024u

/* What each backend folder exports (one `const SprungBackendFactory`). */
typedef struct SprungBackendFactory {
    const char *name;        /* "cpu", "simd", "opencl", "cuda": the --backend spelling */
    const char *description; /* one line for `sprung backends` */
    uint32_t features;       /* SPRUNG_FEATURE_* bits it implements (compiled.h) */
    uint32_t auto_min_springs; /* "auto" passes it over for smaller models (0: none) */

    /* Fills `info` (name and description are already set): whether the
     * backend can run here, its devices, and why not when it cannot. */
    void (*probe)(SprungBackendInfo *info);

    /* Creates the backend on device `device` for `compiled` and `state`
     * (owned by the engine, which outlives the backend). */
    SprungStatus (*create)(const SprungCompiled *compiled, SprungState *state, uint32_t device,
                           const SprungEngineConfig *config, SprungBackend *out,
                           SprungError *error);

    /* Optional: one backend for all n_voices voices of an instanced model
     * (SPRUNG_FEATURE_VOICES), with a copy of the compiled block and of the
     * state per voice, stepped by advance_voices; states[v] is the engine's
     * host copy of voice v's state (upload_state and sync_state move all of
     * them). NULL: the engine creates a backend per voice and steps each
     * with set_views. */
    SprungStatus (*create_voices)(const SprungCompiled *compiled, uint32_t n_voices,
                                  SprungState *const *states, uint32_t device,
                                  const SprungEngineConfig *config, SprungBackend *out,
                                  SprungError *error);
} SprungBackendFactory;

extern const SprungBackendFactory sprung_backend_cpu_factory;

/* Writes the names of the SPRUNG_FEATURE_* bits in `features`, comma
 * separated ("" for none). */
void sprung_feature_names(uint32_t features, char *buffer, size_t size);

/* Parses config->backend ("auto", "cpu", "opencl:1", ...; NULL is "auto")
 * and creates the chosen backend. "auto" takes the first available backend
 * in the registry's order of preference; a named backend that cannot run
 * here fails with SPRUNG_ERROR_UNSUPPORTED and the probe's reason. */
SprungStatus sprung_backend_create(const SprungCompiled *compiled, SprungState *state,
                                   const SprungEngineConfig *config, SprungBackend *out,
                                   SprungError *error);

/* The factory and device sprung_backend_create would use, after the same
 * checks (engine_voices.c then calls create or create_voices itself). */
SprungStatus sprung_backend_choose(const SprungCompiled *compiled,
                                   const SprungEngineConfig *config,
                                   const SprungBackendFactory **factory, uint32_t *device,
                                   SprungError *error);

#endif
