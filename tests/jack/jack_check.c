/* Checks a recording of `sprung play` (or, built with JACK_CHECK_PLAIN_OUTPUT,
 * of the LV2 instrument under jalv) against the offline render of the same
 * looped MIDI phrase (LOOP frames; events "FRAME:HEX" as jack_midi_loop
 * sends them, jack_events.h): renders PRESET through the runner
 * (configured as `sprung play` configures it) playing the loop from rest,
 * as the client under test heard it, then finds the lag that best aligns
 * the recording with it and prints the normalised cross-correlation of
 * both channels. The recording starts about SETTLE frames after the loop
 * did (jack_freewheel_rec's settling; the sender and the recorder each
 * start at their own notice that the server freewheels, a period or a few
 * apart), so the lag is searched within half a loop either side of
 * SETTLE: the render then has the recording's own history, and a preset
 * that rings longer than SETTLE still matches.
 * Passes when the recording is not silent and the correlation is above
 * MIN.
 *
 * The messages mean to the render what sprung_event_from_midi makes of
 * them (its own test, engine_midi_events, checks it); what this checks is
 * that they crossed JACK and reached the runner. With --each-heard it also
 * shows the phrase can tell: for each kind of expression in it (pitch bend,
 * channel pressure, poly pressure, each controller number), the render
 * without those messages must correlate with the recording at the same
 * lag no more than UNHEARD_MAX (0.99, a clear difference, whatever MIN
 * is), so a front end that dropped them would fail. With --input the render also
 * feeds jack_loop_audio, the sender's looped audio, to the model's audio
 * inputs 0 and 1, as the tests connect it to the client's two inputs (with
 * no MIDI, a client that dropped its inputs records silence).
 * Exit status: 0 a match, 1 no match (or bad input files), 3 a match but
 * some expression is not heard (the phrase cannot tell: a fault of the
 * test, not of what it recorded), 2 a bad command line.
 * Usage: jack_check [--each-heard] [--input] PRESET RECORDING.wav MIN SETTLE LOOP
 *                   [FRAME:HEX...] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/wav.h"
#include "jack_events.h"
#include "sprung/sprung.h"

enum { BLOCK = 64, NO_CLASS = -1 };
static const double UNHEARD_MAX = 0.99; /* --each-heard's bound: see above */

/* What --each-heard leaves out at once: notes are never left out; the
 * other kinds by type, controllers by number. */
static int expression_class(const SprungEvent *event)
{
    switch (event->type) {
    case SPRUNG_EVENT_NOTE_ON:
    case SPRUNG_EVENT_NOTE_OFF:
        return NO_CLASS;
    case SPRUNG_EVENT_CONTROL_CHANGE:
        return 1000 + event->note;
    default:
        return (int)event->type;
    }
}

static void describe_class(int class, char *text, size_t size)
{
    switch (class) {
    case SPRUNG_EVENT_PITCH_BEND:
        snprintf(text, size, "pitch bend");
        break;
    case SPRUNG_EVENT_CHANNEL_PRESSURE:
        snprintf(text, size, "channel pressure");
        break;
    case SPRUNG_EVENT_POLY_PRESSURE:
        snprintf(text, size, "poly pressure");
        break;
    default:
        snprintf(text, size, "CC %d", class - 1000);
    }
}

/* Whether the looped audio goes to the model's inputs (--input). */
static int feed_input;

/* `total` frames of the runner playing the loop from rest, interleaved
 * stereo; events of class `left_out` are not played (NO_CLASS: all are).
 * NULL after printing why when the model cannot be set up. */
static float *render_phrase(const char *preset, double rate, uint32_t loop,
                            const JackEvent *phrase, uint32_t n_phrase, int left_out, size_t total)
{
    SprungError error = {0};
    SprungModel *model = NULL;
    SprungEngine *engine = NULL;
    SprungRunner *runner = NULL;
    if (sprung_model_load_file(preset, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s\n", error.message);
        return NULL;
    }
    SprungEngineConfig engine_config = sprung_engine_config_default();
    engine_config.sample_rate = rate;
    engine_config.max_block_frames = BLOCK;
    SprungRunnerConfig config = sprung_runner_config_default();
    config.sample_rate = rate;
    config.max_block_frames = BLOCK;
    /* The output stage of what was recorded: `sprung play` adds a DC blocker
     * and a limiter; the LV2 plugin (built with JACK_CHECK_PLAIN_OUTPUT for
     * tests/lv2) has neither, like `sprung render`. */
#ifdef JACK_CHECK_PLAIN_OUTPUT
    config.dc_blocker = 0;
    config.limiter = 0;
#else
    config.dc_blocker = 1;
    config.limiter = 1;
#endif
    if (sprung_engine_new(&engine_config, model, &engine, &error) != SPRUNG_OK ||
        sprung_runner_new(&config, engine, &runner, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s\n", error.message);
        sprung_engine_free(engine); /* the runner did not take it (NULL-safe) */
        sprung_model_free(model);
        return NULL;
    }
    float *render = malloc(sizeof(float) * 2 * total);
    if (!render)
        fprintf(stderr, "FAIL: out of memory for %zu frames\n", total);
    float left[BLOCK], right[BLOCK], input[BLOCK];
    float *const outs[2] = {left, right};
    const float *const ins[2] = {input, input};
    for (size_t pos = 0; render && pos < total; pos += BLOCK) {
        for (uint32_t f = 0; f < BLOCK; f++)
            input[f] = jack_loop_audio((uint32_t)((pos + f) % loop));
        SprungEvent events[BLOCK * JACK_EVENTS_MAX];
        uint32_t k = 0;
        /* Events in [pos, pos + BLOCK), in frame order, as the front end
         * passes them. */
        for (uint32_t f = 0; f < BLOCK; f++) {
            uint32_t phase = (uint32_t)((pos + f) % loop);
            for (uint32_t i = 0; i < n_phrase; i++)
                if (phrase[i].frame == phase &&
                    sprung_event_from_midi(phrase[i].bytes, phrase[i].size, f, &events[k]) &&
                    (left_out == NO_CLASS || expression_class(&events[k]) != left_out))
                    k++;
        }
        sprung_runner_process(runner, BLOCK, feed_input ? ins : NULL, feed_input ? 2 : 0, outs,
                              2, events, k);
        for (uint32_t f = 0; f < BLOCK && pos + f < total; f++) {
            render[2 * (pos + f)] = left[f];
            render[2 * (pos + f) + 1] = right[f];
        }
    }
    sprung_runner_free(runner); /* frees the engine it owns */
    sprung_model_free(model);
    return render;
}

static double energy(const float *samples, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)samples[i] * samples[i];
    return sum;
}

/* Normalised cross-correlation of n interleaved stereo frames; energy_rec
 * is the recording's (worked out once: the lag search calls this for
 * every lag). */
static double correlation(const float *recording, double energy_rec, const float *render,
                          size_t n)
{
    double dot = 0.0, energy_ref = 0.0;
    for (size_t i = 0; i < 2 * n; i++) {
        dot += (double)recording[i] * render[i];
        energy_ref += (double)render[i] * render[i];
    }
    return energy_rec > 0.0 && energy_ref > 0.0 ? dot / sqrt(energy_rec * energy_ref) : 0.0;
}

/* --each-heard: renders the phrase without each kind of expression in it
 * in turn and compares it with the recording at the lag found (`offset`
 * frames into the render). Returns how many kinds correlate above
 * UNHEARD_MAX without them: none may (a phrase of notes only counts as
 * one). */
static int count_unheard(const char *preset, double rate, uint32_t loop, const JackEvent *phrase,
                         uint32_t n_phrase, const float *rec, double energy_rec, size_t n,
                         size_t offset)
{
    int done[JACK_EVENTS_MAX], unheard = 0;
    uint32_t n_done = 0;
    for (uint32_t i = 0; i < n_phrase; i++) {
        SprungEvent event;
        if (!sprung_event_from_midi(phrase[i].bytes, phrase[i].size, 0, &event))
            continue;
        int class = expression_class(&event);
        int seen = class == NO_CLASS;
        for (uint32_t d = 0; d < n_done; d++)
            seen |= done[d] == class;
        if (seen)
            continue;
        done[n_done++] = class;
        char name[32];
        describe_class(class, name, sizeof name);
        float *without = render_phrase(preset, rate, loop, phrase, n_phrase, class, offset + n);
        if (!without)
            return unheard + 1;
        double c = correlation(rec, energy_rec, without + 2 * offset, n);
        free(without);
        printf("without %s: correlation %.6f at that lag (must stay at or below %g)\n", name,
               c, UNHEARD_MAX);
        if (c > UNHEARD_MAX) {
            fprintf(stderr, "FAIL: the phrase's %s is not heard: leaving it out still matches\n",
                    name);
            unheard++;
        }
    }
    if (n_done == 0) {
        fprintf(stderr, "FAIL: --each-heard, but the phrase holds only notes\n");
        unheard++;
    }
    return unheard;
}

int main(int argc, char **argv)
{
    int each_heard = 0;
    for (; argc > 1 && !strncmp(argv[1], "--", 2); argc--, argv++) {
        if (!strcmp(argv[1], "--each-heard"))
            each_heard = 1;
        else if (!strcmp(argv[1], "--input"))
            feed_input = 1;
        else
            break;
    }
    if (argc < 6) {
        fprintf(stderr, "usage: jack_check [--each-heard] [--input] PRESET RECORDING.wav MIN "
                        "SETTLE LOOP [FRAME:HEX...]\n");
        return 2;
    }
    const char *preset = argv[1], *recording = argv[2];
    const double min_correlation = atof(argv[3]);
    const long settle = atol(argv[4]);
    JackEvent phrase[JACK_EVENTS_MAX];
    uint32_t loop, n_phrase;
    if (!jack_events_parse(argv[5], argc - 6, argv + 6, &loop, phrase, &n_phrase))
        return 2;
    if (settle < (long)(loop / 2)) {
        fprintf(stderr, "jack_check: SETTLE must be at least half a loop (%u frames), not %s\n",
                loop / 2, argv[4]);
        return 2;
    }

    SprungError error = {0};
    SprungAudio *audio = NULL;
    if (sprung_wav_read(recording, &audio, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s\n", error.message);
        return 1;
    }
    if (audio->channels != 2 || audio->n_frames < 2 * loop) {
        fprintf(stderr, "FAIL: %s: %u channels, %zu frames (want 2 channels, >= %u frames)\n",
                recording, audio->channels, audio->n_frames, 2 * loop);
        return 1;
    }
    const double rate = audio->sample_rate;
    const size_t n = audio->n_frames;
    const float *rec = audio->samples;
    const double energy_rec = energy(rec, 2 * n);
    float peak = 0.0f;
    for (size_t i = 0; i < 2 * n; i++)
        peak = fmaxf(peak, fabsf(rec[i]));
    printf("recording: %zu frames at %.0f Hz, peak %.1f dBFS\n", n, rate,
           peak > 0 ? 20.0 * log10(peak) : -INFINITY);
    if (!(peak > 1e-4f)) {
        fprintf(stderr, "FAIL: the recording is silent\n");
        return 1;
    }

    const size_t warmup = (size_t)settle - loop / 2; /* the earliest start searched */
    const size_t total = warmup + loop + n;
    float *render = render_phrase(preset, rate, loop, phrase, n_phrase, NO_CLASS, total);
    if (!render)
        return 1;
    /* Best lag within half a loop of SETTLE. */
    double best = -2.0;
    uint32_t best_lag = 0;
    for (uint32_t lag = 0; lag < loop; lag++) {
        double c = correlation(rec, energy_rec, render + 2 * (warmup + lag), n);
        if (c > best) {
            best = c;
            best_lag = lag;
        }
    }
    free(render);
    printf("best alignment: the recording starts %+ld frames from SETTLE, normalised "
           "cross-correlation %.6f (1 - %.1e; need > %g)\n",
           (long)best_lag - (long)(loop / 2), best, 1.0 - best, min_correlation);
    const int matched = best > min_correlation;
    if (!matched)
        fprintf(stderr, "FAIL: the recording does not match the offline render (%.6f)\n", best);

    const int unheard = matched && each_heard ? count_unheard(preset, rate, loop, phrase,
                                                              n_phrase, rec, energy_rec, n,
                                                              warmup + best_lag)
                                              : 0;
    sprung_audio_free(audio);
    if (!matched)
        return 1;
    if (unheard)
        return 3;
    printf("OK\n");
    return 0;
}
