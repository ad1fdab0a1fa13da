/* MIDI channel state and MPE (MIDI Polyphonic Expression, MMA RP-053):
 * per-channel pitch bend, channel pressure and CC74, the zones (lower:
 * master channel 1, members 2…; upper: master channel 16, members 15…
 * down), zone configuration by the MPE Configuration Message (RPN 6 on a
 * master channel), and pitch-bend sensitivity (RPN 0). Channels are 0-based
 * here (MIDI channel 1 is 0). Private to libsprung.
 *
 * Threading: init on the control thread; the rest SPRUNG_REALTIME.
 *
 * What a note on channel c hears (sprung_mpe_note_bend_semitones):
 *   - c is a member channel of a zone: member bend(c) × member range +
 *     master bend(zone's master) × master range (the master's bend applies
 *     to the whole zone);
 *   - c is a zone's master channel: master bend × master range;
 *   - otherwise (no MPE on c): bend(c) × the range of c.
 * Bend values are normalised to [−1, 1] from the 14-bit value
 * (v − 8192)/8192 (so 0 gives exactly −1 and 16383 gives 0.99988).
 * Ranges default to 48 semitones on member channels and 2 on masters and
 * non-MPE channels (the spec's defaults); RPN 0 changes them (on a member
 * channel it sets the range of every member of that zone).
 *
 * Zones: an MCM on channel 1 with N (0…15) member channels makes a lower
 * zone of channels 2…N+1; on channel 16 an upper zone of 15…16−N; 0
 * removes the zone. A new zone that overlaps the other shrinks the other
 * (the spec's rule); a zone of 15 members removes the other. An MCM resets
 * the zone's bend ranges to the defaults. A preset may also configure zones
 * up front (sprung_mpe_set_zone). */
#ifndef SPRUNG_ENGINE_MPE_H
#define SPRUNG_ENGINE_MPE_H

#include <stdint.h>

#include "sprung/attributes.h"

#define SPRUNG_MPE_DEFAULT_MEMBER_RANGE 48.0
#define SPRUNG_MPE_DEFAULT_MASTER_RANGE 2.0

typedef enum SprungMpeZoneKind {
    SPRUNG_MPE_LOWER = 0,
    SPRUNG_MPE_UPPER = 1,
} SprungMpeZoneKind;

typedef struct SprungMpeZone {
    uint8_t members;     /* 0: no zone */
    double member_range; /* semitones */
    double master_range;
} SprungMpeZone;

typedef struct SprungMpeChannel {
    double bend;      /* [−1, 1) */
    double pressure;  /* channel pressure, [0, 1] */
    double timbre;    /* CC74, [0, 1]; 0.5 until set (the spec's neutral value) */
    double cc[128];   /* last value of each controller, [0, 1] */
    double range;     /* bend range of a non-MPE channel, semitones */
    uint16_t rpn;     /* selected RPN (CC 101/100), 0x3FFF = none */
    uint8_t data_msb; /* last data entry MSB for the selected RPN */
} SprungMpeChannel;

typedef struct SprungMpe {
    SprungMpeZone zone[2];
    SprungMpeChannel channel[16];
} SprungMpe;

/* No zones, every channel neutral, ranges 2 semitones. */
void sprung_mpe_init(SprungMpe *mpe);
/* Channel state back to neutral (bends 0, pressures 0, CC74 0.5); zones
 * and ranges stay. */
SPRUNG_REALTIME void sprung_mpe_reset_controllers(SprungMpe *mpe);

/* Makes a zone of `members` member channels (0 removes it), with the
 * default ranges; shrinks the other zone if they would overlap. */
SPRUNG_REALTIME void sprung_mpe_set_zone(SprungMpe *mpe, SprungMpeZoneKind kind,
                                         uint32_t members);

/* Messages. value7 in 0…127, value14 in 0…16383. */
SPRUNG_REALTIME void sprung_mpe_control_change(SprungMpe *mpe, uint8_t channel, uint8_t control,
                                               uint8_t value7);
SPRUNG_REALTIME void sprung_mpe_pitch_bend(SprungMpe *mpe, uint8_t channel, uint16_t value14);
SPRUNG_REALTIME void sprung_mpe_channel_pressure(SprungMpe *mpe, uint8_t channel,
                                                 uint8_t value7);

/* Zone membership of a channel: 1 and sets *kind when it is a member
 * channel of a zone; 0 otherwise. */
SPRUNG_REALTIME int sprung_mpe_is_member(const SprungMpe *mpe, uint8_t channel,
                                         SprungMpeZoneKind *kind);
/* 1 when `channel` is a zone's master channel (0 or 15 with that zone on). */
SPRUNG_REALTIME int sprung_mpe_is_master(const SprungMpe *mpe, uint8_t channel);

/* The channels a channel-wide message on `channel` (a damper pedal, All
 * Notes Off) governs, one bit each: `channel` itself, and on a zone's
 * master channel the zone's members too. */
SPRUNG_REALTIME uint16_t sprung_mpe_channels_reached(const SprungMpe *mpe, uint8_t channel);

/* A message on a master channel applies to the zone; on a member channel
 * (or a non-MPE channel) to the notes on that channel only. */
SPRUNG_REALTIME double sprung_mpe_note_bend_semitones(const SprungMpe *mpe, uint8_t channel);
/* Pressure and timbre a note on `channel` hears: its own channel's. */
SPRUNG_REALTIME double sprung_mpe_note_pressure(const SprungMpe *mpe, uint8_t channel);
SPRUNG_REALTIME double sprung_mpe_note_timbre(const SprungMpe *mpe, uint8_t channel);

/* Reset All Controllers (CC 121) on a channel's controller values, [0, 1],
 * as MIDI RP-015 has it: expression (11) to full, the parameter numbers
 * (98-101) to null, every other controller to 0, except bank select,
 * volume, pan, the sound controllers 70-79 (CC74 is MPE's timbre), the
 * effects depths 91-95, data entry and the channel mode messages, which
 * keep their values. sprung_mpe_control_change applies it (with the bend
 * centred, the pressure 0 and no RPN selected); the modulation system
 * applies it to its any-channel values too. */
SPRUNG_REALTIME void sprung_mpe_reset_controller_values(double cc[128]);

#endif
