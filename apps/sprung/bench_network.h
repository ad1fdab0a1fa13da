/* `sprung bench`'s synthetic models (bench.c): random networks of any
 * size, generated rather than stored so the cost-growth sweep reaches
 * 100,000 springs. Command thread only. */
#ifndef SPRUNG_APP_BENCH_NETWORK_H
#define SPRUNG_APP_BENCH_NETWORK_H

#include <stdint.h>

/* A random network of about `springs` springs over springs/2 bodies on a 3D
 * grid: a ring through all bodies (each body to the next) plus one more
 * spring per body, to a pseudo-random other body or, for every eighth, to
 * an anchor of its own. Masses and stiffnesses keep it far inside the
 * stability limit at 48 kHz (degree ~4, sqrt(lambda_max)·dt well below 1)
 * with modes in the audible range; one mallet, two microphones.
 * Returns the preset's JSON text (the caller frees it), or NULL when out
 * of memory. */
char *bench_network_json(uint32_t springs);

#endif
