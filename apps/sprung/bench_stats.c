#include "bench_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_sort(double *values, size_t n)
{
    qsort(values, n, sizeof *values, compare_double);
}

double bench_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return NAN;
    size_t rank = (size_t)ceil(p * (double)n); /* 1-based; 0 for p = 0 */
    return sorted[rank == 0 ? 0 : rank <= n ? rank - 1 : n - 1];
}

double bench_median_sorted(const double *sorted, size_t n)
{
    if (n == 0)
        return NAN;
    return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

double bench_median(const double *values, size_t n)
{
    if (n == 0 || n > BENCH_MEDIAN_MAX)
        return NAN;
    double sorted[BENCH_MEDIAN_MAX];
    memcpy(sorted, values, n * sizeof *values);
    bench_sort(sorted, n);
    return bench_median_sorted(sorted, n);
}
