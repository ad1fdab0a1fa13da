/* `sprung bench`: how fast the engine renders. Synthetic networks of 10 to
 * 100,000 springs, the benchmark models in bench/ and every factory preset
 * are rendered in blocks of 256 frames at 48 kHz while notes play; each
 * measurement is repeated (the backends' repetitions of a model taking
 * turns) and the median reported as a real-time factor
 * (audio seconds per wall second) and nanoseconds per spring-step (wall
 * time / (springs × engine steps)). A table goes to stdout, JSON to --json;
 * then the targets: the share of one core that mesh-20x30 and
 * net-1000x5000 need at 48 kHz, and each backend's speed-up over the
 * reference (cpu) measured in the same run. Runs on the command's (control)
 * thread; a backend may use helper threads (simd: --threads). The voices
 * sweep (--voices; GPU backends by default) is bench_voices.c's. See
 * docs/benchmarks.md for the figures and how to read them. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_gpu.h"
#include "bench_output.h"
#include "bench_stats.h"
#include "bench_voices.h"
#include "commands.h"
#include "io/midi.h"
#include "sprung/sprung.h"

#ifndef SPRUNG_SOURCE_DIR
#define SPRUNG_SOURCE_DIR "."
#endif
#ifndef SPRUNG_BUILD_TYPE
#define SPRUNG_BUILD_TYPE "unknown"
#endif

enum { BENCH_BLOCK = 256, BENCH_MAX_NAME = 256, BENCH_MAX_BACKENDS = 16, BENCH_MAX_REPEATS = 16 };

/* Which backends get the voices sweep: by default only the GPU ones (it
 * takes a few seconds per backend and answers the GPU question). */
typedef enum BenchVoicesMode {
    BENCH_VOICES_GPU = 0, /* default */
    BENCH_VOICES_ALL,     /* --voices */
    BENCH_VOICES_ONLY,    /* --voices-only: the sweep alone */
    BENCH_VOICES_NONE,    /* --no-voices */
} BenchVoicesMode;
static const double BENCH_RATE = 48000.0;

typedef struct BenchOptions {
    const char *json_path;   /* NULL: no JSON; "-": stdout (the table then goes to stderr) */
    const char *presets_dir;
    const char *models_dir;
    const char (*backends)[32]; /* the ones measured: spellings for sprung_engine_new */
    int n_backends;
    bool quick;
    double target_wall_s;    /* wall time of one repetition */
    int repeats;
    uint32_t max_synthetic_springs;
    BenchVoicesMode voices;  /* the voices sweep (bench_voices.h) */
} BenchOptions;

typedef struct BenchResult {
    char group[16];           /* "synthetic", "bench" or "preset" */
    char backend[32];         /* as the engine names it ("cpu", "simd", ...) */
    char name[BENCH_MAX_NAME + sizeof " (+midi)"];
    SprungModelCounts counts;
    uint32_t oversampling;
    uint32_t blocks;          /* per repetition */
    double audio_s;           /* per repetition */
    double wall_s[BENCH_MAX_REPEATS]; /* one per repetition */
    double cpu_s[BENCH_MAX_REPEATS];  /* this thread's CPU time, one per repetition */
    int repeats;
    double median_wall_s;
    double median_cpu_s;
    double realtime_factor;   /* from the wall time */
    double ns_per_spring_step; /* from the wall time */
    double cpu_ns_per_spring_step; /* from the CPU time: robust on a busy machine */
    char error[BENCH_MAX_ERROR]; /* non-empty: not measured, and why */
} BenchResult;

typedef struct BenchResults {
    BenchResult *items;
    size_t count, capacity;
} BenchResults;

/* ---- text buffer for the generated networks ---- */

typedef struct TextBuffer {
    char *data;
    size_t length, capacity;
    bool failed;
} TextBuffer;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void text_append(TextBuffer *text, const char *format, ...)
{
    if (text->failed)
        return;
    for (;;) {
        size_t room = text->capacity - text->length;
        va_list args;
        va_start(args, format);
        int n = vsnprintf(text->data ? text->data + text->length : NULL, room, format, args);
        va_end(args);
        if (n < 0) {
            text->failed = true;
            return;
        }
        if ((size_t)n < room) {
            text->length += (size_t)n;
            return;
        }
        size_t capacity = text->capacity ? text->capacity * 2 : 1 << 16;
        while (capacity - text->length <= (size_t)n)
            capacity *= 2;
        char *grown = realloc(text->data, capacity);
        if (!grown) {
            text->failed = true;
            return;
        }
        text->data = grown;
        text->capacity = capacity;
    }
}

/* A random network of about `springs` springs over springs/2 bodies on a 3D
 * grid: a ring through all bodies (each body to the next) plus one more
 * spring per body, to a pseudo-random other body or, for every eighth, to
 * an anchor of its own. Masses and stiffnesses keep it far inside the
 * stability limit at 48 kHz (degree ~4, sqrt(lambda_max)·dt well below 1)
 * with modes in the audible range; one mallet, two microphones. */
static char *bench_network_json(uint32_t springs)
{
    uint32_t n_bodies = springs / 2 < 2 ? 2 : springs / 2;
    uint32_t side = 1;
    while (side * side * side < n_bodies)
        side++;
    const double spacing = 0.01;
    TextBuffer text = {0};
    text_append(&text, "{\"sprung\": 1, \"name\": \"network-%u\", \"bodies\": [", springs);
    for (uint32_t i = 0; i < n_bodies; i++)
        text_append(&text, "%s{\"id\": \"b%u\", \"position\": [%.4f, %.4f, %.4f], \"mass\": 0.01}",
                    i ? ",\n" : "\n", i, spacing * (i % side), spacing * ((i / side) % side),
                    spacing * (i / (side * side)));
    text_append(&text, "],\n\"anchors\": [");
    for (uint32_t i = 0, first = 1; i < n_bodies; i += 8, first = 0)
        text_append(&text, "%s{\"id\": \"a%u\", \"position\": [%.4f, %.4f, %.4f]}",
                    first ? "\n" : ",\n", i, spacing * (i % side) + 0.3 * spacing,
                    spacing * ((i / side) % side) + 0.4 * spacing,
                    spacing * (i / (side * side)) + 0.5 * spacing);
    text_append(&text, "],\n\"springs\": [");
    uint32_t random_state = 12345u, count = 0;
    for (uint32_t i = 0; i < n_bodies && count < springs; i++, count++)
        text_append(&text,
                    "%s{\"id\": \"r%u\", \"from\": \"b%u\", \"to\": \"b%u\", \"stiffness\": 1e5,"
                    " \"damping\": 1e-4}",
                    i ? ",\n" : "\n", i, i, (i + 1) % n_bodies);
    for (uint32_t i = 0; count < springs; i = (i + 1) % n_bodies, count++) {
        random_state = random_state * 1664525u + 1013904223u;
        if (i % 8 == 0) {
            text_append(&text,
                        ",\n{\"id\": \"x%u\", \"from\": \"a%u\", \"to\": \"b%u\","
                        " \"stiffness\": 1e5, \"damping\": 1e-4}",
                        count, i, i);
        } else {
            uint32_t other = (random_state >> 8) % (n_bodies - 1);
            if (other >= i)
                other++; /* never the body itself */
            text_append(&text,
                        ",\n{\"id\": \"x%u\", \"from\": \"b%u\", \"to\": \"b%u\","
                        " \"stiffness\": 1e5, \"damping\": 1e-4}",
                        count, i, other);
        }
    }
    text_append(&text,
                "],\n\"mallets\": [{\"id\": \"m\", \"target\": \"b0\", \"direction\": [0.3, 0.2, 1],"
                " \"strength\": 0.05, \"duration_ms\": 1}],\n"
                "\"microphones\": [{\"id\": \"l\", \"target\": \"b%u\", \"axis\": [0, 0, 1],"
                " \"gain\": 100, \"pan\": -0.5},\n"
                " {\"id\": \"r\", \"target\": \"b%u\", \"axis\": [1, 0, 0], \"gain\": 100,"
                " \"pan\": 0.5}]}\n",
                n_bodies / 2, n_bodies - 1);
    if (text.failed) {
        free(text.data);
        return NULL;
    }
    return text.data;
}

/* ---- events to play ---- */

typedef struct BenchEvents {
    uint64_t *frames; /* absolute output frame of each event */
    SprungEvent *events;
    size_t count;
} BenchEvents;

static void bench_events_free(BenchEvents *events)
{
    free(events->frames);
    free(events->events);
    memset(events, 0, sizeof *events);
}

/* Appends `event` at absolute `frame` (its .frame is set per block later). */
static bool bench_events_push(BenchEvents *events, size_t *capacity, uint64_t frame,
                              SprungEvent event)
{
    if (events->count == *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 256;
        uint64_t *frames = realloc(events->frames, grown * sizeof *frames);
        if (!frames)
            return false;
        events->frames = frames;
        SprungEvent *list = realloc(events->events, grown * sizeof *list);
        if (!list)
            return false;
        events->events = list;
        *capacity = grown;
    }
    events->frames[events->count] = frame;
    events->events[events->count] = event;
    events->count++;
    return true;
}

/* Repeated strikes: a note every eighth of a second walking up and down two
 * octaves, each released after a tenth of a second. */
static bool bench_events_hits(BenchEvents *events, uint64_t total_frames)
{
    size_t capacity = 0;
    uint64_t period = (uint64_t)(BENCH_RATE / 8.0);
    for (uint64_t k = 0, frame = 0; frame < total_frames; k++, frame += period) {
        uint8_t note = (uint8_t)(48 + (k % 24 < 12 ? k % 24 : 24 - k % 24) * 2);
        uint8_t velocity = (uint8_t)(70 + (k * 13) % 58);
        SprungEvent on = {.type = SPRUNG_EVENT_NOTE_ON, .note = note, .velocity = velocity};
        if (!bench_events_push(events, &capacity, frame, on))
            return false;
        uint64_t off = frame + (uint64_t)(BENCH_RATE / 10.0);
        if (off < total_frames && off < frame + period &&
            !bench_events_push(events, &capacity, off,
                               (SprungEvent){.type = SPRUNG_EVENT_NOTE_OFF, .note = note}))
            return false;
    }
    return true;
}

/* A MIDI phrase looped (with half a second between repeats) to fill the run. */
static bool bench_events_midi(BenchEvents *events, const SprungMidiSequence *sequence,
                              uint64_t total_frames)
{
    size_t capacity = 0;
    double loop_s = sequence->duration_s + 0.5;
    for (double start = 0.0; (uint64_t)(start * BENCH_RATE) < total_frames; start += loop_s) {
        for (size_t i = 0; i < sequence->n_events; i++) {
            const SprungMidiEvent *ev = &sequence->events[i];
            uint64_t frame = (uint64_t)llround((start + ev->time_s) * BENCH_RATE);
            if (frame >= total_frames)
                break;
            SprungEvent event = {.type = ev->type, .channel = ev->channel, .note = ev->note,
                                 .velocity = ev->velocity, .value = ev->value};
            if (!bench_events_push(events, &capacity, frame, event))
                return false;
        }
    }
    return true;
}

/* ---- measuring ---- */

static double bench_clock(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double median(const double *values, int n)
{
    double sorted[16];
    memcpy(sorted, values, (size_t)n * sizeof *values);
    bench_sort(sorted, (size_t)n);
    return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

/* Renders `blocks` blocks from the engine's initial state, feeding the
 * events at their frames; returns the wall time (and the CPU time in
 * *cpu_s), or a negative value when process() fails. */
static double bench_render(SprungEngine *engine, const BenchEvents *events, uint32_t blocks,
                           float *left, float *right, double *cpu_s)
{
    float *const outputs[2] = {left, right};
    SprungEvent block_events[256];
    size_t next = 0;
    sprung_engine_reset(engine);
    double cpu_start = bench_clock(CLOCK_THREAD_CPUTIME_ID);
    double start = bench_clock(CLOCK_MONOTONIC);
    for (uint32_t b = 0; b < blocks; b++) {
        uint64_t first = (uint64_t)b * BENCH_BLOCK, end = first + BENCH_BLOCK;
        uint32_t n = 0;
        while (next < events->count && events->frames[next] < end) {
            if (n < 256) {
                block_events[n] = events->events[next];
                block_events[n].frame = (uint32_t)(events->frames[next] - first);
                n++;
            }
            next++;
        }
        SprungBlock block = {.n_frames = BENCH_BLOCK, .events = block_events, .n_events = n,
                             .outputs = outputs, .n_outputs = 2};
        if (sprung_engine_process(engine, &block) != SPRUNG_OK)
            return -1.0;
    }
    double wall = bench_clock(CLOCK_MONOTONIC) - start;
    *cpu_s = bench_clock(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
    return wall;
}

/* One backend's measurement of one model: its engine, calibrated number of
 * blocks and the events that fill them, and the row it fills in. */
typedef struct BenchRun {
    SprungEngine *engine;
    BenchEvents events;
    uint32_t blocks;
    BenchResult *result;
} BenchRun;

/* Compiles the model for the row's backend (at the lowest stable
 * oversampling) and calibrates the number of blocks to the target wall
 * time. `midi` may be NULL (then repeated strikes). Sets the row's error
 * when the backend cannot play it. */
static void bench_run_open(const BenchOptions *options, const SprungModel *model,
                           const SprungMidiSequence *midi, BenchRun *run)
{
    BenchResult *result = run->result;
    SprungError error;
    memset(&error, 0, sizeof error);
    static const uint32_t factors[] = {1, 2, 4};
    SprungStatus status = SPRUNG_ERROR_UNSTABLE;
    for (size_t f = 0; f < 3 && status == SPRUNG_ERROR_UNSTABLE; f++) {
        SprungEngineConfig config = sprung_engine_config_default();
        config.sample_rate = BENCH_RATE;
        config.max_block_frames = BENCH_BLOCK;
        config.oversampling = factors[f];
        config.backend = result->backend;
        memset(&error, 0, sizeof error);
        status = sprung_engine_new(&config, model, &run->engine, &error);
        result->oversampling = factors[f];
    }
    if (status != SPRUNG_OK) {
        snprintf(result->error, sizeof result->error, "engine: %s",
                 error.message[0] ? error.message : sprung_strerror(status));
        return;
    }
    /* The engine's name for the backend; the spelling when it names a
     * device ("simd:1"), so that devices stay apart in the results. */
    if (!strchr(result->backend, ':'))
        snprintf(result->backend, sizeof result->backend, "%s",
                 sprung_engine_backend_name(run->engine));

    float left[BENCH_BLOCK], right[BENCH_BLOCK];
    /* Calibration: grow the run until it takes a tenth of the target. */
    uint32_t blocks = 4;
    double wall = 0.0, cpu = 0.0;
    for (;;) {
        bench_events_free(&run->events);
        uint64_t total = (uint64_t)blocks * BENCH_BLOCK;
        if (!(midi ? bench_events_midi(&run->events, midi, total)
                   : bench_events_hits(&run->events, total))) {
            snprintf(result->error, sizeof result->error, "out of memory");
            return;
        }
        wall = bench_render(run->engine, &run->events, blocks, left, right, &cpu);
        if (wall < 0.0) {
            snprintf(result->error, sizeof result->error, "sprung_engine_process failed");
            return;
        }
        if (wall >= options->target_wall_s / 10.0 || blocks >= (1u << 24))
            break;
        blocks *= 4;
    }
    double per_block = wall / blocks;
    uint64_t wanted = (uint64_t)ceil(options->target_wall_s / (per_block > 0 ? per_block : 1e-9));
    run->blocks = (uint32_t)(wanted < 4 ? 4 : wanted > (1u << 24) ? (1u << 24) : wanted);
    bench_events_free(&run->events);
    uint64_t total = (uint64_t)run->blocks * BENCH_BLOCK;
    if (!(midi ? bench_events_midi(&run->events, midi, total)
               : bench_events_hits(&run->events, total))) {
        snprintf(result->error, sizeof result->error, "out of memory");
        return;
    }
    result->blocks = run->blocks;
    result->audio_s = (double)total / BENCH_RATE;
}

/* Repetition r of an open run (the row's error set if it fails). */
static void bench_run_repeat(BenchRun *run, int r)
{
    float left[BENCH_BLOCK], right[BENCH_BLOCK];
    BenchResult *result = run->result;
    result->wall_s[r] =
        bench_render(run->engine, &run->events, run->blocks, left, right, &result->cpu_s[r]);
    result->repeats = r + 1;
    if (result->wall_s[r] < 0.0)
        snprintf(result->error, sizeof result->error, "sprung_engine_process failed");
}

/* The row's medians, and the run's engine and events freed. */
static void bench_run_close(BenchRun *run)
{
    BenchResult *result = run->result;
    if (!result->error[0] && result->repeats > 0) {
        result->median_wall_s = median(result->wall_s, result->repeats);
        result->median_cpu_s = median(result->cpu_s, result->repeats);
        result->realtime_factor = result->audio_s / result->median_wall_s;
        double spring_steps = (double)result->counts.springs * result->audio_s * BENCH_RATE *
                              (double)result->oversampling;
        result->ns_per_spring_step =
            spring_steps > 0 ? 1e9 * result->median_wall_s / spring_steps : NAN;
        result->cpu_ns_per_spring_step =
            spring_steps > 0 ? 1e9 * result->median_cpu_s / spring_steps : NAN;
    }
    bench_events_free(&run->events);
    sprung_engine_free(run->engine);
}

/* ---- the three groups ---- */

/* A row per backend for one model, at results->items[*first ...]; false
 * when out of memory. */
static bool bench_results_add(const BenchOptions *options, BenchResults *results,
                              const char *group, const char *name, size_t *first)
{
    while (results->count + (size_t)options->n_backends > results->capacity) {
        size_t grown = results->capacity ? results->capacity * 2 : 32;
        BenchResult *items = realloc(results->items, grown * sizeof *items);
        if (!items)
            return false;
        results->items = items;
        results->capacity = grown;
    }
    *first = results->count;
    for (int b = 0; b < options->n_backends; b++) {
        BenchResult *result = &results->items[results->count++];
        memset(result, 0, sizeof *result);
        snprintf(result->group, sizeof result->group, "%s", group);
        snprintf(result->backend, sizeof result->backend, "%s", options->backends[b]);
        snprintf(result->name, sizeof result->name, "%s", name);
    }
    return true;
}

/* One row of the table, printed as soon as it is measured. */
static void bench_progress(const BenchOptions *options, const BenchResult *result)
{
    FILE *out = bench_table_stream(options->json_path);
    if (result->error[0])
        fprintf(out, "%-7s %-9s %-26s  not measured: %s\n", result->backend, result->group,
                result->name, result->error);
    else
        fprintf(out, "%-7s %-9s %-26s %7u %8u %3u %12.2f %12.2f %12.2f\n", result->backend,
                result->group, result->name, result->counts.bodies, result->counts.springs,
                result->oversampling, result->realtime_factor, result->ns_per_spring_step,
                result->cpu_ns_per_spring_step);
    fflush(out);
}

/* One model on every backend: each is compiled and calibrated, then their
 * repetitions are interleaved (backend A, B, C, then B, C, A, ...), so
 * that a moment of load on this shared machine, or a change of clock,
 * falls on all of them alike and the ratios between them stay fair. A
 * NULL model (not loaded: `why`) gives rows that say so. */
static int bench_model(const BenchOptions *options, BenchResults *results, const char *group,
                       const char *name, const SprungModel *model,
                       const SprungMidiSequence *midi, const char *why)
{
    size_t first;
    if (!bench_results_add(options, results, group, name, &first))
        return 1;
    BenchRun runs[BENCH_MAX_BACKENDS];
    int n = options->n_backends;
    for (int b = 0; b < n; b++) {
        runs[b] = (BenchRun){.result = &results->items[first + (size_t)b]};
        if (!model)
            snprintf(runs[b].result->error, sizeof runs[b].result->error, "%s", why);
        else {
            runs[b].result->counts = sprung_model_counts(model);
            bench_run_open(options, model, midi, &runs[b]);
        }
    }
    for (int r = 0; r < options->repeats; r++)
        for (int k = 0; k < n; k++) {
            BenchRun *run = &runs[(r + k) % n];
            if (!run->result->error[0])
                bench_run_repeat(run, r);
        }
    for (int b = 0; b < n; b++) {
        bench_run_close(&runs[b]);
        bench_progress(options, runs[b].result);
    }
    return 0;
}

static int bench_synthetic(const BenchOptions *options, BenchResults *results)
{
    /* Decades and half decades (10, 30, 100, 300, ...), so the ns per
     * spring-step curve shows where each cache level ends. */
    for (uint32_t springs = 10; springs <= options->max_synthetic_springs;
         springs = springs % 3 ? springs * 3 : springs / 3 * 10) {
        char name[64];
        snprintf(name, sizeof name, "network-%u", springs);
        char *json = bench_network_json(springs);
        SprungModel *model = NULL;
        SprungError error;
        memset(&error, 0, sizeof error);
        const char *why = "out of memory";
        if (json && sprung_model_load_string(json, name, &model, &error) != SPRUNG_OK)
            why = error.message;
        int failed = bench_model(options, results, "synthetic", name, model, NULL, why);
        sprung_model_free(model);
        free(json);
        if (failed)
            return 1;
    }
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.json in `dir`, sorted; each plays DIR/midi/<stem>.mid when there
 * is one, else repeated strikes. */
static int bench_directory(const BenchOptions *options, BenchResults *results,
                           const char *group, const char *dir_path)
{
    DIR *dir = opendir(dir_path);
    if (!dir) {
        fprintf(stderr, "sprung bench: cannot open %s: %s\n", dir_path, strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t n = 0, capacity = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        size_t len = strlen(entry->d_name);
        if (len <= 5 || strcmp(entry->d_name + len - 5, ".json") != 0)
            continue;
        if (n == capacity) {
            capacity = capacity ? capacity * 2 : 16;
            char **grown = realloc(names, capacity * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        names[n] = strdup(entry->d_name);
        if (names[n])
            n++;
    }
    closedir(dir);
    if (n)
        qsort(names, n, sizeof names[0], compare_strings);

    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096], stem[BENCH_MAX_NAME];
        snprintf(path, sizeof path, "%s/%s", dir_path, names[i]);
        snprintf(stem, sizeof stem, "%.*s", (int)(strlen(names[i]) - 5), names[i]);
        char name[sizeof stem + sizeof " (+midi)"];
        snprintf(name, sizeof name, "%s", stem);
        SprungModel *model = NULL;
        SprungMidiSequence *midi = NULL;
        SprungError error;
        memset(&error, 0, sizeof error);
        if (sprung_model_load_file(path, &model, &error) == SPRUNG_OK) {
            char midi_path[4096];
            snprintf(midi_path, sizeof midi_path, "%s/midi/%s.mid", dir_path, stem);
            if (access(midi_path, R_OK) == 0 &&
                sprung_midi_load_file(midi_path, &midi, &error) == SPRUNG_OK &&
                midi->n_events > 0)
                snprintf(name, sizeof name, "%s (+midi)", stem);
            else if (midi) {
                sprung_midi_free(midi);
                midi = NULL;
            }
        }
        failed |= bench_model(options, results, group, name, model, midi, error.message);
        if (midi)
            sprung_midi_free(midi);
        sprung_model_free(model);
        free(names[i]);
    }
    free(names);
    return failed;
}

/* ---- reporting ---- */

static void bench_cpu_name(char *out, size_t size)
{
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *colon = strchr(line, ':');
            if (colon) {
                colon++;
                while (*colon == ' ' || *colon == '\t')
                    colon++;
                snprintf(out, size, "%s", colon);
                out[strcspn(out, "\n")] = '\0';
            }
            break;
        }
    }
    fclose(f);
}

/* ---- the targets ---- */

typedef struct BenchTarget {
    const char *model;     /* a `bench` group row */
    double max_core_percent;
} BenchTarget;

/* At 48 kHz: the 20 x 30 mesh in at most 10 % of one core, the network of
 * 1,000 bodies and 5,000 springs in at most 50 %. */
static const BenchTarget bench_targets[] = {{"mesh-20x30", 10.0}, {"net-1000x5000", 50.0}};
#define BENCH_TARGET_COUNT (sizeof bench_targets / sizeof bench_targets[0])

static const BenchResult *bench_find(const BenchResults *results, const char *backend,
                                     const char *group, const char *name)
{
    for (size_t i = 0; i < results->count; i++) {
        const BenchResult *r = &results->items[i];
        if (!r->error[0] && !strcmp(r->backend, backend) && !strcmp(r->group, group) &&
            !strcmp(r->name, name))
            return r;
    }
    return NULL;
}

/* Share of one core: the calling thread's CPU time per audio time; for a
 * backend with helper threads the wall-clock share is the honest one (it
 * includes waiting for them), so both are kept. */
static double bench_core_percent(const BenchResult *r, bool wall)
{
    return 100.0 * (wall ? r->median_wall_s : r->median_cpu_s) / r->audio_s;
}

/* Speed-up over the reference backend in this run: the median over the
 * repetitions of the reference's CPU time per spring-step over the row's,
 * each ratio taken from a pair that ran side by side (bench_model), so a
 * slow moment of the machine cancels out. NAN without a cpu row for the
 * same model. */
static double bench_speedup(const BenchResults *results, const BenchResult *r)
{
    const BenchResult *reference = bench_find(results, "cpu", r->group, r->name);
    if (!reference || r->error[0] || reference->repeats != r->repeats || r->repeats < 1)
        return NAN;
    double ratios[BENCH_MAX_REPEATS];
    for (int k = 0; k < r->repeats; k++)
        ratios[k] = (reference->cpu_s[k] / reference->audio_s / reference->oversampling) /
                    (r->cpu_s[k] / r->audio_s / r->oversampling);
    return median(ratios, r->repeats);
}

/* The target a row is measured against, or NULL: only rows of the `bench`
 * group that name a target model have one. */
static const BenchTarget *bench_target_of(const BenchResult *r)
{
    if (r->error[0] || strcmp(r->group, "bench"))
        return NULL;
    for (size_t t = 0; t < BENCH_TARGET_COUNT; t++)
        if (!strcmp(r->name, bench_targets[t].model))
            return &bench_targets[t];
    return NULL;
}

static void bench_print_targets(FILE *out, const BenchResults *results)
{
    fprintf(out, "\ntargets at 48 kHz (share of one core from the CPU time, wall time in"
                 " brackets; speed-up over cpu in this run):\n");
    for (size_t i = 0; i < results->count; i++) {
        const BenchResult *r = &results->items[i];
        const BenchTarget *target = bench_target_of(r);
        if (!target)
            continue;
        double percent = bench_core_percent(r, false);
        double speedup = bench_speedup(results, r);
        fprintf(out, "  %-7s %-14s %6.1f %% of a core (%.1f %% wall), target <= %.0f %%: %s",
                r->backend, r->name, percent, bench_core_percent(r, true),
                target->max_core_percent, percent <= target->max_core_percent ? "met" : "MISSED");
        if (isfinite(speedup) && strcmp(r->backend, "cpu"))
            fprintf(out, "; %.2fx the reference", speedup);
        fputc('\n', out);
    }
}

static void bench_write_targets_json(FILE *out, const BenchResults *results)
{
    fputs(",\n  \"targets\": [", out);
    bool first = true;
    for (size_t i = 0; i < results->count; i++) {
        const BenchResult *r = &results->items[i];
        const BenchTarget *target = bench_target_of(r);
        if (!target)
            continue;
        fprintf(out, "%s\n    {\"backend\": ", first ? "" : ",");
        first = false;
        bench_json_string(out, r->backend);
        bench_json_field_string(out, "model", r->name);
        bench_json_field_number(out, "core_percent", bench_core_percent(r, false));
        bench_json_field_number(out, "core_percent_wall", bench_core_percent(r, true));
        bench_json_field_number(out, "target_core_percent", target->max_core_percent);
        fprintf(out, ", \"met\": %s",
                bench_core_percent(r, false) <= target->max_core_percent ? "true" : "false");
        bench_json_field_number(out, "speedup_vs_cpu", bench_speedup(results, r));
        fputc('}', out);
    }
    fputs("\n  ]", out);
}

/* `, "key": [v0, v1, ...]` */
static void bench_json_field_list(FILE *out, const char *key, const double *values, int n)
{
    fprintf(out, ", \"%s\": [", key);
    for (int k = 0; k < n; k++) {
        if (k)
            fputs(", ", out);
        bench_json_number(out, values[k]);
    }
    fputc(']', out);
}

static void bench_write_json(FILE *out, const BenchOptions *options, const BenchResults *results,
                             const BenchVoices *voices)
{
    char cpu[256];
    bench_cpu_name(cpu, sizeof cpu);
    fprintf(out, "{\n  \"sprung_bench\": 1,\n  \"machine\": {\"cpu\": ");
    bench_json_string(out, cpu);
    fprintf(out, ", \"cores\": %ld},\n  \"build\": {\"compiler\": ", sysconf(_SC_NPROCESSORS_ONLN));
#if defined(__clang__)
    bench_json_string(out, "clang " __clang_version__);
#elif defined(__VERSION__)
    bench_json_string(out, __VERSION__);
#else
    bench_json_string(out, "unknown");
#endif
    bench_json_field_string(out, "build_type", SPRUNG_BUILD_TYPE);
    const char *threads = getenv("SPRUNG_SIMD_THREADS");
    bench_json_field_string(out, "simd_threads", threads && *threads ? threads : "auto");
    fprintf(out, "},\n"
                 "  \"sample_rate\": %.0f,\n  \"block_frames\": %d,\n  \"repeats\": %d,\n"
                 "  \"quick\": %s,\n  \"results\": [",
            BENCH_RATE, BENCH_BLOCK, options->repeats, options->quick ? "true" : "false");
    for (size_t i = 0; i < results->count; i++) {
        const BenchResult *r = &results->items[i];
        fprintf(out, "%s\n    {\"backend\": ", i ? "," : "");
        bench_json_string(out, r->backend);
        bench_json_field_string(out, "group", r->group);
        bench_json_field_string(out, "name", r->name);
        fprintf(out, ", \"bodies\": %u, \"anchors\": %u, \"springs\": %u",
                r->counts.bodies, r->counts.anchors, r->counts.springs);
        if (r->error[0]) {
            bench_json_field_string(out, "error", r->error);
            fputc('}', out);
            continue;
        }
        fprintf(out, ", \"oversampling\": %u, \"blocks\": %u", r->oversampling, r->blocks);
        bench_json_field_number(out, "audio_seconds", r->audio_s);
        bench_json_field_number(out, "wall_seconds_median", r->median_wall_s);
        bench_json_field_number(out, "realtime_factor", r->realtime_factor);
        bench_json_field_number(out, "ns_per_spring_step", r->ns_per_spring_step);
        bench_json_field_number(out, "cpu_seconds_median", r->median_cpu_s);
        bench_json_field_number(out, "cpu_ns_per_spring_step", r->cpu_ns_per_spring_step);
        bench_json_field_number(out, "speedup_vs_cpu", bench_speedup(results, r));
        bench_json_field_list(out, "wall_seconds", r->wall_s, r->repeats);
        bench_json_field_list(out, "cpu_seconds", r->cpu_s, r->repeats);
        fputc('}', out);
    }
    fputs("\n  ]", out);
    bench_write_targets_json(out, results);
    if (voices)
        bench_voices_write_json(voices, out);
    fputs("\n}\n", out);
}

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: sprung bench [--backend NAME[,NAME...]|all] [--quick] [--json FILE|-]\n"
            "                    [--voices|--voices-only|--no-voices]\n"
            "                    [--presets DIR] [--models DIR]\n"
            "\n"
            "Measures the engine: synthetic networks of 10 to 100,000 springs, the\n"
            "benchmark models (bench/*.json) and the factory presets (presets/*.json),\n"
            "each playing midi/<name>.mid of its folder when it exists, in blocks of\n"
            "%d frames at %.0f Hz. Reports the median of the repetitions as a\n"
            "real-time factor (audio seconds rendered per wall second) and nanoseconds\n"
            "per spring-step (wall time / (springs x engine steps)); the last column\n"
            "is the same from the thread's CPU time, which other load on the machine\n"
            "does not inflate (it misses a backend's helper threads and GPU time).\n"
            "\n"
            "  --backend NAMES  backends to measure, as in `sprung backends` (default\n"
            "                   cpu, the reference); 'all': every available one.\n"
            "                   A single opencl[:N] or cuda[:N] runs the GPU benchmark\n"
            "                   instead: per-block launch overhead p50/p99/p999 for each\n"
            "                   pipeline variant, and real-time factor against size;\n"
            "                   in a list (cuda,cpu) it plays the models and presets.\n"
            "                   Several backends take turns on each model, and the\n"
            "                   speed-up over cpu is the median of side-by-side ratios\n"
            "  --quick          a short smoke run (networks up to 10,000 springs, one\n"
            "                   repetition of ~0.02 s each): checks, does not measure\n"
            "  --voices         also sweep voices on every backend named: for meshes of\n"
            "                   about 100, 300, 1,000, 3,000 and 10,000 springs (quick:\n"
            "                   100 and 1,000), how many voices (1, 2, 4, ... %u, each\n"
            "                   a held note) render a 128-frame block in less time\n"
            "                   than it lasts (median); p50/p99 per count, JSON key\n"
            "                   \"voices\". On by default only for GPU backends (opencl,\n"
            "                   cuda); ~0.5 s of audio per count, seconds per backend\n"
            "  --voices-only    the voices sweep alone, on every backend named\n"
            "  --no-voices      no voices sweep, not even for a GPU backend\n"
            "  --json FILE      also write the results as JSON to FILE ('-': stdout,\n"
            "                   the table then goes to stderr)\n"
            "  --threads N      worker threads of the simd backend for one network\n"
            "                   (sets SPRUNG_SIMD_THREADS; default: its own rule)\n"
            "  --presets DIR    factory presets to measure (default %s/presets)\n"
            "  --models DIR     benchmark models to measure (default %s/bench)\n"
            "  --help           this text\n",
            BENCH_BLOCK, BENCH_RATE, bench_voices_limit(), SPRUNG_SOURCE_DIR,
            SPRUNG_SOURCE_DIR);
}

/* Turns --backend's value into a list of spellings: "all" is every backend
 * this build has that can run here, in the registry's order. */
static int bench_backend_list(const char *arg, char names[][32], int max)
{
    int n = 0;
    if (strcmp(arg, "all") == 0) {
        uint32_t count = sprung_backend_count();
        for (uint32_t i = 0; i < count && n < max; i++) {
            SprungBackendInfo info;
            if (sprung_backend_info(i, &info) == SPRUNG_OK && info.available)
                snprintf(names[n++], 32, "%s", info.name);
        }
        return n;
    }
    const char *start = arg;
    while (*start && n < max) {
        size_t len = strcspn(start, ",");
        if (len > 0 && len < 32)
            snprintf(names[n++], 32, "%.*s", (int)len, start);
        start += len;
        if (*start == ',')
            start++;
    }
    return n;
}

static bool bench_is_gpu(const char *backend)
{
    return !strncmp(backend, "opencl", 6) || !strncmp(backend, "cuda", 4);
}

static bool bench_option_takes_value(const char *arg)
{
    static const char *const with_value[] = {"--json", "--presets", "--models", "--backend",
                                             "--threads"};
    for (size_t i = 0; i < sizeof with_value / sizeof with_value[0]; i++)
        if (strcmp(arg, with_value[i]) == 0)
            return true;
    return false;
}

int sprung_cmd_bench(int argc, char **argv)
{
    BenchOptions options = {
        .presets_dir = SPRUNG_SOURCE_DIR "/presets",
        .models_dir = SPRUNG_SOURCE_DIR "/bench",
        .target_wall_s = 0.6,
        .repeats = 5,
        .max_synthetic_springs = 100000,
    };
    const char *backend_arg = "cpu";
    /* argv[0] is the subcommand's name ("bench"). */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            bench_usage(stdout);
            return 0;
        } else if (strcmp(arg, "--quick") == 0) {
            options.quick = true;
        } else if (strcmp(arg, "--voices") == 0) {
            options.voices = BENCH_VOICES_ALL;
        } else if (strcmp(arg, "--voices-only") == 0) {
            options.voices = BENCH_VOICES_ONLY;
        } else if (strcmp(arg, "--no-voices") == 0) {
            options.voices = BENCH_VOICES_NONE;
        } else if (bench_option_takes_value(arg) && has_value) {
            const char *value = argv[++i];
            if (strcmp(arg, "--json") == 0)
                options.json_path = value;
            else if (strcmp(arg, "--presets") == 0)
                options.presets_dir = value;
            else if (strcmp(arg, "--models") == 0)
                options.models_dir = value;
            else if (strcmp(arg, "--threads") == 0) {
                char *end = NULL;
                long threads = strtol(value, &end, 10);
                if (!*value || *end || threads < 1 || threads > 64) {
                    fprintf(stderr, "sprung bench: --threads '%s' is not a number in [1, 64]\n",
                            value);
                    return 2;
                }
                /* Read by the simd backend when it is created. */
                setenv("SPRUNG_SIMD_THREADS", value, 1);
            } else
                backend_arg = value;
        } else {
            fprintf(stderr, "sprung bench: %s '%s'\nTry 'sprung bench --help'.\n",
                    bench_option_takes_value(arg) ? "missing value after" : "unknown argument",
                    arg);
            return 2;
        }
    }
    if (options.quick) {
        options.target_wall_s = 0.02;
        options.repeats = 1;
        options.max_synthetic_springs = 10000;
    }
    /* One GPU backend alone: its own benchmark (per-block launch overhead
     * for each pipeline variant, real-time factor against model size). In
     * a list ("cuda,cpu") it plays the networks, models and presets. */
    if (!strchr(backend_arg, ',') && bench_is_gpu(backend_arg) &&
        options.voices != BENCH_VOICES_ONLY)
        return sprung_bench_gpu(backend_arg, options.json_path, options.quick,
                                options.voices != BENCH_VOICES_NONE);

    char backends[BENCH_MAX_BACKENDS][32];
    int n_backends = bench_backend_list(backend_arg, backends, BENCH_MAX_BACKENDS);
    if (n_backends == 0) {
        fprintf(stderr, "sprung bench: no backend to measure in '%s' (see `sprung backends`)\n",
                backend_arg);
        return 2;
    }

    /* Opened before measuring, so a bad path does not cost a whole run. */
    FILE *json = NULL;
    if (options.json_path && !(json = bench_json_open(options.json_path)))
        return 1;
    FILE *table = bench_table_stream(options.json_path);
    bool voices_only = options.voices == BENCH_VOICES_ONLY;
    BenchResults results = {0};
    int failed = 0;
    if (!voices_only) {
        fprintf(table, "sprung bench: backend %s, %d-frame blocks at %.0f Hz, median of %d%s\n\n",
                backend_arg, BENCH_BLOCK, BENCH_RATE, options.repeats,
                options.quick ? " (quick: not a measurement)" : "");
        fprintf(table, "%-7s %-9s %-26s %7s %8s %3s %12s %12s %12s\n", "backend", "group",
                "name", "bodies", "springs", "os", "x real time", "ns/spr-step", "cpu ns/s-s");
        options.backends = (const char (*)[32])backends;
        options.n_backends = n_backends;
        failed |= bench_synthetic(&options, &results);
        failed |= bench_directory(&options, &results, "bench", options.models_dir);
        failed |= bench_directory(&options, &results, "preset", options.presets_dir);
        for (size_t i = 0; i < results.count; i++)
            if (results.items[i].error[0])
                failed = 1;
        bench_print_targets(table, &results);
    } else {
        fprintf(table, "sprung bench: backend %s, voices only\n", backend_arg);
    }

    /* The voices sweep, after the rest so its table stays in one piece. */
    BenchVoices voices = {.quick = options.quick};
    bool swept = false;
    for (int b = 0; b < n_backends; b++)
        if (options.voices == BENCH_VOICES_ALL || voices_only ||
            (options.voices == BENCH_VOICES_GPU && bench_is_gpu(backends[b]))) {
            failed |= bench_voices_run(&voices, backends[b], table);
            swept = true;
        }
    if (swept)
        bench_voices_print_summary(&voices, table);

    if (json) {
        bench_write_json(json, &options, &results, swept ? &voices : NULL);
        if (json != stdout && fclose(json) != 0) {
            fprintf(stderr, "sprung bench: cannot write %s\n", options.json_path);
            failed = 1;
        }
    }
    free(results.items);
    bench_voices_free(&voices);
    return failed ? 1 : 0;
}
