/* The options with which `sprung render` and `sprung play` say how the
 * engine runs (--backend NAME, --oversample N): read and checked here so
 * both commands take the same values with the same messages, and turned
 * here into the engine. Command-line program only, control thread. */
#ifndef SPRUNG_APP_ENGINE_OPTIONS_H
#define SPRUNG_APP_ENGINE_OPTIONS_H

#include <getopt.h>
#include <stdint.h>

#include "sprung/sprung.h"

/* getopt_long values of the shared options: above those a command numbers
 * from 256 for its own. */
enum { ENGINE_OPT_BACKEND = 1024, ENGINE_OPT_OVERSAMPLE };

/* The shared options' entries, for a command's getopt_long table. */
#define ENGINE_LONG_OPTIONS                                                                    \
    {"backend", required_argument, NULL, ENGINE_OPT_BACKEND},                                  \
    {"oversample", required_argument, NULL, ENGINE_OPT_OVERSAMPLE}

typedef struct EngineOptions {
    const char *backend; /* NULL: auto */
    uint32_t oversample; /* engine steps per output sample: 1, 2 or 4 */
    int worker_priority; /* not an option: the audio thread's real-time priority
                            (play: JACK's), for the engine's worker threads; 0: none */
} EngineOptions;

/* Without the options: backend auto, no oversampling. */
EngineOptions engine_options_default(void);

/* Takes the value of the option getopt_long returned as `option` (an
 * ENGINE_OPT_*). Returns 0, or reports the problem and returns
 * CLI_EXIT_USAGE. */
int engine_options_parse(const char *command, int option, const char *value,
                         EngineOptions *options);

/* The checks left for after the option loop: an empty --backend, or one
 * naming no backend of this build (with "did you mean" where one is close;
 * a device number and whether it can run here are the engine's; `sprung
 * bench` checks each name of its list here too). Call it
 * after the command's own checks: they have always come first, so a
 * command line with several problems keeps its message. Returns 0 or
 * CLI_EXIT_USAGE. */
int engine_options_check(const char *command, const EngineOptions *options);

/* An engine for `model` at `sample_rate`, in blocks of up to
 * `max_block_frames`. When the asked-for backend cannot run here (or has
 * no such device, or lacks a feature of the model), prints "sprung
 * COMMAND: --backend NAME: why; using auto" to stderr (once: only while
 * *backend_warned is 0, then sets it) and builds on "auto", so a preset
 * still sounds on a machine without that device.
 * Returns NULL after printing why the engine failed (an unstable model). */
SprungEngine *engine_options_new_engine(const char *command, const EngineOptions *options,
                                        const SprungModel *model, double sample_rate,
                                        uint32_t max_block_frames, int *backend_warned);

#endif
