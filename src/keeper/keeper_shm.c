/* The keeper's shared-memory segment: attach (create and initialise safely
 * when processes race), lease operations, the read-only snapshot. Keeper
 * thread, control thread (acquire, snapshot); never the audio thread. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keeper/keeper_shm.h"
#include "model/model.h"

/* Initialising takes microseconds; an initialiser silent for this long died. */
#define KEEPER_INIT_STALE_MS 1000u
#define KEEPER_INIT_WAIT_MS 3000u

uint32_t keeper_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    return (uint32_t)ms & 0x7fffffffu;
}

static void sleep_ms(uint32_t ms)
{
    struct timespec delay = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {
    }
}

static int lease_stale(uint64_t lease, uint32_t now_ms, uint32_t stale_ms,
                       KeeperSabotage sabotage)
{
    if (sabotage == KEEPER_SABOTAGE_IGNORE_STALE)
        return 0;
    return keeper_age_ms(keeper_lease_stamp(lease), now_ms) >= stale_ms;
}

static int valid_name(const char *name)
{
    size_t length = strlen(name);
    return name[0] == '/' && length > 1 && length < 64 && !strchr(name + 1, '/');
}

/* Everyone who finds the magic missing races for init_lease; the winner
 * zeroes the segment and publishes the magic with a release store. A loser
 * waits, and takes over an initialiser that went silent (it crashed). */
static SprungStatus initialise_or_wait(KeeperSegment *segment, const char *name,
                                       uint32_t stale_ms, SprungError *error)
{
    uint32_t pid = (uint32_t)getpid();
    uint32_t start = keeper_now_ms();
    for (;;) {
        if (atomic_load_explicit(&segment->magic, memory_order_acquire) == KEEPER_MAGIC)
            return SPRUNG_OK;
        uint64_t lease = atomic_load(&segment->init_lease);
        uint32_t now = keeper_now_ms();
        int dead = lease != 0 &&
                   keeper_age_ms(keeper_lease_stamp(lease), now) >= KEEPER_INIT_STALE_MS;
        if ((lease == 0 || dead) &&
            atomic_compare_exchange_strong(&segment->init_lease, &lease,
                                           keeper_lease_make(pid, 0, now))) {
            atomic_store(&segment->stale_ms, stale_ms);
            atomic_store(&segment->next_id, 0);
            atomic_store(&segment->owner_lease, 0);
            atomic_store(&segment->owner_pid, 0);
            atomic_store(&segment->takeovers, 0);
            atomic_store(&segment->spin_total, 0);
            for (int i = 0; i < KEEPER_SLOTS; ++i) {
                KeeperSlot *slot = &segment->slots[i];
                atomic_store(&slot->lease, 0);
                atomic_store(&slot->pid, 0);
                atomic_store(&slot->spins, 0);
                atomic_store(&slot->spinning, 0);
                atomic_store(&slot->errors, 0);
                atomic_store(&slot->last_error, 0);
                atomic_store(&slot->work, 0);
            }
            atomic_store(&segment->layout,
                         (uint64_t)KEEPER_LAYOUT_VERSION << 32 | sizeof(KeeperSegment));
            atomic_store_explicit(&segment->magic, KEEPER_MAGIC, memory_order_release);
            return SPRUNG_OK;
        }
        if (keeper_age_ms(start, keeper_now_ms()) > KEEPER_INIT_WAIT_MS)
            return sprung_error_set(error, SPRUNG_ERROR_IO, name, 0, 0, NULL,
                                    "shared memory segment not initialised after %u ms "
                                    "(process %u started initialising it)",
                                    KEEPER_INIT_WAIT_MS, keeper_lease_id(lease));
        sleep_ms(1);
    }
}

SprungStatus keeper_segment_attach(const char *name, int create, uint32_t stale_ms,
                                   KeeperAttachment *out, SprungError *error)
{
    memset(out, 0, sizeof *out);
    if (!valid_name(name))
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                                "keeper segment name \"%s\": expected '/' then 1 to 62 "
                                "characters without '/' (SPRUNG_KEEPER_SHM)",
                                name);
    size_t size = sizeof(KeeperSegment);
    /* 0666: one keeper per machine, whoever's processes run the synths. The
     * segment holds no pointers (see keeper_shm.h). */
    int fd = shm_open(name, create ? O_RDWR | O_CREAT : O_RDONLY, 0666);
    if (fd < 0)
        return sprung_error_set(error, SPRUNG_ERROR_IO, name, 0, 0, NULL,
                                "cannot open the keeper's shared memory: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return sprung_error_set(error, SPRUNG_ERROR_IO, name, 0, 0, NULL, "fstat: %s",
                                strerror(err));
    }
    if ((size_t)st.st_size < size) {
        /* Growing to the same size is idempotent, so every racer may do it. */
        if (!create || ftruncate(fd, (off_t)size) != 0) {
            int err = create ? errno : 0;
            close(fd);
            if (!create)
                return sprung_error_set(error, SPRUNG_ERROR_IO, name, 0, 0, NULL,
                                        "keeper segment is %lld bytes, not yet initialised",
                                        (long long)st.st_size);
            return sprung_error_set(error, SPRUNG_ERROR_IO, name, 0, 0, NULL, "ftruncate: %s",
                                    strerror(err));
        }
        if (st.st_uid == geteuid())
            (void)fchmod(fd, 0666); /* undo the umask */
    }
    void *map = mmap(NULL, size, create ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED)
        return sprung_error_set(error, SPRUNG_ERROR_IO, name, 0, 0, NULL, "mmap: %s",
                                strerror(map_errno));
    KeeperSegment *segment = map;
    SprungStatus status = SPRUNG_OK;
    if (create) {
        status = initialise_or_wait(segment, name, stale_ms, error);
    } else if (atomic_load_explicit(&segment->magic, memory_order_acquire) != KEEPER_MAGIC) {
        status = sprung_error_set(error, SPRUNG_ERROR_IO, name, 0, 0, NULL,
                                  "keeper segment not initialised (no magic number)");
    }
    if (status == SPRUNG_OK) {
        uint64_t layout = atomic_load(&segment->layout);
        uint32_t version = (uint32_t)(layout >> 32), bytes = (uint32_t)layout;
        uint64_t segment_stale = atomic_load(&segment->stale_ms);
        if (version != KEEPER_LAYOUT_VERSION || bytes != size)
            status = sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, name, 0, 0, NULL,
                                      "keeper segment layout version %u (%u bytes); this "
                                      "libsprung has version %u (%zu bytes)",
                                      version, bytes, KEEPER_LAYOUT_VERSION, size);
        else if (segment_stale < 1 || segment_stale > 600000)
            status = sprung_error_set(error, SPRUNG_ERROR_IO, name, 0, 0, NULL,
                                      "keeper segment stale_ms %llu is outside 1..600000",
                                      (unsigned long long)segment_stale);
        else
            out->stale_ms = (uint32_t)segment_stale;
    }
    if (status != SPRUNG_OK) {
        munmap(map, size);
        return status;
    }
    out->segment = segment;
    out->mapped_size = size;
    return SPRUNG_OK;
}

void keeper_segment_detach(KeeperAttachment *attachment)
{
    if (attachment->segment)
        munmap(attachment->segment, attachment->mapped_size);
    memset(attachment, 0, sizeof *attachment);
}

uint32_t keeper_new_id(KeeperSegment *segment, KeeperSabotage sabotage)
{
    if (sabotage == KEEPER_SABOTAGE_PID_IDENTITY)
        return (uint32_t)getpid();
    uint32_t id;
    do
        id = (uint32_t)(atomic_fetch_add(&segment->next_id, 1) + 1);
    while (id == 0);
    return id;
}

int keeper_slot_claim(KeeperSegment *segment, uint32_t stale_ms, uint32_t id, int demand,
                      uint32_t pid, SprungKeeperWork work, KeeperSabotage sabotage)
{
    for (int i = 0; i < KEEPER_SLOTS; ++i) {
        KeeperSlot *slot = &segment->slots[i];
        uint64_t lease = atomic_load(&slot->lease);
        uint32_t now = keeper_now_ms(); /* after the load: the stamp is never ahead */
        if (keeper_lease_id(lease) != 0 && !lease_stale(lease, now, stale_ms, sabotage))
            continue;
        uint64_t mine = keeper_lease_make(id, demand, now);
        if (sabotage == KEEPER_SABOTAGE_STORE)
            atomic_store(&slot->lease, mine);
        else if (!atomic_compare_exchange_strong(&slot->lease, &lease, mine))
            continue;
        atomic_store(&slot->pid, pid);
        atomic_store(&slot->spins, 0);
        atomic_store(&slot->spinning, 0);
        atomic_store(&slot->errors, 0);
        atomic_store(&slot->last_error, 0);
        atomic_store(&slot->work, (uint64_t)work);
        return i;
    }
    return -1;
}

int keeper_slot_refresh(KeeperSegment *segment, int index, uint32_t id, int demand,
                        KeeperSabotage sabotage)
{
    KeeperSlot *slot = &segment->slots[index];
    for (;;) {
        uint64_t lease = atomic_load(&slot->lease);
        if (keeper_lease_id(lease) != id)
            return 0;
        uint64_t mine = keeper_lease_make(id, demand, keeper_now_ms());
        if (sabotage == KEEPER_SABOTAGE_STORE) {
            atomic_store(&slot->lease, mine);
            return 1;
        }
        if (atomic_compare_exchange_strong(&slot->lease, &lease, mine))
            return 1;
    }
}

void keeper_slot_release(KeeperSegment *segment, int index, uint32_t id)
{
    KeeperSlot *slot = &segment->slots[index];
    atomic_store(&slot->spinning, 0);
    uint64_t lease = atomic_load(&slot->lease);
    if (keeper_lease_id(lease) == id)
        atomic_compare_exchange_strong(&slot->lease, &lease, 0);
}

uint32_t keeper_demand_scan(KeeperSegment *segment, uint32_t stale_ms, KeeperSabotage sabotage)
{
    uint64_t leases[KEEPER_SLOTS];
    for (int i = 0; i < KEEPER_SLOTS; ++i)
        leases[i] = atomic_load(&segment->slots[i].lease);
    uint32_t now = keeper_now_ms();
    uint32_t demand = 0;
    for (int i = 0; i < KEEPER_SLOTS; ++i) {
        if (leases[i] == 0)
            continue;
        if (lease_stale(leases[i], now, stale_ms, sabotage)) {
            /* A crashed participant's slot: free it unless it moved since. */
            atomic_store(&segment->slots[i].spinning, 0);
            atomic_compare_exchange_strong(&segment->slots[i].lease, &leases[i], 0);
            continue;
        }
        demand += (uint32_t)keeper_lease_demand(leases[i]);
    }
    return demand;
}

int keeper_owner_step(KeeperSegment *segment, uint32_t stale_ms, uint32_t id, uint32_t pid,
                      int keep, int take, KeeperSabotage sabotage)
{
    uint64_t lease = atomic_load(&segment->owner_lease);
    uint32_t now = keeper_now_ms();
    uint32_t holder = keeper_lease_id(lease);
    uint64_t mine = keeper_lease_make(id, 0, now);
    if (holder == id) {
        if (!keep) {
            atomic_compare_exchange_strong(&segment->owner_lease, &lease, 0);
            return 0;
        }
        if (sabotage == KEEPER_SABOTAGE_STORE) {
            atomic_store(&segment->owner_lease, mine);
            return 1;
        }
        /* Fails only if someone took the lease: then we were deposed. */
        return atomic_compare_exchange_strong(&segment->owner_lease, &lease, mine);
    }
    if (!take || (holder != 0 && !lease_stale(lease, now, stale_ms, sabotage)))
        return 0;
    if (sabotage == KEEPER_SABOTAGE_STORE) {
        /* The bug: check, then store. The pause widens the race window so a
         * short test meets it every time. */
        sleep_ms(100);
        atomic_store(&segment->owner_lease, keeper_lease_make(id, 0, keeper_now_ms()));
    } else if (!atomic_compare_exchange_strong(&segment->owner_lease, &lease, mine)) {
        return 0;
    }
    atomic_store(&segment->owner_pid, pid);
    atomic_fetch_add(&segment->takeovers, 1);
    return 1;
}

void keeper_owner_release(KeeperSegment *segment, uint32_t id)
{
    uint64_t lease = atomic_load(&segment->owner_lease);
    if (keeper_lease_id(lease) == id)
        atomic_compare_exchange_strong(&segment->owner_lease, &lease, 0);
}
