/* The looped MIDI phrase the JACK tests play, shared by the sender
 * (jack_midi_loop) and the checker (jack_check) so that both read the same
 * command line the same way: a loop length in frames, then events
 * "FRAME:HEX", the raw bytes of one MIDI message sent at FRAME of every
 * loop (e.g. "100:913c64" is note 60 on channel 2 at velocity 100). */
#ifndef SPRUNG_TESTS_JACK_EVENTS_H
#define SPRUNG_TESTS_JACK_EVENTS_H

#include <stddef.h>
#include <stdint.h>

enum { JACK_EVENTS_MAX = 64, JACK_EVENT_MAX_BYTES = 8 };

typedef struct {
    uint32_t frame; /* in the loop: 0 .. loop - 1 */
    uint8_t bytes[JACK_EVENT_MAX_BYTES];
    size_t size;
} JackEvent;

/* Reads LOOP (at least 64 frames) and the n_args events after it (none
 * for an input-only test) into events[0 .. *n_events). Returns 0 after
 * printing which argument is wrong and why: a frame outside the loop, odd
 * or non-hex digits, an empty or too long message, more than
 * JACK_EVENTS_MAX events. */
int jack_events_parse(const char *loop_arg, int n_args, char *const *args, uint32_t *loop,
                      JackEvent *events, uint32_t *n_events);

/* The audio the sender loops beside its MIDI (jack_midi_loop's "audio"
 * port) at `phase` frames into the loop: a 50 ms burst of pseudo-random
 * noise fading out, then silence. The sender and the checker both call
 * this one function, so they compute the same samples. */
float jack_loop_audio(uint32_t phase);

#endif
