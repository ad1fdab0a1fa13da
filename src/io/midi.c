/* Standard MIDI file loader: our own strict structural check of the whole
 * file, then libsmf for the tempo map. Control thread only.
 *
 * Why two passes: libsmf trusts its input. Malformed files make it read
 * out of bounds (short tempo events), use freed memory (a track chunk with
 * the wrong signature), abort on assertions (escaped events) or misparse
 * (meta events longer than 127 bytes). So we parse the file ourselves,
 * following the SMF 1.0 specification, reject anything malformed with a
 * message naming the track and byte offset, and hand libsmf a canonical
 * re-encoding that holds only what we need: a conductor track with the
 * tempo changes and one track with the channel events we pass on (notes,
 * control changes, pitch bend, channel and polyphonic pressure; program
 * changes are dropped), every event with an
 * explicit status byte and every length in range. libsmf then turns ticks
 * into seconds through its tempo map, and only ever sees files it handles
 * correctly. */
#include "io/midi.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smf.h>

#include "model/model.h"

/* Largest absolute time in ticks: a 4-byte variable-length quantity, so every
 * delta of the re-encoded file fits, and far from libsmf's int overflow. */
#define MIDI_MAX_TICK 0x0FFFFFFFu
/* libsmf looks tempos up linearly for every event; bound the work. */
#define MIDI_MAX_TEMPO_CHANGES 20000u
/* Files are read whole; real MIDI files are kilobytes. */
#define MIDI_MAX_FILE_BYTES (64u << 20)

typedef struct MidiNote {
    uint32_t tick;
    uint32_t order; /* position in the file: makes the sort stable */
    uint8_t status; /* 0x8n, 0x9n, 0xAn, 0xBn, 0xDn or 0xEn */
    uint8_t data1;  /* note, controller, pressure (0xDn) or bend LSB */
    uint8_t data2;  /* velocity, value, pressure or bend MSB; 0 for 0xDn */
} MidiNote;

typedef struct MidiTempo {
    uint32_t tick;
    uint32_t order;
    uint32_t microseconds_per_quarter;
} MidiTempo;

typedef struct MidiScan {
    const uint8_t *data;
    size_t size;
    const char *source;
    SprungError *error;
    unsigned ppqn;
    uint32_t end_tick; /* latest End of Track over all tracks */
    MidiNote *notes;
    size_t n_notes, cap_notes;
    MidiTempo *tempos;
    size_t n_tempos, cap_tempos;
    uint32_t order;
} MidiScan;

static uint32_t read_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static unsigned read_be16(const uint8_t *p)
{
    return ((unsigned)p[0] << 8) | p[1];
}

static SprungStatus scan_fail(MidiScan *scan, SprungStatus status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static SprungStatus scan_fail(MidiScan *scan, SprungStatus status, const char *format, ...)
{
    char detail[512];
    va_list args;
    va_start(args, format);
    vsnprintf(detail, sizeof detail, format, args);
    va_end(args);
    return sprung_error_set(scan->error, status, scan->source, 0, 0, NULL, "%s", detail);
}

/* Reads a variable-length quantity of at most 4 bytes ending before `end`. */
static int read_vlq(const uint8_t *data, size_t *pos, size_t end, uint32_t *value)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (*pos >= end)
            return -1; /* truncated */
        uint8_t byte = data[(*pos)++];
        v = (v << 7) | (byte & 0x7Fu);
        if (!(byte & 0x80u)) {
            *value = v;
            return 0;
        }
    }
    return -2; /* longer than 4 bytes */
}

static SprungStatus push_note(MidiScan *scan, uint32_t tick, uint8_t status, uint8_t data1,
                              uint8_t data2)
{
    if (scan->n_notes == scan->cap_notes) {
        size_t cap = scan->cap_notes ? scan->cap_notes * 2 : 256;
        MidiNote *grown = realloc(scan->notes, cap * sizeof *grown);
        if (!grown)
            return scan_fail(scan, SPRUNG_ERROR_NO_MEMORY, "out of memory");
        scan->notes = grown;
        scan->cap_notes = cap;
    }
    scan->notes[scan->n_notes++] =
        (MidiNote){.tick = tick, .order = scan->order++, .status = status, .data1 = data1,
                   .data2 = data2};
    return SPRUNG_OK;
}

static SprungStatus push_tempo(MidiScan *scan, uint32_t tick, uint32_t usec)
{
    if (scan->n_tempos >= MIDI_MAX_TEMPO_CHANGES)
        return scan_fail(scan, SPRUNG_ERROR_UNSUPPORTED, "more than %u tempo changes",
                         MIDI_MAX_TEMPO_CHANGES);
    if (scan->n_tempos == scan->cap_tempos) {
        size_t cap = scan->cap_tempos ? scan->cap_tempos * 2 : 16;
        MidiTempo *grown = realloc(scan->tempos, cap * sizeof *grown);
        if (!grown)
            return scan_fail(scan, SPRUNG_ERROR_NO_MEMORY, "out of memory");
        scan->tempos = grown;
        scan->cap_tempos = cap;
    }
    scan->tempos[scan->n_tempos++] =
        (MidiTempo){.tick = tick, .order = scan->order++, .microseconds_per_quarter = usec};
    return SPRUNG_OK;
}

/* Parses one MTrk chunk body [begin, end). Track numbers are 1-based. */
static SprungStatus scan_track(MidiScan *scan, unsigned track, size_t begin, size_t end)
{
    const uint8_t *data = scan->data;
    size_t pos = begin;
    uint32_t tick = 0;
    uint8_t running = 0; /* 0: no running status in effect */

    while (pos < end) {
        size_t event_at = pos;
        uint32_t delta;
        int r = read_vlq(data, &pos, end, &delta);
        if (r == -1)
            return scan_fail(scan, SPRUNG_ERROR_PARSE,
                             "track %u: delta time truncated at byte %zu", track, event_at);
        if (r == -2)
            return scan_fail(scan, SPRUNG_ERROR_PARSE,
                             "track %u: delta time longer than 4 bytes at byte %zu", track,
                             event_at);
        if (delta > MIDI_MAX_TICK - tick)
            return scan_fail(scan, SPRUNG_ERROR_UNSUPPORTED,
                             "track %u: longer than %u ticks (byte %zu)", track, MIDI_MAX_TICK,
                             event_at);
        tick += delta;
        if (pos >= end)
            return scan_fail(scan, SPRUNG_ERROR_PARSE,
                             "track %u: event truncated at byte %zu (end of chunk)", track,
                             event_at);

        size_t status_at = pos;
        uint8_t status = data[pos];
        if (status & 0x80u) {
            pos++;
        } else if (running) {
            status = running;
        } else {
            return scan_fail(scan, SPRUNG_ERROR_PARSE,
                             "track %u: data byte 0x%02x without a status byte at byte %zu",
                             track, data[pos], status_at);
        }

        if (status < 0xF0u) {
            /* Channel message: one or two data bytes, each below 0x80. */
            unsigned kind = status & 0xF0u;
            unsigned n_data = (kind == 0xC0u || kind == 0xD0u) ? 1 : 2;
            if (end - pos < n_data)
                return scan_fail(scan, SPRUNG_ERROR_PARSE,
                                 "track %u: channel message truncated at byte %zu", track,
                                 status_at);
            for (unsigned i = 0; i < n_data; i++) {
                if (data[pos + i] & 0x80u)
                    return scan_fail(scan, SPRUNG_ERROR_PARSE,
                                     "track %u: status byte 0x%02x where a data byte was "
                                     "expected at byte %zu",
                                     track, data[pos + i], pos + i);
            }
            if (kind != 0xC0u) { /* everything but program change */
                SprungStatus s = push_note(scan, tick, status, data[pos],
                                           n_data == 2 ? data[pos + 1] : 0);
                if (s != SPRUNG_OK)
                    return s;
            }
            pos += n_data;
            running = status;
        } else if (status == 0xFFu) {
            /* Meta event: type, length, payload. Cancels running status. */
            running = 0;
            if (pos >= end)
                return scan_fail(scan, SPRUNG_ERROR_PARSE,
                                 "track %u: meta event truncated at byte %zu", track, status_at);
            uint8_t type = data[pos++];
            uint32_t length;
            if (read_vlq(data, &pos, end, &length) != 0)
                return scan_fail(scan, SPRUNG_ERROR_PARSE,
                                 "track %u: bad meta event length at byte %zu", track,
                                 status_at);
            if (length > end - pos)
                return scan_fail(scan, SPRUNG_ERROR_PARSE,
                                 "track %u: meta event at byte %zu claims %u bytes but the "
                                 "track has %zu left",
                                 track, status_at, length, end - pos);
            const uint8_t *payload = data + pos;
            pos += length;
            if (type == 0x51u) {
                if (length != 3)
                    return scan_fail(scan, SPRUNG_ERROR_PARSE,
                                     "track %u: tempo event at byte %zu has %u data bytes "
                                     "(should be 3)",
                                     track, status_at, length);
                uint32_t usec = ((uint32_t)payload[0] << 16) | ((uint32_t)payload[1] << 8) |
                                payload[2];
                if (usec == 0)
                    return scan_fail(scan, SPRUNG_ERROR_PARSE,
                                     "track %u: tempo of 0 microseconds per quarter note at "
                                     "byte %zu",
                                     track, status_at);
                SprungStatus s = push_tempo(scan, tick, usec);
                if (s != SPRUNG_OK)
                    return s;
            } else if (type == 0x2Fu) {
                if (length != 0)
                    return scan_fail(scan, SPRUNG_ERROR_PARSE,
                                     "track %u: End of Track event at byte %zu has %u data "
                                     "bytes (should be 0)",
                                     track, status_at, length);
                break; /* bytes after End of Track are ignored */
            }
        } else if (status == 0xF0u || status == 0xF7u) {
            /* System exclusive (or escaped data): length, payload. */
            running = 0;
            uint32_t length;
            if (read_vlq(data, &pos, end, &length) != 0)
                return scan_fail(scan, SPRUNG_ERROR_PARSE,
                                 "track %u: bad system exclusive length at byte %zu", track,
                                 status_at);
            if (length > end - pos)
                return scan_fail(scan, SPRUNG_ERROR_PARSE,
                                 "track %u: system exclusive event at byte %zu claims %u bytes "
                                 "but the track has %zu left",
                                 track, status_at, length, end - pos);
            pos += length;
        } else {
            return scan_fail(scan, SPRUNG_ERROR_PARSE,
                             "track %u: status byte 0x%02x at byte %zu is not allowed in a "
                             "MIDI file",
                             track, status, status_at);
        }
    }
    /* A missing End of Track at the very end of the chunk is tolerated: the
     * track ends where its last event is. */
    if (tick > scan->end_tick)
        scan->end_tick = tick;
    return SPRUNG_OK;
}

/* Checks the header and every chunk, filling scan->notes/tempos. */
static SprungStatus scan_file(MidiScan *scan)
{
    const uint8_t *data = scan->data;
    size_t size = scan->size;

    if (size < 4 || memcmp(data, "MThd", 4) != 0)
        return scan_fail(scan, SPRUNG_ERROR_PARSE, "not a MIDI file (no MThd header)");
    if (size < 14)
        return scan_fail(scan, SPRUNG_ERROR_PARSE, "MIDI header truncated (%zu bytes)", size);
    uint32_t header_length = read_be32(data + 4);
    if (header_length < 6 || header_length > size - 8)
        return scan_fail(scan, SPRUNG_ERROR_PARSE,
                         "MIDI header length %u is invalid (should be 6, file has %zu bytes)",
                         header_length, size);
    unsigned format = read_be16(data + 8);
    unsigned n_tracks = read_be16(data + 10);
    unsigned division = read_be16(data + 12);
    if (format > 2)
        return scan_fail(scan, SPRUNG_ERROR_PARSE, "MIDI format %u is invalid (0, 1 or 2)",
                         format);
    if (format == 2)
        return scan_fail(scan, SPRUNG_ERROR_UNSUPPORTED,
                         "MIDI format 2 (independent sequences) is not supported");
    if (n_tracks == 0)
        return scan_fail(scan, SPRUNG_ERROR_PARSE, "MIDI header declares no tracks");
    if (division & 0x8000u)
        return scan_fail(scan, SPRUNG_ERROR_UNSUPPORTED,
                         "SMPTE time division is not supported (only ticks per quarter note)");
    if (division == 0)
        return scan_fail(scan, SPRUNG_ERROR_PARSE, "MIDI header gives 0 ticks per quarter note");
    scan->ppqn = division;

    size_t pos = 8 + (size_t)header_length;
    unsigned found = 0;
    while (found < n_tracks) {
        if (pos >= size)
            return scan_fail(scan, SPRUNG_ERROR_PARSE,
                             "MIDI header declares %u tracks but the file holds %u", n_tracks,
                             found);
        if (size - pos < 8)
            return scan_fail(scan, SPRUNG_ERROR_PARSE, "chunk header truncated at byte %zu",
                             pos);
        uint32_t length = read_be32(data + pos + 4);
        if (length > size - pos - 8)
            return scan_fail(scan, SPRUNG_ERROR_PARSE,
                             "chunk at byte %zu claims %u bytes but only %zu remain", pos,
                             length, size - pos - 8);
        if (memcmp(data + pos, "MTrk", 4) == 0) {
            found++;
            SprungStatus s = scan_track(scan, found, pos + 8, pos + 8 + length);
            if (s != SPRUNG_OK)
                return s;
        }
        /* Chunks of other types are skipped, as the specification asks. */
        pos += 8 + (size_t)length;
    }
    /* Anything after the declared tracks is ignored. */
    return SPRUNG_OK;
}

static int compare_notes(const void *a, const void *b)
{
    const MidiNote *x = a, *y = b;
    if (x->tick != y->tick)
        return x->tick < y->tick ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int compare_tempos(const void *a, const void *b)
{
    const MidiTempo *x = a, *y = b;
    if (x->tick != y->tick)
        return x->tick < y->tick ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

typedef struct ByteBuffer {
    uint8_t *data;
    size_t size;
} ByteBuffer;

static void put_byte(ByteBuffer *out, uint8_t byte)
{
    out->data[out->size++] = byte;
}

static void put_vlq(ByteBuffer *out, uint32_t value)
{
    uint8_t bytes[4];
    int n = 0;
    do {
        bytes[n++] = value & 0x7Fu;
        value >>= 7;
    } while (value && n < 4);
    while (n-- > 0)
        put_byte(out, bytes[n] | (n > 0 ? 0x80u : 0));
}

static void put_be32(ByteBuffer *out, uint32_t value)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        put_byte(out, (uint8_t)(value >> shift));
}

/* Format 1, two tracks: tempo changes, then notes; each ends at end_tick. */
static SprungStatus encode_canonical(MidiScan *scan, ByteBuffer *out)
{
    size_t capacity = 14 + 2 * (8 + 4 + 3) + scan->n_tempos * 10 + scan->n_notes * 7;
    if (capacity > INT_MAX)
        return scan_fail(scan, SPRUNG_ERROR_UNSUPPORTED, "too many events");
    out->data = malloc(capacity);
    out->size = 0;
    if (!out->data)
        return scan_fail(scan, SPRUNG_ERROR_NO_MEMORY, "out of memory");

    put_be32(out, 0x4D546864u); /* MThd */
    put_be32(out, 6);
    put_byte(out, 0), put_byte(out, 1);  /* format 1 */
    put_byte(out, 0), put_byte(out, 2);  /* two tracks */
    put_byte(out, (uint8_t)(scan->ppqn >> 8)), put_byte(out, (uint8_t)scan->ppqn);

    for (int track = 0; track < 2; track++) {
        put_be32(out, 0x4D54726Bu); /* MTrk */
        size_t length_at = out->size;
        put_be32(out, 0);
        uint32_t tick = 0;
        if (track == 0) {
            for (size_t i = 0; i < scan->n_tempos; i++) {
                const MidiTempo *t = &scan->tempos[i];
                put_vlq(out, t->tick - tick);
                tick = t->tick;
                put_byte(out, 0xFF), put_byte(out, 0x51), put_byte(out, 3);
                put_byte(out, (uint8_t)(t->microseconds_per_quarter >> 16));
                put_byte(out, (uint8_t)(t->microseconds_per_quarter >> 8));
                put_byte(out, (uint8_t)t->microseconds_per_quarter);
            }
        } else {
            for (size_t i = 0; i < scan->n_notes; i++) {
                const MidiNote *n = &scan->notes[i];
                put_vlq(out, n->tick - tick);
                tick = n->tick;
                put_byte(out, n->status), put_byte(out, n->data1);
                if ((n->status & 0xF0u) != 0xD0u)
                    put_byte(out, n->data2);
            }
        }
        put_vlq(out, scan->end_tick - tick);
        put_byte(out, 0xFF), put_byte(out, 0x2F), put_byte(out, 0);
        uint32_t length = (uint32_t)(out->size - length_at - 4);
        for (int k = 0; k < 4; k++)
            out->data[length_at + k] = (uint8_t)(length >> (24 - 8 * k));
    }
    return SPRUNG_OK;
}

/* What libsmf said through GLib logging while we held the handler. */
typedef struct SmfLogCapture {
    char message[256];
    int count;
} SmfLogCapture;

static void capture_smf_log(const gchar *domain, GLogLevelFlags level, const gchar *message,
                            gpointer user_data)
{
    (void)domain;
    SmfLogCapture *capture = user_data;
    /* Debug chatter is not a problem; warnings and criticals are. */
    if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO))
        return;
    if (capture->count++ == 0)
        snprintf(capture->message, sizeof capture->message, "%s", message ? message : "");
}

SprungStatus sprung_midi_load_memory(const void *data, size_t size, const char *source_name,
                                     SprungMidiSequence **out, SprungError *error)
{
    if (out)
        *out = NULL;
    const char *source = source_name ? source_name : "<memory>";
    if (!out || (!data && size > 0))
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, source, 0, 0, NULL,
                                "invalid arguments to sprung_midi_load_memory");
    if (size > MIDI_MAX_FILE_BYTES)
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, source, 0, 0, NULL,
                                "MIDI file too large (%zu bytes)", size);

    MidiScan scan = {.data = data, .size = size, .source = source, .error = error};
    ByteBuffer canonical = {0};
    smf_t *smf = NULL;
    SprungMidiSequence *sequence = NULL;
    SprungStatus status = scan_file(&scan);
    if (status != SPRUNG_OK)
        goto done;

    if (scan.n_notes)
        qsort(scan.notes, scan.n_notes, sizeof *scan.notes, compare_notes);
    if (scan.n_tempos)
        qsort(scan.tempos, scan.n_tempos, sizeof *scan.tempos, compare_tempos);
    status = encode_canonical(&scan, &canonical);
    if (status != SPRUNG_OK)
        goto done;

    SmfLogCapture capture = {.count = 0};
    guint handler = g_log_set_handler("libsmf", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL |
                                                    G_LOG_FLAG_RECURSION,
                                      capture_smf_log, &capture);
    smf = smf_load_from_memory(canonical.data, (int)canonical.size);
    g_log_remove_handler("libsmf", handler);
    if (!smf || capture.count > 0) {
        status = sprung_error_set(error, SPRUNG_ERROR_PARSE, source, 0, 0, NULL,
                                  "libsmf rejected the file: %s",
                                  capture.count ? capture.message : "unknown error");
        goto done;
    }

    smf_track_t *track = smf_get_track_by_number(smf, 2);
    if (!track) {
        status = sprung_error_set(error, SPRUNG_ERROR_PARSE, source, 0, 0, NULL,
                                  "libsmf lost the note track");
        goto done;
    }

    sequence = calloc(1, sizeof *sequence);
    if (!sequence || (scan.n_notes && !(sequence->events =
                                            calloc(scan.n_notes, sizeof *sequence->events)))) {
        status = sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, source, 0, 0, NULL,
                                  "out of memory");
        goto done;
    }
    for (int i = 1; i <= track->number_of_events; i++) {
        smf_event_t *event = smf_track_get_event_by_number(track, i);
        SprungEvent decoded;
        if (!event || event->midi_buffer_length < 0 ||
            !sprung_event_from_midi(event->midi_buffer, (size_t)event->midi_buffer_length, 0,
                                    &decoded))
            continue; /* the End of Track meta event: the rest is what we wrote */
        if (sequence->n_events >= scan.n_notes)
            break; /* cannot happen: the track holds exactly our events */
        sequence->events[sequence->n_events++] = (SprungMidiEvent){
            .time_s = event->time_seconds, .type = decoded.type, .channel = decoded.channel,
            .note = decoded.note, .velocity = decoded.velocity, .value = decoded.value};
    }
    sequence->duration_s = smf_get_length_seconds(smf);
    if (!(sequence->duration_s >= 0.0))
        sequence->duration_s = 0.0;
    *out = sequence;
    sequence = NULL;
    status = SPRUNG_OK;

done:
    if (smf)
        smf_delete(smf);
    free(canonical.data);
    free(scan.notes);
    free(scan.tempos);
    sprung_midi_free(sequence);
    return status;
}

SprungStatus sprung_midi_load_file(const char *path, SprungMidiSequence **out,
                                   SprungError *error)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, path, 0, 0, NULL,
                                "invalid arguments to sprung_midi_load_file");
    FILE *file = fopen(path, "rb");
    if (!file)
        return sprung_error_set(error, SPRUNG_ERROR_IO, path, 0, 0, NULL, "cannot open: %s",
                                strerror(errno));
    uint8_t *data = NULL;
    size_t size = 0, capacity = 0;
    SprungStatus status = SPRUNG_OK;
    for (;;) {
        if (size == capacity) {
            if (capacity >= MIDI_MAX_FILE_BYTES) {
                status = sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, path, 0, 0, NULL,
                                          "MIDI file too large (over %u bytes)",
                                          MIDI_MAX_FILE_BYTES);
                break;
            }
            capacity = capacity ? capacity * 2 : 65536;
            uint8_t *grown = realloc(data, capacity);
            if (!grown) {
                status = sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, path, 0, 0, NULL,
                                          "out of memory");
                break;
            }
            data = grown;
        }
        size_t n = fread(data + size, 1, capacity - size, file);
        size += n;
        if (n == 0) {
            if (ferror(file))
                status = sprung_error_set(error, SPRUNG_ERROR_IO, path, 0, 0, NULL,
                                          "read error: %s", strerror(errno));
            break;
        }
    }
    fclose(file);
    if (status == SPRUNG_OK)
        status = sprung_midi_load_memory(data, size, path, out, error);
    free(data);
    return status;
}

void sprung_midi_free(SprungMidiSequence *sequence)
{
    if (!sequence)
        return;
    free(sequence->events);
    free(sequence);
}
