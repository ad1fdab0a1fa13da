/* The one status enum of libsprung, and the error record that carries a
 * human-readable message (file, line:column or JSON path, and the problem). */
#ifndef SPRUNG_STATUS_H
#define SPRUNG_STATUS_H

#include "sprung/attributes.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum SprungStatus {
    SPRUNG_OK = 0,
    SPRUNG_ERROR_INVALID_ARGUMENT, /* a caller broke an API precondition */
    SPRUNG_ERROR_NO_MEMORY,
    SPRUNG_ERROR_IO,               /* a file could not be read or written */
    SPRUNG_ERROR_PARSE,            /* not valid JSON (or MIDI, WAV) */
    SPRUNG_ERROR_INVALID_MODEL,    /* valid JSON that is not a valid preset */
    SPRUNG_ERROR_UNSTABLE,         /* the model would blow up at this rate */
    SPRUNG_ERROR_UNSUPPORTED,      /* a valid request this build cannot do */
    SPRUNG_STATUS_COUNT
} SprungStatus;

SPRUNG_API const char *sprung_strerror(SprungStatus status);

/* Filled by functions that can fail on user input. `message` is complete and
 * ready to print, e.g.
 *   "bell.json: springs[3].to: unknown id \"b9\""
 *   "bell.json:12:7: invalid JSON: ']' expected near '}'"
 * `line`/`column` are 1-based when known, else 0; `path` is the JSON path of
 * the offending value when known, else "". */
typedef struct SprungError {
    SprungStatus status;
    int line;
    int column;
    char path[128];
    char message[768];
} SprungError;

#ifdef __cplusplus
}
#endif
#endif
