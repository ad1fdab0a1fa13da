/* A JACK client with one MIDI output, CLIENT:out, that loops raw MIDI
 * messages: each EVENT is "FRAME:HEX", the message's bytes in hex sent at
 * FRAME of every loop of LOOP frames (e.g. "3000:e10048", a pitch bend on
 * channel 2). jack_midiseq, which the tests used before, sends only notes;
 * this sends whatever bytes it is given, so the tests can show that
 * controllers, bends and pressure cross JACK too. Its audio output,
 * CLIENT:audio, loops jack_loop_audio in step with the MIDI, for the tests
 * of audio inputs. Runs until SIGINT or SIGTERM. Until the server starts
 * freewheeling it sends nothing, and its loop starts with freewheeling:
 * the tests connect it first, then the recorder (jack_freewheel_rec)
 * starts freewheeling, so the client under test hears the whole loop from
 * rest, with no period lost to the host's scheduling, as the checker
 * (jack_check) renders it.
 * Usage: jack_midi_loop CLIENT LOOP [EVENT...] */
#include <jack/jack.h>
#include <jack/midiport.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jack_events.h"

typedef struct {
    jack_port_t *port, *audio;
    const JackEvent *events;
    uint32_t n_events, loop;
    uint64_t position;  /* frames looped since freewheeling began (process thread only) */
    uint32_t failed;    /* events JACK's buffer refused (read after deactivation) */
    atomic_int started; /* set when the server starts freewheeling */
} MidiLoop;

static volatile sig_atomic_t stop_requested;

static void on_signal(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
}

static int on_process(jack_nframes_t n_frames, void *arg)
{
    MidiLoop *midi = arg;
    void *buffer = jack_port_get_buffer(midi->port, n_frames);
    float *audio = jack_port_get_buffer(midi->audio, n_frames);
    jack_midi_clear_buffer(buffer);
    if (!atomic_load_explicit(&midi->started, memory_order_acquire)) {
        memset(audio, 0, n_frames * sizeof(float));
        return 0;
    }
    for (jack_nframes_t f = 0; f < n_frames; f++) {
        const uint32_t phase = (uint32_t)((midi->position + f) % midi->loop);
        audio[f] = jack_loop_audio(phase);
        for (uint32_t i = 0; i < midi->n_events; i++) {
            const JackEvent *event = &midi->events[i];
            if (event->frame == phase &&
                jack_midi_event_write(buffer, f, event->bytes, event->size) != 0)
                midi->failed++;
        }
    }
    midi->position += n_frames;
    return 0;
}

static void on_freewheel(int starting, void *arg)
{
    MidiLoop *midi = arg;
    if (starting)
        atomic_store_explicit(&midi->started, 1, memory_order_release);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s CLIENT LOOP [FRAME:HEX...]\n", argv[0]);
        return 2;
    }
    JackEvent events[JACK_EVENTS_MAX];
    uint32_t loop, n_events;
    if (!jack_events_parse(argv[2], argc - 3, argv + 3, &loop, events, &n_events))
        return 2;

    jack_status_t status;
    jack_client_t *client = jack_client_open(argv[1], JackNoStartServer, &status);
    if (!client) {
        fprintf(stderr, "jack_midi_loop: cannot open a JACK client (status 0x%x)\n",
                (unsigned)status);
        return 1;
    }
    MidiLoop midi = {.events = events, .n_events = n_events, .loop = loop};
    midi.port = jack_port_register(client, "out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
    midi.audio =
        jack_port_register(client, "audio", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    if (!midi.port || !midi.audio || jack_set_process_callback(client, on_process, &midi) != 0 ||
        jack_set_freewheel_callback(client, on_freewheel, &midi) != 0 ||
        jack_activate(client) != 0) {
        fprintf(stderr, "jack_midi_loop: cannot register or activate %s:out and :audio\n",
                argv[1]);
        jack_client_close(client);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop_requested)
        usleep(20000);
    jack_deactivate(client);
    jack_client_close(client);
    if (midi.failed) {
        fprintf(stderr, "jack_midi_loop: JACK refused %u events\n", midi.failed);
        return 1;
    }
    return 0;
}
