/* Timestamped events and the block descriptor passed to the engine. Plain
 * values: safe to build on any thread, consumed on the audio thread. */
#ifndef SPRUNG_EVENTS_H
#define SPRUNG_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "sprung/attributes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Channel messages besides notes feed modulation sources and MPE
 * (docs/preset-format.md, "Voices, MPE and modulation"): */
typedef enum SprungEventType {
    SPRUNG_EVENT_NOTE_ON = 1,  /* velocity 0 is treated as note off */
    SPRUNG_EVENT_NOTE_OFF = 2,
    SPRUNG_EVENT_CONTROL_CHANGE = 3,   /* controller `note`, value `value` 0..127 */
    SPRUNG_EVENT_PITCH_BEND = 4,       /* `value` 0..16383, 8192 = centre */
    SPRUNG_EVENT_CHANNEL_PRESSURE = 5, /* `value` 0..127 */
    SPRUNG_EVENT_POLY_PRESSURE = 6,    /* note `note`, pressure `value` 0..127 */
} SprungEventType;

typedef struct SprungEvent {
    uint32_t frame;   /* offset in output frames from the block start */
    uint8_t type;     /* SprungEventType */
    uint8_t channel;  /* MIDI channel 0..15 */
    uint8_t note;     /* 0..127; the controller number of a control change */
    uint8_t velocity; /* 0..127 */
    uint16_t value;   /* control change, pressure: 0..127; pitch bend: 0..16383 */
} SprungEvent;

/* One block of work. Events must be sorted by frame, each frame < n_frames.
 * `outputs` holds n_outputs channel buffers of n_frames floats (at least 2:
 * left and right; microphones routed to channel N >= 2 are heard in
 * outputs[N] when n_outputs > N); they are overwritten, not accumulated into.
 * `inputs` holds n_inputs channel buffers of n_frames floats for the
 * model's audio input exciters (channel c reads inputs[c]; a missing or
 * NULL channel is silence); both may be left 0/NULL. */
typedef struct SprungBlock {
    uint32_t n_frames;
    const SprungEvent *events;
    uint32_t n_events;
    float *const *outputs;
    uint32_t n_outputs;
    const float *const *inputs;
    uint32_t n_inputs;
} SprungBlock;

/* Reads one MIDI 1.0 channel message into *event at `frame`: `bytes` holds
 * exactly the message, status byte first (no running status). Note on and
 * off (a note-on of velocity 0 becomes a note-off), poly pressure, control
 * change, channel pressure and pitch bend are read; anything else (program
 * change, system messages, a message of the wrong length or with a data
 * byte above 127) returns 0 and leaves *event untouched. Real-time safe:
 * the live front ends (JACK, LV2) and the MIDI file reader share it. */
SPRUNG_API SPRUNG_REALTIME int sprung_event_from_midi(const uint8_t *bytes, size_t size,
                                                      uint32_t frame, SprungEvent *event);

#ifdef __cplusplus
}
#endif
#endif
