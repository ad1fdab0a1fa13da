/* Randomised differential test of the `simd` backend against the reference:
 * generated models (one per seed) are rendered on `cpu` and on every
 * instruction set of this CPU (simd:0, simd:1, ...), each with the layout
 * left to its rule and with the records and the lattice forced, and every
 * output channel must be bit-identical.
 *
 * The factory presets and tests/conformance's fixed networks cover the
 * shapes people build; this covers the bookkeeping between them: each seed
 * is a model from random_model.c, a topology that takes its own paths
 * through both layouts with any mix of the features, every body heard.
 *
 * Seeds are fixed (the run is the same every time); a failure names its
 * seed, writes the model to simd-random-SEED.json in the working directory
 * and says how to run that seed alone; a crash names its seed too (on
 * stderr, before the signal ends the process). Run more seeds by hand with
 * --seed.
 *
 * Usage: test_simd_random [--seed FIRST] [--count N] [--device N] [--no-voices]
 *                         [--sabotage]
 *   --seed FIRST  the first seed (default 1)
 *   --count N     how many seeds (default 200)
 *   --device N    only simd:N (default: every instruction set)
 *   --no-voices   no voiced models: with SPRUNG_SIMD_THREADS forced above 1,
 *                 every voice gets a pool of its own, and on 2 cores the
 *                 pools spin against each other (a minute a model; the
 *                 voices' pools are covered by conformance_simd_threads_*)
 *   --sabotage    the simd engines get the model with its first spring one
 *                 part in 2^20 stiffer: the comparison must then fail
 * SPRUNG_SIMD_ISA, SPRUNG_SIMD_THREADS narrow or change what simd runs as
 * usual (tests/simd/CMakeLists.txt runs it under several). */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "random_model.h"
#include "sprung/sprung.h"

enum {
    FRAMES = 4800, /* 0.1 s at 48 kHz */
    MAX_BLOCK = 512,
    CHANNELS = 2 + RANDOM_MODEL_MAX_BODIES, /* stereo, then one per body */
    MAX_EVENTS = 16,
    SKIPPED = 77,
};

static const char *const layouts[] = {"auto", "records", "lattice"};
#define N_LAYOUTS (sizeof layouts / sizeof layouts[0])

static bool g_sabotage, g_no_voices;

/* ---- rendering ---- */

typedef struct Performance {
    SprungEvent events[MAX_EVENTS];
    uint32_t n_events;
    uint32_t block[FRAMES]; /* block lengths, summing to FRAMES */
    uint32_t n_blocks;
    float input[FRAMES];    /* audio input channel 0 */
} Performance;

/* Notes (some released), the mod wheel, bends and pressure at random
 * frames, in random blocks, with a noisy input: the same for every engine. */
static void make_performance(uint64_t seed, Performance *p)
{
    Rng r = {seed ^ 0x5eed5eed5eedull};
    p->n_events = 4 + rng_below(&r, MAX_EVENTS - 3);
    uint32_t frame = 0;
    for (uint32_t e = 0; e < p->n_events; ++e) {
        frame += rng_below(&r, FRAMES / p->n_events);
        SprungEvent *ev = &p->events[e];
        *ev = (SprungEvent){.frame = frame, .channel = (uint8_t)rng_below(&r, 2),
                            .note = (uint8_t)(36 + rng_below(&r, 61))};
        uint32_t kind = e == 0 ? 0 : rng_below(&r, 6);
        if (kind <= 2) {
            ev->type = SPRUNG_EVENT_NOTE_ON;
            ev->velocity = (uint8_t)(1 + rng_below(&r, 127));
        } else if (kind == 3) {
            ev->type = SPRUNG_EVENT_NOTE_OFF;
            ev->note = p->events[rng_below(&r, e)].note;
        } else if (kind == 4) {
            ev->type = SPRUNG_EVENT_CONTROL_CHANGE;
            ev->note = 1;
            ev->value = (uint16_t)rng_below(&r, 128);
        } else {
            ev->type = SPRUNG_EVENT_PITCH_BEND;
            ev->value = (uint16_t)rng_below(&r, 16384);
        }
    }
    p->n_blocks = 0;
    for (uint32_t done = 0; done < FRAMES;) {
        uint32_t n = 1 + rng_below(&r, rng_chance(&r, 0.2) ? 8 : MAX_BLOCK);
        if (n > FRAMES - done)
            n = FRAMES - done;
        p->block[p->n_blocks++] = n;
        done += n;
    }
    for (uint32_t i = 0; i < FRAMES; ++i)
        p->input[i] = (float)rng_uniform(&r, -1, 1);
}

/* Renders FRAMES frames of every channel into out[CHANNELS][FRAMES];
 * false if the engine refused a block. */
static bool render(SprungEngine *engine, const Performance *p, float *out)
{
    uint32_t next = 0, first = 0;
    for (uint32_t b = 0; b < p->n_blocks; ++b) {
        uint32_t n = p->block[b];
        SprungEvent local[MAX_EVENTS];
        uint32_t count = 0;
        for (; next < p->n_events && p->events[next].frame < first + n; ++next) {
            local[count] = p->events[next];
            local[count++].frame -= first;
        }
        float *outputs[CHANNELS];
        for (uint32_t c = 0; c < CHANNELS; ++c)
            outputs[c] = out + (size_t)c * FRAMES + first;
        const float *inputs[1] = {p->input + first};
        SprungBlock block = {.n_frames = n, .events = local, .n_events = count,
                             .outputs = outputs, .n_outputs = CHANNELS, .inputs = inputs,
                             .n_inputs = 1};
        if (sprung_engine_process(engine, &block) != SPRUNG_OK)
            return false;
        first += n;
    }
    return true;
}

static SprungEngine *make_engine(const SprungModel *model, const char *spec, uint32_t oversampling,
                                 SprungError *error)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.max_block_frames = MAX_BLOCK;
    config.oversampling = oversampling;
    config.backend = spec;
    SprungEngine *engine = NULL;
    return sprung_engine_new(&config, model, &engine, error) == SPRUNG_OK ? engine : NULL;
}

static SprungModel *load(const char *text, uint64_t seed)
{
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_string(text, "generated", &model, &error) != SPRUNG_OK) {
        /* The generator must write valid presets: a refusal is its bug. */
        printf("FAIL seed %llu: the generated model is refused: %s (%s)\n",
               (unsigned long long)seed, error.message, error.path);
        return NULL;
    }
    return model;
}

static void keep_model(uint64_t seed, const char *text)
{
    char path[64];
    snprintf(path, sizeof path, "simd-random-%llu.json", (unsigned long long)seed);
    FILE *file = fopen(path, "w");
    if (file) {
        fputs(text, file);
        fclose(file);
    }
    printf("     the model is in %s; this seed alone: test_simd_random --seed %llu --count 1\n",
           path, (unsigned long long)seed);
}

/* The seed being checked, for crash_report, and the signals it reports
 * with the handlers they had before (a sanitizer's, say), which then run. */
static volatile uint64_t g_current_seed;
static const int g_fatal_signals[] = {SIGFPE, SIGSEGV, SIGBUS, SIGILL, SIGABRT};
static struct sigaction g_previous_action[sizeof g_fatal_signals / sizeof g_fatal_signals[0]];

/* Writes to stderr from a signal handler (write(2) only). */
static void say(const char *text, size_t length)
{
    ssize_t ignored = write(STDERR_FILENO, text, length);
    (void)ignored;
}

/* A crash (in the generator, the loader or a backend) names its seed before
 * the process dies: async-signal-safe calls only, then the signal again,
 * to the handler it had before. */
static void crash_report(int signal_number)
{
    static const char head[] = "FAIL seed ";
    static const char middle[] = " crashed; this seed alone: test_simd_random --count 1 --seed ";
    char digits[24];
    size_t first = sizeof digits;
    uint64_t seed = g_current_seed;
    do
        digits[--first] = (char)('0' + seed % 10);
    while ((seed /= 10) > 0);
    say(head, sizeof head - 1);
    say(digits + first, sizeof digits - first);
    say(middle, sizeof middle - 1);
    say(digits + first, sizeof digits - first);
    say("\n", 1);
    for (size_t k = 0; k < sizeof g_fatal_signals / sizeof g_fatal_signals[0]; ++k)
        if (g_fatal_signals[k] == signal_number)
            sigaction(signal_number, &g_previous_action[k], NULL);
    raise(signal_number);
}

typedef struct Tally {
    uint32_t models, renders, unstable, failures;
} Tally;

/* One seed on cpu, then on every simd device in every layout. */
static void check_seed(uint64_t seed, uint32_t first_device, uint32_t end_device,
                       float *reference, float *got, Tally *tally)
{
    char *text = random_model_text(seed, (RandomModelOptions){.no_voices = g_no_voices});
    char *simd_text =
        g_sabotage ? random_model_text(seed, (RandomModelOptions){.no_voices = g_no_voices,
                                                                  .stiffer_spring = true})
                   : text;
    SprungModel *model = load(text, seed);
    SprungModel *simd_model = g_sabotage ? load(simd_text, seed) : model;
    if (!model || !simd_model) {
        tally->failures++;
        keep_model(seed, text);
        goto done;
    }
    /* The reference decides the oversampling (the stability check is the
     * model's, the same for every backend). */
    SprungError error = {0};
    uint32_t oversampling = 1;
    SprungEngine *cpu = make_engine(model, "cpu", oversampling, &error);
    while (!cpu && error.status == SPRUNG_ERROR_UNSTABLE && oversampling < 4) {
        oversampling *= 2;
        cpu = make_engine(model, "cpu", oversampling, &error);
    }
    if (!cpu && error.status == SPRUNG_ERROR_UNSTABLE) {
        tally->unstable++;
        goto done;
    }
    if (!cpu) {
        printf("FAIL seed %llu: the reference refuses the generated model: %s\n",
               (unsigned long long)seed, error.message);
        tally->failures++;
        keep_model(seed, text);
        goto done;
    }
    static Performance performance;
    make_performance(seed, &performance);
    bool rendered = render(cpu, &performance, reference);
    sprung_engine_free(cpu);
    if (!rendered) {
        printf("FAIL seed %llu: the reference refused a block\n", (unsigned long long)seed);
        tally->failures++;
        keep_model(seed, text);
        goto done;
    }
    tally->models++;

    bool failed = false;
    for (uint32_t device = first_device; device < end_device; ++device)
        for (size_t l = 0; l < N_LAYOUTS; ++l) {
            char spec[16];
            snprintf(spec, sizeof spec, "simd:%u", device);
            setenv("SPRUNG_SIMD_LAYOUT", layouts[l], 1);
            SprungEngine *engine = make_engine(simd_model, spec, oversampling, &error);
            if (!engine) {
                printf("FAIL seed %llu on %s (%s layout): %s\n", (unsigned long long)seed, spec,
                       layouts[l], error.message);
                failed = true;
                continue;
            }
            rendered = render(engine, &performance, got);
            sprung_engine_free(engine);
            tally->renders++;
            if (!rendered) {
                printf("FAIL seed %llu on %s (%s layout): a block was refused\n",
                       (unsigned long long)seed, spec, layouts[l]);
                failed = true;
                continue;
            }
            for (uint32_t c = 0; c < CHANNELS; ++c) {
                const float *a = reference + (size_t)c * FRAMES, *b = got + (size_t)c * FRAMES;
                if (!memcmp(a, b, sizeof(float) * FRAMES))
                    continue;
                uint32_t at = 0;
                while (!memcmp(a + at, b + at, sizeof(float)))
                    at++;
                printf("FAIL seed %llu on %s (%s layout): channel %u differs from cpu first at "
                       "frame %u (%.9g, cpu %.9g)\n",
                       (unsigned long long)seed, spec, layouts[l], c, at, (double)b[at],
                       (double)a[at]);
                failed = true;
                break;
            }
        }
    unsetenv("SPRUNG_SIMD_LAYOUT");
    if (failed) {
        tally->failures++;
        keep_model(seed, text);
    }
done:
    if (simd_model != model)
        sprung_model_free(simd_model);
    sprung_model_free(model);
    if (simd_text != text)
        free(simd_text);
    free(text);
}

/* `text` as a whole number up to `max`, or exit naming the option. */
static unsigned long long number_argument(const char *option, const char *text,
                                          unsigned long long max)
{
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (!*text || *end || *text == '-' || value > max) {
        fprintf(stderr, "test_simd_random: %s wants a whole number up to %llu, not '%s'\n",
                option, max, text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv)
{
    uint64_t first_seed = 1;
    uint32_t count = 200;
    long only_device = -1;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            first_seed = number_argument("--seed", argv[++i], UINT64_MAX - UINT32_MAX);
        } else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
            count = (uint32_t)number_argument("--count", argv[++i], UINT32_MAX);
        } else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
            only_device = (long)number_argument("--device", argv[++i], 63);
        } else if (!strcmp(argv[i], "--no-voices")) {
            g_no_voices = true;
        } else if (!strcmp(argv[i], "--sabotage")) {
            g_sabotage = true;
            fprintf(stderr, "sabotage: simd gets each model's first spring 2^-20 stiffer\n");
        } else {
            fprintf(stderr, "usage: %s [--seed FIRST] [--count N] [--device N] [--no-voices] "
                            "[--sabotage]\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* a log cut short by a crash keeps its lines */
    SprungBackendInfo info = {0};
    bool found = false;
    for (uint32_t b = 0; b < sprung_backend_count() && !found; ++b) {
        sprung_backend_info(b, &info);
        found = !strcmp(info.name, "simd");
    }
    if (!found || !info.available) {
        printf("skipped: the simd backend %s\n", found ? info.reason : "is not in this build");
        return SKIPPED;
    }
    uint32_t first_device = 0, end_device = info.n_devices;
    if (only_device >= 0) {
        if ((uint32_t)only_device >= info.n_devices) {
            printf("FAIL there is no simd:%ld here\n", only_device);
            return 1;
        }
        first_device = (uint32_t)only_device;
        end_device = first_device + 1;
    }
    for (uint32_t d = first_device; d < end_device; ++d)
        printf("simd:%u  %s\n", d, info.devices[d]);

    float *reference = malloc(sizeof(float) * CHANNELS * FRAMES);
    float *got = malloc(sizeof(float) * CHANNELS * FRAMES);
    if (!reference || !got)
        return 2;
    Tally tally = {0};
    struct sigaction report = {.sa_handler = crash_report};
    sigemptyset(&report.sa_mask);
    for (size_t k = 0; k < sizeof g_fatal_signals / sizeof g_fatal_signals[0]; ++k)
        sigaction(g_fatal_signals[k], &report, &g_previous_action[k]);
    for (uint64_t seed = first_seed; seed < first_seed + count; ++seed) {
        g_current_seed = seed;
        check_seed(seed, first_device, end_device, reference, got, &tally);
    }
    free(reference);
    free(got);

    printf("%u of %u seeds rendered (%u too stiff even at 4x oversampling), %u simd renders "
           "compared with cpu on %u channels: %u seeds differ\n",
           tally.models, count, tally.unstable, tally.renders, CHANNELS, tally.failures);
    /* The generator must stay useful: nearly every seed a playable model. */
    if (tally.unstable * 10 > count) {
        printf("FAIL more than a tenth of the seeds were unstable models\n");
        return 1;
    }
    return tally.failures ? 1 : 0;
}
