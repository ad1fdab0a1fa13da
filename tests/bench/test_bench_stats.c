/* `sprung bench`'s order statistics (apps/sprung/bench_stats.c): the
 * median every row and speed-up is reported as, and the nearest-rank
 * percentile of the GPU and voices benchmarks. By hand: making
 * bench_median return the lower middle value for an even count fails the
 * even-count checks. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bench_stats.h"

static int failures = 0;

static void check(int ok, const char *format, ...)
{
    if (ok)
        return;
    va_list args;
    va_start(args, format);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
    failures++;
}

static void test_median(void)
{
    const double odd[5] = {5.0, 1.0, 4.0, 2.0, 3.0};
    double copy[5];
    memcpy(copy, odd, sizeof odd);
    check(bench_median(copy, 5) == 3.0, "median of 5 values: %g, not 3", bench_median(copy, 5));
    check(!memcmp(copy, odd, sizeof odd), "bench_median reordered its input");

    const double even[4] = {10.0, 1.0, 7.0, 2.0};
    check(bench_median(even, 4) == 4.5, "median of 4 values: %g, not 4.5 (2 and 7)",
          bench_median(even, 4));
    const double even_sorted[4] = {1.0, 2.0, 7.0, 10.0};
    check(bench_median_sorted(even_sorted, 4) == 4.5, "median of 1, 2, 7, 10: %g, not 4.5",
          bench_median_sorted(even_sorted, 4));
    check(isnan(bench_median_sorted(even_sorted, 0)), "the sorted median of nothing is not NaN");
    check(bench_median(even, 1) == 10.0, "median of one value: %g", bench_median(even, 1));
    check(bench_median(even, 2) == 5.5, "median of 10 and 1: %g, not 5.5", bench_median(even, 2));

    /* BENCH_MEDIAN_MAX, ..., 2, 1 and one more: the middle two of the
     * first BENCH_MEDIAN_MAX (an even count) are its half and half + 1. */
    double many[BENCH_MEDIAN_MAX + 1];
    for (size_t i = 0; i <= BENCH_MEDIAN_MAX; i++)
        many[i] = (double)(BENCH_MEDIAN_MAX - i);
    double half = BENCH_MEDIAN_MAX / 2;
    check(bench_median(many, BENCH_MEDIAN_MAX) == half + 0.5, "median of %u values: %g, not %g",
          BENCH_MEDIAN_MAX, bench_median(many, BENCH_MEDIAN_MAX), half + 0.5);
    check(isnan(bench_median(many, BENCH_MEDIAN_MAX + 1)), "more than %u values is not NaN",
          BENCH_MEDIAN_MAX);
    check(isnan(bench_median(many, 0)), "the median of nothing is not NaN");
}

static void test_percentile(void)
{
    double values[10] = {9, 0, 8, 1, 7, 2, 6, 3, 5, 4};
    bench_sort(values, 10);
    for (int i = 0; i < 10; i++)
        check(values[i] == (double)i, "bench_sort: values[%d] = %g", i, values[i]);
    /* Nearest rank: the smallest value with at least a share p at or below. */
    check(bench_percentile(values, 10, 0.0) == 0.0, "p0: %g", bench_percentile(values, 10, 0.0));
    check(bench_percentile(values, 10, 0.5) == 4.0, "p50: %g", bench_percentile(values, 10, 0.5));
    check(bench_percentile(values, 10, 0.51) == 5.0, "p51: %g",
          bench_percentile(values, 10, 0.51));
    check(bench_percentile(values, 10, 0.99) == 9.0, "p99: %g",
          bench_percentile(values, 10, 0.99));
    check(bench_percentile(values, 10, 1.0) == 9.0, "p100: %g", bench_percentile(values, 10, 1.0));
    check(isnan(bench_percentile(values, 0, 0.5)), "a percentile of nothing is not NaN");
}

int main(void)
{
    test_median();
    test_percentile();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("bench_stats: median and percentiles as documented\n");
    return 0;
}
