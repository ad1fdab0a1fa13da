/* sprung_keeper_snapshot(): a read-only look at a keeper segment, for
 * `sprung keeper status` and the tests. Maps the segment read-only, so it
 * never joins, sweeps or initialises it. Control thread or any tool. */
#include <stdio.h>
#include <string.h>

#include "keeper/keeper_shm.h"
#include "model/model.h"

SprungStatus sprung_keeper_snapshot(const char *shm_name, SprungKeeperSnapshot *out,
                                    SprungError *error)
{
    if (!out)
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    SprungKeeperConfig config = sprung_keeper_config_default();
    const char *name = shm_name && *shm_name ? shm_name : config.shm_name;
    KeeperAttachment attachment;
    SprungStatus status = keeper_segment_attach(name, 0, 0, &attachment, error);
    if (status != SPRUNG_OK)
        return status;
    KeeperSegment *segment = attachment.segment;
    snprintf(out->shm_name, sizeof out->shm_name, "%s", name);
    out->layout_version = KEEPER_LAYOUT_VERSION;
    out->stale_ms = attachment.stale_ms;

    uint64_t owner = atomic_load(&segment->owner_lease);
    out->owner_pid = (uint32_t)atomic_load(&segment->owner_pid);
    out->takeovers = atomic_load(&segment->takeovers);
    out->spin_total = atomic_load(&segment->spin_total);
    uint64_t leases[KEEPER_SLOTS];
    for (int i = 0; i < KEEPER_SLOTS; ++i)
        leases[i] = atomic_load(&segment->slots[i].lease);
    uint32_t now = keeper_now_ms(); /* after every load: no stamp is ahead of it */

    out->owner_id = keeper_lease_id(owner);
    if (out->owner_id) {
        uint32_t age = keeper_age_ms(keeper_lease_stamp(owner), now);
        out->owner_age_ms = age;
        out->owner_live = age < attachment.stale_ms;
    } else {
        out->owner_pid = 0;
    }
    for (int i = 0; i < KEEPER_SLOTS; ++i) {
        if (keeper_lease_id(leases[i]) == 0)
            continue;
        const KeeperSlot *slot = &segment->slots[i];
        SprungKeeperSlotInfo *info = &out->slots[out->n_slots++];
        uint32_t age = keeper_age_ms(keeper_lease_stamp(leases[i]), now);
        info->id = keeper_lease_id(leases[i]);
        info->pid = (uint32_t)atomic_load(&slot->pid);
        info->live = age < attachment.stale_ms;
        info->demand = keeper_lease_demand(leases[i]);
        info->age_ms = age;
        info->spinning = atomic_load(&slot->spinning) != 0 && info->live &&
                         info->id == out->owner_id;
        info->spins = atomic_load(&slot->spins);
        info->errors = atomic_load(&slot->errors);
        info->last_error = (int64_t)atomic_load(&slot->last_error);
        uint64_t work = atomic_load(&slot->work);
        info->work = work < SPRUNG_KEEPER_WORK_COUNT ? (SprungKeeperWork)work
                                                     : SPRUNG_KEEPER_WORK_NONE;
    }
    keeper_segment_detach(&attachment);
    return SPRUNG_OK;
}
