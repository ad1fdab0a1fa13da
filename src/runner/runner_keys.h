/* The keys and the pedals, as the host plays them, per MIDI channel; the
 * runner's events pass through here before the engine hears them, so every
 * engine (instanced or not, modulated or not) gets the same pedals.
 *
 * - Damper (CC 64 at 64 or more): a note-off (or a note-on of velocity 0)
 *   on a channel it governs is held back: the note sounds on until the
 *   pedal lifts, when it is played as a note-off at the pedal's frame. A
 *   key struck again while held is simply struck (its hold ends).
 * - Sostenuto (CC 66): as it goes down it catches the keys sounding on its
 *   channels (down, or held by a damper, as a piano's sostenuto catches
 *   every raised damper); their note-offs are held until it lifts. Keys
 *   struck after it went down are not caught. What it caught is kept per
 *   channel, until no sostenuto governs that channel.
 * - A held note is released when no pedal holds it any more: a damper
 *   lifting keeps the notes a sostenuto caught, and the other way round.
 * - All Notes Off (CC 123), and the mode messages 124-127 that imply it,
 *   release every key down on the channels they govern, as note-offs,
 *   which a pedal still down holds too (MIDI 1.0).
 * - Reset All Controllers (CC 121) lifts both pedals (MIDI RP-015).
 * - The channels a message governs: its own, and, on the master channel of
 *   an MPE zone, the zone's members (sprung_engine_channels_reached).
 * Every message also passes on unchanged, for the modulation sources (the
 * soft pedal, CC 67, is one: a route from it to a mallet's strength or an
 * oscillator's amplitude makes it what the instrument wants).
 *
 * Audio thread only; plain data, no allocation. */
#ifndef SPRUNG_RUNNER_KEYS_H
#define SPRUNG_RUNNER_KEYS_H

#include <stdint.h>

#include "sprung/attributes.h"
#include "sprung/engine.h"
#include "sprung/events.h"

/* The most note-offs the keys can add to a block besides one per note-on
 * in it: every key of every channel. */
#define RUNNER_KEYS_MAX_RELEASES (16u * 128u)

typedef struct RunnerKeys {
    uint64_t down[16][2];      /* keys struck and not released */
    uint64_t sustained[16][2]; /* keys released while a pedal held them: still sounding */
    uint64_t caught[16][2];    /* keys a sostenuto caught as it went down */
    uint16_t damper_down;      /* per channel: its damper pedal (CC 64) is down */
    uint16_t sostenuto_down;   /* per channel: its sostenuto pedal (CC 66) is down */
} RunnerKeys;

/* Plays `n_in` events (sorted by frame) through the keys into `out`, which
 * has room for 2 · n_in + RUNNER_KEYS_MAX_RELEASES; returns the count.
 * `engine` (may be NULL) tells which channels a channel message governs. */
SPRUNG_REALTIME uint32_t runner_keys_play(RunnerKeys *keys, const SprungEngine *engine,
                                          const SprungEvent *in, uint32_t n_in,
                                          SprungEvent *out);

#endif
