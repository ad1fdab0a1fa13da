/* No-op spin work: launches nothing, but each "spin" stays in flight for
 * spin_us of wall time, like a kernel of that length would. The keeper
 * counts each in the segment, so the coordination and its timing (the
 * keepalive refreshed while a spin is in flight) can be tested and watched
 * without a GPU (SPRUNG_KEEPER_FORCE=1, SPRUNG_KEEPER_WORK=noop). For the
 * tests, create() can also take as long as a slow first OpenCL build
 * (setup_delay_ms) and destroy() as long as a context's tear-down
 * (destroy_delay_ms), both 0 outside the tests. Keeper only: create() and
 * destroy() on its work thread, the rest on the keeper thread. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "keeper/keeper_work.h"

typedef struct NoopSpin {
    uint64_t spin_ns;
    uint64_t launched_ns;
    int in_flight;
    uint32_t destroy_delay_ms;
} NoopSpin;

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* Creates and destroys running now in this copy of the library: the keeper
 * promises one at a time. */
static atomic_int noop_creating;
static atomic_int noop_destroying;

/* Sleeps until `ms` from now, whatever signals arrive meanwhile. */
static void sleep_ms(uint32_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000u);
    until.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
    }
}

static SprungStatus noop_create(const KeeperWorkConfig *config, void **ctx, int64_t *code,
                                char *reason, size_t reason_size)
{
    (void)reason;
    (void)reason_size;
    *code = 0;
    *ctx = NULL;
    /* A second set-up beside one still running, or one beside the
     * tear-down of the previous work, breaks the keeper's promise: say so as
     * an error (code -2, -3), which the slot counts and the tests check,
     * like a second spin in flight (-1). */
    int overlapping = atomic_fetch_add(&noop_creating, 1) > 0;
    int beside_destroy = atomic_load(&noop_destroying) > 0;
    if (config->setup_delay_ms)
        sleep_ms(config->setup_delay_ms);
    beside_destroy |= atomic_load(&noop_destroying) > 0;
    atomic_fetch_sub(&noop_creating, 1);
    if (overlapping || beside_destroy) {
        *code = overlapping ? -2 : -3;
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    }
    NoopSpin *spin = calloc(1, sizeof *spin);
    *ctx = spin;
    if (!spin)
        return SPRUNG_ERROR_NO_MEMORY;
    spin->spin_ns = (uint64_t)config->spin_us * 1000u;
    spin->destroy_delay_ms = config->destroy_delay_ms;
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
    NoopSpin *spin = opaque;
    if (spin && spin->destroy_delay_ms) {
        atomic_fetch_add(&noop_destroying, 1);
        sleep_ms(spin->destroy_delay_ms);
        atomic_fetch_sub(&noop_destroying, 1);
    }
    free(spin);
}

const KeeperWorkOps keeper_work_noop = {
    .kind = SPRUNG_KEEPER_WORK_NOOP,
    .create = noop_create,
    .launch = noop_launch,
    .poll = noop_poll,
    .destroy = noop_destroy,
};
