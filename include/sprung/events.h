/* Timestamped events and the block descriptor passed to the engine. Plain
 * values: safe to build on any thread, consumed on the audio thread. */
#ifndef SPRUNG_EVENTS_H
#define SPRUNG_EVENTS_H

#include <stdint.h>

#include "sprung/attributes.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum SprungEventType {
    SPRUNG_EVENT_NOTE_ON = 1,  /* velocity 0 is treated as note off */
    SPRUNG_EVENT_NOTE_OFF = 2,
} SprungEventType;

typedef struct SprungEvent {
    uint32_t frame;   /* offset in output frames from the block start */
    uint8_t type;     /* SprungEventType */
    uint8_t channel;  /* MIDI channel 0..15 */
    uint8_t note;     /* 0..127 */
    uint8_t velocity; /* 0..127 */
} SprungEvent;

/* One block of work. Events must be sorted by frame, each frame < n_frames.
 * `outputs` holds n_outputs channel buffers of n_frames floats (2: left and
 * right); they are overwritten, not accumulated into. */
typedef struct SprungBlock {
    uint32_t n_frames;
    const SprungEvent *events;
    uint32_t n_events;
    float *const *outputs;
    uint32_t n_outputs;
} SprungBlock;

#ifdef __cplusplus
}
#endif
#endif
