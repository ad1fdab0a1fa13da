/* Checks a recording of `sprung play` (or, built with JACK_CHECK_PLAIN_OUTPUT,
 * of the LV2 instrument under jalv) against the offline render of the
 * same notes: renders PRESET through the runner (configured as `sprung
 * play` configures it) playing the jack_midiseq loop (LOOP frames; each
 * note "START NOTE LENGTH" is a note-on at START and a note-off LENGTH
 * later, velocity 64 as jack_midiseq sends), long enough for the loop's
 * sound to have settled, then finds the lag that best aligns the recording
 * with it (the pattern is periodic: any lag in one loop) and prints the
 * normalised cross-correlation of both channels. Passes when the recording
 * is not silent and the correlation is above MIN (0.99).
 * Usage: jack_check PRESET RECORDING.wav LOOP MIN START NOTE LENGTH [...] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/wav.h"
#include "sprung/sprung.h"

enum { MAX_NOTES = 32, BLOCK = 64 };

int main(int argc, char **argv)
{
    if (argc < 8 || (argc - 5) % 3) {
        fprintf(stderr, "usage: %s PRESET RECORDING.wav LOOP MIN START NOTE LENGTH [...]\n",
                argv[0]);
        return 2;
    }
    const char *preset = argv[1], *recording = argv[2];
    const uint32_t loop = (uint32_t)atoi(argv[3]);
    const double min_correlation = atof(argv[4]);
    uint32_t n_notes = (uint32_t)(argc - 5) / 3, start[MAX_NOTES], length[MAX_NOTES];
    uint8_t note[MAX_NOTES];
    if (n_notes > MAX_NOTES || loop < 64) {
        fprintf(stderr, "jack_check: at most %d notes and a loop of at least 64 frames\n",
                MAX_NOTES);
        return 2;
    }
    for (uint32_t i = 0; i < n_notes; i++) {
        start[i] = (uint32_t)atoi(argv[5 + 3 * i]);
        note[i] = (uint8_t)atoi(argv[6 + 3 * i]);
        length[i] = (uint32_t)atoi(argv[7 + 3 * i]);
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
    double energy_rec = 0.0;
    float peak = 0.0f;
    for (size_t i = 0; i < 2 * n; i++) {
        energy_rec += (double)audio->samples[i] * audio->samples[i];
        peak = fmaxf(peak, fabsf(audio->samples[i]));
    }
    printf("recording: %zu frames at %.0f Hz, peak %.1f dBFS\n", n, rate,
           peak > 0 ? 20.0 * log10(peak) : -INFINITY);
    if (!(peak > 1e-4f)) {
        fprintf(stderr, "FAIL: the recording is silent\n");
        return 1;
    }

    /* The offline render through the runner, as `sprung play` sets it up. */
    SprungModel *model = NULL;
    if (sprung_model_load_file(preset, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s\n", error.message);
        return 1;
    }
    SprungEngineConfig engine_config = sprung_engine_config_default();
    engine_config.sample_rate = rate;
    engine_config.max_block_frames = BLOCK;
    SprungEngine *engine = NULL;
    SprungRunner *runner = NULL;
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
        return 1;
    }
    const uint32_t settle_loops = (uint32_t)ceil(4.0 * rate / loop) + 1; /* >= 4 s of history */
    const size_t warmup = (size_t)settle_loops * loop;
    const size_t total = warmup + loop + n;
    float *render = malloc(sizeof(float) * 2 * total);
    float left[BLOCK], right[BLOCK];
    float *const outs[2] = {left, right};
    for (size_t pos = 0; pos < total; pos += BLOCK) {
        SprungEvent events[2 * MAX_NOTES];
        uint32_t k = 0;
        /* Events in [pos, pos + BLOCK), in frame order. */
        for (uint32_t f = 0; f < BLOCK; f++) {
            uint32_t phase = (uint32_t)((pos + f) % loop);
            for (uint32_t i = 0; i < n_notes; i++) {
                if (phase == start[i])
                    events[k++] = (SprungEvent){.frame = f, .type = SPRUNG_EVENT_NOTE_ON,
                                                .note = note[i], .velocity = 64};
                if (phase == (start[i] + length[i]) % loop)
                    events[k++] = (SprungEvent){.frame = f, .type = SPRUNG_EVENT_NOTE_OFF,
                                                .note = note[i], .velocity = 64};
            }
        }
        sprung_runner_process(runner, BLOCK, NULL, 0, outs, 2, events, k);
        for (uint32_t f = 0; f < BLOCK && pos + f < total; f++) {
            render[2 * (pos + f)] = left[f];
            render[2 * (pos + f) + 1] = right[f];
        }
    }
    sprung_runner_free(runner);
    sprung_model_free(model);

    /* Best lag in one loop: normalised correlation of both channels. */
    double best = -2.0;
    uint32_t best_lag = 0;
    const float *rec = audio->samples;
    for (uint32_t lag = 0; lag < loop; lag++) {
        const float *ref = render + 2 * (warmup + lag);
        double dot = 0.0, energy_ref = 0.0;
        for (size_t i = 0; i < 2 * n; i++) {
            dot += (double)rec[i] * ref[i];
            energy_ref += (double)ref[i] * ref[i];
        }
        double c = energy_ref > 0.0 ? dot / sqrt(energy_rec * energy_ref) : 0.0;
        if (c > best) {
            best = c;
            best_lag = lag;
        }
    }
    printf("best alignment: lag %u of %u frames, normalised cross-correlation %.6f (need > "
           "%.2f)\n",
           best_lag, loop, best, min_correlation);
    free(render);
    sprung_audio_free(audio);
    if (!(best > min_correlation)) {
        fprintf(stderr, "FAIL: the recording does not match the offline render (%.6f)\n", best);
        return 1;
    }
    printf("OK\n");
    return 0;
}
