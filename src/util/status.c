/* sprung_strerror() and the error-record formatter every loader shares. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "sprung/status.h"

const char *sprung_strerror(SprungStatus status)
{
    switch (status) {
    case SPRUNG_OK: return "success";
    case SPRUNG_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case SPRUNG_ERROR_NO_MEMORY: return "out of memory";
    case SPRUNG_ERROR_IO: return "input/output error";
    case SPRUNG_ERROR_PARSE: return "parse error";
    case SPRUNG_ERROR_INVALID_MODEL: return "invalid model";
    case SPRUNG_ERROR_UNSTABLE: return "model is unstable at this rate";
    case SPRUNG_ERROR_UNSUPPORTED: return "unsupported";
    case SPRUNG_STATUS_COUNT: break;
    }
    return "unknown status";
}

SprungStatus sprung_error_set(SprungError *error, SprungStatus status, const char *source,
                              int line, int column, const char *path, const char *format, ...)
{
    if (!error)
        return status;
    error->status = status;
    error->line = line;
    error->column = column;
    snprintf(error->path, sizeof error->path, "%s", path ? path : "");

    /* "source:line:col: path: detail", leaving out the parts we don't know.
     * Long messages are cut at the buffer's end, never overflowed. */
    size_t used = 0;
    size_t size = sizeof error->message;
    error->message[0] = '\0';
    if (source && line > 0)
        used += (size_t)snprintf(error->message, size, "%s:%d:%d: ", source, line, column);
    else if (source)
        used += (size_t)snprintf(error->message, size, "%s: ", source);
    if (used < size && path && path[0])
        used += (size_t)snprintf(error->message + used, size - used, "%s: ", path);
    if (used < size) {
        va_list args;
        va_start(args, format);
        vsnprintf(error->message + used, size - used, format, args);
        va_end(args);
    }
    return status;
}
