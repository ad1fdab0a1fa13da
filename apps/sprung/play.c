/* `sprung play PRESET`: plays a preset live as a JACK client (jackd or
 * PipeWire's JACK). JACK MIDI in, stereo out, and a stereo input that
 * reaches the preset's audio-input exciters (input channels 0 and 1); the
 * real-time callback (play_jack.c) calls the runner. This file is the main
 * (control) thread: options, the engine, the live status line,
 * hot-swapping the preset when its file is saved (play_watch.c), and a
 * clean exit on Ctrl-C or server shutdown. */
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "engine_options.h"
#include "play_jack.h"
#include "play_watch.h"
#include "sprung/sprung.h"

#define COMMAND "play"
/* The runner and engines take blocks up to this; JACK periods are
 * normally far smaller. A larger period plays silence (with a message). */
#define PLAY_MAX_BLOCK 4096u
#define PLAY_STATUS_INTERVAL 0.2   /* s: the status line, about 5 times a second */
#define PLAY_RELOAD_SETTLE 0.15    /* s: quiet time after a save before reloading */

typedef struct PlayOptions {
    const char *preset;
    const char *name;
    EngineOptions engine;
    int connect;
    double gain_db;
    int limiter, dc_blocker;
    double duration; /* 0: until stopped */
} PlayOptions;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void print_help(void)
{
    printf("usage: sprung play PRESET [options]\n"
           "\n"
           "Plays PRESET (a .json preset file) live as a JACK client (jackd or PipeWire's\n"
           "JACK): MIDI in, stereo out, and a stereo input (in_left, in_right) that feeds\n"
           "the preset's audio inputs 0 and 1, so a preset of audio-input exciters plays\n"
           "as an effect. Saving the preset file swaps the new sound in with a crossfade;\n"
           "an edit that does not load prints its error and the current sound keeps\n"
           "playing.\n"
           "MIDI CC 120 (all sound off) resets the instrument without a click.\n"
           "\n"
           "options:\n"
           "  --name NAME        JACK client name (default sprung)\n"
           "  --connect          connect to the system playback and capture ports and to\n"
           "                     every physical MIDI input\n"
           "  --backend NAME     simulation backend (see 'sprung backends'; default auto);\n"
           "                     one this build lacks is refused, one that cannot run\n"
           "                     here falls back to auto\n"
           "  --gain DB          output gain, -60 to +24 dB (default 0)\n"
           "  --oversample N     engine steps per output sample: 1, 2 or 4 (default 1)\n"
           "  --no-limiter       turn off the soft limiter (knee -6 dBFS, ceiling 0 dBFS)\n"
           "  --no-dc-blocker    turn off the 5 Hz DC blocker\n"
           "  --duration SECONDS stop after this long (default: until Ctrl-C)\n"
           "  -h, --help         show this help\n"
           "\n"
           "On a terminal a status line shows the DSP load (p50/p99/max of render time over\n"
           "block period, last ~1000 blocks), the output peak, voices, xruns and circuit\n"
           "breaker trips. Sample rate and block size come from the JACK server.\n"
           "Exit status: 0 stopped normally, 1 no JACK server or the preset failed,\n"
           "2 bad command line.\n"
           "\n"
           "example:\n"
           "  sprung play presets/marimba.json --connect\n");
}

enum { OPT_NAME = 256, OPT_CONNECT, OPT_GAIN, OPT_NO_LIMITER, OPT_NO_DC, OPT_DURATION };

static const struct option play_options[] = {
    {"name", required_argument, NULL, OPT_NAME},
    {"connect", no_argument, NULL, OPT_CONNECT},
    ENGINE_LONG_OPTIONS,
    {"gain", required_argument, NULL, OPT_GAIN},
    {"no-limiter", no_argument, NULL, OPT_NO_LIMITER},
    {"no-dc-blocker", no_argument, NULL, OPT_NO_DC},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_options(int argc, char **argv, PlayOptions *opt)
{
    *opt = (PlayOptions){.name = "sprung", .engine = engine_options_default(), .limiter = 1,
                         .dc_blocker = 1};
    cli_getopt_reset();
    int c, r;
    while ((c = getopt_long(argc, argv, ":h", play_options, NULL)) != -1) {
        switch (c) {
        case 'h': print_help(); return CLI_EXIT_OK;
        case OPT_NAME: opt->name = optarg; break;
        case OPT_CONNECT: opt->connect = 1; break;
        case ENGINE_OPT_BACKEND:
        case ENGINE_OPT_OVERSAMPLE:
            if ((r = engine_options_parse(COMMAND, c, optarg, &opt->engine)))
                return r;
            break;
        case OPT_GAIN:
            if ((r = cli_parse_double(COMMAND, "--gain", optarg, -60.0, 0, 24.0, &opt->gain_db)))
                return r;
            break;
        case OPT_NO_LIMITER: opt->limiter = 0; break;
        case OPT_NO_DC: opt->dc_blocker = 0; break;
        case OPT_DURATION:
            if ((r = cli_parse_double(COMMAND, "--duration", optarg, 0.0, 1, 1e6, &opt->duration)))
                return r;
            break;
        default: return cli_getopt_error(COMMAND, c, argv, play_options);
        }
    }
    if ((r = cli_parse_one_preset(COMMAND, argc, argv, 1, &opt->preset)))
        return r;
    if (!opt->name[0])
        return cli_usage_error(COMMAND, "option '--name' needs a client name");
    if ((r = engine_options_check(COMMAND, &opt->engine)))
        return r;
    return -1;
}

static void format_db(float linear, char *text, size_t size)
{
    if (linear > 0.0f)
        snprintf(text, size, "%6.1f dBFS", 20.0 * log10((double)linear));
    else
        snprintf(text, size, "  -inf dBFS");
}

/* Reads the preset file; NULL after printing why. */
static SprungModel *load_preset(const char *path)
{
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_file(path, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "%s\n", error.message);
        return NULL;
    }
    return model;
}

/* Loads and compiles the preset; NULL after printing why. */
static SprungEngine *build_engine(const PlayOptions *opt, double rate, int *backend_warned)
{
    SprungModel *model = load_preset(opt->preset);
    if (!model)
        return NULL;
    SprungEngine *engine = engine_options_new_engine(COMMAND, &opt->engine, model, rate,
                                                     PLAY_MAX_BLOCK, backend_warned);
    sprung_model_free(model);
    return engine;
}

int sprung_cmd_play(int argc, char **argv)
{
    PlayOptions opt;
    int exit_code = parse_options(argc, argv, &opt);
    if (exit_code >= 0)
        return exit_code;
    exit_code = CLI_EXIT_FAILURE;

    /* Check the preset before touching JACK: a typo should not need a server. */
    SprungModel *check = load_preset(opt.preset);
    if (!check)
        return CLI_EXIT_FAILURE;
    sprung_model_free(check);

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    static PlayJackFlags flags; /* written by JACK's threads, read here */
    PlayJack *jack = play_jack_open(opt.name, &flags);
    if (!jack)
        return CLI_EXIT_FAILURE;
    SprungRunner *runner = NULL;
    SprungEngine *pending = NULL;
    PlayWatch *watch = NULL;
    const double rate = play_jack_sample_rate(jack);
    /* The engine's worker threads (simd, voices) at the process thread's
     * priority, which waits for them. */
    opt.engine.worker_priority = play_jack_realtime_priority(jack);
    const uint32_t period = play_jack_buffer_size(jack);
    SprungError error = {0};
    int backend_warned = 0;

    SprungEngine *engine = build_engine(&opt, rate, &backend_warned);
    if (!engine)
        goto done;
    SprungRunnerConfig config = sprung_runner_config_default();
    config.sample_rate = rate;
    config.max_block_frames = PLAY_MAX_BLOCK;
    config.gain_db = opt.gain_db;
    config.limiter = opt.limiter;
    config.dc_blocker = opt.dc_blocker;
    const char *backend_name = sprung_engine_backend_name(engine);
    if (sprung_runner_new(&config, engine, &runner, &error) != SPRUNG_OK) {
        fprintf(stderr, "%s\n", error.message);
        sprung_engine_free(engine);
        goto done;
    }
    if (period > PLAY_MAX_BLOCK)
        fprintf(stderr, "sprung play: the JACK period (%u frames) is above %u: silence until it "
                        "is smaller\n", period, PLAY_MAX_BLOCK);
    if (play_jack_start(jack, runner, PLAY_MAX_BLOCK) != 0)
        goto done;
    if (opt.connect)
        play_jack_connect_system(jack);
    fprintf(stderr,
            "sprung play: %s as JACK client '%s' at %.0f Hz, %u-frame periods (%.2f ms), "
            "backend %s, oversampling %u; Ctrl-C stops\n",
            opt.preset, play_jack_client_name(jack), rate, period, period * 1000.0 / rate,
            backend_name, opt.engine.oversample);
    watch = play_watch_open(opt.preset);

    const int status_line = isatty(STDOUT_FILENO);
    const double started = cli_now_seconds();
    double next_status = started, reload_at = 0.0;
    int told_too_large = 0, line_open = 0;
    SprungRunnerStats stats = {0};
    double load_max_seen = 0.0;
    while (!g_stop && !atomic_load_explicit(&flags.shutdown, memory_order_acquire)) {
        double now = cli_now_seconds();
        if (opt.duration > 0.0 && now - started >= opt.duration)
            break;
        struct pollfd fd = {.fd = play_watch_fd(watch), .events = POLLIN};
        poll(&fd, watch ? 1 : 0, 50);
        now = cli_now_seconds();

        if (play_watch_changed(watch))
            reload_at = now + PLAY_RELOAD_SETTLE;
        if (reload_at > 0.0 && now >= reload_at) {
            reload_at = 0.0;
            if (line_open)
                fputc('\n', stdout), line_open = 0;
            SprungEngine *fresh = build_engine(&opt, rate, &backend_warned);
            if (fresh) {
                sprung_engine_free(pending); /* a newer save wins */
                pending = fresh;
            } else {
                fprintf(stderr, "sprung play: %s: kept the current sound\n", opt.preset);
            }
        }
        if (pending && sprung_runner_offer_engine(runner, pending)) {
            pending = NULL;
            fprintf(stderr, "sprung play: %s reloaded\n", opt.preset);
        }
        SprungEngine *retired;
        while ((retired = sprung_runner_take_retired_engine(runner)))
            sprung_engine_free(retired);

        sprung_runner_poll(runner, &stats);
        if (stats.load_max > load_max_seen)
            load_max_seen = stats.load_max;
        SprungBreakerEvent trip;
        while (sprung_runner_next_breaker_event(runner, &trip)) {
            if (line_open)
                fputc('\n', stdout), fflush(stdout), line_open = 0;
            fprintf(stderr, "sprung play: circuit breaker: %s on the %s channel at %.3f s; "
                            "faded out and reset\n",
                    trip.reason == SPRUNG_BREAKER_NONFINITE ? "non-finite sample" : "overload",
                    trip.channel ? "right" : "left", trip.frame / rate);
        }
        int too_large = atomic_load_explicit(&flags.buffer_too_large, memory_order_acquire);
        if (too_large != told_too_large) {
            told_too_large = too_large;
            fprintf(stderr, too_large ? "sprung play: the JACK period is now %u frames, above "
                                        "%u: playing silence\n"
                                      : "sprung play: the JACK period is %u frames again (max %u)\n",
                    atomic_load(&flags.buffer_size), PLAY_MAX_BLOCK);
        }
        if (status_line && now >= next_status) {
            next_status = now + PLAY_STATUS_INTERVAL;
            char peak[32];
            format_db(fmaxf(stats.peak[0], stats.peak[1]), peak, sizeof peak);
            printf("\rload %5.1f%% p50 %5.1f%% p99 %5.1f%% max  peak %s  voices %u  xruns %u"
                   "  breaker %llu\033[K",
                   100.0 * stats.load_p50, 100.0 * stats.load_p99, 100.0 * stats.load_max, peak,
                   stats.voices, atomic_load(&flags.xruns),
                   (unsigned long long)stats.breaker_trips);
            fflush(stdout);
            line_open = 1;
        }
    }
    if (line_open)
        fputc('\n', stdout);
    sprung_runner_poll(runner, &stats);
    fprintf(stderr,
            "sprung play: %s after %.1f s: %llu blocks, xruns %u (JACK), late blocks %llu, "
            "load p50 %.1f%% p99 %.1f%% max %.1f%% (worst %.1f%%), breaker trips %llu\n",
            atomic_load(&flags.shutdown) ? "the JACK server shut down" : "stopped",
            cli_now_seconds() - started, (unsigned long long)stats.blocks,
            atomic_load(&flags.xruns), (unsigned long long)stats.late_blocks,
            100.0 * stats.load_p50, 100.0 * stats.load_p99, 100.0 * stats.load_max,
            100.0 * fmax(load_max_seen, stats.load_max), (unsigned long long)stats.breaker_trips);
    exit_code = CLI_EXIT_OK;

done:
    play_jack_close(jack); /* the callback stops before the runner goes */
    play_watch_close(watch);
    sprung_runner_free(runner);
    sprung_engine_free(pending);
    return exit_code;
}
