/* Records JACK ports with the server freewheeling, so that what the JACK
 * tests compare cannot be spoiled by the host's scheduling. In real time a
 * client the host does not schedule in time misses a period (an xrun): its
 * MIDI and audio for that period are lost or shifted, and on a busy shared
 * machine that happened in most recordings (CI on 2026-11-22: three tests
 * failed after five attempts each, 14-300 xruns an attempt). Freewheeling,
 * the server runs each period as soon as every client has finished the
 * last, and never skips one: the recording depends only on what the
 * clients compute.
 *
 * In order: registers one input per PORT and connects PORT to it; starts
 * freewheeling (the tests' sender, jack_midi_loop, starts its loop then);
 * once the server says it freewheels, lets SETTLE frames pass (the checker
 * renders the same history); records RECORD frames of every PORT into
 * OUT.wav (32-bit float, one channel per PORT); stops freewheeling.
 * Exit status: 0 recorded; 1 JACK failed, or the recording did not finish
 * within a minute (what, on stderr); 2 a bad command line. SIGINT and
 * SIGTERM stop freewheeling before exiting 1: a server left freewheeling
 * would refuse the next recording.
 * Usage: jack_freewheel_rec OUT.wav SETTLE RECORD PORT... */
#include <jack/jack.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "io/wav.h"

enum { MAX_PORTS = 8, DEADLINE_SECONDS = 60 };

typedef struct {
    jack_port_t *in[MAX_PORTS];
    uint32_t n_ports;
    uint64_t settle, record; /* frames */
    float *interleaved;      /* record * n_ports, preallocated */
    uint64_t seen, recorded; /* since freewheeling began (process thread only) */
    atomic_int freewheeling; /* set by the server's notification */
    atomic_int done;         /* set by the process thread */
} Recorder;

static volatile sig_atomic_t stop_requested;

static void on_signal(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
}

static int on_process(jack_nframes_t n_frames, void *arg)
{
    Recorder *rec = arg;
    if (!atomic_load_explicit(&rec->freewheeling, memory_order_acquire) ||
        rec->recorded == rec->record)
        return 0;
    const float *in[MAX_PORTS];
    for (uint32_t p = 0; p < rec->n_ports; p++)
        in[p] = jack_port_get_buffer(rec->in[p], n_frames);
    for (jack_nframes_t f = 0; f < n_frames && rec->recorded < rec->record; f++) {
        if (rec->seen++ < rec->settle)
            continue;
        for (uint32_t p = 0; p < rec->n_ports; p++)
            rec->interleaved[rec->recorded * rec->n_ports + p] = in[p][f];
        rec->recorded++;
    }
    if (rec->recorded == rec->record)
        atomic_store_explicit(&rec->done, 1, memory_order_release);
    return 0;
}

static void on_freewheel(int starting, void *arg)
{
    Recorder *rec = arg;
    if (starting)
        atomic_store_explicit(&rec->freewheeling, 1, memory_order_release);
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int parse_frames(const char *text, const char *what, uint64_t *out)
{
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    if (end == text || *end || text[0] == '-' || value > 48000ull * 600) {
        fprintf(stderr, "jack_freewheel_rec: %s must be a number of frames up to 10 minutes "
                        "at 48 kHz, not \"%s\"\n", what, text);
        return 0;
    }
    *out = value;
    return 1;
}

/* Records; 0 on success, 1 after printing why not. */
static int record(jack_client_t *client, Recorder *rec, const char *path, char **ports)
{
    for (uint32_t p = 0; p < rec->n_ports; p++) {
        char name[16];
        snprintf(name, sizeof name, "in_%u", p + 1);
        rec->in[p] =
            jack_port_register(client, name, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (!rec->in[p]) {
            fprintf(stderr, "jack_freewheel_rec: cannot register %s\n", name);
            return 1;
        }
    }
    if (jack_set_process_callback(client, on_process, rec) ||
        jack_set_freewheel_callback(client, on_freewheel, rec) || jack_activate(client)) {
        fprintf(stderr, "jack_freewheel_rec: cannot set up or activate the client\n");
        return 1;
    }
    for (uint32_t p = 0; p < rec->n_ports; p++)
        if (jack_connect(client, ports[p], jack_port_name(rec->in[p]))) {
            fprintf(stderr, "jack_freewheel_rec: cannot connect %s\n", ports[p]);
            return 1;
        }
    const double started = now_seconds();
    if (jack_set_freewheel(client, 1)) {
        fprintf(stderr, "jack_freewheel_rec: the server refused to freewheel (already is?)\n");
        return 1;
    }
    while (!atomic_load_explicit(&rec->done, memory_order_acquire) && !stop_requested &&
           now_seconds() < started + DEADLINE_SECONDS)
        usleep(1000);
    jack_set_freewheel(client, 0);
    jack_deactivate(client);
    if (!atomic_load_explicit(&rec->done, memory_order_acquire)) {
        fprintf(stderr, "jack_freewheel_rec: %s with %llu of %llu frames recorded%s\n",
                stop_requested ? "stopped" : "a minute passed",
                (unsigned long long)rec->recorded, (unsigned long long)rec->record,
                atomic_load(&rec->freewheeling) ? "" : " (the server never said it freewheels)");
        return 1;
    }
    SprungError error = {0};
    if (sprung_wav_write(path, rec->interleaved, rec->record, rec->n_ports,
                         jack_get_sample_rate(client), &error) != SPRUNG_OK) {
        fprintf(stderr, "jack_freewheel_rec: %s\n", error.message);
        return 1;
    }
    fprintf(stderr,
            "jack_freewheel_rec: %llu frames of %u ports after %llu settling, freewheeling, "
            "in %.2f s\n", (unsigned long long)rec->record, rec->n_ports,
            (unsigned long long)rec->settle, now_seconds() - started);
    return 0;
}

int main(int argc, char **argv)
{
    Recorder rec = {0};
    if (argc < 5 || argc - 4 > MAX_PORTS) {
        fprintf(stderr, "usage: %s OUT.wav SETTLE RECORD PORT... (frames; at most %d ports)\n",
                argv[0], MAX_PORTS);
        return 2;
    }
    if (!parse_frames(argv[2], "SETTLE", &rec.settle) ||
        !parse_frames(argv[3], "RECORD", &rec.record))
        return 2;
    if (rec.record == 0) {
        fprintf(stderr, "jack_freewheel_rec: RECORD must be at least one frame\n");
        return 2;
    }
    rec.n_ports = (uint32_t)(argc - 4);
    rec.interleaved = calloc(rec.record * rec.n_ports, sizeof(float));
    if (!rec.interleaved) {
        fprintf(stderr, "jack_freewheel_rec: out of memory\n");
        return 1;
    }
    jack_status_t status;
    jack_client_t *client = jack_client_open("freewheel-rec", JackNoStartServer, &status);
    if (!client) {
        fprintf(stderr, "jack_freewheel_rec: cannot open a JACK client (status 0x%x)\n",
                (unsigned)status);
        free(rec.interleaved);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int rc = record(client, &rec, argv[1], argv + 4);
    jack_client_close(client);
    free(rec.interleaved);
    return rc;
}
