/* Standard MIDI files (via libsmf) as a flat list of channel events (notes,
 * control changes, pitch bend, channel and polyphonic pressure; program
 * changes are dropped) with their times in seconds, tempo changes honoured.
 * Control thread only. */
#ifndef SPRUNG_IO_MIDI_H
#define SPRUNG_IO_MIDI_H

#include <stddef.h>
#include <stdint.h>

#include "sprung/events.h"
#include "sprung/status.h"

typedef struct SprungMidiEvent {
    double time_s;    /* seconds from the start of the file */
    uint8_t type;     /* SprungEventType */
    uint8_t channel;  /* 0..15 */
    uint8_t note;     /* note; controller number of a control change; 0 otherwise */
    uint8_t velocity; /* notes only; 0 otherwise */
    uint16_t value;   /* as SprungEvent.value: control change and pressure 0..127,
                       * pitch bend 0..16383 (8192 = centre); 0 for notes */
} SprungMidiEvent;

typedef struct SprungMidiSequence {
    SprungMidiEvent *events; /* sorted by time, stable for equal times */
    size_t n_events;
    double duration_s;       /* time of the last event of any kind (end of track) */
} SprungMidiSequence;

SprungStatus sprung_midi_load_file(const char *path, SprungMidiSequence **out,
                                   SprungError *error);
SprungStatus sprung_midi_load_memory(const void *data, size_t size, const char *source_name,
                                     SprungMidiSequence **out, SprungError *error);
void sprung_midi_free(SprungMidiSequence *sequence);

#endif
