/* `sprung bench`'s report of its CPU benchmark (bench.c measures, this
 * reports): the targets, at 48 kHz the share of one core that
 * mesh-20x30 (at most 10 %) and net-1000x5000 (at most 50 %) need and each
 * backend's speed-up over the reference (cpu) in the same run, and the
 * JSON of --json. Command thread only. */
#ifndef SPRUNG_APP_BENCH_REPORT_H
#define SPRUNG_APP_BENCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "bench_machine.h"
#include "bench_results.h"
#include "bench_voices.h"

/* The targets' lines after the table: each backend's share of a core on
 * each target model (median, wall and best repetition), met or MISSED, its
 * speed-up and its cycles per step at `clock_ghz` (bench_machine_clock_ghz;
 * none where NAN). */
void bench_print_targets(FILE *out, const BenchResults *results, double clock_ghz);

/* The run as one JSON object: machine, build, every row, the targets and,
 * when `voices` is not NULL, the voices sweep. */
void bench_write_json(FILE *out, const BenchMachine *machine, const BenchResults *results,
                      int repeats, bool quick, const BenchVoices *voices);

#endif
