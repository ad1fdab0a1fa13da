/* `sprung info`: what a preset holds and what the linear analysis predicts
 * for it (stability margin, smallest stable oversampling, mode range; for
 * an instanced preset also at its highest playable note). */
#include <math.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "model/analysis.h"
#include "model/model.h"
#include "model/model_modulation.h"
#include "sprung/sprung.h"

#define COMMAND "info"

static void print_help(void)
{
    printf("usage: sprung info PRESET [options]\n"
           "\n"
           "Prints the preset's name and object counts, and what the linearised model\n"
           "predicts at the engine rate (sample rate times oversampling): the stability\n"
           "margin (4 - lambda_max*dt^2 with damping; above 0 is stable), the smallest\n"
           "oversampling factor that is stable, and the lowest and highest mode\n"
           "frequencies as the engine will produce them. The lowest mode needs a full\n"
           "eigendecomposition and is left out for large models.\n"
           "\n"
           "For an instanced preset (\"voices\") it also prints the voice count, root and\n"
           "playable notes, and the analysis at the highest playable note, whose voice\n"
           "steps fastest (dt*2^((note - root)/12)) and which the engine checks; when\n"
           "that note is unstable it names the highest stable one.\n"
           "\n"
           "options:\n"
           "  --sample-rate HZ   output sample rate (default 48000)\n"
           "  --oversample N     oversampling factor: 1, 2 or 4 (default 1)\n"
           "  -h, --help         show this help\n"
           "\n"
           "Exit status: 0 success (also for an unstable preset), 1 the preset cannot be\n"
           "loaded, 2 bad command line.\n");
}

/* Instanced mode: a voice of note N steps as the network would at
 * engine_rate / 2^((N - root)/12), so the analysis at that rate is the
 * voice's, and its mode frequencies in model time sound 2^((N - root)/12)
 * higher. The highest stable note comes from the engine's own check. */
static void print_voices(const SprungModel *model, double sample_rate, uint32_t oversample)
{
    const SprungModelInstrument *spec = model->instrument;
    const double engine_rate = sample_rate * oversample;
    const double scale = exp2((spec->note_high - spec->root) / 12.0);
    printf("voices:           %u\n", spec->voices);
    printf("root note:        %d\n", spec->root);
    printf("playable notes:   %d..%d\n", spec->note_low, spec->note_high);
    SprungAnalysis a;
    if (sprung_model_analyze(model, engine_rate / scale, &a) != SPRUNG_OK) {
        printf("at note %d:       analysis failed\n", spec->note_high);
        return;
    }
    printf("at note %-3d margin: %.6g (%s; the voice steps at dt x %.4g)\n", spec->note_high,
           a.stability_margin, a.stable ? "stable" : "UNSTABLE", scale);
    if (a.min_oversampling)
        printf("at note %-3d min oversampling: %u\n", spec->note_high, a.min_oversampling);
    else
        printf("at note %-3d min oversampling: none of 1, 2, 4 is stable\n", spec->note_high);
    if (a.lowest_mode_hz > 0.0)
        printf("at note %-3d lowest mode:  %.6g Hz\n", spec->note_high, a.lowest_mode_hz * scale);
    if (isfinite(a.highest_mode_hz))
        printf("at note %-3d highest mode: %.6g Hz\n", spec->note_high,
               a.highest_mode_hz * scale);
    SprungError error = {0};
    if (sprung_model_check_stability(model, sample_rate, oversample, &error) != SPRUNG_OK)
        printf("voice stability:  %s\n", error.message);
    else
        printf("voice stability:  every playable note is stable\n");
}

int sprung_cmd_info(int argc, char **argv)
{
    double sample_rate = 48000.0;
    uint32_t oversample = 1;
    int r = cli_parse_rate_options(COMMAND, argc, argv, print_help, &sample_rate, &oversample);
    if (r >= 0)
        return r;
    const char *path;
    if ((r = cli_parse_one_preset(COMMAND, argc, argv, 1, &path)))
        return r;

    SprungError error = {0};
    SprungModel *model = NULL;
    if (sprung_model_load_file(path, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "%s\n", error.message);
        return CLI_EXIT_FAILURE;
    }
    const double engine_rate = sample_rate * oversample;
    SprungAnalysis a;
    SprungStatus s = sprung_model_analyze(model, engine_rate, &a);
    if (s != SPRUNG_OK) {
        fprintf(stderr, "%s: analysis failed: %s\n", path, sprung_strerror(s));
        sprung_model_free(model);
        return CLI_EXIT_FAILURE;
    }

    SprungModelCounts n = sprung_model_counts(model);
    printf("preset:           %s\n", path);
    printf("name:             %s\n", sprung_model_name(model));
    printf("bodies:           %u\n", n.bodies);
    printf("anchors:          %u\n", n.anchors);
    printf("springs:          %u\n", n.springs);
    printf("mallets:          %u\n", n.mallets);
    printf("microphones:      %u\n", n.microphones);
    const struct {
        const char *label;
        uint32_t count;
    } extra[] = {
        {"oscillators:      ", model->n_oscillators},
        {"plucks:           ", model->n_plucks},
        {"bows:             ", model->n_bows},
        {"audio inputs:     ", model->n_audio_inputs},
        {"collisions:       ", model->n_collisions},
        {"delays:           ", model->n_delays},
        {"sources:          ", model->instrument ? model->instrument->n_sources : 0},
        {"routes:           ", model->instrument ? model->instrument->n_routes : 0},
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (extra[i].count)
            printf("%s%u\n", extra[i].label, extra[i].count);
    printf("engine rate:      %.0f Hz (%.0f Hz x %u)\n", engine_rate, sample_rate, oversample);
    printf("stability margin: %.6g (%s; 4 - lambda_max*dt^2, damping included)\n",
           a.stability_margin, a.stable ? "stable" : "UNSTABLE");
    if (a.min_oversampling)
        printf("min oversampling: %u\n", a.min_oversampling);
    else
        printf("min oversampling: none of 1, 2, 4 is stable\n");
    if (a.lowest_mode_hz > 0.0)
        printf("lowest mode:      %.6g Hz\n", a.lowest_mode_hz);
    else if (!a.stable)
        printf("lowest mode:      not computed (unstable at this rate)\n");
    else if (!a.modes_exact)
        printf("lowest mode:      not computed (model too large for a full "
               "eigendecomposition)\n");
    else
        printf("lowest mode:      none (no non-zero mode)\n");
    if (isfinite(a.highest_mode_hz))
        printf("highest mode:     %.6g Hz\n", a.highest_mode_hz);
    else
        printf("highest mode:     none: unstable at this rate (try --oversample %u)\n",
               a.min_oversampling ? a.min_oversampling : 4);
    if (a.rigid_modes)
        printf("rigid modes:      %u (zero-frequency motions: directions in which nothing "
               "holds a body)\n",
               a.rigid_modes);
    if (model->instrument && model->instrument->voices)
        print_voices(model, sample_rate, oversample);
    sprung_model_free(model);
    return CLI_EXIT_OK;
}
