/* Voice allocation for instanced presets: which of N voices (copies of the
 * network's moving state) plays a new note, and the click-free hand-over of
 * a stolen voice. A plain state machine over frames; the engine asks it
 * where each note goes and when a stolen voice is silent. Private to
 * libsprung.
 *
 * Threading: init on the control thread; everything else SPRUNG_REALTIME
 * (no allocation: at most SPRUNG_MAX_VOICES slots, inline).
 *
 * Order of choice for a note-on:
 *   1. a free voice (never used since the last reset, or gone silent and
 *      freed by the engine), lowest index first;
 *   2. else a released voice (its note is off but it still rings), the one
 *      released longest ago;
 *   3. else the oldest held voice (the note started longest ago).
 * A note-on for a note/channel already held on a voice re-strikes that same
 * voice (no steal, no fade): a physical network is struck again.
 * Stealing (2 or 3) never cuts the sound: the voice fades out with a raised
 * cosine over `fade_frames` output frames, gain(k) = ½(1 + cos(π(k+1)/F))
 * for k = 0 … F−1 (so the last faded frame is exactly 0), then the engine
 * resets it to rest and starts the new note on it at that frame. The new
 * note therefore sounds F frames late (3 ms: below what a player notices);
 * its note-off, should it come first, is remembered and applied at the
 * start. */
#ifndef SPRUNG_ENGINE_VOICE_ALLOCATOR_H
#define SPRUNG_ENGINE_VOICE_ALLOCATOR_H

#include <stdint.h>

#include "sprung/attributes.h"

#define SPRUNG_MAX_VOICES 32u

typedef enum SprungVoiceStatus {
    SPRUNG_VOICE_FREE = 0,
    SPRUNG_VOICE_HELD,     /* note on */
    SPRUNG_VOICE_RELEASED, /* note off, still ringing */
    SPRUNG_VOICE_FADING,   /* stolen: fading out, then starts `pending` */
} SprungVoiceStatus;

typedef struct SprungVoiceNote {
    uint8_t channel;
    uint8_t note;
    uint8_t velocity;
    uint8_t released; /* pending notes: the note-off came during the fade */
} SprungVoiceNote;

typedef struct SprungVoiceSlot {
    SprungVoiceStatus status;
    SprungVoiceNote note;     /* what it plays (HELD/RELEASED), or played (FADING) */
    SprungVoiceNote pending;  /* FADING: the note that starts after the fade */
    uint64_t started;         /* order stamp of the note-on */
    uint64_t released_at;     /* order stamp of the note-off */
    uint32_t fade_position;   /* FADING: frames faded so far */
} SprungVoiceSlot;

typedef struct SprungVoiceAllocator {
    uint32_t n_voices;
    uint32_t fade_frames;   /* F >= 1 */
    uint64_t stamp;         /* increases with every note-on and note-off */
    SprungVoiceSlot slots[SPRUNG_MAX_VOICES];
} SprungVoiceAllocator;

/* What a note-on did. */
typedef enum SprungVoiceAction {
    SPRUNG_VOICE_START = 1,   /* `voice` was free: start the note now */
    SPRUNG_VOICE_RESTRIKE,    /* `voice` already plays this note: strike it again now */
    SPRUNG_VOICE_STEAL,       /* `voice` fades out; the note starts when the fade ends */
    SPRUNG_VOICE_REPLACE,     /* `voice` was already fading: its pending note is replaced */
} SprungVoiceAction;

typedef struct SprungVoiceAssignment {
    uint32_t voice;
    SprungVoiceAction action;
} SprungVoiceAssignment;

/* n_voices in 1 … SPRUNG_MAX_VOICES (clamped), fade_frames >= 1 (clamped). */
void sprung_voice_allocator_init(SprungVoiceAllocator *allocator, uint32_t n_voices,
                                 uint32_t fade_frames);
/* Every voice free (a reset). */
SPRUNG_REALTIME void sprung_voice_allocator_reset(SprungVoiceAllocator *allocator);

SPRUNG_REALTIME SprungVoiceAssignment sprung_voice_note_on(SprungVoiceAllocator *allocator,
                                                           uint8_t channel, uint8_t note,
                                                           uint8_t velocity);
/* Releases the voice holding channel/note (or marks its pending start as
 * released). Returns the voice, or -1 when no voice plays that note. */
SPRUNG_REALTIME int sprung_voice_note_off(SprungVoiceAllocator *allocator, uint8_t channel,
                                          uint8_t note);

/* The voice a per-note message (MPE bend, poly pressure) on channel/note
 * goes to: the held (else released, else pending) voice of that note;
 * note 255 matches any note on the channel (channel-wide MPE messages), the
 * most recently started first. -1 when none. */
SPRUNG_REALTIME int sprung_voice_find(const SprungVoiceAllocator *allocator, uint8_t channel,
                                      uint8_t note);

/* Fade gain of a fading voice at its current fade position (1 when the
 * voice is not fading). */
SPRUNG_REALTIME float sprung_voice_fade_gain(const SprungVoiceAllocator *allocator,
                                             uint32_t voice);
/* The raised-cosine fade law at position k of F. */
SPRUNG_REALTIME float sprung_voice_fade_law(uint32_t position, uint32_t length);

/* Frames until the earliest fade ends (the engine cuts its render there);
 * UINT32_MAX when nothing fades. */
SPRUNG_REALTIME uint32_t sprung_voice_frames_to_fade_end(const SprungVoiceAllocator *allocator);

/* Moves every fading voice on by `frames` (never past its end). A voice
 * whose fade is complete becomes HELD (or RELEASED) with its pending note:
 * the engine must reset it and start that note. Writes those voices'
 * indices to `started` (capacity SPRUNG_MAX_VOICES) and returns how many. */
SPRUNG_REALTIME uint32_t sprung_voice_allocator_advance(SprungVoiceAllocator *allocator,
                                                        uint32_t frames, uint32_t *started);

/* The engine found a released voice silent: it becomes free. */
SPRUNG_REALTIME void sprung_voice_free(SprungVoiceAllocator *allocator, uint32_t voice);

/* Voices not free (sounding, or about to). */
SPRUNG_REALTIME uint32_t sprung_voice_active_count(const SprungVoiceAllocator *allocator);

#endif
