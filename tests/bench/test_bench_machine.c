/* The probes `sprung bench` reads the machine with (apps/sprung/
 * bench_machine.c): each gives a figure that a working probe gives on any
 * x86-64 machine, and the machine's JSON carries them. By hand, on the
 * Sapphire Rapids guest of docs/benchmarks.md: the clock chain made of
 * `add $1, %0` (which Golden Cove cores fold at rename) read 36.7 GHz and
 * failed the clock check (and the adds' check, whose cycles it sets); the
 * chase linked in address order (line i to line i + 1, which the
 * prefetchers follow) read 6.4 cycles a load and failed the chase check. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_machine.h"

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

static void test_probe(void)
{
    BenchProbe probe = bench_probe();
    printf("probe: %.3f GHz, %.2f vector adds per cycle, %.2f ns per load\n", probe.clock_ghz,
           probe.vector_adds_per_cycle, probe.chase_ns);
#if defined(__x86_64__)
    /* The slowest clock a machine that runs the suite could have, and the
     * fastest any x86-64 core has shipped with (6.2 GHz). */
    check(probe.clock_ghz >= 0.4 && probe.clock_ghz <= 6.5,
          "clock %.3f GHz outside [0.4, 6.5]: the multiply chain is not what it says",
          probe.clock_ghz);
    /* Every core has at least one add pipe, none more than four. */
    check(probe.vector_adds_per_cycle >= 0.5 && probe.vector_adds_per_cycle <= 4.5,
          "%.2f vector adds per cycle outside [0.5, 4.5]", probe.vector_adds_per_cycle);
    /* 1 MiB in random order misses every L1: an L2 hit alone takes 10 or
     * more cycles on any x86-64 core, the L1 4 or 5. */
    double chase_cycles = probe.chase_ns * probe.clock_ghz;
    check(chase_cycles >= 8.0, "%.1f cycles a load over 1 MiB: the chase stays in the L1",
          chase_cycles);
#else
    check(isnan(probe.clock_ghz) && isnan(probe.vector_adds_per_cycle),
          "a clock probe on a machine without one");
#endif
    check(probe.chase_ns > 0.0 && probe.chase_ns < 1000.0, "%.2f ns a load outside (0, 1000)",
          probe.chase_ns);
}

static void test_machine_json(void)
{
    BenchMachine machine;
    bench_machine_begin(&machine);
    bench_machine_end(&machine);
    check(machine.cores >= 1, "%ld cores", machine.cores);
    check(machine.cpu[0] != '\0', "no CPU name (not even \"unknown\")");
    check(isnan(machine.steal_percent) ||
              (machine.steal_percent >= 0.0 && machine.steal_percent <= 100.0),
          "steal %.1f %% outside [0, 100]", machine.steal_percent);
    double clock = bench_machine_clock_ghz(&machine);
    check(clock == 0.5 * (machine.start.clock_ghz + machine.end.clock_ghz) ||
              (isnan(clock) && isnan(machine.start.clock_ghz)),
          "the run's clock %.3f GHz is not the mean of its probes", clock);

    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    bench_machine_write_json(out, &machine);
    fclose(out);
    const char *keys[] = {"\"cpu\"", "\"cores\"", "\"load_average\"", "\"clock_ghz_start\"",
                          "\"clock_ghz_end\"", "\"vector_adds_per_cycle_start\"",
                          "\"chase_ns_end\"", "\"steal_percent\""};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        check(text && strstr(text, keys[k]), "machine JSON without %s: %s", keys[k], text);
    check(text && text[0] == '{' && text[size - 1] == '}', "machine JSON not an object: %s",
          text);
    free(text);
}

int main(void)
{
    test_probe();
    test_machine_json();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("bench machine probes: all checks passed\n");
    return 0;
}
