/* The keys and the pedals (runner_keys.h). */
#include "runner/runner_keys.h"

#include <string.h>

enum {
    CC_DAMPER = 64,
    CC_SOSTENUTO = 66,
    CC_RESET_CONTROLLERS = 121,
    CC_ALL_NOTES_OFF = 123,
};

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

/* Whether one of the pedals down in `pedals` (a bit per channel) governs
 * `channel`. */
static SPRUNG_REALTIME int governed(uint16_t pedals, const SprungEngine *engine, uint8_t channel)
{
    for (uint8_t p = 0; p < 16; p++)
        if ((pedals >> p & 1u) && (channels_reached(engine, p) >> channel & 1u))
            return 1;
    return 0;
}

/* Whether a key released now on `channel` sounds on: a damper governs the
 * channel (`damper`, from governed(), worked out once per channel), or a
 * sostenuto caught the key. */
static SPRUNG_REALTIME int pedal_holds(const RunnerKeys *keys, int damper, uint8_t channel,
                                       uint8_t note)
{
    return damper || key_is(keys->caught[channel], note);
}

static SPRUNG_REALTIME uint32_t release(uint32_t frame, uint8_t channel, uint8_t note,
                                        SprungEvent *out, uint32_t n)
{
    out[n] = (SprungEvent){.frame = frame, .type = SPRUNG_EVENT_NOTE_OFF, .channel = channel,
                           .note = note};
    return n + 1;
}

/* All Notes Off on `channel`: its keys down are released, each held by a
 * pedal or played now. */
static SPRUNG_REALTIME uint32_t release_keys_down(RunnerKeys *keys, const SprungEngine *engine,
                                                  uint8_t channel, uint32_t frame,
                                                  SprungEvent *out, uint32_t n)
{
    const int damper = governed(keys->damper_down, engine, channel);
    for (uint8_t note = 0; note < 128; note++) {
        if (!key_is(keys->down[channel], note))
            continue;
        key_set(keys->down[channel], note, 0);
        if (pedal_holds(keys, damper, channel, note))
            key_set(keys->sustained[channel], note, 1);
        else
            n = release(frame, channel, note, out, n);
    }
    return n;
}

/* After a pedal lifted on the channels `reached`: a sostenuto no longer
 * down lets go of what it caught, and every held key no pedal holds now
 * is played as a note-off. */
static SPRUNG_REALTIME uint32_t release_unheld(RunnerKeys *keys, const SprungEngine *engine,
                                               uint16_t reached, uint32_t frame,
                                               SprungEvent *out, uint32_t n)
{
    for (uint8_t c = 0; c < 16; c++) {
        if (!(reached >> c & 1u))
            continue;
        if (!governed(keys->sostenuto_down, engine, c))
            memset(keys->caught[c], 0, sizeof keys->caught[c]);
        const int damper = governed(keys->damper_down, engine, c);
        for (uint8_t note = 0; note < 128; note++) {
            if (key_is(keys->sustained[c], note) && !pedal_holds(keys, damper, c, note)) {
                key_set(keys->sustained[c], note, 0);
                n = release(frame, c, note, out, n);
            }
        }
    }
    return n;
}

/* A damper (CC 64) or sostenuto (CC 66) pedal on `channel` goes to
 * `damper` / `sostenuto` (1 down); Reset All Controllers lifts both. */
static SPRUNG_REALTIME uint32_t set_pedals(RunnerKeys *keys, const SprungEngine *engine,
                                           uint8_t channel, int damper, int sostenuto,
                                           uint32_t frame, SprungEvent *out, uint32_t n)
{
    const uint16_t bit = (uint16_t)(1u << channel), reached = channels_reached(engine, channel);
    const int lifted = ((keys->damper_down & bit) && !damper) ||
                       ((keys->sostenuto_down & bit) && !sostenuto);
    if (sostenuto && !(keys->sostenuto_down & bit)) {
        /* It catches every key sounding on its channels: the keys down and
         * those a damper holds (as a piano's sostenuto catches every raised
         * damper). */
        for (uint8_t c = 0; c < 16; c++)
            if (reached >> c & 1u)
                for (int half = 0; half < 2; half++)
                    keys->caught[c][half] |= keys->down[c][half] | keys->sustained[c][half];
    }
    keys->damper_down = (uint16_t)(damper ? keys->damper_down | bit : keys->damper_down & ~bit);
    keys->sostenuto_down =
        (uint16_t)(sostenuto ? keys->sostenuto_down | bit : keys->sostenuto_down & ~bit);
    return lifted ? release_unheld(keys, engine, reached, frame, out, n) : n;
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
            if (was_down &&
                pedal_holds(keys, governed(keys->damper_down, engine, ch), ch, note)) {
                key_set(keys->sustained[ch], note, 1);
                continue; /* sounds on until the pedal lifts */
            }
        }
        out[n++] = *e;
        if (e->type != SPRUNG_EVENT_CONTROL_CHANGE)
            continue;
        const uint8_t control = e->note;
        const int damper = keys->damper_down >> ch & 1u,
                  sostenuto = keys->sostenuto_down >> ch & 1u, down = e->value >= 64;
        if (control == CC_DAMPER)
            n = set_pedals(keys, engine, ch, down, sostenuto, e->frame, out, n);
        else if (control == CC_SOSTENUTO)
            n = set_pedals(keys, engine, ch, damper, down, e->frame, out, n);
        else if (control == CC_RESET_CONTROLLERS)
            n = set_pedals(keys, engine, ch, 0, 0, e->frame, out, n);
        else if (control >= CC_ALL_NOTES_OFF) {
            const uint16_t reached = channels_reached(engine, ch);
            for (uint8_t c = 0; c < 16; c++)
                if (reached >> c & 1u)
                    n = release_keys_down(keys, engine, c, e->frame, out, n);
        }
    }
    return n;
}
