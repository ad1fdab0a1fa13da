/* A batch backend for tests, without a GPU: a SprungBackendFactory whose
 * create_voices makes, per voice, the CPU reference on a state and a copy
 * of the compiled block of its own (cpu_voice.h), and whose advance_voices
 * steps each run frame by frame on it. So the engine's batch path
 * (src/engine/engine_voices_batch.c) runs where no GPU does, bit-identical
 * to the reference by construction, and under RealtimeSanitizer (a GPU
 * driver allocates inside its enqueue calls). Install it with
 * sprung_engine_testing_factory (engine_internal.h). Test code only.
 *
 * Threading: as backend.h says for a voices backend (create_voices,
 * destroy, sync_state, upload_state on the control thread; advance_voices,
 * reset_voice and reset on the audio thread, allocating nothing). The
 * stats and the sabotage switch are the test's, between engines. */
#ifndef SPRUNG_TESTS_VOICES_CPU_BATCH_BACKEND_H
#define SPRUNG_TESTS_VOICES_CPU_BATCH_BACKEND_H

#include <stdint.h>

#include "backend/backend.h"

/* "cpu-batch". Its create (a singleton model) is one such voice behind
 * advance_features, with applies_writes and the microphones per frame, as
 * a GPU backend runs a singleton (engine.c's process_modulated_block). */
extern const SprungBackendFactory cpu_batch_factory;

/* What the backends made since the last cpu_batch_stats_clear() were
 * asked to do: so a test knows the batch path ran, and in runs of more
 * than one frame. */
typedef struct CpuBatchStats {
    uint32_t created;        /* create_voices calls */
    uint64_t calls;          /* advance_voices calls */
    uint64_t runs;           /* runs in them */
    uint32_t most_steps;     /* the longest call's n_steps */
    uint64_t voice_resets;   /* reset_voice calls */
    uint64_t feature_calls;  /* a singleton's advance_features calls */
} CpuBatchStats;

const CpuBatchStats *cpu_batch_stats(void);
void cpu_batch_stats_clear(void);

/* 1: advance_voices and advance_features allocate (malloc and free once
 * per call), the bug the RealtimeSanitizer build must catch; 0: they do
 * not. */
void cpu_batch_sabotage(int sabotage);

#endif
