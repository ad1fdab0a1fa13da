/* Factory preset check: test_presets PRESET.json PHRASE.mid
 *
 * For one factory preset (ctest runs one instance per presets/ JSON file):
 *  1. it loads and validates, and its engine compiles (so it is stable) at
 *     48 kHz without oversampling, with a positive stability margin;
 *  2. it renders its MIDI phrase plus one second of tail with no NaN or Inf,
 *     a peak between -30 and 0 dBFS, an RMS above -60 dBFS (not silent), no
 *     DC offset (|mean| < -60 dBFS) and a last half second quieter than the
 *     loudest one (it rings down instead of blowing up);
 *     A preset with audio inputs gets, on input channels 0 and 1, a burst
 *     of white noise (0.1 peak, 50 ms) every half second of the phrase and
 *     silence in its last second.
 *  3. for every note claimed by a single-note mallet or pluck ("notes":
 *     [n, n]: the pitched presets; bows are left out, as a bowed string
 *     sounds a little flat of its free pitch by physics), a lone note at velocity 100 has a spectral peak within
 *     PITCH_TOLERANCE_CENTS of the note's equal-tempered frequency (A4 = 440
 *     Hz), no more than 30 dB below the loudest peak of the note, and peaks
 *     between -30 and 0 dBFS. Presets whose mallets cover note ranges
 *     (drums, gong) are unpitched and skip this step. An instanced preset
 *     ("voices") is checked at its root and the root's octaves in range
 *     from note 48 up.
 *
 * Sabotage switch: SPRUNG_TEST_SABOTAGE=detune renders each lone note a
 * quarter tone sharp of the note it claims to be (by checking against the
 * frequency a quarter tone flat), so the pitch check must fail.
 * SPRUNG_TEST_VERBOSE=1 prints every note's frequency, error and peak. */
#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/midi.h"
#include "model/model.h"
#include "model/model_modulation.h"
#include "sprung/sprung.h"

enum {
    SAMPLE_RATE = 48000,
    BLOCK = 512,
    NOTE_FRAMES = 8192, /* 0.17 s: a 5.9 Hz bin, interpolated to about a cent */
};

#define PITCH_TOLERANCE_CENTS 10.0
#define SEARCH_CENTS 60.0

static int failures;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                 \
            fputc('\n', stderr);                          \
            failures++;                                   \
        }                                                 \
    } while (0)

static double to_db(double amplitude)
{
    return amplitude > 0.0 ? 20.0 * log10(amplitude) : -999.0;
}

/* Renders n_frames into left/right, applying `events` (frames relative to
 * the start of the render, sorted) at their exact frames. */
static const float *phrase_input; /* n_frames of input for both channels, or NULL */

static int render(SprungEngine *engine, const SprungEvent *events, size_t n_events, float *left,
                  float *right, size_t n_frames)
{
    SprungEvent block_events[256];
    size_t next = 0;
    for (size_t start = 0; start < n_frames; start += BLOCK) {
        uint32_t n = (uint32_t)(n_frames - start < BLOCK ? n_frames - start : BLOCK);
        uint32_t count = 0;
        while (next < n_events && events[next].frame < start + n && count < 256) {
            block_events[count] = events[next++];
            block_events[count].frame -= (uint32_t)start;
            count++;
        }
        float *outputs[2] = {left + start, right + start};
        const float *inputs[2] = {phrase_input ? phrase_input + start : NULL,
                                  phrase_input ? phrase_input + start : NULL};
        SprungBlock block = {.n_frames = n, .events = block_events, .n_events = count,
                             .outputs = outputs, .n_outputs = 2,
                             .inputs = phrase_input ? inputs : NULL,
                             .n_inputs = phrase_input ? 2 : 0};
        if (sprung_engine_process(engine, &block) != SPRUNG_OK)
            return 0;
    }
    return 1;
}

static void check_phrase(const char *preset_path, const char *midi_path, SprungEngine *engine,
                         int has_inputs)
{
    SprungError error;
    SprungMidiSequence *midi = NULL;
    if (sprung_midi_load_file(midi_path, &midi, &error) != SPRUNG_OK) {
        CHECK(0, "%s", error.message);
        return;
    }
    size_t n_frames = (size_t)llround((midi->duration_s + 1.0) * SAMPLE_RATE);
    SprungEvent *events = calloc(midi->n_events ? midi->n_events : 1, sizeof *events);
    float *left = calloc(n_frames, sizeof *left);
    float *right = calloc(n_frames, sizeof *right);
    if (!events || !left || !right) {
        CHECK(0, "out of memory");
        goto done;
    }
    for (size_t e = 0; e < midi->n_events; e++) {
        const SprungMidiEvent *m = &midi->events[e];
        events[e] = (SprungEvent){.frame = (uint32_t)llround(m->time_s * SAMPLE_RATE),
                                  .type = m->type, .channel = m->channel, .note = m->note,
                                  .velocity = m->velocity, .value = m->value};
    }
    float *input = NULL;
    if (has_inputs) {
        input = calloc(n_frames, sizeof *input);
        uint32_t seed = 12345;
        for (size_t i = 0; input && i + SAMPLE_RATE < n_frames; i++) {
            seed = seed * 1664525u + 1013904223u;
            if (i % (SAMPLE_RATE / 2) < SAMPLE_RATE / 20)
                input[i] = 0.1f * (float)((seed >> 8) * (2.0 / 16777216.0) - 1.0);
        }
    }
    phrase_input = input;
    sprung_engine_reset(engine);
    int rendered = render(engine, events, midi->n_events, left, right, n_frames);
    phrase_input = NULL;
    free(input);
    if (!rendered) {
        CHECK(0, "%s: process() failed", preset_path);
        goto done;
    }

    double peak = 0.0, sum_sq = 0.0, mean[2] = {0.0, 0.0};
    size_t non_finite = 0;
    const size_t window = SAMPLE_RATE / 2;
    double loudest_window = 0.0, window_sq = 0.0, last_window = 0.0;
    for (size_t i = 0; i < n_frames; i++) {
        double l = left[i], r = right[i];
        if (!isfinite(l) || !isfinite(r)) {
            non_finite++;
            continue;
        }
        peak = fmax(peak, fmax(fabs(l), fabs(r)));
        sum_sq += l * l + r * r;
        mean[0] += l;
        mean[1] += r;
        window_sq += l * l + r * r;
        if ((i + 1) % window == 0) {
            double rms = sqrt(window_sq / (2.0 * window));
            loudest_window = fmax(loudest_window, rms);
            last_window = rms;
            window_sq = 0.0;
        }
    }
    double rms = sqrt(sum_sq / (2.0 * n_frames));
    mean[0] /= n_frames;
    mean[1] /= n_frames;
    printf("%s: phrase %.1f s, peak %.1f dBFS, rms %.1f dBFS, dc %.1e %.1e, last 0.5 s %.1f dB "
           "below the loudest\n",
           preset_path, (double)n_frames / SAMPLE_RATE, to_db(peak), to_db(rms), mean[0],
           mean[1], to_db(loudest_window) - to_db(last_window));
    CHECK(non_finite == 0, "%s: %zu non-finite samples", preset_path, non_finite);
    CHECK(to_db(peak) <= 0.0 && to_db(peak) >= -30.0,
          "%s: phrase peak %.2f dBFS outside [-30, 0]", preset_path, to_db(peak));
    CHECK(to_db(rms) > -60.0, "%s: phrase is silent (rms %.1f dBFS)", preset_path, to_db(rms));
    CHECK(fabs(mean[0]) < 1e-3 && fabs(mean[1]) < 1e-3, "%s: DC offset %.2e %.2e", preset_path,
          mean[0], mean[1]);
    CHECK(last_window < 0.5 * loudest_window,
          "%s: does not ring down (last 0.5 s %.1f dBFS, loudest %.1f dBFS)", preset_path,
          to_db(last_window), to_db(loudest_window));
done:
    free(events);
    free(left);
    free(right);
    sprung_midi_free(midi);
}

/* Frequency of the strongest spectral peak within SEARCH_CENTS of `target`,
 * by parabolic interpolation of the log magnitude of a Hann-windowed FFT.
 * Returns 0 when the strongest bin of the window is on its edge (no peak). */
static double measure_peak(const float *magnitude_db, size_t n_bins, double bin_hz,
                           double target, double *peak_db)
{
    double lo_hz = target * pow(2.0, -SEARCH_CENTS / 1200.0);
    double hi_hz = target * pow(2.0, SEARCH_CENTS / 1200.0);
    size_t lo = (size_t)ceil(lo_hz / bin_hz), hi = (size_t)floor(hi_hz / bin_hz);
    if (lo < 1)
        lo = 1;
    if (hi + 1 >= n_bins)
        hi = n_bins - 2;
    size_t best = lo;
    for (size_t k = lo; k <= hi; k++)
        if (magnitude_db[k] > magnitude_db[best])
            best = k;
    *peak_db = magnitude_db[best];
    if (magnitude_db[best - 1] >= magnitude_db[best] || magnitude_db[best + 1] >= magnitude_db[best])
        return 0.0;
    double a = magnitude_db[best - 1], b = magnitude_db[best], c = magnitude_db[best + 1];
    double offset = 0.5 * (a - c) / (a - 2.0 * b + c);
    return (best + offset) * bin_hz;
}

static void check_pitches(const char *preset_path, const SprungModel *model,
                          SprungEngine *engine, int sabotage)
{
    const int verbose = getenv("SPRUNG_TEST_VERBOSE") != NULL;
    int claimed[128] = {0};
    for (uint32_t m = 0; m < model->n_mallets; m++)
        if (model->mallets[m].note_low == model->mallets[m].note_high)
            claimed[model->mallets[m].note_low] = 1;
    for (uint32_t p = 0; p < model->n_plucks; p++)
        if (model->plucks[p].note_low == model->plucks[p].note_high)
            claimed[model->plucks[p].note_low] = 1;
    /* Instanced presets are tuned at their root and play every note by time
     * dilation: the root and its octaves within the playable range, from
     * C3 up (below, a NOTE_FRAMES window resolves a few cents at best). */
    const SprungModelInstrument *voices = model->instrument;
    if (voices && voices->voices)
        for (int note = voices->root % 12; note < 128; note += 12)
            claimed[note] = note >= 48 && note >= voices->note_low && note <= voices->note_high;

    float *left = malloc(NOTE_FRAMES * sizeof *left);
    float *right = malloc(NOTE_FRAMES * sizeof *right);
    float *in = fftwf_malloc(NOTE_FRAMES * sizeof *in);
    fftwf_complex *out = fftwf_malloc((NOTE_FRAMES / 2 + 1) * sizeof *out);
    float *magnitude_db = malloc((NOTE_FRAMES / 2 + 1) * sizeof *magnitude_db);
    if (!left || !right || !in || !out || !magnitude_db) {
        CHECK(0, "out of memory");
        goto done;
    }
    fftwf_plan plan = fftwf_plan_dft_r2c_1d(NOTE_FRAMES, in, out, FFTW_ESTIMATE);

    int checked = 0;
    double worst_cents = 0.0, quietest = 0.0, loudest = -999.0;
    int worst_note = -1;
    const size_t n_bins = NOTE_FRAMES / 2 + 1;
    const double bin_hz = (double)SAMPLE_RATE / NOTE_FRAMES;
    for (int note = 0; note < 128; note++) {
        if (!claimed[note])
            continue;
        sprung_engine_reset(engine);
        SprungEvent on = {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .note = (uint8_t)note,
                          .velocity = 100};
        if (!render(engine, &on, 1, left, right, NOTE_FRAMES)) {
            CHECK(0, "%s: process() failed", preset_path);
            break;
        }
        double note_peak = 0.0;
        for (size_t i = 0; i < NOTE_FRAMES; i++) {
            note_peak = fmax(note_peak, fmax(fabs(left[i]), fabs(right[i])));
            double hann = 0.5 - 0.5 * cos(2.0 * M_PI * i / NOTE_FRAMES);
            in[i] = (float)(hann * 0.5 * ((double)left[i] + right[i]));
        }
        fftwf_execute(plan);
        double spectrum_max = -999.0;
        for (size_t k = 0; k < n_bins; k++) {
            double power = (double)out[k][0] * out[k][0] + (double)out[k][1] * out[k][1];
            magnitude_db[k] = (float)(10.0 * log10(power + 1e-30));
            if (k > 0)
                spectrum_max = fmax(spectrum_max, magnitude_db[k]);
        }
        double target = 440.0 * pow(2.0, (note - 69) / 12.0);
        if (sabotage)
            target *= pow(2.0, -0.5 / 12.0);
        double peak_db = 0.0;
        double found = measure_peak(magnitude_db, n_bins, bin_hz, target, &peak_db);
        double cents = found > 0.0 ? 1200.0 * log2(found / target) : INFINITY;
        CHECK(found > 0.0, "%s: note %d: no spectral peak within %.0f cents of %.2f Hz",
              preset_path, note, SEARCH_CENTS, target);
        CHECK(fabs(cents) <= PITCH_TOLERANCE_CENTS,
              "%s: note %d: peak at %.3f Hz is %.2f cents from %.3f Hz (tolerance %.0f)",
              preset_path, note, found, cents, target, PITCH_TOLERANCE_CENTS);
        CHECK(peak_db >= spectrum_max - 30.0,
              "%s: note %d: the note's partial is %.1f dB below the loudest peak", preset_path,
              note, spectrum_max - peak_db);
        CHECK(to_db(note_peak) <= 0.0 && to_db(note_peak) >= -30.0,
              "%s: note %d: peak %.1f dBFS outside [-30, 0]", preset_path, note,
              to_db(note_peak));
        if (verbose)
            printf("  note %3d: %9.3f Hz, %+6.2f cents, peak %6.1f dBFS\n", note, found, cents,
                   to_db(note_peak));
        if (isfinite(cents) && fabs(cents) >= fabs(worst_cents)) {
            worst_cents = cents;
            worst_note = note;
        }
        if (checked == 0 || to_db(note_peak) < quietest)
            quietest = to_db(note_peak);
        loudest = fmax(loudest, to_db(note_peak));
        checked++;
    }
    if (checked > 0)
        printf("%s: %d pitched notes, worst tuning error %+.2f cents (note %d), single-note "
               "peaks %.1f..%.1f dBFS at velocity 100\n",
               preset_path, checked, worst_cents, worst_note, quietest, loudest);
    else
        printf("%s: unpitched (no single-note mallets or plucks): pitch check skipped\n",
               preset_path);
    fftwf_destroy_plan(plan);
done:
    free(left);
    free(right);
    fftwf_free(in);
    fftwf_free(out);
    free(magnitude_db);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PRESET.json PHRASE.mid\n", argv[0]);
        return 2;
    }
    const char *sabotage_env = getenv("SPRUNG_TEST_SABOTAGE");
    int sabotage = sabotage_env && strcmp(sabotage_env, "detune") == 0;

    SprungError error;
    SprungModel *model = NULL;
    if (sprung_model_load_file(argv[1], &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s\n", error.message);
        return 1;
    }
    SprungAnalysis analysis;
    if (sprung_model_analyze(model, SAMPLE_RATE, &analysis) == SPRUNG_OK) {
        CHECK(analysis.stable && analysis.stability_margin > 0.0,
              "%s: unstable at 48 kHz (margin %g)", argv[1], analysis.stability_margin);
        printf("%s: stable at 48 kHz, margin %.3f of 4, modes %.1f..%.1f Hz\n", argv[1],
               analysis.stability_margin, analysis.lowest_mode_hz, analysis.highest_mode_hz);
    } else {
        CHECK(0, "%s: analysis failed", argv[1]);
    }

    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = SAMPLE_RATE;
    config.max_block_frames = BLOCK;
    config.oversampling = 1;
    SprungEngine *engine = NULL;
    if (sprung_engine_new(&config, model, &engine, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s\n", error.message);
        sprung_model_free(model);
        return 1;
    }

    check_phrase(argv[1], argv[2], engine, model->n_audio_inputs > 0);
    check_pitches(argv[1], model, engine, sabotage);

    sprung_engine_free(engine);
    sprung_model_free(model);
    if (failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", argv[1], failures);
        return 1;
    }
    printf("%s: ok\n", argv[1]);
    return 0;
}
