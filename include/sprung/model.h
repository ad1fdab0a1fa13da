/* SprungModel: a parsed and validated preset (see docs/preset-format.md).
 *
 * Threading: every function here is for the control thread. A model is
 * never touched by the audio thread; engines are compiled from it and keep
 * no reference to it. */
#ifndef SPRUNG_MODEL_H
#define SPRUNG_MODEL_H

#include <stdint.h>

#include "sprung/attributes.h"
#include "sprung/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct SprungModel SprungModel;

typedef struct SprungModelCounts {
    uint32_t bodies;
    uint32_t anchors;
    uint32_t springs;
    uint32_t mallets;
    uint32_t microphones;
} SprungModelCounts;

/* What the linearised model predicts at one engine rate (sample rate times
 * oversampling). Frequencies are those the discrete integrator produces:
 * f = (fs_e/pi)·asin(½·sqrt(lambda)·dt), see DESIGN.md §1. */
typedef struct SprungAnalysis {
    double engine_rate;          /* Hz */
    double lambda_max;           /* largest eigenvalue of M^-1 K, 1/s² */
    double lambda_max_damped;    /* largest eigenvalue of M^-1 (K + 2C/dt) */
    double stability_margin;     /* 4 - lambda_max_damped·dt²; > 0 is stable */
    int stable;                  /* stability_margin > 0 */
    uint32_t min_oversampling;   /* smallest of 1, 2, 4 that is stable, 0 if none */
    double lowest_mode_hz;       /* lowest non-zero mode, 0 when not computed */
    double highest_mode_hz;      /* highest mode; NaN when unstable */
    uint32_t rigid_modes;        /* zero-frequency modes (free bodies) */
    int modes_exact;             /* 1: full eigendecomposition; 0: power iteration only */
} SprungAnalysis;

/* ---- Setup (control thread) ---- */

/* Loads and validates a preset. On failure *out is NULL and `error` (may be
 * NULL) names the file, the line:column or JSON path, and the problem. */
SPRUNG_API SprungStatus sprung_model_load_file(const char *path, SprungModel **out,
                                               SprungError *error);

/* As above from a NUL-terminated string; `source_name` (may be NULL, then
 * "<string>") stands in for the file name in messages. */
SPRUNG_API SprungStatus sprung_model_load_string(const char *json, const char *source_name,
                                                 SprungModel **out, SprungError *error);

SPRUNG_API void sprung_model_free(SprungModel *model);

/* Serialises back to preset JSON; loading the result gives an identical
 * model (numbers are written with round-trip precision, optional fields are
 * written only when the preset gave them). Free *out_json with sprung_free(). */
SPRUNG_API SprungStatus sprung_model_save_string(const SprungModel *model, char **out_json);
SPRUNG_API SprungStatus sprung_model_save_file(const SprungModel *model, const char *path,
                                               SprungError *error);

SPRUNG_API const char *sprung_model_name(const SprungModel *model);
SPRUNG_API SprungModelCounts sprung_model_counts(const SprungModel *model);

/* Linear analysis at engine rate `engine_rate`. Always computes lambda_max
 * and stability by power iteration; computes the full mode range when the
 * model is small enough for a dense eigendecomposition. */
SPRUNG_API SprungStatus sprung_model_analyze(const SprungModel *model, double engine_rate,
                                             SprungAnalysis *out);

/* Frees memory handed out by libsprung (e.g. sprung_model_save_string). */
SPRUNG_API void sprung_free(void *ptr);

#ifdef __cplusplus
}
#endif
#endif
