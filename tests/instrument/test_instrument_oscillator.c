/* Oscillator exciters against their definition (docs/preset-format.md):
 * a free body of 1 kg heard by a force microphone, so the output is the
 * oscillator's force itself. Checks the sine (frequency, amplitude, linear
 * attack and release, velocity scaling), a fixed frequency, the
 * band-limited saw and square (no aliased partial above ALIAS_LIMIT_DB
 * relative to the fundamental, where a naive saw has them at about -20 dB),
 * the additive series term by term (every harmonic count up to 40 and a
 * few large ones, against a sum in double precision), and reproducible
 * noise. */
#include <fftw3.h>

#include "instrument_test_util.h"
#include "kernel/sprung_step.h"

#define RATE 48000.0
#define ALIAS_LIMIT_DB (-60.0)

static const char *model_json(char *buffer, size_t size, const char *oscillator_fields)
{
    snprintf(buffer, size,
             "{\"sprung\": 1, \"bodies\": [{\"id\": \"b\", \"position\": [0, 0, 0], \"mass\": 1}],"
             " \"oscillators\": [{\"id\": \"o\", \"target\": \"b\", \"direction\": [0, 0, 2]%s}],"
             " \"microphones\": [{\"id\": \"m\", \"target\": \"b\", \"axis\": [0, 0, 1],"
             " \"signal\": \"force\", \"output\": 0}]}",
             oscillator_fields);
    return buffer;
}

static float *render_notes(const char *fields, const SprungEvent *events, size_t n_events,
                           size_t n_frames)
{
    char json[1024];
    SprungModel *model = load_model(model_json(json, sizeof json, fields));
    Render r = {.events = events, .n_events = n_events, .n_channels = 2, .n_frames = n_frames,
                .block = 512};
    float *out = render_model(model, RATE, 1, &r);
    sprung_model_free(model);
    return out;
}

static void check_sine(void)
{
    /* attack 10 ms = 480 steps, release 20 ms = 960 steps */
    const size_t n = 24000, off = 14400;
    SprungEvent events[] = {note_on(0, 69, 127), note_off(off, 69)};
    float *out = render_notes(", \"amplitude\": 2, \"attack_ms\": 10, \"release_ms\": 20", events,
                              2, n);
    double worst = 0.0;
    for (size_t k = 0; k < n; k++) {
        double level = k < off ? fmin(1.0, (k + 1) / 480.0) : fmax(0.0, 1.0 - (k - off + 1) / 960.0);
        double expected = 2.0 * level * sin(2.0 * M_PI * 440.0 * k / RATE);
        worst = fmax(worst, fabs(out[k] - expected));
    }
    printf("sine: A4 at amplitude 2, attack 10 ms, release 20 ms: worst error %.2e N\n", worst);
    CHECK(worst < 2e-3, "sine differs from 2·env(t)·sin(2π·440·t) by %.3e", worst);
    CHECK(peak(out + off + 960, n - off - 960) == 0.0, "sine not silent after its release");
    double f = dominant_frequency(out + 2400, 8192, RATE, 400.0, 480.0);
    CHECK(fabs(f - 440.0) < 0.05, "sine at %.4f Hz, not 440", f);
    CHECK(peak(out + n, n) == 0.0, "channel 1 is not silent for a microphone routed to 0");
    free(out);

    /* Velocity scales the amplitude; a fixed frequency ignores the note. */
    SprungEvent soft[] = {note_on(0, 30, 64)};
    out = render_notes(", \"amplitude\": 1, \"frequency\": 1000, \"attack_ms\": 0", soft, 1, 9600);
    double p = peak(out, 9600);
    f = dominant_frequency(out, 8192, RATE, 950.0, 1050.0);
    printf("fixed 1000 Hz at velocity 64: peak %.5f (expected %.5f), %.4f Hz\n", p, 64.0 / 127.0,
           f);
    CHECK(fabs(p - 64.0 / 127.0) < 1e-4, "velocity 64 gives peak %.6f", p);
    CHECK(fabs(f - 1000.0) < 0.05, "fixed frequency %.4f Hz, not 1000", f);
    free(out);
}

/* The largest spectral peak that is not a harmonic of f0, relative to the
 * fundamental, in dB (Blackman-Harris window, 2^15 points). */
static double worst_alias_db(const float *x, double f0)
{
    enum { N = 32768 };
    float *in = fftwf_malloc(N * sizeof *in);
    fftwf_complex *spectrum = fftwf_malloc((N / 2 + 1) * sizeof *spectrum);
    fftwf_plan plan = fftwf_plan_dft_r2c_1d(N, in, spectrum, FFTW_ESTIMATE);
    for (size_t i = 0; i < N; i++) {
        double t = 2.0 * M_PI * i / (N - 1);
        double w = 0.35875 - 0.48829 * cos(t) + 0.14128 * cos(2 * t) - 0.01168 * cos(3 * t);
        in[i] = (float)(w * x[i]);
    }
    fftwf_execute(plan);
    double bin_hz = RATE / N, fundamental = 0.0, worst = 0.0;
    for (size_t k = 1; k < N / 2; k++) {
        double power = (double)spectrum[k][0] * spectrum[k][0] +
                       (double)spectrum[k][1] * spectrum[k][1];
        double hz = k * bin_hz;
        double harmonic = round(hz / f0);
        if (harmonic >= 1 && fabs(hz - harmonic * f0) < 6 * bin_hz) {
            if (harmonic == 1)
                fundamental = fmax(fundamental, power);
            continue;
        }
        if (hz < 20.0)
            continue;
        worst = fmax(worst, power);
    }
    fftwf_destroy_plan(plan);
    fftwf_free(in);
    fftwf_free(spectrum);
    return 10.0 * log10(worst / fundamental);
}

static void check_band_limited(const char *waveform, int note)
{
    const double f0 = 440.0 * pow(2.0, (note - 69) / 12.0);
    const size_t n = 40000;
    SprungEvent events[] = {note_on(0, note, 127)};
    char fields[128];
    snprintf(fields, sizeof fields, ", \"waveform\": \"%s\", \"amplitude\": 1, \"attack_ms\": 0",
             waveform);
    float *out = render_notes(fields, events, 1, n);
    double alias = worst_alias_db(out + 4000, f0);

    /* The same tone without band-limiting, for comparison. */
    float *naive = malloc(n * sizeof *naive);
    for (size_t k = 0; k < n; k++) {
        double t = fmod(k * f0 / RATE, 1.0);
        naive[k] = (float)(strcmp(waveform, "saw") == 0 ? 2.0 * t - 1.0 : (t < 0.5 ? 1.0 : -1.0));
    }
    double naive_alias = worst_alias_db(naive + 4000, f0);
    printf("%s at %.1f Hz: worst aliased partial %.1f dB (a naive %s: %.1f dB)\n", waveform, f0,
           alias, waveform, naive_alias);
    CHECK(alias < ALIAS_LIMIT_DB, "%s: aliased partial at %.1f dB (limit %.0f)", waveform, alias,
          ALIAS_LIMIT_DB);
    CHECK(naive_alias > ALIAS_LIMIT_DB, "the alias measurement cannot see a naive %s", waveform);
    /* Amplitude: the fundamental of a unit saw/square is 2/π resp. 4/π. */
    double peak_value = peak(out + 4000, n - 4000);
    CHECK(peak_value > 0.9 && peak_value < 1.3, "%s peak %.3f", waveform, peak_value);
    free(out);
    free(naive);
}

/* sprung_additive_wave sums its partials in interleaved lanes, so a lane
 * that drops or adds the last partial, or a rotation that starts a lane on
 * the wrong harmonic, shows only for some harmonic counts: check each count
 * up to 40 (five rounds of eight lanes, every remainder) and some large ones
 * against the series in double precision, at 997 phases. The float sum's
 * rounding error grows about as 1.6e-7·K; a missing or extra partial k is
 * at least (2/π)/k at its peak, 6e-4 for k <= 1025. */
static void check_additive_series(void)
{
    static const unsigned counts[] = {76, 152, 305, 1023, 1024};
    double worst_ratio = 0.0;
    for (unsigned w = SPRUNG_KERNEL_WAVE_SAW; w <= SPRUNG_KERNEL_WAVE_SQUARE; ++w) {
        for (unsigned c = 0; c < 40 + sizeof counts / sizeof *counts; ++c) {
            unsigned harmonics = c < 40 ? c + 1 : counts[c - 40];
            double tolerance = 3e-7 * harmonics + 2e-6;
            for (unsigned i = 0; i < 997; ++i) {
                float t = (float)i / 997.0f;
                double sum = 0.0;
                for (unsigned k = 1; k <= harmonics; ++k)
                    if (w == SPRUNG_KERNEL_WAVE_SAW || (k & 1u))
                        sum += sin(2.0 * M_PI * k * (double)t) / k;
                double expected =
                    w == SPRUNG_KERNEL_WAVE_SAW ? -2.0 / M_PI * sum : 4.0 / M_PI * sum;
                double error = fabs(sprung_additive_wave(w, t, harmonics) - expected);
                worst_ratio = fmax(worst_ratio, error / tolerance);
                if (error > tolerance) {
                    CHECK(0, "%s of %u harmonics at phase %.4f: %.6f, the series gives %.6f",
                          w == SPRUNG_KERNEL_WAVE_SAW ? "saw" : "square", harmonics, (double)t,
                          (double)sprung_additive_wave(w, t, harmonics), expected);
                    break;
                }
            }
        }
    }
    printf("additive saw and square, 1..40 and up to 1024 harmonics: worst error %.2f of the "
           "tolerance\n", worst_ratio);
}

static void check_noise(void)
{
    const size_t n = 48000;
    SprungEvent events[] = {note_on(0, 60, 127)};
    const char *fields = ", \"waveform\": \"noise\", \"amplitude\": 1, \"attack_ms\": 0, \"seed\": 7";
    float *a = render_notes(fields, events, 1, n);
    float *b = render_notes(fields, events, 1, n);
    float *c = render_notes(", \"waveform\": \"noise\", \"amplitude\": 1, \"attack_ms\": 0, "
                            "\"seed\": 8", events, 1, n);
    double mean = 0.0;
    for (size_t k = 0; k < n; k++)
        mean += a[k];
    mean /= n;
    double level = rms(a, n);
    printf("noise: rms %.4f (uniform: %.4f), mean %.1e\n", level, 1.0 / sqrt(3.0), mean);
    CHECK(memcmp(a, b, n * sizeof *a) == 0, "noise with one seed is not reproducible");
    CHECK(memcmp(a, c, n * sizeof *a) != 0, "noise ignores its seed");
    CHECK(fabs(level - 1.0 / sqrt(3.0)) < 0.01, "noise rms %.4f", level);
    CHECK(fabs(mean) < 0.01, "noise mean %.4f", mean);
    CHECK(peak(a, n) <= 1.0, "noise beyond [-1, 1]");
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    check_sine();
    check_band_limited("saw", 100);
    check_band_limited("square", 100);
    check_band_limited("saw", 33);
    check_band_limited("square", 45);
    check_additive_series();
    check_noise();
    return finish("instrument_oscillator");
}
