/* The keys and the damper pedal (runner_keys.h). */
#include "runner/runner_keys.h"

#include <string.h>

enum { CC_DAMPER = 64, CC_RESET_CONTROLLERS = 121, CC_ALL_NOTES_OFF = 123 };

static SPRUNG_REALTIME int key_is(const uint64_t set[2], uint8_t note)
{
    return (int)(set[note >> 6] >> (note & 63u) & 1u);
}

static SPRUNG_REALTIME void key_set(uint64_t set[2], uint8_t note, int on)
{
    const uint64_t bit = (uint64_t)1 << (note & 63u);
    if (on)
        set[note >> 6] |= bit;
    else
        set[note >> 6] &= ~bit;
}

static SPRUNG_REALTIME uint16_t channels_reached(const SprungEngine *engine, uint8_t channel)
{
    return engine ? sprung_engine_channels_reached(engine, channel) : (uint16_t)(1u << channel);
}

/* Whether a pedal that is down governs `channel`. */
static SPRUNG_REALTIME int pedal_holds(const RunnerKeys *keys, const SprungEngine *engine,
                                       uint8_t channel)
{
    for (uint8_t p = 0; p < 16; p++)
        if ((keys->pedal_down >> p & 1u) && (channels_reached(engine, p) >> channel & 1u))
            return 1;
    return 0;
}

static SPRUNG_REALTIME uint32_t release(uint32_t frame, uint8_t channel, uint8_t note,
                                        SprungEvent *out, uint32_t n)
{
    out[n] = (SprungEvent){.frame = frame, .type = SPRUNG_EVENT_NOTE_OFF, .channel = channel,
                           .note = note};
    return n + 1;
}

/* Releases the keys of `set` on `channel` (cleared), held by a pedal or played now. */
static SPRUNG_REALTIME uint32_t release_all(RunnerKeys *keys, const SprungEngine *engine,
                                            uint64_t set[2], uint8_t channel, uint32_t frame,
                                            SprungEvent *out, uint32_t n)
{
    const int held = pedal_holds(keys, engine, channel);
    for (uint8_t note = 0; note < 128; note++) {
        if (!key_is(set, note))
            continue;
        key_set(set, note, 0);
        if (held)
            key_set(keys->sustained[channel], note, 1);
        else
            n = release(frame, channel, note, out, n);
    }
    return n;
}

SPRUNG_REALTIME uint32_t runner_keys_play(RunnerKeys *keys, const SprungEngine *engine,
                                          const SprungEvent *in, uint32_t n_in,
                                          SprungEvent *out)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < n_in; i++) {
        const SprungEvent *e = &in[i];
        const uint8_t ch = e->channel & 15u, note = e->note & 127u;
        const int note_off = e->type == SPRUNG_EVENT_NOTE_OFF ||
                             (e->type == SPRUNG_EVENT_NOTE_ON && e->velocity == 0);
        if (e->type == SPRUNG_EVENT_NOTE_ON && !note_off) {
            key_set(keys->down[ch], note, 1);
            key_set(keys->sustained[ch], note, 0);
        } else if (note_off) {
            const int was_down = key_is(keys->down[ch], note);
            key_set(keys->down[ch], note, 0);
            if (was_down && pedal_holds(keys, engine, ch)) {
                key_set(keys->sustained[ch], note, 1);
                continue; /* sounds on until the pedal lifts */
            }
        }
        out[n++] = *e;
        if (e->type != SPRUNG_EVENT_CONTROL_CHANGE)
            continue;
        const uint8_t control = e->note;
        const uint16_t reached = channels_reached(engine, ch);
        if (control == CC_DAMPER || control == CC_RESET_CONTROLLERS) {
            const int down = control == CC_DAMPER && e->value >= 64;
            const int was_down = keys->pedal_down >> ch & 1u;
            keys->pedal_down = (uint16_t)(down ? keys->pedal_down | 1u << ch
                                               : keys->pedal_down & ~(1u << ch));
            if (was_down && !down)
                for (uint8_t c = 0; c < 16; c++)
                    if ((reached >> c & 1u) && !pedal_holds(keys, engine, c))
                        n = release_all(keys, engine, keys->sustained[c], c, e->frame, out, n);
        } else if (control >= CC_ALL_NOTES_OFF) {
            for (uint8_t c = 0; c < 16; c++)
                if (reached >> c & 1u)
                    n = release_all(keys, engine, keys->down[c], c, e->frame, out, n);
        }
    }
    return n;
}
