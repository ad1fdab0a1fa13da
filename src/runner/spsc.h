/* A single-producer single-consumer lock-free ring of fixed-size items
 * (C11 atomics). Capacity is a power of two fixed at creation; the storage
 * is allocated once by sprung_spsc_init (setup) and never again.
 *
 * Who may call what: exactly one producer thread calls push; exactly one
 * consumer thread calls peek/pop/count_for_consumer; init/free are setup.
 * The producer publishes an item with a release store of `head` after
 * writing it; the consumer acquires `head` before reading the item and
 * releases `tail` after it is done with the slot, which the producer
 * acquires before reusing it. Indices are free-running 32-bit counters. */
#ifndef SPRUNG_RUNNER_SPSC_H
#define SPRUNG_RUNNER_SPSC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sprung/attributes.h"

typedef struct SprungSpsc {
    _Alignas(64) _Atomic uint32_t head; /* written by the producer only */
    _Alignas(64) _Atomic uint32_t tail; /* written by the consumer only */
    _Alignas(64) unsigned char *slots;
    uint32_t item_size;
    uint32_t mask;
    /* memory_order_release normally. Tests set memory_order_relaxed to put
     * the publication bug back (--sabotage); ThreadSanitizer must then
     * report the race on the slot. */
    memory_order publish_order;
} SprungSpsc;

/* Returns 0, or -1 when out of memory or capacity is not a power of two. */
int sprung_spsc_init(SprungSpsc *queue, uint32_t capacity, uint32_t item_size);
void sprung_spsc_free(SprungSpsc *queue);

static inline uint32_t sprung_spsc_capacity(const SprungSpsc *queue)
{
    return queue->mask + 1u;
}

/* Producer: copies `item` in; returns 0 (and changes nothing) when full. */
static inline SPRUNG_REALTIME int sprung_spsc_push(SprungSpsc *queue, const void *item)
{
    uint32_t head = atomic_load_explicit(&queue->head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&queue->tail, memory_order_acquire);
    if (head - tail > queue->mask)
        return 0;
    memcpy(queue->slots + (size_t)(head & queue->mask) * queue->item_size, item,
           queue->item_size);
    atomic_store_explicit(&queue->head, head + 1u, queue->publish_order);
    return 1;
}

/* Producer: free slots now (at least this many pushes will succeed). */
static inline SPRUNG_REALTIME uint32_t sprung_spsc_space(SprungSpsc *queue)
{
    uint32_t head = atomic_load_explicit(&queue->head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&queue->tail, memory_order_acquire);
    return queue->mask + 1u - (head - tail);
}

/* Consumer: the oldest item, left in place, or NULL when empty. Valid until
 * sprung_spsc_pop. */
static inline SPRUNG_REALTIME const void *sprung_spsc_peek(SprungSpsc *queue)
{
    uint32_t tail = atomic_load_explicit(&queue->tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit(&queue->head, memory_order_acquire);
    if (head == tail)
        return NULL;
    return queue->slots + (size_t)(tail & queue->mask) * queue->item_size;
}

/* Consumer: releases the oldest item (after peek returned it). */
static inline SPRUNG_REALTIME void sprung_spsc_drop(SprungSpsc *queue)
{
    uint32_t tail = atomic_load_explicit(&queue->tail, memory_order_relaxed);
    atomic_store_explicit(&queue->tail, tail + 1u, memory_order_release);
}

/* Consumer: copies the oldest item out and releases it; 0 when empty. */
static inline SPRUNG_REALTIME int sprung_spsc_pop(SprungSpsc *queue, void *item)
{
    const void *slot = sprung_spsc_peek(queue);
    if (!slot)
        return 0;
    memcpy(item, slot, queue->item_size);
    sprung_spsc_drop(queue);
    return 1;
}

#endif
