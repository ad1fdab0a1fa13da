/* The conditions `sprung bench` measured under, so that its figures can be
 * read on a shared, frequency-scaled machine: the CPU; the core's clock,
 * its vector-add throughput and its time per load from memory beyond L1,
 * by probe at the start and the end of the run; the load average; and the
 * time the hypervisor took (steal). On the KVM guest of docs/benchmarks.md
 * the same binary's share of a core moved by 1.7x across days; the probe
 * tells a slower clock from a busier core or busier caches.
 * Command thread only. */
#ifndef SPRUNG_APP_BENCH_MACHINE_H
#define SPRUNG_APP_BENCH_MACHINE_H

#include <stdio.h>

/* One reading of the core this thread runs on; NAN where not measured
 * (the probes are x86-64 assembly). */
typedef struct BenchProbe {
    /* From a chain of dependent 64-bit multiplies, 3 cycles each on Intel
     * cores since Nehalem (2008) and AMD's since Zen (2017): the clock the
     * chain ran at, turbo and throttling included. (AMD's Bulldozer family
     * takes longer per multiply and would read a lower clock.) */
    double clock_ghz;
    /* Independent 4-float adds per cycle of that clock: 2 on an idle
     * core of the last decade (two add pipes), less while a hyperthread
     * sharing the core competes for them. The median of the runs. */
    double vector_adds_per_cycle;
    /* Nanoseconds per load of a pointer chase in random order over 1 MiB
     * (the scale of net-1000x5000's arrays: past every L1, within most
     * L2s), the median of the runs: higher while other work, or a move
     * to another core, leaves less of the caches to this thread. */
    double chase_ns;
} BenchProbe;

typedef struct BenchMachine {
    char cpu[256];               /* /proc/cpuinfo's model name */
    long cores;                  /* online */
    double load_average;         /* one minute, at the start; NAN unknown */
    BenchProbe start, end;
    /* The machine's time taken by the hypervisor over the run, as a share
     * of all its CPUs' time (/proc/stat); NAN unknown. */
    double steal_percent;
    unsigned long long stat_steal, stat_total; /* at the start */
} BenchMachine;

/* One probe reading: a few runs of a few milliseconds each. */
BenchProbe bench_probe(void);

/* Before the measurements: the CPU, the load, the first probe. */
void bench_machine_begin(BenchMachine *machine);

/* After them: the second probe and the steal over the run. */
void bench_machine_end(BenchMachine *machine);

/* The lines before the table ("machine: ...", "probe at start: ...") and
 * after it ("probe at end: ...", the steal). */
void bench_machine_print_start(FILE *out, const BenchMachine *machine);
void bench_machine_print_end(FILE *out, const BenchMachine *machine);

/* The JSON's "machine" object (its value only). */
void bench_machine_write_json(FILE *out, const BenchMachine *machine);

/* The mean of the two probes' clocks (either alone where the other is
 * NAN), for cycle counts from CPU times. */
double bench_machine_clock_ghz(const BenchMachine *machine);

#endif
