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

    char detail[sizeof error->message];
    va_list args;
    va_start(args, format);
    vsnprintf(detail, sizeof detail, format, args);
    va_end(args);

    /* "source:line:col: path: detail", leaving out the parts we don't know. */
    char where[256] = "";
    if (source && line > 0)
        snprintf(where, sizeof where, "%s:%d:%d: ", source, line, column);
    else if (source)
        snprintf(where, sizeof where, "%s: ", source);
    if (path && path[0])
        snprintf(error->message, sizeof error->message, "%s%s: %s", where, path, detail);
    else
        snprintf(error->message, sizeof error->message, "%s%s", where, detail);
    return status;
}
