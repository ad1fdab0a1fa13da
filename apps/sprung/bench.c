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
 * thread; a backend may use helper threads (simd: --threads). This file
 * measures; the synthetic networks are bench_network.c's, the targets and
 * the JSON bench_report.c's, the voices sweep (--voices; GPU backends by
 * default) bench_voices.c's. See docs/benchmarks.md for the figures and how
 * to read them. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_gpu.h"
#include "bench_network.h"
#include "bench_output.h"
#include "bench_report.h"
#include "bench_results.h"
#include "bench_voices.h"
#include "commands.h"
#include "engine_options.h"
#include "io/midi.h"
#include "sprung/sprung.h"

#ifndef SPRUNG_SOURCE_DIR
#define SPRUNG_SOURCE_DIR "."
#endif

enum { BENCH_MAX_BACKENDS = 16 };

/* The three groups of models (--groups): the synthetic networks, the
 * benchmark models and the factory presets, in that order; the names are
 * those of the JSON's "group". */
enum { BENCH_GROUP_SYNTHETIC = 1u, BENCH_GROUP_BENCH = 2u, BENCH_GROUP_PRESET = 4u };
static const char *const bench_group_names[] = {"synthetic", "bench", "preset"};
#define BENCH_GROUP_COUNT (sizeof bench_group_names / sizeof bench_group_names[0])
#define BENCH_GROUP_ALL (BENCH_GROUP_SYNTHETIC | BENCH_GROUP_BENCH | BENCH_GROUP_PRESET)

/* Which backends get the voices sweep: by default only the GPU ones (it
 * takes a few seconds per backend and answers the GPU question). */
typedef enum BenchVoicesMode {
    BENCH_VOICES_GPU = 0, /* default */
    BENCH_VOICES_ALL,     /* --voices */
    BENCH_VOICES_ONLY,    /* --voices-only: the sweep alone */
    BENCH_VOICES_NONE,    /* --no-voices */
} BenchVoicesMode;

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
    unsigned groups;         /* BENCH_GROUP_* bits: which models are measured */
} BenchOptions;

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
        result->median_wall_s = bench_median(result->wall_s, (size_t)result->repeats);
        result->median_cpu_s = bench_median(result->cpu_s, (size_t)result->repeats);
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

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: sprung bench [--backend NAME[,NAME...]|all] [--quick] [--json FILE|-]\n"
            "                    [--voices|--voices-only|--no-voices]\n"
            "                    [--groups LIST] [--presets DIR] [--models DIR]\n"
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
            "  --groups LIST    the models to measure, comma-separated: synthetic (the\n"
            "                   networks), bench (bench/*.json, with the targets) and\n"
            "                   preset (presets/*.json); default all three\n"
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

/* One spelling from --backend ("simd", "opencl:1", "auto"): true when this
 * build has it and it can run here, else false after saying why, so that
 * a slip is refused before anything is measured. */
static bool bench_backend_usable(const char *spelling)
{
    if (strcmp(spelling, "auto") == 0)
        return true;
    /* A name this build lacks: the same message as render and play give. */
    EngineOptions named = {.backend = spelling};
    if (engine_options_check("bench", &named) != 0)
        return false;
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(spelling, ":"), spelling);
    uint32_t count = sprung_backend_count(), index = 0;
    while (index < count && strcmp(sprung_backend_name(index), name))
        index++;
    SprungBackendInfo info;
    if (sprung_backend_info(index, &info) != SPRUNG_OK) /* not after the check above */
        return false;
    if (!info.available) {
        fprintf(stderr, "sprung bench: backend %s cannot run here: %s\n", name, info.reason);
        return false;
    }
    const char *device = strchr(spelling, ':');
    if (!device)
        return true;
    char *end = NULL;
    unsigned long number = strtoul(++device, &end, 10);
    if (*device >= '0' && *device <= '9' && !*end && number < info.n_devices)
        return true;
    char devices[32] = "only device 0";
    if (info.n_devices > 1)
        snprintf(devices, sizeof devices, "devices 0 to %u", info.n_devices - 1);
    fprintf(stderr, "sprung bench: --backend %s: backend %s has %s here (see `sprung backends`)\n",
            spelling, name, devices);
    return false;
}

/* --groups' value: a comma-separated list of group names, as bits; 0 after
 * naming the first word that is not a group. */
static unsigned bench_group_list(const char *arg)
{
    unsigned groups = 0;
    for (const char *start = arg;;) {
        size_t len = strcspn(start, ",");
        unsigned bit = 0;
        for (unsigned g = 0; g < BENCH_GROUP_COUNT; g++)
            if (len == strlen(bench_group_names[g]) &&
                !strncmp(start, bench_group_names[g], len))
                bit = 1u << g;
        if (!bit) {
            fprintf(stderr,
                    "sprung bench: --groups '%s': '%.*s' is not a group (synthetic, bench,"
                    " preset)\n",
                    arg, (int)len, start);
            return 0;
        }
        groups |= bit;
        start += len;
        if (*start != ',')
            return groups;
        start++;
    }
}

static bool bench_is_gpu(const char *backend)
{
    return !strncmp(backend, "opencl", 6) || !strncmp(backend, "cuda", 4);
}

static bool bench_option_takes_value(const char *arg)
{
    static const char *const with_value[] = {"--json", "--presets", "--models", "--backend",
                                             "--threads", "--groups"};
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
        .groups = BENCH_GROUP_ALL,
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
            } else if (strcmp(arg, "--groups") == 0) {
                if (!(options.groups = bench_group_list(value)))
                    return 2;
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
    char backends[BENCH_MAX_BACKENDS][32];
    int n_backends = bench_backend_list(backend_arg, backends, BENCH_MAX_BACKENDS);
    if (n_backends == 0) {
        fprintf(stderr, "sprung bench: no backend to measure in '%s' (see `sprung backends`)\n",
                backend_arg);
        return 2;
    }
    for (int b = 0; b < n_backends; b++)
        if (!bench_backend_usable(backends[b]))
            return 2;

    /* One GPU backend alone: its own benchmark (per-block launch overhead
     * for each pipeline variant, real-time factor against model size). In
     * a list ("cuda,cpu") it plays the networks, models and presets. */
    if (!strchr(backend_arg, ',') && bench_is_gpu(backend_arg) &&
        options.voices != BENCH_VOICES_ONLY)
        return sprung_bench_gpu(backend_arg, options.json_path, options.quick,
                                options.voices != BENCH_VOICES_NONE);

    /* Opened before measuring, so a bad path does not cost a whole run. */
    FILE *json = NULL;
    if (options.json_path && !(json = bench_json_open(options.json_path)))
        return 1;
    FILE *table = bench_table_stream(options.json_path);
    bool voices_only = options.voices == BENCH_VOICES_ONLY;
    BenchResults results = {0};
    BenchMachine machine;
    bench_machine_begin(&machine);
    int failed = 0;
    if (!voices_only) {
        fprintf(table, "sprung bench: backend %s, %d-frame blocks at %.0f Hz, median of %d%s\n",
                backend_arg, BENCH_BLOCK, BENCH_RATE, options.repeats,
                options.quick ? " (quick: not a measurement)" : "");
        bench_machine_print_start(table, &machine);
        fputc('\n', table);
        fprintf(table, "%-7s %-9s %-26s %7s %8s %3s %12s %12s %12s\n", "backend", "group",
                "name", "bodies", "springs", "os", "x real time", "ns/spr-step", "cpu ns/s-s");
        options.backends = (const char (*)[32])backends;
        options.n_backends = n_backends;
        if (options.groups & BENCH_GROUP_SYNTHETIC)
            failed |= bench_synthetic(&options, &results);
        if (options.groups & BENCH_GROUP_BENCH)
            failed |= bench_directory(&options, &results, "bench", options.models_dir);
        if (options.groups & BENCH_GROUP_PRESET)
            failed |= bench_directory(&options, &results, "preset", options.presets_dir);
        for (size_t i = 0; i < results.count; i++)
            if (results.items[i].error[0])
                failed = 1;
        bench_machine_end(&machine);
        fputc('\n', table);
        bench_machine_print_end(table, &machine);
        bench_print_targets(table, &results, bench_machine_clock_ghz(&machine));
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
        if (voices_only)
            bench_machine_end(&machine);
        bench_write_json(json, &machine, &results, options.repeats, options.quick,
                         swept ? &voices : NULL);
        if (json != stdout && fclose(json) != 0) {
            fprintf(stderr, "sprung bench: cannot write %s\n", options.json_path);
            failed = 1;
        }
    }
    free(results.items);
    bench_voices_free(&voices);
    return failed ? 1 : 0;
}
