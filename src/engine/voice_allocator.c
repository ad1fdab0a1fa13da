/* Voice allocation and stealing with a click-free fade (voice_allocator.h).
 * No allocation; everything but init may run on the audio thread. */
#include <math.h>
#include <string.h>

#include "engine/voice_allocator.h"

#ifndef M_PI
#  define M_PI 3.14159265358979323846
#endif

void sprung_voice_allocator_init(SprungVoiceAllocator *allocator, uint32_t n_voices,
                                 uint32_t fade_frames)
{
    memset(allocator, 0, sizeof *allocator);
    if (n_voices < 1)
        n_voices = 1;
    if (n_voices > SPRUNG_MAX_VOICES)
        n_voices = SPRUNG_MAX_VOICES;
    allocator->n_voices = n_voices;
    allocator->fade_frames = fade_frames ? fade_frames : 1;
}

SPRUNG_REALTIME void sprung_voice_allocator_reset(SprungVoiceAllocator *allocator)
{
    for (uint32_t v = 0; v < SPRUNG_MAX_VOICES; ++v)
        memset(&allocator->slots[v], 0, sizeof allocator->slots[v]);
    allocator->stamp = 0;
}

static SprungVoiceNote make_note(uint8_t channel, uint8_t note, uint8_t velocity)
{
    SprungVoiceNote n = {.channel = channel, .note = note, .velocity = velocity, .released = 0};
    return n;
}

SPRUNG_REALTIME SprungVoiceAssignment sprung_voice_note_on(SprungVoiceAllocator *allocator,
                                                           uint8_t channel, uint8_t note,
                                                           uint8_t velocity)
{
    SprungVoiceAssignment result = {0, SPRUNG_VOICE_START};
    uint64_t stamp = ++allocator->stamp;
    uint32_t n = allocator->n_voices;
    SprungVoiceSlot *slots = allocator->slots;

    /* The same note held again: strike the same voice. */
    for (uint32_t v = 0; v < n; ++v) {
        if (slots[v].status == SPRUNG_VOICE_HELD && slots[v].note.channel == channel &&
            slots[v].note.note == note) {
            slots[v].note.velocity = velocity;
            slots[v].started = stamp;
            result.voice = v;
            result.action = SPRUNG_VOICE_RESTRIKE;
            return result;
        }
    }
    /* 1. Free, lowest index. */
    for (uint32_t v = 0; v < n; ++v) {
        if (slots[v].status == SPRUNG_VOICE_FREE) {
            slots[v].status = SPRUNG_VOICE_HELD;
            slots[v].note = make_note(channel, note, velocity);
            slots[v].started = stamp;
            result.voice = v;
            return result;
        }
    }
    /* 2. Released longest ago; 3. else held longest ago. A voice already
     * fading is taken last of all (its pending note is the newest). */
    int best = -1;
    for (uint32_t v = 0; v < n; ++v)
        if (slots[v].status == SPRUNG_VOICE_RELEASED &&
            (best < 0 || slots[v].released_at < slots[best].released_at))
            best = (int)v;
    if (best < 0)
        for (uint32_t v = 0; v < n; ++v)
            if (slots[v].status == SPRUNG_VOICE_HELD &&
                (best < 0 || slots[v].started < slots[best].started))
                best = (int)v;
    if (best >= 0) {
        SprungVoiceSlot *slot = &slots[best];
        slot->status = SPRUNG_VOICE_FADING;
        slot->fade_position = 0;
        slot->pending = make_note(channel, note, velocity);
        slot->started = stamp;
        result.voice = (uint32_t)best;
        result.action = SPRUNG_VOICE_STEAL;
        return result;
    }
    /* Every voice is fading: replace the pending note that started longest
     * ago (it has not sounded yet, so nothing is cut). */
    for (uint32_t v = 0; v < n; ++v)
        if (best < 0 || slots[v].started < slots[best].started)
            best = (int)v;
    slots[best].pending = make_note(channel, note, velocity);
    slots[best].started = stamp;
    result.voice = (uint32_t)best;
    result.action = SPRUNG_VOICE_REPLACE;
    return result;
}

SPRUNG_REALTIME int sprung_voice_note_off(SprungVoiceAllocator *allocator, uint8_t channel,
                                          uint8_t note)
{
    uint64_t stamp = ++allocator->stamp;
    for (uint32_t v = 0; v < allocator->n_voices; ++v) {
        SprungVoiceSlot *slot = &allocator->slots[v];
        if (slot->status == SPRUNG_VOICE_HELD && slot->note.channel == channel &&
            slot->note.note == note) {
            slot->status = SPRUNG_VOICE_RELEASED;
            slot->released_at = stamp;
            return (int)v;
        }
    }
    for (uint32_t v = 0; v < allocator->n_voices; ++v) {
        SprungVoiceSlot *slot = &allocator->slots[v];
        if (slot->status == SPRUNG_VOICE_FADING && !slot->pending.released &&
            slot->pending.channel == channel && slot->pending.note == note) {
            slot->pending.released = 1;
            slot->released_at = stamp;
            return (int)v;
        }
    }
    return -1;
}

SPRUNG_REALTIME int sprung_voice_find(const SprungVoiceAllocator *allocator, uint8_t channel,
                                      uint8_t note)
{
    static const SprungVoiceStatus order[] = {SPRUNG_VOICE_HELD, SPRUNG_VOICE_RELEASED};
    for (uint32_t pass = 0; pass < 2; ++pass) {
        int best = -1;
        for (uint32_t v = 0; v < allocator->n_voices; ++v) {
            const SprungVoiceSlot *slot = &allocator->slots[v];
            if (slot->status != order[pass] || slot->note.channel != channel)
                continue;
            if (note != 255 && slot->note.note != note)
                continue;
            if (best < 0 || slot->started > allocator->slots[best].started)
                best = (int)v;
        }
        if (best >= 0)
            return best;
    }
    for (uint32_t v = 0; v < allocator->n_voices; ++v) {
        const SprungVoiceSlot *slot = &allocator->slots[v];
        if (slot->status == SPRUNG_VOICE_FADING && slot->pending.channel == channel &&
            (note == 255 || slot->pending.note == note))
            return (int)v;
    }
    return -1;
}

SPRUNG_REALTIME float sprung_voice_fade_law(uint32_t position, uint32_t length)
{
    if (position >= length)
        return 0.0f;
    return (float)(0.5 * (1.0 + cos(M_PI * (double)(position + 1) / (double)length)));
}

SPRUNG_REALTIME float sprung_voice_fade_gain(const SprungVoiceAllocator *allocator,
                                             uint32_t voice)
{
    const SprungVoiceSlot *slot = &allocator->slots[voice];
    if (slot->status != SPRUNG_VOICE_FADING)
        return 1.0f;
    return sprung_voice_fade_law(slot->fade_position, allocator->fade_frames);
}

SPRUNG_REALTIME uint32_t sprung_voice_frames_to_fade_end(const SprungVoiceAllocator *allocator)
{
    uint32_t nearest = UINT32_MAX;
    for (uint32_t v = 0; v < allocator->n_voices; ++v) {
        const SprungVoiceSlot *slot = &allocator->slots[v];
        if (slot->status != SPRUNG_VOICE_FADING)
            continue;
        uint32_t left = allocator->fade_frames - slot->fade_position;
        if (left < nearest)
            nearest = left;
    }
    return nearest;
}

SPRUNG_REALTIME uint32_t sprung_voice_allocator_advance(SprungVoiceAllocator *allocator,
                                                        uint32_t frames, uint32_t *started)
{
    uint32_t n_started = 0;
    for (uint32_t v = 0; v < allocator->n_voices; ++v) {
        SprungVoiceSlot *slot = &allocator->slots[v];
        if (slot->status != SPRUNG_VOICE_FADING)
            continue;
        uint32_t left = allocator->fade_frames - slot->fade_position;
        if (frames < left) {
            slot->fade_position += frames;
            continue;
        }
        slot->fade_position = 0;
        slot->note = slot->pending;
        slot->status = slot->pending.released ? SPRUNG_VOICE_RELEASED : SPRUNG_VOICE_HELD;
        slot->note.released = 0;
        started[n_started++] = v;
    }
    return n_started;
}

SPRUNG_REALTIME void sprung_voice_free(SprungVoiceAllocator *allocator, uint32_t voice)
{
    if (voice < allocator->n_voices && allocator->slots[voice].status == SPRUNG_VOICE_RELEASED)
        allocator->slots[voice].status = SPRUNG_VOICE_FREE;
}

SPRUNG_REALTIME uint32_t sprung_voice_active_count(const SprungVoiceAllocator *allocator)
{
    uint32_t count = 0;
    for (uint32_t v = 0; v < allocator->n_voices; ++v)
        count += allocator->slots[v].status != SPRUNG_VOICE_FREE;
    return count;
}
