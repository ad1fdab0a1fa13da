/* The id table of the preset loader (see model_ids.h). */
#include "model/model_ids.h"

#include <stdlib.h>
#include <string.h>

static size_t hash_id(const char *id)
{
    /* FNV-1a: short keys, no adversary worth a keyed hash here (the table
     * is rebuilt per load and probing is bounded by its load factor). */
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return (size_t)h;
}

int sprung_id_table_init(SprungIdTable *table, size_t max_ids)
{
    size_t capacity = 16;
    while (capacity < 2 * max_ids)
        capacity *= 2;
    table->slots = calloc(capacity, sizeof *table->slots);
    table->mask = capacity - 1;
    return table->slots ? 0 : -1;
}

void sprung_id_table_destroy(SprungIdTable *table)
{
    free(table->slots);
    table->slots = NULL;
    table->mask = 0;
}

static SprungIdEntry *probe(const SprungIdTable *table, const char *id)
{
    size_t i = hash_id(id) & table->mask;
    while (table->slots[i].id && strcmp(table->slots[i].id, id) != 0)
        i = (i + 1) & table->mask;
    return &table->slots[i];
}

const SprungIdEntry *sprung_id_table_insert(SprungIdTable *table, const char *id,
                                            SprungObjectKind kind, uint32_t index)
{
    SprungIdEntry *slot = probe(table, id);
    if (!slot->id) {
        slot->id = id;
        slot->kind = kind;
        slot->index = index;
    }
    return slot;
}

const SprungIdEntry *sprung_id_table_find(const SprungIdTable *table, const char *id)
{
    const SprungIdEntry *slot = probe(table, id);
    return slot->id ? slot : NULL;
}
