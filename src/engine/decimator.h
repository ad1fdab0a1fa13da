/* The decimation filter of an oversampled engine: a linear-phase FIR lowpass
 * (Kaiser-windowed sinc, designed in double) applied to the engine-rate
 * stereo mix, computing only the kept outputs. Private to libsprung.
 *
 * Design, for output rate fs and oversampling R (engine rate R·fs):
 *   passband edge  fp = min(20 kHz, 0.4535·fs)   (20 kHz at 44.1 kHz)
 *   stopband edge  fs/2 (the output Nyquist frequency)
 *   attenuation    90 dB designed (Kaiser β = 0.1102·(90 - 8.7)), so the
 *                  stopband is below -80 dB with margin and the passband
 *                  ripple is far under 0.01 dB.
 * The Kaiser length estimate N ≈ (A - 7.95)/(2.285·Δω) + 1 is rounded up to
 * N = 2·R·M + 1, so the group delay (N-1)/2 = R·M engine steps is exactly
 * M output frames: the latency is an integer. Output frame j is the filter
 * centred on the engine sample of the last step of frame j - M. About 62
 * frames at 44.1 kHz and 35 at 48 kHz, for R = 2 and 4 alike (N = 249/497 and
 * 141/281 taps).
 *
 * Threading: init/free on the control thread; the rest on the audio thread. */
#ifndef SPRUNG_ENGINE_DECIMATOR_H
#define SPRUNG_ENGINE_DECIMATOR_H

#include <stdint.h>

#include "sprung/status.h"

typedef struct SprungDecimator {
    uint32_t oversampling;
    uint32_t n_taps;         /* 2·oversampling·latency_frames + 1 */
    uint32_t latency_frames; /* group delay in output frames */
    uint32_t history;        /* n_taps - 1 engine samples kept between blocks */
    double *taps;            /* n_taps, symmetric, sum 1 */
    float *buffer[2];        /* history + max_block_frames·oversampling each */
} SprungDecimator;

/* Number of taps the design uses for (sample_rate, oversampling >= 2). */
uint32_t sprung_decimator_tap_count(double sample_rate, uint32_t oversampling);

/* Fills taps[0 .. sprung_decimator_tap_count()) with the design above. */
void sprung_decimator_design(double sample_rate, uint32_t oversampling, double *taps);

/* Allocates (oversampling >= 2) and clears. */
SprungStatus sprung_decimator_init(SprungDecimator *decimator, double sample_rate,
                                   uint32_t oversampling, uint32_t max_block_frames);
void sprung_decimator_free(SprungDecimator *decimator);
void sprung_decimator_reset(SprungDecimator *decimator);

/* Where the next block's engine-rate samples of `channel` (0 left, 1 right)
 * go: n_frames·oversampling of them, before sprung_decimator_run(). */
float *sprung_decimator_input(SprungDecimator *decimator, unsigned channel);

/* Filters and decimates the n_frames·oversampling samples written at
 * sprung_decimator_input() into n_frames outputs per channel, then keeps the
 * last history samples for the next block. */
void sprung_decimator_run(SprungDecimator *decimator, uint32_t n_frames, float *left,
                          float *right);

/* A block's channels: 0 and 1 through `stereo`, 2.. in pairs through
 * extra[0 .. n_extra); each into outputs[channel] when channel < n_outputs,
 * else into `discard` (n_frames floats). */
void sprung_decimators_run(SprungDecimator *stereo, SprungDecimator *extra, uint32_t n_extra,
                           uint32_t n_frames, float *const *outputs, uint32_t n_outputs,
                           float *discard);

#endif
