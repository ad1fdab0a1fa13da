/* libFuzzer target for the MIDI file loader (src/io/midi.c, over libsmf):
 * any byte string either loads or fails with a message, and a loaded
 * sequence is sorted, in range and finite. Built with
 * -fsanitize=fuzzer,address,undefined together with the loader source. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "io/midi.h"

enum { FUZZ_MAX_INPUT = 64 * 1024 };

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_midi: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void ignore_glib_log(const gchar *domain, GLogLevelFlags level, const gchar *message,
                            gpointer user_data)
{
    (void)domain, (void)level, (void)message, (void)user_data;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libsmf reports every malformed file through glib's logger; thousands of
 * those lines per second would only slow the fuzzer down. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    g_log_set_default_handler(ignore_glib_log, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    SprungMidiSequence *sequence = NULL;
    SprungError error;
    memset(&error, 0, sizeof error);
    SprungStatus status = sprung_midi_load_memory(data, size, "fuzz.mid", &sequence, &error);
    if (status != SPRUNG_OK) {
        if (sequence)
            die("a failed load returned a sequence", NULL);
        if (error.message[0] == '\0')
            die("a failed load left the error message empty", NULL);
        return 0;
    }
    if (!sequence)
        die("a successful load returned no sequence", NULL);
    if (sequence->n_events && !sequence->events)
        die("events missing", NULL);
    if (!isfinite(sequence->duration_s) || sequence->duration_s < 0.0)
        die("duration is negative or not finite", NULL);
    double previous = 0.0;
    for (size_t i = 0; i < sequence->n_events; i++) {
        const SprungMidiEvent *ev = &sequence->events[i];
        if (!isfinite(ev->time_s) || ev->time_s < previous)
            die("events are not sorted by a finite time", NULL);
        if (ev->time_s > sequence->duration_s * (1.0 + 1e-12) + 1e-12)
            die("an event lies after the duration", NULL);
        if (ev->type < SPRUNG_EVENT_NOTE_ON || ev->type > SPRUNG_EVENT_POLY_PRESSURE)
            die("an event has an unknown type", NULL);
        if (ev->channel > 15 || ev->note > 127 || ev->velocity > 127 ||
            ev->value > (ev->type == SPRUNG_EVENT_PITCH_BEND ? 16383u : 127u))
            die("an event field is out of range", NULL);
        previous = ev->time_s;
    }
    sprung_midi_free(sequence);
    return 0;
}
