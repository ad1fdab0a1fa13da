/* A test host of our own for sprung.lv2, on lilv: it loads the bundle from
 * LV2_PATH, instantiates the instrument and the effect, sends atom MIDI at
 * exact frames, runs the LV2 worker synchronously after each run(), and
 * checks (one subcommand per ctest test) the points below. Like real hosts
 * it promises no more alignment than LV2 does: its control sequence is
 * 4-byte aligned only (as jalv 1.6's), and its worker messages lie at 4
 * mod 8; the sanitizer build (tests/sanitize) catches a plugin that reads
 * either in place as wider types. Like jalv 1.6, it leaves the sequence's
 * time unit garbage.
 * Subcommands:
 *   exact      output bit-identical to the runner driven directly as `sprung
 *              render` drives it, with the same block schedule (varied block
 *              sizes), through a patch:Set preset load (crossfade included),
 *              gain and bypass changes, and an oversampling change (latency
 *              port); the effect's inputs do not change its output yet (no
 *              audio-input exciter: issue 3)
 *   expression the MPE pad played with bends, channel and poly pressure, CC74
 *              and a controller reset (program change and system messages
 *              among them, ignored): bit-identical to the runner fed the
 *              events the bytes mean, and each of bend, pressure and CC74
 *              audible (the runner without it differs)
 *   state      save mid-note, Turtle round trip, restore into a fresh
 *              instance: the state is equal (preset JSON, macros, gain,
 *              oversampling; the ringing of the note itself is not state),
 *              it renders bit-identically to a runner set up from the preset
 *              file, the saving instance is not disturbed, restore into a
 *              playing instance swaps without trouble, and an LV2 preset
 *              (pset) loads its instrument
 *   hostile    run() before activate, NULL ports, double (de)activation,
 *              unknown and malformed atoms, bad patch values, a missing and
 *              a broken preset file, broken/empty/mistyped states, garbage
 *              worker messages: the plugin logs an error or falls back to
 *              the default, and never crashes
 *   protocol   patch:Get answered on the notify port (everything, or the
 *              property asked), oversampling as atom:Long (2^32 + 2 refused,
 *              not read as 2), a sequence whose last event overruns it, more
 *              notes than a run() holds, the host's worker queue full for
 *              two runs (the preset load waits and goes out after, never
 *              lost) and breaker trips: each handled as documented and
 *              logged
 *   realtime   every run() and work_response() inside a RealtimeSanitizer
 *              real-time section while presets load, controls move and
 *              hostile atoms arrive; --sabotage makes run() allocate (the
 *              test-only hook), which RTSan must report
 *   priority   run() from a SCHED_FIFO thread, a voiced preset whose voices
 *              get a worker pool (SPRUNG_VOICE_THREADS=2): the pool's thread
 *              takes the audio thread's priority, for the engine made at
 *              instantiate (set from the first run) and for one loaded
 *              after; exit 77 where no SCHED_FIFO thread can be made
 * Usage: test_lv2_host exact|expression|state|hostile|protocol|realtime|priority
 *                      [--sabotage] PRESET_DIR */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/log/log.h>
#include <lv2/midi/midi.h>
#include <lv2/options/options.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include "sprung/sprung.h"
#include "sprung_lv2_uris.h"

#ifdef SPRUNG_LV2_HAVE_RTSAN
void __rtsan_init(void);
void __rtsan_realtime_enter(void);
void __rtsan_realtime_exit(void);
#define RT_ENTER() do { if (g_realtime) __rtsan_realtime_enter(); } while (0)
#define RT_EXIT() do { if (g_realtime) __rtsan_realtime_exit(); } while (0)
#else
#define RT_ENTER() ((void)0)
#define RT_EXIT() ((void)0)
#endif

#define RATE 48000.0
enum { MAX_BLOCK = 512, SEQ_BYTES = 1 << 16, WORK_SLOTS = 64, WORK_BYTES = 4096,
       MAX_URIS = 512 };

static int g_failures;
#ifdef SPRUNG_LV2_HAVE_RTSAN
static int g_realtime; /* run() and work_response() inside RTSan's real-time scope */
#endif
static const char *g_presets;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                    \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
            g_failures++;                                                                      \
        }                                                                                      \
    } while (0)

/* ---- URID map ---- */

static char *g_uris[MAX_URIS];
static uint32_t g_n_uris;

static LV2_URID map_uri(LV2_URID_Map_Handle handle, const char *uri)
{
    (void)handle;
    for (uint32_t i = 0; i < g_n_uris; i++)
        if (!strcmp(g_uris[i], uri))
            return i + 1;
    if (g_n_uris == MAX_URIS)
        return 0;
    g_uris[g_n_uris] = strdup(uri);
    return ++g_n_uris;
}

static const char *unmap_uri(LV2_URID_Unmap_Handle handle, LV2_URID urid)
{
    (void)handle;
    return urid >= 1 && urid <= g_n_uris ? g_uris[urid - 1] : NULL;
}

static LV2_URID_Map g_map = {NULL, map_uri};
static LV2_URID_Unmap g_unmap = {NULL, unmap_uri};

static LV2_URID urid(const char *uri)
{
    return map_uri(NULL, uri);
}

/* ---- Log: kept, so tests can look for the plugin's messages ---- */

static char g_log[1 << 16];
static size_t g_log_used;

static int log_vprintf(LV2_Log_Handle handle, LV2_URID type, const char *fmt, va_list ap)
{
    (void)handle;
    char line[2048];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    const char *kind = unmap_uri(NULL, type);
    fprintf(stderr, "  [plugin log %s] %s", kind ? strrchr(kind, '#') + 1 : "?", line);
    size_t len = strlen(line);
    if (g_log_used + len + 1 < sizeof g_log) {
        memcpy(g_log + g_log_used, line, len + 1);
        g_log_used += len;
    }
    return n;
}

static int log_printf(LV2_Log_Handle handle, LV2_URID type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = log_vprintf(handle, type, fmt, ap);
    va_end(ap);
    return n;
}

static LV2_Log_Log g_log_feature = {NULL, log_printf, log_vprintf};

static void log_clear(void)
{
    g_log_used = 0;
    g_log[0] = '\0';
}

static int log_has(const char *text)
{
    return strstr(g_log, text) != NULL;
}

/* ---- One plugin instance with its ports and a synchronous worker ---- */

typedef struct Host {
    const LilvPlugin *plugin;
    LilvInstance *instance;
    const LV2_Worker_Interface *worker;
    const LV2_State_Interface *state;
    int is_effect;
    LV2_Atom_Forge forge;
    LV2_Atom_Forge_Frame seq_frame;
    /* The control sequence starts 4 bytes past an 8-byte boundary, as
     * jalv 1.6's event buffers do (LV2 promises atoms 4-byte alignment;
     * an event's time is 64-bit): control points 4 bytes into its
     * storage. */
    uint8_t *control;
    _Alignas(16) uint8_t control_storage[4 + SEQ_BYTES];
    _Alignas(16) uint8_t notify[SEQ_BYTES];
    float out[2][MAX_BLOCK], in[2][MAX_BLOCK];
    float gain, enabled, macro[SPRUNG_LV2_MACROS], latency;
    /* schedule_work copies here (real-time safe); run afterwards */
    uint8_t work[WORK_SLOTS][WORK_BYTES];
    uint32_t work_size[WORK_SLOTS], n_work;
    uint8_t response[WORK_SLOTS][WORK_BYTES];
    uint32_t response_size[WORK_SLOTS], n_response;
    uint32_t work_refused;
    int queue_full;            /* schedule_work refuses all, as a host's full ring would */
    LV2_Worker_Schedule schedule;
    LV2_Feature f_map, f_unmap, f_log, f_schedule, f_options;
    const LV2_Feature *features[6];
    LV2_Options_Option options[3];
    int32_t max_block_option;
} Host;

static LilvWorld *g_world;

static LV2_Worker_Status schedule_work(LV2_Worker_Schedule_Handle handle, uint32_t size,
                                       const void *data)
{
    Host *h = handle;
    if (h->queue_full || h->n_work == WORK_SLOTS || size > WORK_BYTES) {
        h->work_refused++;
        return LV2_WORKER_ERR_NO_SPACE;
    }
    memcpy(h->work[h->n_work], data, size);
    h->work_size[h->n_work++] = size;
    return LV2_WORKER_SUCCESS;
}

static LV2_Worker_Status respond(LV2_Worker_Respond_Handle handle, uint32_t size,
                                 const void *data)
{
    Host *h = handle;
    if (h->n_response == WORK_SLOTS || size > WORK_BYTES)
        return LV2_WORKER_ERR_NO_SPACE;
    memcpy(h->response[h->n_response], data, size);
    h->response_size[h->n_response++] = size;
    return LV2_WORKER_SUCCESS;
}

/* The worker, as a host's worker thread would run it, then the responses
 * in the audio context (inside a real-time section when testing RT). */
static void host_run_worker(Host *h)
{
    if (!h->worker)
        return;
    for (uint32_t i = 0; i < h->n_work; i++)
        h->worker->work(lilv_instance_get_handle(h->instance), respond, h, h->work_size[i],
                        h->work[i]);
    h->n_work = 0;
    for (uint32_t i = 0; i < h->n_response; i++) {
        RT_ENTER();
        h->worker->work_response(lilv_instance_get_handle(h->instance), h->response_size[i],
                                 h->response[i]);
        RT_EXIT();
    }
    h->n_response = 0;
}

static const LilvPlugin *find_plugin(const char *uri)
{
    LilvNode *node = lilv_new_uri(g_world, uri);
    const LilvPlugin *plugin = lilv_plugins_get_by_uri(lilv_world_get_all_plugins(g_world), node);
    lilv_node_free(node);
    if (!plugin) {
        fprintf(stderr, "FAIL: <%s> is not in LV2_PATH (%s)\n", uri,
                getenv("LV2_PATH") ? getenv("LV2_PATH") : "unset");
        exit(1);
    }
    return plugin;
}

static void host_connect(Host *h)
{
    LilvInstance *in = h->instance;
    lilv_instance_connect_port(in, SPRUNG_LV2_PORT_CONTROL, h->control);
    lilv_instance_connect_port(in, SPRUNG_LV2_PORT_NOTIFY, h->notify);
    lilv_instance_connect_port(in, SPRUNG_LV2_PORT_OUT_LEFT, h->out[0]);
    lilv_instance_connect_port(in, SPRUNG_LV2_PORT_OUT_RIGHT, h->out[1]);
    lilv_instance_connect_port(in, SPRUNG_LV2_PORT_GAIN, &h->gain);
    lilv_instance_connect_port(in, SPRUNG_LV2_PORT_ENABLED, &h->enabled);
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++)
        lilv_instance_connect_port(in, SPRUNG_LV2_PORT_MACRO_1 + i, &h->macro[i]);
    lilv_instance_connect_port(in, SPRUNG_LV2_PORT_LATENCY, &h->latency);
    if (h->is_effect) {
        lilv_instance_connect_port(in, SPRUNG_LV2_PORT_IN_LEFT, h->in[0]);
        lilv_instance_connect_port(in, SPRUNG_LV2_PORT_IN_RIGHT, h->in[1]);
    }
}

/* Instantiates (not activated). `with_worker` 0: a host without a worker. */
static Host *host_new(int effect, int with_worker)
{
    Host *h = calloc(1, sizeof *h);
    h->control = h->control_storage + 4;
    h->is_effect = effect;
    h->plugin = find_plugin(effect ? SPRUNG_LV2_EFFECT_URI : SPRUNG_LV2_INSTRUMENT_URI);
    h->schedule = (LV2_Worker_Schedule){h, schedule_work};
    h->max_block_option = MAX_BLOCK;
    h->options[0] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0, urid(LV2_BUF_SIZE__maxBlockLength),
                                         sizeof(int32_t), urid(LV2_ATOM__Int),
                                         &h->max_block_option};
    h->options[1] = (LV2_Options_Option){LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL};
    h->f_map = (LV2_Feature){LV2_URID__map, &g_map};
    h->f_unmap = (LV2_Feature){LV2_URID__unmap, &g_unmap};
    h->f_log = (LV2_Feature){LV2_LOG__log, &g_log_feature};
    h->f_schedule = (LV2_Feature){LV2_WORKER__schedule, &h->schedule};
    h->f_options = (LV2_Feature){LV2_OPTIONS__options, h->options};
    int n = 0;
    h->features[n++] = &h->f_map;
    h->features[n++] = &h->f_unmap;
    h->features[n++] = &h->f_log;
    h->features[n++] = &h->f_options;
    if (with_worker)
        h->features[n++] = &h->f_schedule;
    h->features[n] = NULL;
    h->instance = lilv_plugin_instantiate(h->plugin, RATE, h->features);
    if (!h->instance) {
        fprintf(stderr, "FAIL: cannot instantiate the %s\n", effect ? "effect" : "instrument");
        exit(1);
    }
    h->worker = with_worker ? lilv_instance_get_extension_data(h->instance, LV2_WORKER__interface)
                            : NULL;
    h->state = lilv_instance_get_extension_data(h->instance, LV2_STATE__interface);
    lv2_atom_forge_init(&h->forge, &g_map);
    h->enabled = 1.0f;
    host_connect(h);
    return h;
}

static void host_free(Host *h)
{
    if (!h)
        return;
    lilv_instance_deactivate(h->instance);
    lilv_instance_free(h->instance);
    free(h);
}

/* Starts the control sequence of the next run(). */
static void host_begin(Host *h)
{
    lv2_atom_forge_set_buffer(&h->forge, h->control, SEQ_BYTES);
    lv2_atom_forge_sequence_head(&h->forge, &h->seq_frame, 0);
    /* jalv 1.6 leaves the sequence's unit uninitialised: garbage here,
     * which the plugin must take for frames (only atom:beatTime is beats;
     * reading anything else as beats played every note at frame 0). */
    const uint32_t garbage_unit = 0xbebebebeu;
    memcpy(h->control + offsetof(LV2_Atom_Sequence, body.unit), &garbage_unit,
           sizeof garbage_unit);
}

static void host_midi(Host *h, uint32_t frame, const uint8_t *bytes, uint32_t size)
{
    lv2_atom_forge_frame_time(&h->forge, frame);
    lv2_atom_forge_atom(&h->forge, size, urid(LV2_MIDI__MidiEvent));
    lv2_atom_forge_write(&h->forge, bytes, size);
}

static void host_note(Host *h, uint32_t frame, uint8_t type, uint8_t note, uint8_t velocity)
{
    uint8_t bytes[3] = {type == SPRUNG_EVENT_NOTE_ON ? 0x90 : 0x80, note, velocity};
    host_midi(h, frame, bytes, 3);
}

static void host_patch_set(Host *h, uint32_t frame, const char *property, LV2_URID value_type,
                           const void *value, uint32_t value_size)
{
    LV2_Atom_Forge_Frame frame_object;
    lv2_atom_forge_frame_time(&h->forge, frame);
    lv2_atom_forge_object(&h->forge, &frame_object, 0, urid(LV2_PATCH__Set));
    lv2_atom_forge_key(&h->forge, urid(LV2_PATCH__property));
    lv2_atom_forge_urid(&h->forge, urid(property));
    lv2_atom_forge_key(&h->forge, urid(LV2_PATCH__value));
    lv2_atom_forge_atom(&h->forge, value_size, value_type);
    lv2_atom_forge_write(&h->forge, value, value_size);
    lv2_atom_forge_pop(&h->forge, &frame_object);
}

static void host_set_preset(Host *h, uint32_t frame, const char *path)
{
    host_patch_set(h, frame, SPRUNG_LV2__preset, urid(LV2_ATOM__Path), path,
                   (uint32_t)strlen(path) + 1);
}

/* A patch:Get of `property`, or of everything when NULL. */
static void host_patch_get(Host *h, uint32_t frame, const char *property)
{
    LV2_Atom_Forge_Frame frame_object;
    lv2_atom_forge_frame_time(&h->forge, frame);
    lv2_atom_forge_object(&h->forge, &frame_object, 0, urid(LV2_PATCH__Get));
    if (property) {
        lv2_atom_forge_key(&h->forge, urid(LV2_PATCH__property));
        lv2_atom_forge_urid(&h->forge, urid(property));
    }
    lv2_atom_forge_pop(&h->forge, &frame_object);
}

static void host_set_oversampling(Host *h, uint32_t frame, int32_t factor)
{
    host_patch_set(h, frame, SPRUNG_LV2__oversampling, urid(LV2_ATOM__Int), &factor,
                   sizeof factor);
}

/* Ends the control sequence and readies the notify port for run(). */
static void host_end(Host *h)
{
    lv2_atom_forge_pop(&h->forge, &h->seq_frame);
    LV2_Atom *notify = (LV2_Atom *)h->notify;
    notify->type = 0;
    notify->size = SEQ_BYTES - sizeof(LV2_Atom);
}

/* Runs the plugin on the sequence as it stands (in a real-time section
 * when asked), then its worker. */
static void host_run_ended(Host *h, uint32_t n)
{
    RT_ENTER();
    lilv_instance_run(h->instance, n);
    RT_EXIT();
    host_run_worker(h);
}

/* Ends the sequence, runs the plugin, then its worker. */
static void host_run(Host *h, uint32_t n)
{
    host_end(h);
    host_run_ended(h, n);
}

/* Whether the notify port holds a patch:Set of `property` (after run). */
static int notify_has_set(Host *h, const char *property, char *path_out, size_t path_size)
{
    const LV2_Atom_Sequence *seq = (const LV2_Atom_Sequence *)h->notify;
    if (seq->atom.type != urid(LV2_ATOM__Sequence))
        return 0;
    LV2_ATOM_SEQUENCE_FOREACH(seq, ev)
    {
        const LV2_Atom_Object *obj = (const LV2_Atom_Object *)&ev->body;
        if (!lv2_atom_forge_is_object_type(&h->forge, ev->body.type) ||
            obj->body.otype != urid(LV2_PATCH__Set))
            continue;
        const LV2_Atom *prop = NULL, *value = NULL;
        lv2_atom_object_get(obj, urid(LV2_PATCH__property), &prop, urid(LV2_PATCH__value),
                            &value, 0);
        if (prop && ((const LV2_Atom_URID *)prop)->body == urid(property)) {
            if (path_out && value && value->type == urid(LV2_ATOM__Path))
                snprintf(path_out, path_size, "%s", (const char *)LV2_ATOM_BODY_CONST(value));
            return 1;
        }
    }
    return 0;
}

/* ---- The reference: the runner driven directly, as `sprung render` ---- */

typedef struct Reference {
    SprungRunner *runner;
    float out[2][MAX_BLOCK];
} Reference;

static SprungEngine *reference_engine(const char *preset, uint32_t oversampling)
{
    SprungError error = {0};
    SprungModel *model = NULL;
    SprungEngine *engine = NULL;
    if (sprung_model_load_file(preset, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s\n", error.message);
        exit(1);
    }
    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = RATE;
    config.max_block_frames = MAX_BLOCK;
    config.oversampling = oversampling;
    if (sprung_engine_new(&config, model, &engine, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s\n", error.message);
        exit(1);
    }
    sprung_model_free(model);
    return engine;
}

static Reference *reference_new(const char *preset, double gain_db)
{
    Reference *r = calloc(1, sizeof *r);
    SprungRunnerConfig config = sprung_runner_config_default();
    config.sample_rate = RATE;
    config.max_block_frames = MAX_BLOCK;
    config.max_block_events = 1024;
    config.gain_db = gain_db;
    config.dc_blocker = 0;
    config.limiter = 0;
    SprungError error = {0};
    if (sprung_runner_new(&config, reference_engine(preset, 1), &r->runner, &error) !=
        SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s\n", error.message);
        exit(1);
    }
    return r;
}

static void reference_free(Reference *r)
{
    if (r) {
        sprung_runner_free(r->runner);
        free(r);
    }
}

static void reference_run(Reference *r, uint32_t n, const SprungEvent *events, uint32_t n_events)
{
    float *outs[2] = {r->out[0], r->out[1]};
    sprung_runner_process(r->runner, n, NULL, 0, outs, 2, events, n_events);
    SprungEngine *old;
    while ((old = sprung_runner_take_retired_engine(r->runner)))
        sprung_engine_free(old);
    sprung_runner_poll(r->runner, NULL);
}

static char *preset_path(const char *name)
{
    static char paths[8][1024];
    static int next;
    char *path = paths[next++ % 8];
    snprintf(path, 1024, "%s/%s", g_presets, name);
    return path;
}

/* ---- A phrase: notes at exact absolute frames, blocks of varied sizes ---- */

typedef struct Note {
    uint64_t frame;
    uint8_t type, note, velocity;
} Note;

static const uint32_t g_block_sizes[] = {64, 1, 200, 37, 256, 128, 13, 512, 300, 77};

static uint32_t block_size(uint32_t index)
{
    return g_block_sizes[index % (sizeof g_block_sizes / sizeof g_block_sizes[0])];
}

/* Events of `notes` in [pos, pos + n): to the host (as MIDI) and to `out`. */
static uint32_t block_events(const Note *notes, size_t n_notes, uint64_t pos, uint32_t n,
                             Host *h, SprungEvent *out)
{
    uint32_t k = 0;
    for (size_t i = 0; i < n_notes; i++) {
        if (notes[i].frame < pos || notes[i].frame >= pos + n)
            continue;
        uint32_t frame = (uint32_t)(notes[i].frame - pos);
        if (h)
            host_note(h, frame, notes[i].type, notes[i].note, notes[i].velocity);
        out[k++] = (SprungEvent){.frame = frame, .type = notes[i].type, .note = notes[i].note,
                                 .velocity = notes[i].velocity};
    }
    return k;
}

static void fill_input(Host *h, uint64_t pos, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        float x = 0.3f * sinf((float)(2.0 * M_PI * 330.0 * (double)(pos + i) / RATE));
        h->in[0][i] = x;
        h->in[1][i] = -x;
    }
}

static int same_bits(const float *a, const float *b, uint32_t n, uint32_t *at)
{
    if (!memcmp(a, b, sizeof(float) * n))
        return 1;
    for (uint32_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float))) {
            *at = i;
            return 0;
        }
    return 1;
}

static double block_energy(const float *x, uint32_t n)
{
    double e = 0.0;
    for (uint32_t i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return e;
}

/* Compares the plugin's block of n frames at `pos` with the reference's,
 * reporting the first few that differ (counted in *mismatches); returns the
 * plugin's energy in the block. */
static double compare_block(const Host *h, const Reference *ref, uint32_t n, uint64_t pos,
                            const char *what, uint32_t *mismatches)
{
    double energy = 0.0;
    for (int ch = 0; ch < 2; ch++) {
        uint32_t at = 0;
        if (!same_bits(h->out[ch], ref->out[ch], n, &at) && (*mismatches)++ < 5)
            fprintf(stderr, "FAIL %s: frame %llu ch %d: plugin %.9g, runner %.9g\n", what,
                    (unsigned long long)(pos + at), ch, (double)h->out[ch][at],
                    (double)ref->out[ch][at]);
        energy += block_energy(h->out[ch], n);
    }
    return energy;
}

static const Note g_phrase[] = {
    {100, SPRUNG_EVENT_NOTE_ON, 60, 100},    {101, SPRUNG_EVENT_NOTE_ON, 64, 90},
    {4000, SPRUNG_EVENT_NOTE_ON, 67, 80},    {9000, SPRUNG_EVENT_NOTE_OFF, 60, 0},
    {12345, SPRUNG_EVENT_NOTE_ON, 72, 127},  {12345, SPRUNG_EVENT_NOTE_ON, 48, 60},
    {20000, SPRUNG_EVENT_NOTE_ON, 62, 100},  {30001, SPRUNG_EVENT_NOTE_ON, 65, 110},
    {36000, SPRUNG_EVENT_NOTE_ON, 69, 100},  {45000, SPRUNG_EVENT_NOTE_ON, 57, 100},
    {52000, SPRUNG_EVENT_NOTE_OFF, 57, 0},   {60000, SPRUNG_EVENT_NOTE_ON, 71, 90},
    {66000, SPRUNG_EVENT_NOTE_ON, 74, 90},   {70000, SPRUNG_EVENT_NOTE_ON, 76, 90},
};
#define PHRASE_NOTES (sizeof g_phrase / sizeof g_phrase[0])

/* ---- exact ---- */

static void test_exact_one(int effect)
{
    const char *what = effect ? "effect" : "instrument";
    Host *h = host_new(effect, 1);
    lilv_instance_activate(h->instance);
    Reference *ref = reference_new(preset_path("demo.json"), 0.0);
    const uint64_t total = 80000;
    const uint64_t load_at = 24000, gain_at = 40000, bypass_at = 50000, unbypass_at = 56000,
                   oversample_at = 62000;
    int set_preset_block = -1, set_oversample_block = -1, preset_notified = 0;
    uint32_t block = 0, mismatches = 0;
    double energy = 0.0;
    SprungEvent events[64];
    for (uint64_t pos = 0; pos < total; block++) {
        uint32_t n = block_size(block);
        host_begin(h);
        uint32_t k = block_events(g_phrase, PHRASE_NOTES, pos, n, h, events);
        /* The worker runs right after this run(); the plugin offers the
         * engine at the start of the next one: so does the reference. */
        if (set_preset_block < 0 && pos >= load_at) {
            host_set_preset(h, 0, preset_path("marimba.json"));
            set_preset_block = (int)block;
        } else if (set_preset_block >= 0 && (int)block == set_preset_block + 1) {
            CHECK(sprung_runner_offer_engine(ref->runner,
                                             reference_engine(preset_path("marimba.json"), 1)),
                  "reference swap");
        }
        if (set_oversample_block < 0 && pos >= oversample_at) {
            host_set_oversampling(h, 0, 2);
            set_oversample_block = (int)block;
        } else if (set_oversample_block >= 0 && (int)block == set_oversample_block + 1) {
            CHECK(sprung_runner_offer_engine(ref->runner,
                                             reference_engine(preset_path("marimba.json"), 2)),
                  "reference swap");
        }
        if (pos >= gain_at && h->gain == 0.0f) {
            h->gain = -6.0f;
            sprung_runner_set_gain_db(ref->runner, -6.0);
        }
        if (!effect && pos >= bypass_at && pos < unbypass_at && h->enabled == 1.0f) {
            h->enabled = 0.0f;
            sprung_runner_set_mute(ref->runner, 1);
        }
        if (!effect && pos >= unbypass_at && h->enabled == 0.0f) {
            h->enabled = 1.0f;
            sprung_runner_set_mute(ref->runner, 0);
        }
        if (effect)
            fill_input(h, pos, n);
        host_run(h, n);
        reference_run(ref, n, events, k);
        if (notify_has_set(h, SPRUNG_LV2__preset, NULL, 0))
            preset_notified = 1;
        energy += compare_block(h, ref, n, pos, what, &mismatches);
        if (pos >= oversample_at + 2 * MAX_BLOCK)
            CHECK(h->latency == 35.0f, "%s: latency port %g at 2x (want 35)", what,
                  (double)h->latency);
        else if (pos < oversample_at)
            CHECK(h->latency == 0.0f, "%s: latency port %g at 1x", what, (double)h->latency);
        pos += n;
    }
    CHECK(mismatches == 0, "%s: %u blocks differ from the runner", what, mismatches);
    CHECK(energy > 1.0, "%s: silent (energy %g)", what, energy);
    CHECK(preset_notified, "%s: no patch:Set of the preset on the notify port after loading",
          what);
    printf("exact: %s: %u blocks of varied size (1..512 frames), %llu frames, preset swap, gain, "
           "%soversampling change: bit-identical to the runner (energy %.1f)\n",
           what, block, (unsigned long long)total, effect ? "" : "bypass, ", energy);

    if (effect) {
        /* Bypass passes the input through after the crossfade. */
        h->enabled = 0.0f;
        uint32_t n = 256;
        double diff = 0.0;
        for (int b = 0; b < 40; b++) {
            host_begin(h);
            fill_input(h, (uint64_t)b * n, n);
            host_run(h, n);
        }
        for (uint32_t i = 0; i < n; i++)
            diff = fmax(diff, fabs((double)h->out[0][i] - h->in[0][i]));
        CHECK(diff < 1e-3, "effect bypass: output differs from the input by %g", diff);
        printf("exact: effect bypass passes the input through (max difference %.2g)\n", diff);
    }
    reference_free(ref);
    host_free(h);
}

static void test_exact(void)
{
    test_exact_one(0);
    test_exact_one(1);
}

/* ---- expression ---- */

/* A phrase played on an MPE controller, as the MIDI bytes the host sends
 * and the events they mean, written out here (not decoded: the plugin's
 * reading of them is what is checked). `kind` 0 marks a message the plugin
 * must ignore; events of a kind in `drop` are left out of a reference. */
typedef struct Message {
    uint64_t frame;
    uint8_t size, bytes[3];
    SprungEvent event;
} Message;

#define NOTE_ON SPRUNG_EVENT_NOTE_ON
#define NOTE_OFF SPRUNG_EVENT_NOTE_OFF
static const Message g_mpe_phrase[] = {
    {200, 3, {0x91, 60, 100}, {.type = NOTE_ON, .channel = 1, .note = 60, .velocity = 100}},
    {210, 2, {0xD1, 40}, {.type = SPRUNG_EVENT_CHANNEL_PRESSURE, .channel = 1, .value = 40}},
    {3000, 3, {0xE1, 0x00, 0x48}, {.type = SPRUNG_EVENT_PITCH_BEND, .channel = 1, .value = 9216}},
    {6000, 3, {0xB1, 74, 100},
     {.type = SPRUNG_EVENT_CONTROL_CHANGE, .channel = 1, .note = 74, .value = 100}},
    {8000, 3, {0x92, 67, 90}, {.type = NOTE_ON, .channel = 2, .note = 67, .velocity = 90}},
    {8001, 2, {0xC2, 5}, {0}},  /* program change */
    {9000, 1, {0xF8}, {0}},     /* timing clock */
    {9001, 1, {0xFE}, {0}},     /* active sensing */
    {10000, 3, {0xA2, 67, 90},
     {.type = SPRUNG_EVENT_POLY_PRESSURE, .channel = 2, .note = 67, .value = 90}},
    {12000, 3, {0xE0, 0x7F, 0x7F},
     {.type = SPRUNG_EVENT_PITCH_BEND, .channel = 0, .value = 16383}},  /* the master's */
    {15000, 2, {0xD2, 127}, {.type = SPRUNG_EVENT_CHANNEL_PRESSURE, .channel = 2, .value = 127}},
    {18000, 3, {0xB2, 74, 10},
     {.type = SPRUNG_EVENT_CONTROL_CHANGE, .channel = 2, .note = 74, .value = 10}},
    {20000, 3, {0x81, 60, 64}, {.type = NOTE_OFF, .channel = 1, .note = 60, .velocity = 64}},
    {22000, 3, {0x92, 67, 0}, {.type = NOTE_OFF, .channel = 2, .note = 67}},
    {24000, 3, {0xB0, 121, 0},
     {.type = SPRUNG_EVENT_CONTROL_CHANGE, .channel = 0, .note = 121}},  /* reset controllers */
    {26000, 3, {0x93, 64, 120}, {.type = NOTE_ON, .channel = 3, .note = 64, .velocity = 120}},
    {26500, 2, {0xD3, 90}, {.type = SPRUNG_EVENT_CHANNEL_PRESSURE, .channel = 3, .value = 90}},
    {27000, 3, {0xE3, 0x00, 0x30}, {.type = SPRUNG_EVENT_PITCH_BEND, .channel = 3, .value = 6144}},
    {33000, 3, {0xB3, 74, 127},
     {.type = SPRUNG_EVENT_CONTROL_CHANGE, .channel = 3, .note = 74, .value = 127}},
};
#undef NOTE_ON
#undef NOTE_OFF
#define MPE_PHRASE_MESSAGES (sizeof g_mpe_phrase / sizeof g_mpe_phrase[0])

/* The events of g_mpe_phrase in [pos, pos + n), less those of kind `drop`
 * (0: none), to `out`; to the host (as MIDI, every message) when given. */
static uint32_t mpe_block_events(uint64_t pos, uint32_t n, uint8_t drop, Host *h,
                                 SprungEvent *out)
{
    uint32_t k = 0;
    for (size_t i = 0; i < MPE_PHRASE_MESSAGES; i++) {
        const Message *m = &g_mpe_phrase[i];
        if (m->frame < pos || m->frame >= pos + n)
            continue;
        uint32_t frame = (uint32_t)(m->frame - pos);
        if (h)
            host_midi(h, frame, m->bytes, m->size);
        if (m->event.type && m->event.type != drop) {
            out[k] = m->event;
            out[k++].frame = frame;
        }
    }
    return k;
}

/* The MPE pad played with bends, pressure and timbre: the plugin's output
 * is bit-identical to the runner fed the events the bytes mean, and each
 * of bend, pressure and timbre is heard (the runner without them differs),
 * so a plugin that dropped them could not pass. */
static void test_expression_one(int effect)
{
    const char *what = effect ? "effect" : "instrument";
    static const uint8_t heard[] = {SPRUNG_EVENT_PITCH_BEND, SPRUNG_EVENT_CHANNEL_PRESSURE,
                                    SPRUNG_EVENT_CONTROL_CHANGE};
    static const char *const heard_names[] = {"pitch bend", "channel pressure", "CC74"};
    enum { N_HEARD = sizeof heard };
    Host *h = host_new(effect, 1);
    lilv_instance_activate(h->instance);
    Reference *ref = reference_new(preset_path("demo.json"), 0.0), *without[N_HEARD];
    for (int j = 0; j < N_HEARD; j++)
        without[j] = reference_new(preset_path("demo.json"), 0.0);
    double energy = 0.0, difference[N_HEARD] = {0};
    uint32_t mismatches = 0, block = 0;
    SprungEvent events[64];
    log_clear();
    for (uint64_t pos = 0; pos < 40000; block++) {
        uint32_t n = block_size(block);
        host_begin(h);
        /* The preset loads as in `exact`: asked in block 0, offered in block 1. */
        if (block == 0)
            host_set_preset(h, 0, preset_path("mpe-pad.json"));
        if (block == 1) {
            CHECK(sprung_runner_offer_engine(ref->runner,
                                             reference_engine(preset_path("mpe-pad.json"), 1)),
                  "reference swap");
            for (int j = 0; j < N_HEARD; j++)
                CHECK(sprung_runner_offer_engine(
                          without[j]->runner, reference_engine(preset_path("mpe-pad.json"), 1)),
                      "reference swap");
        }
        if (effect)
            fill_input(h, pos, n);
        uint32_t k = mpe_block_events(pos, n, 0, h, events);
        host_run(h, n);
        reference_run(ref, n, events, k);
        energy += compare_block(h, ref, n, pos, what, &mismatches);
        for (int j = 0; j < N_HEARD; j++) {
            k = mpe_block_events(pos, n, heard[j], NULL, events);
            reference_run(without[j], n, events, k);
            for (int ch = 0; ch < 2; ch++)
                for (uint32_t i = 0; i < n; i++) {
                    double d = (double)ref->out[ch][i] - without[j]->out[ch][i];
                    difference[j] += d * d;
                }
        }
        pos += n;
    }
    CHECK(mismatches == 0, "%s: %u blocks differ from the runner fed the same MPE phrase", what,
          mismatches);
    CHECK(energy > 1.0, "%s: silent (energy %g)", what, energy);
    for (int j = 0; j < N_HEARD; j++)
        CHECK(difference[j] > 1e-3 * energy, "%s: %s is not heard in the phrase (%g of %g)",
              what, heard_names[j], difference[j], energy);
    CHECK(!log_has("malformed"), "%s: an ignored message was logged as malformed", what);
    printf("expression: %s: mpe-pad with bends, pressure, CC74, poly pressure and a controller "
           "reset, program change and system messages ignored: bit-identical to the runner "
           "(energy %.1f); without bends / pressure / CC74 the sound differs by %.1f %% / "
           "%.1f %% / %.1f %% of its energy\n",
           what, energy, 100.0 * difference[0] / energy, 100.0 * difference[1] / energy,
           100.0 * difference[2] / energy);
    for (int j = 0; j < N_HEARD; j++)
        reference_free(without[j]);
    reference_free(ref);
    host_free(h);
}

static void test_expression(void)
{
    test_expression_one(0);
    test_expression_one(1);
}

/* ---- state ---- */

typedef struct StateEntry {
    uint32_t key, type, flags;
    size_t size;
    void *value;
} StateEntry;

typedef struct StateMap {
    StateEntry entries[64];
    int n;
} StateMap;

static LV2_State_Status state_store(LV2_State_Handle handle, uint32_t key, const void *value,
                                    size_t size, uint32_t type, uint32_t flags)
{
    StateMap *m = handle;
    if (m->n == 64)
        return LV2_STATE_ERR_NO_SPACE;
    StateEntry *e = &m->entries[m->n++];
    *e = (StateEntry){.key = key, .type = type, .flags = flags, .size = size};
    e->value = malloc(size ? size : 1);
    memcpy(e->value, value, size);
    return LV2_STATE_SUCCESS;
}

static const void *state_retrieve(LV2_State_Handle handle, uint32_t key, size_t *size,
                                  uint32_t *type, uint32_t *flags)
{
    StateMap *m = handle;
    for (int i = 0; i < m->n; i++)
        if (m->entries[i].key == key) {
            *size = m->entries[i].size;
            *type = m->entries[i].type;
            *flags = m->entries[i].flags;
            return m->entries[i].value;
        }
    return NULL;
}

static void state_put(StateMap *m, const char *key, const char *type, const void *value,
                      size_t size)
{
    state_store(m, urid(key), value, size, urid(type), LV2_STATE_IS_POD);
}

static const StateEntry *state_get(const StateMap *m, const char *key)
{
    for (int i = 0; i < m->n; i++)
        if (m->entries[i].key == urid(key))
            return &m->entries[i];
    return NULL;
}

static void state_clear(StateMap *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->entries[i].value);
    m->n = 0;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (fread(text, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    text[n] = '\0';
    fclose(f);
    return text;
}

static const void *get_port_value(const char *symbol, void *user_data, uint32_t *size,
                                  uint32_t *type)
{
    Host *h = user_data;
    *size = sizeof(float);
    *type = urid(LV2_ATOM__Float);
    if (!strcmp(symbol, "gain"))
        return &h->gain;
    if (!strcmp(symbol, "enabled"))
        return &h->enabled;
    if (!strncmp(symbol, "macro_", 6)) {
        int i = atoi(symbol + 6);
        if (i >= 1 && i <= SPRUNG_LV2_MACROS)
            return &h->macro[i - 1];
    }
    *size = 0;
    *type = 0;
    return NULL;
}

static void set_port_value(const char *symbol, void *user_data, const void *value,
                           uint32_t size, uint32_t type)
{
    uint32_t unused_size, unused_type;
    float *port = (float *)get_port_value(symbol, user_data, &unused_size, &unused_type);
    if (port && type == urid(LV2_ATOM__Float) && size == sizeof(float))
        *port = *(const float *)value;
}

/* Runs `h` and `ref` over the same blocks and notes (relative to `start`);
 * returns the number of differing blocks. */
static uint32_t compare_run(Host *h, Reference *ref, const Note *notes, size_t n_notes,
                            uint64_t start, uint64_t frames, double *energy)
{
    SprungEvent events[64];
    uint32_t mismatches = 0, block = 0;
    for (uint64_t pos = start; pos < start + frames; block++) {
        uint32_t n = block_size(block);
        host_begin(h);
        uint32_t k = block_events(notes, n_notes, pos, n, h, events);
        host_run(h, n);
        reference_run(ref, n, events, k);
        double played = compare_block(h, ref, n, pos, "state", &mismatches);
        if (energy)
            *energy += played;
        pos += n;
    }
    return mismatches;
}

static void test_state(void)
{
    const LV2_Feature *features[] = {NULL};
    /* A: marimba via patch:Set, gain -6 dB, macros set, then a note. The
     * reference lives the same history (the demo, the swap at the same
     * block, the gain ramp), since a model "at rest" is not bit-for-bit
     * still for ever. */
    Host *a = host_new(0, 1);
    lilv_instance_activate(a->instance);
    Reference *ref_a = reference_new(preset_path("demo.json"), 0.0);
    host_begin(a);
    host_set_preset(a, 0, preset_path("marimba.json"));
    a->gain = -6.0f;
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++)
        a->macro[i] = 0.125f * (float)(i + 1);
    host_run(a, 64);
    sprung_runner_set_gain_db(ref_a->runner, -6.0);
    reference_run(ref_a, 64, NULL, 0);
    sprung_runner_offer_engine(ref_a->runner, reference_engine(preset_path("marimba.json"), 1));
    for (int b = 0; b < 40; b++) {
        host_begin(a);
        host_run(a, 128);
        reference_run(ref_a, 128, NULL, 0);
    }
    const Note note_on[] = {{10, SPRUNG_EVENT_NOTE_ON, 60, 110}};
    double energy = 0.0;
    uint32_t diff = compare_run(a, ref_a, note_on, 1, 0, 3000, &energy);
    CHECK(diff == 0, "A before the save differs from the reference (%u blocks)", diff);

    /* Mid-note: save (as a host would, with port values), to Turtle and back. */
    LilvState *saved = lilv_state_new_from_instance(a->plugin, a->instance, &g_map, NULL, NULL,
                                                    NULL, NULL, get_port_value, a,
                                                    LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE,
                                                    features);
    CHECK(saved != NULL, "lilv could not save the state");
    char *turtle = lilv_state_to_string(g_world, &g_map, &g_unmap, saved,
                                        "urn:sprung-test:state", NULL);
    LilvState *loaded = lilv_state_new_from_string(g_world, &g_map, turtle);
    CHECK(loaded && lilv_state_equals(saved, loaded), "the state does not survive Turtle");

    /* The state itself: the preset's JSON (not only its path), macros, gain. */
    StateMap direct = {0};
    a->state->save(lilv_instance_get_handle(a->instance), state_store, &direct,
                   LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE, features);
    char *marimba_text = read_text(preset_path("marimba.json"));
    const StateEntry *json = state_get(&direct, SPRUNG_LV2__presetJson);
    CHECK(json && json->type == urid(LV2_ATOM__String) && marimba_text &&
              !strcmp(json->value, marimba_text),
          "the state does not hold marimba.json's text");
    const StateEntry *gain = state_get(&direct, SPRUNG_LV2__gain);
    CHECK(gain && *(const float *)gain->value == -6.0f, "gain not in the state");
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++) {
        char key[128];
        snprintf(key, sizeof key, "%s%d", SPRUNG_LV2__macro, i + 1);
        const StateEntry *m = state_get(&direct, key);
        CHECK(m && *(const float *)m->value == 0.125f * (float)(i + 1), "macro %d not in the state",
              i + 1);
    }
    const StateEntry *os = state_get(&direct, SPRUNG_LV2__oversampling);
    CHECK(os && *(const int32_t *)os->value == 1, "oversampling not in the state");
    state_clear(&direct);

    /* A goes on ringing, undisturbed by the save. */
    diff = compare_run(a, ref_a, NULL, 0, 3000, 6000, NULL);
    CHECK(diff == 0, "A after the save differs from the reference (%u blocks)", diff);

    /* B: fresh, restored from the Turtle copy before activation; it renders
     * exactly as a runner set up from marimba.json at -6 dB. */
    Host *b = host_new(0, 1);
    lilv_state_restore(loaded, b->instance, set_port_value, b, 0, features);
    CHECK(b->gain == -6.0f && b->macro[7] == 1.0f, "lilv did not restore the port values");
    lilv_instance_activate(b->instance);
    LilvState *again = lilv_state_new_from_instance(b->plugin, b->instance, &g_map, NULL, NULL,
                                                    NULL, NULL, get_port_value, b,
                                                    LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE,
                                                    features);
    CHECK(lilv_state_equals(saved, again), "B's state differs from A's");
    Reference *ref_b = reference_new(preset_path("marimba.json"), -6.0);
    const Note phrase[] = {{5, SPRUNG_EVENT_NOTE_ON, 60, 110}, {3000, SPRUNG_EVENT_NOTE_ON, 67, 90}};
    double energy_b = 0.0;
    diff = compare_run(b, ref_b, phrase, 2, 0, 20000, &energy_b);
    CHECK(diff == 0 && energy_b > 0.01, "restored B differs from marimba at -6 dB (%u blocks, "
          "energy %g)", diff, energy_b);
    printf("state: saved mid-note, Turtle round trip, restored into a fresh instance: state "
           "equal (preset JSON %zu bytes, 8 macros, gain, oversampling), output bit-identical "
           "to the runner from marimba.json (energy %.2f)\n",
           marimba_text ? strlen(marimba_text) : 0, energy_b);

    /* Restore into A while it plays: a hot-swap, no trouble, state unchanged. */
    log_clear();
    lilv_state_restore(loaded, a->instance, set_port_value, a, 0, features);
    float peak = 0.0f;
    for (int blk = 0; blk < 40; blk++) {
        host_begin(a);
        if (blk == 0)
            host_note(a, 3, SPRUNG_EVENT_NOTE_ON, 64, 100);
        host_run(a, 128);
        for (int i = 0; i < 128; i++) {
            CHECK(isfinite(a->out[0][i]) && isfinite(a->out[1][i]), "non-finite after restore");
            peak = fmaxf(peak, fabsf(a->out[0][i]));
        }
    }
    LilvState *a_again = lilv_state_new_from_instance(a->plugin, a->instance, &g_map, NULL, NULL,
                                                      NULL, NULL, get_port_value, a,
                                                      LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE,
                                                      features);
    CHECK(lilv_state_equals(saved, a_again), "A's state changed by restoring its own state");
    CHECK(peak > 0.0f && peak < 4.0f, "A after restore while playing: peak %g", (double)peak);
    printf("state: restored into the playing instance: hot-swap, finite, state unchanged\n");

    /* A factory preset as an LV2 preset (pset): loads its instrument. */
    LilvNode *preset_uri = lilv_new_uri(g_world, SPRUNG_LV2_URI "/presets/marimba");
    lilv_world_load_resource(g_world, preset_uri);
    LilvState *pset = lilv_state_new_from_world(g_world, &g_map, preset_uri);
    CHECK(pset != NULL, "the marimba pset is not in the bundle");
    if (pset) {
        Host *c = host_new(0, 1);
        lilv_state_restore(pset, c->instance, set_port_value, c, 0, features);
        lilv_instance_activate(c->instance);
        Reference *ref_c = reference_new(preset_path("marimba.json"), 0.0);
        double energy_c = 0.0;
        diff = compare_run(c, ref_c, phrase, 2, 0, 12000, &energy_c);
        CHECK(diff == 0 && energy_c > 0.01, "the marimba pset does not play marimba.json (%u "
              "blocks differ)", diff);
        printf("state: the pset <%s/presets/marimba> plays marimba.json bit-identically\n",
               SPRUNG_LV2_URI);
        reference_free(ref_c);
        host_free(c);
        lilv_state_free(pset);
    }
    lilv_node_free(preset_uri);

    free(marimba_text);
    lilv_free(turtle);
    lilv_state_free(saved);
    lilv_state_free(loaded);
    lilv_state_free(again);
    lilv_state_free(a_again);
    reference_free(ref_a);
    reference_free(ref_b);
    host_free(a);
    host_free(b);
}

/* ---- hostile ---- */

/* An instance restored from `m` plays the built-in demo (the default). */
static void check_plays_demo(Host *h, const char *what)
{
    Reference *ref = reference_new(preset_path("demo.json"), 0.0);
    const Note phrase[] = {{7, SPRUNG_EVENT_NOTE_ON, 60, 100}};
    double energy = 0.0;
    uint32_t diff = compare_run(h, ref, phrase, 1, 0, 6000, &energy);
    CHECK(diff == 0 && energy > 0.0, "%s: does not play the default demo (%u blocks differ)",
          what, diff);
    reference_free(ref);
}

static void run_blocks(Host *h, int blocks, uint32_t n)
{
    for (int i = 0; i < blocks; i++) {
        host_begin(h);
        host_run(h, n);
    }
}

static int all_finite(const Host *h, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!isfinite(h->out[0][i]) || !isfinite(h->out[1][i]))
            return 0;
    return 1;
}

static void test_hostile(void)
{
    const LV2_Feature *features[] = {NULL};
    for (int effect = 0; effect < 2; effect++) {
        const char *what = effect ? "effect" : "instrument";
        Host *h = host_new(effect, 1);

        /* run() before activate(): silence, no crash. */
        for (int ch = 0; ch < 2; ch++)
            for (int i = 0; i < MAX_BLOCK; i++)
                h->out[ch][i] = 1.0f;
        host_begin(h);
        host_note(h, 0, SPRUNG_EVENT_NOTE_ON, 60, 100);
        host_run(h, 256);
        CHECK(h->out[0][0] == 0.0f && h->out[1][255] == 0.0f, "%s: run before activate is not "
              "silent", what);

        /* Every port NULL, then run; double activate/deactivate. */
        for (uint32_t p = 0; p < (effect ? 17u : 15u); p++)
            lilv_instance_connect_port(h->instance, p, NULL);
        lilv_instance_connect_port(h->instance, 99, h->out[0]); /* no such port */
        lilv_instance_activate(h->instance);
        lilv_instance_activate(h->instance);
        lilv_instance_run(h->instance, 256);
        lilv_instance_run(h->instance, 0);
        lilv_instance_deactivate(h->instance);
        lilv_instance_deactivate(h->instance);
        lilv_instance_run(h->instance, 64);
        host_connect(h);
        lilv_instance_activate(h->instance);
        run_blocks(h, 2, 256);
        CHECK(all_finite(h, 256), "%s: non-finite after NULL ports", what);

        /* Unknown and malformed atoms in one sequence. */
        log_clear();
        host_begin(h);
        int32_t number = 42;
        lv2_atom_forge_frame_time(&h->forge, 0);
        lv2_atom_forge_int(&h->forge, number);
        LV2_Atom_Forge_Frame obj;
        lv2_atom_forge_frame_time(&h->forge, 1);
        lv2_atom_forge_object(&h->forge, &obj, 0, urid("urn:sprung-test:Unknown"));
        lv2_atom_forge_key(&h->forge, urid("urn:sprung-test:key"));
        lv2_atom_forge_int(&h->forge, 1);
        lv2_atom_forge_pop(&h->forge, &obj);
        host_patch_set(h, 2, "urn:sprung-test:noSuchProperty", urid(LV2_ATOM__Int), &number,
                       sizeof number);
        host_patch_set(h, 3, SPRUNG_LV2__preset, urid(LV2_ATOM__Int), &number, sizeof number);
        static const char unterminated[4] = {'a', 'b', 'c', 'd'};
        host_patch_set(h, 3, SPRUNG_LV2__preset, urid(LV2_ATOM__Path), unterminated, 4);
        host_set_oversampling(h, 4, 3);
        static const uint8_t midi_short[1] = {0x90}, midi_bad[3] = {0x90, 200, 200};
        host_midi(h, 5, midi_short, 1);
        host_midi(h, 5, midi_bad, 3);
        host_midi(h, 5, midi_bad, 0);
        host_note(h, 500, SPRUNG_EVENT_NOTE_ON, 60, 100); /* beyond the block */
        host_note(h, 6, SPRUNG_EVENT_NOTE_ON, 61, 100);   /* out of order */
        host_run(h, 128);
        CHECK(all_finite(h, 128), "%s: non-finite after hostile atoms", what);
        /* At most a few log lines per run: the rest are counted, then said. */
        run_blocks(h, 3, 64);
        CHECK(log_has("ignored an event of type"), "%s: unknown atom not logged", what);
        CHECK(log_has("ignored a message of type"), "%s: unknown object not logged", what);
        CHECK(log_has("noSuchProperty"), "%s: unknown property not logged", what);
        CHECK(log_has("is not allowed"), "%s: bad patch value not logged", what);
        CHECK(log_has("further messages for the log were dropped"),
              "%s: dropped log lines not reported", what);

        /* A very long path, a missing file, a broken file: logged, sound stays. */
        log_clear();
        char long_path[3000];
        memset(long_path, 'x', sizeof long_path - 1);
        long_path[0] = '/';
        long_path[sizeof long_path - 1] = '\0';
        host_begin(h);
        host_set_preset(h, 0, long_path);
        host_run(h, 64);
        run_blocks(h, 1, 64);
        CHECK(log_has("the path is 3000 bytes"), "%s: long path not refused", what);
        log_clear();
        host_begin(h);
        host_set_preset(h, 0, "/nonexistent/sprung/missing.json");
        host_run(h, 64);
        CHECK(log_has("/nonexistent/sprung/missing.json: cannot open the preset: No such file"),
              "%s: missing preset file not logged", what);
        char broken[] = "/tmp/sprung-lv2-broken-XXXXXX";
        int fd = mkstemp(broken);
        CHECK(fd >= 0 && write(fd, "{ \"sprung\": 1,\n  \"bodies\": [ oops ] }\n", 37) == 37,
              "cannot write a temp file");
        close(fd);
        log_clear();
        host_begin(h);
        host_set_preset(h, 0, broken);
        host_run(h, 64);
        CHECK(log_has(broken) && log_has("the current sound stays"),
              "%s: broken preset file not logged", what);
        unlink(broken);
        /* The current sound (the demo) still plays, bit for bit. */
        Host *fresh = h;
        (void)fresh;

        /* Garbage worker messages. */
        uint8_t garbage[64];
        memset(garbage, 0xA5, sizeof garbage);
        LV2_Handle handle = lilv_instance_get_handle(h->instance);
        CHECK(h->worker->work(handle, respond, h, sizeof garbage, garbage) != LV2_WORKER_SUCCESS,
              "%s: garbage work accepted", what);
        CHECK(h->worker->work(handle, respond, h, 2, garbage) != LV2_WORKER_SUCCESS,
              "%s: short work accepted", what);
        CHECK(h->worker->work_response(handle, 3, garbage) != LV2_WORKER_SUCCESS,
              "%s: short response accepted", what);
        h->n_response = 0;
        host_free(h);

        /* States: garbage JSON, wrong type, empty, bad oversampling. */
        StateMap m = {0};
        const char *garbage_json = "{ this is not json";
        state_put(&m, SPRUNG_LV2__presetJson, LV2_ATOM__String, garbage_json,
                  strlen(garbage_json) + 1);
        int32_t three = 3;
        state_put(&m, SPRUNG_LV2__oversampling, LV2_ATOM__Int, &three, sizeof three);
        h = host_new(effect, 1);
        log_clear();
        LV2_State_Status status = h->state->restore(lilv_instance_get_handle(h->instance),
                                                    state_retrieve, &m, 0, features);
        CHECK(status != LV2_STATE_SUCCESS, "%s: garbage JSON state accepted", what);
        CHECK(log_has("the saved preset is broken") && log_has("the built-in demo preset plays"),
              "%s: garbage state not logged", what);
        CHECK(log_has("is not 1, 2 or 4"), "%s: bad oversampling not logged", what);
        lilv_instance_activate(h->instance);
        check_plays_demo(h, "after a garbage state");
        host_free(h);
        state_clear(&m);

        state_put(&m, SPRUNG_LV2__presetJson, LV2_ATOM__Int, &three, sizeof three);
        state_put(&m, SPRUNG_LV2__gain, LV2_ATOM__String, "loud", 5);
        h = host_new(effect, 1);
        log_clear();
        status = h->state->restore(lilv_instance_get_handle(h->instance), state_retrieve, &m, 0,
                                   features);
        CHECK(status != LV2_STATE_SUCCESS && log_has("is not a string"),
              "%s: mistyped state not refused", what);
        lilv_instance_activate(h->instance);
        check_plays_demo(h, "after a mistyped state");
        host_free(h);
        state_clear(&m);

        h = host_new(effect, 1);
        lilv_instance_activate(h->instance);
        host_begin(h);
        host_set_preset(h, 0, preset_path("marimba.json"));
        host_run(h, 64);
        run_blocks(h, 30, 128);
        lilv_instance_deactivate(h->instance);
        status = h->state->restore(lilv_instance_get_handle(h->instance), state_retrieve, &m, 0,
                                   features);
        CHECK(status == LV2_STATE_SUCCESS, "%s: an empty state is an error", what);
        lilv_instance_activate(h->instance);
        check_plays_demo(h, "after an empty state (the host's reset)");
        host_free(h);

        /* No worker at all: patch:Set cannot load, nothing breaks. */
        h = host_new(effect, 0);
        lilv_instance_activate(h->instance);
        host_begin(h);
        host_set_preset(h, 0, preset_path("marimba.json"));
        host_run(h, 64);
        check_plays_demo(h, "without a worker");
        host_free(h);
        printf("hostile: %s: run before activate, NULL ports, double (de)activation, unknown "
               "and malformed atoms, bad values, missing/broken/long preset paths, garbage "
               "worker messages, garbage/mistyped/empty states, no worker: logged or defaulted, "
               "no crash\n", what);
    }
}

/* ---- protocol ---- */

/* A preset 100 times lower than a bell: its one body swings above +12 dBFS
 * for longer than the breaker holds, again after every reset. */
static const char LOUD_PRESET[] =
    "{\"sprung\": 1, \"name\": \"too loud\",\n"
    " \"bodies\": [{\"id\": \"b\", \"position\": [0.1, 0, 0], \"mass\": 0.01,"
    " \"velocity\": [0.5, 0, 0]}],\n"
    " \"anchors\": [{\"id\": \"a\", \"position\": [0, 0, 0]}],\n"
    " \"springs\": [{\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": 7.6}],\n"
    " \"microphones\": [{\"id\": \"m\", \"target\": \"b\", \"axis\": [1, 0, 0],"
    " \"gain\": 1000}]}\n";

static void test_protocol(void)
{
    for (int effect = 0; effect < 2; effect++) {
        const char *what = effect ? "effect" : "instrument";
        Host *h = host_new(effect, 1);
        lilv_instance_activate(h->instance);
        host_begin(h);
        host_set_preset(h, 0, preset_path("marimba.json"));
        host_run(h, 64);
        run_blocks(h, 3, 64);

        /* patch:Get: all, then one property (the preset is a file's: the
         * built-in demo has no path to tell). */
        host_begin(h);
        host_run(h, 64);
        CHECK(!notify_has_set(h, SPRUNG_LV2__preset, NULL, 0) &&
                  !notify_has_set(h, SPRUNG_LV2__oversampling, NULL, 0),
              "%s: a reply with no patch:Get", what);
        host_begin(h);
        host_patch_get(h, 0, NULL);
        host_run(h, 64);
        CHECK(notify_has_set(h, SPRUNG_LV2__preset, NULL, 0) &&
                  notify_has_set(h, SPRUNG_LV2__oversampling, NULL, 0),
              "%s: patch:Get of everything not answered with both properties", what);
        host_begin(h);
        host_patch_get(h, 0, SPRUNG_LV2__oversampling);
        host_run(h, 64);
        CHECK(!notify_has_set(h, SPRUNG_LV2__preset, NULL, 0) &&
                  notify_has_set(h, SPRUNG_LV2__oversampling, NULL, 0),
              "%s: patch:Get of the oversampling not answered with it alone", what);

        /* Oversampling as an atom:Long (hosts that store integers as
         * 64 bits): taken, the latency port says so. */
        int64_t two = 2, one = 1;
        host_begin(h);
        host_patch_set(h, 0, SPRUNG_LV2__oversampling, urid(LV2_ATOM__Long), &two, sizeof two);
        host_run(h, 64);
        run_blocks(h, 2, 64);
        CHECK(h->latency == 35.0f, "%s: oversampling 2 as atom:Long: latency %g (want 35)",
              what, (double)h->latency);
        host_begin(h);
        host_patch_set(h, 0, SPRUNG_LV2__oversampling, urid(LV2_ATOM__Long), &one, sizeof one);
        host_run(h, 64);
        run_blocks(h, 2, 64);
        CHECK(h->latency == 0.0f, "%s: oversampling 1 as atom:Long: latency %g", what,
              (double)h->latency);
        /* 2^32 + 2 is not 2 (its low 32 bits): refused and logged. */
        int64_t wrapped = ((int64_t)1 << 32) + 2;
        log_clear();
        host_begin(h);
        host_patch_set(h, 0, SPRUNG_LV2__oversampling, urid(LV2_ATOM__Long), &wrapped,
                       sizeof wrapped);
        host_run(h, 64);
        run_blocks(h, 2, 64);
        CHECK(h->latency == 0.0f && log_has("is not allowed"),
              "%s: oversampling 2^32 + 2 as atom:Long taken (latency %g)", what,
              (double)h->latency);

        /* A sequence whose last event claims more bytes than there are:
         * the events before it play, the rest is skipped and logged. */
        log_clear();
        host_begin(h);
        host_note(h, 0, SPRUNG_EVENT_NOTE_ON, 60, 100);
        host_note(h, 1, SPRUNG_EVENT_NOTE_ON, 64, 100);
        host_end(h);
        /* The last event, walked by offsets (no LV2_Atom_Event pointer
         * into the misaligned sequence). */
        LV2_Atom sequence, body;
        memcpy(&sequence, h->control, sizeof sequence);
        size_t last = 0, end = sizeof sequence + sequence.size;
        for (size_t at = sizeof(LV2_Atom_Sequence); at < end;
             at += lv2_atom_pad_size(sizeof(LV2_Atom_Event) + body.size)) {
            memcpy(&body, h->control + at + offsetof(LV2_Atom_Event, body), sizeof body);
            last = at;
        }
        body.size = 4096;
        memcpy(h->control + last + offsetof(LV2_Atom_Event, body), &body, sizeof body);
        host_run_ended(h, 64);
        run_blocks(h, 1, 64);
        CHECK(all_finite(h, 64) && log_has("a malformed atom sequence on the control port"),
              "%s: a malformed sequence not logged", what);

        /* More notes in one run than the plugin holds: played up to its
         * room, the rest dropped and logged. */
        log_clear();
        host_begin(h);
        for (uint32_t i = 0; i < 1100; i++)
            host_note(h, i % 64, i % 2 ? SPRUNG_EVENT_NOTE_OFF : SPRUNG_EVENT_NOTE_ON,
                      (uint8_t)(48 + i % 24), 100);
        host_run(h, 64);
        run_blocks(h, 1, 64);
        CHECK(all_finite(h, 64) && log_has("notes in one block: some were dropped"),
              "%s: dropped notes not logged", what);

        /* The host's worker queue full for two runs: the preset load waits
         * and goes out at the third; nothing is lost. */
        log_clear();
        h->queue_full = 1;
        host_begin(h);
        host_set_preset(h, 0, preset_path("kalimba.json"));
        host_run(h, 64);
        run_blocks(h, 1, 64);
        h->queue_full = 0;
        char loaded[1024] = "";
        for (int b = 0; b < 4 && !strstr(loaded, "kalimba.json"); b++) {
            run_blocks(h, 1, 64);
            notify_has_set(h, SPRUNG_LV2__preset, loaded, sizeof loaded);
        }
        CHECK(strstr(loaded, "kalimba.json") != NULL,
              "%s: a preset load refused by a full worker queue was lost", what);
        CHECK(log_has("a load (preset or oversampling) waited 2 run()s for room"),
              "%s: the wait for the worker queue not logged", what);

        /* A model too loud for too long: the breaker trips, the log says so. */
        char loud[] = "/tmp/sprung-lv2-loud-XXXXXX";
        int fd = mkstemp(loud);
        CHECK(fd >= 0 && write(fd, LOUD_PRESET, sizeof LOUD_PRESET - 1) ==
                             (ssize_t)(sizeof LOUD_PRESET - 1),
              "cannot write a temp file");
        close(fd);
        log_clear();
        host_begin(h);
        host_set_preset(h, 0, loud);
        host_run(h, 64);
        /* It trips after the swap's crossfade and 5 ms above +12 dBFS (about 0.1 s). */
        for (int b = 0; b < 300 && !log_has("circuit breaker"); b++)
            run_blocks(h, 1, 64);
        unlink(loud);
        CHECK(log_has("the circuit breaker tripped on the left channel (too loud for too long)"),
              "%s: a breaker trip not logged", what);
        host_free(h);
        printf("protocol: %s: patch:Get answered (all, one property), oversampling as "
               "atom:Long, a malformed sequence, too many notes, a full worker queue (the "
               "load waits, not lost) and breaker trips: handled and logged\n", what);
    }
}

/* ---- realtime ---- */

static void test_realtime(int sabotage)
{
#ifndef SPRUNG_LV2_HAVE_RTSAN
    (void)sabotage;
    fprintf(stderr, "FAIL: built without the RealtimeSanitizer runtime\n");
    g_failures++;
#else
    g_realtime = 1;
    const char *presets[] = {"marimba.json", "kalimba.json", "drums.json", "demo.json"};
    for (int effect = 0; effect < 2; effect++) {
        Host *h = host_new(effect, 1);
        if (sabotage) {
            const SprungLv2Testing *testing =
                lilv_instance_get_extension_data(h->instance, SPRUNG_LV2__testing);
            fprintf(stderr, "sabotage: run() allocates (test-only hook)\n");
            testing->sabotage(lilv_instance_get_handle(h->instance),
                              SPRUNG_LV2_TESTING_ALLOCATE_IN_RUN);
        }
        lilv_instance_activate(h->instance);
        uint32_t block = 0;
        for (uint64_t pos = 0; pos < 96000; block++) {
            uint32_t n = block_size(block);
            host_begin(h);
            if (block % 7 == 0)
                host_note(h, n / 2, SPRUNG_EVENT_NOTE_ON, (uint8_t)(48 + block % 36), 100);
            if (block % 11 == 0)
                host_note(h, 0, SPRUNG_EVENT_NOTE_OFF, (uint8_t)(48 + block % 36), 0);
            if (block % 60 == 5)
                host_set_preset(h, 0, preset_path(presets[(block / 60) % 4]));
            if (block % 90 == 45)
                host_set_oversampling(h, 0, block % 180 == 45 ? 2 : 1);
            if (block % 13 == 0) {
                LV2_Atom_Forge_Frame f;
                lv2_atom_forge_frame_time(&h->forge, 0);
                lv2_atom_forge_object(&h->forge, &f, 0, urid(LV2_PATCH__Get));
                lv2_atom_forge_pop(&h->forge, &f);
                lv2_atom_forge_frame_time(&h->forge, 0);
                lv2_atom_forge_int(&h->forge, 7); /* unknown: logged through the worker */
            }
            if (block % 17 == 0) {
                static const uint8_t all_sound_off[3] = {0xB0, 120, 0};
                host_midi(h, 0, all_sound_off, 3);
            }
            h->gain = (float)((int)(block % 5) * -3);
            h->enabled = (block / 40) % 3 == 2 ? 0.0f : 1.0f;
            h->macro[block % 8] = (float)(block % 10) / 10.0f;
            if (effect)
                fill_input(h, pos, n);
            host_run(h, n);
            CHECK(all_finite(h, n), "non-finite output");
            pos += n;
        }
        printf("realtime: %s: %u run() calls and every work_response() inside RealtimeSanitizer "
               "sections (notes, preset loads, oversampling changes, patch:Get, unknown atoms, "
               "gain, bypass): no violation\n", effect ? "effect" : "instrument", block);
        host_free(h);
    }
#endif
}

/* ---- priority ---- */

#define PRIORITY_TEST 7 /* SCHED_FIFO priority of the test's "audio thread" */

/* Threads of this process other than the caller at SCHED_FIFO `priority`
 * (/proc/self/task/TID/stat: field 40 rt_priority, 41 policy). */
static int fifo_threads_besides_me(int priority)
{
    char me[32];
    snprintf(me, sizeof me, "%ld", (long)syscall(SYS_gettid));
    DIR *tasks = opendir("/proc/self/task");
    int count = 0;
    struct dirent *task;
    while (tasks && (task = readdir(tasks))) {
        if (task->d_name[0] == '.' || !strcmp(task->d_name, me))
            continue;
        char path[sizeof task->d_name + 32], line[1024];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", task->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[n] = '\0';
        /* After the command name in parentheses, fields 3 onwards. */
        const char *after = strrchr(line, ')');
        long field[64] = {0};
        int k = 3;
        for (const char *p = after ? after + 2 : line; *p && k < 64; ++k) {
            while (*p == ' ')
                ++p;
            field[k] = strtol(p, NULL, 10);
            while (*p && *p != ' ')
                ++p;
        }
        if (field[41] == SCHED_FIFO && field[40] == priority)
            count++;
    }
    if (tasks)
        closedir(tasks);
    return count;
}

typedef struct RunJob {
    Host *h;
    uint32_t n;
} RunJob;

static void *run_job(void *arg)
{
    RunJob *job = arg;
    lilv_instance_run(job->h->instance, job->n);
    return NULL;
}

/* host_run as a real host runs: run() on its audio thread, here a
 * SCHED_FIFO thread at PRIORITY_TEST, and the worker on another thread at
 * normal priority (this one), which starts no thread at the audio
 * thread's priority by inheritance. Returns pthread_create's error. */
static int host_run_at_priority(Host *h, uint32_t n)
{
    host_end(h);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
    struct sched_param param = {.sched_priority = PRIORITY_TEST};
    pthread_attr_setschedparam(&attr, &param);
    RunJob job = {h, n};
    pthread_t audio;
    int err = pthread_create(&audio, &attr, run_job, &job);
    pthread_attr_destroy(&attr);
    if (err)
        return err;
    pthread_join(audio, NULL);
    host_run_worker(h);
    return 0;
}

/* The voiced default preset, instantiated here (a host's main thread);
 * runs; then the same preset loaded again (a new engine, compiled by the
 * worker). */
static int test_priority(void)
{
    setenv("SPRUNG_VOICE_THREADS", "2", 1);
    setenv("SPRUNG_LV2_DEFAULT_PRESET", preset_path("mpe-pad.json"), 1);
    Host *h = host_new(0, 1);
    lilv_instance_activate(h->instance);
    CHECK(fifo_threads_besides_me(PRIORITY_TEST) == 0, "a thread at priority %d before run()",
          PRIORITY_TEST);
    for (int block = 0; block < 4; ++block) {
        host_begin(h);
        int err = host_run_at_priority(h, 256);
        if (err) {
            printf("SKIP: no SCHED_FIFO thread here (%s): run as root or with "
                   "RLIMIT_RTPRIO\n", strerror(err));
            host_free(h);
            return 77;
        }
    }
    int first = fifo_threads_besides_me(PRIORITY_TEST);
    CHECK(first >= 1, "the engine from instantiate: no worker at priority %d after run()",
          PRIORITY_TEST);
    host_begin(h);
    host_set_preset(h, 0, preset_path("mpe-pad.json"));
    host_run_at_priority(h, 256);
    for (int block = 0; block < 8; ++block) {
        host_begin(h);
        host_run_at_priority(h, 256);
    }
    int loaded = fifo_threads_besides_me(PRIORITY_TEST);
    CHECK(loaded >= 1, "the loaded engine: no worker at priority %d", PRIORITY_TEST);
    printf("priority: workers at SCHED_FIFO %d: %d after the first run(), %d after a preset "
           "load\n", PRIORITY_TEST, first, loaded);
    host_free(h);
    return 0;
}

int main(int argc, char **argv)
{
#ifdef SPRUNG_LV2_HAVE_RTSAN
    __rtsan_init();
#endif
    int sabotage = 0;
    const char *test = argc > 1 ? argv[1] : "";
    int arg = 2;
    if (arg < argc && !strcmp(argv[arg], "--sabotage")) {
        sabotage = 1;
        arg++;
    }
    if (arg >= argc) {
        fprintf(stderr,
                "usage: %s exact|expression|state|hostile|protocol|realtime|priority\n"
                "       [--sabotage] PRESET_DIR\n",
                argv[0]);
        return 2;
    }
    g_presets = argv[arg];
    g_world = lilv_world_new();
    lilv_world_load_all(g_world);
    if (!strcmp(test, "exact"))
        test_exact();
    else if (!strcmp(test, "expression"))
        test_expression();
    else if (!strcmp(test, "state"))
        test_state();
    else if (!strcmp(test, "hostile"))
        test_hostile();
    else if (!strcmp(test, "protocol"))
        test_protocol();
    else if (!strcmp(test, "realtime"))
        test_realtime(sabotage);
    else if (!strcmp(test, "priority")) {
        if (test_priority() == 77)
            return 77;
    } else {
        fprintf(stderr, "unknown test '%s'\n", test);
        return 2;
    }
    lilv_world_free(g_world);
    if (g_failures) {
        fprintf(stderr, "%d failure(s)\n", g_failures);
        return 1;
    }
    printf("OK\n");
    return 0;
}
