/* sprung_event_from_midi: each channel message the engine reads, by hand
 * (status bits, channel, 14-bit bend LSB first, note-on of velocity 0);
 * the messages it must refuse; and, over every message of one to three
 * bytes, that what it accepts is a well-formed channel message and comes
 * out as an event the runner and the engine take (every field in range). */
#include "engine_test_util.h"

static void expect_event(const uint8_t *bytes, size_t size, SprungEvent want, const char *what)
{
    SprungEvent got;
    memset(&got, 0xEE, sizeof got);
    int ok = sprung_event_from_midi(bytes, size, 17, &got);
    want.frame = 17;
    CHECK(ok && got.frame == want.frame && got.type == want.type &&
              got.channel == want.channel && got.note == want.note &&
              got.velocity == want.velocity && got.value == want.value,
          "%s: got ok %d type %u channel %u note %u velocity %u value %u", what, ok, got.type,
          got.channel, got.note, got.velocity, got.value);
}

static void expect_refused(const uint8_t *bytes, size_t size, const char *what)
{
    SprungEvent untouched;
    memset(&untouched, 0xEE, sizeof untouched);
    SprungEvent copy = untouched;
    CHECK(!sprung_event_from_midi(bytes, size, 0, &untouched), "%s: accepted", what);
    CHECK(!memcmp(&copy, &untouched, sizeof copy), "%s: the event was written", what);
}

static void check_by_hand(void)
{
    expect_event((const uint8_t[]){0x93, 60, 100}, 3,
                 (SprungEvent){.type = SPRUNG_EVENT_NOTE_ON, .channel = 3, .note = 60,
                               .velocity = 100},
                 "note on");
    expect_event((const uint8_t[]){0x9F, 61, 0}, 3,
                 (SprungEvent){.type = SPRUNG_EVENT_NOTE_OFF, .channel = 15, .note = 61},
                 "note on at velocity 0");
    expect_event((const uint8_t[]){0x80, 62, 33}, 3,
                 (SprungEvent){.type = SPRUNG_EVENT_NOTE_OFF, .note = 62, .velocity = 33},
                 "note off with its release velocity");
    expect_event((const uint8_t[]){0xA1, 64, 90}, 3,
                 (SprungEvent){.type = SPRUNG_EVENT_POLY_PRESSURE, .channel = 1, .note = 64,
                               .value = 90},
                 "poly pressure");
    expect_event((const uint8_t[]){0xB2, 74, 127}, 3,
                 (SprungEvent){.type = SPRUNG_EVENT_CONTROL_CHANGE, .channel = 2, .note = 74,
                               .value = 127},
                 "control change");
    expect_event((const uint8_t[]){0xD4, 55}, 2,
                 (SprungEvent){.type = SPRUNG_EVENT_CHANNEL_PRESSURE, .channel = 4, .value = 55},
                 "channel pressure");
    expect_event((const uint8_t[]){0xE5, 0x00, 0x40}, 3,
                 (SprungEvent){.type = SPRUNG_EVENT_PITCH_BEND, .channel = 5, .value = 8192},
                 "bend at the centre");
    expect_event((const uint8_t[]){0xE0, 0x01, 0x00}, 3,
                 (SprungEvent){.type = SPRUNG_EVENT_PITCH_BEND, .value = 1},
                 "bend: the first data byte is the low 7 bits");
    expect_event((const uint8_t[]){0xE0, 0x7F, 0x7F}, 3,
                 (SprungEvent){.type = SPRUNG_EVENT_PITCH_BEND, .value = 16383}, "full bend");

    expect_refused((const uint8_t[]){0xC0, 5}, 2, "program change");
    expect_refused((const uint8_t[]){0xF0, 0x7E, 0xF7}, 3, "system exclusive");
    expect_refused((const uint8_t[]){0xF8}, 1, "timing clock");
    expect_refused((const uint8_t[]){0xFF}, 1, "system reset");
    expect_refused((const uint8_t[]){60, 100}, 2, "running status (a data byte first)");
    expect_refused((const uint8_t[]){0x90, 60}, 2, "a note on one byte short");
    expect_refused((const uint8_t[]){0x90, 60, 100}, 1, "a status byte alone");
    expect_refused((const uint8_t[]){0xD0, 60, 100}, 3, "channel pressure with a third byte");
    expect_refused((const uint8_t[]){0x90, 0x80, 100}, 3, "a note above 127");
    expect_refused((const uint8_t[]){0xB0, 7, 0xFF}, 3, "a value above 127");
    expect_refused((const uint8_t[]){0x90, 60, 100}, 0, "no bytes");
    expect_refused(NULL, 3, "NULL bytes");
    CHECK(!sprung_event_from_midi((const uint8_t[]){0x90, 60, 100}, 3, 0, NULL),
          "NULL event: accepted");
}

/* The same checks as the runner's and the engine's block validation. */
static int event_in_range(const SprungEvent *e)
{
    return e->type >= SPRUNG_EVENT_NOTE_ON && e->type <= SPRUNG_EVENT_POLY_PRESSURE &&
           e->channel <= 15 && e->note <= 127 && e->velocity <= 127 &&
           e->value <= (e->type == SPRUNG_EVENT_PITCH_BEND ? 16383u : 127u);
}

static void check_every_message(void)
{
    unsigned long accepted = 0, wrong = 0;
    uint8_t bytes[3];
    for (size_t size = 1; size <= 3; size++) {
        const unsigned long count = 1ul << (8 * size);
        for (unsigned long m = 0; m < count; m++) {
            for (size_t i = 0; i < size; i++)
                bytes[i] = (uint8_t)(m >> (8 * i));
            SprungEvent e;
            if (!sprung_event_from_midi(bytes, size, 0, &e))
                continue;
            accepted++;
            const uint8_t kind = bytes[0] & 0xF0u;
            const size_t length = kind == 0xD0u ? 2 : 3;
            int well_formed = kind >= 0x80u && kind <= 0xE0u && kind != 0xC0u &&
                              size == length && bytes[1] <= 127 &&
                              (size == 2 || bytes[2] <= 127);
            if ((!well_formed || !event_in_range(&e) || e.channel != (bytes[0] & 0x0Fu)) &&
                wrong++ < 5)
                fprintf(stderr, "FAIL: %zu bytes %02x %02x %02x: accepted as type %u\n", size,
                        bytes[0], bytes[1], size > 2 ? bytes[2] : 0, e.type);
        }
    }
    /* 16 channels of 128 x 128 for the five 3-byte kinds, 128 for pressure. */
    const unsigned long expected = 16ul * (5ul * 128 * 128 + 128);
    CHECK(wrong == 0, "%lu accepted messages are not well formed or out of range", wrong);
    CHECK(accepted == expected, "accepted %lu messages of 1 to 3 bytes, expected %lu", accepted,
          expected);
    printf("every message of 1 to 3 bytes (16,843,008): %lu accepted, each a well-formed "
           "channel message giving an event in range\n", accepted);
}

int main(void)
{
    check_by_hand();
    check_every_message();
    if (test_failures) {
        fprintf(stderr, "%d failure(s)\n", test_failures);
        return 1;
    }
    printf("OK\n");
    return 0;
}
