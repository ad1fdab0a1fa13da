/* Each modulation source against its definition (src/engine/modulation_sources.h),
 * the Note Trigger's onsets at predicted frames, the route curves and the
 * smoothers (src/engine/smoothing.h). Every per-frame call runs inside a
 * RealtimeSanitizer section when the test is built with it.
 *
 * Usage: test_modulation_sources [lfo|adsr|follower|trigger|curves|smoothing] */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "engine/modulation_sources.h"
#include "engine/smoothing.h"
#include "rt_section.h"

#ifndef M_PI
#  define M_PI 3.14159265358979323846
#endif

enum { FRAMES = 150000 };
static double values[FRAMES];

static double expected_phase(double phase0, uint64_t n, double rate, double fs)
{
    double total = phase0 + (double)n * rate / fs;
    return total - floor(total);
}

static void run_lfo(SprungLfo *lfo, uint32_t frames)
{
    RT_ENTER();
    for (uint32_t n = 0; n < frames; ++n)
        values[n] = sprung_lfo_next(lfo);
    RT_EXIT();
}

static void test_lfo(void)
{
    const double fs = 48000.0;
    /* Each periodic shape against its formula, at an awkward rate and phase. */
    for (int shape = SPRUNG_LFO_SINE; shape <= SPRUNG_LFO_SQUARE; ++shape) {
        SprungLfoConfig config = {.shape = (SprungLfoShape)shape, .rate_hz = 3.7, .phase = 0.3};
        SprungLfo lfo;
        sprung_lfo_init(&lfo, &config, fs, 120.0);
        run_lfo(&lfo, FRAMES);
        for (uint32_t n = 0; n < FRAMES; ++n) {
            double phase = expected_phase(0.3, n, 3.7, fs);
            double want;
            switch (shape) {
            case SPRUNG_LFO_SINE: want = sin(2 * M_PI * phase); break;
            case SPRUNG_LFO_TRIANGLE:
                want = phase < 0.25 ? 4 * phase : phase < 0.75 ? 2 - 4 * phase : 4 * phase - 4;
                break;
            case SPRUNG_LFO_SAW: want = 2 * phase - 1; break;
            default: want = phase < 0.5 ? 1 : -1; break;
            }
            CHECK(fabs(values[n] - want) < 1e-12, "%s frame %u: %.17g, want %.17g",
                  sprung_lfo_shape_name((SprungLfoShape)shape), n, values[n], want);
            CHECK(values[n] >= -1.0 && values[n] <= 1.0, "out of range");
        }
    }
    /* A whole number of frames per cycle repeats exactly: 2 Hz at 48 kHz. */
    {
        SprungLfoConfig config = {.shape = SPRUNG_LFO_SINE, .rate_hz = 2.0};
        SprungLfo lfo;
        sprung_lfo_init(&lfo, &config, fs, 120.0);
        run_lfo(&lfo, 3 * 24000);
        for (uint32_t n = 0; n < 2 * 24000; ++n) {
            CHECK(fabs(values[n] - values[n + 24000]) < 1e-12, "2 Hz drifts at frame %u", n);
            if (n % 6000 == 0)
                CHECK(values[n] == values[n + 24000], "2 Hz cycle %u not exact", n);
        }
        CHECK(values[0] == 0.0 && values[6000] == 1.0, "sine starts at 0 and peaks at 1/4");
    }
    /* Tempo sync: one cycle per beat at 120 bpm is 2 Hz; a new tempo keeps
     * the phase continuous. */
    {
        SprungLfoConfig config = {.shape = SPRUNG_LFO_SAW, .sync_beats = 1.0};
        SprungLfo lfo;
        sprung_lfo_init(&lfo, &config, fs, 120.0);
        CHECK(lfo.rate == 2.0, "120 bpm, 1 beat: %g Hz", lfo.rate);
        run_lfo(&lfo, 1000);
        double before = sprung_lfo_phase(&lfo);
        RT_ENTER();
        sprung_lfo_set_tempo(&lfo, 60.0);
        RT_EXIT();
        CHECK(lfo.rate == 1.0, "60 bpm: %g Hz", lfo.rate);
        CHECK(fabs(sprung_lfo_phase(&lfo) - before) < 1e-12, "tempo change jumped the phase");
        run_lfo(&lfo, 48000);
        CHECK(fabs(values[47999] - (2 * (before + 47999.0 / 48000.0 - 1) - 1)) < 1e-9 ||
                  fabs(values[47999] - (2 * (before + 47999.0 / 48000.0) - 1)) < 1e-9,
              "after the tempo change the saw runs at 1 Hz: %g", values[47999]);
        SprungLfoConfig free_config = {.shape = SPRUNG_LFO_SINE, .rate_hz = 5.0};
        SprungLfo free_lfo;
        sprung_lfo_init(&free_lfo, &free_config, fs, 120.0);
        sprung_lfo_set_tempo(&free_lfo, 90.0);
        CHECK(free_lfo.rate == 5.0, "a free LFO ignores the tempo");
    }
    /* Retrigger: back to the start phase. */
    {
        SprungLfoConfig config = {.shape = SPRUNG_LFO_TRIANGLE, .rate_hz = 7.0, .phase = 0.1,
                                  .retrigger = 1};
        SprungLfo lfo;
        sprung_lfo_init(&lfo, &config, fs, 120.0);
        run_lfo(&lfo, 777);
        sprung_lfo_retrigger(&lfo);
        run_lfo(&lfo, 1);
        CHECK(fabs(values[0] - 0.4) < 1e-12, "retriggered triangle at phase 0.1 is 0.4: %g",
              values[0]);
    }
    /* Sample-and-hold: constant within a cycle, a new value at each wrap,
     * uniform in [−1, 1), reproducible from the seed. */
    {
        SprungLfoConfig config = {.shape = SPRUNG_LFO_SAMPLE_HOLD, .rate_hz = 10.0, .seed = 42};
        SprungLfo lfo, again;
        sprung_lfo_init(&lfo, &config, fs, 120.0);
        sprung_lfo_init(&again, &config, fs, 120.0);
        run_lfo(&lfo, 48000);
        uint32_t changes = 0;
        double sum = 0;
        for (uint32_t n = 0; n < 48000; ++n) {
            CHECK(values[n] >= -1.0 && values[n] < 1.0, "S&H out of range");
            if (n > 0 && values[n] != values[n - 1]) {
                changes++;
                CHECK(n % 4800 == 0, "S&H changed inside a cycle at frame %u", n);
            }
            if (n % 4800 == 0)
                sum += values[n];
            CHECK(values[n] == sprung_lfo_next(&again), "S&H not reproducible at %u", n);
        }
        CHECK(changes == 9, "10 Hz S&H over 1 s: %u changes, want 9", changes);
        /* Mean of many draws near 0 (uniform): 20000 cycles. */
        SprungLfoConfig fast = {.shape = SPRUNG_LFO_SAMPLE_HOLD, .rate_hz = fs / 4, .seed = 7};
        sprung_lfo_init(&lfo, &fast, fs, 120.0);
        run_lfo(&lfo, 80000);
        sum = 0;
        double sum_sq = 0;
        for (uint32_t n = 0; n < 80000; n += 4) {
            sum += values[n];
            sum_sq += values[n] * values[n];
        }
        CHECK(fabs(sum / 20000) < 0.02, "S&H mean %g", sum / 20000);
        CHECK(fabs(sum_sq / 20000 - 1.0 / 3.0) < 0.02, "S&H variance %g (uniform: 1/3)",
              sum_sq / 20000);
    }
    /* A rate change keeps the phase continuous. */
    {
        SprungLfoConfig config = {.shape = SPRUNG_LFO_SAW, .rate_hz = 3.0};
        SprungLfo lfo;
        sprung_lfo_init(&lfo, &config, fs, 120.0);
        run_lfo(&lfo, 5000);
        double last = values[4999];
        sprung_lfo_set_rate(&lfo, 6.0);
        run_lfo(&lfo, 1);
        CHECK(fabs(values[0] - (last + 2 * 3.0 / fs)) < 1e-9, "rate change: %g after %g",
              values[0], last);
        run_lfo(&lfo, 2);
        CHECK(fabs(values[1] - values[0] - 2 * 6.0 / fs) < 1e-9, "new rate not used");
    }
    printf("lfo: ok\n");
}

static void test_adsr(void)
{
    /* 1 kHz output rate: A = 10 ms = 10 frames, D = 20 frames to 0.5,
     * R = 40 frames. */
    const double fs = 1000.0;
    SprungAdsrConfig config = {.attack_ms = 10, .decay_ms = 20, .sustain = 0.5, .release_ms = 40};
    SprungAdsr adsr;
    sprung_adsr_init(&adsr, &config, fs);
    RT_ENTER();
    sprung_adsr_gate_on(&adsr);
    for (int n = 0; n < 100; ++n)
        values[n] = sprung_adsr_next(&adsr);
    sprung_adsr_gate_off(&adsr);
    for (int n = 100; n < 160; ++n)
        values[n] = sprung_adsr_next(&adsr);
    RT_EXIT();
    for (int n = 0; n < 160; ++n) {
        double want;
        if (n <= 10)
            want = n / 10.0;
        else if (n <= 30)
            want = 1.0 - (n - 10) * 0.5 / 20.0;
        else if (n < 100)
            want = 0.5;
        else if (n <= 140)
            want = 0.5 - (n - 100) * 0.5 / 40.0;
        else
            want = 0.0;
        CHECK(fabs(values[n] - want) < 1e-12, "ADSR frame %d: %.17g, want %.17g", n, values[n],
              want);
    }
    CHECK(adsr.stage == SPRUNG_ADSR_IDLE, "idle after the release");

    /* Retrigger during the release: the attack starts from the current
     * level, no jump. */
    sprung_adsr_gate_on(&adsr);
    for (int n = 0; n < 5; ++n)
        sprung_adsr_next(&adsr);
    sprung_adsr_gate_off(&adsr);
    double level = sprung_adsr_next(&adsr);
    sprung_adsr_gate_on(&adsr);
    double next = sprung_adsr_next(&adsr);
    CHECK(fabs(next - adsr.level + 0.1) < 1e-12 && next <= level + 1e-12 &&
              next >= level - 0.1,
          "retrigger jumped: %g then %g", level, next);
    /* Zero times: straight to the sustain level; release 0: straight to 0. */
    SprungAdsrConfig instant = {.attack_ms = 0, .decay_ms = 0, .sustain = 0.25, .release_ms = 0};
    sprung_adsr_init(&adsr, &instant, fs);
    sprung_adsr_gate_on(&adsr);
    CHECK(sprung_adsr_next(&adsr) == 0.25, "instant envelope at sustain");
    sprung_adsr_gate_off(&adsr);
    CHECK(sprung_adsr_next(&adsr) == 0.0, "instant release");
    printf("adsr: ok\n");
}

static void test_follower(void)
{
    const double fs = 48000.0;
    SprungFollower follower;
    sprung_follower_init(&follower, 1.0, 50.0, fs);
    double a_attack = 1.0 - exp(-1.0 / (1e-3 * fs));
    double a_release = 1.0 - exp(-1.0 / (50e-3 * fs));
    /* A step of a negative input (rectified), then silence. */
    RT_ENTER();
    for (int n = 0; n < 4800; ++n)
        values[n] = sprung_follower_next(&follower, -0.8);
    for (int n = 4800; n < 9600; ++n)
        values[n] = sprung_follower_next(&follower, 0.0);
    RT_EXIT();
    for (int n = 0; n < 4800; ++n) {
        double want = 0.8 * (1.0 - pow(1.0 - a_attack, n + 1));
        CHECK(fabs(values[n] - want) < 1e-9, "attack frame %d: %g want %g", n, values[n], want);
    }
    double peak = values[4799];
    for (int n = 4800; n < 9600; ++n) {
        double want = peak * pow(1.0 - a_release, n - 4799);
        CHECK(fabs(values[n] - want) < 1e-9, "release frame %d: %g want %g", n, values[n], want);
    }
    /* 63 % after the attack time constant. */
    CHECK(fabs(values[47] / 0.8 - (1 - exp(-1.0))) < 0.01, "attack tau: %g", values[47] / 0.8);
    /* NaN input leaves it alone. */
    double before = follower.level;
    CHECK(sprung_follower_next(&follower, NAN) == before, "NaN changed the follower");
    printf("follower: ok\n");
}

/* Onset frames of `n` frames of an LFO through a Note Trigger. */
static uint32_t trigger_onsets(SprungLfo *lfo, uint32_t n, uint32_t *onsets, uint32_t *offsets,
                               uint32_t capacity, uint32_t *n_offsets)
{
    SprungNoteTrigger trigger;
    sprung_note_trigger_reset(&trigger);
    uint32_t count = 0, off_count = 0;
    RT_ENTER();
    for (uint32_t f = 0; f < n; ++f) {
        SprungTriggerEdge edge = sprung_note_trigger_next(&trigger, sprung_lfo_next(lfo));
        if (edge == SPRUNG_TRIGGER_ON && count < capacity)
            onsets[count++] = f;
        if (edge == SPRUNG_TRIGGER_OFF && off_count < capacity)
            offsets[off_count++] = f;
    }
    RT_EXIT();
    *n_offsets = off_count;
    return count;
}

static void test_trigger(void)
{
    uint32_t onsets[64], offsets[64], n_off;
    /* A 2 Hz square at 48 kHz: a note-on at the start of every cycle,
     * frames 0, 24000, 48000, …: exactly 2 per second; note-offs half a
     * cycle later. */
    SprungLfoConfig square = {.shape = SPRUNG_LFO_SQUARE, .rate_hz = 2.0};
    SprungLfo lfo;
    sprung_lfo_init(&lfo, &square, 48000.0, 120.0);
    uint32_t n = trigger_onsets(&lfo, 3 * 48000, onsets, offsets, 64, &n_off);
    CHECK(n == 6, "2 Hz over 3 s: %u onsets", n);
    for (uint32_t k = 0; k < n; ++k) {
        CHECK(onsets[k] == 24000 * k, "onset %u at %u, want %u", k, onsets[k], 24000 * k);
        CHECK(offsets[k] == 24000 * k + 12000, "offset %u at %u", k, offsets[k]);
    }
    /* A 2 Hz sine at 44.1 kHz crosses 0.5 upwards at φ = 1/12, i.e. frame
     * 1837.5 + 22050·k: the first frame above is 1838 + 22050·k; downwards
     * at φ = 5/12, frame 9187.5 + 22050·k → 9188 + 22050·k. */
    SprungLfoConfig sine = {.shape = SPRUNG_LFO_SINE, .rate_hz = 2.0};
    sprung_lfo_init(&lfo, &sine, 44100.0, 120.0);
    n = trigger_onsets(&lfo, 4 * 44100, onsets, offsets, 64, &n_off);
    CHECK(n == 8 && n_off == 8, "2 Hz sine over 4 s: %u onsets, %u offsets", n, n_off);
    for (uint32_t k = 0; k < n; ++k) {
        CHECK(onsets[k] == 1838 + 22050 * k, "sine onset %u at %u", k, onsets[k]);
        CHECK(offsets[k] == 9188 + 22050 * k, "sine offset %u at %u", k, offsets[k]);
    }
    /* Exactly 0.5 keeps the state; a one-frame pulse gives an onset and a
     * release on consecutive frames (both latched). */
    SprungNoteTrigger trigger;
    sprung_note_trigger_reset(&trigger);
    CHECK(sprung_note_trigger_next(&trigger, 0.5) == SPRUNG_TRIGGER_NONE, "0.5 fired");
    CHECK(sprung_note_trigger_next(&trigger, 0.51) == SPRUNG_TRIGGER_ON, "0.51 did not fire");
    CHECK(sprung_note_trigger_next(&trigger, 0.5) == SPRUNG_TRIGGER_NONE, "0.5 released");
    CHECK(sprung_note_trigger_next(&trigger, NAN) == SPRUNG_TRIGGER_NONE, "NaN released");
    CHECK(sprung_note_trigger_next(&trigger, 0.2) == SPRUNG_TRIGGER_OFF, "0.2 did not release");
    CHECK(sprung_note_trigger_next(&trigger, 1.0) == SPRUNG_TRIGGER_ON, "pulse on");
    CHECK(sprung_note_trigger_next(&trigger, 0.0) == SPRUNG_TRIGGER_OFF, "pulse off");
    /* An envelope's end triggers the next note: ADSR with sustain 0, each
     * onset re-gates it (an arpeggiator's clock). */
    SprungAdsrConfig env = {.attack_ms = 0, .decay_ms = 99, .sustain = 0, .release_ms = 0};
    SprungAdsr adsr;
    sprung_adsr_init(&adsr, &env, 1000.0);
    sprung_note_trigger_reset(&trigger);
    uint32_t count = 0;
    sprung_adsr_gate_on(&adsr);
    for (uint32_t f = 0; f < 1000; ++f) {
        /* Inverted envelope: it fires when the envelope falls below 0.5. */
        SprungTriggerEdge edge = sprung_note_trigger_next(&trigger, 1.0 - sprung_adsr_next(&adsr));
        if (edge == SPRUNG_TRIGGER_ON) {
            onsets[count < 64 ? count : 63] = f;
            count++;
            sprung_adsr_gate_on(&adsr);
        }
    }
    /* Fires at the first frame the decay is below 0.5 (frame 50: 1 − 50/99,
     * the crossing is at 49.5); the re-gate makes the next frame 1 again,
     * so every 51 frames: 50, 101, … 968, 19 in 1000. */
    CHECK(count == 19, "self-retriggering envelope: %u notes in 1 s, want 19", count);
    CHECK(onsets[0] == 50 && onsets[1] == 101, "envelope clock at %u, %u", onsets[0], onsets[1]);
    printf("trigger: ok\n");
}

static void test_curves(void)
{
    for (int curve = 0; curve <= SPRUNG_CURVE_SMOOTH; ++curve) {
        CHECK(sprung_curve_map((SprungCurve)curve, 100, 400, 0.0) == 100, "lo");
        CHECK(sprung_curve_map((SprungCurve)curve, 100, 400, 1.0) == 400, "hi");
        CHECK(sprung_curve_map((SprungCurve)curve, 100, 400, -3) == 100, "clamped low");
        CHECK(sprung_curve_map((SprungCurve)curve, 100, 400, 7) == 400, "clamped high");
        CHECK(sprung_curve_map((SprungCurve)curve, 100, 400, NAN) == 100, "NaN");
        const char *name = sprung_curve_name((SprungCurve)curve);
        CHECK(sprung_curve_from_name(name) == curve, "name %s", name);
    }
    CHECK(fabs(sprung_curve_map(SPRUNG_CURVE_LINEAR, 100, 400, 0.5) - 250) < 1e-12, "linear");
    CHECK(fabs(sprung_curve_map(SPRUNG_CURVE_EXPONENTIAL, 100, 400, 0.5) - 200) < 1e-9,
          "exponential midpoint is the geometric mean");
    CHECK(fabs(sprung_curve_map(SPRUNG_CURVE_QUADRATIC, 100, 400, 0.5) - 175) < 1e-12, "x²");
    CHECK(fabs(sprung_curve_map(SPRUNG_CURVE_CUBIC, 100, 400, 0.5) - 137.5) < 1e-12, "x³");
    CHECK(fabs(sprung_curve_map(SPRUNG_CURVE_SMOOTH, 100, 400, 0.25) - 146.875) < 1e-12,
          "smoothstep");
    CHECK(sprung_curve_from_name("expo") == -1, "unknown curve");
    CHECK(sprung_route_position(0.5, 0.5, -1.0) == 0.0, "bipolar low");
    CHECK(sprung_route_position(0.5, 0.5, 1.0) == 1.0, "bipolar high");
    CHECK(sprung_route_position(0.0, 2.0, 0.25) == 0.5, "amount");
    CHECK(sprung_route_position(0.0, 1.0, NAN) == 0.0, "NaN source");
    for (int shape = 0; shape <= SPRUNG_LFO_SAMPLE_HOLD; ++shape)
        CHECK(sprung_lfo_shape_from_name(sprung_lfo_shape_name((SprungLfoShape)shape)) == shape,
              "shape name");
    printf("curves: ok\n");
}

static void test_smoothing(void)
{
    /* One-pole: 63 % of a step after τ at 44.1, 48 and 96 kHz. */
    const double rates[] = {44100.0, 48000.0, 96000.0};
    for (int r = 0; r < 3; ++r) {
        SprungOnePole pole;
        sprung_one_pole_init(&pole, 0.0, 5.0, rates[r]);
        sprung_one_pole_set_target(&pole, 1.0);
        uint32_t tau = (uint32_t)llround(5e-3 * rates[r]);
        double value = 0;
        RT_ENTER();
        for (uint32_t n = 0; n < tau; ++n)
            value = sprung_one_pole_next(&pole);
        RT_EXIT();
        CHECK(fabs(value - (1 - exp(-1.0))) < 2e-3, "one-pole at %g Hz: %g after tau", rates[r],
              value);
        /* Settles exactly, and the per-frame change never exceeds a·step. */
        double previous = value, largest = 0;
        for (uint32_t n = 0; n < 200 * tau; ++n) {
            value = sprung_one_pole_next(&pole);
            if (fabs(value - previous) > largest)
                largest = fabs(value - previous);
            previous = value;
        }
        CHECK(value == 1.0, "one-pole did not settle exactly: %.17g", value);
        CHECK(largest <= pole.coefficient + 1e-15, "one-pole step %g", largest);
    }
    /* Linear ramp: exactly `length` steps, lands exactly; a new target
     * mid-way continues from where it is. */
    SprungLinearRamp ramp;
    sprung_linear_ramp_init(&ramp, 1.0, 10);
    sprung_linear_ramp_set_target(&ramp, 0.1);
    for (int n = 1; n <= 10; ++n) {
        double value = sprung_linear_ramp_next(&ramp);
        CHECK(fabs(value - (1.0 - 0.09 * n)) < 1e-12, "ramp step %d: %g", n, value);
    }
    CHECK(ramp.value == 0.1 && ramp.remaining == 0, "ramp landed at %.17g", ramp.value);
    sprung_linear_ramp_set_target(&ramp, 1.1);
    for (int n = 0; n < 5; ++n)
        sprung_linear_ramp_next(&ramp);
    sprung_linear_ramp_set_target(&ramp, 0.6);
    double here = ramp.value, next = sprung_linear_ramp_next(&ramp);
    CHECK(fabs(here - 0.6) < 1e-12 && fabs(next - 0.6) < 1e-12,
          "mid-way retarget: %g then %g", here, next);
    printf("smoothing: ok\n");
}

int main(int argc, char **argv)
{
    RT_INIT();
    const char *which = argc > 1 ? argv[1] : "all";
    int all = !strcmp(which, "all");
    if (all || !strcmp(which, "lfo"))
        test_lfo();
    if (all || !strcmp(which, "adsr"))
        test_adsr();
    if (all || !strcmp(which, "follower"))
        test_follower();
    if (all || !strcmp(which, "trigger"))
        test_trigger();
    if (all || !strcmp(which, "curves"))
        test_curves();
    if (all || !strcmp(which, "smoothing"))
        test_smoothing();
    return 0;
}
