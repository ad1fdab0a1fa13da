/* The GPU clock keeper: while any GPU simulation runs anywhere on the
 * machine, one thread (in one process, in one copy of libsprung) keeps the
 * GPU's clocks up with a trickle of tiny serialised kernels. Simulations
 * take and drop a reference; the copies of the library coordinate through a
 * shared-memory segment (docs/keeper.md).
 *
 * Threading: everything here is for the control thread (backend create and
 * destroy, the `sprung keeper` command). Nothing here may be called from the
 * audio thread; the keeper never touches it. */
#ifndef SPRUNG_KEEPER_H
#define SPRUNG_KEEPER_H

#include <stdint.h>

#include "sprung/attributes.h"
#include "sprung/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the keeper runs while it owns the machine's keeper role. */
typedef enum SprungKeeperWork {
    SPRUNG_KEEPER_WORK_NONE = 0, /* a CPU simulation: no reference unless forced */
    SPRUNG_KEEPER_WORK_NOOP,     /* coordination only: counts, launches nothing */
    SPRUNG_KEEPER_WORK_OPENCL,   /* a tiny kernel on a low-priority OpenCL queue */
    SPRUNG_KEEPER_WORK_CUDA,     /* a tiny kernel on a low-priority CUDA stream */
    SPRUNG_KEEPER_WORK_COUNT
} SprungKeeperWork;

/* "none", "noop", "opencl", "cuda". */
SPRUNG_API const char *sprung_keeper_work_name(SprungKeeperWork work);

typedef struct SprungKeeperConfig {
    char shm_name[64];  /* the segment: "/sprung-keeper-v1", or $SPRUNG_KEEPER_SHM */
    uint32_t stale_ms;  /* a keepalive older than this is dead (500). Used only by
                           the process that creates the segment; the segment's
                           value then holds for everyone. $SPRUNG_KEEPER_STALE_MS */
    uint32_t linger_ms; /* keep spinning this long after the last demand (2000).
                           $SPRUNG_KEEPER_LINGER_MS */
    uint32_t spin_us;   /* target length of one spin kernel (100). $SPRUNG_KEEPER_SPIN_US */
    uint32_t period_us; /* one spin kernel starts every period (1000).
                           $SPRUNG_KEEPER_PERIOD_US */
    int force;          /* CPU simulations take a reference too, with no-op work,
                           so the coordination runs without a GPU.
                           $SPRUNG_KEEPER_FORCE=1 */
    SprungKeeperWork work_override; /* NONE, or the work every reference gets
                                       ($SPRUNG_KEEPER_WORK=noop|opencl|cuda) */
} SprungKeeperConfig;

/* The defaults above, with the environment variables applied. */
SPRUNG_API SprungKeeperConfig sprung_keeper_config_default(void);

/* ---- Control thread ---- */

/* Replaces the configuration of this copy of the library. Only while it
 * holds no reference and its keeper thread has stopped; otherwise
 * SPRUNG_ERROR_INVALID_ARGUMENT. Without a call, the first acquire uses
 * sprung_keeper_config_default(). */
SPRUNG_API SprungStatus sprung_keeper_configure(const SprungKeeperConfig *config);

/* Takes one reference for a simulation that runs `work`'s kind of device.
 * *held says whether a reference was taken (a CPU simulation takes none
 * unless forced); call sprung_keeper_release() once for each taken. Fails
 * with SPRUNG_ERROR_IO (no reference) when the segment cannot be opened:
 * the simulation should carry on without a keeper. */
SPRUNG_API SprungStatus sprung_keeper_acquire(SprungKeeperWork work, int *held);

/* Drops one reference. The keeper keeps spinning while any process has
 * demand, lingers, then stops on its own. */
SPRUNG_API void sprung_keeper_release(void);

/* ---- Inspection (any process, read-only) ---- */

#define SPRUNG_KEEPER_MAX_SLOTS 64

typedef struct SprungKeeperSlotInfo {
    uint32_t id;        /* participant id (unique per library copy in this segment) */
    uint32_t pid;
    int live;           /* keepalive younger than the stale timeout */
    int demand;         /* the participant holds references */
    double age_ms;      /* keepalive age */
    int spinning;       /* it is the owner and runs spin work */
    uint64_t spins;     /* spin kernels it completed since it claimed the slot */
    uint64_t errors;    /* spin-work failures it retried */
    int64_t last_error; /* the last failure's code (an OpenCL or CUDA error number) */
    SprungKeeperWork work;
} SprungKeeperSlotInfo;

typedef struct SprungKeeperSnapshot {
    char shm_name[64];
    uint32_t layout_version;
    uint32_t stale_ms;      /* the segment's stale timeout */
    uint32_t owner_id;      /* 0: nobody */
    uint32_t owner_pid;
    int owner_live;
    double owner_age_ms;
    uint64_t takeovers;     /* times ownership changed hands */
    uint64_t spin_total;    /* spin kernels completed by all owners */
    uint32_t n_slots;       /* slots in use (live or stale), listed in slots[] */
    SprungKeeperSlotInfo slots[SPRUNG_KEEPER_MAX_SLOTS];
} SprungKeeperSnapshot;

/* Reads the segment `shm_name` (NULL: the configured default) without
 * joining it. SPRUNG_ERROR_IO when it does not exist, with the reason in
 * `error` (may be NULL). */
SPRUNG_API SprungStatus sprung_keeper_snapshot(const char *shm_name, SprungKeeperSnapshot *out,
                                               SprungError *error);

#ifdef __cplusplus
}
#endif
#endif
