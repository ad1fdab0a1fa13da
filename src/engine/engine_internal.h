/* Private window into a SprungEngine for tests and tools inside the project
 * (energy checks, parity tests, benchmarks). Not part of the public API.
 * Control thread only, and never while process() runs on another thread.
 *
 * The compiled arrays and state are described in src/engine/compiled.h:
 * node i < n_bodies is body i, node n_bodies + a is anchor a; state holds the
 * displacement u = x - x0 and velocity v per node (float32), after the last
 * engine step that process() ran. */
#ifndef SPRUNG_ENGINE_INTERNAL_H
#define SPRUNG_ENGINE_INTERNAL_H

#include <stdint.h>

#include "engine/compiled.h"
#include "sprung/engine.h"

/* The constant arrays the engine was compiled to. */
const SprungCompiled *sprung_engine_compiled(const SprungEngine *engine);

/* The backend's context and name (for its statistics, e.g.
 * backend/opencl/gpu_common.h's sprung_gpu_stats); for voices, the engine's
 * own backend, not the voices'. */
void *sprung_engine_backend_context(const SprungEngine *engine, const char **name);

/* Tests only: engines created from now on make their backends (a
 * singleton's with `factory`'s create, voices with its create_voices when
 * it has one) on device 0, in place of config->backend's; NULL restores
 * that. So a test can drive the GPU backends' paths through the engine
 * (engine.c's process_modulated_block, engine_voices_batch.c) with a
 * backend of its own, on machines without a GPU and under
 * RealtimeSanitizer. Not thread-safe: set it between engines. */
struct SprungBackendFactory;
void sprung_engine_testing_factory(const struct SprungBackendFactory *factory);

/* The current simulation state (brought up to date from the backend first,
 * should the backend keep its own copy). */
const SprungState *sprung_engine_state(const SprungEngine *engine);

/* Engine rate fs_e = sample_rate × oversampling (Hz) and dt = 1/fs_e (s). The
 * kernel steps with (float)dt. */
double sprung_engine_rate(const SprungEngine *engine);
double sprung_engine_dt(const SprungEngine *engine);

/* Engine steps run since creation or the last reset. */
uint64_t sprung_engine_steps(const SprungEngine *engine);

/* The decimation filter (oversampling 2 or 4): its taps at the engine rate
 * (linear phase, odd length, sum 1) and their count; NULL and 0 without
 * oversampling. The group delay, (n_taps - 1)/2 engine steps, is exactly
 * sprung_engine_latency_frames() output frames. */
const double *sprung_engine_decimator_taps(const SprungEngine *engine, uint32_t *n_taps);

#endif
