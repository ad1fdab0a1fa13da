/* Order statistics for `sprung bench`'s timings (bench.c, bench_gpu.c,
 * bench_voices.c): one sort and one percentile, so every report ranks its
 * samples the same way. Command thread only. */
#ifndef SPRUNG_APP_BENCH_STATS_H
#define SPRUNG_APP_BENCH_STATS_H

#include <stddef.h>

/* Sorts values[0 .. n) in ascending order. */
void bench_sort(double *values, size_t n);

/* Nearest rank over sorted[0 .. n): the smallest value with at least a
 * share p (0 ≤ p ≤ 1) of the values at or below it; NaN when n is 0. */
double bench_percentile(const double *sorted, size_t n, double p);

#endif
