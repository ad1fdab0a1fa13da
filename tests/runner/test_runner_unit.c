/* Unit tests of the runner (src/runner), one concern per ctest entry:
 *   spsc      the lock-free queue: wraparound, full/empty, FIFO under two threads
 *   gain      one-pole smoothing reaches 63 % after one time constant at 44.1/48/96 kHz
 *   reset     the reset envelope: no jump, reset at the silent point, fade-in from
 *             the reset state (bit-identical to a fresh engine afterwards)
 *   priority  reset types: a user reset is never downgraded by a transport reset
 *   breaker   NaN/Inf and overload never reach the output; trip reported; recovery
 *   swap      hot-swap crossfade is click-free; old engines come back in order;
 *             a full swap queue refuses and the engine stays the caller's
 *   exact     the runner's output equals sprung_engine_process's, bit for bit,
 *             whether events come as arguments or through the queue
 * Usage: test_runner_unit NAME */
#include <pthread.h>
#include <stdint.h>

#include "runner/spsc.h"
#include "runner/runner_testing.h"
#include "runner_test_util.h"

/* ---- spsc ---- */

enum { FIFO_ITEMS = 2000000 };

static void *fifo_producer(void *arg)
{
    SprungSpsc *q = arg;
    for (uint32_t i = 0; i < FIFO_ITEMS;) {
        uint64_t item = (uint64_t)i * 2654435761u;
        if (sprung_spsc_push(q, &item))
            i++;
    }
    return NULL;
}

static void test_spsc(void)
{
    SprungSpsc q;
    CHECK(sprung_spsc_init(&q, 6, 4) == -1, "capacity 6 accepted");
    CHECK(sprung_spsc_init(&q, 8, sizeof(uint32_t)) == 0, "init");
    uint32_t v = 0, out = 0;
    CHECK(!sprung_spsc_pop(&q, &out), "pop from empty");
    CHECK(sprung_spsc_peek(&q) == NULL, "peek on empty");
    /* Wraparound many times with varying fill levels. */
    uint32_t next_in = 0, next_out = 0;
    for (int round = 0; round < 1000; round++) {
        uint32_t fill = (uint32_t)(round * 7 % 9);
        for (uint32_t i = 0; i < fill; i++) {
            v = next_in;
            int ok = sprung_spsc_push(&q, &v);
            if (next_in - next_out < 8) {
                CHECK(ok, "push with room failed at %u", next_in);
                next_in++;
            } else {
                CHECK(!ok, "push into a full queue succeeded");
            }
        }
        CHECK(sprung_spsc_space(&q) == 8 - (next_in - next_out), "space");
        uint32_t take = (uint32_t)(round * 5 % 7);
        for (uint32_t i = 0; i < take && next_out < next_in; i++) {
            CHECK(sprung_spsc_pop(&q, &out) && out == next_out, "order: got %u want %u", out,
                  next_out);
            next_out++;
        }
    }
    sprung_spsc_free(&q);

    /* Free-running 32-bit indices: start near the wrap of uint32. */
    CHECK(sprung_spsc_init(&q, 4, sizeof(uint32_t)) == 0, "init");
    atomic_store(&q.head, UINT32_MAX - 5);
    atomic_store(&q.tail, UINT32_MAX - 5);
    for (uint32_t i = 0; i < 40; i++) {
        v = i;
        CHECK(sprung_spsc_push(&q, &v), "push across index wrap");
        CHECK(sprung_spsc_pop(&q, &out) && out == i, "pop across index wrap");
    }
    for (uint32_t i = 0; i < 4; i++)
        sprung_spsc_push(&q, &i);
    CHECK(!sprung_spsc_push(&q, &v), "full across index wrap");
    sprung_spsc_free(&q);

    /* Two threads: FIFO order, nothing lost or duplicated. */
    CHECK(sprung_spsc_init(&q, 64, sizeof(uint64_t)) == 0, "init");
    pthread_t producer;
    pthread_create(&producer, NULL, fifo_producer, &q);
    uint64_t item;
    for (uint32_t i = 0; i < FIFO_ITEMS;) {
        if (sprung_spsc_pop(&q, &item)) {
            if (item != (uint64_t)i * 2654435761u) {
                CHECK(0, "two threads: item %u out of order", i);
                break;
            }
            i++;
        }
    }
    pthread_join(producer, NULL);
    CHECK(!sprung_spsc_pop(&q, &item), "extra items");
    sprung_spsc_free(&q);
    printf("spsc: wraparound, full/empty, %u items FIFO across two threads\n", FIFO_ITEMS);
}

/* ---- gain ---- */

static void test_gain(void)
{
    static const double rates[] = {44100.0, 48000.0, 96000.0};
    SprungModel *model = test_model_ringing(440.0, 0.0); /* silent */
    for (int r = 0; r < 3; r++) {
        double rate = rates[r];
        SprungRunnerConfig config = sprung_runner_config_default();
        config.sample_rate = rate;
        config.max_block_frames = 256;
        config.muted = 1;
        config.smoothing_ms = 20.0;
        SprungRunner *runner = test_runner(&config, test_engine(model, rate, 256));
        const float level = 0.5f;
        const uint32_t tau = (uint32_t)lround(0.020 * rate);
        const uint32_t n = 6 * tau;
        float *left = calloc(n, sizeof(float));
        sprung_runner_testing_inject(runner, level, n);
        sprung_runner_set_mute(runner, 0);
        test_run(runner, left, NULL, n, 64);
        /* left[k] = level · g_k with g applied after k+1 smoothing steps. */
        double reached = left[tau - 1] / level;
        double expected = 1.0 - exp(-1.0);
        CHECK(fabs(reached - expected) < 0.01 * expected,
              "%.0f Hz: after one time constant the gain is %.4f (want %.4f ± 1 %%)", rate,
              reached, expected);
        double settled = left[n - 1] / level;
        CHECK(fabs(settled - 1.0) < 0.01, "%.0f Hz: after 6 time constants the gain is %.4f",
              rate, settled);
        float step = test_max_step(left, 0, n);
        CHECK(step < level * 2.0f / (float)tau, "%.0f Hz: a gain step of %g per sample", rate,
              (double)step);
        /* Back to mute: same time constant down. */
        sprung_runner_testing_inject(runner, level, n);
        sprung_runner_set_mute(runner, 1);
        test_run(runner, left, NULL, n, 64);
        double remaining = left[tau - 1] / level;
        CHECK(fabs(remaining - exp(-1.0)) < 0.01 * exp(-1.0),
              "%.0f Hz: muting, after one time constant %.4f remains (want %.4f)", rate,
              remaining, exp(-1.0));
        printf("gain: %.0f Hz: %.4f after one time constant (1 - 1/e = %.4f)\n", rate, reached,
               expected);
        free(left);
        sprung_runner_free(runner);
    }
    sprung_model_free(model);
}

/* ---- reset ---- */

static void test_reset(void)
{
    const double rate = 48000.0;
    const uint32_t block = 64, n = 48000;
    SprungModel *model = test_model_ringing(330.0, 0.5);
    SprungRunnerConfig config = sprung_runner_config_default();
    config.max_block_frames = block;
    config.reset_fade_ms = 5.0;
    SprungRunner *runner = test_runner(&config, test_engine(model, rate, block));
    float *out = calloc(n, sizeof(float)), *fresh = calloc(n, sizeof(float));

    /* Let it ring 0.25 s; ask for the reset; the request is taken at the
     * start of the next block. */
    const uint32_t request_block = 12000 / block;
    test_run(runner, out, NULL, request_block * block, block);
    sprung_runner_request_reset(runner, SPRUNG_RESET_USER);
    test_run(runner, out + request_block * block, NULL, n - request_block * block, block);

    const uint32_t fade = (uint32_t)lround(0.005 * rate);
    const uint32_t reset_frame = request_block * block + fade;
    /* A fresh engine from its initial state: what must come out after the
     * reset point, under the fade-in. */
    SprungRunner *reference = test_runner(&config, test_engine(model, rate, block));
    test_run(reference, fresh, NULL, n - reset_frame, block);

    float natural = test_max_step(out, 0, request_block * block);
    float worst = test_max_step(out, request_block * block - 1, reset_frame + 2 * fade);
    float amplitude = test_peak(out, 0, request_block * block);
    /* A raised-cosine fade over F frames adds at most A·π/(2F) per sample. */
    float bound = natural + amplitude * 3.1416f / (2.0f * fade) * 1.1f;
    CHECK(worst <= bound, "a jump of %g through the reset (natural %g, bound %g)",
          (double)worst, (double)natural, (double)bound);
    CHECK(out[reset_frame] == 0.0f, "the fade-in does not start from silence: %g",
          (double)out[reset_frame]);
    CHECK(fabsf(out[reset_frame - 1]) < amplitude * 1e-3f,
          "not silent just before the reset point: %g", (double)out[reset_frame - 1]);
    /* During the fade-in: envelope × the fresh engine (not stale audio). */
    int mismatched = 0;
    for (uint32_t k = 1; k < fade; k++) {
        float envelope = 0.5f * (1.0f - cosf(3.14159265358979f * k / fade));
        if (fabsf(out[reset_frame + k] - envelope * fresh[k]) > 1e-6f * amplitude + 1e-9f)
            mismatched++;
    }
    CHECK(!mismatched, "%d fade-in samples are not envelope × the reset engine", mismatched);
    /* After it: the fresh engine, bit for bit. */
    CHECK(!memcmp(out + reset_frame + fade, fresh + fade,
                  (n - reset_frame - fade) * sizeof(float)),
          "after the fade-in the output is not the freshly reset engine's");
    SprungRunnerStats stats;
    sprung_runner_poll(runner, &stats);
    CHECK(stats.resets_user == 1 && stats.resets_transport == 0, "resets %llu/%llu",
          (unsigned long long)stats.resets_user, (unsigned long long)stats.resets_transport);
    printf("reset: largest step %.3g through the reset (natural %.3g, bound %.3g); silent "
           "point at frame %u, then the fresh engine bit for bit\n",
           (double)worst, (double)natural, (double)bound, reset_frame);

    /* A note struck during the fade-out is held to the reset point, not lost. */
    SprungModel *quiet = test_model_ringing(330.0, 0.0);
    SprungRunner *noted = test_runner(&config, test_engine(quiet, rate, block));
    sprung_runner_request_reset(noted, SPRUNG_RESET_TRANSPORT);
    SprungEvent note = {.frame = 3, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 100};
    float l[64], r[64];
    float *const outs[2] = {l, r};
    sprung_runner_process(noted, block, NULL, 0, outs, 2, &note, 1);
    float late_peak = 0.0f;
    for (int b = 0; b < 20; b++) {
        sprung_runner_process(noted, block, NULL, 0, outs, 2, NULL, 0);
        late_peak = fmaxf(late_peak, test_peak(l, 0, block));
    }
    CHECK(late_peak > 0.0f, "a note struck during the fade-out was lost");
    sprung_runner_free(noted);
    sprung_model_free(quiet);

    free(out);
    free(fresh);
    sprung_runner_free(runner);
    sprung_runner_free(reference);
    sprung_model_free(model);
}

/* ---- priority ---- */

static void test_priority(void)
{
    SprungModel *model = test_model_ringing(330.0, 0.5);
    SprungRunnerConfig config = sprung_runner_config_default();
    config.max_block_frames = 64;
    SprungRunner *runner = test_runner(&config, test_engine(model, 48000.0, 64));
    SprungRunnerStats stats;

    /* Both in the same block: one reset, a user one. */
    sprung_runner_request_reset(runner, SPRUNG_RESET_TRANSPORT);
    sprung_runner_request_reset(runner, SPRUNG_RESET_USER);
    test_run(runner, NULL, NULL, 4800, 64);
    sprung_runner_poll(runner, &stats);
    CHECK(stats.resets_user == 1 && stats.resets_transport == 0,
          "same block: user %llu transport %llu (want 1, 0)",
          (unsigned long long)stats.resets_user, (unsigned long long)stats.resets_transport);

    /* Transport fade under way, then a user request: upgraded. */
    sprung_runner_request_reset(runner, SPRUNG_RESET_TRANSPORT);
    test_run(runner, NULL, NULL, 64, 64);
    sprung_runner_request_reset(runner, SPRUNG_RESET_USER);
    test_run(runner, NULL, NULL, 4800, 64);
    sprung_runner_poll(runner, &stats);
    CHECK(stats.resets_user == 2 && stats.resets_transport == 0,
          "upgrade: user %llu transport %llu (want 2, 0)",
          (unsigned long long)stats.resets_user, (unsigned long long)stats.resets_transport);

    /* User fade under way, then a transport request: not downgraded, merged. */
    sprung_runner_request_reset(runner, SPRUNG_RESET_USER);
    test_run(runner, NULL, NULL, 64, 64);
    sprung_runner_request_reset(runner, SPRUNG_RESET_TRANSPORT);
    test_run(runner, NULL, NULL, 4800, 64);
    sprung_runner_poll(runner, &stats);
    CHECK(stats.resets_user == 3 && stats.resets_transport == 0,
          "no downgrade: user %llu transport %llu (want 3, 0)",
          (unsigned long long)stats.resets_user, (unsigned long long)stats.resets_transport);

    /* A transport reset alone counts as one. */
    sprung_runner_request_reset(runner, SPRUNG_RESET_TRANSPORT);
    test_run(runner, NULL, NULL, 4800, 64);
    sprung_runner_poll(runner, &stats);
    CHECK(stats.resets_user == 3 && stats.resets_transport == 1,
          "transport alone: user %llu transport %llu (want 3, 1)",
          (unsigned long long)stats.resets_user, (unsigned long long)stats.resets_transport);
    printf("priority: user+transport -> user; transport upgraded by user; user kept over "
           "transport\n");
    sprung_runner_free(runner);
    sprung_model_free(model);
}

/* ---- breaker ---- */

static void check_clean(const char *what, const float *x, uint32_t n, float threshold)
{
    uint32_t bad = 0, over = 0;
    for (uint32_t i = 0; i < n; i++) {
        bad += !isfinite(x[i]);
        over += fabsf(x[i]) > threshold;
    }
    CHECK(!bad, "%s: %u non-finite samples reached the output", what, bad);
    CHECK(!over, "%s: %u samples above the threshold reached the output", what, over);
}

static void test_breaker(void)
{
    const double rate = 48000.0;
    const uint32_t n = 24000, block = 64;
    SprungModel *model = test_model_ringing(330.0, 0.3);
    SprungRunnerConfig config = sprung_runner_config_default();
    config.max_block_frames = block;
    const float threshold = (float)pow(10.0, config.breaker_threshold_db / 20.0);
    float *left = calloc(n, sizeof(float)), *right = calloc(n, sizeof(float));
    static const struct {
        const char *name;
        float value;
        uint32_t count;
        uint32_t reason; /* 0: must not trip */
    } cases[] = {
        {"one NaN", NAN, 1, SPRUNG_BREAKER_NONFINITE},
        {"NaN for 10 ms", NAN, 480, SPRUNG_BREAKER_NONFINITE},
        {"+Inf", INFINITY, 3, SPRUNG_BREAKER_NONFINITE},
        {"+40 dB for 20 ms", 100.0f, 960, SPRUNG_BREAKER_OVERLOAD},
        {"-40 dB for 250 ms", -100.0f, 12000, SPRUNG_BREAKER_OVERLOAD},
        {"+40 dB for 2 ms (shorter than the hold)", 100.0f, 96, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        SprungRunner *runner = test_runner(&config, test_engine(model, rate, block));
        test_run(runner, left, right, 4800, block);
        sprung_runner_testing_inject(runner, cases[c].value, cases[c].count);
        test_run(runner, left, right, n, block);
        check_clean(cases[c].name, left, n, threshold);
        check_clean(cases[c].name, right, n, threshold);
        SprungRunnerStats stats;
        sprung_runner_poll(runner, &stats);
        SprungBreakerEvent event = {0};
        int reported = sprung_runner_next_breaker_event(runner, &event);
        if (cases[c].reason) {
            CHECK(stats.breaker_trips >= 1 && reported && event.reason == cases[c].reason,
                  "%s: trips %llu, event %d reason %u", cases[c].name,
                  (unsigned long long)stats.breaker_trips, reported, event.reason);
            CHECK(event.frame >= 4800 && event.frame < 4800 + 48000 + 480,
                  "%s: event at frame %llu", cases[c].name, (unsigned long long)event.frame);
        } else {
            CHECK(stats.breaker_trips == 0 && !reported, "%s: tripped", cases[c].name);
        }
        /* Recovery: the last quarter second sounds again (the reset engine
         * rings from its initial velocity). */
        float tail = test_peak(left, n - 12000, n);
        CHECK(tail > 0.1f, "%s: no sound after recovery (peak %g)", cases[c].name,
              (double)tail);
        printf("breaker: %-40s trips %llu, output finite and within %+.0f dBFS, recovered "
               "(peak %.2f)\n",
               cases[c].name, (unsigned long long)stats.breaker_trips, config.breaker_threshold_db,
               (double)tail);
        sprung_runner_free(runner);
    }
    free(left);
    free(right);
    sprung_model_free(model);
}

/* ---- swap ---- */

static void test_swap(void)
{
    const double rate = 48000.0;
    const uint32_t block = 64, n = 48000;
    SprungModel *a = test_model_ringing(220.0, 0.5), *b = test_model_ringing(523.0, 0.4);
    SprungRunnerConfig config = sprung_runner_config_default();
    config.max_block_frames = block;
    config.crossfade_ms = 30.0;
    SprungEngine *first = test_engine(a, rate, block);
    SprungRunner *runner = test_runner(&config, first);
    float *out = calloc(n, sizeof(float));
    const uint32_t swap_at = 9600;
    test_run(runner, out, NULL, swap_at, block);
    SprungEngine *second = test_engine(b, rate, block);
    CHECK(sprung_runner_offer_engine(runner, second), "offer refused");
    test_run(runner, out + swap_at, NULL, n - swap_at, block);
    const uint32_t fade = (uint32_t)lround(0.030 * rate);

    float natural_a = test_max_step(out, 0, swap_at);
    float natural_b = test_max_step(out, swap_at + fade + 1, n);
    float amplitude = fmaxf(test_peak(out, 0, swap_at), test_peak(out, swap_at + fade, n));
    float worst = test_max_step(out, swap_at - 1, swap_at + fade + 2);
    float bound = fmaxf(natural_a, natural_b) + 2.0f * amplitude * 3.1416f / (2.0f * fade) * 1.1f;
    CHECK(worst <= bound, "crossfade step %g (bound %g)", (double)worst, (double)bound);
    SprungEngine *retired = sprung_runner_take_retired_engine(runner);
    CHECK(retired == first, "the old engine did not come back (%p, want %p)", (void *)retired,
          (void *)first);
    CHECK(sprung_runner_take_retired_engine(runner) == NULL, "a second engine came back");
    sprung_engine_free(retired);
    SprungRunnerStats stats;
    sprung_runner_poll(runner, &stats);
    CHECK(stats.swaps == 1, "swaps %llu", (unsigned long long)stats.swaps);
    printf("swap: largest step %.3g through the %u-frame crossfade (natural %.3g/%.3g, bound "
           "%.3g); old engine returned\n",
           (double)worst, fade, (double)natural_a, (double)natural_b, (double)bound);

    /* A full queue refuses without taking the engine; all come back in order. */
    SprungEngine *queued[5];
    for (int i = 0; i < 5; i++)
        queued[i] = test_engine(i % 2 ? a : b, rate, block);
    int accepted = 0;
    for (int i = 0; i < 5; i++)
        accepted += sprung_runner_offer_engine(runner, queued[i]);
    CHECK(accepted == (int)config.engine_queue_capacity, "%d of 5 accepted (capacity %u)",
          accepted, config.engine_queue_capacity);
    test_run(runner, NULL, NULL, 5 * fade + 5 * block, block);
    SprungEngine *back[8];
    int n_back = 0;
    while (n_back < 8 && (back[n_back] = sprung_runner_take_retired_engine(runner)))
        n_back++;
    CHECK(n_back == accepted, "%d engines came back (want %d)", n_back, accepted);
    if (n_back == accepted) {
        CHECK(back[0] == second, "first back is not the previous engine");
        for (int i = 1; i < n_back; i++)
            CHECK(back[i] == queued[i - 1], "engine %d came back out of order", i);
    }
    for (int i = 0; i < n_back; i++)
        sprung_engine_free(back[i]);
    sprung_engine_free(queued[4]); /* refused: still ours */
    sprung_runner_free(runner);    /* frees queued[3], now playing */
    free(out);
    sprung_model_free(a);
    sprung_model_free(b);
}

/* ---- exact ---- */

static void test_exact(void)
{
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_file(SPRUNG_TEST_PRESET_DIR "/marimba.json", &model, &error)) {
        fprintf(stderr, "%s\n", error.message);
        exit(2);
    }
    const uint32_t n = 24000;
    static const uint32_t blocks[] = {1, 64, 100, 256};
    SprungEvent notes[6];
    for (int i = 0; i < 6; i++)
        notes[i] = (SprungEvent){.frame = 100 + 3001u * i, .type = SPRUNG_EVENT_NOTE_ON,
                                 .note = (uint8_t)(60 + 2 * i), .velocity = (uint8_t)(40 + 15 * i)};
    float *want_l = calloc(n, 4), *want_r = calloc(n, 4), *got_l = calloc(n, 4),
          *got_r = calloc(n, 4);
    for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
        uint32_t block = blocks[bi];
        for (int queued = 0; queued < 2; queued++) {
            SprungEngine *plain = test_engine(model, 48000.0, block);
            SprungRunnerConfig config = sprung_runner_config_default();
            config.max_block_frames = block;
            SprungRunner *runner = test_runner(&config, test_engine(model, 48000.0, block));
            if (queued)
                for (int i = 0; i < 6; i++)
                    sprung_runner_send_event(runner, notes[i].frame, &notes[i]);
            uint32_t next = 0;
            for (uint32_t pos = 0; pos < n; pos += block) {
                uint32_t len = n - pos < block ? n - pos : block;
                SprungEvent ev[6];
                uint32_t k = 0;
                for (uint32_t i = next; i < 6 && notes[i].frame < pos + len; i++, next++) {
                    ev[k] = notes[i];
                    ev[k++].frame -= pos;
                }
                float *wo[2] = {want_l + pos, want_r + pos}, *go[2] = {got_l + pos, got_r + pos};
                SprungBlock b = {.n_frames = len, .events = ev, .n_events = k, .outputs = wo,
                                 .n_outputs = 2};
                sprung_engine_process(plain, &b);
                sprung_runner_process(runner, len, NULL, 0, go, 2, queued ? NULL : ev,
                                      queued ? 0 : k);
            }
            CHECK(!memcmp(want_l, got_l, n * 4) && !memcmp(want_r, got_r, n * 4),
                  "block %u, events %s: the runner's output differs from the engine's", block,
                  queued ? "queued" : "as arguments");
            CHECK(test_peak(got_l, 0, n) > 0.0f, "silent");
            sprung_engine_free(plain);
            sprung_runner_free(runner);
        }
    }
    printf("exact: runner output == engine output, bit for bit, blocks 1/64/100/256, events "
           "as arguments and queued at their frames\n");
    free(want_l);
    free(want_r);
    free(got_l);
    free(got_r);
    sprung_model_free(model);
}

int main(int argc, char **argv)
{
    static const struct { const char *name; void (*run)(void); } tests[] = {
        {"spsc", test_spsc},         {"gain", test_gain},   {"reset", test_reset},
        {"priority", test_priority}, {"breaker", test_breaker}, {"swap", test_swap},
        {"exact", test_exact},
    };
    if (argc != 2) {
        fprintf(stderr, "usage: %s spsc|gain|reset|priority|breaker|swap|exact\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!strcmp(argv[1], tests[i].name)) {
            tests[i].run();
            if (g_failures) {
                fprintf(stderr, "%d failure(s)\n", g_failures);
                return 1;
            }
            printf("OK\n");
            return 0;
        }
    }
    fprintf(stderr, "unknown test '%s'\n", argv[1]);
    return 2;
}
