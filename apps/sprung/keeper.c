/* `sprung keeper`: look at the GPU clock keeper's shared segment (status),
 * or take a demand reference for a while (hold), which the process tests
 * and anyone curious use to watch one keeper serve many processes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "sprung/keeper.h"

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: sprung keeper status [--shm NAME] [--json]\n"
            "       sprung keeper hold [--seconds N] [--stay N] [--work KIND] [--shm NAME]\n"
            "\n"
            "The GPU clock keeper keeps the GPU's clocks up while any GPU simulation\n"
            "runs on this machine: one keeper for all processes and plugin copies,\n"
            "coordinated through a shared-memory segment.\n"
            "\n"
            "  status         print the segment: the owner (pid, id, keepalive age),\n"
            "                 every participant (pid, demand, age, spins), spin totals\n"
            "  hold           take one demand reference for N seconds (0: until SIGINT\n"
            "                 or SIGTERM), then drop it; with --stay, stay alive N more\n"
            "                 seconds without demand (the keeper lingers, then stops)\n"
            "\n"
            "options:\n"
            "  --shm NAME     segment name (default $SPRUNG_KEEPER_SHM or /sprung-keeper-v1)\n"
            "  --json         status as JSON\n"
            "  --seconds N    how long hold keeps the reference (default 10; 0 = until a signal)\n"
            "  --stay N       seconds to stay alive after dropping it (default 0)\n"
            "  --work KIND    noop (default), opencl or cuda: what the keeper runs if this\n"
            "                 process becomes the owner\n"
            "\n"
            "Environment: SPRUNG_KEEPER_STALE_MS, _LINGER_MS, _SPIN_US, _PERIOD_US, _FORCE,\n"
            "_WORK (see docs/keeper.md).\n");
}

static volatile sig_atomic_t interrupted;

static void on_signal(int signal_number)
{
    (void)signal_number;
    interrupted = 1;
}

/* Sleeps `seconds` (0: forever) unless a signal arrives first. */
static void sleep_interruptible(double seconds)
{
    double end = cli_now_seconds() + seconds;
    while (!interrupted && (seconds <= 0 || cli_now_seconds() < end)) {
        struct timespec step = {0, 10 * 1000 * 1000};
        nanosleep(&step, NULL);
    }
}

static int print_status(const char *shm_name, int json)
{
    SprungKeeperSnapshot snap;
    SprungError error = {0};
    if (sprung_keeper_snapshot(shm_name, &snap, &error) != SPRUNG_OK) {
        if (json) {
            printf("{\"segment\": null, \"error\": \"");
            for (const char *c = error.message; *c; ++c)
                printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
            printf("\"}\n");
        } else {
            printf("no keeper: %s\n", error.message);
        }
        /* No segment is a state, not a failure: nobody has needed a keeper yet. */
        return error.status == SPRUNG_ERROR_IO ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
    }
    if (json) {
        printf("{\"segment\": \"%s\", \"layout_version\": %u, \"stale_ms\": %u,\n", snap.shm_name,
               snap.layout_version, snap.stale_ms);
        printf(" \"owner\": {\"id\": %u, \"pid\": %u, \"live\": %s, \"age_ms\": %.0f},\n",
               snap.owner_id, snap.owner_pid, snap.owner_live ? "true" : "false",
               snap.owner_age_ms);
        printf(" \"takeovers\": %llu, \"spin_total\": %llu,\n \"participants\": [",
               (unsigned long long)snap.takeovers, (unsigned long long)snap.spin_total);
        for (uint32_t i = 0; i < snap.n_slots; ++i) {
            const SprungKeeperSlotInfo *s = &snap.slots[i];
            printf("%s\n  {\"id\": %u, \"pid\": %u, \"live\": %s, \"demand\": %s, "
                   "\"age_ms\": %.0f, \"spinning\": %s, \"spins\": %llu, \"errors\": %llu, "
                   "\"last_error\": %lld, \"work\": \"%s\"}",
                   i ? "," : "", s->id, s->pid, s->live ? "true" : "false",
                   s->demand ? "true" : "false", s->age_ms, s->spinning ? "true" : "false",
                   (unsigned long long)s->spins, (unsigned long long)s->errors,
                   (long long)s->last_error, sprung_keeper_work_name(s->work));
        }
        printf("]}\n");
        return CLI_EXIT_OK;
    }
    printf("segment     %s (layout %u, stale after %u ms)\n", snap.shm_name,
           snap.layout_version, snap.stale_ms);
    if (snap.owner_id)
        printf("owner       pid %u, id %u, keepalive %.0f ms ago%s\n", snap.owner_pid,
               snap.owner_id, snap.owner_age_ms, snap.owner_live ? "" : " (STALE: dead)");
    else
        printf("owner       none\n");
    printf("takeovers   %llu\nspins       %llu\n", (unsigned long long)snap.takeovers,
           (unsigned long long)snap.spin_total);
    printf("participants %u\n", snap.n_slots);
    if (snap.n_slots)
        printf("  %8s %8s %6s %6s %8s %8s %10s %6s %s\n", "pid", "id", "live", "demand", "age ms",
               "spinning", "spins", "errors", "work");
    for (uint32_t i = 0; i < snap.n_slots; ++i) {
        const SprungKeeperSlotInfo *s = &snap.slots[i];
        printf("  %8u %8u %6s %6s %8.0f %8s %10llu %6llu %s", s->pid, s->id,
               s->live ? "yes" : "STALE", s->demand ? "yes" : "no", s->age_ms,
               s->spinning ? "yes" : "no", (unsigned long long)s->spins,
               (unsigned long long)s->errors, sprung_keeper_work_name(s->work));
        if (s->errors)
            printf(" (last error %lld)", (long long)s->last_error);
        printf("\n");
    }
    return CLI_EXIT_OK;
}

static int hold(const char *shm_name, double seconds, double stay, SprungKeeperWork work)
{
    SprungKeeperConfig config = sprung_keeper_config_default();
    if (shm_name)
        snprintf(config.shm_name, sizeof config.shm_name, "%s", shm_name);
    sprung_keeper_configure(&config);
    struct sigaction action = {0};
    action.sa_handler = on_signal;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    int held = 0;
    SprungStatus status = sprung_keeper_acquire(work, &held);
    if (status != SPRUNG_OK) {
        fprintf(stderr, "sprung keeper: %s: cannot take a reference: %s\n", config.shm_name,
                sprung_strerror(status));
        return CLI_EXIT_FAILURE;
    }
    printf("pid %d holds keeper demand on %s (%s work)\n", (int)getpid(), config.shm_name,
           sprung_keeper_work_name(work));
    fflush(stdout);
    sleep_interruptible(seconds);
    if (held)
        sprung_keeper_release();
    if (stay > 0 && !interrupted)
        sleep_interruptible(stay);
    /* exit() stops the keeper thread and hands ownership over at once. */
    return CLI_EXIT_OK;
}

int sprung_cmd_keeper(int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},     {"shm", required_argument, NULL, 'm'},
        {"json", no_argument, NULL, 'j'},     {"seconds", required_argument, NULL, 's'},
        {"stay", required_argument, NULL, 't'}, {"work", required_argument, NULL, 'w'},
        {0, 0, 0, 0},
    };
    const char *shm_name = NULL;
    int json = 0;
    double seconds = 10, stay = 0;
    SprungKeeperWork work = SPRUNG_KEEPER_WORK_NOOP;
    cli_getopt_reset();
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'h': print_help(stdout); return CLI_EXIT_OK;
        case 'm': shm_name = optarg; break;
        case 'j': json = 1; break;
        case 's':
            if (cli_parse_double("keeper", "--seconds", optarg, 0, 0, 1e6, &seconds))
                return CLI_EXIT_USAGE;
            break;
        case 't':
            if (cli_parse_double("keeper", "--stay", optarg, 0, 0, 1e6, &stay))
                return CLI_EXIT_USAGE;
            break;
        case 'w':
            if (!strcmp(optarg, "noop"))
                work = SPRUNG_KEEPER_WORK_NOOP;
            else if (!strcmp(optarg, "opencl"))
                work = SPRUNG_KEEPER_WORK_OPENCL;
            else if (!strcmp(optarg, "cuda"))
                work = SPRUNG_KEEPER_WORK_CUDA;
            else
                return cli_usage_error("keeper", "--work: '%s' is not noop, opencl or cuda",
                                       optarg);
            break;
        default: return cli_getopt_error("keeper", opt, argv, options);
        }
    }
    if (optind >= argc)
        return cli_usage_error("keeper", "missing action: status or hold");
    const char *action = argv[optind++];
    if (optind < argc)
        return cli_usage_error("keeper", "unexpected argument '%s'", argv[optind]);
    if (!strcmp(action, "status"))
        return print_status(shm_name, json);
    if (!strcmp(action, "hold"))
        return hold(shm_name, seconds, stay, work);
    return cli_usage_error("keeper", "unknown action '%s' (status or hold)", action);
}
