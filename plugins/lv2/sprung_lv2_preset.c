/* sprung.lv2: reading and compiling presets, and the record of the preset
 * in effect that save() stores. Called from instantiate, the worker and
 * restore; never from the audio thread (everything here allocates). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sprung_lv2_plugin.h"

char *plugin_read_preset_file(const char *path, char *message, size_t message_size)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(message, message_size, "%s: cannot open the preset: %s", path,
                 strerror(errno));
        return NULL;
    }
    char *text = NULL;
    long size = -1;
    if (fseek(file, 0, SEEK_END) == 0)
        size = ftell(file);
    if (size < 0 || fseek(file, 0, SEEK_SET) != 0) {
        snprintf(message, message_size, "%s: cannot read the preset: %s", path,
                 strerror(errno));
    } else if (size > MAX_PRESET_BYTES) {
        snprintf(message, message_size, "%s: %ld bytes is too large for a preset (at most %d)",
                 path, size, MAX_PRESET_BYTES);
    } else if (!(text = malloc((size_t)size + 1))) {
        snprintf(message, message_size, "%s: out of memory reading the preset", path);
    } else if (fread(text, 1, (size_t)size, file) != (size_t)size) {
        snprintf(message, message_size, "%s: cannot read the preset: %s", path,
                 ferror(file) ? strerror(errno) : "file shorter than its size");
        free(text);
        text = NULL;
    } else {
        text[size] = '\0';
        if (strlen(text) != (size_t)size) {
            snprintf(message, message_size, "%s: not a preset: the file contains a NUL byte",
                     path);
            free(text);
            text = NULL;
        }
    }
    fclose(file);
    return text;
}

SprungStatus plugin_compile_preset(const Plugin *self, const char *json, const char *source,
                                   uint32_t oversampling, SprungEngine **out,
                                   uint32_t *used_oversampling, char *message,
                                   size_t message_size, char *note, size_t note_size)
{
    *out = NULL;
    note[0] = '\0';
    SprungError error = {0};
    SprungModel *model = NULL;
    SprungStatus status = sprung_model_load_string(json, source, &model, &error);
    if (status != SPRUNG_OK) {
        snprintf(message, message_size, "%s", error.message);
        return status;
    }
    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = self->sample_rate;
    config.max_block_frames = self->max_block;
    config.oversampling = oversampling;
    config.worker_priority = atomic_load_explicit(&self->audio_priority, memory_order_relaxed);
    status = sprung_engine_new(&config, model, out, &error);
    if (status == SPRUNG_ERROR_UNSTABLE) {
        SprungAnalysis analysis;
        uint32_t needed = 0;
        if (sprung_model_analyze(model, self->sample_rate, &analysis) == SPRUNG_OK)
            needed = analysis.min_oversampling;
        if (needed > oversampling) {
            config.oversampling = needed;
            SprungError second = {0};
            status = sprung_engine_new(&config, model, out, &second);
            if (status == SPRUNG_OK)
                snprintf(note, note_size,
                         "%s: unstable at oversampling %u at %.0f Hz; running it at %u",
                         source, oversampling, self->sample_rate, needed);
        }
    }
    sprung_model_free(model);
    if (status != SPRUNG_OK) {
        snprintf(message, message_size, "%s", error.message);
        return status;
    }
    *used_oversampling = config.oversampling;
    return SPRUNG_OK;
}

void plugin_set_preset_record(Plugin *self, char *json, const char *path,
                              uint32_t oversampling)
{
    char *path_copy = path && path[0] ? strdup(path) : NULL;
    pthread_mutex_lock(&self->preset_lock);
    free(self->preset_json);
    free(self->preset_path);
    self->preset_json = json;
    self->preset_path = path_copy;
    self->preset_oversampling = oversampling;
    pthread_mutex_unlock(&self->preset_lock);
}

SprungStatus plugin_make_runner(Plugin *self, SprungEngine *engine, float gain_db, int muted,
                                SprungRunner **out, char *message, size_t message_size)
{
    SprungRunnerConfig config = sprung_runner_config_default();
    config.sample_rate = self->sample_rate;
    config.max_block_frames = self->max_block;
    config.max_block_events = MAX_EVENTS;
    config.gain_db = gain_db;
    config.muted = muted;
    config.smoothing_ms = SMOOTHING_MS;
    /* The output stage of `sprung render`: the host mixes and limits; the
     * breaker still guards against a model that blows up. */
    config.dc_blocker = 0;
    config.limiter = 0;
    SprungError error = {0};
    SprungStatus status = sprung_runner_new(&config, engine, out, &error);
    if (status != SPRUNG_OK)
        snprintf(message, message_size, "%s", error.message);
    return status;
}
