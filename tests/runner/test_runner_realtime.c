/* Proves the runner's audio path real-time safe: every process() call runs
 * inside a RealtimeSanitizer real-time section (the callback marked
 * real-time), for every factory preset, with the output stage as `sprung
 * play` sets it (DC blocker and limiter on) and as `sprung render` does
 * (off), while between blocks the control side storms it: queued events
 * and events in hand, gain/mute/smoothing/limiter/DC changes every block,
 * user and transport resets, engine swaps (with the old engines taken back
 * and freed outside the section), breaker trips from injected NaN and
 * overload. A violation makes the runtime print "Real-time violation" and
 * exit non-zero.
 *
 * --sabotage alloc: process() allocates (must be caught: malloc).
 * --sabotage free:  a swapped-out engine is freed on the audio thread
 *                   (must be caught: free).
 * tests/expect_sabotage.cmake checks the report.
 * Usage: test_runner_realtime [--sabotage alloc|free] PRESET_DIR */
#include <dirent.h>
#include <stdint.h>

#include "runner/runner_testing.h"
#include "runner_test_util.h"

void __rtsan_init(void);
void __rtsan_realtime_enter(void);
void __rtsan_realtime_exit(void);

enum { MAX_BLOCK = 512, FRAMES = 96000 };

static unsigned g_sabotage;
static uint32_t g_rng = 0x2545f491u;

static uint32_t rng(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

static float g_left[MAX_BLOCK], g_right[MAX_BLOCK], g_in[MAX_BLOCK];

static SprungEngine *engine_or_null(const SprungModel *model)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.max_block_frames = MAX_BLOCK;
    SprungEngine *engine = NULL;
    SprungError error = {0};
    if (sprung_engine_new(&config, model, &engine, &error) != SPRUNG_OK) {
        printf("  skipped: %s\n", error.message);
        return NULL;
    }
    return engine;
}

/* Returns the number of process() calls made inside real-time sections. */
static uint32_t storm(const char *name, const SprungModel *model, int play_stage)
{
    SprungEngine *engine = engine_or_null(model);
    if (!engine)
        return 0;
    SprungRunnerConfig config = sprung_runner_config_default();
    config.max_block_frames = MAX_BLOCK;
    config.dc_blocker = play_stage;
    config.limiter = play_stage;
    config.crossfade_ms = 10.0;
    SprungRunner *runner = test_runner(&config, engine);
    sprung_runner_testing_sabotage(runner, g_sabotage);

    float *const outs[2] = {g_left, g_right};
    const float *const ins[2] = {g_in, g_in};
    uint32_t calls = 0, swaps_offered = 0, retired = 0, position = 0;
    SprungEngine *spare = NULL;
    SprungRunnerStats stats;
    float peak = 0.0f;
    while (position < FRAMES) {
        uint32_t size = 1 + rng() % (rng() % 4 == 0 ? 8 : MAX_BLOCK);
        /* Control side, outside the section. */
        uint32_t action = calls % 50;
        sprung_runner_set_gain_db(runner, -(double)(rng() % 240) / 10.0);
        if (action == 7)
            sprung_runner_set_mute(runner, 1);
        if (action == 9)
            sprung_runner_set_mute(runner, 0);
        if (action == 11)
            sprung_runner_set_smoothing_ms(runner, 1.0 + rng() % 50);
        if (action == 13)
            sprung_runner_set_limiter(runner, (int)(rng() & 1));
        if (action == 17)
            sprung_runner_set_dc_blocker(runner, (int)(rng() & 1));
        if (action == 19)
            sprung_runner_request_reset(runner, SPRUNG_RESET_TRANSPORT);
        if (action == 23)
            sprung_runner_request_reset(runner, SPRUNG_RESET_USER);
        if (action == 29)
            sprung_runner_testing_inject(runner, NAN, 1);
        if (action == 37)
            sprung_runner_testing_inject(runner, 1000.0f, 2000);
        if (action == 31 || action == 3) {
            if (!spare)
                spare = engine_or_null(model);
            if (spare && sprung_runner_offer_engine(runner, spare)) {
                spare = NULL;
                swaps_offered++;
            }
        }
        for (int e = 0; e < 3; e++) {
            SprungEvent event = {.type = SPRUNG_EVENT_NOTE_ON, .channel = (uint8_t)(rng() % 16),
                                 .note = (uint8_t)(rng() % 128),
                                 .velocity = (uint8_t)(rng() % 128)};
            sprung_runner_send_event(runner, position + rng() % 1000, &event);
        }
        SprungEvent hand[4];
        uint32_t n_hand = 0;
        /* Notes, and now and then the damper or sostenuto pedal (held
         * note-offs, and their release) or All Notes Off, on channel 1. */
        for (uint32_t f = 0; f < size && n_hand < 4; f += 1 + rng() % 97) {
            uint32_t pick = rng() % 9;
            hand[n_hand++] = (SprungEvent){.frame = f,
                                           .type = pick < 5    ? SPRUNG_EVENT_NOTE_ON
                                                   : pick == 5 ? SPRUNG_EVENT_NOTE_OFF
                                                               : SPRUNG_EVENT_CONTROL_CHANGE,
                                           .note = pick == 6   ? 64
                                                   : pick == 7 ? 66
                                                   : pick == 8 ? 123
                                                               : (uint8_t)(rng() % 128),
                                           .velocity = (uint8_t)(1 + rng() % 127)};
            if (pick == 6 || pick == 7)
                hand[n_hand - 1].value = (uint16_t)(rng() % 128);
        }

        __rtsan_realtime_enter();
        SprungStatus status = sprung_runner_process(runner, size, ins, 2, outs, 2, hand, n_hand);
        __rtsan_realtime_exit();
        calls++;
        CHECK(status == SPRUNG_OK, "%s: process failed at frame %u", name, position);
        for (uint32_t i = 0; i < size; i++)
            CHECK(isfinite(g_left[i]) && isfinite(g_right[i]), "%s: non-finite output", name);
        position += size;

        SprungEngine *old;
        while ((old = sprung_runner_take_retired_engine(runner))) {
            sprung_engine_free(old);
            retired++;
        }
        sprung_runner_poll(runner, &stats);
        peak = fmaxf(peak, fmaxf(stats.peak[0], stats.peak[1]));
        SprungBreakerEvent trip;
        while (sprung_runner_next_breaker_event(runner, &trip)) {
        }
    }
    /* A bad block is refused inside the section too, without allocating. */
    SprungEvent unsorted[2] = {{.frame = 5, .type = 1, .note = 60, .velocity = 9},
                               {.frame = 2, .type = 1, .note = 60, .velocity = 9}};
    __rtsan_realtime_enter();
    SprungStatus bad1 = sprung_runner_process(runner, MAX_BLOCK + 1, NULL, 0, outs, 2, NULL, 0);
    SprungStatus bad2 = sprung_runner_process(runner, 16, NULL, 0, outs, 2, unsorted, 2);
    __rtsan_realtime_exit();
    CHECK(bad1 == SPRUNG_ERROR_INVALID_ARGUMENT && bad2 == SPRUNG_ERROR_INVALID_ARGUMENT,
          "%s: bad blocks accepted", name);
    sprung_runner_poll(runner, &stats);
    printf("  %-22s %-6s %4u blocks, %u swaps (%u back), resets %llu+%llu, breaker %llu, peak "
           "%.2f\n",
           name, play_stage ? "play" : "render", calls, swaps_offered, retired,
           (unsigned long long)stats.resets_user, (unsigned long long)stats.resets_transport,
           (unsigned long long)stats.breaker_trips, (double)peak);
    CHECK(swaps_offered >= 2 && retired + 1 >= swaps_offered, "%s: swaps %u, back %u", name,
          swaps_offered, retired);
    CHECK(stats.breaker_trips >= 1, "%s: the breaker was never exercised", name);
    sprung_engine_free(spare);
    sprung_runner_free(runner);
    return calls;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    __rtsan_init();
    const char *dir_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sabotage") && i + 1 < argc) {
            const char *what = argv[++i];
            if (!strcmp(what, "alloc"))
                g_sabotage = SPRUNG_RUNNER_SABOTAGE_ALLOCATE;
            else if (!strcmp(what, "free"))
                g_sabotage = SPRUNG_RUNNER_SABOTAGE_FREE_ON_AUDIO;
            else {
                fprintf(stderr, "unknown sabotage '%s' (alloc, free)\n", what);
                return 2;
            }
        } else {
            dir_path = argv[i];
        }
    }
    if (!dir_path) {
        fprintf(stderr, "usage: %s [--sabotage alloc|free] PRESET_DIR\n", argv[0]);
        return 2;
    }
    if (g_sabotage == SPRUNG_RUNNER_SABOTAGE_ALLOCATE)
        fprintf(stderr, "sabotage: process() allocates inside the real-time section\n");
    if (g_sabotage == SPRUNG_RUNNER_SABOTAGE_FREE_ON_AUDIO)
        fprintf(stderr, "sabotage: swapped-out engines are freed on the audio thread\n");

    DIR *dir = opendir(dir_path);
    if (!dir) {
        fprintf(stderr, "FAIL: cannot open %s\n", dir_path);
        return 1;
    }
    char *names[256];
    size_t n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) && n < 256) {
        size_t len = strlen(entry->d_name);
        if (len > 5 && !strcmp(entry->d_name + len - 5, ".json"))
            names[n++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(names, n, sizeof names[0], compare_names);
    uint32_t calls = 0;
    printf("RealtimeSanitizer: the runner's process() for every preset, under a control "
           "storm\n");
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir_path, names[i]);
        SprungModel *model = NULL;
        SprungError error = {0};
        if (sprung_model_load_file(path, &model, &error) != SPRUNG_OK) {
            CHECK(0, "%s", error.message);
        } else {
            calls += storm(names[i], model, 1);
            calls += storm(names[i], model, 0);
            sprung_model_free(model);
        }
        free(names[i]);
    }
    if (g_sabotage) {
        fprintf(stderr, "FAIL: the sabotage run finished: RealtimeSanitizer caught nothing\n");
        return 1;
    }
    CHECK(n >= 1, "no presets in %s", dir_path);
    if (g_failures) {
        fprintf(stderr, "%d failure(s)\n", g_failures);
        return 1;
    }
    printf("OK: %zu presets, %u real-time process() calls, zero violations\n", n, calls);
    return 0;
}
