/* What the preset parsers share (model_load.c for the objects,
 * model_modulation.c for the instrument sections): JSON paths, the
 * early-return macro, how values are named in messages, and the one rule
 * for numbers. Private to src/model/; control thread only. */
#ifndef SPRUNG_MODEL_JSON_H
#define SPRUNG_MODEL_JSON_H

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

#endif
