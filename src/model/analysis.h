/* Linear analysis of a model: the linearised stiffness and damping
 * matrices, their largest eigenvalue by power iteration, and the stability
 * check every engine runs before it is built. Control thread only. */
#ifndef SPRUNG_MODEL_ANALYSIS_H
#define SPRUNG_MODEL_ANALYSIS_H

#include <stdint.h>

#include "sprung/model.h"
#include "sprung/status.h"

/* SPRUNG_OK when the model is stable at sample_rate × oversampling; else
 * SPRUNG_ERROR_UNSTABLE with a message naming the smallest oversampling
 * factor (1, 2, 4) that would be stable, or saying that none is. An
 * instanced model ("voices") is checked at its highest playable note, whose
 * time-dilated step is the largest; the message then names the highest
 * stable note. */
SprungStatus sprung_model_check_stability(const SprungModel *model, double sample_rate,
                                          uint32_t oversampling, SprungError *error);

#endif
