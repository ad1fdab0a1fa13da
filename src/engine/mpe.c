/* MIDI channel state and MPE zones (mpe.h). No allocation; everything but
 * init may run on the audio thread. */
#include <string.h>

#include "engine/mpe.h"

#define RPN_NONE 0x3FFFu
#define RPN_PITCH_BEND_SENSITIVITY 0x0000u
#define RPN_MPE_CONFIGURATION 0x0006u

static void channel_neutral(SprungMpeChannel *channel)
{
    channel->bend = 0.0;
    channel->pressure = 0.0;
    channel->timbre = 0.5;
    for (int c = 0; c < 128; ++c)
        channel->cc[c] = 0.0;
    channel->cc[74] = 0.5;
}

/* The controllers that set up a sound rather than play it, which Reset All
 * Controllers leaves alone (MIDI RP-015): bank select, volume, pan (MSB and
 * LSB), the sound controllers 70-79, the effects depths 91-95, the data
 * entry values and the channel mode messages. */
static int reset_keeps(int control)
{
    switch (control) {
    case 0: case 32:  /* bank select */
    case 7: case 39:  /* volume */
    case 10: case 42: /* pan */
    case 6: case 38:  /* data entry: the parameters' values stay */
        return 1;
    default:
        return (control >= 70 && control <= 79) || (control >= 91 && control <= 95) ||
               control >= 120;
    }
}

SPRUNG_REALTIME void sprung_mpe_reset_controller_values(double cc[128])
{
    for (int c = 0; c < 128; ++c)
        if (!reset_keeps(c))
            cc[c] = 0.0;
    cc[11] = 1.0;                                /* expression: full */
    cc[98] = cc[99] = cc[100] = cc[101] = 1.0;   /* parameter numbers: null (127) */
}

void sprung_mpe_init(SprungMpe *mpe)
{
    memset(mpe, 0, sizeof *mpe);
    for (int c = 0; c < 16; ++c) {
        channel_neutral(&mpe->channel[c]);
        mpe->channel[c].range = SPRUNG_MPE_DEFAULT_MASTER_RANGE;
        mpe->channel[c].rpn = RPN_NONE;
    }
}

SPRUNG_REALTIME void sprung_mpe_reset_controllers(SprungMpe *mpe)
{
    for (int c = 0; c < 16; ++c)
        channel_neutral(&mpe->channel[c]);
}

SPRUNG_REALTIME void sprung_mpe_set_zone(SprungMpe *mpe, SprungMpeZoneKind kind,
                                         uint32_t members)
{
    if (members > 15)
        members = 15;
    SprungMpeZone *zone = &mpe->zone[kind];
    SprungMpeZone *other = &mpe->zone[kind == SPRUNG_MPE_LOWER ? SPRUNG_MPE_UPPER
                                                               : SPRUNG_MPE_LOWER];
    zone->members = (uint8_t)members;
    zone->member_range = SPRUNG_MPE_DEFAULT_MEMBER_RANGE;
    zone->master_range = SPRUNG_MPE_DEFAULT_MASTER_RANGE;
    if (members == 0)
        return;
    /* Channels used: this zone's master and members; the other zone keeps
     * what is left (14 − members members), or disappears. */
    if (members >= 14) {
        other->members = 0;
    } else if (other->members > 14 - members) {
        other->members = (uint8_t)(14 - members);
    }
}

SPRUNG_REALTIME int sprung_mpe_is_member(const SprungMpe *mpe, uint8_t channel,
                                         SprungMpeZoneKind *kind)
{
    const SprungMpeZone *lower = &mpe->zone[SPRUNG_MPE_LOWER];
    const SprungMpeZone *upper = &mpe->zone[SPRUNG_MPE_UPPER];
    if (lower->members && channel >= 1 && channel <= lower->members) {
        if (kind)
            *kind = SPRUNG_MPE_LOWER;
        return 1;
    }
    if (upper->members && channel <= 14 && channel >= 15 - upper->members) {
        if (kind)
            *kind = SPRUNG_MPE_UPPER;
        return 1;
    }
    return 0;
}

SPRUNG_REALTIME int sprung_mpe_is_master(const SprungMpe *mpe, uint8_t channel)
{
    return (channel == 0 && mpe->zone[SPRUNG_MPE_LOWER].members) ||
           (channel == 15 && mpe->zone[SPRUNG_MPE_UPPER].members);
}

/* RPN data entry: the MSB is the value (semitones, or member count); the
 * LSB adds cents to a bend range. */
static void rpn_data(SprungMpe *mpe, uint8_t channel, uint8_t msb, int lsb)
{
    SprungMpeChannel *state = &mpe->channel[channel];
    if (state->rpn == RPN_MPE_CONFIGURATION) {
        if (channel == 0)
            sprung_mpe_set_zone(mpe, SPRUNG_MPE_LOWER, msb);
        else if (channel == 15)
            sprung_mpe_set_zone(mpe, SPRUNG_MPE_UPPER, msb);
        return; /* an MCM elsewhere is ignored (the spec) */
    }
    if (state->rpn != RPN_PITCH_BEND_SENSITIVITY)
        return;
    double range = msb + (lsb >= 0 ? lsb / 100.0 : 0.0);
    SprungMpeZoneKind kind;
    if (sprung_mpe_is_master(mpe, channel))
        mpe->zone[channel == 0 ? SPRUNG_MPE_LOWER : SPRUNG_MPE_UPPER].master_range = range;
    else if (sprung_mpe_is_member(mpe, channel, &kind))
        mpe->zone[kind].member_range = range;
    else
        state->range = range;
}

SPRUNG_REALTIME void sprung_mpe_control_change(SprungMpe *mpe, uint8_t channel, uint8_t control,
                                               uint8_t value7)
{
    if (channel > 15 || control > 127)
        return;
    SprungMpeChannel *state = &mpe->channel[channel];
    double value = (value7 > 127 ? 127 : value7) / 127.0;
    state->cc[control] = value;
    switch (control) {
    case 74:
        state->timbre = value;
        break;
    case 101: /* RPN MSB */
        state->rpn = (uint16_t)((state->rpn & 0x7Fu) | ((uint16_t)value7 << 7));
        break;
    case 100: /* RPN LSB */
        state->rpn = (uint16_t)((state->rpn & 0x3F80u) | value7);
        break;
    case 99: case 98: /* an NRPN deselects the RPN */
        state->rpn = RPN_NONE;
        break;
    case 6: /* data entry MSB */
        state->data_msb = value7;
        rpn_data(mpe, channel, value7, -1);
        break;
    case 38: /* data entry LSB: cents of a bend range */
        if (state->rpn == RPN_PITCH_BEND_SENSITIVITY)
            rpn_data(mpe, channel, state->data_msb, value7);
        break;
    case 121: /* reset all controllers (RP-015); timbre is CC74, a sound controller, and stays */
        sprung_mpe_reset_controller_values(state->cc);
        state->bend = 0.0;
        state->pressure = 0.0;
        state->rpn = RPN_NONE;
        break;
    default:
        break;
    }
}

SPRUNG_REALTIME void sprung_mpe_pitch_bend(SprungMpe *mpe, uint8_t channel, uint16_t value14)
{
    if (channel > 15)
        return;
    if (value14 > 16383)
        value14 = 16383;
    mpe->channel[channel].bend = ((double)value14 - 8192.0) / 8192.0;
}

SPRUNG_REALTIME void sprung_mpe_channel_pressure(SprungMpe *mpe, uint8_t channel,
                                                 uint8_t value7)
{
    if (channel > 15)
        return;
    mpe->channel[channel].pressure = (value7 > 127 ? 127 : value7) / 127.0;
}

SPRUNG_REALTIME uint16_t sprung_mpe_channels_reached(const SprungMpe *mpe, uint8_t channel)
{
    if (channel > 15)
        return 0;
    uint16_t reached = (uint16_t)(1u << channel);
    if (!sprung_mpe_is_master(mpe, channel))
        return reached;
    for (uint8_t c = 0; c < 16; c++) {
        SprungMpeZoneKind kind;
        if (sprung_mpe_is_member(mpe, c, &kind) && kind == (channel == 0 ? SPRUNG_MPE_LOWER
                                                                          : SPRUNG_MPE_UPPER))
            reached |= (uint16_t)(1u << c);
    }
    return reached;
}

SPRUNG_REALTIME double sprung_mpe_note_bend_semitones(const SprungMpe *mpe, uint8_t channel)
{
    if (channel > 15)
        return 0.0;
    SprungMpeZoneKind kind;
    if (sprung_mpe_is_member(mpe, channel, &kind)) {
        const SprungMpeZone *zone = &mpe->zone[kind];
        uint8_t master = kind == SPRUNG_MPE_LOWER ? 0 : 15;
        return mpe->channel[channel].bend * zone->member_range +
               mpe->channel[master].bend * zone->master_range;
    }
    if (sprung_mpe_is_master(mpe, channel)) {
        const SprungMpeZone *zone = &mpe->zone[channel == 0 ? SPRUNG_MPE_LOWER : SPRUNG_MPE_UPPER];
        return mpe->channel[channel].bend * zone->master_range;
    }
    return mpe->channel[channel].bend * mpe->channel[channel].range;
}

SPRUNG_REALTIME double sprung_mpe_note_pressure(const SprungMpe *mpe, uint8_t channel)
{
    return channel > 15 ? 0.0 : mpe->channel[channel].pressure;
}

SPRUNG_REALTIME double sprung_mpe_note_timbre(const SprungMpe *mpe, uint8_t channel)
{
    return channel > 15 ? 0.5 : mpe->channel[channel].timbre;
}
