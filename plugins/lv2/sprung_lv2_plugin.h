/* sprung.lv2's insides: the plugin instance, the messages between its
 * threads, and what the files share. One file per LV2 threading class:
 *
 *   sprung_lv2.c          the descriptors, instantiate, connect_port,
 *                         activate, deactivate, cleanup
 *   sprung_lv2_run.c      run() and work_response(): the audio thread
 *   sprung_lv2_worker.c   work(): loads presets, frees engines, logs
 *   sprung_lv2_state.c    save() and restore()
 *   sprung_lv2_preset.c   reading and compiling presets (never the audio thread)
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
#ifndef SPRUNG_LV2_PLUGIN_H
#define SPRUNG_LV2_PLUGIN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <lv2/atom/forge.h>
#include <lv2/core/lv2.h>
#include <lv2/log/logger.h>
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
    LOG_WORK_QUEUE_FULL,    /* a = run()s a load waited for room in the queue */
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
        atom_Long, atom_Float, atom_Double, atom_Sequence, atom_URID, atom_beatTime,
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
    WorkLoad requested_load;   /* the last patch:Set of a preset file, until sent */
    int load_requested;        /* requested_load waits to be sent to the worker */
    int recompile_requested;   /* a recompile at `oversampling` waits to be sent */
    uint32_t runs_waited;      /* run()s the host's worker queue refused them */
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

static inline const char *plugin_name(const Plugin *self)
{
    return self->is_effect ? "sprung effect" : "sprung instrument";
}

static inline float clamp_gain(float db)
{
    return db < GAIN_MIN_DB ? GAIN_MIN_DB : db > GAIN_MAX_DB ? GAIN_MAX_DB : db;
}

static inline float clamp_macro(float value)
{
    return value < 0.0f ? 0.0f : value > 1.0f ? 1.0f : value;
}

/* ---- sprung_lv2_preset.c: loading and compiling (worker, instantiate, restore) ---- */

/* Reads a whole preset file; NULL with a message naming the file. */
char *plugin_read_preset_file(const char *path, char *message, size_t message_size);
/* Parses and compiles `json`. A model unstable at `oversampling` is
 * compiled at the smallest factor that is stable (said in `note`). */
SprungStatus plugin_compile_preset(const Plugin *self, const char *json, const char *source,
                                   uint32_t oversampling, SprungEngine **out,
                                   uint32_t *used_oversampling, char *message,
                                   size_t message_size, char *note, size_t note_size);
/* Makes `json`/`path`/`oversampling` the preset in effect (for save()).
 * Takes ownership of `json`; copies `path`. */
void plugin_set_preset_record(Plugin *self, char *json, const char *path,
                              uint32_t oversampling);
SprungStatus plugin_make_runner(Plugin *self, SprungEngine *engine, float gain_db, int muted,
                                SprungRunner **out, char *message, size_t message_size);

/* ---- The LV2 callbacks the other files define ---- */

SPRUNG_REALTIME void plugin_run(LV2_Handle instance, uint32_t n_samples);
SPRUNG_REALTIME LV2_Worker_Status plugin_work_response(LV2_Handle instance, uint32_t size,
                                                       const void *body);
LV2_Worker_Status plugin_work(LV2_Handle instance, LV2_Worker_Respond_Function respond,
                              LV2_Worker_Respond_Handle handle, uint32_t size,
                              const void *data);
LV2_State_Status plugin_save(LV2_Handle instance, LV2_State_Store_Function store,
                             LV2_State_Handle handle, uint32_t flags,
                             const LV2_Feature *const *features);
LV2_State_Status plugin_restore(LV2_Handle instance, LV2_State_Retrieve_Function retrieve,
                                LV2_State_Handle handle, uint32_t flags,
                                const LV2_Feature *const *features);

#endif
