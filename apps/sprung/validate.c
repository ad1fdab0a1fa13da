/* `sprung validate`: loads presets, reports the first error of each, and
 * checks that each is stable at the requested engine rate. */
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "model/analysis.h"
#include "sprung/sprung.h"

#define COMMAND "validate"

static void print_help(void)
{
    printf("usage: sprung validate PRESET... [options]\n"
           "\n"
           "Checks each preset: valid JSON, every field of the right type and range,\n"
           "every id known and unique, at least one microphone, and a linearised\n"
           "model that is stable at the sample rate times the oversampling factor.\n"
           "Prints 'PRESET: ok (...)' or the error.\n"
           "\n"
           "options:\n"
           "  --sample-rate HZ   sample rate to check stability at (default 48000)\n"
           "  --oversample N     oversampling factor: 1, 2 or 4 (default 1)\n"
           "  -h, --help         show this help\n"
           "\n"
           "Exit status: 0 all presets are valid, 1 any is not, 2 bad command line.\n");
}

int sprung_cmd_validate(int argc, char **argv)
{
    double sample_rate = 48000.0;
    uint32_t oversample = 1;
    int r = cli_parse_rate_options(COMMAND, argc, argv, print_help, &sample_rate, &oversample);
    if (r >= 0)
        return r;
    if (optind >= argc)
        return cli_usage_error(COMMAND, "no preset given");

    int exit_code = CLI_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        const char *path = argv[i];
        SprungError error = {0};
        SprungModel *model = NULL;
        if (sprung_model_load_file(path, &model, &error) != SPRUNG_OK ||
            sprung_model_check_stability(model, sample_rate, oversample, &error) != SPRUNG_OK) {
            fprintf(stderr, "%s\n", error.message);
            exit_code = CLI_EXIT_FAILURE;
        } else {
            SprungModelCounts n = sprung_model_counts(model);
            printf("%s: ok (%u bodies, %u anchors, %u springs, %u mallets, %u microphones; "
                   "stable at %.0f Hz x %u)\n",
                   path, n.bodies, n.anchors, n.springs, n.mallets, n.microphones, sample_rate,
                   oversample);
        }
        sprung_model_free(model);
    }
    return exit_code;
}
