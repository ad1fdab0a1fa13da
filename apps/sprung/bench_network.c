/* The synthetic networks of `sprung bench` (bench_network.h), written as
 * preset JSON so that they load through the same parser as every model.
 * Command thread only. */
#include "bench_network.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* A growing string; `failed` once vsnprintf or realloc failed. */
typedef struct TextBuffer {
    char *data;
    size_t length, capacity;
    bool failed;
} TextBuffer;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void text_append(TextBuffer *text, const char *format, ...)
{
    if (text->failed)
        return;
    for (;;) {
        size_t room = text->capacity - text->length;
        va_list args;
        va_start(args, format);
        int n = vsnprintf(text->data ? text->data + text->length : NULL, room, format, args);
        va_end(args);
        if (n < 0) {
            text->failed = true;
            return;
        }
        if ((size_t)n < room) {
            text->length += (size_t)n;
            return;
        }
        size_t capacity = text->capacity ? text->capacity * 2 : 1 << 16;
        while (capacity - text->length <= (size_t)n)
            capacity *= 2;
        char *grown = realloc(text->data, capacity);
        if (!grown) {
            text->failed = true;
            return;
        }
        text->data = grown;
        text->capacity = capacity;
    }
}

char *bench_network_json(uint32_t springs)
{
    uint32_t n_bodies = springs / 2 < 2 ? 2 : springs / 2;
    uint32_t side = 1;
    while (side * side * side < n_bodies)
        side++;
    const double spacing = 0.01;
    TextBuffer text = {0};
    text_append(&text, "{\"sprung\": 1, \"name\": \"network-%u\", \"bodies\": [", springs);
    for (uint32_t i = 0; i < n_bodies; i++)
        text_append(&text, "%s{\"id\": \"b%u\", \"position\": [%.4f, %.4f, %.4f], \"mass\": 0.01}",
                    i ? ",\n" : "\n", i, spacing * (i % side), spacing * ((i / side) % side),
                    spacing * (i / (side * side)));
    text_append(&text, "],\n\"anchors\": [");
    for (uint32_t i = 0, first = 1; i < n_bodies; i += 8, first = 0)
        text_append(&text, "%s{\"id\": \"a%u\", \"position\": [%.4f, %.4f, %.4f]}",
                    first ? "\n" : ",\n", i, spacing * (i % side) + 0.3 * spacing,
                    spacing * ((i / side) % side) + 0.4 * spacing,
                    spacing * (i / (side * side)) + 0.5 * spacing);
    text_append(&text, "],\n\"springs\": [");
    uint32_t random_state = 12345u, count = 0;
    for (uint32_t i = 0; i < n_bodies && count < springs; i++, count++)
        text_append(&text,
                    "%s{\"id\": \"r%u\", \"from\": \"b%u\", \"to\": \"b%u\", \"stiffness\": 1e5,"
                    " \"damping\": 1e-4}",
                    i ? ",\n" : "\n", i, i, (i + 1) % n_bodies);
    for (uint32_t i = 0; count < springs; i = (i + 1) % n_bodies, count++) {
        random_state = random_state * 1664525u + 1013904223u;
        if (i % 8 == 0) {
            text_append(&text,
                        ",\n{\"id\": \"x%u\", \"from\": \"a%u\", \"to\": \"b%u\","
                        " \"stiffness\": 1e5, \"damping\": 1e-4}",
                        count, i, i);
        } else {
            uint32_t other = (random_state >> 8) % (n_bodies - 1);
            if (other >= i)
                other++; /* never the body itself */
            text_append(&text,
                        ",\n{\"id\": \"x%u\", \"from\": \"b%u\", \"to\": \"b%u\","
                        " \"stiffness\": 1e5, \"damping\": 1e-4}",
                        count, i, other);
        }
    }
    text_append(&text,
                "],\n\"mallets\": [{\"id\": \"m\", \"target\": \"b0\", \"direction\": [0.3, 0.2, 1],"
                " \"strength\": 0.05, \"duration_ms\": 1}],\n"
                "\"microphones\": [{\"id\": \"l\", \"target\": \"b%u\", \"axis\": [0, 0, 1],"
                " \"gain\": 100, \"pan\": -0.5},\n"
                " {\"id\": \"r\", \"target\": \"b%u\", \"axis\": [1, 0, 0], \"gain\": 100,"
                " \"pan\": 0.5}]}\n",
                n_bodies / 2, n_bodies - 1);
    if (text.failed) {
        free(text.data);
        return NULL;
    }
    return text.data;
}
