/* Proves that the audio-thread API (sprung_engine_process, sprung_engine_reset)
 * never allocates, locks or does I/O, by running it inside a
 * RealtimeSanitizer real-time section for every preset in a directory, for two
 * inline models, for oversampling 1, 2 and 4, and on each CPU backend this
 * build has ("cpu", the reference, and "simd" when available; the GPU
 * backends talk to drivers and are not real-time code by this measure).
 *
 * clang-19 has no -fsanitize=realtime, so the runtime is linked by hand and
 * the real-time section is opened and closed explicitly. A violation makes
 * the runtime print "Real-time violation" and exit non-zero, so a clean run
 * exiting 0 is the pass condition; `--sabotage` injects an allocation inside
 * the section and the run must then die (tests/realtime/expect_violation.cmake
 * checks that it died of the sanitizer, not of something else).
 *
 * Usage: test_realtime [--sabotage] PRESET_DIR */
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sprung/sprung.h"

/* The RealtimeSanitizer runtime's C interface (compiler-rt rtsan_interface). */
void __rtsan_init(void);
void __rtsan_realtime_enter(void);
void __rtsan_realtime_exit(void);

enum {
    MAX_BLOCK = 1024,
    MAX_EVENTS_PER_BLOCK = 16,
    FRAMES_PER_RUN = 9600, /* 0.2 s at 48 kHz per model and oversampling */
    MAX_BLOCKS = FRAMES_PER_RUN, /* worst case: every block one frame long */
};

/* A single struck body: the smallest meaningful instrument. */
static const char MODEL_ONE_BODY[] =
    "{ \"sprung\": 1, \"name\": \"rt-one-body\",\n"
    "  \"bodies\": [ {\"id\": \"b\", \"position\": [0, 0, 0], \"mass\": 0.001} ],\n"
    "  \"anchors\": [ {\"id\": \"a\", \"position\": [0, 0, 0.1]} ],\n"
    "  \"springs\": [ {\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": 2000,"
    " \"damping\": 0.0005} ],\n"
    "  \"mallets\": [ {\"id\": \"m\", \"target\": \"b\", \"direction\": [0, 0, 1],"
    " \"strength\": 0.001} ],\n"
    "  \"microphones\": [ {\"id\": \"mic\", \"target\": \"b\", \"axis\": [0, 0, 1]} ] }\n";

/* A pre-stressed string of five bodies between two anchors, with drag,
 * two mallets on split note ranges and two panned microphones (one velocity),
 * so every optional field and the tension path of the kernel are exercised. */
static const char MODEL_STRING[] =
    "{ \"sprung\": 1, \"name\": \"rt-string\",\n"
    "  \"bodies\": [\n"
    "    {\"id\": \"b1\", \"position\": [0.1, 0, 0], \"mass\": 0.002, \"drag\": 0.0001},\n"
    "    {\"id\": \"b2\", \"position\": [0.2, 0, 0], \"mass\": 0.002, \"drag\": 0.0001},\n"
    "    {\"id\": \"b3\", \"position\": [0.3, 0, 0], \"mass\": 0.002, \"drag\": 0.0001,"
    " \"velocity\": [0, 0.01, 0]},\n"
    "    {\"id\": \"b4\", \"position\": [0.4, 0, 0], \"mass\": 0.002, \"drag\": 0.0001},\n"
    "    {\"id\": \"b5\", \"position\": [0.5, 0, 0], \"mass\": 0.002, \"drag\": 0.0001} ],\n"
    "  \"anchors\": [ {\"id\": \"left\", \"position\": [0, 0, 0]},"
    " {\"id\": \"right\", \"position\": [0.6, 0, 0]} ],\n"
    "  \"springs\": [\n"
    "    {\"id\": \"s0\", \"from\": \"left\", \"to\": \"b1\", \"stiffness\": 5000,"
    " \"damping\": 0.001, \"rest_length\": 0.09},\n"
    "    {\"id\": \"s1\", \"from\": \"b1\", \"to\": \"b2\", \"stiffness\": 5000,"
    " \"damping\": 0.001, \"rest_length\": 0.09},\n"
    "    {\"id\": \"s2\", \"from\": \"b2\", \"to\": \"b3\", \"stiffness\": 5000,"
    " \"damping\": 0.001, \"rest_length\": 0.09},\n"
    "    {\"id\": \"s3\", \"from\": \"b3\", \"to\": \"b4\", \"stiffness\": 5000,"
    " \"damping\": 0.001, \"rest_length\": 0.09},\n"
    "    {\"id\": \"s4\", \"from\": \"b4\", \"to\": \"b5\", \"stiffness\": 5000,"
    " \"damping\": 0.001, \"rest_length\": 0.09},\n"
    "    {\"id\": \"s5\", \"from\": \"b5\", \"to\": \"right\", \"stiffness\": 5000,"
    " \"damping\": 0.001, \"rest_length\": 0.09} ],\n"
    "  \"mallets\": [\n"
    "    {\"id\": \"low\", \"target\": \"b2\", \"direction\": [0, 1, 0.2], \"strength\": 0.002,"
    " \"duration_ms\": 2, \"notes\": [0, 63]},\n"
    "    {\"id\": \"high\", \"target\": \"b4\", \"direction\": [0, 0, 1], \"strength\": 0.001,"
    " \"duration_ms\": 0.5, \"notes\": [64, 127]} ],\n"
    "  \"microphones\": [\n"
    "    {\"id\": \"mic-left\", \"target\": \"b2\", \"axis\": [0, 1, 0], \"gain\": 20, \"pan\": -0.7},\n"
    "    {\"id\": \"mic-right\", \"target\": \"b4\", \"axis\": [0, 0, 1], \"signal\": \"velocity\","
    " \"gain\": 0.5, \"pan\": 0.7} ] }\n";

/* The work done inside the real-time section, all sized and filled before
 * it opens. */
typedef struct Schedule {
    uint32_t n_blocks;
    uint32_t block_frames[MAX_BLOCKS];
    uint32_t first_event[MAX_BLOCKS + 1]; /* events of block b: [first_event[b], first_event[b+1]) */
    SprungEvent events[MAX_BLOCKS * 2];
    uint32_t reset_before_block;          /* sprung_engine_reset() runs before this block */
} Schedule;

typedef struct RunResult {
    uint32_t failed_block;   /* first block whose status was not OK, or UINT32_MAX */
    SprungStatus failed_status;
    uint32_t nonfinite_block; /* first block with a NaN or Inf sample, or UINT32_MAX */
    SprungStatus oversize_status; /* from a deliberately oversize block */
    SprungStatus unsorted_status; /* from deliberately unsorted events */
    float peak;
} RunResult;

static Schedule g_schedule;
static float g_left[2 * MAX_BLOCK], g_right[2 * MAX_BLOCK];
static bool g_sabotage;

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rng_next(void)
{
    /* xorshift32: deterministic, so a failure reproduces. */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Blocks of varying size, including 1 and MAX_BLOCK, carrying notes over the
 * whole key range at several velocities and odd frame offsets, note-offs and
 * velocity-0 note-ons, on several channels. */
static void schedule_build(Schedule *s)
{
    static const uint8_t velocities[] = {1, 17, 64, 100, 127};
    static const uint32_t fixed_sizes[] = {1, MAX_BLOCK, 7, 1, 64, 255, MAX_BLOCK, 3, 512};
    uint32_t frames = 0, n_events = 0, note_counter = 0;
    s->n_blocks = 0;
    while (frames < FRAMES_PER_RUN && s->n_blocks < MAX_BLOCKS) {
        uint32_t b = s->n_blocks;
        /* Short blocks are where event and boundary handling go wrong:
         * half the blocks are at most 64 frames. */
        static const uint32_t size_caps[] = {8, 64, 256, MAX_BLOCK};
        uint32_t size = b < sizeof fixed_sizes / sizeof fixed_sizes[0]
                            ? fixed_sizes[b]
                            : 1 + rng_next() % size_caps[rng_next() % 4];
        if (size > FRAMES_PER_RUN - frames)
            size = FRAMES_PER_RUN - frames;
        s->block_frames[b] = size;
        s->first_event[b] = n_events;

        uint32_t want = rng_next() % 3; /* 0..2 events per block */
        if (want > size)
            want = size;
        uint32_t offsets[MAX_EVENTS_PER_BLOCK];
        for (uint32_t e = 0; e < want; e++)
            offsets[e] = (rng_next() % size) | 1u; /* odd offsets... */
        for (uint32_t e = 0; e < want; e++)
            if (offsets[e] >= size)
                offsets[e] = size - 1; /* ...that still fit (size 1: offset 0) */
        qsort(offsets, want, sizeof offsets[0], compare_u32);
        for (uint32_t e = 0; e < want; e++) {
            SprungEvent *ev = &s->events[n_events++];
            uint32_t k = note_counter++;
            ev->frame = offsets[e];
            ev->channel = (uint8_t)(k % 16);
            ev->note = (uint8_t)((k * 37u) % 128u); /* walks the whole range */
            ev->velocity = velocities[k % 5];
            ev->type = SPRUNG_EVENT_NOTE_ON;
            if (k % 7 == 3)
                ev->type = SPRUNG_EVENT_NOTE_OFF;
            else if (k % 11 == 5)
                ev->velocity = 0; /* a note-on that means note-off */
        }
        frames += size;
        s->n_blocks++;
    }
    s->first_event[s->n_blocks] = n_events;
    s->reset_before_block = s->n_blocks / 2;
}

/* Everything between enter and exit is the audio thread's view: no printing,
 * no allocation; failures are recorded and reported after exit. */
static void run_realtime(SprungEngine *engine, const Schedule *s, RunResult *r)
{
    float *const outputs[2] = {g_left, g_right};
    r->failed_block = UINT32_MAX;
    r->nonfinite_block = UINT32_MAX;
    r->peak = 0.0f;

    __rtsan_realtime_enter();
    for (uint32_t b = 0; b < s->n_blocks; b++) {
        if (b == s->reset_before_block)
            sprung_engine_reset(engine);
        if (g_sabotage && b == 3) {
            /* The bug this test guards against: the audio thread allocating. */
            void *volatile leak = malloc(64);
            free(leak);
        }
        SprungBlock block = {
            .n_frames = s->block_frames[b],
            .events = &s->events[s->first_event[b]],
            .n_events = s->first_event[b + 1] - s->first_event[b],
            .outputs = outputs,
            .n_outputs = 2,
        };
        SprungStatus status = sprung_engine_process(engine, &block);
        if (status != SPRUNG_OK && r->failed_block == UINT32_MAX) {
            r->failed_block = b;
            r->failed_status = status;
        }
        for (uint32_t i = 0; i < block.n_frames; i++) {
            float l = g_left[i], rr = g_right[i];
            if (!isfinite(l) || !isfinite(rr)) {
                if (r->nonfinite_block == UINT32_MAX)
                    r->nonfinite_block = b;
                continue;
            }
            if (fabsf(l) > r->peak)
                r->peak = fabsf(l);
            if (fabsf(rr) > r->peak)
                r->peak = fabsf(rr);
        }
    }

    /* The error paths run on the audio thread too: they must reject the
     * block without logging or allocating. */
    SprungEvent unsorted[2] = {
        {.frame = 5, .type = SPRUNG_EVENT_NOTE_ON, .channel = 0, .note = 60, .velocity = 90},
        {.frame = 2, .type = SPRUNG_EVENT_NOTE_ON, .channel = 0, .note = 61, .velocity = 90},
    };
    SprungBlock oversize = {.n_frames = MAX_BLOCK + 1, .outputs = outputs, .n_outputs = 2};
    r->oversize_status = sprung_engine_process(engine, &oversize);
    SprungBlock bad_events = {.n_frames = 16, .events = unsorted, .n_events = 2,
                              .outputs = outputs, .n_outputs = 2};
    r->unsorted_status = sprung_engine_process(engine, &bad_events);
    sprung_engine_reset(engine);
    __rtsan_realtime_exit();
}

static int g_failures;
static int g_runs;

/* The backends under test, found in the registry at start-up. */
static char g_backends[4][16];
static int g_n_backends;

static void find_backends(void)
{
    static const char *const wanted[] = {"cpu", "simd"};
    uint32_t count = sprung_backend_count();
    for (size_t w = 0; w < sizeof wanted / sizeof wanted[0]; w++) {
        for (uint32_t i = 0; i < count; i++) {
            SprungBackendInfo info;
            if (sprung_backend_info(i, &info) != SPRUNG_OK || strcmp(info.name, wanted[w]) != 0)
                continue;
            if (info.available)
                snprintf(g_backends[g_n_backends++], sizeof g_backends[0], "%s", info.name);
            else
                printf("backend %s not tested: %s\n", info.name, info.reason);
        }
    }
}

static void fail(const char *name, const char *format, const char *detail)
{
    fprintf(stderr, "FAIL %s: ", name);
    fprintf(stderr, format, detail);
    fputc('\n', stderr);
    g_failures++;
}

/* Loads one model (outside the real-time section) and runs the schedule at
 * each oversampling factor. `must_sound`: the model is known to be audible
 * under the schedule's notes, so a silent output is a failure. */
static void check_model(const char *name, SprungModel *model, bool must_sound)
{
    static const uint32_t factors[] = {1, 2, 4};
    bool any_ran = false;
    for (size_t run = 0; run < 3 * (size_t)g_n_backends; run++) {
        size_t f = run % 3;
        const char *backend = g_backends[run / 3];
        SprungEngineConfig config = sprung_engine_config_default();
        config.sample_rate = 48000.0;
        config.max_block_frames = MAX_BLOCK;
        config.oversampling = factors[f];
        config.backend = backend;
        SprungEngine *engine = NULL;
        SprungError error;
        memset(&error, 0, sizeof error);
        SprungStatus status = sprung_engine_new(&config, model, &engine, &error);
        if (status == SPRUNG_ERROR_UNSTABLE) {
            printf("  %-24s %-5s x%u  skipped (unstable at this rate: %s)\n", name, backend,
                   factors[f], error.message);
            continue;
        }
        if (status == SPRUNG_ERROR_UNSUPPORTED && strcmp(backend, "cpu") != 0) {
            /* A model with features this backend does not implement yet
             * (SPRUNG_FEATURE_*): the reference runs it above. */
            printf("  %-24s %-5s x%u  skipped (%s)\n", name, backend, factors[f], error.message);
            continue;
        }
        if (status != SPRUNG_OK || !engine) {
            fprintf(stderr, "FAIL %s %s x%u: sprung_engine_new: %s: %s\n", name, backend,
                    factors[f], sprung_strerror(status), error.message);
            g_failures++;
            continue;
        }
        if (g_sabotage)
            fprintf(stderr, "sabotage: allocating inside the real-time section (%s %s x%u)\n",
                    name, backend, factors[f]);

        RunResult result;
        run_realtime(engine, &g_schedule, &result);
        sprung_engine_free(engine);
        any_ran = true;
        g_runs++;

        char detail[64];
        snprintf(detail, sizeof detail, "%s x%u", backend, factors[f]);
        if (result.failed_block != UINT32_MAX) {
            fprintf(stderr, "FAIL %s %s: sprung_engine_process returned %s at block %u\n", name,
                    detail, sprung_strerror(result.failed_status), result.failed_block);
            g_failures++;
        }
        if (result.nonfinite_block != UINT32_MAX) {
            fprintf(stderr, "FAIL %s %s: non-finite output from block %u\n", name, detail,
                    result.nonfinite_block);
            g_failures++;
        }
        if (result.oversize_status != SPRUNG_ERROR_INVALID_ARGUMENT)
            fail(name, "a block larger than max_block_frames was not rejected (%s)", detail);
        if (result.unsorted_status != SPRUNG_ERROR_INVALID_ARGUMENT)
            fail(name, "unsorted events were not rejected (%s)", detail);
        if (must_sound && !(result.peak > 0.0f))
            fail(name, "silent output although notes were played (%s)", detail);
        printf("  %-24s %-5s x%u  %u blocks, peak %.3g\n", name, backend, factors[f],
               g_schedule.n_blocks, (double)result.peak);
    }
    if (!any_ran)
        fail(name, "%s", "unstable at every oversampling factor: nothing was tested");
}

static void check_string(const char *name, const char *json)
{
    SprungModel *model = NULL;
    SprungError error;
    memset(&error, 0, sizeof error);
    if (sprung_model_load_string(json, name, &model, &error) != SPRUNG_OK) {
        fail(name, "inline model does not load: %s", error.message);
        return;
    }
    check_model(name, model, true);
    sprung_model_free(model);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_directory(const char *dir_path)
{
    DIR *dir = opendir(dir_path);
    if (!dir) {
        fprintf(stderr, "FAIL: cannot open preset directory %s\n", dir_path);
        g_failures++;
        return 0;
    }
    char *names[512];
    size_t n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) && n < 512) {
        size_t len = strlen(entry->d_name);
        if (len > 5 && strcmp(entry->d_name + len - 5, ".json") == 0)
            names[n++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(names, n, sizeof names[0], compare_names);

    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir_path, names[i]);
        SprungModel *model = NULL;
        SprungError error;
        memset(&error, 0, sizeof error);
        if (sprung_model_load_file(path, &model, &error) != SPRUNG_OK) {
            fail(names[i], "factory preset does not load: %s", error.message);
        } else {
            check_model(names[i], model, false);
            sprung_model_free(model);
        }
        free(names[i]);
    }
    return (int)n;
}

int main(int argc, char **argv)
{
    __rtsan_init();

    const char *preset_dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sabotage") == 0)
            g_sabotage = true;
        else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: %s [--sabotage] PRESET_DIR\n", argv[0]);
            return 0;
        } else
            preset_dir = argv[i];
    }
    if (!preset_dir) {
        fprintf(stderr, "usage: %s [--sabotage] PRESET_DIR\n", argv[0]);
        return 2;
    }

    find_backends();
    if (g_n_backends == 0) {
        fprintf(stderr, "FAIL: the registry has no available CPU backend\n");
        return 1;
    }
    schedule_build(&g_schedule);
    printf("RealtimeSanitizer: %u blocks of 1..%u frames per run%s\n", g_schedule.n_blocks,
           MAX_BLOCK, g_sabotage ? " (sabotage: an allocation is injected)" : "");

    check_string("inline:rt-one-body", MODEL_ONE_BODY);
    check_string("inline:rt-string", MODEL_STRING);
    int n_presets = check_directory(preset_dir);
    printf("%d factory presets, %d engine runs under RealtimeSanitizer\n", n_presets, g_runs);

    if (g_sabotage) {
        /* Reaching here means the injected allocation went unnoticed. */
        fprintf(stderr, "FAIL: sabotage run finished: the injected allocation was not caught\n");
        return 1;
    }
    if (g_failures) {
        fprintf(stderr, "%d failure(s)\n", g_failures);
        return 1;
    }
    printf("OK: zero real-time violations\n");
    return 0;
}
