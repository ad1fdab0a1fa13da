/* Helpers the preset parsers share: see model_json.h. */
#include "model/model_json.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

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

/* ---- Unknown fields: suggest the closest known one ---- */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Optimal string alignment distance, case-insensitive, so that a swapped
 * pair ("dampnig") or a capital ("Mass") counts as one slip. */
static size_t edit_distance(const char *a, const char *b)
{
    enum { MAX = 48 };
    size_t n = strlen(a), m = strlen(b);
    if (n > MAX || m > MAX)
        return (size_t)-1;
    size_t d[MAX + 1][MAX + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t cost = lower((unsigned char)a[i - 1]) != lower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && lower((unsigned char)a[i - 1]) == lower((unsigned char)b[j - 2]) &&
                lower((unsigned char)a[i - 2]) == lower((unsigned char)b[j - 1]) &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[n][m];
}

static const char *closest_field(const char *key, const char *const *fields)
{
    const char *best = NULL;
    size_t best_distance = (size_t)-1;
    for (size_t f = 0; fields[f]; f++) {
        size_t distance = edit_distance(key, fields[f]);
        /* Close means at most two slips and at most a third of the word:
         * "mas" -> "mass", but "to" is not a typo of "id". */
        if (distance <= 2 && distance * 3 <= strlen(fields[f]) && distance < best_distance) {
            best = fields[f];
            best_distance = distance;
        }
    }
    return best;
}

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
    const char *suggestion = closest_field(key, fields);
    if (suggestion)
        return invalid(reader, object_path, "unknown %s \"%s\" (did you mean \"%s\"?)", where, key,
                       suggestion);
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
