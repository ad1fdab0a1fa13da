/* See jack_events.h. */
#include "jack_events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A whole decimal number in [min, max], or -1. */
static long parse_count(const char *text, const char *end_chars, const char **end, long min,
                        long max)
{
    char *stop;
    errno = 0;
    long value = strtol(text, &stop, 10);
    if (stop == text || errno || !strchr(end_chars, *stop) || value < min || value > max)
        return -1;
    *end = stop;
    return value;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int jack_events_parse(const char *loop_arg, int n_args, char *const *args, uint32_t *loop,
                      JackEvent *events, uint32_t *n_events)
{
    const char *end;
    long loop_frames = parse_count(loop_arg, "", &end, 64, 1L << 30);
    if (loop_frames < 0) {
        fprintf(stderr, "LOOP \"%s\": want a whole number of frames, at least 64\n", loop_arg);
        return 0;
    }
    if (n_args < 0 || n_args > JACK_EVENTS_MAX) {
        fprintf(stderr, "want 0 to %d events FRAME:HEX, got %d\n", JACK_EVENTS_MAX, n_args);
        return 0;
    }
    for (int i = 0; i < n_args; i++) {
        JackEvent *event = &events[i];
        long frame = parse_count(args[i], ":", &end, 0, loop_frames - 1);
        size_t digits = frame < 0 ? 0 : strlen(end + 1);
        if (frame < 0 || digits == 0 || digits % 2 || digits / 2 > JACK_EVENT_MAX_BYTES) {
            fprintf(stderr,
                    "event %d \"%s\": want FRAME:HEX, FRAME in 0..%ld and 1 to %d bytes in hex\n",
                    i + 1, args[i], loop_frames - 1, JACK_EVENT_MAX_BYTES);
            return 0;
        }
        event->frame = (uint32_t)frame;
        event->size = digits / 2;
        for (size_t b = 0; b < event->size; b++) {
            int high = hex_digit(end[1 + 2 * b]), low = hex_digit(end[2 + 2 * b]);
            if (high < 0 || low < 0) {
                fprintf(stderr, "event %d \"%s\": \"%s\" is not hex\n", i + 1, args[i], end + 1);
                return 0;
            }
            event->bytes[b] = (uint8_t)(high << 4 | low);
        }
    }
    *loop = (uint32_t)loop_frames;
    *n_events = (uint32_t)n_args;
    return 1;
}

float jack_loop_audio(uint32_t phase)
{
    enum { BURST = 2400 };
    if (phase >= BURST)
        return 0.0f;
    uint32_t h = phase * 2654435761u; /* a multiplicative hash of the frame */
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    float noise = (float)(int32_t)(h >> 8) / 8388608.0f - 1.0f; /* [-1, 1) */
    return noise * (0.25f * (float)(BURST - phase) / (float)BURST);
}
