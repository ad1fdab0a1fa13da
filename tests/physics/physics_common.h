/* Helpers shared by the physics tests: building preset JSON, rendering with
 * the engine, and measuring frequencies and decay rates precisely enough to
 * hold the engine to its closed forms. Test code only. */
#ifndef SPRUNG_TESTS_PHYSICS_COMMON_H
#define SPRUNG_TESTS_PHYSICS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sprung/sprung.h"

#define PHYS_FS 48000.0

/* A growing string for JSON. phys_json_add() appends printf-style. */
typedef struct PhysJson {
    char *text;
    size_t length, capacity;
} PhysJson;
void phys_json_add(PhysJson *json, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void phys_json_free(PhysJson *json);

/* Failure bookkeeping: phys_check() prints FAIL/ok with the message and
 * counts failures; phys_exit() returns the exit code. */
bool phys_check(bool condition, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
int phys_exit(const char *test_name);

/* Loads `json` (aborting the test with the loader's message on failure). */
SprungModel *phys_load(const char *json, const char *source_name);

/* Engine at PHYS_FS × oversampling (aborts with the message on failure). */
SprungEngine *phys_engine(const SprungModel *model, uint32_t oversampling);

/* Renders `frames` frames in blocks of `block` frames (events sorted, frames
 * absolute) into left/right (either may be NULL). */
void phys_render(SprungEngine *engine, uint32_t frames, uint32_t block, const SprungEvent *events,
                 uint32_t n_events, float *left, float *right);

/* The discrete frequency of eigenvalue lambda at rate fs, and the
 * continuous one sqrt(lambda)/2π. */
double phys_discrete_hz(double lambda, double fs);
double phys_continuous_hz(double lambda);

/* Spectral peaks of x[0..n) (rate fs): Blackman-Harris window, FFT (fftw3)
 * to find local maxima within `floor_db` of the strongest, then each
 * refined by golden-section search on the windowed DTFT magnitude. Writes
 * up to `max_peaks` frequencies, ascending, and returns how many. */
uint32_t phys_find_peaks(const float *x, uint32_t n, double fs, double floor_db, double *peaks_hz,
                         uint32_t max_peaks);

/* The refined peak of the windowed DTFT magnitude in [lo_hz, hi_hz]. */
double phys_refine_peak(const float *x, uint32_t n, double fs, double lo_hz, double hi_hz);

#endif
