/* What modulation changed, as word writes for a backend that keeps its own
 * copy of the compiled block and the state (the GPUs): every word a
 * parameter route can rewrite (engine_modulation.c's apply_route) is
 * watched, and after each output frame the words whose value differs from
 * the one last handed over become SprungModulationWrite records
 * (backend.h), which the kernel applies at the start of that frame. So a
 * modulated block is one launch, and a word that does not move costs
 * nothing. Private to libsprung.
 *
 * Threading: new/free on the control thread; collect and resend are
 * SPRUNG_REALTIME (no allocation). */
#ifndef SPRUNG_ENGINE_MODULATION_WRITES_H
#define SPRUNG_ENGINE_MODULATION_WRITES_H

#include <stdint.h>

#include "backend/backend.h"
#include "engine/compiled.h"
#include "model/model_modulation.h"
#include "sprung/status.h"

typedef struct SprungModulationWatch SprungModulationWatch;

/* Words a route on `parameter` rewrites (0 for the host-only ones: mallet
 * strength and oscillator frequency are read on the host when a note
 * starts). compile.c sums them into max_frame_writes. */
uint32_t sprung_route_word_count(SprungTargetParameter parameter);

/* Watches the words the model's parameter routes write in `compiled`'s
 * block and `state`'s (both outlive the watch). The first collect hands
 * over every word. */
SprungStatus sprung_modulation_watch_new(const SprungModel *model, const SprungCompiled *compiled,
                                         const SprungState *state, SprungModulationWatch **out,
                                         SprungError *error);
/* The same for one voice of an instanced model (engine_voices.c): the
 * words live in the voice's own arrays (its kernel views `voice_model` and
 * `voice_features`) and its state, and go to the backend's copies for that
 * voice at the compiled block's and the state block's offsets. Also
 * watches every oscillator's increment and harmonics in the state, which
 * the voice's pitch rewrites. */
SprungStatus sprung_modulation_watch_new_voice(const SprungModel *model,
                                               const SprungCompiled *compiled,
                                               const SprungStepModel *voice_model,
                                               const SprungFeatureModel *voice_features,
                                               const SprungState *voice_state,
                                               SprungModulationWatch **out, SprungError *error);
void sprung_modulation_watch_free(SprungModulationWatch *watch);

/* The words watched: most writes one collect returns. */
uint32_t sprung_modulation_watch_words(const SprungModulationWatch *watch);

/* Appends to `out` (room for sprung_modulation_watch_words()) a write for every
 * watched word changed since it was last handed over; returns how many. */
SPRUNG_REALTIME uint32_t sprung_modulation_watch_collect(SprungModulationWatch *watch,
                                                         SprungModulationWrite *out);

/* The backend's copy is no longer known (after a reset): the next collect
 * hands over every word again. */
SPRUNG_REALTIME void sprung_modulation_watch_resend(SprungModulationWatch *watch);

#endif
