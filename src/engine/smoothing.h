/* Parameter smoothers for modulated values: a one-pole low-pass and a linear
 * ramp, both stepped once per output frame (or per engine step) so that no
 * modulation makes zipper noise. Header-only plain data: set up on the
 * control thread, stepped on the audio thread (SPRUNG_REALTIME, no
 * allocation). Double precision: these run on the host, once per frame per
 * modulated parameter, never inside the kernel.
 *
 * One-pole: y += (target − y)·a with a = 1 − exp(−1/(τ·rate)), the same law
 * as the runner's gain smoother (docs/runner.md): 63 % of a step after τ at
 * any rate. τ ≤ 0 means no smoothing (a = 1).
 *
 * Linear ramp: reaches a new target in exactly `length` steps along a
 * straight line, then holds it; a new target mid-way starts a new ramp from
 * where the value is (no jump). */
#ifndef SPRUNG_ENGINE_SMOOTHING_H
#define SPRUNG_ENGINE_SMOOTHING_H

#include <math.h>
#include <stdint.h>

#include "sprung/attributes.h"

typedef struct SprungOnePole {
    double value;
    double target;
    double coefficient; /* a in (0, 1] */
} SprungOnePole;

/* The coefficient for time constant `ms` at `rate` steps per second. */
static inline double sprung_one_pole_coefficient(double ms, double rate)
{
    if (!(ms > 0.0) || !(rate > 0.0))
        return 1.0;
    return 1.0 - exp(-1.0 / (ms * 1e-3 * rate));
}

/* Starts at `value` with no motion pending. */
static inline void sprung_one_pole_init(SprungOnePole *smoother, double value, double ms,
                                        double rate)
{
    smoother->value = value;
    smoother->target = value;
    smoother->coefficient = sprung_one_pole_coefficient(ms, rate);
}

static inline SPRUNG_REALTIME void sprung_one_pole_set_target(SprungOnePole *smoother,
                                                              double target)
{
    smoother->target = target;
}

/* Jumps to `value` (a reset: nothing sounds, so nothing can click). */
static inline SPRUNG_REALTIME void sprung_one_pole_jump(SprungOnePole *smoother, double value)
{
    smoother->value = value;
    smoother->target = value;
}

/* One step; returns the new value. Lands exactly on the target once within
 * a rounding error of it, so a settled parameter stops changing. */
static inline SPRUNG_REALTIME double sprung_one_pole_next(SprungOnePole *smoother)
{
    double difference = smoother->target - smoother->value;
    if (fabs(difference) <= 1e-12 * fabs(smoother->target) || smoother->coefficient >= 1.0)
        smoother->value = smoother->target;
    else
        smoother->value += difference * smoother->coefficient;
    return smoother->value;
}

typedef struct SprungLinearRamp {
    double value;
    double target;
    double increment;
    uint32_t remaining; /* steps until value == target */
    uint32_t length;    /* steps a ramp takes; 0 = jump */
} SprungLinearRamp;

static inline void sprung_linear_ramp_init(SprungLinearRamp *ramp, double value, uint32_t length)
{
    ramp->value = value;
    ramp->target = value;
    ramp->increment = 0.0;
    ramp->remaining = 0;
    ramp->length = length;
}

static inline SPRUNG_REALTIME void sprung_linear_ramp_set_target(SprungLinearRamp *ramp,
                                                                 double target)
{
    if (target == ramp->target)
        return;
    ramp->target = target;
    if (ramp->length == 0) {
        ramp->value = target;
        ramp->remaining = 0;
        return;
    }
    ramp->increment = (target - ramp->value) / ramp->length;
    ramp->remaining = ramp->length;
}

/* One step; returns the new value. The last step lands exactly on the
 * target (no accumulated rounding). */
static inline SPRUNG_REALTIME double sprung_linear_ramp_next(SprungLinearRamp *ramp)
{
    if (ramp->remaining > 1) {
        ramp->value += ramp->increment;
        ramp->remaining--;
    } else {
        ramp->value = ramp->target;
        ramp->remaining = 0;
    }
    return ramp->value;
}

#endif
