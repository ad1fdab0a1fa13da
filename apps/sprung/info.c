/* `sprung info`: what a preset holds and what the linear analysis predicts
 * for it (stability margin, smallest stable oversampling, mode range). */
#include <math.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"
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
           "options:\n"
           "  --sample-rate HZ   output sample rate (default 48000)\n"
           "  --oversample N     oversampling factor: 1, 2 or 4 (default 1)\n"
           "  -h, --help         show this help\n"
           "\n"
           "Exit status: 0 success (also for an unstable preset), 1 the preset cannot be\n"
           "loaded, 2 bad command line.\n");
}

int sprung_cmd_info(int argc, char **argv)
{
    double sample_rate = 48000.0;
    uint32_t oversample = 1;
    int r = cli_parse_rate_options(COMMAND, argc, argv, print_help, &sample_rate, &oversample);
    if (r >= 0)
        return r;
    if (optind >= argc)
        return cli_usage_error(COMMAND, "no preset given");
    if (argc - optind > 1)
        return cli_usage_error(COMMAND, "unexpected argument '%s' (only one preset)",
                               argv[optind + 1]);
    const char *path = argv[optind];

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
    sprung_model_free(model);
    return CLI_EXIT_OK;
}
