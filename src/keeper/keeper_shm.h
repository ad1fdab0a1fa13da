/* The keeper's shared-memory segment: its layout, attaching to it (safe when
 * processes race to create it), and the lease operations of the protocol
 * (docs/keeper.md; the model is tests/keeper/keeper.pml). Private to
 * libsprung; called by the keeper thread and by the snapshot reader, never
 * by the audio thread.
 *
 * A lease is one 64-bit word: participant id (32 bits) | demand (1 bit) |
 * keepalive stamp (31 bits, CLOCK_MONOTONIC milliseconds). Every change of a
 * lease is a compare-and-swap of the whole word, so a stale lease can only be
 * taken if nobody wrote it since it was read: a refresh carries a later
 * stamp, which makes the taker's compare fail. The segment holds no pointers
 * and every index read from it is bounded, so a broken or hostile writer can
 * only start or stop spinning. */
#ifndef SPRUNG_KEEPER_SHM_H
#define SPRUNG_KEEPER_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sprung/keeper.h"

#if ATOMIC_LLONG_LOCK_FREE != 2 || ATOMIC_LONG_LOCK_FREE != 2
#error "the keeper needs lock-free 64-bit atomics: they must work across processes"
#endif

#define KEEPER_MAGIC 0x3176704b5250535full /* "_SPRKpv1" */
#define KEEPER_LAYOUT_VERSION 1u
#define KEEPER_SLOTS SPRUNG_KEEPER_MAX_SLOTS
#define KEEPER_DEFAULT_SHM "/sprung-keeper-v1"

typedef _Atomic uint64_t KeeperWord;

/* One participant (a library copy whose keeper thread runs): 64 bytes. */
typedef struct KeeperSlot {
    KeeperWord lease;      /* id | demand | stamp; 0 = free */
    KeeperWord pid;        /* informational */
    KeeperWord spins;      /* spin work completed while owner */
    KeeperWord spinning;   /* 1 while owner and running spin work */
    KeeperWord errors;     /* spin-work failures retried */
    KeeperWord last_error; /* int64 code of the last failure */
    KeeperWord work;       /* SprungKeeperWork */
    KeeperWord reserved;
} KeeperSlot;

typedef struct KeeperSegment {
    KeeperWord magic;      /* KEEPER_MAGIC once initialised (release store) */
    KeeperWord init_lease; /* pid | stamp of the process initialising it */
    KeeperWord layout;     /* version << 32 | size, written before magic */
    KeeperWord stale_ms;   /* the stale timeout everyone uses */
    KeeperWord next_id;    /* participant ids: fetch_add, never reused */
    KeeperWord reserved0[3];
    KeeperWord owner_lease; /* id | 0 | stamp; 0 = no owner */
    KeeperWord owner_pid;   /* informational */
    KeeperWord takeovers;
    KeeperWord spin_total;
    KeeperWord reserved1[4];
    KeeperSlot slots[KEEPER_SLOTS];
} KeeperSegment;

_Static_assert(sizeof(KeeperSlot) == 64, "one slot per cache line");
_Static_assert(offsetof(KeeperSegment, slots) % 64 == 0, "slots on cache lines");
_Static_assert(sizeof(uint64_t) == sizeof(KeeperWord), "plain 64-bit words");

/* Deliberate protocol bugs for the sabotage tests (tests/keeper/). Honoured
 * only on a segment named by $SPRUNG_KEEPER_SHM, never the machine's. */
typedef enum KeeperSabotage {
    KEEPER_SABOTAGE_NONE = 0,
    KEEPER_SABOTAGE_STORE,         /* check-then-store instead of compare-and-swap */
    KEEPER_SABOTAGE_IGNORE_STALE,  /* a keepalive never goes stale */
    KEEPER_SABOTAGE_NO_RELEASE,    /* a clean exit leaves the owner record */
    KEEPER_SABOTAGE_IGNORE_DEMAND, /* the owner spins on without demand */
    KEEPER_SABOTAGE_PID_IDENTITY,  /* participant id = pid: library copies collide */
    KEEPER_SABOTAGE_BLOCKING_WAIT, /* waits for a spin kernel however long it takes */
    KEEPER_SABOTAGE_BLOCKING_SETUP, /* sets up the work on the keeper thread itself */
    KEEPER_SABOTAGE_UNJOINED_SETUP, /* takes the set-up's outcome without ordering */
    KEEPER_SABOTAGE_BLOCKING_DESTROY, /* tears down the work on the keeper thread itself */
} KeeperSabotage;

/* ---- Leases ---- */

static inline uint64_t keeper_lease_make(uint32_t id, int demand, uint32_t stamp_ms)
{
    return (uint64_t)id << 32 | (uint64_t)(demand ? 1u : 0u) << 31 | (stamp_ms & 0x7fffffffu);
}
static inline uint32_t keeper_lease_id(uint64_t lease) { return (uint32_t)(lease >> 32); }
static inline int keeper_lease_demand(uint64_t lease) { return (int)(lease >> 31 & 1u); }
static inline uint32_t keeper_lease_stamp(uint64_t lease) { return (uint32_t)lease & 0x7fffffffu; }

/* CLOCK_MONOTONIC in milliseconds, 31 bits (wraps every 24.8 days). The same
 * clock in every process of the machine. */
uint32_t keeper_now_ms(void);

/* Age of a stamp read BEFORE `now_ms` was taken (so never in the future). */
static inline uint32_t keeper_age_ms(uint32_t stamp_ms, uint32_t now_ms)
{
    return (now_ms - stamp_ms) & 0x7fffffffu;
}

/* ---- The segment ---- */

typedef struct KeeperAttachment {
    KeeperSegment *segment;
    size_t mapped_size;
    uint32_t stale_ms; /* the segment's */
} KeeperAttachment;

/* Opens (create: creating and initialising if needed) and maps the segment
 * `name`. On failure fills `error` with the name and the reason. */
SprungStatus keeper_segment_attach(const char *name, int create, uint32_t stale_ms,
                                   KeeperAttachment *out, SprungError *error);
void keeper_segment_detach(KeeperAttachment *attachment);

/* A fresh participant id (never 0; `sabotage` PID_IDENTITY returns the pid). */
uint32_t keeper_new_id(KeeperSegment *segment, KeeperSabotage sabotage);

/* ---- Protocol steps (keeper thread) ---- */

/* Claims a free or stale slot for `id`; returns its index or -1 (all held). */
int keeper_slot_claim(KeeperSegment *segment, uint32_t stale_ms, uint32_t id, int demand,
                      uint32_t pid, SprungKeeperWork work, KeeperSabotage sabotage);

/* Refreshes slot `index` (its keepalive and demand bit). Returns 0 when the
 * slot is no longer ours (it went stale and was reclaimed). */
int keeper_slot_refresh(KeeperSegment *segment, int index, uint32_t id, int demand,
                        KeeperSabotage sabotage);

/* Frees slot `index` if it is still ours. */
void keeper_slot_release(KeeperSegment *segment, int index, uint32_t id);

/* Live slots with the demand bit set. Stale slots are cleared on the way
 * (a crashed participant's leftovers), by compare-and-swap. */
uint32_t keeper_demand_scan(KeeperSegment *segment, uint32_t stale_ms, KeeperSabotage sabotage);

/* One ownership step: if `id` holds the owner lease, refresh it when `keep`
 * or give it up when not; otherwise take it when `take` and the lease is
 * free or stale. Returns 1 when `id` is the owner after the step. */
int keeper_owner_step(KeeperSegment *segment, uint32_t stale_ms, uint32_t id, uint32_t pid,
                      int keep, int take, KeeperSabotage sabotage);

/* Gives up the owner lease if `id` still holds it. */
void keeper_owner_release(KeeperSegment *segment, uint32_t id);

#endif
