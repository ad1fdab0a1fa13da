/* sprung.lv2: LV2 state. save() stores the preset's JSON itself (so a
 * session opens anywhere unchanged), where it came from, the oversampling,
 * the gain and the macros; restore() takes them back, falling back to the
 * built-in demo preset when the state's preset is missing or broken. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lv2/core/lv2_util.h>

#include "sprung_lv2_plugin.h"

/* The host's mapping between absolute and abstract paths (state:mapPath),
 * and how to free what it returns (state:freePath, else free()). */
typedef struct HostPaths {
    LV2_State_Map_Path *map; /* NULL: the host maps no paths */
    LV2_State_Free_Path *free;
} HostPaths;

static HostPaths host_paths(const LV2_Feature *const *features)
{
    HostPaths paths = {NULL, NULL};
    lv2_features_query(features, LV2_STATE__mapPath, &paths.map, false, LV2_STATE__freePath,
                       &paths.free, false, NULL);
    return paths;
}

static void free_host_path(const HostPaths *paths, char *path)
{
    if (paths->free)
        paths->free->free_path(paths->free->handle, path);
    else
        free(path);
}

LV2_State_Status plugin_save(LV2_Handle instance, LV2_State_Store_Function store,
                             LV2_State_Handle handle, uint32_t flags,
                             const LV2_Feature *const *features)
{
    (void)flags;
    Plugin *self = (Plugin *)instance;
    if (!self || !self->map)
        return LV2_STATE_ERR_NO_FEATURE;
    const Uris *u = &self->uris;
    const uint32_t pod = LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE;
    const HostPaths paths = host_paths(features);

    LV2_State_Status status = LV2_STATE_SUCCESS;
    pthread_mutex_lock(&self->preset_lock);
    if (self->preset_json) {
        /* The preset itself, so the session opens anywhere unchanged. */
        status = store(handle, u->sprung_presetJson, self->preset_json,
                       strlen(self->preset_json) + 1, u->atom_String, pod);
    }
    if (status == LV2_STATE_SUCCESS && self->preset_path && paths.map) {
        /* Where it came from, for the host's file chooser; never re-read. */
        char *abstract = paths.map->abstract_path(paths.map->handle, self->preset_path);
        if (abstract) {
            store(handle, u->sprung_preset, abstract, strlen(abstract) + 1, u->atom_Path,
                  LV2_STATE_IS_POD);
            free_host_path(&paths, abstract);
        }
    }
    int32_t oversampling = (int32_t)self->preset_oversampling;
    pthread_mutex_unlock(&self->preset_lock);
    if (status != LV2_STATE_SUCCESS)
        return status;

    store(handle, u->sprung_oversampling, &oversampling, sizeof oversampling, u->atom_Int, pod);
    float gain = atomic_load_explicit(&self->gain_db, memory_order_relaxed);
    store(handle, u->sprung_gain, &gain, sizeof gain, u->atom_Float, pod);
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++) {
        float value = atomic_load_explicit(&self->macro[i], memory_order_relaxed);
        store(handle, u->sprung_macro[i], &value, sizeof value, u->atom_Float, pod);
    }
    return LV2_STATE_SUCCESS;
}

/* A number from state: Float, Double, Int or Long (hosts and Turtle
 * presets differ). */
static int state_number(const Uris *u, const void *value, size_t size, uint32_t type,
                        double *out)
{
    if (!value)
        return 0;
    /* Copied out: the state interface promises no alignment for value. */
    union { float f; double d; int32_t i; int64_t l; } number;
    memcpy(&number, value, size < sizeof number ? size : sizeof number);
    if (type == u->atom_Float && size >= sizeof(float))
        *out = number.f;
    else if (type == u->atom_Double && size >= sizeof(double))
        *out = number.d;
    else if (type == u->atom_Int && size >= sizeof(int32_t))
        *out = number.i;
    else if (type == u->atom_Long && size >= sizeof(int64_t))
        *out = (double)number.l;
    else
        return 0;
    return isfinite(*out);
}

LV2_State_Status plugin_restore(LV2_Handle instance, LV2_State_Retrieve_Function retrieve,
                                LV2_State_Handle handle, uint32_t flags,
                                const LV2_Feature *const *features)
{
    (void)flags;
    Plugin *self = (Plugin *)instance;
    if (!self || !self->map)
        return LV2_STATE_ERR_NO_FEATURE;
    const Uris *u = &self->uris;
    const char *name = plugin_name(self);
    const HostPaths paths = host_paths(features);
    LV2_State_Status result = LV2_STATE_SUCCESS;
    size_t size;
    uint32_t type, value_flags;
    double number;

    /* Values first; what is missing or wrong takes its default. */
    uint32_t oversampling = 1;
    const void *value = retrieve(handle, u->sprung_oversampling, &size, &type, &value_flags);
    if (value) {
        if (state_number(u, value, size, type, &number) &&
            (number == 1.0 || number == 2.0 || number == 4.0))
            oversampling = (uint32_t)number;
        else
            lv2_log_warning(&self->logger, "%s: state: <%s> is not 1, 2 or 4; using 1\n", name,
                            SPRUNG_LV2__oversampling);
    }
    float gain = 0.0f;
    value = retrieve(handle, u->sprung_gain, &size, &type, &value_flags);
    if (value) {
        if (state_number(u, value, size, type, &number))
            gain = clamp_gain((float)number);
        else
            lv2_log_warning(&self->logger, "%s: state: <%s> is not a number; using 0 dB\n", name,
                            SPRUNG_LV2__gain);
    }
    float macros[SPRUNG_LV2_MACROS] = {0};
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++) {
        value = retrieve(handle, u->sprung_macro[i], &size, &type, &value_flags);
        if (value && state_number(u, value, size, type, &number))
            macros[i] = clamp_macro((float)number);
    }

    /* The preset: its JSON (never the file, which may not exist here). */
    char *json = NULL, *path = NULL;
    const char *source = "the saved state";
    value = retrieve(handle, u->sprung_presetJson, &size, &type, &value_flags);
    if (value) {
        const char *text = value;
        size_t length = size;
        if (type == u->atom_Literal && size >= sizeof(LV2_Atom_Literal_Body)) {
            text += sizeof(LV2_Atom_Literal_Body);
            length -= sizeof(LV2_Atom_Literal_Body);
        } else if (type != u->atom_String) {
            length = 0;
        }
        if (length && memchr(text, '\0', length))
            json = strdup(text);
        if (!json) {
            lv2_log_error(&self->logger, "%s: state: <%s> is not a string; the built-in demo "
                                         "preset plays instead\n", name, SPRUNG_LV2__presetJson);
            result = LV2_STATE_ERR_BAD_TYPE;
        }
    }
    value = retrieve(handle, u->sprung_preset, &size, &type, &value_flags);
    if (value && type == u->atom_Path && size && memchr(value, '\0', size)) {
        if (paths.map) {
            char *absolute = paths.map->absolute_path(paths.map->handle, value);
            if (absolute) {
                path = strdup(absolute);
                free_host_path(&paths, absolute);
            }
        } else {
            path = strdup(value);
        }
        if (path)
            source = path;
    }

    char message[1024], note[512];
    SprungEngine *engine = NULL;
    uint32_t used = oversampling;
    if (json && plugin_compile_preset(self, json, source, oversampling, &engine, &used,
                                      message, sizeof message, note, sizeof note) != SPRUNG_OK) {
        lv2_log_error(&self->logger, "%s: state: the saved preset is broken: %s; the built-in "
                                     "demo preset plays instead\n", name, message);
        free(json);
        json = NULL;
        free(path);
        path = NULL;
        result = LV2_STATE_ERR_UNKNOWN;
    } else if (json && note[0]) {
        lv2_log_note(&self->logger, "%s: %s\n", name, note);
    }
    if (!engine) {
        /* No preset in the state (a host resetting with an empty map) or a
         * broken one: the default. */
        free(json);
        free(path);
        path = NULL;
        json = strdup((const char *)sprung_lv2_demo_preset);
        if (!json || plugin_compile_preset(self, json, DEMO_SOURCE, oversampling, &engine,
                                           &used, message, sizeof message, note,
                                           sizeof note) != SPRUNG_OK) {
            lv2_log_error(&self->logger, "%s: state: cannot compile the built-in demo: %s; the "
                                         "current sound stays\n", name,
                          json ? message : "out of memory");
            free(json);
            return LV2_STATE_ERR_UNKNOWN;
        }
    }

    /* Not concurrent with run(): the audio side may be set directly. */
    atomic_store_explicit(&self->gain_db, gain, memory_order_relaxed);
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++)
        atomic_store_explicit(&self->macro[i], macros[i], memory_order_relaxed);
    self->adopt_ports = 1;
    const uint32_t latency = sprung_engine_latency_frames(engine);
    if (self->activated && self->running) {
        /* Playing: the runner's click-free hot-swap. */
        SprungEngine *old;
        while ((old = sprung_runner_take_retired_engine(self->runner)))
            sprung_engine_free(old);
        sprung_engine_free(self->pending);
        self->pending = NULL;
        if (sprung_runner_offer_engine(self->runner, engine)) {
            self->live = engine;
            self->latency = latency;
        } else {
            self->pending = engine;
            self->pending_latency = latency;
        }
    } else {
        /* Not playing: a fresh runner, so the restored instance sounds
         * exactly as one set up with this preset from the start. */
        SprungRunner *runner = NULL;
        if (plugin_make_runner(self, engine, gain, self->applied_muted, &runner, message,
                               sizeof message) != SPRUNG_OK) {
            lv2_log_error(&self->logger, "%s: state: %s; the current sound stays\n", name,
                          message);
            sprung_engine_free(engine);
            free(json);
            free(path);
            return LV2_STATE_ERR_UNKNOWN;
        }
        sprung_runner_free(self->runner);
        self->runner = runner;
        self->live = engine;
        self->running = 0;
        sprung_engine_free(self->pending);
        self->pending = NULL;
        self->latency = latency;
        self->applied_gain_db = gain;
        for (int i = 0; i < SPRUNG_LV2_MACROS; i++)
            self->applied_macro[i] = NAN; /* a fresh runner: tell it again */
    }
    self->oversampling = used;
    self->current_path[0] = '\0';
    if (path && strlen(path) < MAX_PATH_BYTES)
        memcpy(self->current_path, path, strlen(path) + 1);
    self->notify_preset = self->notify_oversampling = 1;
    plugin_set_preset_record(self, json, path, used);
    free(path);
    return result;
}
