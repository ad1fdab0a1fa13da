/* `sprung render`: the offline renderer. Loads a preset (or the built-in
 * demo), optionally a MIDI file, runs it block by block through the same
 * runner `sprung play` uses (src/runner: gain 1, no DC blocker or limiter,
 * so the output is the engine's, bit for bit, unless the circuit breaker
 * trips) with every event at its exact frame, removes the decimation
 * filter's latency, and streams a 32-bit float stereo WAV (plus, on
 * request, a spectrogram). Runs both of the runner's roles on one thread. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "demo_data.h"
#include "io/midi.h"
#include "io/spectrogram.h"
#include "io/wav.h"
#include "model/model.h"
#include "engine_options.h"
#include "sprung/sprung.h"

#define COMMAND "render"
/* Longest render: an hour is plenty for a sound and bounds memory. */
#define RENDER_MAX_SECONDS 3600.0
#define DEMO_OUTPUT "sprung-demo.wav"
/* The built-in demo's name in messages. */
#define DEMO_NAME "demo.json (built in)"
/* Channels of an --input file that reach the engine (its input channels). */
#define RENDER_MAX_INPUTS 64
/* Breaker trips warned of one by one; the rest are counted (a model that
 * keeps overloading would otherwise bury the terminal). */
#define RENDER_TRIPS_SHOWN 3

typedef struct RenderOptions {
    const char *preset;      /* NULL: the built-in demo */
    const char *midi;
    const char *input;       /* --input FILE.wav: the model's audio inputs */
    const char *output;
    const char *spectrogram;
    double duration;
    int has_duration;
    double tail;
    double sample_rate;
    uint32_t block;
    EngineOptions engine;
} RenderOptions;

static void print_help(void)
{
    printf(
        "usage: sprung render [PRESET] [options]\n"
        "\n"
        "Renders PRESET (a .json preset file) to a 32-bit float stereo WAV file.\n"
        "Without PRESET, renders the built-in demo instrument playing its built-in\n"
        "phrase to " DEMO_OUTPUT ".\n"
        "\n"
        "options:\n"
        "  --midi FILE.mid       play this MIDI file (tempo changes honoured; notes,\n"
        "                        control changes, pitch bend, channel and poly\n"
        "                        pressure); the render lasts the file's length plus --tail\n"
        "  --input FILE.wav      feed this audio file to the preset's audio inputs:\n"
        "                        file channel c is input channel c (a mono file feeds\n"
        "                        channel 0, a stereo one 0 and 1); its sample rate must\n"
        "                        be --sample-rate (no resampling). The render lasts the\n"
        "                        file's length (or the MIDI phrase's, if longer) plus\n"
        "                        --tail\n"
        "  -o, --output OUT.wav  output file (default: NAME.wav for NAME.json, in the\n"
        "                        current directory; " DEMO_OUTPUT " for the demo)\n"
        "  --duration SECONDS    length without a MIDI file: the preset's free motion\n"
        "                        from its initial velocities (default 2); with a MIDI\n"
        "                        phrase, overrides its length plus tail\n"
        "  --tail SECONDS        time added after the MIDI file ends (default 2)\n"
        "  --sample-rate HZ      output sample rate, 8000 to 384000 (default 48000)\n"
        "  --oversample N        engine steps per output sample: 1, 2 or 4 (default 1)\n"
        "  --block N             frames per engine call, 1 to 65536 (default 256);\n"
        "                        the output is identical whatever the block size\n"
        "  --backend NAME        simulation backend (see 'sprung backends'; default\n"
        "                        auto); one this build lacks is refused, one that\n"
        "                        cannot run here falls back to auto\n"
        "  --spectrogram OUT.png also draw a spectrogram of the result\n"
        "  -h, --help            show this help\n"
        "\n"
        "Lengths are at most %.0f s. A progress bar is shown when stderr is a\n"
        "terminal. The output goes through the runner's circuit breaker: a sample\n"
        "above +12 dBFS for 5 ms fades out and resets the model (with a warning);\n"
        "a non-finite sample fails the render. A preset at rest renders silence\n"
        "without --midi or --input; the renderer then says how to play it.\n"
        "Exit status: 0 success, 1 a file or the model failed, 2 bad command line.\n"
        "\n"
        "examples:\n"
        "  sprung render\n"
        "  sprung render presets/marimba.json --midi presets/midi/marimba.mid\n"
        "  sprung render my.json --duration 5 --oversample 2 --spectrogram my.png\n"
        "  sprung render presets/resonator-input.json --input voice.wav\n",
        RENDER_MAX_SECONDS);
}

enum { OPT_MIDI = 256, OPT_INPUT, OPT_DURATION, OPT_TAIL, OPT_SAMPLE_RATE, OPT_BLOCK,
       OPT_SPECTROGRAM };

static const struct option render_options[] = {
    {"midi", required_argument, NULL, OPT_MIDI},
    {"input", required_argument, NULL, OPT_INPUT},
    {"output", required_argument, NULL, 'o'},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"tail", required_argument, NULL, OPT_TAIL},
    {"sample-rate", required_argument, NULL, OPT_SAMPLE_RATE},
    {"block", required_argument, NULL, OPT_BLOCK},
    {"spectrogram", required_argument, NULL, OPT_SPECTROGRAM},
    ENGINE_LONG_OPTIONS,
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on, or an exit code. */
static int parse_options(int argc, char **argv, RenderOptions *opt)
{
    *opt = (RenderOptions){.duration = 2.0, .tail = 2.0, .sample_rate = 48000.0, .block = 256,
                           .engine = engine_options_default()};
    cli_getopt_reset();
    int c, r;
    while ((c = getopt_long(argc, argv, ":o:h", render_options, NULL)) != -1) {
        switch (c) {
        case 'h': print_help(); return CLI_EXIT_OK;
        case OPT_MIDI: opt->midi = optarg; break;
        case OPT_INPUT: opt->input = optarg; break;
        case 'o': opt->output = optarg; break;
        case OPT_SPECTROGRAM: opt->spectrogram = optarg; break;
        case ENGINE_OPT_BACKEND:
        case ENGINE_OPT_OVERSAMPLE:
            if ((r = engine_options_parse(COMMAND, c, optarg, &opt->engine)))
                return r;
            break;
        case OPT_DURATION:
            if ((r = cli_parse_double(COMMAND, "--duration", optarg, 0.0, 1,
                                      RENDER_MAX_SECONDS, &opt->duration)))
                return r;
            opt->has_duration = 1;
            break;
        case OPT_TAIL:
            if ((r = cli_parse_double(COMMAND, "--tail", optarg, 0.0, 0, RENDER_MAX_SECONDS,
                                      &opt->tail)))
                return r;
            break;
        case OPT_SAMPLE_RATE:
            if ((r = cli_parse_sample_rate(COMMAND, optarg, &opt->sample_rate)))
                return r;
            break;
        case OPT_BLOCK:
            if ((r = cli_parse_uint(COMMAND, "--block", optarg, 1, 65536, &opt->block)))
                return r;
            break;
        default: return cli_getopt_error(COMMAND, c, argv, render_options);
        }
    }
    if ((r = cli_parse_one_preset(COMMAND, argc, argv, 0, &opt->preset)))
        return r;
    if (opt->output && !opt->output[0])
        return cli_usage_error(COMMAND, "option '--output' needs a file name");
    if (opt->spectrogram && !opt->spectrogram[0])
        return cli_usage_error(COMMAND, "option '--spectrogram' needs a file name");
    if (opt->midi && !opt->midi[0])
        return cli_usage_error(COMMAND, "option '--midi' needs a file name");
    if (opt->input && !opt->input[0])
        return cli_usage_error(COMMAND, "option '--input' needs a file name");
    if ((r = engine_options_check(COMMAND, &opt->engine)))
        return r;
    return -1;
}

/* "dir/bell.json" -> "bell.wav" (in the current directory). */
static char *default_output_name(const char *preset)
{
    const char *base = strrchr(preset, '/');
    base = base ? base + 1 : preset;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".json"))
        n -= 5;
    if (n == 0) {
        base = "sprung";
        n = strlen(base);
    }
    char *name = malloc(n + 5);
    if (name) {
        memcpy(name, base, n);
        memcpy(name + n, ".wav", 5);
    }
    return name;
}

/* A preset at rest renders silence when nothing plays it: say how to play
 * it, naming its own phrase where one lies beside it as the factory
 * presets' do ("dir/bell.json" -> "dir/midi/bell.mid"), and --input where
 * it has audio inputs. */
static void hint_silent(const char *preset, const SprungModel *model)
{
    const char *slash = strrchr(preset, '/');
    const char *base = slash ? slash + 1 : preset;
    size_t stem_length = strlen(base);
    if (stem_length > 5 && !strcmp(base + stem_length - 5, ".json"))
        stem_length -= 5;
    char phrase[4096];
    int n = snprintf(phrase, sizeof phrase, "%.*smidi/%.*s.mid", (int)(base - preset), preset,
                     (int)stem_length, base);
    int has_phrase = n > 0 && (size_t)n < sizeof phrase && access(phrase, R_OK) == 0;
    fprintf(stderr, "%s: silent: nothing played it; play it with --midi %s%s%s\n",
            preset, has_phrase ? phrase : "FILE.mid", has_phrase ? " (its phrase)" : "",
            model->n_audio_inputs ? " or --input FILE.wav (its audio inputs)" : "");
}

/* A sample the circuit breaker caught: "NaN", "+Inf", or its level
 * ("+18.3 dBFS"). */
static void describe_sample(float value, char *text, size_t size)
{
    if (isnan(value))
        snprintf(text, size, "NaN");
    else if (isinf(value))
        snprintf(text, size, "%sInf", value < 0 ? "-" : "+");
    else
        snprintf(text, size, "%+.1f dBFS", 20.0 * log10(fabs((double)value) + 1e-30));
}

static void show_progress(double fraction, int *last_percent)
{
    int percent = (int)(fraction * 100.0);
    if (percent == *last_percent)
        return;
    *last_percent = percent;
    char bar[41];
    int filled = percent * 40 / 100;
    for (int i = 0; i < 40; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[40] = '\0';
    fprintf(stderr, "\rrendering [%s] %3d%%", bar, percent);
    fflush(stderr);
}

int sprung_cmd_render(int argc, char **argv)
{
    RenderOptions opt;
    int exit_code = parse_options(argc, argv, &opt);
    if (exit_code >= 0)
        return exit_code;
    exit_code = CLI_EXIT_FAILURE;

    SprungError error = {0};
    SprungModel *model = NULL;
    SprungMidiSequence *phrase = NULL;
    SprungEngine *engine = NULL;
    SprungRunner *runner = NULL;
    SprungWavWriter *writer = NULL;
    char *output_owned = NULL;
    float *left = NULL, *right = NULL, *interleaved = NULL, *whole = NULL;
    SprungEvent *block_events = NULL;
    SprungAudio *input = NULL;
    float *input_buffers[RENDER_MAX_INPUTS] = {NULL};
    int output_started = 0;
    const char *output = opt.output;
    const char *name = opt.preset ? opt.preset : DEMO_NAME; /* in messages */

    /* The instrument and the phrase. */
    if (opt.preset) {
        if (sprung_model_load_file(opt.preset, &model, &error) != SPRUNG_OK) {
            fprintf(stderr, "%s\n", error.message);
            goto done;
        }
    } else if (sprung_model_load_string((const char *)sprung_demo_preset, DEMO_NAME, &model,
                                        &error) != SPRUNG_OK) {
        fprintf(stderr, "%s\n", error.message);
        goto done;
    }
    if (opt.midi) {
        if (sprung_midi_load_file(opt.midi, &phrase, &error) != SPRUNG_OK) {
            fprintf(stderr, "%s\n", error.message);
            goto done;
        }
    } else if (!opt.preset) {
        if (sprung_midi_load_memory(sprung_demo_midi, sprung_demo_midi_size,
                                    "demo.mid (built in)", &phrase, &error) != SPRUNG_OK) {
            fprintf(stderr, "%s\n", error.message);
            goto done;
        }
    }
    if (!output) {
        output = opt.preset ? (output_owned = default_output_name(opt.preset)) : DEMO_OUTPUT;
        if (!output) {
            fprintf(stderr, "sprung render: out of memory\n");
            goto done;
        }
    }

    if (opt.input) {
        if (sprung_wav_read(opt.input, &input, &error) != SPRUNG_OK) {
            fprintf(stderr, "%s\n", error.message);
            goto done;
        }
        if (input->sample_rate != opt.sample_rate) {
            fprintf(stderr,
                    "%s: the file's sample rate is %.0f Hz but the render runs at %.0f Hz; "
                    "sprung does not resample: convert the file or pass --sample-rate %.0f\n",
                    opt.input, input->sample_rate, opt.sample_rate, input->sample_rate);
            goto done;
        }
        if (input->channels > RENDER_MAX_INPUTS) {
            fprintf(stderr, "%s: %u channels; sprung takes at most %d input channels\n",
                    opt.input, input->channels, RENDER_MAX_INPUTS);
            goto done;
        }
        if (model->n_audio_inputs == 0)
            fprintf(stderr, "%s: warning: the preset has no audio inputs, so --input %s "
                    "changes nothing (see \"audio_inputs\" in docs/preset-format.md)\n",
                    name, opt.input);
    }

    double length_s = opt.duration;
    if (phrase && !opt.has_duration)
        length_s = phrase->duration_s + opt.tail;
    if (input && !opt.has_duration) {
        double input_s = (double)input->n_frames / opt.sample_rate + opt.tail;
        if (!phrase || input_s > length_s)
            length_s = input_s;
    }
    if (length_s > RENDER_MAX_SECONDS) {
        fprintf(stderr, "%s: the phrase lasts %.1f s with its tail; sprung renders at most %.0f s\n",
                opt.midi ? opt.midi : "demo.mid (built in)", length_s, RENDER_MAX_SECONDS);
        goto done;
    }
    const double rate = opt.sample_rate;
    const uint64_t total_frames = (uint64_t)llround(length_s * rate);
    if (total_frames == 0) {
        fprintf(stderr, "sprung render: nothing to render (the length is 0 s; add --tail)\n");
        goto done;
    }

    int backend_warned = 0;
    engine = engine_options_new_engine(COMMAND, &opt.engine, model, rate, opt.block,
                                       &backend_warned);
    if (!engine)
        goto done;
    const uint64_t latency = sprung_engine_latency_frames(engine);
    /* The same runner as `sprung play`, with a neutral output stage. */
    SprungRunnerConfig runner_config = sprung_runner_config_default();
    runner_config.sample_rate = rate;
    runner_config.max_block_frames = opt.block;
    runner_config.gain_db = 0.0;
    runner_config.dc_blocker = 0;
    runner_config.limiter = 0;
    if (sprung_runner_new(&runner_config, engine, &runner, &error) != SPRUNG_OK) {
        fprintf(stderr, "%s\n", error.message);
        goto done;
    }
    engine = NULL; /* the runner owns it now */
    /* The engine runs `latency` frames longer; the first `latency` frames
     * of its output are dropped so sound and events line up. */
    const uint64_t engine_frames = total_frames + latency;

    size_t n_phrase = phrase ? phrase->n_events : 0;
    left = malloc(sizeof(float) * opt.block);
    right = malloc(sizeof(float) * opt.block);
    interleaved = malloc(sizeof(float) * 2 * opt.block);
    block_events = malloc(sizeof(SprungEvent) * (n_phrase ? n_phrase : 1));
    if (opt.spectrogram)
        whole = malloc(sizeof(float) * 2 * total_frames);
    unsigned n_inputs = input ? input->channels : 0;
    int inputs_allocated = 1;
    for (unsigned ch = 0; ch < n_inputs; ch++)
        if (!(input_buffers[ch] = calloc(opt.block, sizeof(float))))
            inputs_allocated = 0;
    if (!left || !right || !interleaved || !block_events || (opt.spectrogram && !whole) ||
        !inputs_allocated) {
        fprintf(stderr, "sprung render: out of memory for %.1f s of audio\n", length_s);
        goto done;
    }
    if (sprung_wav_writer_open(output, 2, rate, &writer, &error) != SPRUNG_OK) {
        fprintf(stderr, "%s\n", error.message);
        goto done;
    }
    output_started = 1;

    const int progress = isatty(STDERR_FILENO);
    uint32_t trips = 0;
    double last_trip_s = 0.0;
    int last_percent = -1;
    double peak = 0.0;
    size_t next_event = 0;
    float *const outputs[2] = {left, right};
    const double started = cli_now_seconds();
    for (uint64_t position = 0; position < engine_frames;) {
        uint32_t n = (uint32_t)(engine_frames - position < opt.block ? engine_frames - position
                                                                     : opt.block);
        /* Events at their exact frame: round(time × rate). */
        uint32_t n_events = 0;
        while (next_event < n_phrase) {
            const SprungMidiEvent *e = &phrase->events[next_event];
            long long at = llround(e->time_s * rate);
            uint64_t frame = at > 0 ? (uint64_t)at : 0;
            if (frame >= position + n)
                break;
            if (frame < position)
                frame = position; /* cannot happen: events are sorted */
            block_events[n_events++] = (SprungEvent){.frame = (uint32_t)(frame - position),
                                                     .type = e->type,
                                                     .channel = e->channel,
                                                     .note = e->note,
                                                     .velocity = e->velocity,
                                                     .value = e->value};
            next_event++;
        }
        /* The input file at engine frames (silence past its end). */
        for (unsigned ch = 0; ch < n_inputs; ch++)
            for (uint32_t i = 0; i < n; i++) {
                uint64_t frame = position + i;
                input_buffers[ch][i] =
                    frame < input->n_frames ? input->samples[frame * n_inputs + ch] : 0.0f;
            }
        SprungStatus s = sprung_runner_process(runner, n, (const float *const *)input_buffers,
                                               n_inputs, outputs, 2, block_events, n_events);
        if (s != SPRUNG_OK) {
            fprintf(stderr, "%s%s: engine failed at %.3f s: %s\n", progress ? "\n" : "",
                    output, position / rate, sprung_strerror(s));
            goto done;
        }
        sprung_runner_poll(runner, NULL); /* drain the block reports */
        SprungBreakerEvent trip;
        while (sprung_runner_next_breaker_event(runner, &trip)) {
            uint64_t at = trip.frame > latency ? trip.frame - latency : 0;
            if (trip.reason == SPRUNG_BREAKER_NONFINITE) {
                fprintf(stderr,
                        "%s%s: the model blew up: non-finite output at %.4f s (frame %llu); "
                        "try a larger --oversample or more damping\n",
                        progress ? "\n" : "", name, at / rate, (unsigned long long)at);
                goto done;
            }
            last_trip_s = at / rate;
            if (++trips > RENDER_TRIPS_SHOWN)
                continue; /* counted, summed up after the render */
            char level[32];
            describe_sample(trip.value, level, sizeof level);
            fprintf(stderr,
                    "%s%s: warning: the circuit breaker tripped at %.4f s (frame %llu): the "
                    "%s channel stayed above %+.0f dBFS (%s) for %.0f ms; the sound was faded "
                    "out and the model reset\n",
                    progress ? "\n" : "", name, at / rate, (unsigned long long)at,
                    trip.channel ? "right" : "left", runner_config.breaker_threshold_db, level,
                    runner_config.breaker_hold_ms);
        }
        uint32_t kept = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t frame = position + i;
            if (frame < latency)
                continue;
            uint64_t out_frame = frame - latency;
            float l = left[i], r = right[i]; /* finite: the runner guarantees it */
            if (fabsf(l) > peak)
                peak = fabsf(l);
            if (fabsf(r) > peak)
                peak = fabsf(r);
            interleaved[2 * kept] = l;
            interleaved[2 * kept + 1] = r;
            if (whole) {
                whole[2 * out_frame] = l;
                whole[2 * out_frame + 1] = r;
            }
            kept++;
        }
        if (kept && sprung_wav_writer_write(writer, interleaved, kept, &error) != SPRUNG_OK) {
            fprintf(stderr, "%s%s\n", progress ? "\n" : "", error.message);
            goto done;
        }
        position += n;
        if (progress)
            show_progress((double)position / engine_frames, &last_percent);
    }
    const double elapsed = cli_now_seconds() - started;
    if (progress)
        fprintf(stderr, "\r\033[K");
    if (trips > RENDER_TRIPS_SHOWN)
        fprintf(stderr, "%s: warning: the circuit breaker tripped %u more times, the last at "
                "%.4f s\n", name, trips - RENDER_TRIPS_SHOWN, last_trip_s);
    SprungWavWriter *finished = writer;
    writer = NULL;
    if (sprung_wav_writer_close(finished, &error) != SPRUNG_OK) {
        fprintf(stderr, "%s\n", error.message);
        goto done;
    }
    output_started = 0; /* the WAV is complete: keep it whatever follows */

    char peak_text[32];
    if (peak > 0.0)
        snprintf(peak_text, sizeof peak_text, "%.1f dBFS", 20.0 * log10(peak));
    else
        snprintf(peak_text, sizeof peak_text, "-inf dBFS (silent)");
    printf("%s: %.2f s, stereo float at %.0f Hz, peak %s, rendered at %.1fx realtime\n",
           output, total_frames / rate, rate, peak_text,
           elapsed > 0.0 ? (total_frames / rate) / elapsed : INFINITY);
    if (peak == 0.0 && opt.preset && !opt.midi && !opt.input)
        hint_silent(opt.preset, model);

    if (opt.spectrogram) {
        SprungSpectrogramConfig picture = sprung_spectrogram_config_default();
        picture.title = sprung_model_name(model);
        if (sprung_spectrogram_write_png(opt.spectrogram, whole, total_frames, 2, rate, &picture,
                                         &error) != SPRUNG_OK) {
            fprintf(stderr, "%s\n", error.message);
            goto done;
        }
        printf("%s: spectrogram\n", opt.spectrogram);
    }
    exit_code = CLI_EXIT_OK;

done:
    if (writer)
        sprung_wav_writer_close(writer, NULL);
    /* A half-written file would look like a result: remove it. */
    if (exit_code != CLI_EXIT_OK && output_started)
        unlink(output);
    free(left);
    free(right);
    free(interleaved);
    free(whole);
    free(block_events);
    for (unsigned ch = 0; ch < RENDER_MAX_INPUTS; ch++)
        free(input_buffers[ch]);
    sprung_audio_free(input);
    free(output_owned);
    sprung_runner_free(runner);
    sprung_engine_free(engine);
    sprung_midi_free(phrase);
    sprung_model_free(model);
    return exit_code;
}
