/* Command-line helpers shared by the subcommands (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/suggest.h"

int cli_usage_error(const char *command, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "sprung %s: ", command);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, "\nsee 'sprung %s --help'\n", command);
    return CLI_EXIT_USAGE;
}

static const char *option_name(const struct option *options, int val, char *buffer,
                               size_t size)
{
    for (const struct option *o = options; o && o->name; o++) {
        if (o->val == val) {
            snprintf(buffer, size, "--%s", o->name);
            return buffer;
        }
    }
    snprintf(buffer, size, "-%c", val);
    return buffer;
}

int cli_getopt_error(const char *command, int result, char **argv,
                     const struct option *options)
{
    char name[64];
    /* glibc leaves the offending word at argv[optind - 1]. */
    const char *word = optind > 0 ? argv[optind - 1] : "";
    if (result == ':') {
        if (optopt)
            return cli_usage_error(command, "option '%s' needs a value",
                                   option_name(options, optopt, name, sizeof name));
        return cli_usage_error(command, "option '%s' needs a value", word);
    }
    if (optopt)
        return cli_usage_error(command, "unknown option '-%c'", optopt);
    if (strncmp(word, "--", 2) == 0) {
        /* "--backnd=simd": the name is what lies between the dashes and '='. */
        char typed[64];
        snprintf(typed, sizeof typed, "%.*s", (int)strcspn(word + 2, "="), word + 2);
        SprungSuggestion suggestion = sprung_suggestion_start(typed);
        for (const struct option *o = options; o && o->name; o++)
            sprung_suggestion_consider(&suggestion, o->name);
        if (suggestion.best)
            return cli_usage_error(command, "unknown option '%s' (did you mean '--%s'?)", word,
                                   suggestion.best);
    }
    return cli_usage_error(command, "unknown option '%s'", word);
}

void cli_getopt_reset(void)
{
    optind = 0; /* glibc: 0 also re-initialises its internal state */
    opterr = 0;
}

int cli_parse_double(const char *command, const char *option, const char *text, double min,
                     int min_exclusive, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(value))
        return cli_usage_error(command, "%s: '%s' is not a number", option, text);
    if ((min_exclusive ? value <= min : value < min) || value > max)
        return cli_usage_error(command, "%s: %s is out of range (must be %s %g and at most %g)",
                               option, text, min_exclusive ? ">" : ">=", min, max);
    *out = value;
    return 0;
}

int cli_parse_uint(const char *command, const char *option, const char *text, uint32_t min,
                   uint32_t max, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    const char *p = text;
    while (*p == ' ')
        p++;
    if (*p == '-' && p[1] >= '0' && p[1] <= '9')
        return cli_usage_error(command, "%s: %s is out of range (must be %u to %u)", option,
                               text, min, max);
    unsigned long long value = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || *p == '+' || *p == '-')
        return cli_usage_error(command, "%s: '%s' is not a whole number", option, text);
    if (errno == ERANGE || value < min || value > max)
        return cli_usage_error(command, "%s: %s is out of range (must be %u to %u)", option,
                               text, min, max);
    *out = (uint32_t)value;
    return 0;
}

int cli_parse_sample_rate(const char *command, const char *text, double *out)
{
    uint32_t rate;
    int r = cli_parse_uint(command, "--sample-rate", text, 8000, 384000, &rate);
    if (r == 0)
        *out = rate;
    return r;
}

int cli_parse_oversample(const char *command, const char *text, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    long factor = strtol(text, &end, 10);
    if (end == text || *end != '\0')
        return cli_usage_error(command, "--oversample: '%s' is not a whole number", text);
    if (errno == ERANGE || (factor != 1 && factor != 2 && factor != 4))
        return cli_usage_error(command, "--oversample: %s is not allowed (1, 2 or 4)", text);
    *out = (uint32_t)factor;
    return 0;
}

int cli_parse_one_preset(const char *command, int argc, char **argv, int required,
                         const char **preset)
{
    *preset = optind < argc ? argv[optind++] : NULL;
    if (optind < argc)
        return cli_usage_error(command, "unexpected argument '%s' (only one preset)",
                               argv[optind]);
    if (required && !*preset)
        return cli_usage_error(command, "no preset given");
    return 0;
}

double cli_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cli_parse_rate_options(const char *command, int argc, char **argv, void (*print_help)(void),
                           double *sample_rate, uint32_t *oversample)
{
    enum { OPT_SAMPLE_RATE = 256, OPT_OVERSAMPLE };
    static const struct option options[] = {
        {"sample-rate", required_argument, NULL, OPT_SAMPLE_RATE},
        {"oversample", required_argument, NULL, OPT_OVERSAMPLE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_getopt_reset();
    int c, r;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'h': print_help(); return CLI_EXIT_OK;
        case OPT_SAMPLE_RATE:
            if ((r = cli_parse_sample_rate(command, optarg, sample_rate)))
                return r;
            break;
        case OPT_OVERSAMPLE:
            if ((r = cli_parse_oversample(command, optarg, oversample)))
                return r;
            break;
        default: return cli_getopt_error(command, c, argv, options);
        }
    }
    return -1;
}
