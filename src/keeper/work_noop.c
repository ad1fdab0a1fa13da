/* No-op spin work: launches nothing, but each "spin" stays in flight for
 * spin_us of wall time, like a kernel of that length would. The keeper
 * counts each in the segment, so the coordination and its timing (the
 * keepalive refreshed while a spin is in flight) can be tested and watched
 * without a GPU (SPRUNG_KEEPER_FORCE=1, SPRUNG_KEEPER_WORK=noop). Keeper
 * thread only. */
#include <stdlib.h>
#include <time.h>

#include "keeper/keeper_work.h"

typedef struct NoopSpin {
    uint64_t spin_ns;
    uint64_t launched_ns;
    int in_flight;
} NoopSpin;

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static SprungStatus noop_create(const KeeperWorkConfig *config, void **ctx, int64_t *code,
                                char *reason, size_t reason_size)
{
    (void)reason;
    (void)reason_size;
    *code = 0;
    NoopSpin *spin = calloc(1, sizeof *spin);
    *ctx = spin;
    if (!spin)
        return SPRUNG_ERROR_NO_MEMORY;
    spin->spin_ns = (uint64_t)config->spin_us * 1000u;
    return SPRUNG_OK;
}

static SprungStatus noop_launch(void *opaque, int64_t *code)
{
    NoopSpin *spin = opaque;
    /* The keeper broke its promise of one spin in flight: say so as an error
     * (code -1), which the slot counts and the tests check. */
    *code = spin->in_flight ? -1 : 0;
    if (spin->in_flight)
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    spin->launched_ns = monotonic_ns();
    spin->in_flight = 1;
    return SPRUNG_OK;
}

static SprungStatus noop_poll(void *opaque, int *done, int64_t *code)
{
    NoopSpin *spin = opaque;
    *code = 0;
    *done = !spin->in_flight || monotonic_ns() - spin->launched_ns >= spin->spin_ns;
    if (*done)
        spin->in_flight = 0;
    return SPRUNG_OK;
}

static void noop_destroy(void *opaque)
{
    free(opaque);
}

const KeeperWorkOps keeper_work_noop = {
    .kind = SPRUNG_KEEPER_WORK_NOOP,
    .create = noop_create,
    .launch = noop_launch,
    .poll = noop_poll,
    .destroy = noop_destroy,
};
