/* Small helpers the preset loader and saver share: JSON values to text in
 * memory that sprung_free() releases. Private to src/model/. */
#ifndef SPRUNG_MODEL_TEXT_H
#define SPRUNG_MODEL_TEXT_H

#include <jansson.h>

/* Flags for numbers that must survive a round trip bit-exactly. */
#define SPRUNG_JSON_ROUND_TRIP JSON_REAL_PRECISION(17)

/* Serialises `value` with jansson `flags` into a malloc'd NUL-terminated
 * string (so sprung_free()/free() release it whatever allocator jansson
 * uses). NULL when out of memory or when jansson cannot encode the value. */
char *sprung_json_to_text(const json_t *value, size_t flags);

/* json_loadb that tells running out of memory from bad JSON. jansson
 * reports most allocation failures inside its parser as syntax errors, so
 * a failed parse is tried once more: bad JSON fails again the same way,
 * while a transient allocation failure either succeeds (and the result is
 * used) or fails differently (out of memory). Returns 0 with *root set,
 * 1 for bad JSON (details in *error), -1 for out of memory. */
int sprung_json_parse(const char *text, size_t length, size_t flags, json_t **root,
                      json_error_t *error);

#endif
