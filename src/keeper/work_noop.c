/* No-op spin work: launches nothing. The keeper still counts each "spin" in
 * the segment, so the coordination can be tested and watched without a GPU
 * (SPRUNG_KEEPER_FORCE=1, SPRUNG_KEEPER_WORK=noop). Keeper thread only. */
#include "keeper/keeper_work.h"

static SprungStatus noop_create(const KeeperWorkConfig *config, void **ctx, int64_t *code,
                                char *reason, size_t reason_size)
{
    (void)config;
    (void)reason;
    (void)reason_size;
    *ctx = NULL;
    *code = 0;
    return SPRUNG_OK;
}

static SprungStatus noop_spin(void *ctx, int64_t *code)
{
    (void)ctx;
    *code = 0;
    return SPRUNG_OK;
}

static void noop_destroy(void *ctx)
{
    (void)ctx;
}

const KeeperWorkOps keeper_work_noop = {
    .kind = SPRUNG_KEEPER_WORK_NOOP,
    .create = noop_create,
    .spin = noop_spin,
    .destroy = noop_destroy,
};
