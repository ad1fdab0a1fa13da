/* The conditions of a `sprung bench` run (bench_machine.h): the CPU, the
 * probes of the core's clock and add throughput, the load and the
 * hypervisor's steal. Command thread only. */
#include "bench_machine.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_output.h"
#include "bench_stats.h"

enum {
    PROBE_RUNS = 7,              /* the clock from the best (least disturbed), the rest medians */
    PROBE_ITERATIONS = 100000,   /* 2 ms of multiplies at 2.4 GHz */
    PROBE_MULTIPLY_CYCLES = 3,   /* latency of imul r64, r64 */
    PROBE_CHASE_BYTES = 1 << 20,
    PROBE_CHASE_LINE = 64,       /* one pointer per cache line */
    PROBE_CHASE_LOADS = 200000,  /* per run: 2-10 ms */
};

/* Operations per loop iteration, spelled out for the assembler too. */
#define PROBE_MULTIPLIES 16
#define PROBE_ADD_ROUNDS 4       /* of one add in each of eight chains */
#define PROBE_ADDS (8 * PROBE_ADD_ROUNDS)
#define PROBE_STRING(x) #x
#define PROBE_REPT(n) ".rept " PROBE_STRING(n) "\n\t"

/* This thread's CPU time: on a KVM guest it leaves out the time the
 * hypervisor gave to others (steal), which would read as a slow core. */
static double probe_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BENCH_HAVE_PROBE 1

/* `iterations` x PROBE_MULTIPLIES multiplies, each waiting for the one
 * before. Not `add $1, %reg`: Intel's Golden Cove folds chains of
 * immediate adds at rename, and such a chain read 36.7 GHz. */
static double __attribute__((noinline)) probe_multiply_chain(uint64_t iterations)
{
    uint64_t x = 1, factor = 3;
    double t0 = probe_now();
    __asm__ volatile("1:\n\t"
                     PROBE_REPT(PROBE_MULTIPLIES) "imul %2, %0\n\t .endr\n\t"
                     "dec %1\n\t"
                     "jnz 1b\n"
                     : "+r"(x), "+r"(iterations)
                     : "r"(factor)
                     : "cc");
    return probe_now() - t0;
}

/* `iterations` x PROBE_ADDS float adds in eight independent chains, so
 * that only the number of add pipes free to this thread limits them. */
static double __attribute__((noinline)) probe_vector_adds(uint64_t iterations)
{
    double t0 = probe_now();
    __asm__ volatile("xorps %%xmm0, %%xmm0\n\t"
                     "movaps %%xmm0, %%xmm1\n\t movaps %%xmm0, %%xmm2\n\t"
                     "movaps %%xmm0, %%xmm3\n\t movaps %%xmm0, %%xmm4\n\t"
                     "movaps %%xmm0, %%xmm5\n\t movaps %%xmm0, %%xmm6\n\t"
                     "movaps %%xmm0, %%xmm7\n\t movaps %%xmm0, %%xmm8\n"
                     "1:\n\t"
                     PROBE_REPT(PROBE_ADD_ROUNDS)
                     "addps %%xmm8, %%xmm0\n\t addps %%xmm8, %%xmm1\n\t"
                     "addps %%xmm8, %%xmm2\n\t addps %%xmm8, %%xmm3\n\t"
                     "addps %%xmm8, %%xmm4\n\t addps %%xmm8, %%xmm5\n\t"
                     "addps %%xmm8, %%xmm6\n\t addps %%xmm8, %%xmm7\n\t"
                     ".endr\n\t"
                     "dec %0\n\t"
                     "jnz 1b\n"
                     : "+r"(iterations)
                     :
                     : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                       "xmm8");
    return probe_now() - t0;
}
#else
#define BENCH_HAVE_PROBE 0
#endif

/* Each line of `chase` (PROBE_CHASE_BYTES) points to the next of one
 * cycle through them all in a random order (Sattolo's shuffle of the
 * pointers, a fixed seed), so that no prefetcher can guess the next load. */
static void probe_chase_link(char *chase)
{
    enum { LINES = PROBE_CHASE_BYTES / PROBE_CHASE_LINE };
    for (uint32_t i = 0; i < LINES; i++)
        *(char **)(chase + (size_t)i * PROBE_CHASE_LINE) = chase + (size_t)i * PROBE_CHASE_LINE;
    uint64_t seed = 0x9E3779B97F4A7C15u;
    for (uint32_t i = LINES - 1; i > 0; i--) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        uint32_t j = (uint32_t)((seed >> 33) % i);
        char **a = (char **)(chase + (size_t)i * PROBE_CHASE_LINE);
        char **b = (char **)(chase + (size_t)j * PROBE_CHASE_LINE);
        char *swap = *a;
        *a = *b;
        *b = swap;
    }
}

/* Seconds for PROBE_CHASE_LOADS dependent loads around the cycle. */
static double __attribute__((noinline)) probe_chase(char *chase)
{
    char *p = chase;
    double t0 = probe_now();
    for (int k = 0; k < PROBE_CHASE_LOADS; k++)
        p = *(char **)p;
    double seconds = probe_now() - t0;
    char *volatile sink = p; /* the loads must happen */
    (void)sink;
    return seconds;
}

BenchProbe bench_probe(void)
{
    BenchProbe probe = {NAN, NAN, NAN};
    char *chase = aligned_alloc(PROBE_CHASE_LINE, PROBE_CHASE_BYTES);
    double chase_s[PROBE_RUNS];
    if (chase) {
        probe_chase_link(chase);
        probe_chase(chase); /* brings the lines in */
        for (int run = 0; run < PROBE_RUNS; run++)
            chase_s[run] = probe_chase(chase);
        probe.chase_ns = 1e9 * bench_median(chase_s, PROBE_RUNS) / PROBE_CHASE_LOADS;
        free(chase);
    }
#if BENCH_HAVE_PROBE
    double multiply_s = INFINITY, adds_s[PROBE_RUNS];
    for (int run = 0; run < PROBE_RUNS; run++) {
        multiply_s = fmin(multiply_s, probe_multiply_chain(PROBE_ITERATIONS));
        adds_s[run] = probe_vector_adds(PROBE_ITERATIONS);
    }
    double cycles = (double)PROBE_ITERATIONS * PROBE_MULTIPLIES * PROBE_MULTIPLY_CYCLES;
    probe.clock_ghz = 1e-9 * cycles / multiply_s;
    probe.vector_adds_per_cycle = (double)PROBE_ITERATIONS * PROBE_ADDS /
                                  (bench_median(adds_s, PROBE_RUNS) * 1e9 * probe.clock_ghz);
#endif
    return probe;
}

/* The CPU's name from /proc/cpuinfo, "unknown" without it. */
static void machine_cpu_name(char *out, size_t size)
{
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *colon = strchr(line, ':');
            if (colon) {
                colon += strspn(colon + 1, " \t") + 1;
                snprintf(out, size, "%s", colon);
                out[strcspn(out, "\n")] = '\0';
            }
            break;
        }
    }
    fclose(f);
}

/* /proc/stat's first line: the steal and the sum of every state's time,
 * in clock ticks over all CPUs. False without it. */
static int machine_read_stat(unsigned long long *steal, unsigned long long *total)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    unsigned long long t[8];
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &t[0], &t[1], &t[2], &t[3],
                   &t[4], &t[5], &t[6], &t[7]);
    fclose(f);
    if (n != 8)
        return 0;
    *steal = t[7];
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += t[i];
    return 1;
}

void bench_machine_begin(BenchMachine *machine)
{
    memset(machine, 0, sizeof *machine);
    machine_cpu_name(machine->cpu, sizeof machine->cpu);
    machine->cores = sysconf(_SC_NPROCESSORS_ONLN);
    double load[1];
    machine->load_average = getloadavg(load, 1) == 1 ? load[0] : NAN;
    machine->steal_percent = NAN;
    if (!machine_read_stat(&machine->stat_steal, &machine->stat_total))
        machine->stat_total = 0;
    machine->start = bench_probe();
    machine->end = (BenchProbe){NAN, NAN, NAN};
}

void bench_machine_end(BenchMachine *machine)
{
    machine->end = bench_probe();
    unsigned long long steal, total;
    if (machine->stat_total && machine_read_stat(&steal, &total) && total > machine->stat_total)
        machine->steal_percent =
            100.0 * (double)(steal - machine->stat_steal) / (double)(total - machine->stat_total);
}

double bench_machine_clock_ghz(const BenchMachine *machine)
{
    double a = machine->start.clock_ghz, b = machine->end.clock_ghz;
    if (isnan(a))
        return b;
    return isnan(b) ? a : 0.5 * (a + b);
}

static void machine_print_probe(FILE *out, const char *when, BenchProbe probe)
{
    fprintf(out, "probe at %s: ", when);
    if (isnan(probe.clock_ghz))
        fputs("core clock not measured (x86-64 only)", out);
    else
        fprintf(out, "core clock %.2f GHz, %.2f vector adds per cycle", probe.clock_ghz,
                probe.vector_adds_per_cycle);
    fprintf(out, ", %.1f ns per load over 1 MiB\n", probe.chase_ns);
}

void bench_machine_print_start(FILE *out, const BenchMachine *machine)
{
    fprintf(out, "machine: %s, %ld cores, load average %.2f\n", machine->cpu, machine->cores,
            machine->load_average);
    machine_print_probe(out, "start", machine->start);
}

void bench_machine_print_end(FILE *out, const BenchMachine *machine)
{
    machine_print_probe(out, "end", machine->end);
    if (!isnan(machine->steal_percent))
        fprintf(out, "hypervisor steal over the run: %.1f %% of the machine's time\n",
                machine->steal_percent);
}

void bench_machine_write_json(FILE *out, const BenchMachine *machine)
{
    fputs("{\"cpu\": ", out);
    bench_json_string(out, machine->cpu);
    fprintf(out, ", \"cores\": %ld", machine->cores);
    bench_json_field_number(out, "load_average", machine->load_average);
    bench_json_field_number(out, "clock_ghz_start", machine->start.clock_ghz);
    bench_json_field_number(out, "clock_ghz_end", machine->end.clock_ghz);
    bench_json_field_number(out, "vector_adds_per_cycle_start",
                            machine->start.vector_adds_per_cycle);
    bench_json_field_number(out, "vector_adds_per_cycle_end", machine->end.vector_adds_per_cycle);
    bench_json_field_number(out, "chase_ns_start", machine->start.chase_ns);
    bench_json_field_number(out, "chase_ns_end", machine->end.chase_ns);
    bench_json_field_number(out, "steal_percent", machine->steal_percent);
    fputc('}', out);
}
