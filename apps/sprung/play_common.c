/* Shared by `sprung render` and `sprung play` (see play_common.h). */
#include "play_common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

SprungStatus app_engine_new(const char *command, const SprungEngineConfig *config,
                            const SprungModel *model, SprungEngine **out, SprungError *error,
                            int *warned)
{
    SprungStatus status = sprung_engine_new(config, model, out, error);
    const char *backend = config->backend ? config->backend : "auto";
    if (status == SPRUNG_OK || strcmp(error->path, "backend") != 0 || !strcmp(backend, "auto"))
        return status;
    if (!*warned) {
        /* error->message reads "engine config: backend: ..." */
        const char *why = strstr(error->message, "backend: ");
        fprintf(stderr, "sprung %s: --backend %s: %s; using auto\n", command, backend,
                why ? why + strlen("backend: ") : error->message);
        *warned = 1;
    }
    SprungEngineConfig fallback = *config;
    fallback.backend = "auto";
    memset(error, 0, sizeof *error);
    return sprung_engine_new(&fallback, model, out, error);
}

void app_describe_sample(float value, char *text, size_t size)
{
    if (isnan(value))
        snprintf(text, size, "NaN");
    else if (isinf(value))
        snprintf(text, size, "%sInf", value < 0 ? "-" : "+");
    else
        snprintf(text, size, "%+.1f dBFS", 20.0 * log10(fabs((double)value) + 1e-30));
}
