/* The backend interface: a table of function pointers plus a context
 * (STYLE.md rule 7). The engine owns the compiled constants and a host copy
 * of the state; a backend advances the simulation by whole runs of engine
 * steps between events. Private to libsprung.
 *
 * Threading: <name>_new and destroy on the control thread; start_pulse,
 * advance, reset (and sync_state) on the audio thread, never allocating. */
#ifndef SPRUNG_BACKEND_BACKEND_H
#define SPRUNG_BACKEND_BACKEND_H

#include <stdint.h>

#include "engine/compiled.h"
#include "sprung/status.h"

typedef struct SprungBackend {
    const char *name;
    void *ctx;

    /* Starts a pulse of impulse `amplitude` (N·s) in pulse slot `slot`
     * (mallet × SPRUNG_PULSE_SLOTS + ring position, chosen by the engine so
     * that every backend uses the same slots). It acts from the first step
     * of the next advance(). */
    void (*start_pulse)(void *ctx, uint32_t slot, float amplitude);

    /* Runs n_steps engine steps (phase 1 then phase 2 each, see
     * kernel/sprung_step.h) and writes the stereo microphone mix after each
     * step to left[0 .. n_steps) and right[0 .. n_steps). */
    void (*advance)(void *ctx, uint32_t n_steps, float *left, float *right);

    /* Back to the compiled initial state; no pulses. */
    void (*reset)(void *ctx);

    /* Optional. Copies the backend's state into the engine's host
     * SprungState. NULL: the backend steps the host state in place. */
    void (*sync_state)(void *ctx);

    /* Frees ctx. */
    void (*destroy)(void *ctx);
} SprungBackend;

/* The CPU reference backend: steps `state` (owned by the caller, which must
 * outlive the backend) in place. */
SprungStatus sprung_backend_cpu_reference_new(const SprungCompiled *compiled, SprungState *state,
                                              SprungBackend *out, SprungError *error);

#endif
