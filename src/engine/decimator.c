/* The decimation filter: design (control thread) and polyphase application
 * (audio thread). See decimator.h for the specification. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decimator.h"

#ifndef M_PI
#  define M_PI 3.14159265358979323846
#endif

#define DECIMATOR_ATTENUATION_DB 90.0
#define DECIMATOR_PASSBAND_HZ 20000.0
#define DECIMATOR_PASSBAND_FRACTION 0.4535 /* 20 kHz / 44.1 kHz */

static double passband_edge(double sample_rate)
{
    double fraction = DECIMATOR_PASSBAND_FRACTION * sample_rate;
    return fraction < DECIMATOR_PASSBAND_HZ ? fraction : DECIMATOR_PASSBAND_HZ;
}

/* Modified Bessel function of the first kind, order 0, by its power series
 * (converges quickly for the β used here). */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, half = x / 2.0;
    for (int k = 1; k < 200; ++k) {
        term *= (half / k) * (half / k);
        sum += term;
        if (term < sum * 1e-17)
            break;
    }
    return sum;
}

uint32_t sprung_decimator_tap_count(double sample_rate, uint32_t oversampling)
{
    double engine_rate = sample_rate * oversampling;
    double transition = 2.0 * M_PI * (0.5 * sample_rate - passband_edge(sample_rate)) /
                        engine_rate;
    double estimate = (DECIMATOR_ATTENUATION_DB - 7.95) / (2.285 * transition) + 1.0;
    /* N = 2·R·M + 1 >= estimate. */
    uint32_t frames = (uint32_t)ceil((estimate - 1.0) / (2.0 * oversampling));
    return 2u * oversampling * frames + 1u;
}

void sprung_decimator_design(double sample_rate, uint32_t oversampling, double *taps)
{
    uint32_t n = sprung_decimator_tap_count(sample_rate, oversampling);
    double engine_rate = sample_rate * oversampling;
    double cutoff = 0.5 * (passband_edge(sample_rate) + 0.5 * sample_rate) / engine_rate;
    double beta = 0.1102 * (DECIMATOR_ATTENUATION_DB - 8.7);
    double centre = 0.5 * (n - 1);
    double i0_beta = bessel_i0(beta);
    double sum = 0.0;
    for (uint32_t t = 0; t < n; ++t) {
        double x = t - centre;
        double sinc = x == 0.0 ? 2.0 * cutoff
                               : sin(2.0 * M_PI * cutoff * x) / (M_PI * x);
        double r = x / centre;
        double window = bessel_i0(beta * sqrt(fmax(0.0, 1.0 - r * r))) / i0_beta;
        taps[t] = sinc * window;
        sum += taps[t];
    }
    /* Unity gain at DC; symmetric by construction. */
    for (uint32_t t = 0; t < n; ++t)
        taps[t] /= sum;
    for (uint32_t t = 0; t < n / 2; ++t)
        taps[n - 1 - t] = taps[t];
}

SprungStatus sprung_decimator_init(SprungDecimator *d, double sample_rate,
                                   uint32_t oversampling, uint32_t max_block_frames)
{
    memset(d, 0, sizeof *d);
    d->oversampling = oversampling;
    if (oversampling < 2)
        return SPRUNG_OK;
    d->n_taps = sprung_decimator_tap_count(sample_rate, oversampling);
    d->latency_frames = (d->n_taps - 1) / (2 * oversampling);
    d->history = d->n_taps - 1;
    size_t capacity = d->history + (size_t)max_block_frames * oversampling;
    d->taps = malloc(d->n_taps * sizeof *d->taps);
    d->buffer[0] = calloc(capacity, sizeof *d->buffer[0]);
    d->buffer[1] = calloc(capacity, sizeof *d->buffer[1]);
    if (!d->taps || !d->buffer[0] || !d->buffer[1]) {
        sprung_decimator_free(d);
        return SPRUNG_ERROR_NO_MEMORY;
    }
    sprung_decimator_design(sample_rate, oversampling, d->taps);
    return SPRUNG_OK;
}

void sprung_decimator_free(SprungDecimator *d)
{
    free(d->taps);
    free(d->buffer[0]);
    free(d->buffer[1]);
    memset(d, 0, sizeof *d);
}

void sprung_decimator_reset(SprungDecimator *d)
{
    if (d->oversampling < 2)
        return;
    memset(d->buffer[0], 0, d->history * sizeof *d->buffer[0]);
    memset(d->buffer[1], 0, d->history * sizeof *d->buffer[1]);
}

float *sprung_decimator_input(SprungDecimator *d, unsigned channel)
{
    return d->buffer[channel] + d->history;
}

void sprung_decimator_run(SprungDecimator *d, uint32_t n_frames, float *left, float *right)
{
    uint32_t r = d->oversampling;
    float *outputs[2] = {left, right};
    for (unsigned channel = 0; channel < 2; ++channel) {
        const float *x = d->buffer[channel];
        float *y = outputs[channel];
        for (uint32_t j = 0; j < n_frames; ++j) {
            /* Newest sample of frame j: the last engine step of the frame. */
            const float *newest = x + d->history + (size_t)j * r + (r - 1);
            double acc = 0.0;
            for (uint32_t t = 0; t < d->n_taps; ++t)
                acc += d->taps[t] * (double)newest[-(ptrdiff_t)t];
            y[j] = (float)acc;
        }
        /* Keep the last `history` samples for the next block. */
        size_t consumed = (size_t)n_frames * r;
        memmove(d->buffer[channel], d->buffer[channel] + consumed,
                d->history * sizeof *d->buffer[channel]);
    }
}

void sprung_decimators_run(SprungDecimator *stereo, SprungDecimator *extra, uint32_t n_extra,
                           uint32_t n_frames, float *const *outputs, uint32_t n_outputs,
                           float *discard)
{
    sprung_decimator_run(stereo, n_frames, outputs[0], outputs[1]);
    for (uint32_t k = 0; k < n_extra; ++k) {
        uint32_t ch = 2 + 2 * k;
        sprung_decimator_run(&extra[k], n_frames, ch < n_outputs ? outputs[ch] : discard,
                             ch + 1 < n_outputs ? outputs[ch + 1] : discard);
    }
}
