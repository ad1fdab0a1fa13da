/* Generated models for the simd backend's differential test
 * (test_simd_random.c): random_model_text() writes the preset of a seed, a
 * topology that takes its own paths through the backend's layouts with any
 * mix of the model's features (random_model.c says which). Deterministic:
 * a seed gives the same text on every run. */
#ifndef SPRUNG_TESTS_RANDOM_MODEL_H
#define SPRUNG_TESTS_RANDOM_MODEL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* Bodies in a model at most: with channels 0 and 1 (stereo), one output
 * channel each fits in the engine's 64. */
#define RANDOM_MODEL_MAX_BODIES 62u

typedef struct RandomModelOptions {
    bool no_voices;      /* never instanced mode */
    bool stiffer_spring; /* the first spring one part in 2^20 stiffer (sabotage) */
} RandomModelOptions;

/* The preset text of `seed` (malloc'd; exits on no memory). */
char *random_model_text(uint64_t seed, RandomModelOptions options);

/* ---- random numbers (splitmix64: every seed its own stream) ---- */

typedef struct Rng {
    uint64_t state;
} Rng;

static inline uint64_t rng_next(Rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint32_t rng_below(Rng *r, uint32_t n)
{
    return (uint32_t)(rng_next(r) % n);
}

static inline double rng_uniform(Rng *r, double low, double high)
{
    return low + (high - low) * (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static inline bool rng_chance(Rng *r, double p)
{
    return rng_uniform(r, 0.0, 1.0) < p;
}

/* 10^uniform(low, high): constants that span decades. */
static inline double rng_decades(Rng *r, double low, double high)
{
    return pow(10.0, rng_uniform(r, low, high));
}

#endif
