/* Setup of the SPSC ring (spsc.h): one allocation per queue, at creation.
 * Control thread (setup) only. */
#include "runner/spsc.h"

#include <stdlib.h>

int sprung_spsc_init(SprungSpsc *queue, uint32_t capacity, uint32_t item_size)
{
    memset(queue, 0, sizeof *queue);
    if (capacity == 0 || (capacity & (capacity - 1u)) != 0 || capacity > (1u << 30) ||
        item_size == 0)
        return -1;
    queue->slots = calloc(capacity, item_size);
    if (!queue->slots)
        return -1;
    queue->item_size = item_size;
    queue->mask = capacity - 1u;
    queue->publish_order = memory_order_release;
    atomic_init(&queue->head, 0u);
    atomic_init(&queue->tail, 0u);
    return 0;
}

void sprung_spsc_free(SprungSpsc *queue)
{
    free(queue->slots);
    queue->slots = NULL;
}
