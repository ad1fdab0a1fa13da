/* Private hooks for the runner's tests (tests/runner). Not public API.
 * Control thread, before the audio thread starts (sabotage) or through the
 * parameter queue (inject). */
#ifndef SPRUNG_RUNNER_TESTING_H
#define SPRUNG_RUNNER_TESTING_H

#include <stdint.h>

#include "sprung/runner.h"

enum {
    SPRUNG_RUNNER_SABOTAGE_RELAXED_PUBLISH = 1u << 0,
    SPRUNG_RUNNER_SABOTAGE_ALLOCATE = 1u << 1,
    SPRUNG_RUNNER_SABOTAGE_FREE_ON_AUDIO = 1u << 2,
};

/* Puts a bug back (tests' --sabotage). Call before the audio thread runs. */
void sprung_runner_testing_sabotage(SprungRunner *runner, unsigned flags);

/* Adds `value` (may be NaN or Inf) to the next `count` engine output
 * samples of both channels, as if the engine had produced it. Goes through
 * the parameter queue; returns 0 when it is full. */
int sprung_runner_testing_inject(SprungRunner *runner, float value, uint32_t count);

#endif
