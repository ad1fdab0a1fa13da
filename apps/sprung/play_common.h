/* What `sprung render` and `sprung play` share: the --backend option (an
 * engine on the asked-for backend, or on "auto" with a message when that
 * one cannot run here) and reading breaker reports. Command-line program
 * only, control thread. */
#ifndef SPRUNG_APP_PLAY_COMMON_H
#define SPRUNG_APP_PLAY_COMMON_H

#include <stddef.h>

#include "sprung/sprung.h"

/* sprung_engine_new with config->backend; when that backend is unknown or
 * cannot run here, prints "sprung COMMAND: ...; using auto" to stderr once
 * (if *warned is 0, then sets it) and builds the engine on "auto". Other
 * failures (an unstable model) are returned with `error` filled. */
SprungStatus app_engine_new(const char *command, const SprungEngineConfig *config,
                            const SprungModel *model, SprungEngine **out, SprungError *error,
                            int *warned);

/* "NaN", "+Inf", or the value in dBFS ("+18.3 dBFS"). */
void app_describe_sample(float value, char *text, size_t size);

#endif
