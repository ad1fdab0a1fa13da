/* Order statistics for `sprung bench`'s timings (bench.c, bench_report.c,
 * bench_gpu.c, bench_voices.c): one sort, one percentile and one median, so
 * every report ranks its samples the same way. Command thread only. */
#ifndef SPRUNG_APP_BENCH_STATS_H
#define SPRUNG_APP_BENCH_STATS_H

#include <stddef.h>

/* Sorts values[0 .. n) in ascending order. */
void bench_sort(double *values, size_t n);

/* Nearest rank over sorted[0 .. n): the smallest value with at least a
 * share p (0 ≤ p ≤ 1) of the values at or below it; NaN when n is 0. */
double bench_percentile(const double *sorted, size_t n, double p);

/* The median of sorted[0 .. n) (ascending): the middle value, or the mean
 * of the two middle ones when n is even; NaN when n is 0. */
double bench_median_sorted(const double *sorted, size_t n);

/* The most values bench_median takes: the benchmark's repetitions. */
#define BENCH_MEDIAN_MAX 16u

/* The median of values[0 .. n), left as they are (a sorted copy's
 * bench_median_sorted); NaN when n is 0 or more than BENCH_MEDIAN_MAX. */
double bench_median(const double *values, size_t n);

#endif
