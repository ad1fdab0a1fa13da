/* The engine's side of modulation: MIDI in, route values out into the
 * compiled arrays and the state, Note Triggers out as note events
 * (engine_modulation.h). new/free on the control thread; the rest never
 * allocates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_modulation.h"
#include "engine/mic_pan.h"
#include "engine/modulation.h"
#include "model/model.h"
#include "model/model_modulation.h"

struct SprungEngineModulation {
    SprungModulation *runtime;
    uint32_t n_routes;
    SprungModelRoute *routes;      /* copies: kind, parameter, object */
    uint32_t n_mics;
    double *mic_gain;              /* the preset's values, then the modulated ones */
    SprungMicPan *mic_pan;         /* likewise, with the pan law kept */
    int *mic_stereo;               /* 1 when the microphone is panned to stereo */
    double frame_time;             /* seconds per output frame */
    double engine_rate;
    SprungTriggerEvent *triggers;  /* max_triggers */
    uint32_t max_triggers;
    int primed;                    /* 0 until the first frame after new/reset: anchors
                                      take their place without a velocity kick */
    uint8_t *route_hears_mic;      /* per route: its source follows a microphone */
    uint8_t *mallet_followed;      /* per mallet: a deferred route sets its strength */
    uint32_t n_mallets;
};

/* Whether applying route r (apply_route, below) writes what its value alone
 * decides, so that once its value stops changing it need not be applied
 * again (sprung_modulation_changed_routes). Not so for an anchor: its
 * velocity is its move since the frame before, which must drop to 0 once
 * it stops (then its writes change nothing: the velocity stays 0 and the
 * place where it is). No other route can undo a route's write: the preset
 * loader gives each parameter at most one route (model_modulation.c), and
 * a microphone's gain and pan routes each write its gains from both. */
static int applies_its_value_only(const SprungModelRoute *route)
{
    return route->kind != SPRUNG_ROUTE_PARAMETER ||
           (route->parameter != SPRUNG_TARGET_ANCHOR_X &&
            route->parameter != SPRUNG_TARGET_ANCHOR_Y &&
            route->parameter != SPRUNG_TARGET_ANCHOR_Z);
}

SprungStatus sprung_engine_modulation_new(const SprungModel *model, SprungCompiled *compiled,
                                          double sample_rate, uint32_t oversampling,
                                          SprungEngineModulation **out, SprungError *error)
{
    *out = NULL;
    const SprungModelInstrument *spec = model->instrument;
    if (!spec || (spec->n_sources == 0 && spec->n_routes == 0))
        return SPRUNG_OK;
    SprungEngineModulation *m = calloc(1, sizeof *m);
    if (!m)
        goto no_memory;
    SprungStatus status = sprung_modulation_new(spec, 1, sample_rate, model->source, &m->runtime,
                                                error);
    if (status != SPRUNG_OK) {
        free(m);
        return status;
    }
    m->n_routes = spec->n_routes;
    m->routes = calloc(spec->n_routes ? spec->n_routes : 1, sizeof *m->routes);
    m->n_mics = model->n_microphones;
    m->mic_gain = calloc(m->n_mics ? m->n_mics : 1, sizeof *m->mic_gain);
    m->mic_pan = calloc(m->n_mics ? m->n_mics : 1, sizeof *m->mic_pan);
    m->mic_stereo = calloc(m->n_mics ? m->n_mics : 1, sizeof *m->mic_stereo);
    m->max_triggers = sprung_modulation_max_triggers(m->runtime);
    m->triggers = calloc(m->max_triggers ? m->max_triggers : 1, sizeof *m->triggers);
    m->n_mallets = model->n_mallets;
    m->route_hears_mic = calloc(spec->n_routes ? spec->n_routes : 1, 1);
    m->mallet_followed = calloc(m->n_mallets ? m->n_mallets : 1, 1);
    if (!m->routes || !m->mic_gain || !m->mic_pan || !m->mic_stereo || !m->triggers ||
        !m->route_hears_mic || !m->mallet_followed)
        goto no_memory;
    for (uint32_t r = 0; r < spec->n_routes; ++r) {
        m->routes[r] = spec->routes[r];
        m->routes[r].json = NULL;
        m->route_hears_mic[r] =
            (uint8_t)sprung_modulation_source_hears_mic(&spec->sources[spec->routes[r].source]);
        if (!applies_its_value_only(&spec->routes[r]))
            sprung_modulation_report_settled(m->runtime, r);
    }
    for (uint32_t i = 0; i < m->n_mics; ++i) {
        m->mic_gain[i] = model->microphones[i].gain;
        sprung_mic_pan_init(&m->mic_pan[i], model->microphones[i].pan);
        m->mic_stereo[i] = model->microphones[i].output == SPRUNG_MIC_OUTPUT_PAN;
    }
    m->frame_time = 1.0 / sample_rate;
    m->engine_rate = sample_rate * oversampling;
    (void)compiled;
    *out = m;
    return SPRUNG_OK;

no_memory:
    sprung_engine_modulation_free(m);
    return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, model->source, 0, 0, NULL,
                            "out of memory for the modulation state");
}

void sprung_engine_modulation_free(SprungEngineModulation *m)
{
    if (!m)
        return;
    sprung_modulation_free(m->runtime);
    free(m->routes);
    free(m->mic_gain);
    free(m->mic_pan);
    free(m->mic_stereo);
    free(m->triggers);
    free(m->route_hears_mic);
    free(m->mallet_followed);
    free(m);
}

int sprung_engine_modulation_defer_followers(SprungEngineModulation *m)
{
    memset(m->mallet_followed, 0, m->n_mallets ? m->n_mallets : 1);
    for (uint32_t r = 0; r < m->n_routes; ++r) {
        const SprungModelRoute *route = &m->routes[r];
        if (!m->route_hears_mic[r])
            continue;
        if (route->kind != SPRUNG_ROUTE_PARAMETER ||
            route->parameter != SPRUNG_TARGET_MALLET_STRENGTH)
            goto not_deferrable;
        m->mallet_followed[route->object] = 1;
    }
    /* A strength also set by a route that is not deferred would be set out
     * of route order. */
    for (uint32_t r = 0; r < m->n_routes; ++r) {
        const SprungModelRoute *route = &m->routes[r];
        if (!m->route_hears_mic[r] && route->kind == SPRUNG_ROUTE_PARAMETER &&
            route->parameter == SPRUNG_TARGET_MALLET_STRENGTH &&
            m->mallet_followed[route->object])
            goto not_deferrable;
    }
    sprung_modulation_defer_mic_followers(m->runtime, 1);
    return 1;

not_deferrable:
    memset(m->mallet_followed, 0, m->n_mallets ? m->n_mallets : 1);
    return 0;
}

SPRUNG_REALTIME int sprung_engine_modulation_mallet_followed(const SprungEngineModulation *m,
                                                             uint32_t mallet)
{
    return mallet < m->n_mallets && m->mallet_followed[mallet];
}

uint32_t sprung_engine_modulation_extra_events(const SprungEngineModulation *m)
{
    return m ? m->max_triggers : 0;
}

static SPRUNG_REALTIME void move_anchor(SprungCompiled *c, SprungState *s, uint32_t anchor,
                                        int axis, double position, double frame_time,
                                        int primed)
{
    uint32_t node = c->n_bodies + anchor;
    float *u = axis == 0 ? s->ux : axis == 1 ? s->uy : s->uz;
    float *v = axis == 0 ? s->vx : axis == 1 ? s->vy : s->vz;
    const float *rest = axis == 0 ? c->rest_x : axis == 1 ? c->rest_y : c->rest_z;
    float displacement = (float)(position - (double)rest[node]);
    v[node] = primed ? (float)(((double)displacement - (double)u[node]) / frame_time) : 0.0f;
    u[node] = displacement;
}

static SPRUNG_REALTIME void set_mic(SprungEngineModulation *m, SprungCompiled *c, uint32_t i)
{
    double gain = m->mic_gain[i];
    c->mic_gain[i] = (float)gain;
    if (m->mic_stereo[i]) {
        c->mic_gain_left[i] = (float)(gain * m->mic_pan[i].left);
        c->mic_gain_right[i] = (float)(gain * m->mic_pan[i].right);
    } else if (c->mic_channel[i] < 2) {
        c->mic_gain_left[i] = c->mic_channel[i] == 0 ? (float)gain : 0.0f;
        c->mic_gain_right[i] = c->mic_channel[i] == 1 ? (float)gain : 0.0f;
    }
}

/* Writes route r's value where the kernel (or the host) reads it. */
static SPRUNG_REALTIME void apply_route(SprungEngineModulation *m, SprungCompiled *c,
                                        SprungState *s, const SprungModelRoute *route,
                                        double value)
{
    uint32_t i = route->object;
    switch (route->parameter) {
    case SPRUNG_TARGET_BODY_MASS:
        c->inv_mass[i] = (float)(1.0 / value);
        break;
    case SPRUNG_TARGET_BODY_DRAG:
        c->drag[i] = (float)value;
        break;
    case SPRUNG_TARGET_ANCHOR_X:
    case SPRUNG_TARGET_ANCHOR_Y:
    case SPRUNG_TARGET_ANCHOR_Z:
        move_anchor(c, s, i, (int)(route->parameter - SPRUNG_TARGET_ANCHOR_X), value,
                    m->frame_time, m->primed);
        break;
    case SPRUNG_TARGET_SPRING_STIFFNESS:
        c->spring_stiffness[i] = (float)value;
        break;
    case SPRUNG_TARGET_SPRING_DAMPING:
        c->spring_damping[i] = (float)value;
        break;
    case SPRUNG_TARGET_SPRING_REST_LENGTH:
        c->spring_rest_length[i] = (float)value;
        c->spring_preload[i] = (float)((double)c->spring_length0[i] - value);
        break;
    case SPRUNG_TARGET_MALLET_STRENGTH:
        c->mallet_strength[i] = value;
        break;
    case SPRUNG_TARGET_MIC_GAIN:
        m->mic_gain[i] = value;
        set_mic(m, c, i);
        break;
    case SPRUNG_TARGET_MIC_PAN:
        sprung_mic_pan_set(&m->mic_pan[i], value);
        set_mic(m, c, i);
        break;
    case SPRUNG_TARGET_OSCILLATOR_AMPLITUDE:
        c->exciter_strength[i] = (float)value; /* oscillators come first among exciters */
        break;
    case SPRUNG_TARGET_OSCILLATOR_FREQUENCY:
        c->exciter_frequency[i] = value;
        break;
    case SPRUNG_TARGET_DELAY_TIME: {
        double steps = round(value * 1e-3 * m->engine_rate);
        uint32_t most = c->delay_ring_length[i] > 1 ? c->delay_ring_length[i] - 1 : 1;
        c->delay_steps[i] = steps < 1.0 ? 1u : steps > most ? most : (uint32_t)steps;
        break;
    }
    default:
        break;
    }
}

/* The routes the last pass of the runtime changed (those it evaluated:
 * the deferred ones in follow(), the others in frame()). */
static SPRUNG_REALTIME void apply_changed_routes(SprungEngineModulation *m, SprungCompiled *c,
                                                 SprungState *s)
{
    const uint32_t *changed;
    uint32_t n_changed = sprung_modulation_changed_routes(m->runtime, &changed);
    for (uint32_t k = 0; k < n_changed; ++k) {
        uint32_t r = changed[k];
        apply_route(m, c, s, &m->routes[r], sprung_modulation_route_value(m->runtime, r, 0));
    }
}

SPRUNG_REALTIME uint32_t sprung_engine_modulation_frame(
    SprungEngineModulation *m, SprungCompiled *c, SprungState *s, const SprungEvent *events,
    uint32_t n_events, const float *input_frame, uint32_t n_inputs, SprungEvent *notes)
{
    SprungModulation *runtime = m->runtime;
    uint32_t n_notes = 0;
    for (uint32_t e = 0; e < n_events; ++e) {
        const SprungEvent *event = &events[e];
        switch (event->type) {
        case SPRUNG_EVENT_NOTE_ON:
            if (event->velocity > 0)
                sprung_modulation_note_on(runtime, 0, event->channel, event->note,
                                          event->velocity);
            else
                sprung_modulation_note_off(runtime, 0, event->channel, event->note);
            notes[n_notes] = *event;
            notes[n_notes++].frame = 0;
            break;
        case SPRUNG_EVENT_NOTE_OFF:
            sprung_modulation_note_off(runtime, 0, event->channel, event->note);
            notes[n_notes] = *event;
            notes[n_notes++].frame = 0;
            break;
        case SPRUNG_EVENT_CONTROL_CHANGE:
            sprung_modulation_control_change(runtime, event->channel, event->note,
                                             (uint8_t)(event->value > 127 ? 127 : event->value));
            break;
        case SPRUNG_EVENT_PITCH_BEND:
            sprung_modulation_pitch_bend(runtime, event->channel, event->value);
            break;
        case SPRUNG_EVENT_CHANNEL_PRESSURE:
            sprung_modulation_channel_pressure(runtime, event->channel,
                                               (uint8_t)(event->value > 127 ? 127 : event->value));
            break;
        case SPRUNG_EVENT_POLY_PRESSURE:
            sprung_modulation_poly_pressure(runtime, 0,
                                            (uint8_t)(event->value > 127 ? 127 : event->value));
            break;
        default:
            break;
        }
    }
    /* Followers hear the inputs of this frame and the microphones of the
     * last step rendered (one frame late: the frame is not rendered yet). */
    SprungModulationInputs inputs = {input_frame, input_frame ? n_inputs : 0,
                                     s->mic_value, s->mic_value ? c->n_microphones : 0};
    uint32_t n_triggers = sprung_modulation_frame(runtime, &inputs, m->triggers);
    for (uint32_t t = 0; t < n_triggers; ++t) {
        const SprungTriggerEvent *trigger = &m->triggers[t];
        SprungEvent note = {.frame = 0,
                            .type = trigger->on ? SPRUNG_EVENT_NOTE_ON : SPRUNG_EVENT_NOTE_OFF,
                            .channel = trigger->channel,
                            .note = trigger->note,
                            .velocity = trigger->on ? trigger->velocity : 0};
        if (trigger->on)
            sprung_modulation_note_on(runtime, 0, note.channel, note.note, note.velocity);
        else
            sprung_modulation_note_off(runtime, 0, note.channel, note.note);
        notes[n_notes++] = note;
    }
    apply_changed_routes(m, c, s);
    m->primed = 1;
    return n_notes;
}

SPRUNG_REALTIME void sprung_engine_modulation_follow(SprungEngineModulation *m,
                                                     SprungCompiled *c, SprungState *s,
                                                     const float *mic_values)
{
    SprungModulationInputs inputs = {NULL, 0, mic_values, c->n_microphones};
    sprung_modulation_follow(m->runtime, &inputs);
    apply_changed_routes(m, c, s);
}

SPRUNG_REALTIME void sprung_engine_modulation_reset(SprungEngineModulation *m,
                                                    SprungCompiled *c, SprungState *s)
{
    (void)c;
    (void)s;
    sprung_modulation_reset(m->runtime);
    m->primed = 0;
}

SPRUNG_REALTIME void sprung_engine_modulation_set_macro(SprungEngineModulation *m,
                                                        uint32_t index, double value)
{
    sprung_modulation_set_macro(m->runtime, index, value);
}

SPRUNG_REALTIME uint16_t sprung_engine_modulation_channels_reached(
    const SprungEngineModulation *m, uint8_t channel)
{
    return sprung_mpe_channels_reached(sprung_modulation_mpe(m->runtime), channel);
}
