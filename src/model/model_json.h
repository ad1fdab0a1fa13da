/* What the preset parsers share (model_load.c for the objects,
 * model_modulation.c for the instrument sections): JSON paths, the
 * early-return macro, how values are named in messages, the one rule for
 * numbers, and the readers built on them (errors, field lookup with "did you
 * mean", numbers and ranges). Private to src/model/; control thread only. */
#ifndef SPRUNG_MODEL_JSON_H
#define SPRUNG_MODEL_JSON_H

#include <stdarg.h>
#include <stddef.h>

#include <jansson.h>

#include "sprung/status.h"

/* Size of a JSON path buffer: that of SprungError.path. */
#define SPRUNG_PATH_SIZE sizeof(((SprungError *)0)->path)

/* Returns from the calling function when `expr` is not SPRUNG_OK. */
#define SPRUNG_TRY(expr)                       \
    do {                                       \
        SprungStatus try_status_ = (expr);     \
        if (try_status_ != SPRUNG_OK)          \
            return try_status_;                \
    } while (0)

/* Builds a JSON path such as "springs[3].to"; paths longer than the error
 * record's path field are cut short there anyway. */
void sprung_json_path(char path[SPRUNG_PATH_SIZE], const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* "an object", "a string", "an integer", "a real number", ... */
const char *sprung_json_type_phrase(const json_t *value);

/* The shortest of %.15g / %.17g that gives back the same double, so a
 * message never shows "1" for 1.0000000000000002. */
const char *sprung_format_number(char buffer[40], double value);

/* Reads a JSON number into *out. NULL when it is one the engine can use: a
 * JSON number, finite, and within float32's range (the engine computes in
 * float32: a number it would round to infinity is refused here rather than
 * turning into Inf later; tiny numbers round to zero harmlessly). Otherwise
 * the problem, written into `problem`, ready to follow the path. */
const char *sprung_json_number(const json_t *value, double *out, char problem[160]);

/* Where a parser's messages go: the preset they name and the caller's error
 * record (which may be NULL). */
typedef struct SprungJsonReader {
    const char *source;
    SprungError *error;
} SprungJsonReader;

/* Records `status` with the message at `path` (NULL: the preset as a whole)
 * and returns it. Each parser wraps it in its own variadic `fail`. */
SprungStatus sprung_json_vfail(const SprungJsonReader *reader, SprungStatus status,
                               const char *path, const char *format, va_list args)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 0)))
#endif
    ;

/* Finds `key` among `fields` (NULL-terminated) and writes its index. An
 * unknown key is an error, because a misspelt optional field would
 * otherwise silently default; the message suggests the closest known field
 * when there is one ("dampnig": did you mean "damping"?). `object_path`
 * NULL means the top level of the preset. */
SprungStatus sprung_json_field_index(const SprungJsonReader *reader, const char *object_path,
                                     const char *const *fields, const char *key, int *out);

/* sprung_json_number, its problem reported at `path`. */
SprungStatus sprung_json_read_number(const SprungJsonReader *reader, const char *path,
                                     const json_t *value, double *out);

/* "must be <rule>, got <value>" at `path`, the value written exactly
 * (sprung_format_number), so 1.0000000000000002 never reads as 1. */
SprungStatus sprung_json_out_of_range(const SprungJsonReader *reader, const char *path,
                                      const char *rule, double value);

#endif
