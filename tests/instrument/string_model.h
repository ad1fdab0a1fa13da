/* A test string for the pluck and bow tests: N bodies of 0.1 g in a line
 * along x between two anchors, 2 cm apart, springs of 2000 N/m pre-stressed
 * to 20 N (rest length 1 cm), vibrating along y. `extra` is appended inside
 * the top-level object (exciters, microphones); `drag` per body. */
#ifndef SPRUNG_TEST_STRING_MODEL_H
#define SPRUNG_TEST_STRING_MODEL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { STRING_BODIES = 20 };

static char *string_model(const char *extra, double drag)
{
    size_t size = 16384 + strlen(extra);
    char *json = malloc(size);
    size_t used = (size_t)snprintf(json, size, "{\"sprung\": 1, \"bodies\": [");
    for (int i = 1; i <= STRING_BODIES; i++)
        used += (size_t)snprintf(json + used, size - used,
                                 "%s{\"id\": \"b%d\", \"position\": [%g, 0, 0], \"mass\": 0.0001, "
                                 "\"drag\": %g}",
                                 i > 1 ? ", " : "", i, 0.02 * i, drag);
    used += (size_t)snprintf(json + used, size - used,
                             "], \"anchors\": [{\"id\": \"left\", \"position\": [0, 0, 0]}, "
                             "{\"id\": \"right\", \"position\": [%g, 0, 0]}], \"springs\": [",
                             0.02 * (STRING_BODIES + 1));
    for (int i = 0; i <= STRING_BODIES; i++) {
        char from[16], to[16];
        snprintf(from, sizeof from, i == 0 ? "left" : "b%d", i);
        snprintf(to, sizeof to, i == STRING_BODIES ? "right" : "b%d", i + 1);
        used += (size_t)snprintf(json + used, size - used,
                                 "%s{\"id\": \"s%d\", \"from\": \"%s\", \"to\": \"%s\", "
                                 "\"stiffness\": 2000, \"rest_length\": 0.01}",
                                 i ? ", " : "", i, from, to);
    }
    snprintf(json + used, size - used, "], %s}", extra);
    return json;
}

#endif
