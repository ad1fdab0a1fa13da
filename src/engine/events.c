/* MIDI 1.0 channel messages as SprungEvents (sprung/events.h). */
#include "sprung/events.h"

SPRUNG_REALTIME int sprung_event_from_midi(const uint8_t *bytes, size_t size, uint32_t frame,
                                           SprungEvent *event)
{
    if (!bytes || !event || size < 2)
        return 0;
    const uint8_t kind = bytes[0] & 0xF0u;
    const size_t length = kind == 0xC0u || kind == 0xD0u ? 2 : 3;
    if (kind < 0x80u || kind == 0xF0u || kind == 0xC0u || size != length)
        return 0; /* a data byte first, a system message, a program change */
    for (size_t i = 1; i < length; i++)
        if (bytes[i] > 127)
            return 0;
    const uint8_t data1 = bytes[1], data2 = length == 3 ? bytes[2] : 0;
    SprungEvent e = {.frame = frame, .channel = bytes[0] & 0x0Fu};
    switch (kind) {
    case 0x80u:
    case 0x90u:
        e.type = kind == 0x90u && data2 > 0 ? SPRUNG_EVENT_NOTE_ON : SPRUNG_EVENT_NOTE_OFF;
        e.note = data1;
        e.velocity = data2;
        break;
    case 0xA0u:
        e.type = SPRUNG_EVENT_POLY_PRESSURE;
        e.note = data1;
        e.value = data2;
        break;
    case 0xB0u:
        e.type = SPRUNG_EVENT_CONTROL_CHANGE;
        e.note = data1;
        e.value = data2;
        break;
    case 0xD0u:
        e.type = SPRUNG_EVENT_CHANNEL_PRESSURE;
        e.value = data1;
        break;
    default: /* 0xE0u: 14 bits, LSB first; 8192 is the centre */
        e.type = SPRUNG_EVENT_PITCH_BEND;
        e.value = (uint16_t)((unsigned)data2 << 7 | data1);
        break;
    }
    *event = e;
    return 1;
}
