/* The CUDA backend's instanced mode (cuda_voices.c), for the factory in
 * cuda_backend.c. Private to src/backend/cuda/; control thread. */
#ifndef SPRUNG_BACKEND_CUDA_VOICES_H
#define SPRUNG_BACKEND_CUDA_VOICES_H

#include "backend/backend.h"

/* The factory's create_voices (backend.h). */
SprungStatus sprung_cuda_create_voices(const SprungCompiled *compiled, uint32_t n_voices,
                                       SprungState *const *states, uint32_t device,
                                       const SprungEngineConfig *config, SprungBackend *out,
                                       SprungError *error);

#endif
