/* The keeper's spin work: what the owning keeper thread runs once per
 * period. A table of functions plus a context (STYLE.md rule 7), one per
 * kind: no-op (coordination tests), OpenCL, CUDA (its kernel in
 * keeper_spin.cu, built only when the build has CUDA). Private to
 * libsprung; called only by the keeper: create() and destroy() on its
 * short-lived work thread (keeper_work_thread.c), the others on the keeper
 * thread, which takes the context over only after the work thread has
 * finished creating it, and hands it back to be destroyed only once it has
 * finished with it. A work must therefore keep nothing in thread-local
 * state between create() and the other calls. */
#ifndef SPRUNG_KEEPER_WORK_H
#define SPRUNG_KEEPER_WORK_H

#include <stddef.h>
#include <stdint.h>

#include "sprung/keeper.h"

typedef struct KeeperWorkConfig {
    uint32_t spin_us;        /* target length of one spin kernel */
    uint32_t setup_delay_ms;   /* tests only: the no-op work's create() takes this
                                  long, like a first OpenCL program build; 0 on
                                  the machine's segment, ignored by real work */
    uint32_t destroy_delay_ms; /* tests only: the no-op work's destroy() takes
                                  this long, like tearing down a context; as
                                  above */
} KeeperWorkConfig;

typedef struct KeeperWorkOps {
    SprungKeeperWork kind;

    /* Sets up the device side (context, low-priority queue or stream, the
     * kernel). It may take long (a first OpenCL program build compiles with
     * LLVM), so it runs on a work thread of its own while the keeper thread
     * goes on refreshing its keepalives. On failure writes the reason into
     * `reason` and an error code into *code (0 when there is none). */
    SprungStatus (*create)(const KeeperWorkConfig *config, void **ctx, int64_t *code,
                           char *reason, size_t reason_size);

    /* Starts one spin kernel and returns without waiting for it. The keeper
     * calls it only once poll() has reported the previous one done: never
     * more than one in flight. *code as above. */
    SprungStatus (*launch)(void *ctx, int64_t *code);

    /* Whether the kernel launch() started is done, without waiting:
     * *done = 1 once it has finished, 0 while it is queued or running; an
     * error (*code as above) when it failed. The keeper polls instead of
     * blocking in the driver so that it can go on refreshing its keepalive
     * while a busy GPU keeps the kernel waiting in its queue. */
    SprungStatus (*poll)(void *ctx, int *done, int64_t *code);

    /* Tears it all down (a kernel may still be in flight). It may take long
     * too (releasing an OpenCL context), so it runs on the work thread as
     * create() does. Never beside a create() of this copy: the keeper runs
     * one at a time. */
    void (*destroy)(void *ctx);
} KeeperWorkOps;

extern const KeeperWorkOps keeper_work_noop;
extern const KeeperWorkOps keeper_work_opencl;
extern const KeeperWorkOps keeper_work_cuda;

#endif
