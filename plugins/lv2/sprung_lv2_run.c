/* sprung.lv2: the audio thread. run() renders through the runner and
 * handles the control port; work_response() takes the worker's engines.
 * Nothing here allocates, frees, locks, logs or does I/O: what must be
 * freed or logged is sent to the worker. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <lv2/atom/util.h>
#include <lv2/midi/midi.h>

#include "sprung_lv2_plugin.h"

/* Sends a message to the worker; 0 if there is no worker or no room. */
static SPRUNG_REALTIME int send_work(Plugin *self, uint32_t size, const void *message)
{
    if (!self->schedule)
        return 0;
    return self->schedule->schedule_work(self->schedule->handle, size, message) ==
           LV2_WORKER_SUCCESS;
}

static SPRUNG_REALTIME void send_log(Plugin *self, uint32_t code, uint32_t a, uint32_t b)
{
    if (self->logs_this_run >= LOGS_PER_RUN) {
        self->dropped_logs++;
        return;
    }
    self->logs_this_run++;
    WorkLog message = {.kind = WORK_LOG, .code = code, .a = a, .b = b};
    if (!send_work(self, sizeof message, &message))
        self->dropped_logs++;
}

/* An engine the audio thread must not free: to the worker, or parked until
 * the worker has room (or until cleanup). */
static SPRUNG_REALTIME void dispose_engine(Plugin *self, SprungEngine *engine)
{
    if (!engine)
        return;
    WorkFree message = {.kind = WORK_FREE_ENGINE, .engine = engine};
    if (send_work(self, sizeof message, &message))
        return;
    if (self->n_parked < PARKED_CAPACITY)
        self->parked[self->n_parked++] = engine;
    /* else: leaked rather than freed here; unreachable with a working host
     * (PARKED_CAPACITY engines refused by the worker in a row). */
}

/* Sends the worker the loads this and earlier run()s asked for: a
 * recompile of the current preset, then a preset file, both at the
 * oversampling asked for by then. One the host's worker queue refuses is
 * kept and sent again at the next run(), and the wait is logged once it
 * is sent: a request is never lost to a full queue. */
static SPRUNG_REALTIME void send_requests(Plugin *self)
{
    if (!self->schedule)
        return; /* no worker: nothing can load (instantiate said so) */
    if (self->recompile_requested) {
        WorkLoad message = {.kind = WORK_RECOMPILE, .oversampling = self->oversampling};
        if (!send_work(self, (uint32_t)offsetof(WorkLoad, path), &message)) {
            self->runs_waited++;
            return;
        }
        self->recompile_requested = 0;
    }
    if (self->load_requested) {
        self->requested_load.oversampling = self->oversampling;
        const uint32_t size =
            (uint32_t)offsetof(WorkLoad, path) + self->requested_load.path_bytes;
        if (!send_work(self, size, &self->requested_load)) {
            self->runs_waited++;
            return;
        }
        self->load_requested = 0;
    }
    if (self->runs_waited) {
        send_log(self, LOG_WORK_QUEUE_FULL, self->runs_waited, 0);
        self->runs_waited = 0;
    }
}

/* The first run(): the host's audio thread, whose SCHED_FIFO/RR priority
 * the engines' worker threads must have (it waits for them; below it other
 * threads could preempt them). LV2 tells it no earlier, and a thread's
 * priority is fixed when its engine is made, so every engine compiled from
 * now on gets it, and one already playing with worker threads is compiled
 * again (its swap is the usual crossfade, before any note as a rule). */
static SPRUNG_REALTIME void check_audio_priority(Plugin *self)
{
    self->priority_checked = 1;
    int policy = SCHED_OTHER;
    struct sched_param param = {.sched_priority = 0};
    if (pthread_getschedparam(pthread_self(), &policy, &param) != 0 ||
        (policy != SCHED_FIFO && policy != SCHED_RR) || param.sched_priority < 1)
        return;
    atomic_store_explicit(&self->audio_priority, param.sched_priority, memory_order_relaxed);
    if (sprung_engine_worker_threads(self->live) > 0)
        self->recompile_requested = 1;
}

static SPRUNG_REALTIME void handle_engines(Plugin *self)
{
    /* Parked engines first, in order, while the worker takes them. */
    uint32_t sent = 0;
    while (sent < self->n_parked) {
        WorkFree message = {.kind = WORK_FREE_ENGINE, .engine = self->parked[sent]};
        if (!send_work(self, sizeof message, &message))
            break;
        sent++;
    }
    if (sent) {
        memmove(self->parked, self->parked + sent, (self->n_parked - sent) * sizeof(void *));
        self->n_parked -= sent;
    }
    /* Retired engines, while there is somewhere to put them. */
    while (self->n_parked < PARKED_CAPACITY) {
        SprungEngine *old = sprung_runner_take_retired_engine(self->runner);
        if (!old)
            break;
        dispose_engine(self, old);
    }
    if (self->pending && sprung_runner_offer_engine(self->runner, self->pending)) {
        self->live = self->pending;
        self->pending = NULL;
        self->latency = self->pending_latency;
    }
}

static SPRUNG_REALTIME void apply_controls(Plugin *self)
{
    if (self->adopt_ports) {
        /* After restore: the ports as they are now are the baseline; the
         * restored values stay until a port moves. */
        self->adopt_ports = 0;
        if (self->gain_port)
            self->last_port_gain = *self->gain_port;
        for (int i = 0; i < SPRUNG_LV2_MACROS; i++)
            if (self->macro_port[i])
                self->last_port_macro[i] = *self->macro_port[i];
    }
    if (self->gain_port) {
        float port = *self->gain_port;
        if (port != self->last_port_gain && isfinite(port)) {
            self->last_port_gain = port;
            atomic_store_explicit(&self->gain_db, clamp_gain(port), memory_order_relaxed);
        }
    }
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++) {
        if (!self->macro_port[i])
            continue;
        float port = *self->macro_port[i];
        if (port != self->last_port_macro[i] && isfinite(port)) {
            self->last_port_macro[i] = port;
            atomic_store_explicit(&self->macro[i], clamp_macro(port), memory_order_relaxed);
        }
    }
    float gain = atomic_load_explicit(&self->gain_db, memory_order_relaxed);
    if (gain != self->applied_gain_db && sprung_runner_set_gain_db(self->runner, gain))
        self->applied_gain_db = gain;
    /* Bypass: NaN or a missing port counts as enabled. */
    int muted = self->enabled_port && *self->enabled_port < 0.5f;
    if (muted != self->applied_muted && sprung_runner_set_mute(self->runner, muted))
        self->applied_muted = muted;
    /* Macros reach the preset's "macro" modulation sources (the runner
     * keeps them across engine swaps). */
    for (int i = 0; i < SPRUNG_LV2_MACROS; i++) {
        float macro = atomic_load_explicit(&self->macro[i], memory_order_relaxed);
        if (macro != self->applied_macro[i] &&
            sprung_runner_set_macro(self->runner, (uint32_t)i, macro))
            self->applied_macro[i] = macro;
    }
}

/* The value of a patch:Set, walked with bounds checks (the atom may be
 * hostile). Returns 1 and the property and value when well formed. */
static SPRUNG_REALTIME int read_patch_set(const LV2_Atom_Object *object, uint32_t object_size,
                                          const Uris *u, LV2_URID *property,
                                          const LV2_Atom **value)
{
    *property = 0;
    *value = NULL;
    const uint8_t *body = (const uint8_t *)&object->body;
    const uint8_t *end = body + object_size;
    const uint8_t *p = body + sizeof(LV2_Atom_Object_Body);
    while (p + sizeof(LV2_Atom_Property_Body) <= end) {
        const LV2_Atom_Property_Body *prop = (const LV2_Atom_Property_Body *)p;
        uint64_t span = sizeof(LV2_Atom_Property_Body) + (uint64_t)prop->value.size;
        if (span > (uint64_t)(end - p))
            return 0;
        if (prop->key == u->patch_property && prop->value.type == u->atom_URID &&
            prop->value.size >= sizeof(uint32_t))
            *property = ((const LV2_Atom_URID *)&prop->value)->body;
        else if (prop->key == u->patch_value)
            *value = &prop->value;
        p += lv2_atom_pad_size((uint32_t)span);
    }
    return *property != 0;
}

static SPRUNG_REALTIME void reply_parameter(Plugin *self, LV2_URID property)
{
    const Uris *u = &self->uris;
    LV2_Atom_Forge *forge = &self->forge;
    if (!self->notify)
        return;
    if (property == u->sprung_preset && !self->current_path[0])
        return; /* the built-in demo or a state's JSON: no file to show */
    LV2_Atom_Forge_Frame frame;
    if (!lv2_atom_forge_frame_time(forge, 0) ||
        !lv2_atom_forge_object(forge, &frame, 0, u->patch_Set))
        return;
    lv2_atom_forge_key(forge, u->patch_property);
    lv2_atom_forge_urid(forge, property);
    lv2_atom_forge_key(forge, u->patch_value);
    if (property == u->sprung_preset)
        lv2_atom_forge_path(forge, self->current_path, (uint32_t)strlen(self->current_path));
    else
        lv2_atom_forge_int(forge, (int32_t)self->oversampling);
    lv2_atom_forge_pop(forge, &frame);
}

static SPRUNG_REALTIME void handle_object(Plugin *self, const LV2_Atom_Object *object,
                                          uint32_t size)
{
    const Uris *u = &self->uris;
    if (size < sizeof(LV2_Atom_Object_Body)) {
        send_log(self, LOG_UNKNOWN_OBJECT, 0, 0);
        return;
    }
    if (object->body.otype == u->patch_Get) {
        LV2_URID property = 0;
        const LV2_Atom *unused;
        read_patch_set(object, size, u, &property, &unused);
        if (!property || property == u->sprung_preset)
            self->notify_preset = 1;
        if (!property || property == u->sprung_oversampling)
            self->notify_oversampling = 1;
        if (property && property != u->sprung_preset && property != u->sprung_oversampling)
            send_log(self, LOG_UNKNOWN_PROPERTY, property, 0);
        return;
    }
    if (object->body.otype != u->patch_Set) {
        send_log(self, LOG_UNKNOWN_OBJECT, object->body.otype, 0);
        return;
    }
    LV2_URID property;
    const LV2_Atom *value;
    if (!read_patch_set(object, size, u, &property, &value)) {
        send_log(self, LOG_UNKNOWN_PROPERTY, 0, 0);
        return;
    }
    if (property == u->sprung_preset) {
        if (!value || value->type != u->atom_Path || value->size < 2 ||
            !memchr(LV2_ATOM_BODY_CONST(value), '\0', value->size) ||
            ((const char *)LV2_ATOM_BODY_CONST(value))[0] == '\0') {
            send_log(self, LOG_BAD_VALUE, property, value ? value->type : 0);
            return;
        }
        const char *path = (const char *)LV2_ATOM_BODY_CONST(value);
        size_t bytes = strlen(path) + 1;
        if (bytes > MAX_PATH_BYTES) {
            send_log(self, LOG_PATH_TOO_LONG, (uint32_t)bytes, 0);
            return;
        }
        /* A later patch:Set replaces one not sent yet. */
        self->requested_load.kind = WORK_LOAD_PATH;
        self->requested_load.path_bytes = (uint32_t)bytes;
        memcpy(self->requested_load.path, path, bytes);
        self->load_requested = 1;
    } else if (property == u->sprung_oversampling) {
        int32_t factor = 0;
        if (value && value->type == u->atom_Int && value->size >= sizeof(int32_t))
            factor = ((const LV2_Atom_Int *)value)->body;
        else if (value && value->type == u->atom_Long && value->size >= sizeof(int64_t)) {
            int64_t wide; /* copied out: the atom may be only 4-byte aligned */
            memcpy(&wide, LV2_ATOM_BODY_CONST(value), sizeof wide);
            factor = wide >= 1 && wide <= 4 ? (int32_t)wide : 0;
        }
        if (factor != 1 && factor != 2 && factor != 4) {
            send_log(self, LOG_BAD_VALUE, property, value ? value->type : 0);
            return;
        }
        if ((uint32_t)factor == self->oversampling)
            return;
        self->oversampling = (uint32_t)factor;
        self->recompile_requested = 1;
    } else {
        send_log(self, LOG_UNKNOWN_PROPERTY, property, 0);
    }
}

/* One MIDI message of the control port: every channel message the engine
 * reads (notes, controllers, bends, pressure: modulation and MPE) becomes
 * an event; CC 120 (all sound off) is a click-free reset. Program changes
 * and system messages have no meaning here; a malformed channel message
 * is logged. */
static SPRUNG_REALTIME void handle_midi(Plugin *self, const uint8_t *data, uint32_t size,
                                        uint32_t frame, uint32_t *n_events)
{
    SprungEvent event;
    if (!sprung_event_from_midi(data, size, frame, &event)) {
        const uint8_t status = size ? data[0] & 0xF0u : 0;
        if (status != 0xC0u && status != 0xF0u)
            send_log(self, LOG_BAD_MIDI, size, size ? data[0] : 0);
        return;
    }
    if (event.type == SPRUNG_EVENT_CONTROL_CHANGE && event.note == LV2_MIDI_CTL_ALL_SOUNDS_OFF) {
        sprung_runner_request_reset(self->runner, SPRUNG_RESET_USER);
        return;
    }
    if (*n_events >= MAX_EVENTS) {
        send_log(self, LOG_EVENTS_DROPPED, 1, 0);
        return;
    }
    self->events[(*n_events)++] = event;
}

/* Reads the control port: MIDI into self->events (sorted, in range),
 * patch messages handled. Returns the number of events. */
static SPRUNG_REALTIME uint32_t read_control(Plugin *self, uint32_t n_samples)
{
    uint32_t n_events = 0;
    const LV2_Atom_Sequence *seq = self->control;
    const Uris *u = &self->uris;
    if (!seq || !self->map || seq->atom.type != u->atom_Sequence ||
        seq->atom.size < sizeof(LV2_Atom_Sequence_Body))
        return 0;
    /* Frame times unless the sequence says beats: jalv 1.6 leaves its
     * unit uninitialised, so anything else is frames. A sequence in beats
     * (no host sends one to a plugin that asks for frames) plays
     * everything at frame 0. */
    const int frames = seq->body.unit != u->atom_beatTime;
    const uint8_t *p = (const uint8_t *)(seq + 1);
    const uint8_t *end = (const uint8_t *)&seq->body + seq->atom.size;
    uint32_t last_frame = 0;
    while (p + sizeof(LV2_Atom_Event) <= end) {
        /* Each event's head is copied out: a host may align the sequence
         * to 4 bytes only (jalv 1.6 does), and the event's time is 64-bit.
         * Its body, 32-bit words, is read in place. */
        LV2_Atom_Event ev;
        memcpy(&ev, p, sizeof ev);
        const uint8_t *body = p + offsetof(LV2_Atom_Event, body);
        uint64_t span = sizeof ev + (uint64_t)ev.body.size;
        if (span > (uint64_t)(end - p)) {
            send_log(self, LOG_MALFORMED_SEQUENCE, (uint32_t)(end - p), 0);
            break;
        }
        /* Sample-accurate, but never out of order or out of the block. */
        int64_t t = frames ? ev.time.frames : 0;
        uint32_t frame = t <= 0 ? 0 : t >= (int64_t)n_samples ? n_samples - 1 : (uint32_t)t;
        if (frame < last_frame)
            frame = last_frame;
        last_frame = frame;
        if (ev.body.type == u->midi_MidiEvent) {
            handle_midi(self, p + sizeof ev, ev.body.size, frame, &n_events);
        } else if (ev.body.type == u->atom_Object || ev.body.type == u->atom_Blank) {
            handle_object(self, (const LV2_Atom_Object *)body, ev.body.size);
        } else {
            send_log(self, LOG_UNKNOWN_ATOM, ev.body.type, 0);
        }
        p += lv2_atom_pad_size((uint32_t)span);
    }
    return n_events;
}

static SPRUNG_REALTIME void write_silence(Plugin *self, uint32_t n_samples)
{
    if (self->notify && self->map) {
        LV2_Atom_Forge_Frame frame;
        lv2_atom_forge_set_buffer(&self->forge, (uint8_t *)self->notify,
                                  self->notify->atom.size);
        if (lv2_atom_forge_sequence_head(&self->forge, &frame, 0))
            lv2_atom_forge_pop(&self->forge, &frame);
    }
    for (int ch = 0; ch < 2; ch++)
        if (self->out[ch])
            memset(self->out[ch], 0, sizeof(float) * n_samples);
    if (self->latency_port)
        *self->latency_port = (float)self->latency;
}

SPRUNG_REALTIME void plugin_run(LV2_Handle instance, uint32_t n_samples)
{
    Plugin *self = (Plugin *)instance;
    if (!self || n_samples == 0)
        return;
    if (!self->activated) {
        write_silence(self, n_samples); /* run() before activate(): the host's bug, not a crash */
        return;
    }
    self->running = 1;
    self->logs_this_run = 0;
    if (!self->priority_checked)
        check_audio_priority(self);
    if (self->sabotage & SPRUNG_LV2_TESTING_ALLOCATE_IN_RUN) {
        volatile char *leak = malloc(64);
        if (leak)
            leak[0] = 1;
        free((void *)leak);
    }

    /* The reply sequence on the notify port. */
    LV2_Atom_Forge_Frame notify_frame;
    int notify_open = 0;
    if (self->notify && self->map) {
        uint32_t capacity = self->notify->atom.size;
        lv2_atom_forge_set_buffer(&self->forge, (uint8_t *)self->notify, capacity);
        notify_open = lv2_atom_forge_sequence_head(&self->forge, &notify_frame, 0) != 0;
    }

    handle_engines(self);
    apply_controls(self);
    const uint32_t n_events = read_control(self, n_samples);
    send_requests(self);
    if (notify_open) {
        if (self->notify_preset)
            reply_parameter(self, self->uris.sprung_preset);
        if (self->notify_oversampling)
            reply_parameter(self, self->uris.sprung_oversampling);
        self->notify_preset = self->notify_oversampling = 0;
        lv2_atom_forge_pop(&self->forge, &notify_frame);
    } else if (self->notify && self->notify->atom.size >= sizeof(LV2_Atom)) {
        self->notify->atom.size = 0; /* no reply possible: an empty atom */
    }

    /* Render in chunks of at most max_block frames; inside a chunk the
     * runner splits at every event frame. */
    uint32_t next_event = 0;
    for (uint32_t done = 0; done < n_samples;) {
        const uint32_t n = n_samples - done < self->max_block ? n_samples - done
                                                               : self->max_block;
        uint32_t first = next_event;
        while (next_event < n_events && self->events[next_event].frame < done + n) {
            self->events[next_event].frame -= done;
            next_event++;
        }
        float *outs[2];
        const float *ins[2];
        for (int ch = 0; ch < 2; ch++) {
            outs[ch] = self->out[ch] ? self->out[ch] + done : self->scratch_out[ch];
            ins[ch] = self->zeros;
            if (self->is_effect && self->in[ch]) {
                /* Copied first: the host may give the same buffer for in and out. */
                memcpy(self->in_copy[ch], self->in[ch] + done, sizeof(float) * n);
                ins[ch] = self->in_copy[ch];
            }
        }
        SprungStatus status =
            sprung_runner_process(self->runner, n, self->is_effect ? ins : NULL,
                                  self->is_effect ? 2u : 0u, outs, 2, self->events + first,
                                  next_event - first);
        (void)status; /* a bad block is silence; the events were made valid above */
        if (self->is_effect) {
            /* Bypass passes the input through, crossfading with the same
             * one-pole as the runner's mute. */
            const float target = self->applied_muted ? 1.0f : 0.0f;
            float g = self->dry_gain;
            for (uint32_t i = 0; i < n; i++) {
                g += (target - g) * self->dry_coefficient;
                if (g != 0.0f) {
                    outs[0][i] += g * ins[0][i];
                    outs[1][i] += g * ins[1][i];
                }
            }
            self->dry_gain = g < 1e-7f && target == 0.0f ? 0.0f : g;
        }
        done += n;
    }

    sprung_runner_poll(self->runner, NULL); /* drain the block reports */
    SprungBreakerEvent trip;
    while (sprung_runner_next_breaker_event(self->runner, &trip))
        send_log(self, LOG_BREAKER, trip.reason, trip.channel);
    if (self->dropped_logs && self->logs_this_run < LOGS_PER_RUN) {
        uint32_t dropped = self->dropped_logs;
        self->dropped_logs = 0;
        send_log(self, LOG_EVENTS_DROPPED, 0, dropped);
    }
    if (self->latency_port)
        *self->latency_port = (float)self->latency;
}

/* The worker's answer, on the audio thread: a compiled engine, offered to
 * the runner now or at the next run(). */
SPRUNG_REALTIME LV2_Worker_Status plugin_work_response(LV2_Handle instance, uint32_t size,
                                                       const void *body)
{
    Plugin *self = (Plugin *)instance;
    if (!self || !body || size < offsetof(WorkResponse, path))
        return LV2_WORKER_ERR_UNKNOWN;
    WorkResponse response;
    memcpy(&response, body, offsetof(WorkResponse, path));
    /* The newest engine wins: one still waiting for the runner is retired. */
    dispose_engine(self, self->pending);
    self->pending = response.engine;
    self->pending_latency = response.latency;
    self->oversampling = response.oversampling;
    if (self->runner && sprung_runner_offer_engine(self->runner, self->pending)) {
        self->live = self->pending;
        self->pending = NULL;
        self->latency = response.latency;
    }
    const char *path = (const char *)body + offsetof(WorkResponse, path);
    if (response.path_bytes && response.path_bytes <= MAX_PATH_BYTES &&
        size >= offsetof(WorkResponse, path) + response.path_bytes &&
        path[response.path_bytes - 1] == '\0') {
        memcpy(self->current_path, path, response.path_bytes);
        self->notify_preset = 1;
    }
    self->notify_oversampling = 1;
    return LV2_WORKER_SUCCESS;
}
