/* ThreadSanitizer stress test of the runner's thread protocol: an audio
 * thread calls sprung_runner_process back to back while a control thread
 * hammers it for a few seconds with events, parameter changes, resets,
 * engine swaps (taking the old engines back and freeing them), breaker
 * injections and telemetry polls. This executable is built with
 * -fsanitize=thread together with its own copy of the library sources, so
 * every access of the queues, flags and engines is seen. A clean run has
 * no report (TSan exits 66 on any) and consistent counts.
 *
 * --sabotage: the queues publish with a relaxed store (and resets with a
 * relaxed OR): the item written before it no longer happens-before the
 * consumer's read, and TSan must report a data race.
 * Usage: test_runner_tsan [--sabotage] [SECONDS] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "runner/runner_testing.h"
#include "runner_test_util.h"

enum { BLOCK = 64 };

static SprungRunner *g_runner;
static SprungModel *g_models[2];
static atomic_int g_stop;
static _Atomic uint64_t g_audio_blocks;

static void *audio_thread(void *arg)
{
    (void)arg;
    float left[BLOCK], right[BLOCK];
    float *const outs[2] = {left, right};
    uint32_t k = 0;
    while (!atomic_load_explicit(&g_stop, memory_order_acquire)) {
        SprungEvent hand = {.frame = k % BLOCK, .type = SPRUNG_EVENT_NOTE_ON,
                            .note = (uint8_t)(k % 128), .velocity = 90};
        uint32_t size = 1 + (k * 37u) % BLOCK;
        if (hand.frame >= size)
            hand.frame = size - 1;
        sprung_runner_process(g_runner, size, NULL, 0, outs, 2, &hand, k % 3 == 0);
        atomic_fetch_add_explicit(&g_audio_blocks, 1, memory_order_relaxed);
        k++;
    }
    return NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int sabotage = 0;
    double seconds = 3.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sabotage"))
            sabotage = 1;
        else
            seconds = atof(argv[i]);
    }
    g_models[0] = test_model_ringing(220.0, 0.5);
    g_models[1] = test_model_ringing(330.0, 0.5);
    SprungRunnerConfig config = sprung_runner_config_default();
    config.max_block_frames = BLOCK;
    config.crossfade_ms = 2.0;
    config.reset_fade_ms = 1.0;
    config.telemetry_capacity = 256;
    config.event_queue_capacity = 64;
    config.parameter_queue_capacity = 16;
    g_runner = test_runner(&config, test_engine(g_models[0], 48000.0, BLOCK));
    if (sabotage) {
        sprung_runner_testing_sabotage(g_runner, SPRUNG_RUNNER_SABOTAGE_RELAXED_PUBLISH);
        fprintf(stderr, "sabotage: the queues publish with relaxed stores\n");
    }

    pthread_t audio;
    if (pthread_create(&audio, NULL, audio_thread, NULL)) {
        fprintf(stderr, "cannot start the audio thread\n");
        return 2;
    }
    uint64_t events = 0, parameters = 0, resets = 0, offered = 0, refused = 0, retired = 0,
             polls = 0, trips_read = 0;
    SprungEngine *spare = NULL;
    SprungRunnerStats stats;
    const double end = now_seconds() + seconds;
    for (uint32_t i = 0; now_seconds() < end; i++) {
        SprungEvent event = {.type = SPRUNG_EVENT_NOTE_ON, .note = (uint8_t)(i % 128),
                             .velocity = (uint8_t)(1 + i % 127)};
        events += sprung_runner_send_event(g_runner, 0, &event);
        parameters += sprung_runner_set_gain_db(g_runner, -(double)(i % 30));
        if (i % 7 == 0)
            parameters += sprung_runner_set_mute(g_runner, (i / 7) % 2);
        if (i % 11 == 0)
            parameters += sprung_runner_set_smoothing_ms(g_runner, 1.0 + i % 40);
        if (i % 13 == 0) {
            sprung_runner_request_reset(g_runner, (i / 13) % 2 ? SPRUNG_RESET_USER
                                                               : SPRUNG_RESET_TRANSPORT);
            resets++;
        }
        if (i % 101 == 0)
            parameters += sprung_runner_testing_inject(g_runner, NAN, 1);
        if (i % 5 == 0) {
            if (!spare)
                spare = test_engine(g_models[i % 2], 48000.0, BLOCK);
            if (sprung_runner_offer_engine(g_runner, spare)) {
                spare = NULL;
                offered++;
            } else {
                refused++;
            }
        }
        SprungEngine *old;
        while ((old = sprung_runner_take_retired_engine(g_runner))) {
            sprung_engine_free(old);
            retired++;
        }
        sprung_runner_poll(g_runner, &stats);
        polls++;
        SprungBreakerEvent trip;
        while (sprung_runner_next_breaker_event(g_runner, &trip))
            trips_read++;
    }
    atomic_store_explicit(&g_stop, 1, memory_order_release);
    pthread_join(audio, NULL);
    SprungEngine *old;
    while ((old = sprung_runner_take_retired_engine(g_runner))) {
        sprung_engine_free(old);
        retired++;
    }
    sprung_runner_poll(g_runner, &stats);
    printf("%.1f s: %llu audio blocks; control sent %llu events, %llu parameters, %llu resets, "
           "%llu engines (%llu refused: queue full), took back %llu, %llu polls, %llu breaker "
           "events\n",
           seconds, (unsigned long long)atomic_load(&g_audio_blocks), (unsigned long long)events,
           (unsigned long long)parameters, (unsigned long long)resets,
           (unsigned long long)offered, (unsigned long long)refused,
           (unsigned long long)retired, (unsigned long long)polls,
           (unsigned long long)trips_read);
    printf("audio side: swaps %llu, resets %llu user + %llu transport, breaker %llu, "
           "telemetry dropped %llu\n",
           (unsigned long long)stats.swaps, (unsigned long long)stats.resets_user,
           (unsigned long long)stats.resets_transport, (unsigned long long)stats.breaker_trips,
           (unsigned long long)stats.telemetry_dropped);
    CHECK(atomic_load(&g_audio_blocks) > 1000, "the audio thread barely ran");
    CHECK(offered >= 100, "only %llu swaps offered", (unsigned long long)offered);
    /* Each swapped-in engine retires the one before it; the swaps not yet
     * taken (queued or crossfading) stay inside and runner_free frees them. */
    CHECK(retired + 1 >= stats.swaps,
          "swaps %llu but %llu engines came back", (unsigned long long)stats.swaps,
          (unsigned long long)retired);
    CHECK(retired <= stats.swaps, "more engines came back (%llu) than were swapped in (%llu)",
          (unsigned long long)retired, (unsigned long long)stats.swaps);
    CHECK(stats.swaps <= offered, "more swaps than offers");
    CHECK(stats.resets_user + stats.resets_transport >= 10, "resets never happened");
    sprung_engine_free(spare);
    sprung_runner_free(g_runner);
    sprung_model_free(g_models[0]);
    sprung_model_free(g_models[1]);
    if (sabotage) {
        /* Reaching the end is fine: TSan reports at exit (status 66). */
        fprintf(stderr, "sabotage run finished; ThreadSanitizer must have reported a race\n");
    }
    if (g_failures) {
        fprintf(stderr, "%d failure(s)\n", g_failures);
        return 1;
    }
    printf("OK\n");
    return 0;
}
