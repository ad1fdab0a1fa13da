/* The modulation runtime (modulation.h): source instances, route smoothers
 * and Note Trigger detectors, evaluated once per output frame. new/free on
 * the control thread; the rest never allocates.
 *
 * Parameter routes with the same source, offset, amount and smoothing
 * "glide" together: their positions and smoothers are the same numbers,
 * so each glide works them out once per frame, and each of its routes maps
 * the result through its own curve and range (a vibraphone's 37 tremolo
 * routes are one glide). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/modulation.h"
#include "model/model.h"

typedef struct SourceInstance {
    SprungLfo lfo;
    SprungAdsr adsr;
    SprungFollower follower;
    double value;
    int changed;            /* value's bits differ from the frame before's */
} SourceInstance;

typedef struct GlideInstance {
    SprungOnePole smoother; /* of the position x in [0, 1] */
    int primed;             /* 0: the next frame jumps to its target */
    int jumped;             /* in this frame's pass: it jumped */
    int moved;              /* in this frame's pass: it jumped, or its bits changed */
    int moved_last;         /* moved, in the pass before */
} GlideInstance;

typedef struct RouteInstance {
    SprungNoteTrigger trigger;
    double value;           /* curve(lo, hi, its glide's smoothed x) */
} RouteInstance;

typedef struct VoiceNote {
    uint8_t channel, note, velocity, pressure;
} VoiceNote;

struct SprungModulation {
    uint32_t n_voices;
    uint32_t n_sources, n_routes, n_trigger_routes;
    double sample_rate;
    double tempo;
    SprungModelSource *sources; /* copies (their strings are not kept) */
    SprungModelRoute *routes;
    uint32_t *source_base;      /* first instance of source s */
    uint8_t *source_per_voice;
    uint32_t *route_base;
    uint8_t *route_per_voice;
    uint8_t *route_hears_mic;   /* its source follows a microphone (deferrable) */
    uint32_t n_glides;
    uint32_t *glide_route;      /* glide -> its first route (source, offset, amount,
                                   smoothing) */
    uint32_t *glide_base;       /* first instance of glide g (as route_base) */
    uint32_t *glide_begin;      /* glide g's routes: glide_routes[glide_begin[g] ..
                                   glide_begin[g + 1]), in route order */
    uint32_t *glide_routes;
    uint32_t *trigger_routes;   /* the Note Trigger routes, in route order */
    GlideInstance *glide_instances;
    uint8_t *route_settles;     /* sprung_modulation_report_settled() */
    uint8_t *route_changed;     /* its shared instance changed in its last pass */
    /* The parameter routes the last pass reported (glide by glide): shared
     * instance changed, or settled in this pass and reported then. */
    uint32_t *changed_routes;
    uint32_t n_changed;
    SourceInstance *source_instances;
    RouteInstance *route_instances;
    VoiceNote *notes;           /* per voice */
    SprungMpe mpe;
    double macros[SPRUNG_MACROS];
    double cc_any[128];         /* last value of each controller on any channel */
    double bend_any, pressure_any;
    uint16_t held[16][8];       /* singleton: held notes, a bit per note */
    uint32_t held_count;
    int defer_mic_followers;    /* sprung_modulation_defer_mic_followers() */
};

/* Equal as bits (+0 and -0 differ; a NaN equals itself). */
static int same_bits(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x == y;
}

/* Whether parameter routes a and b glide together (see above). */
static int same_glide(const SprungModelRoute *a, const SprungModelRoute *b)
{
    return a->source == b->source && same_bits(a->offset, b->offset) &&
           same_bits(a->amount, b->amount) && same_bits(a->smoothing_ms, b->smoothing_ms);
}

int sprung_modulation_source_per_note(const SprungModelSource *source)
{
    switch (source->type) {
    case SPRUNG_SOURCE_ENVELOPE:
        return 1;
    case SPRUNG_SOURCE_LFO:
        return source->retrigger;
    case SPRUNG_SOURCE_MIDI:
        return source->control != SPRUNG_MIDI_CC && source->channel == 0;
    default:
        return 0;
    }
}

int sprung_modulation_route_per_voice(const SprungModulation *modulation, uint32_t route)
{
    return modulation->route_per_voice[route];
}

uint32_t sprung_modulation_max_triggers(const SprungModulation *modulation)
{
    return modulation->n_trigger_routes * modulation->n_voices;
}

SprungStatus sprung_modulation_new(const SprungModelInstrument *spec, uint32_t n_voices,
                                   double sample_rate, const char *source_name,
                                   SprungModulation **out, SprungError *error)
{
    *out = NULL;
    if (n_voices < 1)
        n_voices = 1;
    SprungModulation *m = calloc(1, sizeof *m);
    uint32_t n_sources = spec ? spec->n_sources : 0, n_routes = spec ? spec->n_routes : 0;
    if (!m)
        goto no_memory;
    m->n_voices = n_voices;
    m->n_sources = n_sources;
    m->n_routes = n_routes;
    m->sample_rate = sample_rate;
    m->tempo = spec ? spec->tempo : 120.0;
    size_t s_count = n_sources ? n_sources : 1, r_count = n_routes ? n_routes : 1;
    m->sources = calloc(s_count, sizeof *m->sources);
    m->routes = calloc(r_count, sizeof *m->routes);
    m->source_base = calloc(s_count, sizeof *m->source_base);
    m->source_per_voice = calloc(s_count, 1);
    m->route_base = calloc(r_count, sizeof *m->route_base);
    m->route_per_voice = calloc(r_count, 1);
    m->route_hears_mic = calloc(r_count, 1);
    m->glide_route = calloc(r_count, sizeof *m->glide_route);
    m->glide_base = calloc(r_count, sizeof *m->glide_base);
    m->glide_begin = calloc(r_count + 1, sizeof *m->glide_begin);
    m->glide_routes = calloc(r_count, sizeof *m->glide_routes);
    m->trigger_routes = calloc(r_count, sizeof *m->trigger_routes);
    m->route_settles = calloc(r_count, 1);
    m->route_changed = calloc(r_count, 1);
    m->changed_routes = calloc(r_count, sizeof *m->changed_routes);
    m->notes = calloc(n_voices, sizeof *m->notes);
    if (!m->sources || !m->routes || !m->source_base || !m->source_per_voice || !m->route_base ||
        !m->route_per_voice || !m->route_hears_mic || !m->glide_route ||
        !m->glide_base || !m->glide_begin || !m->glide_routes || !m->trigger_routes ||
        !m->route_settles || !m->route_changed || !m->changed_routes || !m->notes)
        goto no_memory;
    uint32_t instances = 0;
    for (uint32_t s = 0; s < n_sources; ++s) {
        m->sources[s] = spec->sources[s];
        m->sources[s].id = NULL;
        m->sources[s].json = NULL;
        m->source_per_voice[s] = n_voices > 1 && sprung_modulation_source_per_note(&m->sources[s]);
        m->source_base[s] = instances;
        instances += m->source_per_voice[s] ? n_voices : 1;
    }
    m->source_instances = calloc(instances ? instances : 1, sizeof *m->source_instances);
    uint32_t route_instances = 0;
    for (uint32_t r = 0; r < n_routes; ++r) {
        m->routes[r] = spec->routes[r];
        m->routes[r].json = NULL;
        m->route_per_voice[r] = m->source_per_voice[m->routes[r].source];
        m->route_hears_mic[r] =
            (uint8_t)sprung_modulation_source_hears_mic(&m->sources[m->routes[r].source]);
        m->route_base[r] = route_instances;
        route_instances += m->route_per_voice[r] ? n_voices : 1;
        if (m->routes[r].kind == SPRUNG_ROUTE_NOTE_TRIGGER)
            m->trigger_routes[m->n_trigger_routes++] = r;
    }
    m->route_instances = calloc(route_instances ? route_instances : 1,
                                sizeof *m->route_instances);
    /* Glides in the order of their first routes, then each one's routes. */
    uint32_t glide_instances = 0;
    for (uint32_t r = 0; r < n_routes; ++r) {
        if (m->routes[r].kind != SPRUNG_ROUTE_PARAMETER)
            continue;
        uint32_t g = 0;
        while (g < m->n_glides && !same_glide(&m->routes[m->glide_route[g]], &m->routes[r]))
            ++g;
        if (g == m->n_glides) {
            m->glide_route[m->n_glides++] = r;
            m->glide_base[g] = glide_instances;
            glide_instances += m->route_per_voice[r] ? n_voices : 1;
        }
    }
    uint32_t grouped = 0;
    for (uint32_t g = 0; g < m->n_glides; ++g) {
        m->glide_begin[g] = grouped;
        for (uint32_t r = 0; r < n_routes; ++r)
            if (m->routes[r].kind == SPRUNG_ROUTE_PARAMETER &&
                same_glide(&m->routes[m->glide_route[g]], &m->routes[r]))
                m->glide_routes[grouped++] = r;
    }
    m->glide_begin[m->n_glides] = grouped;
    m->glide_instances = calloc(glide_instances ? glide_instances : 1,
                                sizeof *m->glide_instances);
    if (!m->source_instances || !m->route_instances || !m->glide_instances)
        goto no_memory;
    for (uint32_t k = 0; k < SPRUNG_MACROS; ++k)
        m->macros[k] = 0.0;
    sprung_mpe_init(&m->mpe);
    if (spec) {
        if (spec->mpe_lower)
            sprung_mpe_set_zone(&m->mpe, SPRUNG_MPE_LOWER, (uint32_t)spec->mpe_lower);
        if (spec->mpe_upper)
            sprung_mpe_set_zone(&m->mpe, SPRUNG_MPE_UPPER, (uint32_t)spec->mpe_upper);
        for (int z = 0; z < 2; ++z) {
            m->mpe.zone[z].member_range = spec->member_bend_range;
            m->mpe.zone[z].master_range = spec->master_bend_range;
        }
        for (int c = 0; c < 16; ++c)
            m->mpe.channel[c].range = spec->master_bend_range;
    }
    sprung_modulation_reset(m);
    *out = m;
    return SPRUNG_OK;

no_memory:
    sprung_modulation_free(m);
    return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, source_name, 0, 0, NULL,
                            "out of memory for the modulation state");
}

void sprung_modulation_free(SprungModulation *m)
{
    if (!m)
        return;
    free(m->sources);
    free(m->routes);
    free(m->source_base);
    free(m->source_per_voice);
    free(m->route_base);
    free(m->route_per_voice);
    free(m->route_hears_mic);
    free(m->glide_route);
    free(m->glide_base);
    free(m->glide_begin);
    free(m->glide_routes);
    free(m->trigger_routes);
    free(m->glide_instances);
    free(m->route_settles);
    free(m->route_changed);
    free(m->changed_routes);
    free(m->source_instances);
    free(m->route_instances);
    free(m->notes);
    free(m);
}

static uint32_t source_instance_count(const SprungModulation *m, uint32_t s)
{
    return m->source_per_voice[s] ? m->n_voices : 1;
}

static uint32_t route_instance_count(const SprungModulation *m, uint32_t r)
{
    return m->route_per_voice[r] ? m->n_voices : 1;
}

static void source_instance_init(SprungModulation *m, uint32_t s, SourceInstance *instance)
{
    const SprungModelSource *source = &m->sources[s];
    memset(instance, 0, sizeof *instance);
    switch (source->type) {
    case SPRUNG_SOURCE_LFO: {
        SprungLfoConfig config = {.shape = (SprungLfoShape)source->shape,
                                  .rate_hz = source->rate_hz,
                                  .sync_beats = source->sync_beats,
                                  .phase = source->phase,
                                  .retrigger = source->retrigger,
                                  .seed = source->seed};
        sprung_lfo_init(&instance->lfo, &config, m->sample_rate, m->tempo);
        break;
    }
    case SPRUNG_SOURCE_ENVELOPE: {
        SprungAdsrConfig config = {source->attack_ms, source->decay_ms, source->sustain,
                                   source->release_ms};
        sprung_adsr_init(&instance->adsr, &config, m->sample_rate);
        break;
    }
    case SPRUNG_SOURCE_FOLLOWER:
        sprung_follower_init(&instance->follower, source->attack_ms, source->release_ms,
                             m->sample_rate);
        break;
    default:
        break;
    }
}

SPRUNG_REALTIME void sprung_modulation_reset(SprungModulation *m)
{
    for (uint32_t s = 0; s < m->n_sources; ++s)
        for (uint32_t k = 0; k < source_instance_count(m, s); ++k)
            source_instance_init(m, s, &m->source_instances[m->source_base[s] + k]);
    for (uint32_t r = 0; r < m->n_routes; ++r) {
        for (uint32_t k = 0; k < route_instance_count(m, r); ++k) {
            RouteInstance *instance = &m->route_instances[m->route_base[r] + k];
            sprung_note_trigger_reset(&instance->trigger);
            instance->value = m->routes[r].lo;
        }
    }
    for (uint32_t g = 0; g < m->n_glides; ++g) {
        uint32_t r = m->glide_route[g];
        for (uint32_t k = 0; k < route_instance_count(m, r); ++k) {
            GlideInstance *glide = &m->glide_instances[m->glide_base[g] + k];
            memset(glide, 0, sizeof *glide);
            sprung_one_pole_init(&glide->smoother, 0.0, m->routes[r].smoothing_ms,
                                 m->sample_rate);
        }
    }
    for (uint32_t v = 0; v < m->n_voices; ++v)
        memset(&m->notes[v], 0, sizeof m->notes[v]);
    sprung_mpe_reset_controllers(&m->mpe);
    for (int c = 0; c < 128; ++c)
        m->cc_any[c] = 0.0;
    m->bend_any = 0.0;
    m->pressure_any = 0.0;
    memset(m->held, 0, sizeof m->held);
    m->held_count = 0;
    m->n_changed = 0;
    memset(m->route_changed, 0, m->n_routes ? m->n_routes : 1);
}

/* The instance of source s for voice v. */
static SourceInstance *source_instance(SprungModulation *m, uint32_t s, uint32_t voice)
{
    return &m->source_instances[m->source_base[s] + (m->source_per_voice[s] ? voice : 0)];
}

SPRUNG_REALTIME void sprung_modulation_note_on(SprungModulation *m, uint32_t voice,
                                               uint8_t channel, uint8_t note, uint8_t velocity)
{
    if (voice >= m->n_voices)
        return;
    VoiceNote *n = &m->notes[voice];
    n->channel = channel;
    n->note = note;
    n->velocity = velocity;
    n->pressure = 0;
    if (m->n_voices == 1 && channel < 16 && note < 128) {
        uint16_t bit = (uint16_t)(1u << (note & 15));
        if (!(m->held[channel][note >> 4] & bit)) {
            m->held[channel][note >> 4] |= bit;
            m->held_count++;
        }
    }
    for (uint32_t s = 0; s < m->n_sources; ++s) {
        const SprungModelSource *source = &m->sources[s];
        SourceInstance *instance = source_instance(m, s, voice);
        if (source->type == SPRUNG_SOURCE_ENVELOPE)
            sprung_adsr_gate_on(&instance->adsr);
        else if (source->type == SPRUNG_SOURCE_LFO && source->retrigger)
            sprung_lfo_retrigger(&instance->lfo);
    }
}

SPRUNG_REALTIME void sprung_modulation_note_off(SprungModulation *m, uint32_t voice,
                                                uint8_t channel, uint8_t note)
{
    if (voice >= m->n_voices)
        return;
    if (m->n_voices == 1) {
        if (channel < 16 && note < 128) {
            uint16_t bit = (uint16_t)(1u << (note & 15));
            if (m->held[channel][note >> 4] & bit) {
                m->held[channel][note >> 4] &= (uint16_t)~bit;
                m->held_count--;
            }
        }
        if (m->held_count > 0)
            return; /* singleton envelopes stay open while any note is held */
    }
    for (uint32_t s = 0; s < m->n_sources; ++s)
        if (m->sources[s].type == SPRUNG_SOURCE_ENVELOPE)
            sprung_adsr_gate_off(&source_instance(m, s, voice)->adsr);
}

SPRUNG_REALTIME void sprung_modulation_voice_started(SprungModulation *m, uint32_t voice)
{
    for (uint32_t g = 0; g < m->n_glides; ++g)
        if (m->route_per_voice[m->glide_route[g]] && voice < m->n_voices)
            m->glide_instances[m->glide_base[g] + voice].primed = 0;
}

SPRUNG_REALTIME void sprung_modulation_control_change(SprungModulation *m, uint8_t channel,
                                                      uint8_t control, uint8_t value)
{
    if (channel > 15 || control > 127)
        return;
    sprung_mpe_control_change(&m->mpe, channel, control, value);
    m->cc_any[control] = (value > 127 ? 127 : value) / 127.0;
    if (control == 121) {
        /* Reset All Controllers: the any-channel values follow the channel's
         * (sources without a channel must not keep a stale wheel or bend),
         * and so do the poly pressures of its notes. */
        sprung_mpe_reset_controller_values(m->cc_any);
        m->bend_any = 0.0;
        m->pressure_any = 0.0;
        for (uint32_t v = 0; v < m->n_voices; ++v)
            if (m->notes[v].channel == channel)
                m->notes[v].pressure = 0;
    }
}

SPRUNG_REALTIME void sprung_modulation_pitch_bend(SprungModulation *m, uint8_t channel,
                                                  uint16_t value14)
{
    sprung_mpe_pitch_bend(&m->mpe, channel, value14);
    if (channel < 16)
        m->bend_any = m->mpe.channel[channel].bend;
}

SPRUNG_REALTIME void sprung_modulation_channel_pressure(SprungModulation *m, uint8_t channel,
                                                        uint8_t value)
{
    sprung_mpe_channel_pressure(&m->mpe, channel, value);
    if (channel < 16)
        m->pressure_any = m->mpe.channel[channel].pressure;
}

SPRUNG_REALTIME void sprung_modulation_poly_pressure(SprungModulation *m, uint32_t voice,
                                                     uint8_t value)
{
    if (voice < m->n_voices)
        m->notes[voice].pressure = value > 127 ? 127 : value;
}

SPRUNG_REALTIME void sprung_modulation_set_macro(SprungModulation *m, uint32_t index,
                                                 double value)
{
    if (index >= SPRUNG_MACROS || isnan(value))
        return;
    m->macros[index] = value < 0.0 ? 0.0 : value > 1.0 ? 1.0 : value;
}

SPRUNG_REALTIME void sprung_modulation_set_tempo(SprungModulation *m, double bpm)
{
    if (!(bpm >= 1.0 && bpm <= 999.0) || bpm == m->tempo)
        return;
    m->tempo = bpm;
    for (uint32_t s = 0; s < m->n_sources; ++s)
        if (m->sources[s].type == SPRUNG_SOURCE_LFO)
            for (uint32_t k = 0; k < source_instance_count(m, s); ++k)
                sprung_lfo_set_tempo(&m->source_instances[m->source_base[s] + k].lfo, bpm);
}

SPRUNG_REALTIME SprungMpe *sprung_modulation_mpe(SprungModulation *m)
{
    return &m->mpe;
}

/* A MIDI source's value for voice v. */
static double midi_value(const SprungModulation *m, const SprungModelSource *source,
                         uint32_t voice)
{
    const VoiceNote *n = &m->notes[voice < m->n_voices ? voice : 0];
    int fixed = source->channel > 0;
    uint8_t channel = fixed ? (uint8_t)(source->channel - 1) : n->channel;
    switch (source->control) {
    case SPRUNG_MIDI_CC:
        return fixed ? m->mpe.channel[channel].cc[source->number] : m->cc_any[source->number];
    case SPRUNG_MIDI_PITCH_BEND:
        return fixed || m->n_voices > 1 ? m->mpe.channel[channel].bend : m->bend_any;
    case SPRUNG_MIDI_CHANNEL_PRESSURE:
        return fixed || m->n_voices > 1 ? m->mpe.channel[channel].pressure : m->pressure_any;
    case SPRUNG_MIDI_POLY_PRESSURE:
        return n->pressure / 127.0;
    case SPRUNG_MIDI_VELOCITY:
        return n->velocity / 127.0;
    case SPRUNG_MIDI_KEY:
        return n->note / 127.0;
    case SPRUNG_MIDI_TIMBRE:
        return m->mpe.channel[channel].timbre;
    default:
        return 0.0;
    }
}

static double follower_input(const SprungModelSource *source,
                             const SprungModulationInputs *inputs)
{
    if (!inputs)
        return 0.0;
    if (source->input >= 0)
        return inputs->input_frame && (uint32_t)source->input < inputs->n_inputs
                   ? inputs->input_frame[source->input]
                   : 0.0;
    return inputs->mic_values && source->microphone < inputs->n_mics
               ? inputs->mic_values[source->microphone]
               : 0.0;
}

int sprung_modulation_source_hears_mic(const SprungModelSource *source)
{
    return source->type == SPRUNG_SOURCE_FOLLOWER && source->input < 0;
}

void sprung_modulation_defer_mic_followers(SprungModulation *m, int defer)
{
    m->defer_mic_followers = defer;
}

/* Which sources and routes a pass over the frame evaluates. */
typedef enum FramePart {
    PART_ALL,      /* everything (nothing deferred) */
    PART_NOW,      /* all but the deferred followers and their routes */
    PART_DEFERRED, /* only those */
} FramePart;

/* Whether a source (or route) that does or does not hear a microphone is
 * evaluated in `part`. */
static int in_part(int hears_mic, FramePart part)
{
    return part == PART_ALL || hears_mic == (part == PART_DEFERRED);
}

static void sources_next(SprungModulation *m, const SprungModulationInputs *inputs,
                         FramePart part)
{
    for (uint32_t s = 0; s < m->n_sources; ++s) {
        const SprungModelSource *source = &m->sources[s];
        if (!in_part(sprung_modulation_source_hears_mic(source), part))
            continue;
        for (uint32_t k = 0; k < source_instance_count(m, s); ++k) {
            SourceInstance *instance = &m->source_instances[m->source_base[s] + k];
            double value = instance->value;
            switch (source->type) {
            case SPRUNG_SOURCE_LFO:
                value = sprung_lfo_next(&instance->lfo);
                break;
            case SPRUNG_SOURCE_ENVELOPE:
                value = sprung_adsr_next(&instance->adsr);
                break;
            case SPRUNG_SOURCE_FOLLOWER:
                value = sprung_follower_next(&instance->follower, follower_input(source, inputs));
                break;
            case SPRUNG_SOURCE_MIDI:
                value = midi_value(m, source, k);
                break;
            case SPRUNG_SOURCE_MACRO:
                value = m->macros[source->macro];
                break;
            case SPRUNG_SOURCE_CONSTANT:
                value = source->value;
                break;
            }
            instance->changed = !same_bits(value, instance->value);
            instance->value = value;
        }
    }
}

/* A glide instance's smoothed position for this frame. One whose source
 * did not change and whose smoother has settled stays where it is without
 * being worked out again: the same bits, since the smoother then lands on
 * the same target (smoothing.h). That is most glides of a played preset
 * most of the time (a controller at rest, an envelope's sustain). */
static void glide_next(const SprungModelRoute *route, GlideInstance *glide,
                       const SourceInstance *source)
{
    glide->moved_last = glide->moved;
    glide->jumped = glide->moved = 0;
    if (glide->primed && !source->changed && glide->smoother.value == glide->smoother.target)
        return;
    double x = sprung_route_position(route->offset, route->amount, source->value);
    double before = glide->smoother.value;
    if (!glide->primed) {
        sprung_one_pole_jump(&glide->smoother, x);
        glide->primed = glide->jumped = 1;
    } else {
        sprung_one_pole_set_target(&glide->smoother, x);
    }
    sprung_one_pole_next(&glide->smoother);
    glide->moved = glide->jumped || !same_bits(glide->smoother.value, before);
}

/* A parameter route instance's value for this frame: its curve of its
 * glide's position; 1 when its bits changed or the glide jumped (whoever
 * reads it must then take it). */
static int route_next(const SprungModelRoute *route, RouteInstance *instance,
                      const GlideInstance *glide)
{
    double value = sprung_curve_map((SprungCurve)route->curve, route->lo, route->hi,
                                    glide->smoother.value);
    int changed = glide->jumped || !same_bits(value, instance->value);
    instance->value = value;
    return changed;
}

/* Every glide's position for this frame, then the parameter routes of each
 * glide that moved (or moved in the pass before: a route reported settled
 * is listed then), and the list of those that changed. A glide that stood
 * still keeps its routes' values without visiting them: a vibraphone's 37
 * routes on a controller at rest are one test per frame. One pass: a
 * glide's routes read only that glide. */
static void glides_next(SprungModulation *m, FramePart part)
{
    /* Locals: the stores below (doubles, the changed list) would otherwise
     * make the compiler load every array pointer again for each route. */
    const SprungModelRoute *routes = m->routes;
    RouteInstance *route_instances = m->route_instances;
    GlideInstance *glide_instances = m->glide_instances;
    const uint32_t *route_base = m->route_base, *glide_base = m->glide_base;
    const uint32_t *glide_begin = m->glide_begin, *glide_routes = m->glide_routes;
    uint32_t *changed_routes = m->changed_routes;
    uint32_t n_changed = 0;
    for (uint32_t g = 0; g < m->n_glides; ++g) {
        uint32_t first = m->glide_route[g];
        if (!in_part(m->route_hears_mic[first], part))
            continue;
        for (uint32_t k = 0; k < route_instance_count(m, first); ++k) {
            GlideInstance *glide = &glide_instances[glide_base[g] + k];
            glide_next(&routes[first], glide, source_instance(m, routes[first].source, k));
            if (!glide->moved && !glide->moved_last)
                continue;
            for (uint32_t e = glide_begin[g]; e < glide_begin[g + 1]; ++e) {
                uint32_t r = glide_routes[e];
                int changed = route_next(&routes[r], &route_instances[route_base[r] + k], glide);
                if (k == 0) { /* the list is of the shared (voice 0's) instances */
                    if (changed || (m->route_settles[r] && m->route_changed[r]))
                        changed_routes[n_changed++] = r;
                    m->route_changed[r] = (uint8_t)changed;
                }
            }
        }
    }
    m->n_changed = n_changed;
}

/* The Note Trigger routes' edges this frame, into `triggers` (NULL: none
 * wanted); returns how many. */
static uint32_t triggers_next(SprungModulation *m, FramePart part, SprungTriggerEvent *triggers)
{
    uint32_t n_triggers = 0;
    for (uint32_t t = 0; t < m->n_trigger_routes; ++t) {
        uint32_t r = m->trigger_routes[t];
        const SprungModelRoute *route = &m->routes[r];
        if (!in_part(m->route_hears_mic[r], part))
            continue;
        for (uint32_t k = 0; k < route_instance_count(m, r); ++k) {
            RouteInstance *instance = &m->route_instances[m->route_base[r] + k];
            const SourceInstance *source = source_instance(m, route->source, k);
            SprungTriggerEdge edge = sprung_note_trigger_next(
                &instance->trigger, route->offset + route->amount * source->value);
            if (edge != SPRUNG_TRIGGER_NONE && triggers) {
                SprungTriggerEvent *event = &triggers[n_triggers++];
                event->route = r;
                event->on = edge == SPRUNG_TRIGGER_ON;
                event->channel = (uint8_t)(route->channel - 1);
                event->note = (uint8_t)route->note;
                event->velocity = (uint8_t)route->velocity;
            }
        }
    }
    return n_triggers;
}

SPRUNG_REALTIME uint32_t sprung_modulation_frame(SprungModulation *m,
                                                 const SprungModulationInputs *inputs,
                                                 SprungTriggerEvent *triggers)
{
    FramePart part = m->defer_mic_followers ? PART_NOW : PART_ALL;
    sources_next(m, inputs, part);
    glides_next(m, part);
    return triggers_next(m, part, triggers);
}

SPRUNG_REALTIME void sprung_modulation_follow(SprungModulation *m,
                                              const SprungModulationInputs *inputs)
{
    sources_next(m, inputs, PART_DEFERRED);
    glides_next(m, PART_DEFERRED);
    triggers_next(m, PART_DEFERRED, NULL);
}

void sprung_modulation_report_settled(SprungModulation *m, uint32_t route)
{
    if (route < m->n_routes)
        m->route_settles[route] = 1;
}

SPRUNG_REALTIME uint32_t sprung_modulation_changed_routes(const SprungModulation *m,
                                                          const uint32_t **routes)
{
    *routes = m->changed_routes;
    return m->n_changed;
}

SPRUNG_REALTIME double sprung_modulation_route_value(const SprungModulation *m, uint32_t route,
                                                     uint32_t voice)
{
    if (route >= m->n_routes)
        return 0.0;
    uint32_t k = m->route_per_voice[route] && voice < m->n_voices ? voice : 0;
    return m->route_instances[m->route_base[route] + k].value;
}

SPRUNG_REALTIME double sprung_modulation_source_value(const SprungModulation *m,
                                                      uint32_t source, uint32_t voice)
{
    if (source >= m->n_sources)
        return 0.0;
    uint32_t k = m->source_per_voice[source] && voice < m->n_voices ? voice : 0;
    return m->source_instances[m->source_base[source] + k].value;
}
