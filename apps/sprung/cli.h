/* Helpers shared by the subcommands of `sprung`: command-line errors in one
 * format, number parsing with ranges, the getopt_long error cases and the
 * PRESET argument.
 * Command-line program only (these print and may be called before exit). */
#ifndef SPRUNG_APP_CLI_H
#define SPRUNG_APP_CLI_H

#include <getopt.h>
#include <stdint.h>

/* Exit codes shared by every subcommand (see commands.h). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

/* Prints "sprung COMMAND: MESSAGE" and "see 'sprung COMMAND --help'" to
 * stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Reports what getopt_long's '?' or ':' return meant (unknown option or
 * missing value), naming the option; returns CLI_EXIT_USAGE. Call with the
 * value getopt_long returned and the argv it was given. */
int cli_getopt_error(const char *command, int result, char **argv,
                     const struct option *options);

/* Resets getopt for a fresh parse of a subcommand's argv. */
void cli_getopt_reset(void);

/* A finite number in [min, max] (or (min, max] when min_exclusive).
 * Returns 0, or reports the problem and returns CLI_EXIT_USAGE. */
int cli_parse_double(const char *command, const char *option, const char *text, double min,
                     int min_exclusive, double max, double *out);

/* A whole number in [min, max]. */
int cli_parse_uint(const char *command, const char *option, const char *text, uint32_t min,
                   uint32_t max, uint32_t *out);

/* After the option loop, for a command that takes one preset: the PRESET
 * argument at argv[optind] into *preset (NULL when there is none),
 * rejecting any after it and, when `required`, its absence. Returns 0, or
 * reports the problem and returns CLI_EXIT_USAGE. */
int cli_parse_one_preset(const char *command, int argc, char **argv, int required,
                         const char **preset);

/* Parses the options `validate` and `info` share: --sample-rate HZ,
 * --oversample N and --help. Returns -1 to go on (optind then indexes the
 * first preset), or the exit code to return after printing the help or an
 * error. */
int cli_parse_rate_options(const char *command, int argc, char **argv, void (*print_help)(void),
                           double *sample_rate, uint32_t *oversample);

/* --sample-rate: a whole number of Hz, 8000..384000. */
int cli_parse_sample_rate(const char *command, const char *text, double *out);

/* --oversample: 1, 2 or 4. */
int cli_parse_oversample(const char *command, const char *text, uint32_t *out);

/* Seconds since an arbitrary start, monotonic. */
double cli_now_seconds(void);

#endif
