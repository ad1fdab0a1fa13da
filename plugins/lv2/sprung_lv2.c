/* sprung.lv2: the Sprung instrument and effect as LV2 plugins, a thin
 * adapter around the runner (include/sprung/runner.h).
 *
 * Threads (LV2 threading classes):
 * - Instantiation (instantiate, activate, deactivate, cleanup, restore):
 *   never concurrent with anything else on the instance; may allocate.
 * - Audio (run, work_response, end_run): one thread. It plays BOTH of the
 *   runner's roles (control calls such as offer_engine and set_gain_db are
 *   lock-free queue pushes, and all of them come from this one thread, so
 *   they are serialised). Never allocates, frees, locks, logs or does I/O.
 *   Messages for the host's log are sent to the worker, which writes them.
 * - Worker (work): loads and compiles presets, frees engines the runner has
 *   retired, writes log messages. Hands engines to the audio thread only
 *   through work_response.
 * - save() may run concurrently with run() and work(): it reads the preset
 *   record under `preset_lock` (shared with the worker and restore, never
 *   with the audio thread) and the control values through atomics. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/core/lv2_util.h>
#include <lv2/log/log.h>
#include <lv2/log/logger.h>
#include <lv2/midi/midi.h>
#include <lv2/options/options.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include "sprung/sprung.h"
#include "sprung_lv2_uris.h"

/* presets/demo.json, embedded at build time (embed.cmake): the default
 * sound, and what a broken or empty state falls back to. */
extern const unsigned char sprung_lv2_demo_preset[];
extern const size_t sprung_lv2_demo_preset_size;
#define DEMO_SOURCE "demo.json (built in)"

enum {
    DEFAULT_MAX_BLOCK = 4096,
    MAX_BLOCK_LIMIT = 65536,
    MAX_EVENTS = 1024,      /* events in hand per run() chunk */
    MAX_PATH_BYTES = 2048,  /* preset paths in worker messages (hosts' rings are ~4 KiB) */
    MAX_PRESET_BYTES = 64 << 20,
    PARKED_CAPACITY = 32,   /* engines waiting to be sent to the worker to be freed */
    LOGS_PER_RUN = 4,       /* log messages one run() may send to the worker */
};

#define GAIN_MIN_DB (-60.0f)
#define GAIN_MAX_DB 12.0f
#define SMOOTHING_MS 20.0 /* the runner's default gain/mute time constant */

/* ---- Messages between run() and the worker (copied by the host) ---- */

typedef enum WorkKind {
    WORK_LOAD_PATH = 1, /* load and compile a preset file */
    WORK_RECOMPILE,     /* compile the current preset at another oversampling */
    WORK_FREE_ENGINE,   /* an engine the runner retired */
    WORK_LOG,           /* something run() wants the host's log to say */
} WorkKind;

typedef enum LogCode {
    LOG_UNKNOWN_ATOM = 1,   /* a = atom type */
    LOG_UNKNOWN_OBJECT,     /* a = object type */
    LOG_UNKNOWN_PROPERTY,   /* a = property */
    LOG_BAD_VALUE,          /* a = property, b = value type */
    LOG_PATH_TOO_LONG,      /* a = bytes */
    LOG_BAD_MIDI,           /* a = size, b = status byte */
    LOG_EVENTS_DROPPED,     /* a = count */
    LOG_BREAKER,            /* a = reason, b = channel */
    LOG_WORK_QUEUE_FULL,    /* a = what could not be sent */
    LOG_MALFORMED_SEQUENCE, /* a = bytes skipped */
} LogCode;

typedef struct WorkHeader {
    uint32_t kind;
} WorkHeader;

typedef struct WorkLoad {
    uint32_t kind;         /* WORK_LOAD_PATH or WORK_RECOMPILE */
    uint32_t oversampling;
    uint32_t path_bytes;   /* including the NUL; 0 for WORK_RECOMPILE */
    char path[MAX_PATH_BYTES];
} WorkLoad;

typedef struct WorkFree {
    uint32_t kind;
    SprungEngine *engine;
} WorkFree;

typedef struct WorkLog {
    uint32_t kind;
    uint32_t code;
    uint32_t a, b;
} WorkLog;

/* The worker's answer: a compiled engine for the audio thread. */
typedef struct WorkResponse {
    SprungEngine *engine;
    uint32_t latency;
    uint32_t oversampling;
    uint32_t path_bytes; /* 0: not from a file (recompile of state or built-in) */
    char path[MAX_PATH_BYTES];
} WorkResponse;

typedef struct Uris {
    LV2_URID atom_Blank, atom_Object, atom_Path, atom_String, atom_Literal, atom_Int,
        atom_Long, atom_Float, atom_Double, atom_Sequence, atom_URID, atom_frameTime,
        atom_eventTransfer, midi_MidiEvent, patch_Set, patch_Get, patch_property, patch_value,
        patch_subject, sprung_preset, sprung_oversampling, sprung_presetJson, sprung_gain,
        sprung_macro[SPRUNG_LV2_MACROS];
} Uris;

typedef struct Plugin {
    int is_effect;
    double sample_rate;
    uint32_t max_block;

    /* Host features (any may be missing: then that service is off). */
    LV2_URID_Map *map;
    LV2_URID_Unmap *unmap;
    LV2_Worker_Schedule *schedule;
    LV2_Log_Logger logger;
    Uris uris;
    LV2_Atom_Forge forge;

    /* Ports (NULL until connected; a NULL port is never touched). */
    const LV2_Atom_Sequence *control;
    LV2_Atom_Sequence *notify;
    float *out[2];
    const float *in[2];
    const float *gain_port;
    const float *enabled_port;
    const float *macro_port[SPRUNG_LV2_MACROS];
    float *latency_port;

    /* ---- Audio thread (and Instantiation-class functions) ---- */
    SprungRunner *runner;
    int activated;
    int running;               /* run() has been called with this runner */
    SprungEngine *pending;     /* compiled, not yet taken by the runner */
    SprungEngine *live;        /* the one last handed to the runner (not owned) */
    int priority_checked;      /* run() has read its thread's scheduling */
    uint32_t pending_latency;
    SprungEngine *parked[PARKED_CAPACITY];
    uint32_t n_parked;
    uint32_t latency;
    uint32_t oversampling;     /* asked for (patch:Set / state) */
    float applied_gain_db;     /* what the runner was last told */
    int applied_muted;
    float applied_macro[SPRUNG_LV2_MACROS]; /* likewise; NaN: not yet told */
    float last_port_gain;      /* port values seen last: a change of the port wins */
    float last_port_macro[SPRUNG_LV2_MACROS];
    int adopt_ports;           /* next run(): take the ports as the baseline, keep values */
    float dry_gain, dry_coefficient; /* effect bypass: the dry signal's smoothed gain */
    char current_path[MAX_PATH_BYTES]; /* the preset file in effect ("" if none) */
    int notify_preset;         /* send patch:Set sprung:preset on the next run */
    int notify_oversampling;
    uint32_t logs_this_run;
    uint32_t dropped_logs;
    unsigned sabotage;
    SprungEvent *events;       /* MAX_EVENTS, the block's events in hand */
    float *scratch_out[2];     /* for unconnected outputs */
    float *in_copy[2];         /* the effect's inputs (the host may share in/out buffers) */
    float *zeros;              /* for unconnected inputs */

    /* Values save() may read while run() writes them. */
    _Atomic float gain_db;     /* in effect (port or restored) */
    /* The run() thread's real-time priority (0: none, or not known yet),
     * for the worker threads of the engines compiled from then on. */
    _Atomic int audio_priority;
    _Atomic float macro[SPRUNG_LV2_MACROS];

    /* ---- Worker / save / restore: the preset in effect ---- */
    pthread_mutex_t preset_lock;
    char *preset_json;         /* its text, as loaded */
    char *preset_path;         /* the file it came from, or NULL */
    uint32_t preset_oversampling;
} Plugin;

/* ---- Helpers for every thread ---- */

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
    u->atom_frameTime = map_uri(m, LV2_ATOM__frameTime);
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

static const char *plugin_name(const Plugin *self)
{
    return self->is_effect ? "sprung effect" : "sprung instrument";
}

static float clamp_gain(float db)
{
    return db < GAIN_MIN_DB ? GAIN_MIN_DB : db > GAIN_MAX_DB ? GAIN_MAX_DB : db;
}

static float clamp_macro(float value)
{
    return value < 0.0f ? 0.0f : value > 1.0f ? 1.0f : value;
}

/* ---- Control side: loading and compiling (worker, instantiate, restore) ---- */

static char *copy_string(const char *text)
{
    size_t n = strlen(text) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, text, n);
    return copy;
}

/* Reads a whole preset file; NULL with a message naming the file. */
static char *read_preset_file(const char *path, char *message, size_t message_size)
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

/* Parses and compiles `json`. A model unstable at `oversampling` is
 * compiled at the smallest factor that is stable (said in `note`). */
static SprungStatus compile_preset(const Plugin *self, const char *json, const char *source,
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

/* Makes `json`/`path`/`oversampling` the preset in effect (for save()).
 * Takes ownership of `json`; copies `path`. */
static void set_preset_record(Plugin *self, char *json, const char *path,
                              uint32_t oversampling)
{
    char *path_copy = path && path[0] ? copy_string(path) : NULL;
    pthread_mutex_lock(&self->preset_lock);
    free(self->preset_json);
    free(self->preset_path);
    self->preset_json = json;
    self->preset_path = path_copy;
    self->preset_oversampling = oversampling;
    pthread_mutex_unlock(&self->preset_lock);
}

static SprungStatus make_runner(Plugin *self, SprungEngine *engine, float gain_db, int muted,
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

/* ---- Audio thread: helpers ---- */

/* Sends a message to the worker; 0 if there is no worker or no room. */
static SPRUNG_REALTIME int send_work(Plugin *self, uint32_t size, const void *message)
{
    if (!self->schedule)
        return 0;
    return self->schedule->schedule_work(self->schedule->handle, size, message) ==
           LV2_WORKER_SUCCESS;
}

static SPRUNG_REALTIME void send_log(Plugin *self, uint32_t code, uint32_t a, uint32_t b)
{
    if (self->logs_this_run >= LOGS_PER_RUN) {
        self->dropped_logs++;
        return;
    }
    self->logs_this_run++;
    WorkLog message = {.kind = WORK_LOG, .code = code, .a = a, .b = b};
    if (!send_work(self, sizeof message, &message))
        self->dropped_logs++;
}

/* An engine the audio thread must not free: to the worker, or parked until
 * the worker has room (or until cleanup). */
static SPRUNG_REALTIME void dispose_engine(Plugin *self, SprungEngine *engine)
{
    if (!engine)
        return;
    WorkFree message = {.kind = WORK_FREE_ENGINE, .engine = engine};
    if (send_work(self, sizeof message, &message))
        return;
    if (self->n_parked < PARKED_CAPACITY)
        self->parked[self->n_parked++] = engine;
    /* else: leaked rather than freed here; unreachable with a working host
     * (PARKED_CAPACITY engines refused by the worker in a row). */
}

/* Asks the worker for the current preset compiled again at `oversampling`. */
static SPRUNG_REALTIME void request_recompile(Plugin *self, uint32_t oversampling)
{
    WorkLoad message = {.kind = WORK_RECOMPILE, .oversampling = oversampling};
    if (!send_work(self, (uint32_t)offsetof(WorkLoad, path), &message))
        send_log(self, LOG_WORK_QUEUE_FULL, WORK_RECOMPILE, 0);
}

/* The first run(): the host's audio thread, whose SCHED_FIFO/RR priority
 * the engines' worker threads must have (it waits for them; below it other
 * threads could preempt them). LV2 tells it no earlier, and a thread's
 * priority is fixed when its engine is made, so every engine compiled from
 * now on gets it, and one already playing with worker threads is compiled
 * again (its swap is the usual crossfade, before any note as a rule). */
static SPRUNG_REALTIME void check_audio_priority(Plugin *self)
{
    self->priority_checked = 1;
    int policy = SCHED_OTHER;
    struct sched_param param = {.sched_priority = 0};
    if (pthread_getschedparam(pthread_self(), &policy, &param) != 0 ||
        (policy != SCHED_FIFO && policy != SCHED_RR) || param.sched_priority < 1)
        return;
    atomic_store_explicit(&self->audio_priority, param.sched_priority, memory_order_relaxed);
    if (sprung_engine_worker_threads(self->live) > 0)
        request_recompile(self, self->oversampling);
}

static SPRUNG_REALTIME void handle_engines(Plugin *self)
{
    /* Parked engines first, in order, while the worker takes them. */
    uint32_t sent = 0;
    while (sent < self->n_parked) {
        WorkFree message = {.kind = WORK_FREE_ENGINE, .engine = self->parked[sent]};
        if (!send_work(self, sizeof message, &message))
            break;
        sent++;
    }
    if (sent) {
        memmove(self->parked, self->parked + sent, (self->n_parked - sent) * sizeof(void *));
        self->n_parked -= sent;
    }
    /* Retired engines, while there is somewhere to put them. */
    while (self->n_parked < PARKED_CAPACITY) {
        SprungEngine *old = sprung_runner_take_retired_engine(self->runner);
        if (!old)
            break;
        dispose_engine(self, old);
    }
    if (self->pending && sprung_runner_offer_engine(self->runner, self->pending)) {
        self->live = self->pending;
        self->pending = NULL;
        self->latency = self->pending_latency;
    }
}

static SPRUNG_REALTIME void apply_controls(Plugin *self)
{
    if (self->adopt_ports) {
        /* After restore: the ports as they are now are the baseline; the
         * restored values stay until a port moves. */
        self->adopt_ports = 0;
        if (self->gain_port)
            self->last_port_gain = *self->gain_port;
        for (int i = 0; i < SPRUNG_LV2_MACROS; i++)
            if (self->macro_port[i])
                self->last_port_macro[i] = *self->macro_port[i];
    }
    if (self->gain_port) {
        float port = *self->gain_port;
        if (port != self->last_port_gain && isfinite(port)) {
            self->last_port_gain = port;
            atomic_store_explicit(&self->gain_db, clamp_gain(port), memory_order_relaxed);
        }
    }
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++) {
        if (!self->macro_port[i])
            continue;
        float port = *self->macro_port[i];
        if (port != self->last_port_macro[i] && isfinite(port)) {
            self->last_port_macro[i] = port;
            atomic_store_explicit(&self->macro[i], clamp_macro(port), memory_order_relaxed);
        }
    }
    float gain = atomic_load_explicit(&self->gain_db, memory_order_relaxed);
    if (gain != self->applied_gain_db && sprung_runner_set_gain_db(self->runner, gain))
        self->applied_gain_db = gain;
    /* Bypass: NaN or a missing port counts as enabled. */
    int muted = self->enabled_port && *self->enabled_port < 0.5f;
    if (muted != self->applied_muted && sprung_runner_set_mute(self->runner, muted))
        self->applied_muted = muted;
    /* Macros reach the preset's "macro" modulation sources (the runner
     * keeps them across engine swaps). */
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++) {
        float macro = atomic_load_explicit(&self->macro[i], memory_order_relaxed);
        if (macro != self->applied_macro[i] &&
            sprung_runner_set_macro(self->runner, (uint32_t)i, macro))
            self->applied_macro[i] = macro;
    }
}

/* The value of a patch:Set, walked with bounds checks (the atom may be
 * hostile). Returns 1 and the property and value when well formed. */
static SPRUNG_REALTIME int read_patch_set(const LV2_Atom_Object *object, uint32_t object_size,
                                          const Uris *u, LV2_URID *property,
                                          const LV2_Atom **value)
{
    *property = 0;
    *value = NULL;
    const uint8_t *body = (const uint8_t *)&object->body;
    const uint8_t *end = body + object_size;
    const uint8_t *p = body + sizeof(LV2_Atom_Object_Body);
    while (p + sizeof(LV2_Atom_Property_Body) <= end) {
        const LV2_Atom_Property_Body *prop = (const LV2_Atom_Property_Body *)p;
        uint64_t span = sizeof(LV2_Atom_Property_Body) + (uint64_t)prop->value.size;
        if (span > (uint64_t)(end - p))
            return 0;
        if (prop->key == u->patch_property && prop->value.type == u->atom_URID &&
            prop->value.size >= sizeof(uint32_t))
            *property = ((const LV2_Atom_URID *)&prop->value)->body;
        else if (prop->key == u->patch_value)
            *value = &prop->value;
        p += lv2_atom_pad_size((uint32_t)span);
    }
    return *property != 0;
}

static SPRUNG_REALTIME void reply_parameter(Plugin *self, LV2_URID property)
{
    const Uris *u = &self->uris;
    LV2_Atom_Forge *forge = &self->forge;
    if (!self->notify)
        return;
    if (property == u->sprung_preset && !self->current_path[0])
        return; /* the built-in demo or a state's JSON: no file to show */
    LV2_Atom_Forge_Frame frame;
    if (!lv2_atom_forge_frame_time(forge, 0) ||
        !lv2_atom_forge_object(forge, &frame, 0, u->patch_Set))
        return;
    lv2_atom_forge_key(forge, u->patch_property);
    lv2_atom_forge_urid(forge, property);
    lv2_atom_forge_key(forge, u->patch_value);
    if (property == u->sprung_preset)
        lv2_atom_forge_path(forge, self->current_path, (uint32_t)strlen(self->current_path));
    else
        lv2_atom_forge_int(forge, (int32_t)self->oversampling);
    lv2_atom_forge_pop(forge, &frame);
}

static SPRUNG_REALTIME void handle_object(Plugin *self, const LV2_Atom_Object *object,
                                          uint32_t size)
{
    const Uris *u = &self->uris;
    if (size < sizeof(LV2_Atom_Object_Body)) {
        send_log(self, LOG_UNKNOWN_OBJECT, 0, 0);
        return;
    }
    if (object->body.otype == u->patch_Get) {
        LV2_URID property = 0;
        const LV2_Atom *unused;
        read_patch_set(object, size, u, &property, &unused);
        if (!property || property == u->sprung_preset)
            self->notify_preset = 1;
        if (!property || property == u->sprung_oversampling)
            self->notify_oversampling = 1;
        if (property && property != u->sprung_preset && property != u->sprung_oversampling)
            send_log(self, LOG_UNKNOWN_PROPERTY, property, 0);
        return;
    }
    if (object->body.otype != u->patch_Set) {
        send_log(self, LOG_UNKNOWN_OBJECT, object->body.otype, 0);
        return;
    }
    LV2_URID property;
    const LV2_Atom *value;
    if (!read_patch_set(object, size, u, &property, &value)) {
        send_log(self, LOG_UNKNOWN_PROPERTY, 0, 0);
        return;
    }
    if (property == u->sprung_preset) {
        if (!value || value->type != u->atom_Path || value->size < 2 ||
            !memchr(LV2_ATOM_BODY_CONST(value), '\0', value->size) ||
            ((const char *)LV2_ATOM_BODY_CONST(value))[0] == '\0') {
            send_log(self, LOG_BAD_VALUE, property, value ? value->type : 0);
            return;
        }
        const char *path = (const char *)LV2_ATOM_BODY_CONST(value);
        size_t bytes = strlen(path) + 1;
        if (bytes > MAX_PATH_BYTES) {
            send_log(self, LOG_PATH_TOO_LONG, (uint32_t)bytes, 0);
            return;
        }
        WorkLoad message = {.kind = WORK_LOAD_PATH, .oversampling = self->oversampling,
                            .path_bytes = (uint32_t)bytes};
        memcpy(message.path, path, bytes);
        if (!send_work(self, (uint32_t)(offsetof(WorkLoad, path) + bytes), &message))
            send_log(self, LOG_WORK_QUEUE_FULL, WORK_LOAD_PATH, 0);
    } else if (property == u->sprung_oversampling) {
        int32_t factor = 0;
        if (value && value->type == u->atom_Int && value->size >= sizeof(int32_t))
            factor = ((const LV2_Atom_Int *)value)->body;
        else if (value && value->type == u->atom_Long && value->size >= sizeof(int64_t))
            factor = (int32_t)((const LV2_Atom_Long *)value)->body;
        if (factor != 1 && factor != 2 && factor != 4) {
            send_log(self, LOG_BAD_VALUE, property, value ? value->type : 0);
            return;
        }
        if ((uint32_t)factor == self->oversampling)
            return;
        self->oversampling = (uint32_t)factor;
        request_recompile(self, (uint32_t)factor);
    } else {
        send_log(self, LOG_UNKNOWN_PROPERTY, property, 0);
    }
}

static SPRUNG_REALTIME void handle_midi(Plugin *self, const uint8_t *data, uint32_t size,
                                        uint32_t frame, uint32_t *n_events)
{
    if (size == 0) {
        send_log(self, LOG_BAD_MIDI, 0, 0);
        return;
    }
    const uint8_t status = data[0] & 0xF0u, channel = data[0] & 0x0Fu;
    if (status == LV2_MIDI_MSG_NOTE_ON || status == LV2_MIDI_MSG_NOTE_OFF) {
        if (size < 3 || data[1] > 127 || data[2] > 127) {
            send_log(self, LOG_BAD_MIDI, size, data[0]);
            return;
        }
        if (*n_events >= MAX_EVENTS) {
            send_log(self, LOG_EVENTS_DROPPED, 1, 0);
            return;
        }
        uint8_t type = status == LV2_MIDI_MSG_NOTE_ON && data[2] > 0 ? SPRUNG_EVENT_NOTE_ON
                                                                       : SPRUNG_EVENT_NOTE_OFF;
        self->events[(*n_events)++] = (SprungEvent){.frame = frame, .type = type,
                                                    .channel = channel, .note = data[1],
                                                    .velocity = data[2]};
    } else if (status == LV2_MIDI_MSG_CONTROLLER && size >= 3 &&
               data[1] == LV2_MIDI_CTL_ALL_SOUNDS_OFF) {
        sprung_runner_request_reset(self->runner, SPRUNG_RESET_USER);
    }
    /* Other MIDI (controllers, pitch bend, sysex) has no meaning yet. */
}

/* Reads the control port: MIDI into self->events (sorted, in range),
 * patch messages handled. Returns the number of events. */
static SPRUNG_REALTIME uint32_t read_control(Plugin *self, uint32_t n_samples)
{
    uint32_t n_events = 0;
    const LV2_Atom_Sequence *seq = self->control;
    const Uris *u = &self->uris;
    if (!seq || !self->map || seq->atom.type != u->atom_Sequence ||
        seq->atom.size < sizeof(LV2_Atom_Sequence_Body))
        return 0;
    /* Frame times only; a sequence in beats (no host does this for a
     * plugin that asks for frames) plays everything at frame 0. */
    const int frames = seq->body.unit == 0 || seq->body.unit == u->atom_frameTime;
    const uint8_t *p = (const uint8_t *)(seq + 1);
    const uint8_t *end = (const uint8_t *)&seq->body + seq->atom.size;
    uint32_t last_frame = 0;
    while (p + sizeof(LV2_Atom_Event) <= end) {
        const LV2_Atom_Event *ev = (const LV2_Atom_Event *)p;
        uint64_t span = sizeof(LV2_Atom_Event) + (uint64_t)ev->body.size;
        if (span > (uint64_t)(end - p)) {
            send_log(self, LOG_MALFORMED_SEQUENCE, (uint32_t)(end - p), 0);
            break;
        }
        /* Sample-accurate, but never out of order or out of the block. */
        int64_t t = frames ? ev->time.frames : 0;
        uint32_t frame = t <= 0 ? 0 : t >= (int64_t)n_samples ? n_samples - 1 : (uint32_t)t;
        if (frame < last_frame)
            frame = last_frame;
        last_frame = frame;
        if (ev->body.type == u->midi_MidiEvent) {
            handle_midi(self, (const uint8_t *)(ev + 1), ev->body.size, frame, &n_events);
        } else if (ev->body.type == u->atom_Object || ev->body.type == u->atom_Blank) {
            handle_object(self, (const LV2_Atom_Object *)&ev->body, ev->body.size);
        } else {
            send_log(self, LOG_UNKNOWN_ATOM, ev->body.type, 0);
        }
        p += lv2_atom_pad_size((uint32_t)span);
    }
    return n_events;
}

static SPRUNG_REALTIME void write_silence(Plugin *self, uint32_t n_samples)
{
    if (self->notify && self->map) {
        LV2_Atom_Forge_Frame frame;
        lv2_atom_forge_set_buffer(&self->forge, (uint8_t *)self->notify,
                                  self->notify->atom.size);
        if (lv2_atom_forge_sequence_head(&self->forge, &frame, 0))
            lv2_atom_forge_pop(&self->forge, &frame);
    }
    for (int ch = 0; ch < 2; ch++)
        if (self->out[ch])
            memset(self->out[ch], 0, sizeof(float) * n_samples);
    if (self->latency_port)
        *self->latency_port = (float)self->latency;
}

/* ---- LV2 entry points ---- */

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
                     ? read_preset_file(default_path, message, sizeof message)
                     : copy_string((const char *)sprung_lv2_demo_preset);
    const char *source = default_path && default_path[0] ? default_path : DEMO_SOURCE;
    SprungEngine *engine = NULL;
    uint32_t used = 1;
    if (!json ||
        compile_preset(self, json, source, 1, &engine, &used, message, sizeof message,
                       note, sizeof note) != SPRUNG_OK ||
        make_runner(self, engine, 0.0f, 0, &self->runner, message, sizeof message) !=
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
    set_preset_record(self, json, NULL, used);
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

static SPRUNG_REALTIME void run(LV2_Handle instance, uint32_t n_samples)
{
    Plugin *self = (Plugin *)instance;
    if (!self || n_samples == 0)
        return;
    if (!self->activated) {
        write_silence(self, n_samples); /* run() before activate(): the host's bug, not a crash */
        return;
    }
    self->running = 1;
    self->logs_this_run = 0;
    if (!self->priority_checked)
        check_audio_priority(self);
    if (self->sabotage & SPRUNG_LV2_TESTING_ALLOCATE_IN_RUN) {
        volatile char *leak = malloc(64);
        if (leak)
            leak[0] = 1;
        free((void *)leak);
    }

    /* The reply sequence on the notify port. */
    LV2_Atom_Forge_Frame notify_frame;
    int notify_open = 0;
    if (self->notify && self->map) {
        uint32_t capacity = self->notify->atom.size;
        lv2_atom_forge_set_buffer(&self->forge, (uint8_t *)self->notify, capacity);
        notify_open = lv2_atom_forge_sequence_head(&self->forge, &notify_frame, 0) != 0;
    }

    handle_engines(self);
    apply_controls(self);
    const uint32_t n_events = read_control(self, n_samples);
    if (notify_open) {
        if (self->notify_preset)
            reply_parameter(self, self->uris.sprung_preset);
        if (self->notify_oversampling)
            reply_parameter(self, self->uris.sprung_oversampling);
        self->notify_preset = self->notify_oversampling = 0;
        lv2_atom_forge_pop(&self->forge, &notify_frame);
    } else if (self->notify && self->notify->atom.size >= sizeof(LV2_Atom)) {
        self->notify->atom.size = 0; /* no reply possible: an empty atom */
    }

    /* Render in chunks of at most max_block frames; inside a chunk the
     * runner splits at every event frame. */
    uint32_t next_event = 0;
    for (uint32_t done = 0; done < n_samples;) {
        const uint32_t n = n_samples - done < self->max_block ? n_samples - done
                                                               : self->max_block;
        uint32_t first = next_event;
        while (next_event < n_events && self->events[next_event].frame < done + n) {
            self->events[next_event].frame -= done;
            next_event++;
        }
        float *outs[2];
        const float *ins[2];
        for (int ch = 0; ch < 2; ch++) {
            outs[ch] = self->out[ch] ? self->out[ch] + done : self->scratch_out[ch];
            ins[ch] = self->zeros;
            if (self->is_effect && self->in[ch]) {
                /* Copied first: the host may give the same buffer for in and out. */
                memcpy(self->in_copy[ch], self->in[ch] + done, sizeof(float) * n);
                ins[ch] = self->in_copy[ch];
            }
        }
        SprungStatus status =
            sprung_runner_process(self->runner, n, self->is_effect ? ins : NULL,
                                  self->is_effect ? 2u : 0u, outs, 2, self->events + first,
                                  next_event - first);
        (void)status; /* a bad block is silence; the events were made valid above */
        if (self->is_effect) {
            /* Bypass passes the input through, crossfading with the same
             * one-pole as the runner's mute. */
            const float target = self->applied_muted ? 1.0f : 0.0f;
            float g = self->dry_gain;
            for (uint32_t i = 0; i < n; i++) {
                g += (target - g) * self->dry_coefficient;
                if (g != 0.0f) {
                    outs[0][i] += g * ins[0][i];
                    outs[1][i] += g * ins[1][i];
                }
            }
            self->dry_gain = g < 1e-7f && target == 0.0f ? 0.0f : g;
        }
        done += n;
    }

    sprung_runner_poll(self->runner, NULL); /* drain the block reports */
    SprungBreakerEvent trip;
    while (sprung_runner_next_breaker_event(self->runner, &trip))
        send_log(self, LOG_BREAKER, trip.reason, trip.channel);
    if (self->dropped_logs && self->logs_this_run < LOGS_PER_RUN) {
        uint32_t dropped = self->dropped_logs;
        self->dropped_logs = 0;
        send_log(self, LOG_EVENTS_DROPPED, 0, dropped);
    }
    if (self->latency_port)
        *self->latency_port = (float)self->latency;
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

/* ---- Worker ---- */

static const char *uri_name(const Plugin *self, LV2_URID urid)
{
    const char *uri = self->unmap && urid ? self->unmap->unmap(self->unmap->handle, urid) : NULL;
    return uri ? uri : "(unknown)";
}

static void log_from_run(Plugin *self, const WorkLog *m)
{
    const char *name = plugin_name(self);
    LV2_Log_Logger *log = &self->logger;
    switch (m->code) {
    case LOG_UNKNOWN_ATOM:
        lv2_log_warning(log, "%s: ignored an event of type <%s> on the control port\n", name,
                        uri_name(self, m->a));
        break;
    case LOG_UNKNOWN_OBJECT:
        lv2_log_warning(log, "%s: ignored a message of type <%s> (only patch:Set and "
                             "patch:Get are understood)\n", name, uri_name(self, m->a));
        break;
    case LOG_UNKNOWN_PROPERTY:
        lv2_log_warning(log, "%s: ignored a patch message for property <%s> (known: <%s>, "
                             "<%s>)\n", name, m->a ? uri_name(self, m->a) : "none given",
                        SPRUNG_LV2__preset, SPRUNG_LV2__oversampling);
        break;
    case LOG_BAD_VALUE:
        lv2_log_error(log, "%s: patch:Set <%s>: a value of type <%s> is not allowed (preset: "
                           "a non-empty atom:Path; oversampling: atom:Int 1, 2 or 4)\n",
                      name, uri_name(self, m->a), m->b ? uri_name(self, m->b) : "none");
        break;
    case LOG_PATH_TOO_LONG:
        lv2_log_error(log, "%s: patch:Set <%s>: the path is %u bytes; at most %d\n", name,
                      SPRUNG_LV2__preset, m->a, MAX_PATH_BYTES - 1);
        break;
    case LOG_BAD_MIDI:
        lv2_log_warning(log, "%s: ignored a malformed MIDI event (%u bytes, status 0x%02x)\n",
                        name, m->a, m->b);
        break;
    case LOG_EVENTS_DROPPED:
        if (m->a)
            lv2_log_warning(log, "%s: more than %d notes in one block: some were dropped\n",
                            name, MAX_EVENTS);
        else
            lv2_log_warning(log, "%s: %u further messages for the log were dropped\n", name,
                            m->b);
        break;
    case LOG_BREAKER:
        lv2_log_warning(log, "%s: the circuit breaker tripped on the %s channel (%s): the "
                             "sound was faded out and the model reset\n", name,
                        m->b ? "right" : "left",
                        m->a == SPRUNG_BREAKER_NONFINITE ? "a non-finite sample"
                                                         : "too loud for too long");
        break;
    case LOG_WORK_QUEUE_FULL:
        lv2_log_error(log, "%s: the host's worker queue was full: a %s request was lost\n",
                      name, m->a == WORK_LOAD_PATH ? "preset load" : "recompile");
        break;
    case LOG_MALFORMED_SEQUENCE:
        lv2_log_error(log, "%s: a malformed atom sequence on the control port: the last %u "
                           "bytes were skipped\n", name, m->a);
        break;
    default:
        lv2_log_warning(log, "%s: log message %u\n", name, m->code);
        break;
    }
}

static LV2_Worker_Status work(LV2_Handle instance, LV2_Worker_Respond_Function respond,
                              LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
    Plugin *self = (Plugin *)instance;
    if (!self || !data || size < sizeof(WorkHeader))
        return LV2_WORKER_ERR_UNKNOWN;
    const uint32_t kind = ((const WorkHeader *)data)->kind;
    if (kind == WORK_FREE_ENGINE && size >= sizeof(WorkFree)) {
        sprung_engine_free(((const WorkFree *)data)->engine);
        return LV2_WORKER_SUCCESS;
    }
    if (kind == WORK_LOG && size >= sizeof(WorkLog)) {
        log_from_run(self, (const WorkLog *)data);
        return LV2_WORKER_SUCCESS;
    }
    if ((kind != WORK_LOAD_PATH && kind != WORK_RECOMPILE) ||
        size < offsetof(WorkLoad, path))
        return LV2_WORKER_ERR_UNKNOWN;
    const WorkLoad *request = (const WorkLoad *)data;
    const char *name = plugin_name(self);
    char message[1024], note[512];
    char *json = NULL, *path = NULL;
    if (kind == WORK_LOAD_PATH) {
        if (request->path_bytes < 2 || request->path_bytes > MAX_PATH_BYTES ||
            size < offsetof(WorkLoad, path) + request->path_bytes ||
            request->path[request->path_bytes - 1] != '\0')
            return LV2_WORKER_ERR_UNKNOWN;
        path = (char *)request->path;
        json = read_preset_file(path, message, sizeof message);
    } else {
        pthread_mutex_lock(&self->preset_lock);
        json = self->preset_json ? copy_string(self->preset_json) : NULL;
        path = self->preset_path ? copy_string(self->preset_path) : NULL;
        pthread_mutex_unlock(&self->preset_lock);
        snprintf(message, sizeof message, "out of memory");
    }
    if (!json) {
        lv2_log_error(&self->logger, "%s: %s; the current sound stays\n", name, message);
        if (kind == WORK_RECOMPILE)
            free(path);
        return LV2_WORKER_ERR_UNKNOWN;
    }
    const char *source = path ? path : "the current preset";
    SprungEngine *engine = NULL;
    uint32_t used = request->oversampling;
    if (used != 1 && used != 2 && used != 4)
        used = 1;
    SprungStatus status = compile_preset(self, json, source, used, &engine, &used, message,
                                         sizeof message, note, sizeof note);
    if (status != SPRUNG_OK) {
        lv2_log_error(&self->logger, "%s: %s; the current sound stays\n", name, message);
        free(json);
        if (kind == WORK_RECOMPILE)
            free(path);
        return LV2_WORKER_ERR_UNKNOWN;
    }
    if (note[0])
        lv2_log_note(&self->logger, "%s: %s\n", name, note);

    WorkResponse response = {.engine = engine,
                             .latency = sprung_engine_latency_frames(engine),
                             .oversampling = used};
    if (path) {
        size_t bytes = strlen(path) + 1;
        if (bytes <= MAX_PATH_BYTES) {
            memcpy(response.path, path, bytes);
            response.path_bytes = (uint32_t)bytes;
        }
    }
    uint32_t response_size = (uint32_t)(offsetof(WorkResponse, path) + response.path_bytes);
    if (respond(handle, response_size, &response) != LV2_WORKER_SUCCESS) {
        lv2_log_error(&self->logger, "%s: the host's worker could not take the loaded preset "
                                     "back; the current sound stays\n", name);
        sprung_engine_free(engine);
        free(json);
        if (kind == WORK_RECOMPILE)
            free(path);
        return LV2_WORKER_ERR_NO_SPACE;
    }
    set_preset_record(self, json, path, used);
    if (kind == WORK_RECOMPILE)
        free(path);
    return LV2_WORKER_SUCCESS;
}

static SPRUNG_REALTIME LV2_Worker_Status work_response(LV2_Handle instance, uint32_t size,
                                                       const void *body)
{
    Plugin *self = (Plugin *)instance;
    if (!self || !body || size < offsetof(WorkResponse, path))
        return LV2_WORKER_ERR_UNKNOWN;
    WorkResponse response;
    memcpy(&response, body, offsetof(WorkResponse, path));
    /* The newest engine wins: one still waiting for the runner is retired. */
    dispose_engine(self, self->pending);
    self->pending = response.engine;
    self->pending_latency = response.latency;
    self->oversampling = response.oversampling;
    if (self->runner && sprung_runner_offer_engine(self->runner, self->pending)) {
        self->live = self->pending;
        self->pending = NULL;
        self->latency = response.latency;
    }
    const char *path = (const char *)body + offsetof(WorkResponse, path);
    if (response.path_bytes && response.path_bytes <= MAX_PATH_BYTES &&
        size >= offsetof(WorkResponse, path) + response.path_bytes &&
        path[response.path_bytes - 1] == '\0') {
        memcpy(self->current_path, path, response.path_bytes);
        self->notify_preset = 1;
    }
    self->notify_oversampling = 1;
    return LV2_WORKER_SUCCESS;
}

/* ---- State ---- */

static LV2_State_Status save(LV2_Handle instance, LV2_State_Store_Function store,
                             LV2_State_Handle handle, uint32_t flags,
                             const LV2_Feature *const *features)
{
    (void)flags;
    Plugin *self = (Plugin *)instance;
    if (!self || !self->map)
        return LV2_STATE_ERR_NO_FEATURE;
    const Uris *u = &self->uris;
    const uint32_t pod = LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE;
    LV2_State_Map_Path *map_path = NULL;
    LV2_State_Free_Path *free_path = NULL;
    lv2_features_query(features, LV2_STATE__mapPath, &map_path, false, LV2_STATE__freePath,
                       &free_path, false, NULL);

    LV2_State_Status status = LV2_STATE_SUCCESS;
    pthread_mutex_lock(&self->preset_lock);
    if (self->preset_json) {
        /* The preset itself, so the session opens anywhere unchanged. */
        status = store(handle, u->sprung_presetJson, self->preset_json,
                       strlen(self->preset_json) + 1, u->atom_String, pod);
    }
    if (status == LV2_STATE_SUCCESS && self->preset_path && map_path) {
        /* Where it came from, for the host's file chooser; never re-read. */
        char *abstract = map_path->abstract_path(map_path->handle, self->preset_path);
        if (abstract) {
            store(handle, u->sprung_preset, abstract, strlen(abstract) + 1, u->atom_Path,
                  LV2_STATE_IS_POD);
            if (free_path)
                free_path->free_path(free_path->handle, abstract);
            else
                free(abstract);
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
    if (type == u->atom_Float && size >= sizeof(float))
        *out = *(const float *)value;
    else if (type == u->atom_Double && size >= sizeof(double))
        *out = *(const double *)value;
    else if (type == u->atom_Int && size >= sizeof(int32_t))
        *out = *(const int32_t *)value;
    else if (type == u->atom_Long && size >= sizeof(int64_t))
        *out = (double)*(const int64_t *)value;
    else
        return 0;
    return isfinite(*out);
}

static LV2_State_Status restore(LV2_Handle instance, LV2_State_Retrieve_Function retrieve,
                                LV2_State_Handle handle, uint32_t flags,
                                const LV2_Feature *const *features)
{
    (void)flags;
    Plugin *self = (Plugin *)instance;
    if (!self || !self->map)
        return LV2_STATE_ERR_NO_FEATURE;
    const Uris *u = &self->uris;
    const char *name = plugin_name(self);
    LV2_State_Map_Path *map_path = NULL;
    LV2_State_Free_Path *free_path = NULL;
    lv2_features_query(features, LV2_STATE__mapPath, &map_path, false, LV2_STATE__freePath,
                       &free_path, false, NULL);
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
            json = copy_string(text);
        if (!json) {
            lv2_log_error(&self->logger, "%s: state: <%s> is not a string; the built-in demo "
                                         "preset plays instead\n", name, SPRUNG_LV2__presetJson);
            result = LV2_STATE_ERR_BAD_TYPE;
        }
    }
    value = retrieve(handle, u->sprung_preset, &size, &type, &value_flags);
    if (value && type == u->atom_Path && size && memchr(value, '\0', size)) {
        if (map_path) {
            char *absolute = map_path->absolute_path(map_path->handle, value);
            if (absolute) {
                path = copy_string(absolute);
                if (free_path)
                    free_path->free_path(free_path->handle, absolute);
                else
                    free(absolute);
            }
        } else {
            path = copy_string(value);
        }
        if (path)
            source = path;
    }

    char message[1024], note[512];
    SprungEngine *engine = NULL;
    uint32_t used = oversampling;
    if (json && compile_preset(self, json, source, oversampling, &engine, &used, message,
                               sizeof message, note, sizeof note) != SPRUNG_OK) {
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
        json = copy_string((const char *)sprung_lv2_demo_preset);
        if (!json || compile_preset(self, json, DEMO_SOURCE, oversampling, &engine, &used,
                                    message, sizeof message, note, sizeof note) != SPRUNG_OK) {
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
        if (make_runner(self, engine, gain, self->applied_muted, &runner, message,
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
    set_preset_record(self, json, path, used);
    free(path);
    return result;
}

/* ---- Test hook ---- */

static void testing_sabotage(void *instance, unsigned flags)
{
    if (instance)
        ((Plugin *)instance)->sabotage = flags;
}

static const void *extension_data(const char *uri)
{
    static const LV2_State_Interface state = {save, restore};
    static const LV2_Worker_Interface worker = {work, work_response, NULL};
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
    {SPRUNG_LV2_INSTRUMENT_URI, instantiate, connect_port, activate, run, deactivate, cleanup,
     extension_data},
    {SPRUNG_LV2_EFFECT_URI, instantiate, connect_port, activate, run, deactivate, cleanup,
     extension_data},
};

LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index)
{
    return index < sizeof descriptors / sizeof descriptors[0] ? &descriptors[index] : NULL;
}
