/* sprung.lv2: the LV2 worker. Loads and compiles the presets that run()
 * asks for and hands the engines back through work_response; frees the
 * engines the runner retired; writes run()'s messages to the host's log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sprung_lv2_plugin.h"

static const char *uri_name(const Plugin *self, LV2_URID urid)
{
    const char *uri = self->unmap && urid ? self->unmap->unmap(self->unmap->handle, urid) : NULL;
    return uri ? uri : "(unknown)";
}

static void log_from_run(Plugin *self, const WorkLog *m)
{
    const char *name = plugin_name(self);
    LV2_Log_Logger *log = &self->logger;
    switch (m->code) {
    case LOG_UNKNOWN_ATOM:
        lv2_log_warning(log, "%s: ignored an event of type <%s> on the control port\n", name,
                        uri_name(self, m->a));
        break;
    case LOG_UNKNOWN_OBJECT:
        lv2_log_warning(log, "%s: ignored a message of type <%s> (only patch:Set and "
                             "patch:Get are understood)\n", name, uri_name(self, m->a));
        break;
    case LOG_UNKNOWN_PROPERTY:
        lv2_log_warning(log, "%s: ignored a patch message for property <%s> (known: <%s>, "
                             "<%s>)\n", name, m->a ? uri_name(self, m->a) : "none given",
                        SPRUNG_LV2__preset, SPRUNG_LV2__oversampling);
        break;
    case LOG_BAD_VALUE:
        lv2_log_error(log, "%s: patch:Set <%s>: a value of type <%s> is not allowed (preset: "
                           "a non-empty atom:Path; oversampling: atom:Int 1, 2 or 4)\n",
                      name, uri_name(self, m->a), m->b ? uri_name(self, m->b) : "none");
        break;
    case LOG_PATH_TOO_LONG:
        lv2_log_error(log, "%s: patch:Set <%s>: the path is %u bytes; at most %d\n", name,
                      SPRUNG_LV2__preset, m->a, MAX_PATH_BYTES - 1);
        break;
    case LOG_BAD_MIDI:
        lv2_log_warning(log, "%s: ignored a malformed MIDI event (%u bytes, status 0x%02x)\n",
                        name, m->a, m->b);
        break;
    case LOG_EVENTS_DROPPED:
        if (m->a)
            lv2_log_warning(log, "%s: more than %d notes in one block: some were dropped\n",
                            name, MAX_EVENTS);
        else
            lv2_log_warning(log, "%s: %u further messages for the log were dropped\n", name,
                            m->b);
        break;
    case LOG_BREAKER:
        lv2_log_warning(log, "%s: the circuit breaker tripped on the %s channel (%s): the "
                             "sound was faded out and the model reset\n", name,
                        m->b ? "right" : "left",
                        m->a == SPRUNG_BREAKER_NONFINITE ? "a non-finite sample"
                                                         : "too loud for too long");
        break;
    case LOG_WORK_QUEUE_FULL:
        lv2_log_warning(log, "%s: the host's worker queue was full: a load (preset or "
                             "oversampling) waited %u run()s for room (sent now)\n",
                        name, m->a);
        break;
    case LOG_MALFORMED_SEQUENCE:
        lv2_log_error(log, "%s: a malformed atom sequence on the control port: the last %u "
                           "bytes were skipped\n", name, m->a);
        break;
    default:
        lv2_log_warning(log, "%s: log message %u\n", name, m->code);
        break;
    }
}

LV2_Worker_Status plugin_work(LV2_Handle instance, LV2_Worker_Respond_Function respond,
                              LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
    Plugin *self = (Plugin *)instance;
    if (!self || !data || size < sizeof(WorkHeader))
        return LV2_WORKER_ERR_UNKNOWN;
    /* The LV2 worker promises no alignment for data (hosts pack messages
     * into byte rings), so each message is copied out before its fields
     * are read. */
    WorkHeader header;
    memcpy(&header, data, sizeof header);
    const uint32_t kind = header.kind;
    if (kind == WORK_FREE_ENGINE && size >= sizeof(WorkFree)) {
        WorkFree retired;
        memcpy(&retired, data, sizeof retired);
        sprung_engine_free(retired.engine);
        return LV2_WORKER_SUCCESS;
    }
    if (kind == WORK_LOG && size >= sizeof(WorkLog)) {
        WorkLog log;
        memcpy(&log, data, sizeof log);
        log_from_run(self, &log);
        return LV2_WORKER_SUCCESS;
    }
    if ((kind != WORK_LOAD_PATH && kind != WORK_RECOMPILE) ||
        size < offsetof(WorkLoad, path))
        return LV2_WORKER_ERR_UNKNOWN;
    WorkLoad request; /* the fields before the path, which is read in place */
    memcpy(&request, data, offsetof(WorkLoad, path));
    const char *request_path = (const char *)data + offsetof(WorkLoad, path);
    const char *name = plugin_name(self);
    char message[1024], note[512];
    char *json = NULL, *path = NULL;
    if (kind == WORK_LOAD_PATH) {
        if (request.path_bytes < 2 || request.path_bytes > MAX_PATH_BYTES ||
            size < offsetof(WorkLoad, path) + request.path_bytes ||
            request_path[request.path_bytes - 1] != '\0')
            return LV2_WORKER_ERR_UNKNOWN;
        path = (char *)request_path;
        json = plugin_read_preset_file(path, message, sizeof message);
    } else {
        pthread_mutex_lock(&self->preset_lock);
        json = self->preset_json ? strdup(self->preset_json) : NULL;
        path = self->preset_path ? strdup(self->preset_path) : NULL;
        pthread_mutex_unlock(&self->preset_lock);
        snprintf(message, sizeof message, "out of memory");
    }
    if (!json) {
        lv2_log_error(&self->logger, "%s: %s; the current sound stays\n", name, message);
        if (kind == WORK_RECOMPILE)
            free(path);
        return LV2_WORKER_ERR_UNKNOWN;
    }
    const char *source = path ? path : "the current preset";
    SprungEngine *engine = NULL;
    uint32_t used = request.oversampling;
    if (used != 1 && used != 2 && used != 4)
        used = 1;
    SprungStatus status = plugin_compile_preset(self, json, source, used, &engine, &used,
                                                message, sizeof message, note, sizeof note);
    if (status != SPRUNG_OK) {
        lv2_log_error(&self->logger, "%s: %s; the current sound stays\n", name, message);
        free(json);
        if (kind == WORK_RECOMPILE)
            free(path);
        return LV2_WORKER_ERR_UNKNOWN;
    }
    if (note[0])
        lv2_log_note(&self->logger, "%s: %s\n", name, note);

    WorkResponse response = {.engine = engine,
                             .latency = sprung_engine_latency_frames(engine),
                             .oversampling = used};
    if (path) {
        size_t bytes = strlen(path) + 1;
        if (bytes <= MAX_PATH_BYTES) {
            memcpy(response.path, path, bytes);
            response.path_bytes = (uint32_t)bytes;
        }
    }
    uint32_t response_size = (uint32_t)(offsetof(WorkResponse, path) + response.path_bytes);
    if (respond(handle, response_size, &response) != LV2_WORKER_SUCCESS) {
        lv2_log_error(&self->logger, "%s: the host's worker could not take the loaded preset "
                                     "back; the current sound stays\n", name);
        sprung_engine_free(engine);
        free(json);
        if (kind == WORK_RECOMPILE)
            free(path);
        return LV2_WORKER_ERR_NO_SPACE;
    }
    plugin_set_preset_record(self, json, path, used);
    if (kind == WORK_RECOMPILE)
        free(path);
    return LV2_WORKER_SUCCESS;
}
