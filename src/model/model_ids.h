/* The one id namespace of a preset: every object's id (bodies, anchors,
 * springs, exciters, microphones, collisions, delays), mapped to its kind and index. Used only by the preset
 * loader (model_load.c) while it validates references. */
#ifndef SPRUNG_MODEL_IDS_H
#define SPRUNG_MODEL_IDS_H

#include <stddef.h>
#include <stdint.h>

typedef enum SprungObjectKind {
    SPRUNG_KIND_BODY,
    SPRUNG_KIND_ANCHOR,
    SPRUNG_KIND_SPRING,
    SPRUNG_KIND_MALLET,
    SPRUNG_KIND_MICROPHONE,
    SPRUNG_KIND_OSCILLATOR,
    SPRUNG_KIND_PLUCK,
    SPRUNG_KIND_BOW,
    SPRUNG_KIND_AUDIO_INPUT,
    SPRUNG_KIND_COLLISION,
    SPRUNG_KIND_DELAY,
    SPRUNG_KIND_COUNT
} SprungObjectKind;

typedef struct SprungIdEntry {
    const char *id;  /* borrowed from the parsed JSON tree; NULL = empty slot */
    SprungObjectKind kind;
    uint32_t index;
} SprungIdEntry;

/* Open addressing with linear probing; capacity is a power of two at least
 * twice the number of ids, so probes stay short and the table never fills. */
typedef struct SprungIdTable {
    SprungIdEntry *slots;
    size_t mask;
} SprungIdTable;

/* 0 on success, -1 when out of memory. */
int sprung_id_table_init(SprungIdTable *table, size_t max_ids);
void sprung_id_table_destroy(SprungIdTable *table);

/* Inserts `id` unless it is already there; returns the entry that holds it
 * (the new one, or the first one inserted under that id). */
const SprungIdEntry *sprung_id_table_insert(SprungIdTable *table, const char *id,
                                            SprungObjectKind kind, uint32_t index);

/* NULL when the id is unknown. */
const SprungIdEntry *sprung_id_table_find(const SprungIdTable *table, const char *id);

#endif
