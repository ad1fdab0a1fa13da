/* The JACK side of `sprung play`: libjack loaded at run time (so `sprung`
 * runs, and says why, on machines without it), the client with its ports,
 * and the real-time process callback that feeds JACK MIDI to the runner.
 * play_jack_open/close/connect: the main (control) thread; the process
 * callback runs on JACK's real-time thread. */
#ifndef SPRUNG_APP_PLAY_JACK_H
#define SPRUNG_APP_PLAY_JACK_H

#include <stdatomic.h>
#include <stdint.h>

#include "sprung/sprung.h"

typedef struct PlayJack PlayJack;

/* Flags the JACK threads raise for the main loop. */
typedef struct PlayJackFlags {
    atomic_int shutdown;            /* the server went away (jack_on_shutdown) */
    atomic_uint xruns;              /* jack_set_xrun_callback */
    atomic_uint buffer_size;        /* the current period, frames */
    atomic_int buffer_too_large;    /* the period outgrew the runner: silence */
    atomic_uint midi_dropped;       /* MIDI events past the per-block limit */
} PlayJackFlags;

/* Opens client `name` without starting a server. On failure prints why
 * (libjack missing, no server running) to stderr and returns NULL. */
PlayJack *play_jack_open(const char *name, PlayJackFlags *flags);

double play_jack_sample_rate(const PlayJack *jack);
uint32_t play_jack_buffer_size(const PlayJack *jack);
/* The SCHED_FIFO priority of the client's process thread, 0 when JACK
 * does not run it in real time. */
int play_jack_realtime_priority(const PlayJack *jack);
const char *play_jack_client_name(const PlayJack *jack);

/* Registers the ports (midi_in, out_left, out_right, in_left, in_right),
 * hands `runner` (max_block_frames frames per call at most) to the process
 * callback and activates the client. Returns 0, or -1 after printing why. */
int play_jack_start(PlayJack *jack, SprungRunner *runner, uint32_t max_block_frames);

/* Connects the outputs to the system playback ports, the system capture
 * ports to the inputs, and every physical MIDI output to midi_in; prints
 * what it did or could not do. */
void play_jack_connect_system(PlayJack *jack);

/* Deactivates and closes; after it the runner is no longer called. */
void play_jack_close(PlayJack *jack);

#endif
