/* `sprung play`'s JACK client (see play_jack.h). libjack is opened with
 * dlopen: the command links no JACK library, so the rest of `sprung` runs
 * where JACK is absent, and `play` says what to install. Works the same
 * under jackd and under PipeWire's libjack. */
#include "play_jack.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jack/jack.h>
#include <jack/midiport.h>
#include <jack/thread.h>

#define PLAY_MAX_MIDI_EVENTS 1024

#ifdef SPRUNG_PLAY_RTSAN
/* Only in the test twin `sprung_play_rtsan` (tests/jack/play_rtsan.c): the
 * callback runs inside a RealtimeSanitizer real-time section, so anything
 * it calls that may block or allocate aborts the program with a report. */
void play_rtsan_enter(void);
void play_rtsan_exit(void);
#else
static inline void play_rtsan_enter(void) {}
static inline void play_rtsan_exit(void) {}
#endif

/* The libjack entry points we use, resolved at run time. */
typedef struct JackApi {
    void *library;
    __typeof__(&jack_client_open) client_open;
    __typeof__(&jack_client_close) client_close;
    __typeof__(&jack_get_client_name) get_client_name;
    __typeof__(&jack_get_sample_rate) get_sample_rate;
    __typeof__(&jack_get_buffer_size) get_buffer_size;
    __typeof__(&jack_client_real_time_priority) real_time_priority;
    __typeof__(&jack_port_register) port_register;
    __typeof__(&jack_port_get_buffer) port_get_buffer;
    __typeof__(&jack_port_name) port_name;
    __typeof__(&jack_midi_get_event_count) midi_get_event_count;
    __typeof__(&jack_midi_event_get) midi_event_get;
    __typeof__(&jack_set_process_callback) set_process_callback;
    __typeof__(&jack_set_buffer_size_callback) set_buffer_size_callback;
    __typeof__(&jack_set_xrun_callback) set_xrun_callback;
    __typeof__(&jack_on_shutdown) on_shutdown;
    __typeof__(&jack_activate) activate;
    __typeof__(&jack_deactivate) deactivate;
    __typeof__(&jack_get_ports) get_ports;
    __typeof__(&jack_connect) connect;
    __typeof__(&jack_free) free;
} JackApi;

struct PlayJack {
    JackApi api;
    jack_client_t *client;
    PlayJackFlags *flags;
    jack_port_t *midi_in, *out[2], *in[2];
    SprungRunner *runner;
    uint32_t max_block_frames;
    SprungEvent events[PLAY_MAX_MIDI_EVENTS]; /* the callback's, preallocated */
};

static int api_load(JackApi *api)
{
    memset(api, 0, sizeof *api);
    api->library = dlopen("libjack.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!api->library) {
        fprintf(stderr,
                "sprung play: cannot load libjack.so.0 (%s); install JACK (Debian: "
                "libjack-jackd2-0) or PipeWire's JACK (pipewire-jack)\n",
                dlerror());
        return -1;
    }
#define LOAD(field, symbol)                                                                    \
    do {                                                                                       \
        *(void **)&api->field = dlsym(api->library, #symbol);                                  \
        if (!api->field) {                                                                     \
            fprintf(stderr, "sprung play: libjack.so.0 lacks %s\n", #symbol);                  \
            return -1;                                                                         \
        }                                                                                      \
    } while (0)
    LOAD(client_open, jack_client_open);
    LOAD(client_close, jack_client_close);
    LOAD(get_client_name, jack_get_client_name);
    LOAD(get_sample_rate, jack_get_sample_rate);
    LOAD(get_buffer_size, jack_get_buffer_size);
    LOAD(real_time_priority, jack_client_real_time_priority);
    LOAD(port_register, jack_port_register);
    LOAD(port_get_buffer, jack_port_get_buffer);
    LOAD(port_name, jack_port_name);
    LOAD(midi_get_event_count, jack_midi_get_event_count);
    LOAD(midi_event_get, jack_midi_event_get);
    LOAD(set_process_callback, jack_set_process_callback);
    LOAD(set_buffer_size_callback, jack_set_buffer_size_callback);
    LOAD(set_xrun_callback, jack_set_xrun_callback);
    LOAD(on_shutdown, jack_on_shutdown);
    LOAD(activate, jack_activate);
    LOAD(deactivate, jack_deactivate);
    LOAD(get_ports, jack_get_ports);
    LOAD(connect, jack_connect);
    LOAD(free, jack_free);
#undef LOAD
    return 0;
}

/* ---- JACK's threads ---- */

/* One period of the real-time callback (on_process): JACK MIDI -> events
 * at their frame offsets -> the runner. Every channel message the engine
 * reads passes (notes, controllers, bends, pressure: modulation and MPE);
 * CC 120 (all sound off) asks for a user reset; program changes and system
 * messages are ignored. Allocates nothing, takes no lock. */
static SPRUNG_REALTIME void process_block(PlayJack *jack, jack_nframes_t n_frames)
{
    const JackApi *api = &jack->api;
    float *out[2] = {api->port_get_buffer(jack->out[0], n_frames),
                     api->port_get_buffer(jack->out[1], n_frames)};
    const float *in[2] = {api->port_get_buffer(jack->in[0], n_frames),
                          api->port_get_buffer(jack->in[1], n_frames)};
    void *midi = api->port_get_buffer(jack->midi_in, n_frames);
    uint32_t n_events = 0, dropped = 0;
    uint32_t count = midi ? api->midi_get_event_count(midi) : 0;
    for (uint32_t i = 0; i < count; i++) {
        jack_midi_event_t midi_event;
        SprungEvent event;
        if (api->midi_event_get(&midi_event, midi, i) != 0)
            continue;
        /* JACK sorts by time; be sure anyway. */
        uint32_t frame = midi_event.time < n_frames ? midi_event.time : n_frames - 1;
        if (n_events && frame < jack->events[n_events - 1].frame)
            frame = jack->events[n_events - 1].frame;
        if (!sprung_event_from_midi(midi_event.buffer, midi_event.size, frame, &event))
            continue;
        if (event.type == SPRUNG_EVENT_CONTROL_CHANGE && event.note == 120) {
            sprung_runner_request_reset(jack->runner, SPRUNG_RESET_USER);
            continue;
        }
        if (n_events == PLAY_MAX_MIDI_EVENTS) {
            dropped++;
            continue;
        }
        jack->events[n_events++] = event;
    }
    if (dropped)
        atomic_fetch_add_explicit(&jack->flags->midi_dropped, dropped, memory_order_relaxed);
    /* A period larger than the runner takes: process() writes silence. */
    sprung_runner_process(jack->runner, n_frames, in, 2, out, 2, jack->events, n_events);
}

static SPRUNG_REALTIME int on_process(jack_nframes_t n_frames, void *arg)
{
    play_rtsan_enter();
    process_block(arg, n_frames);
    play_rtsan_exit();
    return 0;
}

static int on_buffer_size(jack_nframes_t n_frames, void *arg)
{
    PlayJack *jack = arg;
    atomic_store_explicit(&jack->flags->buffer_size, n_frames, memory_order_relaxed);
    atomic_store_explicit(&jack->flags->buffer_too_large, n_frames > jack->max_block_frames,
                          memory_order_release);
    return 0;
}

static int on_xrun(void *arg)
{
    PlayJack *jack = arg;
    atomic_fetch_add_explicit(&jack->flags->xruns, 1, memory_order_relaxed);
    return 0;
}

static void on_shutdown(void *arg)
{
    PlayJack *jack = arg;
    atomic_store_explicit(&jack->flags->shutdown, 1, memory_order_release);
}

/* ---- Main thread ---- */

PlayJack *play_jack_open(const char *name, PlayJackFlags *flags)
{
    PlayJack *jack = calloc(1, sizeof *jack);
    if (!jack) {
        fprintf(stderr, "sprung play: out of memory\n");
        return NULL;
    }
    jack->flags = flags;
    if (api_load(&jack->api) != 0) {
        if (jack->api.library)
            dlclose(jack->api.library);
        free(jack);
        return NULL;
    }
    jack_status_t status = 0;
    jack->client = jack->api.client_open(name, JackNoStartServer, &status);
    if (!jack->client) {
        if (status & JackServerFailed)
            fprintf(stderr,
                    "sprung play: no JACK server is running (start one, e.g. 'jackd -d alsa', "
                    "or run under PipeWire with pipewire-jack)\n");
        else if (status & JackNameNotUnique)
            fprintf(stderr, "sprung play: a JACK client named '%s' already exists (--name)\n",
                    name);
        else
            fprintf(stderr, "sprung play: cannot open a JACK client '%s' (JACK status 0x%x)\n",
                    name, (unsigned)status);
        dlclose(jack->api.library);
        free(jack);
        return NULL;
    }
    atomic_store(&flags->buffer_size, jack->api.get_buffer_size(jack->client));
    return jack;
}

double play_jack_sample_rate(const PlayJack *jack)
{
    return (double)jack->api.get_sample_rate(jack->client);
}

uint32_t play_jack_buffer_size(const PlayJack *jack)
{
    return jack->api.get_buffer_size(jack->client);
}

int play_jack_realtime_priority(const PlayJack *jack)
{
    int priority = jack->api.real_time_priority(jack->client);
    return priority > 0 ? priority : 0;
}

const char *play_jack_client_name(const PlayJack *jack)
{
    return jack->api.get_client_name(jack->client);
}

int play_jack_start(PlayJack *jack, SprungRunner *runner, uint32_t max_block_frames)
{
    const JackApi *api = &jack->api;
    jack->runner = runner;
    jack->max_block_frames = max_block_frames;
    jack->midi_in = api->port_register(jack->client, "midi_in", JACK_DEFAULT_MIDI_TYPE,
                                       JackPortIsInput, 0);
    jack->out[0] = api->port_register(jack->client, "out_left", JACK_DEFAULT_AUDIO_TYPE,
                                      JackPortIsOutput, 0);
    jack->out[1] = api->port_register(jack->client, "out_right", JACK_DEFAULT_AUDIO_TYPE,
                                      JackPortIsOutput, 0);
    jack->in[0] = api->port_register(jack->client, "in_left", JACK_DEFAULT_AUDIO_TYPE,
                                     JackPortIsInput, 0);
    jack->in[1] = api->port_register(jack->client, "in_right", JACK_DEFAULT_AUDIO_TYPE,
                                     JackPortIsInput, 0);
    if (!jack->midi_in || !jack->out[0] || !jack->out[1] || !jack->in[0] || !jack->in[1]) {
        fprintf(stderr, "sprung play: JACK refused to register the ports\n");
        return -1;
    }
    if (api->set_process_callback(jack->client, on_process, jack) ||
        api->set_buffer_size_callback(jack->client, on_buffer_size, jack) ||
        api->set_xrun_callback(jack->client, on_xrun, jack)) {
        fprintf(stderr, "sprung play: JACK refused the callbacks\n");
        return -1;
    }
    api->on_shutdown(jack->client, on_shutdown, jack);
    if (api->activate(jack->client)) {
        fprintf(stderr, "sprung play: cannot activate the JACK client\n");
        return -1;
    }
    return 0;
}

static void connect_pair(PlayJack *jack, const char *from, const char *to, int *made)
{
    int rc = jack->api.connect(jack->client, from, to);
    if (rc == 0)
        (*made)++;
    else if (rc != EEXIST)
        fprintf(stderr, "sprung play: --connect: cannot connect %s to %s\n", from, to);
}

void play_jack_connect_system(PlayJack *jack)
{
    const JackApi *api = &jack->api;
    int made = 0;
    const char **playback = api->get_ports(jack->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                           JackPortIsPhysical | JackPortIsInput);
    if (playback && playback[0]) {
        connect_pair(jack, api->port_name(jack->out[0]), playback[0], &made);
        connect_pair(jack, api->port_name(jack->out[1]), playback[1] ? playback[1] : playback[0],
                     &made);
    } else {
        fprintf(stderr, "sprung play: --connect: no physical playback ports\n");
    }
    const char **capture = api->get_ports(jack->client, NULL, JACK_DEFAULT_AUDIO_TYPE,
                                          JackPortIsPhysical | JackPortIsOutput);
    if (capture && capture[0]) {
        connect_pair(jack, capture[0], api->port_name(jack->in[0]), &made);
        connect_pair(jack, capture[1] ? capture[1] : capture[0], api->port_name(jack->in[1]),
                     &made);
    }
    const char **midi = api->get_ports(jack->client, NULL, JACK_DEFAULT_MIDI_TYPE,
                                       JackPortIsPhysical | JackPortIsOutput);
    int midi_count = 0;
    for (int i = 0; midi && midi[i]; i++, midi_count++)
        connect_pair(jack, midi[i], api->port_name(jack->midi_in), &made);
    if (!midi_count)
        fprintf(stderr, "sprung play: --connect: no physical MIDI inputs to listen to\n");
    fprintf(stderr, "sprung play: --connect: %d connection%s made\n", made, made == 1 ? "" : "s");
    if (playback)
        api->free(playback);
    if (capture)
        api->free(capture);
    if (midi)
        api->free(midi);
}

void play_jack_close(PlayJack *jack)
{
    if (!jack)
        return;
    if (jack->client) {
        if (!atomic_load(&jack->flags->shutdown))
            jack->api.deactivate(jack->client);
        jack->api.client_close(jack->client);
    }
    /* libjack is left loaded: its threads may outlive client_close briefly. */
    free(jack);
}
