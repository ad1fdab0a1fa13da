/* The discrete mode spectrum of a small model (dense eigendecomposition of
 * the linearised stiffness), for the physics tests and `sprung info`.
 * Private to libsprung and its tests. Control thread only. */
#ifndef SPRUNG_MODEL_ANALYSIS_MODES_H
#define SPRUNG_MODEL_ANALYSIS_MODES_H

#include <stdint.h>

#include "sprung/model.h"
#include "sprung/status.h"

/* Models with more free degrees of freedom (3 per body) than this get no
 * dense eigendecomposition: sprung_model_modes() returns
 * SPRUNG_ERROR_UNSUPPORTED and sprung_model_analyze() sets modes_exact = 0. */
#define SPRUNG_ANALYSIS_DENSE_MAX_DOF 1800u

/* Every eigenvalue of M^-1 K (the undamped linearised stiffness at the
 * initial configuration, anchors fixed), sorted ascending, and what they
 * mean at one engine rate. */
typedef struct SprungModes {
    uint32_t count;        /* 3 × bodies */
    double *eigenvalues;   /* count values, 1/s², ascending */
    double *frequencies_hz; /* count values: the discrete frequency of each
                            * eigenvalue at the engine rate; 0 for rigid and
                            * negative (buckling) modes, NaN when
                            * sqrt(lambda)·dt >= 2 */
    uint32_t rigid;        /* |lambda| below the rigid threshold */
    uint32_t negative;     /* lambda below minus the threshold: statically
                            * unstable (compressed springs); not oscillating */
    double engine_rate;
} SprungModes;

/* Dense eigendecomposition (LAPACK dsyevd). Fills *out; free with
 * sprung_modes_free(). SPRUNG_ERROR_UNSUPPORTED for models with more than
 * SPRUNG_ANALYSIS_DENSE_MAX_DOF degrees of freedom. */
SprungStatus sprung_model_modes(const SprungModel *model, double engine_rate, SprungModes *out);
void sprung_modes_free(SprungModes *modes);

/* The frequency at which semi-implicit Euler at `engine_rate` rings for an
 * eigenvalue lambda of M^-1 K: (fs/pi)·asin(½·sqrt(lambda)/fs). 0 for
 * lambda <= 0, NaN when sqrt(lambda)/fs >= 2 (no oscillation: it diverges). */
double sprung_mode_frequency(double lambda, double engine_rate);

#endif
