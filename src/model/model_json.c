/* Helpers the preset parsers share: see model_json.h. */
#include "model/model_json.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/suggest.h"

void sprung_json_path(char path[SPRUNG_PATH_SIZE], const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(path, SPRUNG_PATH_SIZE, format, args);
    va_end(args);
}

const char *sprung_json_type_phrase(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown value";
}

const char *sprung_format_number(char buffer[40], double value)
{
    snprintf(buffer, 40, "%.15g", value);
    if (strtod(buffer, NULL) != value)
        snprintf(buffer, 40, "%.17g", value);
    return buffer;
}

const char *sprung_json_number(const json_t *value, double *out, char problem[160])
{
    if (json_is_integer(value))
        *out = (double)json_integer_value(value);
    else if (json_is_real(value))
        *out = json_real_value(value);
    else {
        snprintf(problem, 160, "expected a number, got %s", sprung_json_type_phrase(value));
        return problem;
    }
    /* jansson refuses NaN, Inf and overflowing literals; this guards the
     * model's invariant whatever the parser does. */
    if (!isfinite(*out)) {
        snprintf(problem, 160, "must be a finite number");
        return problem;
    }
    if (fabs(*out) > FLT_MAX) {
        char number[40];
        snprintf(problem, 160, "%s is beyond the engine's float32 range (magnitude at most %.3g)",
                 sprung_format_number(number, *out), (double)FLT_MAX);
        return problem;
    }
    return NULL;
}

SprungStatus sprung_json_vfail(const SprungJsonReader *reader, SprungStatus status,
                               const char *path, const char *format, va_list args)
{
    char detail[sizeof((SprungError *)0)->message];
    vsnprintf(detail, sizeof detail, format, args);
    return sprung_error_set(reader->error, status, reader->source, 0, 0, path, "%s", detail);
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static SprungStatus invalid(const SprungJsonReader *reader, const char *path, const char *format,
                            ...)
{
    va_list args;
    va_start(args, format);
    SprungStatus status = sprung_json_vfail(reader, SPRUNG_ERROR_INVALID_MODEL, path, format, args);
    va_end(args);
    return status;
}

/* ---- Fields ---- */

SprungStatus sprung_json_field_index(const SprungJsonReader *reader, const char *object_path,
                                     const char *const *fields, const char *key, int *out)
{
    for (int f = 0; fields[f]; f++) {
        if (strcmp(fields[f], key) == 0) {
            *out = f;
            return SPRUNG_OK;
        }
    }
    const char *where = object_path ? "field" : "top-level field";
    SprungSuggestion suggestion = sprung_suggestion_start(key);
    for (int f = 0; fields[f]; f++)
        sprung_suggestion_consider(&suggestion, fields[f]);
    if (suggestion.best)
        return invalid(reader, object_path, "unknown %s \"%s\" (did you mean \"%s\"?)", where, key,
                       suggestion.best);
    return invalid(reader, object_path, "unknown %s \"%s\"", where, key);
}

/* ---- Values ---- */

SprungStatus sprung_json_read_number(const SprungJsonReader *reader, const char *path,
                                     const json_t *value, double *out)
{
    char problem[160];
    if (sprung_json_number(value, out, problem))
        return invalid(reader, path, "%s", problem);
    return SPRUNG_OK;
}

SprungStatus sprung_json_out_of_range(const SprungJsonReader *reader, const char *path,
                                      const char *rule, double value)
{
    char number[40];
    return invalid(reader, path, "must be %s, got %s", rule, sprung_format_number(number, value));
}
