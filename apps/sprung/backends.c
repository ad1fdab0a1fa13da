/* `sprung backends`: the simulation backends this build has, their devices
 * and limits, and why a backend cannot run here. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "sprung/backends.h"

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: sprung backends\n"
            "\n"
            "Lists the simulation backends of this build: for each, whether it can run on\n"
            "this machine, its devices (name and limits), or why it cannot, and the\n"
            "preset features it lacks. Choose one with --backend NAME[:DEVICE] on the\n"
            "commands that simulate; 'auto' picks the first available CPU backend of\n"
            "this list.\n");
}

int sprung_cmd_backends(int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    cli_getopt_reset();
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (opt == 'h') {
            print_help(stdout);
            return CLI_EXIT_OK;
        }
        return cli_getopt_error("backends", opt, argv, options);
    }
    if (optind < argc)
        return cli_usage_error("backends", "unexpected argument '%s'", argv[optind]);

    for (uint32_t i = 0; i < sprung_backend_count(); ++i) {
        SprungBackendInfo info;
        sprung_backend_info(i, &info);
        printf("%-8s %-10s %s\n", info.name, info.available ? "available" : "missing",
               info.description);
        if (!info.available)
            printf("         why: %s\n", info.reason);
        if (info.lacks[0])
            printf("         lacks: %s (a preset with them runs on another backend)\n",
                   info.lacks);
        for (uint32_t d = 0; d < info.n_devices; ++d)
            printf("         %s:%u  %s\n", info.name, d, info.devices[d]);
    }
    return CLI_EXIT_OK;
}
