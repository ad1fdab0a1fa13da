/* `sprung`: the command-line front end. Dispatches to one subcommand per
 * file (commands.h); each parses its own options. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "util/suggest.h"

#ifndef SPRUNG_VERSION
#define SPRUNG_VERSION "unknown"
#endif

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"render", sprung_cmd_render, "render a preset (or the built-in demo) to a WAV file"},
    {"validate", sprung_cmd_validate, "check presets and their stability; exit 1 on errors"},
    {"info", sprung_cmd_info, "print a preset's counts, stability margin and mode range"},
    {"bench", sprung_cmd_bench, "measure the engine's speed (JSON and a table)"},
    {"backends", sprung_cmd_backends, "list the simulation backends and why one is missing"},
    {"play", sprung_cmd_play, "play a preset live as a JACK client, reloading it on save"},
    {"keeper", sprung_cmd_keeper, "show or hold the GPU clock keeper (one per machine)"},
};

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: sprung <command> [options]\n"
            "       sprung <command> --help\n"
            "\n"
            "Sprung is a physics synthesizer: presets describe networks of masses and\n"
            "springs, struck by mallets and heard through virtual microphones.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "options:\n"
            "  -h, --help     show this help\n"
            "  -V, --version  show the version\n"
            "\n"
            "Try 'sprung render' to hear the built-in demo (sprung-demo.wav).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *word = argv[1];
    if (!strcmp(word, "-h") || !strcmp(word, "--help")) {
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(word, "-V") || !strcmp(word, "--version")) {
        printf("sprung %s\n", SPRUNG_VERSION);
        return CLI_EXIT_OK;
    }
    /* `sprung help [command]` is the same as --help. */
    if (!strcmp(word, "help")) {
        if (argc < 3) {
            print_usage(stdout);
            return CLI_EXIT_OK;
        }
        word = argv[2];
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
            if (!strcmp(word, commands[i].name)) {
                char help[] = "--help";
                char *sub_argv[] = {argv[2], help, NULL};
                return commands[i].run(2, sub_argv);
            }
        }
    } else {
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (!strcmp(word, commands[i].name))
                return commands[i].run(argc - 1, argv + 1);
    }
    SprungSuggestion suggestion = sprung_suggestion_start(word);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        sprung_suggestion_consider(&suggestion, commands[i].name);
    if (word[0] == '-')
        fprintf(stderr, "sprung: unknown option '%s'\n", word);
    else if (suggestion.best)
        fprintf(stderr, "sprung: unknown command '%s' (did you mean '%s'?)\n", word,
                suggestion.best);
    else
        fprintf(stderr, "sprung: unknown command '%s'\n", word);
    fprintf(stderr, "see 'sprung --help'\n");
    return CLI_EXIT_USAGE;
}
