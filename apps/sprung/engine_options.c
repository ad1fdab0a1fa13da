/* --backend and --oversample for `sprung render` and `sprung play`, and the
 * engine they ask for (see engine_options.h). */
#include "engine_options.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/suggest.h"

EngineOptions engine_options_default(void)
{
    return (EngineOptions){.backend = NULL, .oversample = 1};
}

int engine_options_parse(const char *command, int option, const char *value,
                         EngineOptions *options)
{
    if (option == ENGINE_OPT_BACKEND) {
        options->backend = value;
        return 0;
    }
    assert(option == ENGINE_OPT_OVERSAMPLE);
    return cli_parse_oversample(command, value, &options->oversample);
}

int engine_options_check(const char *command, const EngineOptions *options)
{
    const char *spelling = options->backend;
    if (!spelling)
        return 0;
    if (!spelling[0])
        return cli_usage_error(command, "option '--backend' needs a backend name");
    /* The name before any ":DEVICE" must be one this build has: a slip is
     * refused here, while a backend this machine cannot run falls back to
     * auto when the engine is made. */
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(spelling, ":"), spelling);
    if (!strcmp(name, "auto")) {
        if (strcmp(spelling, "auto"))
            return cli_usage_error(command, "--backend '%s': auto takes no device number",
                                   spelling);
        return 0;
    }
    char known[128] = "auto";
    SprungSuggestion suggestion = sprung_suggestion_start(name);
    for (uint32_t i = 0; i < sprung_backend_count(); i++) {
        const char *backend = sprung_backend_name(i);
        if (!strcmp(name, backend))
            return 0;
        sprung_suggestion_consider(&suggestion, backend);
        size_t used = strlen(known);
        snprintf(known + used, sizeof known - used, ", %s", backend);
    }
    if (suggestion.best)
        return cli_usage_error(command, "--backend '%s': unknown backend (did you mean '%s'?)",
                               spelling, suggestion.best);
    return cli_usage_error(command, "--backend '%s': unknown backend (this build has: %s)",
                           spelling, known);
}

SprungEngine *engine_options_new_engine(const char *command, const EngineOptions *options,
                                        const SprungModel *model, double sample_rate,
                                        uint32_t max_block_frames, int *backend_warned)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = sample_rate;
    config.max_block_frames = max_block_frames;
    config.oversampling = options->oversample;
    config.worker_priority = options->worker_priority;
    if (options->backend)
        config.backend = options->backend;
    SprungEngine *engine = NULL;
    SprungError error = {0};
    SprungStatus status = sprung_engine_new(&config, model, &engine, &error);
    if (status != SPRUNG_OK && !strcmp(error.path, "backend") && strcmp(config.backend, "auto")) {
        if (!*backend_warned) {
            /* error.message reads "engine config: backend: ..." */
            const char *why = strstr(error.message, "backend: ");
            fprintf(stderr, "sprung %s: --backend %s: %s; using auto\n", command, config.backend,
                    why ? why + strlen("backend: ") : error.message);
            *backend_warned = 1;
        }
        config.backend = "auto";
        memset(&error, 0, sizeof error);
        status = sprung_engine_new(&config, model, &engine, &error);
    }
    if (status != SPRUNG_OK) {
        fprintf(stderr, "%s\n", error.message);
        return NULL;
    }
    return engine;
}
