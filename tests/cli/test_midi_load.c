/* Unit test of the MIDI loader (src/io/midi.c): event times through a tempo
 * change (format 0 and 1), note-on velocity 0 as note-off, running status,
 * control change, pitch bend, channel and polyphonic pressure values,
 * long meta and sysex events, the file's duration; and malformed files
 * (truncated, bad lengths, garbage, every truncation and many single-byte
 * corruptions of a good file) giving errors rather than crashes; and that
 * mpe-pad's bends and pressure change its render. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/midi.h"
#include "sprung/sprung.h"

static int failures = 0;

static void check(int ok, const char *format, ...)
{
    if (ok)
        return;
    va_list args;
    va_start(args, format);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
    failures++;
}

/* A little byte builder, so the test files read like their description. */
typedef struct Bytes {
    unsigned char data[4096];
    size_t size;
} Bytes;

static void put(Bytes *b, const unsigned char *p, size_t n)
{
    memcpy(b->data + b->size, p, n);
    b->size += n;
}
#define PUT(b, ...) put((b), (const unsigned char[]){__VA_ARGS__}, sizeof((const unsigned char[]){__VA_ARGS__}))

static void put_be32(Bytes *b, unsigned v)
{
    PUT(b, (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
        (unsigned char)v);
}

static void header(Bytes *b, unsigned format, unsigned tracks, unsigned ppqn)
{
    PUT(b, 'M', 'T', 'h', 'd', 0, 0, 0, 6, 0, (unsigned char)format, 0, (unsigned char)tracks,
        (unsigned char)(ppqn >> 8), (unsigned char)ppqn);
}

/* Appends an MTrk chunk whose body is `body`. */
static void track(Bytes *b, const Bytes *body)
{
    PUT(b, 'M', 'T', 'r', 'k');
    put_be32(b, (unsigned)body->size);
    put(b, body->data, body->size);
}

static int near(double a, double b)
{
    return fabs(a - b) < 1e-9;
}

/* Format 1: conductor track with a tempo change at tick 960 (1.0 s at 120
 * bpm) to 240 bpm; a note track with running status, a 200-byte text event,
 * a sysex, a velocity-0 note-on. ppqn 480. */
static void build_format1(Bytes *file)
{
    Bytes conductor = {0}, notes = {0};
    PUT(&conductor, 0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20); /* 500000 us/qn */
    PUT(&conductor, 0x87, 0x40, 0xFF, 0x51, 0x03, 0x03, 0xD0, 0x90); /* +960: 250000 */
    PUT(&conductor, 0x87, 0x40, 0xFF, 0x2F, 0x00);                   /* EOT at 1920 */

    PUT(&notes, 0x00, 0xFF, 0x01, 0x81, 0x48); /* text, length 200 (2-byte VLQ) */
    for (int i = 0; i < 200; i++)
        PUT(&notes, 'a' + i % 26);
    PUT(&notes, 0x00, 0xF0, 0x03, 0x7E, 0x7F, 0xF7); /* sysex */
    PUT(&notes, 0x00, 0x90, 60, 100);                /* 0.0 s on 60 */
    PUT(&notes, 0x83, 0x60, 64, 0);                  /* +480, running status, vel 0: off 64 at 0.5 s */
    PUT(&notes, 0x83, 0x60, 0x81, 60, 64);           /* +480: off 60 at 1.0 s, ch 1 */
    PUT(&notes, 0x83, 0x60, 0x92, 67, 80);           /* +480 at 240 bpm: on 67 at 1.25 s, ch 2 */
    PUT(&notes, 0x83, 0x60, 67, 0);                  /* +480, running: off 67 at 1.5 s */
    PUT(&notes, 0x83, 0x60, 0xFF, 0x2F, 0x00);       /* EOT at 2400: 1.75 s */

    header(file, 1, 2, 480);
    track(file, &conductor);
    track(file, &notes);
}

static void test_format1(void)
{
    Bytes file = {0};
    build_format1(&file);
    SprungMidiSequence *seq = NULL;
    SprungError error = {0};
    SprungStatus s = sprung_midi_load_memory(file.data, file.size, "f1.mid", &seq, &error);
    check(s == SPRUNG_OK, "format 1 file loads (%s)", error.message);
    if (s != SPRUNG_OK)
        return;
    struct { double t; int type, channel, note, velocity; } want[] = {
        {0.0, SPRUNG_EVENT_NOTE_ON, 0, 60, 100},  {0.5, SPRUNG_EVENT_NOTE_OFF, 0, 64, 0},
        {1.0, SPRUNG_EVENT_NOTE_OFF, 1, 60, 64},  {1.25, SPRUNG_EVENT_NOTE_ON, 2, 67, 80},
        {1.5, SPRUNG_EVENT_NOTE_OFF, 2, 67, 0},
    };
    size_t n = sizeof want / sizeof want[0];
    check(seq->n_events == n, "format 1: %zu events (expected %zu)", seq->n_events, n);
    for (size_t i = 0; i < n && i < seq->n_events; i++) {
        const SprungMidiEvent *e = &seq->events[i];
        check(near(e->time_s, want[i].t), "format 1 event %zu at %.9f s (expected %.9f)", i,
              e->time_s, want[i].t);
        check(e->type == want[i].type && e->channel == want[i].channel &&
                  e->note == want[i].note && e->velocity == want[i].velocity,
              "format 1 event %zu: type %d ch %d note %d vel %d", i, e->type, e->channel,
              e->note, e->velocity);
    }
    check(near(seq->duration_s, 1.75), "format 1 duration %.9f s (expected 1.75)",
          seq->duration_s);
    sprung_midi_free(seq);
}

/* Format 0 with the tempo change in the same track as the notes, and two
 * notes at the same time (order kept). ppqn 96. */
static void test_format0(void)
{
    Bytes body = {0}, file = {0};
    PUT(&body, 0x00, 0x90, 60, 90, 0x00, 0x90, 64, 91);       /* 0 s: two notes */
    PUT(&body, 0x60, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40);     /* +96 (0.5 s): 60 bpm */
    PUT(&body, 0x00, 0x80, 60, 0);                            /* 0.5 s */
    PUT(&body, 0x60, 0x80, 64, 0);                            /* +96 at 60 bpm: 1.5 s */
    PUT(&body, 0x30, 0xFF, 0x2F, 0x00);                       /* +48: 2.0 s */
    header(&file, 0, 1, 96);
    track(&file, &body);
    SprungMidiSequence *seq = NULL;
    SprungError error = {0};
    SprungStatus s = sprung_midi_load_memory(file.data, file.size, "f0.mid", &seq, &error);
    check(s == SPRUNG_OK, "format 0 file loads (%s)", error.message);
    if (s != SPRUNG_OK)
        return;
    check(seq->n_events == 4, "format 0: %zu events (expected 4)", seq->n_events);
    if (seq->n_events == 4) {
        check(seq->events[0].note == 60 && seq->events[1].note == 64,
              "format 0: simultaneous notes keep file order");
        check(near(seq->events[1].time_s, 0.0), "format 0: second note at 0 s");
        check(near(seq->events[2].time_s, 0.5), "format 0: off at %.9f (0.5)",
              seq->events[2].time_s);
        check(near(seq->events[3].time_s, 1.5), "format 0: off after tempo change at %.9f (1.5)",
              seq->events[3].time_s);
    }
    check(near(seq->duration_s, 2.0), "format 0 duration %.9f (2.0)", seq->duration_s);
    sprung_midi_free(seq);
}

/* Controllers: control change, pitch bend (14 bits, LSB first), channel and
 * polyphonic pressure pass through with their values and times, across a
 * tempo change and with running status; program changes are dropped. ppqn
 * 480, 120 bpm until tick 960 (1.0 s), then 240 bpm. */
static void test_controllers(void)
{
    Bytes conductor = {0}, body = {0}, file = {0};
    PUT(&conductor, 0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20);       /* 500000 us/qn */
    PUT(&conductor, 0x87, 0x40, 0xFF, 0x51, 0x03, 0x03, 0xD0, 0x90); /* +960: 250000 */
    PUT(&conductor, 0x00, 0xFF, 0x2F, 0x00);

    PUT(&body, 0x00, 0xC3, 5);              /* program change: dropped */
    PUT(&body, 0x00, 0x93, 60, 100);        /* 0 s: on 60 ch 3 */
    PUT(&body, 0x83, 0x60, 0xB3, 74, 10);   /* 0.5 s: CC74 = 10 */
    PUT(&body, 0x00, 1, 127);               /* 0.5 s: running status CC1 = 127 */
    PUT(&body, 0x83, 0x60, 0xE3, 0x00, 0x40); /* 1.0 s: bend 8192 (centre) */
    PUT(&body, 0x83, 0x60, 0xE3, 0x7F, 0x7F); /* 1.25 s: bend 16383 */
    PUT(&body, 0x00, 0x00, 0x00);           /* 1.25 s: running status, bend 0 */
    PUT(&body, 0x00, 0xE3, 0x05, 0x21);     /* 1.25 s: bend 0x21<<7|5 = 4229 */
    PUT(&body, 0x83, 0x60, 0xD3, 77);       /* 1.5 s: channel pressure 77 */
    PUT(&body, 0x00, 99);                   /* 1.5 s: running status, 99 */
    PUT(&body, 0x83, 0x60, 0xA3, 60, 55);   /* 1.75 s: poly pressure note 60 = 55 */
    PUT(&body, 0x83, 0x60, 0x83, 60, 0);    /* 2.0 s: off 60 */
    PUT(&body, 0x00, 0xFF, 0x2F, 0x00);
    header(&file, 1, 2, 480);
    track(&file, &conductor);
    track(&file, &body);

    SprungMidiSequence *seq = NULL;
    SprungError error = {0};
    SprungStatus s = sprung_midi_load_memory(file.data, file.size, "cc.mid", &seq, &error);
    check(s == SPRUNG_OK, "controller file loads (%s)", error.message);
    if (s != SPRUNG_OK)
        return;
    struct { double t; int type, note, velocity, value; } want[] = {
        {0.0, SPRUNG_EVENT_NOTE_ON, 60, 100, 0},
        {0.5, SPRUNG_EVENT_CONTROL_CHANGE, 74, 0, 10},
        {0.5, SPRUNG_EVENT_CONTROL_CHANGE, 1, 0, 127},
        {1.0, SPRUNG_EVENT_PITCH_BEND, 0, 0, 8192},
        {1.25, SPRUNG_EVENT_PITCH_BEND, 0, 0, 16383},
        {1.25, SPRUNG_EVENT_PITCH_BEND, 0, 0, 0},
        {1.25, SPRUNG_EVENT_PITCH_BEND, 0, 0, 4229},
        {1.5, SPRUNG_EVENT_CHANNEL_PRESSURE, 0, 0, 77},
        {1.5, SPRUNG_EVENT_CHANNEL_PRESSURE, 0, 0, 99},
        {1.75, SPRUNG_EVENT_POLY_PRESSURE, 60, 0, 55},
        {2.0, SPRUNG_EVENT_NOTE_OFF, 60, 0, 0},
    };
    size_t n = sizeof want / sizeof want[0];
    check(seq->n_events == n, "controllers: %zu events (expected %zu)", seq->n_events, n);
    for (size_t i = 0; i < n && i < seq->n_events; i++) {
        const SprungMidiEvent *e = &seq->events[i];
        check(near(e->time_s, want[i].t), "controller event %zu at %.9f s (expected %.9f)", i,
              e->time_s, want[i].t);
        check(e->type == want[i].type && e->channel == 3 && e->note == want[i].note &&
                  e->velocity == want[i].velocity && e->value == want[i].value,
              "controller event %zu: type %d ch %d note %d vel %d value %d (expected type %d "
              "note %d vel %d value %d)",
              i, e->type, e->channel, e->note, e->velocity, e->value, want[i].type,
              want[i].note, want[i].velocity, want[i].value);
    }
    check(near(seq->duration_s, 2.0), "controllers: duration %.9f s (expected 2.0)",
          seq->duration_s);
    sprung_midi_free(seq);
}

/* Expects an error whose message names the source and contains `needle`. */
static void expect_error(const char *what, const void *data, size_t size, const char *needle)
{
    SprungMidiSequence *seq = (SprungMidiSequence *)(void *)&seq; /* must be reset */
    SprungError error = {0};
    SprungStatus s = sprung_midi_load_memory(data, size, "bad.mid", &seq, &error);
    check(s != SPRUNG_OK, "%s: loads but should fail", what);
    check(seq == NULL, "%s: *out not NULL after failure", what);
    check(strncmp(error.message, "bad.mid: ", 9) == 0, "%s: message does not name the file: %s",
          what, error.message);
    check(strstr(error.message, needle) != NULL, "%s: message '%s' lacks '%s'", what,
          error.message, needle);
    if (s == SPRUNG_OK)
        sprung_midi_free(seq);
}

static void test_malformed(void)
{
    expect_error("empty", "", 0, "not a MIDI file");
    expect_error("garbage", "hello, this is not MIDI at all", 30, "not a MIDI file");
    expect_error("truncated header", "MThd\0\0\0\6\0\1", 10, "header truncated");
    expect_error("header length", "MThd\0\0\0\2\0\0\0\1\0\x60", 14, "header length");

    Bytes good = {0}, body = {0};
    PUT(&body, 0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00);

    Bytes b = {0};
    header(&b, 0, 1, 96);
    PUT(&b, 'M', 'T', 'r', 'k');
    put_be32(&b, 1000); /* claims more than the file holds */
    put(&b, body.data, body.size);
    expect_error("chunk length", b.data, b.size, "claims 1000 bytes");

    b.size = 0;
    header(&b, 1, 2, 96);
    track(&b, &body);
    expect_error("missing track", b.data, b.size, "declares 2 tracks but the file holds 1");

    b.size = 0;
    header(&b, 0, 1, 0xE728 >> 0); /* SMPTE: top bit set */
    b.data[12] = 0xE7;
    b.data[13] = 0x28;
    track(&b, &body);
    expect_error("SMPTE", b.data, b.size, "SMPTE");

    b.size = 0;
    header(&b, 2, 1, 96);
    track(&b, &body);
    expect_error("format 2", b.data, b.size, "format 2");

    Bytes t = {0};
    PUT(&t, 0x00, 60, 100, 0x00, 0xFF, 0x2F, 0x00);
    b.size = 0;
    header(&b, 0, 1, 96);
    track(&b, &t);
    expect_error("no status", b.data, b.size, "without a status byte");

    t.size = 0;
    PUT(&t, 0x00, 0xFF, 0x51, 0x02, 0x07, 0xA1, 0x00, 0xFF, 0x2F, 0x00);
    b.size = 0;
    header(&b, 0, 1, 96);
    track(&b, &t);
    expect_error("short tempo", b.data, b.size, "tempo event");

    t.size = 0;
    PUT(&t, 0x81, 0x81, 0x81, 0x81, 0x01, 0xFF, 0x2F, 0x00);
    b.size = 0;
    header(&b, 0, 1, 96);
    track(&b, &t);
    expect_error("long delta", b.data, b.size, "longer than 4 bytes");

    t.size = 0;
    PUT(&t, 0x00, 0xFF, 0x01, 0x20, 'x');
    b.size = 0;
    header(&b, 0, 1, 96);
    track(&b, &t);
    expect_error("meta overrun", b.data, b.size, "meta event");

    t.size = 0;
    PUT(&t, 0x00, 0x90, 60, 0x90, 0x00, 0xFF, 0x2F, 0x00);
    b.size = 0;
    header(&b, 0, 1, 96);
    track(&b, &t);
    expect_error("status in data", b.data, b.size, "where a data byte was expected");

    t.size = 0;
    PUT(&t, 0x00, 0xF8, 0x00, 0xFF, 0x2F, 0x00);
    b.size = 0;
    header(&b, 0, 1, 96);
    track(&b, &t);
    expect_error("realtime byte", b.data, b.size, "not allowed");

    /* An unknown chunk before the track is skipped, as the spec says. */
    b.size = 0;
    header(&b, 0, 1, 96);
    PUT(&b, 'X', 'F', 'I', 'H', 0, 0, 0, 2, 1, 2);
    track(&b, &body);
    SprungMidiSequence *seq = NULL;
    SprungError error = {0};
    check(sprung_midi_load_memory(b.data, b.size, "alien.mid", &seq, &error) == SPRUNG_OK &&
              seq->n_events == 2,
          "unknown chunk is skipped (%s)", error.message);
    sprung_midi_free(seq);

    (void)good;
}

/* Every truncation and many single-byte changes of a good file: each
 * either loads with sane events or fails with a message; none crashes. */
static void test_mutations(void)
{
    Bytes file = {0};
    build_format1(&file);
    static const unsigned char values[] = {0x00, 0x01, 0x2F, 0x51, 0x7F, 0x80, 0x90, 0xF0,
                                           0xF7, 0xFF};
    int loaded = 0, rejected = 0;
    for (size_t cut = 0; cut <= file.size; cut++) {
        SprungMidiSequence *seq = NULL;
        SprungError error = {0};
        if (sprung_midi_load_memory(file.data, cut, "cut.mid", &seq, &error) == SPRUNG_OK) {
            loaded++;
            sprung_midi_free(seq);
        } else {
            rejected++;
            check(error.message[0] != '\0', "truncation at %zu: empty message", cut);
        }
    }
    check(rejected > 0, "truncations were all accepted");
    for (size_t pos = 0; pos < file.size; pos++) {
        for (size_t v = 0; v < sizeof values; v++) {
            Bytes m = file;
            m.data[pos] = values[v];
            SprungMidiSequence *seq = NULL;
            SprungError error = {0};
            if (sprung_midi_load_memory(m.data, m.size, "mut.mid", &seq, &error) == SPRUNG_OK) {
                loaded++;
                for (size_t i = 0; i < seq->n_events; i++) {
                    const SprungMidiEvent *e = &seq->events[i];
                    if (!(isfinite(e->time_s) && e->time_s >= 0.0 &&
                          e->time_s <= seq->duration_s + 1e-9) ||
                        (i > 0 && e->time_s < seq->events[i - 1].time_s) || e->note > 127 ||
                        e->velocity > 127 || e->channel > 15 ||
                        e->value > (e->type == SPRUNG_EVENT_PITCH_BEND ? 16383 : 127)) {
                        check(0, "mutation %zu=0x%02x: bad event %zu", pos, values[v], i);
                        break;
                    }
                }
                sprung_midi_free(seq);
            } else {
                rejected++;
                check(error.message[0] != '\0', "mutation at %zu: empty message", pos);
            }
        }
    }
    printf("mutations: %d loaded, %d rejected\n", loaded, rejected);
}

static void test_file(void)
{
    SprungMidiSequence *seq = NULL;
    SprungError error = {0};
    SprungStatus s = sprung_midi_load_file("/nonexistent/phrase.mid", &seq, &error);
    check(s == SPRUNG_ERROR_IO, "missing file gives SPRUNG_ERROR_IO (%d)", s);
    check(strstr(error.message, "/nonexistent/phrase.mid") != NULL,
          "missing file: message names it: %s", error.message);
}

/* The controllers reach the engine: presets/mpe-pad.json played with
 * presets/midi/mpe-pad.mid (MPE bends, pressure, CC74) sounds different from
 * the same notes with every controller stripped, while two renders of the
 * full file agree exactly (so the difference is not noise). The presets are
 * found from this file's path, or from the repository root given as the
 * first argument. */
#define RENDER_RATE 48000
#define RENDER_BLOCK 256

static int render_sequence(const SprungModel *model, const SprungMidiSequence *seq,
                           int keep_controllers, float *out, size_t n_frames)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = RENDER_RATE;
    config.max_block_frames = RENDER_BLOCK;
    config.backend = "cpu";
    SprungEngine *engine = NULL;
    SprungError error = {0};
    if (sprung_engine_new(&config, model, &engine, &error) != SPRUNG_OK) {
        check(0, "mpe-pad engine: %s", error.message);
        return 0;
    }
    SprungEvent events[RENDER_BLOCK];
    float left[RENDER_BLOCK], right[RENDER_BLOCK];
    size_t next = 0;
    int ok = 1;
    for (size_t start = 0; start < n_frames && ok; start += RENDER_BLOCK) {
        uint32_t n = (uint32_t)(n_frames - start < RENDER_BLOCK ? n_frames - start
                                                                 : RENDER_BLOCK);
        uint32_t count = 0;
        while (next < seq->n_events && count < RENDER_BLOCK) {
            const SprungMidiEvent *e = &seq->events[next];
            size_t frame = (size_t)llround(e->time_s * RENDER_RATE);
            if (frame >= start + n)
                break;
            next++;
            if (!keep_controllers && e->type != SPRUNG_EVENT_NOTE_ON &&
                e->type != SPRUNG_EVENT_NOTE_OFF)
                continue;
            events[count++] = (SprungEvent){.frame = (uint32_t)(frame - start),
                                            .type = e->type, .channel = e->channel,
                                            .note = e->note, .velocity = e->velocity,
                                            .value = e->value};
        }
        float *outputs[2] = {left, right};
        SprungBlock block = {.n_frames = n, .events = events, .n_events = count,
                             .outputs = outputs, .n_outputs = 2};
        if (sprung_engine_process(engine, &block) != SPRUNG_OK) {
            check(0, "mpe-pad: process() rejected a block at frame %zu", start);
            ok = 0;
        }
        for (uint32_t i = 0; i < n; i++)
            out[start + i] = left[i] + right[i];
    }
    sprung_engine_free(engine);
    return ok;
}

static void test_render_controllers(const char *root)
{
    char preset[4096 + 64], midi[4096 + 64];
    snprintf(preset, sizeof preset, "%s/presets/mpe-pad.json", root);
    snprintf(midi, sizeof midi, "%s/presets/midi/mpe-pad.mid", root);
    SprungError error = {0};
    SprungModel *model = NULL;
    SprungMidiSequence *seq = NULL;
    if (sprung_model_load_file(preset, &model, &error) != SPRUNG_OK) {
        check(0, "%s", error.message);
        return;
    }
    if (sprung_midi_load_file(midi, &seq, &error) != SPRUNG_OK) {
        check(0, "%s", error.message);
        sprung_model_free(model);
        return;
    }
    size_t bends = 0, controllers = 0;
    for (size_t i = 0; i < seq->n_events; i++) {
        bends += seq->events[i].type == SPRUNG_EVENT_PITCH_BEND &&
                 seq->events[i].value != 8192;
        controllers += seq->events[i].type != SPRUNG_EVENT_NOTE_ON &&
                       seq->events[i].type != SPRUNG_EVENT_NOTE_OFF;
    }
    check(bends > 0, "mpe-pad.mid: no off-centre pitch bend loaded");
    /* The first 4.5 s hold pressure, CC74 and the first bends (3.4..3.9 s):
     * enough, and it keeps the test to a couple of seconds. */
    double seconds = seq->duration_s + 0.5 < 4.5 ? seq->duration_s + 0.5 : 4.5;
    size_t n_frames = (size_t)llround(seconds * RENDER_RATE);
    float *full = calloc(n_frames, sizeof *full), *again = calloc(n_frames, sizeof *again);
    float *plain = calloc(n_frames, sizeof *plain);
    if (full && again && plain && render_sequence(model, seq, 1, full, n_frames) &&
        render_sequence(model, seq, 1, again, n_frames) &&
        render_sequence(model, seq, 0, plain, n_frames)) {
        double diff = 0.0, energy = 0.0, repeat = 0.0;
        for (size_t i = 0; i < n_frames; i++) {
            diff += ((double)full[i] - plain[i]) * ((double)full[i] - plain[i]);
            energy += (double)plain[i] * plain[i];
            repeat += fabs((double)full[i] - again[i]);
        }
        printf("mpe-pad: %zu controller events (%zu off-centre bends); difference with and "
               "without them %.3g of the plain render's energy\n",
               controllers, bends, energy > 0.0 ? diff / energy : 0.0);
        check(energy > 0.0, "mpe-pad: the notes alone are silent");
        check(repeat == 0.0, "mpe-pad: two renders of the same events differ");
        check(diff > 0.01 * energy,
              "mpe-pad: controllers change the render by only %.3g of its energy (bends do "
              "not reach the engine?)",
              energy > 0.0 ? diff / energy : 0.0);
    }
    free(full);
    free(again);
    free(plain);
    sprung_midi_free(seq);
    sprung_model_free(model);
}

int main(int argc, char **argv)
{
    test_format1();
    test_format0();
    test_controllers();
    test_malformed();
    test_mutations();
    test_file();
    /* The repository root: argv[1], else this file's path less tests/cli/. */
    char root[4096];
    if (argc > 1) {
        snprintf(root, sizeof root, "%s", argv[1]);
    } else {
        snprintf(root, sizeof root, "%s", __FILE__);
        char *cut = strstr(root, "tests/cli/test_midi_load.c");
        if (cut)
            *cut = '\0';
        if (!root[0] || !cut)
            snprintf(root, sizeof root, ".");
    }
    test_render_controllers(root);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("midi loader: all checks passed\n");
    return 0;
}
