/* sprung.lv2: the Sprung instrument and effect as LV2 plugins, a thin
 * adapter around the runner (include/sprung/runner.h). This file holds
 * the descriptors and the Instantiation-class callbacks; the threads and
 * the other files are described in sprung_lv2_plugin.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2_util.h>
#include <lv2/log/log.h>
#include <lv2/midi/midi.h>
#include <lv2/options/options.h>
#include <lv2/patch/patch.h>

#include "sprung_lv2_plugin.h"

static LV2_URID map_uri(LV2_URID_Map *map, const char *uri)
{
    return map ? map->map(map->handle, uri) : 0;
}

static void map_uris(Plugin *self)
{
    LV2_URID_Map *m = self->map;
    Uris *u = &self->uris;
    u->atom_Blank = map_uri(m, LV2_ATOM__Blank);
    u->atom_Object = map_uri(m, LV2_ATOM__Object);
    u->atom_Path = map_uri(m, LV2_ATOM__Path);
    u->atom_String = map_uri(m, LV2_ATOM__String);
    u->atom_Literal = map_uri(m, LV2_ATOM__Literal);
    u->atom_Int = map_uri(m, LV2_ATOM__Int);
    u->atom_Long = map_uri(m, LV2_ATOM__Long);
    u->atom_Float = map_uri(m, LV2_ATOM__Float);
    u->atom_Double = map_uri(m, LV2_ATOM__Double);
    u->atom_Sequence = map_uri(m, LV2_ATOM__Sequence);
    u->atom_URID = map_uri(m, LV2_ATOM__URID);
    u->atom_beatTime = map_uri(m, LV2_ATOM__beatTime);
    u->atom_eventTransfer = map_uri(m, LV2_ATOM__eventTransfer);
    u->midi_MidiEvent = map_uri(m, LV2_MIDI__MidiEvent);
    u->patch_Set = map_uri(m, LV2_PATCH__Set);
    u->patch_Get = map_uri(m, LV2_PATCH__Get);
    u->patch_property = map_uri(m, LV2_PATCH__property);
    u->patch_value = map_uri(m, LV2_PATCH__value);
    u->patch_subject = map_uri(m, LV2_PATCH__subject);
    u->sprung_preset = map_uri(m, SPRUNG_LV2__preset);
    u->sprung_oversampling = map_uri(m, SPRUNG_LV2__oversampling);
    u->sprung_presetJson = map_uri(m, SPRUNG_LV2__presetJson);
    u->sprung_gain = map_uri(m, SPRUNG_LV2__gain);
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++) {
        char uri[sizeof SPRUNG_LV2__macro + 4];
        snprintf(uri, sizeof uri, "%s%d", SPRUNG_LV2__macro, i + 1);
        u->sprung_macro[i] = map_uri(m, uri);
    }
}

static void connect_port(LV2_Handle instance, uint32_t port, void *data)
{
    Plugin *self = (Plugin *)instance;
    if (!self)
        return;
    switch (port) {
    case SPRUNG_LV2_PORT_CONTROL: self->control = data; break;
    case SPRUNG_LV2_PORT_NOTIFY: self->notify = data; break;
    case SPRUNG_LV2_PORT_OUT_LEFT: self->out[0] = data; break;
    case SPRUNG_LV2_PORT_OUT_RIGHT: self->out[1] = data; break;
    case SPRUNG_LV2_PORT_GAIN: self->gain_port = data; break;
    case SPRUNG_LV2_PORT_ENABLED: self->enabled_port = data; break;
    case SPRUNG_LV2_PORT_LATENCY: self->latency_port = data; break;
    case SPRUNG_LV2_PORT_IN_LEFT:
        if (self->is_effect)
            self->in[0] = data;
        break;
    case SPRUNG_LV2_PORT_IN_RIGHT:
        if (self->is_effect)
            self->in[1] = data;
        break;
    default:
        if (port >= SPRUNG_LV2_PORT_MACRO_1 && port < SPRUNG_LV2_PORT_MACRO_1 + SPRUNG_LV2_MACROS)
            self->macro_port[port - SPRUNG_LV2_PORT_MACRO_1] = data;
        break; /* an index we do not have: ignored */
    }
}

static void cleanup(LV2_Handle instance);

static LV2_Handle instantiate(const LV2_Descriptor *descriptor, double rate,
                              const char *bundle_path, const LV2_Feature *const *features)
{
    (void)bundle_path;
    Plugin *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->is_effect = !strcmp(descriptor->URI, SPRUNG_LV2_EFFECT_URI);
    self->sample_rate = rate;
    self->max_block = DEFAULT_MAX_BLOCK;
    self->oversampling = 1;
    pthread_mutex_init(&self->preset_lock, NULL);

    LV2_Log_Log *log = NULL;
    const LV2_Options_Option *options = NULL;
    lv2_features_query(features, LV2_URID__map, &self->map, false, LV2_URID__unmap,
                       &self->unmap, false, LV2_LOG__log, &log, false, LV2_WORKER__schedule,
                       &self->schedule, false, LV2_OPTIONS__options, &options, false, NULL);
    lv2_log_logger_init(&self->logger, self->map, log);
    map_uris(self);
    if (self->map)
        lv2_atom_forge_init(&self->forge, self->map);
    else
        lv2_log_warning(&self->logger, "%s: the host gives no urid:map: MIDI and preset "
                                       "messages are ignored\n", plugin_name(self));
    if (!self->schedule && self->map)
        lv2_log_note(&self->logger, "%s: the host gives no worker: presets can only come "
                                    "from state or LV2 presets, not from patch:Set\n",
                     plugin_name(self));

    /* The host's largest block, when it says. */
    LV2_URID max_block_key = map_uri(self->map, LV2_BUF_SIZE__maxBlockLength);
    LV2_URID int_type = self->uris.atom_Int;
    for (const LV2_Options_Option *o = options; o && o->key; o++) {
        if (max_block_key && o->key == max_block_key && o->type == int_type && o->value &&
            o->size >= sizeof(int32_t)) {
            int32_t value = *(const int32_t *)o->value;
            if (value >= 1 && value <= MAX_BLOCK_LIMIT)
                self->max_block = (uint32_t)value;
        }
    }

    self->events = calloc(MAX_EVENTS, sizeof(SprungEvent));
    self->zeros = calloc(self->max_block, sizeof(float));
    for (int ch = 0; ch < 2; ch++) {
        self->scratch_out[ch] = calloc(self->max_block, sizeof(float));
        self->in_copy[ch] = calloc(self->max_block, sizeof(float));
    }
    if (!self->events || !self->zeros || !self->scratch_out[0] || !self->scratch_out[1] ||
        !self->in_copy[0] || !self->in_copy[1]) {
        lv2_log_error(&self->logger, "%s: out of memory\n", plugin_name(self));
        cleanup(self);
        return NULL;
    }

    char message[1024], note[512];
    /* SPRUNG_LV2_DEFAULT_PRESET=FILE starts with that preset instead of the
     * demo: for hosts that cannot send patch:Set, such as lv2apply in
     * tests/lv2/test_lv2apply.sh. */
    const char *default_path = getenv("SPRUNG_LV2_DEFAULT_PRESET");
    char *json = default_path && default_path[0]
                     ? plugin_read_preset_file(default_path, message, sizeof message)
                     : strdup((const char *)sprung_lv2_demo_preset);
    const char *source = default_path && default_path[0] ? default_path : DEMO_SOURCE;
    SprungEngine *engine = NULL;
    uint32_t used = 1;
    if (!json ||
        plugin_compile_preset(self, json, source, 1, &engine, &used, message, sizeof message,
                              note, sizeof note) != SPRUNG_OK ||
        plugin_make_runner(self, engine, 0.0f, 0, &self->runner, message, sizeof message) !=
            SPRUNG_OK) {
        lv2_log_error(&self->logger, "%s: cannot start at %.0f Hz: %s\n", plugin_name(self),
                      rate, json || (default_path && default_path[0]) ? message : "out of memory");
        sprung_engine_free(engine);
        free(json);
        cleanup(self);
        return NULL;
    }
    self->latency = sprung_engine_latency_frames(engine);
    self->live = engine;
    self->oversampling = used;
    plugin_set_preset_record(self, json, NULL, used);
    self->applied_gain_db = 0.0f;
    atomic_init(&self->gain_db, 0.0f);
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++) {
        atomic_init(&self->macro[i], 0.0f);
        self->last_port_macro[i] = NAN; /* NaN != anything: the first run reads the port */
        self->applied_macro[i] = NAN;
    }
    self->last_port_gain = NAN;
    self->dry_coefficient = (float)(1.0 - exp(-1000.0 / (SMOOTHING_MS * rate)));
    return self;
}

static void activate(LV2_Handle instance)
{
    Plugin *self = (Plugin *)instance;
    if (!self || self->activated)
        return;
    /* Re-activated after playing: start again from rest, without a click. */
    if (self->running)
        sprung_runner_request_reset(self->runner, SPRUNG_RESET_USER);
    self->activated = 1;
}

static void deactivate(LV2_Handle instance)
{
    Plugin *self = (Plugin *)instance;
    if (self)
        self->activated = 0;
}

static void cleanup(LV2_Handle instance)
{
    Plugin *self = (Plugin *)instance;
    if (!self)
        return;
    sprung_runner_free(self->runner);
    sprung_engine_free(self->pending);
    for (uint32_t i = 0; i < self->n_parked; i++)
        sprung_engine_free(self->parked[i]);
    free(self->events);
    free(self->zeros);
    for (int ch = 0; ch < 2; ch++) {
        free(self->scratch_out[ch]);
        free(self->in_copy[ch]);
    }
    free(self->preset_json);
    free(self->preset_path);
    pthread_mutex_destroy(&self->preset_lock);
    free(self);
}

/* ---- Test hook ---- */

static void testing_sabotage(void *instance, unsigned flags)
{
    if (instance)
        ((Plugin *)instance)->sabotage = flags;
}

static const void *extension_data(const char *uri)
{
    static const LV2_State_Interface state = {plugin_save, plugin_restore};
    static const LV2_Worker_Interface worker = {plugin_work, plugin_work_response, NULL};
    static const SprungLv2Testing testing = {testing_sabotage};
    if (!strcmp(uri, LV2_STATE__interface))
        return &state;
    if (!strcmp(uri, LV2_WORKER__interface))
        return &worker;
    if (!strcmp(uri, SPRUNG_LV2__testing))
        return &testing;
    return NULL;
}

static const LV2_Descriptor descriptors[] = {
    {SPRUNG_LV2_INSTRUMENT_URI, instantiate, connect_port, activate, plugin_run, deactivate,
     cleanup, extension_data},
    {SPRUNG_LV2_EFFECT_URI, instantiate, connect_port, activate, plugin_run, deactivate,
     cleanup, extension_data},
};

LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index)
{
    return index < sizeof descriptors / sizeof descriptors[0] ? &descriptors[index] : NULL;
}
