/* The decimation filter of oversampling 2 and 4: its designed response
 * (passband flat within 0.1 dB below 18 kHz, at least 80 dB down from the
 * output Nyquist frequency to the engine's), its application (impulse and
 * sines through sprung_decimator_run in uneven blocks), and the latency the
 * engine reports against the delay measured through the whole engine. */
#include "engine/decimator.h"
#include "engine_test_util.h"

/* |H(f)| of a symmetric FIR about its centre (a real cosine sum). */
static double response(const double *taps, uint32_t n, double f, double engine_rate)
{
    double centre = 0.5 * (n - 1), sum = 0.0;
    for (uint32_t t = 0; t < n; t++)
        sum += taps[t] * cos(2.0 * M_PI * f * (t - centre) / engine_rate);
    return fabs(sum);
}

static void check_design(double sample_rate, uint32_t oversampling)
{
    uint32_t n = sprung_decimator_tap_count(sample_rate, oversampling);
    double *taps = test_alloc(n * sizeof *taps);
    sprung_decimator_design(sample_rate, oversampling, taps);
    double engine_rate = sample_rate * oversampling;

    CHECK(n % 2 == 1 && (n - 1) % (2 * oversampling) == 0,
          "%g Hz x%u: %u taps do not give an integer delay in frames", sample_rate,
          oversampling, n);
    double worst_pass = 0.0, worst_stop = -400.0;
    double pass_edge = fmin(18000.0, 0.4 * sample_rate);
    for (double f = 0.0; f <= pass_edge; f += 10.0)
        worst_pass = fmax(worst_pass, fabs(20.0 * log10(response(taps, n, f, engine_rate))));
    for (double f = 0.5 * sample_rate; f <= 0.5 * engine_rate; f += 2.0)
        worst_stop = fmax(worst_stop, 20.0 * log10(response(taps, n, f, engine_rate) + 1e-300));
    CHECK(worst_pass <= 0.1, "%g Hz x%u: passband deviates %.4f dB", sample_rate, oversampling,
          worst_pass);
    CHECK(worst_stop <= -80.0, "%g Hz x%u: stopband only %.1f dB", sample_rate, oversampling,
          worst_stop);
    printf("%6.0f Hz x%u: %3u taps, latency %2u frames, passband ±%.5f dB below %.0f Hz, "
           "stopband %.1f dB\n", sample_rate, oversampling, n, (n - 1) / (2 * oversampling),
           worst_pass, pass_edge, worst_stop);
    free(taps);
}

/* Runs `x` (n_frames·R engine samples, both channels) through a decimator in
 * blocks of uneven size. */
static void run_blocks(SprungDecimator *d, const float *x, uint32_t n_frames, float *y)
{
    static const uint32_t sizes[] = {1, 7, 64, 13, 300};
    uint32_t r = d->oversampling, done = 0;
    float right[300];
    for (uint32_t k = 0; done < n_frames; k++) {
        uint32_t n = sizes[k % 5];
        if (n > n_frames - done)
            n = n_frames - done;
        memcpy(sprung_decimator_input(d, 0), x + (size_t)done * r, (size_t)n * r * sizeof *x);
        memcpy(sprung_decimator_input(d, 1), x + (size_t)done * r, (size_t)n * r * sizeof *x);
        sprung_decimator_run(d, n, y + done, right);
        for (uint32_t j = 0; j < n; j++)
            CHECK(right[j] == y[done + j], "channels differ");
        done += n;
    }
}

static double sine_gain(SprungDecimator *d, double sample_rate, double f, uint32_t n_frames)
{
    uint32_t r = d->oversampling;
    float *x = test_alloc((size_t)n_frames * r * sizeof *x);
    float *y = test_alloc(n_frames * sizeof *y);
    for (size_t i = 0; i < (size_t)n_frames * r; i++)
        x[i] = (float)sin(2.0 * M_PI * f * i / (sample_rate * r));
    sprung_decimator_reset(d);
    run_blocks(d, x, n_frames, y);
    /* Peak after the filter has filled. */
    double peak = test_peak(y + d->n_taps, n_frames - d->n_taps);
    free(x);
    free(y);
    return peak;
}

static void check_runtime(double sample_rate, uint32_t oversampling)
{
    SprungDecimator d;
    CHECK(sprung_decimator_init(&d, sample_rate, oversampling, 300) == SPRUNG_OK, "init");
    uint32_t r = oversampling, frames = 400;

    /* Unit impulse at the last engine sample of frame 20: the output is the
     * taps taken every R, peaking exactly `latency` frames later. */
    float *x = test_alloc((size_t)frames * r * sizeof *x);
    float *y = test_alloc(frames * sizeof *y);
    x[20 * r + r - 1] = 1.0f;
    run_blocks(&d, x, frames, y);
    uint32_t peak_at = 0;
    for (uint32_t j = 0; j < frames; j++)
        if (fabs(y[j]) > fabs(y[peak_at]))
            peak_at = j;
    CHECK(peak_at == 20 + d.latency_frames, "%g Hz x%u: impulse peaks at frame %u, expected %u",
          sample_rate, r, peak_at, 20 + d.latency_frames);
    CHECK(y[peak_at] == (float)d.taps[d.n_taps / 2], "impulse peak is not the centre tap");
    for (uint32_t j = 0; j < 20; j++)
        CHECK(y[j] == 0.0f, "output before the impulse");

    double pass = sine_gain(&d, sample_rate, 1000.0, 2000);
    double high = sine_gain(&d, sample_rate, 17000.0, 2000);
    double stop = sine_gain(&d, sample_rate, 0.5 * sample_rate * 1.3, 2000);
    CHECK(fabs(20.0 * log10(pass)) < 0.1 && fabs(20.0 * log10(high)) < 0.1,
          "%g Hz x%u: sines at 1 and 17 kHz come out at %g and %g", sample_rate, r, pass, high);
    CHECK(20.0 * log10(stop) < -80.0, "%g Hz x%u: a sine at 1.3 x Nyquist leaks at %.1f dB",
          sample_rate, r, 20.0 * log10(stop));
    free(x);
    free(y);
    sprung_decimator_free(&d);
}

/* Through the engine: a 300 Hz body struck at frame 50, rendered at x1 and
 * at xR; the xR output is the x1 output delayed by the reported latency.
 * The two runs are different discretisations (the integrator's frequency
 * warp and timing differ by O(dt)), so they agree to NMSE ~1e-4 over the
 * first 1200 frames, not bit for bit; one frame of lag more or less costs
 * ~(2π·300/fs)² ≈ 1.5e-2, so the best lag is unambiguous. */
static const char *const ringer_json =
    "{'sprung': 1, 'name': 'ringer',"
    " 'bodies': [{'id': 'b', 'position': [0, 0, 0], 'mass': 0.1}],"
    " 'anchors': [{'id': 'a', 'position': [0, 0, 0.5]}],"
    " 'springs': [{'id': 's', 'from': 'a', 'to': 'b', 'stiffness': 355305.758}],"
    " 'mallets': [{'id': 'm', 'target': 'b', 'direction': [0, 0, 1], 'strength': 0.01}],"
    " 'microphones': [{'id': 'mic', 'target': 'b', 'axis': [0, 0, 1]}]}";

static void check_engine_latency(const SprungModel *model, double sample_rate, uint32_t r)
{
    enum { FRAMES = 2400 };
    static float base[FRAMES], base_r[FRAMES], over[FRAMES], over_r[FRAMES];
    SprungEvent hit = test_note_on(50, 60, 127);
    SprungEngine *one = test_engine(model, sample_rate, 1024, 1);
    SprungEngine *many = test_engine(model, sample_rate, 1024, r);
    CHECK(sprung_engine_latency_frames(one) == 0, "latency without oversampling");
    uint32_t latency = sprung_engine_latency_frames(many);
    uint32_t n_taps = 0;
    CHECK(sprung_engine_decimator_taps(many, &n_taps) && n_taps == 2 * r * latency + 1,
          "taps and latency disagree");
    CHECK(test_render(one, &hit, 1, FRAMES, 1024, base, base_r, 0), "render");
    CHECK(test_render(many, &hit, 1, FRAMES, 1024, over, over_r, 0), "render");

    /* Normalised error of over[j + lag] against base[j]. */
    uint32_t best_lag = 0;
    double best = INFINITY;
    for (uint32_t lag = 0; lag <= 2 * latency + 4; lag++) {
        double err = 0.0, energy = 0.0;
        for (uint32_t j = 0; j + lag < FRAMES && j < 1200; j++) {
            double diff = (double)over[j + lag] - base[j];
            err += diff * diff;
            energy += (double)base[j] * base[j];
        }
        if (err / energy < best) {
            best = err / energy;
            best_lag = lag;
        }
    }
    CHECK(best_lag == latency, "%g Hz x%u: measured delay %u frames, reported %u", sample_rate, r,
          best_lag, latency);
    CHECK(best < 3e-3, "%g Hz x%u: x%u output is not the x1 output delayed (NMSE %g)",
          sample_rate, r, r, best);
    printf("%6.0f Hz x%u: measured delay %u frames (reported %u), NMSE vs x1 %.2e\n",
           sample_rate, r, best_lag, latency, best);
    sprung_engine_free(one);
    sprung_engine_free(many);
}

int main(void)
{
    const double rates[] = {44100.0, 48000.0, 96000.0};
    for (int i = 0; i < 3; i++) {
        check_design(rates[i], 2);
        check_design(rates[i], 4);
    }
    check_runtime(48000.0, 2);
    check_runtime(44100.0, 4);
    SprungModel *model = test_model(ringer_json);
    check_engine_latency(model, 48000.0, 2);
    check_engine_latency(model, 44100.0, 4);
    sprung_model_free(model);
    if (test_failures) {
        fprintf(stderr, "%d check(s) failed\n", test_failures);
        return 1;
    }
    printf("engine decimator: ok\n");
    return 0;
}
