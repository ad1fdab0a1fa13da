/* Engine-level tests of instanced mode (src/engine/engine_voices.c)
 * through the public API, one part per ctest entry:
 *   octave    note root+12 sounds at the warp prediction (≈ 2× the root)
 *   mpe       a member-channel bend moves one voice's pitch only
 *   order     stealing order: a free voice first, then the one released
 *             longest ago, then the oldest held note
 *   free      a released voice gone silent is freed and taken first
 *   steal     a stolen voice fades out without a click (bounded
 *             sample-to-sample step), then restarts; --sabotage shortens
 *             the fade to 0.1 ms, which this test must catch
 *   unstable  a preset whose highest note is unstable is refused naming
 *             the highest stable note
 *   blocks    voices + MPE bends + per-voice modulation + stealing render
 *             the same bits for block sizes 1, 7, 64, 512, 4096
 *   root      a voice at the root note plays the singleton network
 *   zones     an upper zone made by an MPE Configuration Message: the
 *             master bend moves the zone, a member bend one note
 *   pressure  a member channel's pressure reaches its note's voice only
 *   oscillator  a note-following oscillator plays its note and its bend
 *   blocks2   blocks, at oversampling 2
 *   pool      the voices on a worker pool of 2 threads render the same
 *             bits as on one (--sabotage: a racy pool, for the
 *             ThreadSanitizer build, which must report it)
 *   batch B   (not in "all") on backend B, which steps every voice in one
 *             launch (engine_voices_batch.c: opencl, cuda), the same bits
 *             as the reference for block sizes 1 to 4096, oversampling 1
 *             and 2: the blocks scenario, and a voice freed after 200 ms of
 *             silence whose next note comes in the same block; exit 77
 *             when B cannot run here
 *   batch_cpu (not in "all") batch B on the test's own batch backend, the
 *             CPU reference behind create_voices/advance_voices
 *             (cpu_batch_backend.h), installed with
 *             sprung_engine_testing_factory: the batch planner
 *             without a GPU (and, here only, routes on an anchor's position
 *             and a note-following oscillator under bends: per-frame state
 *             writes), and in the RealtimeSanitizer build in real-time
 *             sections; --sabotage makes its advance_voices allocate, which
 *             that build must catch
 * Built plain and with the RealtimeSanitizer runtime: every
 * sprung_engine_process call then runs in a real-time section. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_batch_backend.h"
#include "engine/engine_internal.h"
#include "engine/engine_voices.h"
#include "engine/voice_allocator.h"
#include "util/worker_pool.h"
#include "sprung/sprung.h"
#include "../modulation/rt_section.h"


#define PI 3.14159265358979323846
#define RATE 48000.0

/* One body on a spring to an anchor, tuned to `hz` at the engine rate's
 * discrete map (so the root sounds exactly at hz), struck by a mallet. */
static char *preset(double hz, const char *extra)
{
    double dt = 1.0 / RATE, mass = 0.001;
    double lambda = pow(2.0 * sin(PI * hz * dt) / dt, 2);
    static char json[8192];
    snprintf(json, sizeof json,
             "{ \"sprung\": 1, \"name\": \"voice-test\",\n"
             "  \"bodies\": [ {\"id\": \"b\", \"position\": [0, 0, 0], \"mass\": %.17g} ],\n"
             "  \"anchors\": [ {\"id\": \"a\", \"position\": [0, 0, 0.1]} ],\n"
             "  \"springs\": [ {\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": %.17g,"
             " \"rest_length\": 0} ],\n"
             "  \"mallets\": [ {\"id\": \"m\", \"target\": \"b\", \"direction\": [0, 0, 1],"
             " \"strength\": 0.001} ],\n"
             "  \"microphones\": [ {\"id\": \"mic\", \"target\": \"b\", \"axis\": [0, 0, 1],"
             " \"gain\": 1000} ]%s }\n",
             mass, lambda * mass, extra);
    return json;
}

static uint32_t oversampling = 1;
static const char *backend = "cpu"; /* SprungEngineConfig.backend of make_engine */
static int worker_priority = 0; /* SprungEngineConfig.worker_priority of make_engine */

static SprungEngine *make_engine(const char *json, uint32_t max_block, SprungError *error)
{
    SprungModel *model = NULL;
    SprungError local;
    if (!error)
        error = &local;
    CHECK(sprung_model_load_string(json, "voice-test", &model, error) == SPRUNG_OK, "%s",
          error->message);
    SprungEngineConfig config = sprung_engine_config_default();
    config.max_block_frames = max_block;
    config.oversampling = oversampling;
    config.worker_priority = worker_priority;
    config.backend = backend;
    SprungEngine *engine = NULL;
    SprungStatus status = sprung_engine_new(&config, model, &engine, error);
    sprung_model_free(model);
    return status == SPRUNG_OK ? engine : NULL;
}

/* Goertzel power of x[0..n) at frequency f, its mean removed first (the
 * test network swings about an offset: its spring has rest length 0). */
static double power_at(const float *x, uint32_t n, double f)
{
    double mean = 0;
    for (uint32_t k = 0; k < n; ++k)
        mean += x[k];
    mean /= n;
    double w = 2 * PI * f / RATE, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (uint32_t k = 0; k < n; ++k) {
        double s0 = (x[k] - mean) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/* Frequency by counting upward zero crossings with linear interpolation. */
static double frequency_of(const float *x, uint32_t first, uint32_t n)
{
    double t0 = -1, t1 = -1;
    uint32_t crossings = 0;
    for (uint32_t k = first + 1; k < first + n; ++k) {
        if (x[k - 1] < 0 && x[k] >= 0) {
            double t = (k - 1) + x[k - 1] / (x[k - 1] - x[k]);
            if (t0 < 0)
                t0 = t;
            t1 = t;
            crossings++;
        }
    }
    return crossings > 1 ? (crossings - 1) * RATE / (t1 - t0) : 0;
}

enum { N = 3 * 48000 };
static float left_a[N], right_a[N], left_b[N], right_b[N];

/* Instanced with MPE and per-voice modulation: an envelope (per note) on
 * the microphone gain, a free LFO (shared) on the spring damping. */
static const char *instanced_extra =
    ",\n \"voices\": {\"count\": 4, \"root\": 60, \"notes\": [36, 84]},\n"
    " \"mpe\": {\"lower\": 15},\n"
    " \"sources\": [{\"id\": \"env\", \"type\": \"envelope\", \"attack_ms\": 2, "
    "\"release_ms\": 50},\n {\"id\": \"wob\", \"type\": \"lfo\", \"rate_hz\": 3}],\n"
    " \"routes\": [{\"source\": \"env\", \"target\": \"mic\", \"parameter\": \"gain\", "
    "\"range\": [0, 1000]},\n {\"source\": \"wob\", \"target\": \"s\", \"parameter\": "
    "\"damping\", \"range\": [0, 0.0001], \"offset\": 0.5, \"amount\": 0.5}]";

/* Five notes on four voices (a steal at 9700), member-channel and master
 * bends, pressure, a restrike: for instanced_extra. */
static const SprungEvent scenario[] = {
    {.frame = 10, .type = SPRUNG_EVENT_NOTE_ON, .channel = 1, .note = 60, .velocity = 100},
    {.frame = 3000, .type = SPRUNG_EVENT_NOTE_ON, .channel = 2, .note = 67, .velocity = 90},
    {.frame = 5001, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 2, .value = 12000},
    {.frame = 5002, .type = SPRUNG_EVENT_CHANNEL_PRESSURE, .channel = 2, .value = 90},
    {.frame = 7000, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 0, .value = 3000},
    {.frame = 9000, .type = SPRUNG_EVENT_NOTE_OFF, .channel = 1, .note = 60},
    {.frame = 9500, .type = SPRUNG_EVENT_NOTE_ON, .channel = 3, .note = 72, .velocity = 100},
    {.frame = 9600, .type = SPRUNG_EVENT_NOTE_ON, .channel = 4, .note = 74, .velocity = 100},
    {.frame = 9700, .type = SPRUNG_EVENT_NOTE_ON, .channel = 5, .note = 76, .velocity = 100},
    {.frame = 9701, .type = SPRUNG_EVENT_NOTE_ON, .channel = 2, .note = 67, .velocity = 50},
    {.frame = 15000, .type = SPRUNG_EVENT_NOTE_ON, .channel = 6, .note = 48, .velocity = 110},
    {.frame = 15001, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 6, .value = 0},
};
#define N_SCENARIO (uint32_t)(sizeof scenario / sizeof scenario[0])

static void test_blocks(void)
{
    static const uint32_t sizes[] = {1, 7, 64, 512, 4096};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        SprungEngine *engine = make_engine(preset(440, instanced_extra), 4096, NULL);
        rt_render(engine, scenario, N_SCENARIO, 24000, sizes[s], s ? left_b : left_a,
               s ? right_b : right_a);
        if (s) {
            CHECK(!memcmp(left_a, left_b, 24000 * sizeof(float)) &&
                      !memcmp(right_a, right_b, 24000 * sizeof(float)),
                  "block size %u differs from block size 1", sizes[s]);
        } else {
            double peak = 0;
            for (uint32_t k = 0; k < 24000; ++k)
                peak = fmax(peak, fabs(left_a[k]));
            CHECK(peak > 1e-3 && isfinite(peak), "nothing sounds (peak %g)", peak);
        }
        sprung_engine_free(engine);
    }
    printf("blocks: ok (1, 7, 64, 512, 4096 bit-identical with voices, bends, pressure, a "
           "steal and a restrike, oversampling %u)\n", oversampling);
}

/* The voices stepped on a worker pool (SPRUNG_VOICE_THREADS=2: the
 * engine's voices_step_task on two threads) render the same bits as one
 * after another: the blocks scenario in blocks of 64. --sabotage gives the
 * pool relaxed hand-over and completion, a race the ThreadSanitizer build
 * of this test must report. */
static void test_pool(int sabotage)
{
    setenv("SPRUNG_VOICE_THREADS", "1", 1);
    SprungEngine *serial = make_engine(preset(440, instanced_extra), 4096, NULL);
    CHECK(serial && sprung_engine_voices_threads(sprung_engine_voices_of(serial)) == 1,
          "SPRUNG_VOICE_THREADS=1 still made a pool");
    rt_render(serial, scenario, N_SCENARIO, 24000, 64, left_a, right_a);
    sprung_engine_free(serial);

    setenv("SPRUNG_VOICE_THREADS", "2", 1);
    if (sabotage)
        fprintf(stderr, "sabotage: the voices' pool hands over with relaxed atomics\n");
    sprung_engine_voices_testing_pool_sabotage(sabotage ? SPRUNG_WORKER_POOL_SABOTAGE_RELAXED
                                                        : SPRUNG_WORKER_POOL_CORRECT);
    worker_priority = 1; /* the lowest real-time priority, to see it arrive */
    SprungEngine *pooled = make_engine(preset(440, instanced_extra), 4096, NULL);
    worker_priority = 0;
    sprung_engine_voices_testing_pool_sabotage(SPRUNG_WORKER_POOL_CORRECT);
    unsetenv("SPRUNG_VOICE_THREADS");
    const SprungEngineVoices *voices = sprung_engine_voices_of(pooled);
    CHECK(pooled && sprung_engine_voices_threads(voices) == 2,
          "SPRUNG_VOICE_THREADS=2 made no pool of 2 threads");
    /* root may set it (as the audio group may, through RLIMIT_RTPRIO). */
    int priority = sprung_engine_voices_worker_priority(voices);
    CHECK(geteuid() != 0 || priority == 1, "worker_priority 1 did not reach the workers (%d)",
          priority);
    rt_render(pooled, scenario, N_SCENARIO, 24000, 64, left_b, right_b);
    sprung_engine_free(pooled);
    CHECK(!memcmp(left_a, left_b, 24000 * sizeof(float)) &&
              !memcmp(right_a, right_b, 24000 * sizeof(float)),
          "the voices on 2 threads differ from the voices on 1");
    printf("pool: ok (4 voices on 2 threads at SCHED_FIFO priority %d: the same bits as on "
           "1)\n", priority);
}

/* Zones set at run time by MPE Configuration Messages: an upper zone of 3
 * members (channels 15, 14, 13; master 16). The master's bend moves every
 * note of the zone, a member's bend only its own. */
static void test_zones(void)
{
    SprungEngine *engine = make_engine(
        preset(220, ",\n \"voices\": {\"count\": 4, \"root\": 60, \"notes\": [36, 84]}"),
        4096, NULL);
    SprungEvent events[] = {
        {.frame = 0, .type = SPRUNG_EVENT_CONTROL_CHANGE, .channel = 15, .note = 101, .value = 0},
        {.frame = 0, .type = SPRUNG_EVENT_CONTROL_CHANGE, .channel = 15, .note = 100, .value = 6},
        {.frame = 0, .type = SPRUNG_EVENT_CONTROL_CHANGE, .channel = 15, .note = 6, .value = 3},
        {.frame = 1, .type = SPRUNG_EVENT_NOTE_ON, .channel = 14, .note = 60, .velocity = 100},
        {.frame = 1, .type = SPRUNG_EVENT_NOTE_ON, .channel = 13, .note = 64, .velocity = 100},
        {.frame = 100, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 15, .value = 12288},
    };
    rt_render(engine, events, 6, 4800, 256, left_a, right_a);
    const SprungEngineVoices *voices = sprung_engine_voices_of(engine);
    double a = sprung_engine_voices_time_scale(voices, 0);
    double b = sprung_engine_voices_time_scale(voices, 1);
    /* Master range 2: 12288 is +0.5 of the range, +1 semitone. */
    CHECK(fabs(a - pow(2, 1 / 12.0)) < 1e-6 && fabs(b - pow(2, 5 / 12.0)) < 1e-6,
          "master bend: scales %.6f %.6f", a, b);
    SprungEvent member[] = {
        {.frame = 0, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 13, .value = 8192 + 1024}};
    rt_render(engine, member, 1, 4800, 256, left_a, right_a);
    a = sprung_engine_voices_time_scale(voices, 0);
    b = sprung_engine_voices_time_scale(voices, 1);
    /* Member range 48: +1024/8192 of it is +6 semitones, on channel 14 only. */
    CHECK(fabs(a - pow(2, 1 / 12.0)) < 1e-6 && fabs(b - pow(2, 11 / 12.0)) < 1e-6,
          "member bend: scales %.6f %.6f", a, b);
    sprung_engine_free(engine);
    printf("zones: ok (an upper zone by MCM; master bend moves both notes, member bend one)\n");
}

/* A note-following oscillator plays its note's pitch in every voice and
 * follows that note's bend: its phase increment is the root's times the
 * voice's time scale, 440·2^((note + bend − 69)/12)/fs. */
static void test_oscillator(void)
{
    SprungEngine *engine = make_engine(
        preset(220, ",\n \"oscillators\": [{\"id\": \"o\", \"target\": \"b\", \"direction\": "
                    "[0, 0, 1], \"waveform\": \"saw\", \"amplitude\": 0.01}],\n"
                    " \"voices\": {\"count\": 2, \"root\": 60, \"notes\": [36, 84]},\n"
                    " \"mpe\": {\"lower\": 15}"),
        4096, NULL);
    SprungEvent events[] = {
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .channel = 1, .note = 60, .velocity = 100},
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .channel = 2, .note = 67, .velocity = 100},
        {.frame = 100, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 1, .value = 8192 + 2048},
    };
    rt_render(engine, events, 3, 4800, 256, left_a, right_a);
    const SprungEngineVoices *voices = sprung_engine_voices_of(engine);
    double bent = sprung_engine_voices_state(voices, 0)->exciter_increment[0];
    double other = sprung_engine_voices_state(voices, 1)->exciter_increment[0];
    double want_bent = 440.0 * pow(2, (72 - 69) / 12.0) / RATE;
    double want_other = 440.0 * pow(2, (67 - 69) / 12.0) / RATE;
    CHECK(fabs(bent / want_bent - 1) < 1e-6 && fabs(other / want_other - 1) < 1e-6,
          "increments %.9g %.9g, expected %.9g %.9g", bent, other, want_bent, want_other);
    sprung_engine_free(engine);
    printf("oscillator: ok (note 60 bent +12 plays C5's increment, note 67 unmoved)\n");
}

/* Pressure on one member channel reaches that note's voice only: the
 * microphone gain follows each note's own pressure. */
static void test_pressure(void)
{
    const double f0 = 220.0, f4 = 220.0 * pow(2, 4 / 12.0);
    SprungEngine *engine = make_engine(
        preset(f0, ",\n \"voices\": {\"count\": 4, \"root\": 60, \"notes\": [36, 84]},\n"
                   " \"mpe\": {\"lower\": 15},\n"
                   " \"sources\": [{\"id\": \"p\", \"type\": \"midi\", \"control\": "
                   "\"channel_pressure\"}],\n"
                   " \"routes\": [{\"source\": \"p\", \"target\": \"mic\", \"parameter\": "
                   "\"gain\", \"range\": [0, 1000], \"smoothing_ms\": 1}]"),
        4096, NULL);
    SprungEvent events[] = {
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .channel = 1, .note = 60, .velocity = 100},
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .channel = 2, .note = 64, .velocity = 100},
        {.frame = 0, .type = SPRUNG_EVENT_CHANNEL_PRESSURE, .channel = 2, .value = 127},
    };
    rt_render(engine, events, 3, 24000, 256, left_a, right_a);
    double heard_64 = power_at(left_a + 4800, 19200, f4);
    double heard_60 = power_at(left_a + 4800, 19200, f0);
    CHECK(heard_64 > 0 && heard_60 < 1e-3 * heard_64,
          "pressure on channel 3 leaked to the note on channel 2 (power %g at its pitch, %g at "
          "the pressed note's)", heard_60, heard_64);
    sprung_engine_free(engine);
    printf("pressure: ok (only the pressed note is heard: power %.3g at its pitch, %.3g at the "
           "other's, window leakage)\n", heard_64, heard_60);
}

/* Note root + 12: the voice steps with 2·dt. The one mode (tuned so the
 * root sounds exactly at f0 = 440 Hz) then sounds at the warp prediction
 * asin(½·√λ·2dt)/(π·dt) = 880.36 Hz: a ratio of 2.0008, not exactly 2. The
 * zero-crossing estimate over 0.9 s must land within 0.05 Hz of it. */
static void test_octave(void)
{
    const double f0 = 440.0, dt = 1 / RATE;
    double lambda = pow(2.0 * sin(PI * f0 * dt) / dt, 2);
    double predicted = asin(0.5 * sqrt(lambda) * dt * 2.0) / (PI * dt);
    SprungEngine *engine =
        make_engine(
            preset(f0, ",\n \"voices\": {\"count\": 4, \"root\": 60, \"notes\": [36, 84]}"),
            4096, NULL);
    SprungEvent events[] = {
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .channel = 0, .note = 72, .velocity = 100}};
    rt_render(engine, events, 1, 48000, 512, left_a, right_a);
    double measured = frequency_of(left_a, 4800, 43000);
    CHECK(fabs(measured - predicted) < 0.05, "octave: %.4f Hz, predicted %.4f", measured,
          predicted);
    CHECK(fabs(predicted / (2 * f0) - 1) < 1e-3, "prediction %.4f is not ~2x", predicted / f0);
    /* And the root itself sounds at f0 (the network's own tuning). */
    sprung_engine_reset(engine);
    events[0].note = 60;
    rt_render(engine, events, 1, 48000, 512, left_a, right_a);
    double root = frequency_of(left_a, 4800, 43000);
    CHECK(fabs(root - f0) < 0.05, "root: %.4f Hz, expected %.1f", root, f0);
    sprung_engine_free(engine);
    printf("octave: ok (note 72: %.4f Hz, prediction %.4f = %.5f x f0, tolerance 0.05 Hz; "
           "note 60: %.4f Hz)\n",
           measured, predicted, predicted / f0, root);
}

static void test_mpe(void)
{
    const double f0 = 220.0;
    SprungEngine *engine = make_engine(preset(f0, instanced_extra), 4096, NULL);
    /* Note 60 on member channel 2 (index 1), note 67 on channel 3 (index
     * 2); a +12 semitone bend on channel 2 only (range 48: 8192 + 2048). */
    SprungEvent events[] = {
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .channel = 1, .note = 60, .velocity = 100},
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .channel = 2, .note = 67, .velocity = 100},
        {.frame = 24000, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 1, .value = 8192 + 2048},
    };
    rt_render(engine, events, 3, 72000, 256, left_a, right_a);
    double f67 = f0 * pow(2, 7 / 12.0);
    double before_60 = power_at(left_a + 4800, 19200, f0);
    double after_60 = power_at(left_a + 48000, 19200, f0);
    double after_120 = power_at(left_a + 48000, 19200, 2 * f0);
    double before_67 = power_at(left_a + 4800, 19200, f67);
    double after_67 = power_at(left_a + 48000, 19200, f67);
    CHECK(after_60 < 1e-3 * before_60, "the bent voice still sounds at its old pitch (%g -> %g)",
          before_60, after_60);
    CHECK(after_120 > 0.1 * before_60, "the bent voice does not sound an octave up");
    CHECK(after_67 > 0.3 * before_67, "the other voice moved (power %g -> %g)", before_67,
          after_67);
    const SprungEngineVoices *voices = sprung_engine_voices_of(engine);
    CHECK(voices, "no voices");
    CHECK(fabs(sprung_engine_voices_time_scale(voices, 0) - 2.0) < 1e-9 &&
              fabs(sprung_engine_voices_time_scale(voices, 1) - pow(2, 7 / 12.0)) < 1e-9,
          "time scales %g, %g", sprung_engine_voices_time_scale(voices, 0),
          sprung_engine_voices_time_scale(voices, 1));
    sprung_engine_free(engine);
    printf("mpe: ok (channel-2 bend moved note 60 an octave; note 67 on channel 3 stayed)\n");
}

static void expect_voice(SprungEngine *engine, uint32_t voice, int status, uint8_t note,
                         const char *why)
{
    uint8_t playing = 0;
    int got = sprung_engine_voices_slot(sprung_engine_voices_of(engine), voice, &playing);
    CHECK(got == status && playing == note, "%s: voice %u has status %d note %u, expected %d %u",
          why, voice, got, playing, status, note);
}

/* Through the engine: a free voice first (even with a released one
 * ringing), then the voice released longest ago, then the oldest held. */
static void test_order(void)
{
    SprungEngine *engine =
        make_engine(
            preset(440, ",\n \"voices\": {\"count\": 3, \"root\": 60, \"notes\": [36, 84]}"),
            4096, NULL);
    SprungEvent events[] = {
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 100},   /* v0 */
        {.frame = 100, .type = SPRUNG_EVENT_NOTE_ON, .note = 62, .velocity = 100}, /* v1 */
        {.frame = 200, .type = SPRUNG_EVENT_NOTE_OFF, .note = 60},                 /* v0 rings */
        {.frame = 300, .type = SPRUNG_EVENT_NOTE_ON, .note = 64, .velocity = 100}, /* free v2 */
        {.frame = 400, .type = SPRUNG_EVENT_NOTE_ON, .note = 65, .velocity = 100}, /* steals v0 */
        {.frame = 800, .type = SPRUNG_EVENT_NOTE_ON, .note = 67, .velocity = 100}, /* oldest: v1 */
    };
    float *l = left_a, *r = right_a;
    rt_render(engine, events, 4, 301, 64, l, r);
    expect_voice(engine, 0, SPRUNG_VOICE_RELEASED, 60, "released note 60 keeps ringing");
    expect_voice(engine, 1, SPRUNG_VOICE_HELD, 62, "second note");
    expect_voice(engine, 2, SPRUNG_VOICE_HELD, 64, "a free voice before a released one");
    SprungEvent later[2] = {events[4], events[5]};
    later[0].frame -= 301;
    later[1].frame -= 301;
    rt_render(engine, later, 1, 100, 64, l, r); /* to frame 401: fading */
    expect_voice(engine, 0, SPRUNG_VOICE_FADING, 60, "the released voice is stolen");
    rt_render(engine, NULL, 0, 300, 64, l, r); /* 3 ms = 144 frames later: restarted */
    expect_voice(engine, 0, SPRUNG_VOICE_HELD, 65, "the stolen voice restarts with note 65");
    later[1].frame = 0;
    rt_render(engine, later + 1, 1, 1, 64, l, r); /* frame 801 */
    expect_voice(engine, 1, SPRUNG_VOICE_FADING, 62, "with none free or released, the oldest");
    rt_render(engine, NULL, 0, 200, 64, l, r);
    expect_voice(engine, 1, SPRUNG_VOICE_HELD, 67, "note 67 after the fade");
    expect_voice(engine, 0, SPRUNG_VOICE_HELD, 65, "note 65 untouched");
    expect_voice(engine, 2, SPRUNG_VOICE_HELD, 64, "note 64 untouched");
    sprung_engine_free(engine);
    printf("order: ok (free first, then released longest ago, then the oldest held)\n");
}

/* The steal lands near a peak of the ringing (100.25 periods of 1 kHz
 * after the strike), where a hard cut would jump the most. */
#define STEAL_AT 4812u

/* Two voices of a body at rest on a damped spring (rest length = initial
 * distance): struck and released, it falls silent within 200 ms (test_free;
 * test_batch frees one in the middle of a block of 4096 whose later note
 * takes it: a voice still held would be stolen, with a fade, instead). */
static const char *freeing_json =
    "{ \"sprung\": 1, \"bodies\": [ {\"id\": \"b\", \"position\": [0, 0, 0], "
    "\"mass\": 0.001} ], \"anchors\": [ {\"id\": \"a\", \"position\": [0, 0, 0.1]} ],"
    " \"springs\": [ {\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": 7.6,"
    " \"damping\": 0.2} ], \"mallets\": [ {\"id\": \"m\", \"target\": \"b\", "
    "\"direction\": [0, 0, 1], \"strength\": 0.001} ], \"microphones\": [ {\"id\": "
    "\"mic\", \"target\": \"b\", \"axis\": [0, 0, 1], \"gain\": 1000} ], "
    "\"voices\": {\"count\": 2, \"root\": 60, \"notes\": [36, 84]} }";

/* A released voice that has gone silent is freed (after 200 ms below
 * 10⁻⁶) and is then the first choice again, before a released one. */
static void test_free(void)
{
    SprungEngine *engine = make_engine(freeing_json, 4096, NULL);
    SprungEvent events[] = {
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 100},  /* v0 */
        {.frame = 10, .type = SPRUNG_EVENT_NOTE_ON, .note = 62, .velocity = 100}, /* v1 */
        {.frame = 20, .type = SPRUNG_EVENT_NOTE_OFF, .note = 60},
    };
    rt_render(engine, events, 3, 2400, 512, left_a, right_a);
    expect_voice(engine, 0, SPRUNG_VOICE_RELEASED, 60, "just released: still ringing");
    rt_render(engine, NULL, 0, 48000, 512, left_a, right_a);
    expect_voice(engine, 0, SPRUNG_VOICE_FREE, 60, "silent for 200 ms: freed");
    expect_voice(engine, 1, SPRUNG_VOICE_HELD, 62, "held notes are never freed");
    SprungEvent again[] = {{.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .note = 64, .velocity = 9}};
    rt_render(engine, again, 1, 10, 512, left_a, right_a);
    expect_voice(engine, 0, SPRUNG_VOICE_HELD, 64, "the freed voice is taken first");
    sprung_engine_free(engine);
    printf("free: ok (a released voice silent for 200 ms is freed and reused)\n");
}

/* One voice ringing at 1 kHz, stolen by a new note: during the fade the
 * largest sample-to-sample step must stay within the ringing's own (a
 * click is a step far above it), and the output reaches silence before
 * the restart. The sabotage (a 0.1 ms fade) must trip the first check. */
static void test_steal(int sabotage)
{
    const char *extra = sabotage ? ",\n \"voices\": {\"count\": 1, \"root\": 60, "
                                   "\"steal_fade_ms\": 0.1, \"notes\": [36, 84]}"
                                 : ",\n \"voices\": {\"count\": 1, \"root\": 60, "
                                   "\"notes\": [36, 84]}";
    SprungEngine *engine = make_engine(preset(1000, extra), 4096, NULL);
    SprungEvent events[] = {
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 127},
        {.frame = STEAL_AT, .type = SPRUNG_EVENT_NOTE_ON, .note = 62, .velocity = 127},
    };
    rt_render(engine, events, 2, 9600, 64, left_a, right_a);
    double peak = 0, largest = 0;
    for (uint32_t k = 1; k < STEAL_AT; ++k) {
        peak = fmax(peak, fabs(left_a[k]));
        largest = fmax(largest, fabs((double)left_a[k] - left_a[k - 1]));
    }
    uint32_t fade = sabotage ? 5 : 144;
    double during = 0;
    for (uint32_t k = STEAL_AT; k < STEAL_AT + fade; ++k)
        during = fmax(during, fabs((double)left_a[k] - left_a[k - 1]));
    if (sabotage)
        fprintf(stderr, "sabotage: a 0.1 ms fade (5 frames)\n");
    CHECK(during <= largest * 1.05 + 1e-6, "steal step %g > ringing step %g: a click", during,
          largest);
    CHECK(fabs(left_a[STEAL_AT + fade - 1]) < 1e-6 * peak, "not faded out before the restart (%g)",
          left_a[STEAL_AT + fade - 1]);
    double after = 0;
    for (uint32_t k = STEAL_AT + fade; k < 9600; ++k)
        after = fmax(after, fabs(left_a[k]));
    CHECK(after > 0.1 * peak, "the new note does not sound after the fade");
    sprung_engine_free(engine);
    printf("steal: ok (largest step during the fade %.4g, ringing step %.4g, peak %.4g)\n",
           during, largest, peak);
}

static void test_unstable(void)
{
    /* √λ·dt = 0.5 at the root: stable up to 2^(24/12) = 4× → below note 84. */
    double dt = 1 / RATE, mass = 0.001, lambda = pow(0.5 / dt, 2);
    char json[2048];
    snprintf(json, sizeof json,
             "{ \"sprung\": 1, \"bodies\": [ {\"id\": \"b\", \"position\": [0, 0, 0], "
             "\"mass\": %.17g} ], \"anchors\": [ {\"id\": \"a\", \"position\": [0, 0, 0.1]} ],"
             " \"springs\": [ {\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": "
             "%.17g, \"rest_length\": 0} ], \"microphones\": [ {\"id\": \"mic\", \"target\": "
             "\"b\", \"axis\": [0, 0, 1]} ], \"voices\": {\"count\": 2, \"root\": 60%s} }",
             mass, lambda * mass, "");
    SprungError error;
    SprungEngine *engine = make_engine(json, 512, &error);
    CHECK(!engine, "an instanced preset unstable at note 127 was accepted");
    CHECK(error.status == SPRUNG_ERROR_UNSTABLE, "status %d", (int)error.status);
    CHECK(strstr(error.message, "highest stable note is 83"), "message: %s", error.message);
    CHECK(!strcmp(error.path, "voices.notes"), "path: %s", error.path);
    printf("unstable: ok (%s: %s)\n", error.path, error.message);
    /* The same network limited to notes up to 83 is accepted. */
    snprintf(json, sizeof json,
             "{ \"sprung\": 1, \"bodies\": [ {\"id\": \"b\", \"position\": [0, 0, 0], "
             "\"mass\": %.17g} ], \"anchors\": [ {\"id\": \"a\", \"position\": [0, 0, 0.1]} ],"
             " \"springs\": [ {\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": "
             "%.17g, \"rest_length\": 0} ], \"microphones\": [ {\"id\": \"mic\", \"target\": "
             "\"b\", \"axis\": [0, 0, 1]} ], \"voices\": {\"count\": 2, \"root\": 60, "
             "\"notes\": [0, 83]} }",
             mass, lambda * mass);
    engine = make_engine(json, 512, &error);
    CHECK(engine, "notes [0, 83] refused: %s", error.message);
    sprung_engine_free(engine);
}

/* A voice at the root with no modulation steps exactly like the singleton
 * network: the same output, sample for sample. (The note comes at frame 0:
 * a voice starts from the initial state at its note-on, while a singleton
 * network runs from frame 0, and this test network, a spring of rest
 * length 0, is not at rest initially.) */
static void test_root(void)
{
    SprungEngine *voiced =
        make_engine(
            preset(440, ",\n \"voices\": {\"count\": 2, \"root\": 60, \"notes\": [36, 84]}"),
            4096, NULL);
    SprungEngine *single = make_engine(preset(440, ""), 4096, NULL);
    SprungEvent events[] = {
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 100}};
    rt_render(voiced, events, 1, 9600, 512, left_a, right_a);
    rt_render(single, events, 1, 9600, 512, left_b, right_b);
    for (uint32_t k = 0; k < 9600; ++k)
        CHECK(left_a[k] == left_b[k] && right_a[k] == right_b[k],
              "frame %u: voice %.9g, singleton %.9g", k, left_a[k], left_b[k]);
    sprung_engine_free(voiced);
    sprung_engine_free(single);
    printf("root: ok (bit-identical to the singleton network)\n");
}

/* The factory `on` names when it is the test's batch backend, else NULL. */
static const SprungBackendFactory *test_factory(const char *on)
{
    return !strcmp(on, cpu_batch_factory.name) ? &cpu_batch_factory : NULL;
}

/* Renders `json` with `events` for n frames on `on` in blocks of `block`
 * into left_b/right_b. The test's batch backend goes in through the hook
 * (its engine otherwise configured for cpu), for this engine only. */
static void render_on(const char *on, const char *json, const SprungEvent *events,
                      uint32_t n_events, uint32_t n, uint32_t block)
{
    const char *saved = backend;
    const SprungBackendFactory *factory = test_factory(on);
    backend = factory ? "cpu" : on;
    sprung_engine_testing_factory(factory);
    SprungError error;
    SprungEngine *engine = make_engine(json, 4096, &error);
    sprung_engine_testing_factory(NULL);
    backend = saved;
    CHECK(engine, "%s: %s", on, error.message);
    rt_render(engine, events, n_events, n, block, left_b, right_b);
    sprung_engine_free(engine);
}

/* The batch path against the reference: `json` on the reference in blocks
 * of 512, then on `on` in every block size, compared bit for bit. */
static void compare_batch(const char *on, const char *name, const char *json,
                          const SprungEvent *events, uint32_t n_events, uint32_t n)
{
    static const uint32_t sizes[] = {1, 7, 64, 512, 4096};
    render_on("cpu", json, events, n_events, n, 512);
    memcpy(left_a, left_b, n * sizeof(float));
    memcpy(right_a, right_b, n * sizeof(float));
    double peak = 0;
    for (uint32_t k = 0; k < n; ++k)
        peak = fmax(peak, fabs(left_a[k]));
    CHECK(peak > 1e-3 && isfinite(peak), "%s: nothing sounds (peak %g)", name, peak);
    uint64_t calls = 0, resets = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        cpu_batch_stats_clear();
        render_on(on, json, events, n_events, n, sizes[s]);
        if (test_factory(on)) {
            /* The batch path ran, and (in blocks of more than a frame) in
             * runs of more than one frame: else it proves nothing. */
            const CpuBatchStats *stats = cpu_batch_stats();
            CHECK(stats->created == 1 && stats->calls > 0,
                  "%s in blocks of %u: the engine did not use %s's create_voices (%u) and "
                  "advance_voices (%llu calls)",
                  name, sizes[s], on, stats->created, (unsigned long long)stats->calls);
            CHECK(sizes[s] == 1 || stats->most_steps > oversampling,
                  "%s in blocks of %u: no run longer than one frame (%u steps at most)", name,
                  sizes[s], stats->most_steps);
            calls += stats->calls;
            resets += stats->voice_resets;
        }
        uint32_t first = n;
        for (uint32_t k = 0; k < n && first == n; ++k)
            if (memcmp(&left_a[k], &left_b[k], sizeof(float)) ||
                memcmp(&right_a[k], &right_b[k], sizeof(float)))
                first = k;
        CHECK(first == n,
              "%s, oversampling %u: %s in blocks of %u differs from the reference from frame "
              "%u (%g against %g)",
              name, oversampling, on, sizes[s], first, first < n ? left_b[first] : 0.0,
              first < n ? left_a[first] : 0.0);
    }
    printf("batch: %s on %s: the reference's bits in blocks of 1, 7, 64, 512, 4096 "
           "(oversampling %u)\n", name, on, oversampling);
    if (test_factory(on))
        printf("  (%llu advance_voices calls, %llu reset_voice calls)\n",
               (unsigned long long)calls, (unsigned long long)resets);
}

/* Per-frame state writes (for the test's batch backend): a per-note
 * envelope and a free LFO move the anchor (its displacement and velocity),
 * and a note-following oscillator's increment and harmonics follow bends,
 * some on consecutive frames and mid-block: each write must land on its
 * frame of the run. */
static const char *moving_extra =
    ",\n \"oscillators\": [{\"id\": \"o\", \"target\": \"b\", \"direction\": "
    "[0, 0, 1], \"waveform\": \"saw\", \"amplitude\": 0.002}],\n"
    " \"voices\": {\"count\": 3, \"root\": 60, \"notes\": [36, 84]},\n"
    " \"mpe\": {\"lower\": 15},\n"
    " \"sources\": [{\"id\": \"env\", \"type\": \"envelope\", \"attack_ms\": 3, "
    "\"release_ms\": 20},\n {\"id\": \"wob\", \"type\": \"lfo\", \"rate_hz\": 11}],\n"
    " \"routes\": [{\"source\": \"env\", \"target\": \"a\", \"parameter\": \"z\", "
    "\"range\": [0.1, 0.1002]},\n {\"source\": \"wob\", \"target\": \"a\", "
    "\"parameter\": \"x\", \"range\": [-0.0001, 0.0001]}]";

static const SprungEvent moving[] = {
    {.frame = 5, .type = SPRUNG_EVENT_NOTE_ON, .channel = 1, .note = 60, .velocity = 100},
    {.frame = 300, .type = SPRUNG_EVENT_NOTE_ON, .channel = 2, .note = 64, .velocity = 90},
    {.frame = 1001, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 1, .value = 8192 + 3000},
    {.frame = 1500, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 2, .value = 8192 - 4000},
    {.frame = 2003, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 1, .value = 8192 + 6000},
    {.frame = 2004, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 1, .value = 8192 + 7000},
    {.frame = 2005, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 1, .value = 8192 + 8000},
    {.frame = 3000, .type = SPRUNG_EVENT_NOTE_OFF, .channel = 1, .note = 60},
    {.frame = 3500, .type = SPRUNG_EVENT_NOTE_ON, .channel = 3, .note = 67, .velocity = 110},
    {.frame = 4001, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 0, .value = 8192 + 2000},
    {.frame = 4700, .type = SPRUNG_EVENT_PITCH_BEND, .channel = 3, .value = 8192 - 8000},
};
#define N_MOVING (uint32_t)(sizeof moving / sizeof moving[0])

static void test_batch(const char *on)
{
    for (uint32_t i = 0; !test_factory(on) && i < sprung_backend_count(); i++) {
        SprungBackendInfo info;
        if (sprung_backend_info(i, &info) == SPRUNG_OK && !strcmp(info.name, on)) {
            if (!info.available) {
                printf("SKIP: backend %s cannot run here: %s\n", on, info.reason);
                exit(77);
            }
            break;
        }
        if (i + 1 == sprung_backend_count()) {
            printf("SKIP: backend %s is not in this build\n", on);
            exit(77);
        }
    }
    /* When is v0 freed? Find it on the reference, then strike in that
     * block after it. */
    SprungEvent freeing[] = {
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 100},
        {.frame = 10, .type = SPRUNG_EVENT_NOTE_ON, .note = 62, .velocity = 100},
        {.frame = 20, .type = SPRUNG_EVENT_NOTE_OFF, .note = 60},
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .note = 64, .velocity = 120},
    };
    SprungEngine *engine = make_engine(freeing_json, 4096, NULL);
    rt_render(engine, freeing, 3, 64, 64, left_a, right_a);
    uint32_t freed_at = 64;
    for (; freed_at < N; ++freed_at) {
        rt_render(engine, NULL, 0, 1, 1, left_a, right_a);
        if (sprung_engine_voices_slot(sprung_engine_voices_of(engine), 0, NULL) ==
            SPRUNG_VOICE_FREE)
            break;
    }
    sprung_engine_free(engine);
    CHECK(freed_at < N / 2, "the released voice was never freed");
    freeing[3].frame = freed_at + 100;
    uint32_t n = freed_at + 9000;
    for (oversampling = 1; oversampling <= 2; ++oversampling) {
        compare_batch(on, "voices, bends, pressure, a steal, a restrike",
                      preset(440, instanced_extra), scenario, N_SCENARIO, 24000);
        compare_batch(on, "a voice freed and taken in one block", freeing_json, freeing, 4, n);
        if (test_factory(on))
            compare_batch(on, "an anchor moved and an oscillator bent, frame by frame",
                          preset(330, moving_extra), moving, N_MOVING, 6000);
    }
    oversampling = 1;
}

int main(int argc, char **argv)
{
    RT_INIT();
    const char *which = argc > 1 ? argv[1] : "all";
    int sabotage = argc > 2 && !strcmp(argv[2], "--sabotage");
    int all = !strcmp(which, "all");
    if (all || !strcmp(which, "octave"))
        test_octave();
    if (all || !strcmp(which, "mpe"))
        test_mpe();
    if (all || !strcmp(which, "order"))
        test_order();
    if (all || !strcmp(which, "free"))
        test_free();
    if (all || !strcmp(which, "steal"))
        test_steal(sabotage);
    if (all || !strcmp(which, "unstable"))
        test_unstable();
    if (all || !strcmp(which, "blocks"))
        test_blocks();
    if (all || !strcmp(which, "pool"))
        test_pool(sabotage);
    if (all || !strcmp(which, "root"))
        test_root();
    if (all || !strcmp(which, "zones"))
        test_zones();
    if (all || !strcmp(which, "pressure"))
        test_pressure();
    if (all || !strcmp(which, "oscillator"))
        test_oscillator();
    if (!strcmp(which, "batch"))
        test_batch(argc > 2 ? argv[2] : "opencl");
    if (!strcmp(which, "batch_cpu")) {
        if (sabotage)
            fprintf(stderr, "sabotage: the batch backend's advance_voices allocates\n");
        cpu_batch_sabotage(sabotage);
        test_batch(cpu_batch_factory.name);
    }
    if (all || !strcmp(which, "blocks2")) {
        oversampling = 2;
        test_blocks();
        oversampling = 1;
    }
    return 0;
}
