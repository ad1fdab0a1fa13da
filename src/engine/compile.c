/* Model -> SprungCompiled: the flat float32 arrays every backend reads, and
 * the state they step. Control thread only (allocates).
 *
 * Memory: each of SprungCompiled and SprungState is carved from one block.
 * The carving runs twice, first against a NULL base to add up the size, then
 * against the allocated block (the llm.c malloc_and_point_parameters
 * pattern), so the layout is computed in exactly one place. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/compiled.h"
#include "engine/mic_pan.h"
#include "engine/modulation_writes.h"
#include "model/model_modulation.h"

#define SPRUNG_COMPILED_ALIGN 64u

/* Longest mallet pulse accepted, in engine steps (a pulse of more than 10 s
 * at 384 kHz × 4 is not a mallet). Keeps the shape table bounded. */
#define SPRUNG_MAX_PULSE_STEPS (1u << 24)

#ifndef M_PI
#  define M_PI 3.14159265358979323846
#endif

typedef struct Carver {
    char *base; /* NULL while sizing */
    size_t size;
} Carver;

static void *carve(Carver *carver, size_t count, size_t element_size)
{
    size_t offset = (carver->size + SPRUNG_COMPILED_ALIGN - 1) / SPRUNG_COMPILED_ALIGN *
                    SPRUNG_COMPILED_ALIGN;
    /* Every array gets at least one element so pointers are never NULL. */
    carver->size = offset + (count ? count : 1) * element_size;
    return carver->base ? carver->base + offset : NULL;
}

#define CARVE(carver, field, count) ((field) = carve((carver), (count), sizeof *(field)))

static void compiled_carve(SprungCompiled *c, Carver *carver)
{
    size_t nodes = c->n_nodes, springs = c->n_springs, mallets = c->n_mallets;
    size_t mics = c->n_microphones;
    CARVE(carver, c->rest_x, nodes);
    CARVE(carver, c->rest_y, nodes);
    CARVE(carver, c->rest_z, nodes);
    CARVE(carver, c->inv_mass, nodes);
    CARVE(carver, c->drag, nodes);
    CARVE(carver, c->initial_vx, nodes);
    CARVE(carver, c->initial_vy, nodes);
    CARVE(carver, c->initial_vz, nodes);
    CARVE(carver, c->incidence_offset, nodes + 1);
    CARVE(carver, c->incidence_spring, c->n_incidences);
    CARVE(carver, c->incidence_sign, c->n_incidences);
    CARVE(carver, c->node_mallet_offset, nodes + 1);
    CARVE(carver, c->node_mallet, mallets);

    CARVE(carver, c->spring_p, springs);
    CARVE(carver, c->spring_q, springs);
    CARVE(carver, c->spring_stiffness, springs);
    CARVE(carver, c->spring_damping, springs);
    CARVE(carver, c->spring_rest_length, springs);
    CARVE(carver, c->spring_length0, springs);
    CARVE(carver, c->spring_length0_sq, springs);
    CARVE(carver, c->spring_preload, springs);
    CARVE(carver, c->spring_d0_x, springs);
    CARVE(carver, c->spring_d0_y, springs);
    CARVE(carver, c->spring_d0_z, springs);

    CARVE(carver, c->mallet_node, mallets);
    CARVE(carver, c->mallet_dir_x, mallets);
    CARVE(carver, c->mallet_dir_y, mallets);
    CARVE(carver, c->mallet_dir_z, mallets);
    CARVE(carver, c->mallet_strength, mallets);
    CARVE(carver, c->mallet_note_low, mallets);
    CARVE(carver, c->mallet_note_high, mallets);
    CARVE(carver, c->mallet_steps, mallets);
    CARVE(carver, c->mallet_shape_offset, mallets);
    CARVE(carver, c->mallet_shape, c->n_shape_samples);

    CARVE(carver, c->mic_node, mics);
    CARVE(carver, c->mic_signal, mics);
    CARVE(carver, c->mic_axis_x, mics);
    CARVE(carver, c->mic_axis_y, mics);
    CARVE(carver, c->mic_axis_z, mics);
    CARVE(carver, c->mic_gain_left, mics);
    CARVE(carver, c->mic_gain_right, mics);

    /* Features, after the base arrays so their offsets do not move. */
    size_t exciters = c->n_exciters, collisions = c->n_collisions, delays = c->n_delays;
    CARVE(carver, c->mallet_channel, mallets);
    CARVE(carver, c->node_force_x, nodes);
    CARVE(carver, c->node_force_y, nodes);
    CARVE(carver, c->node_force_z, nodes);
    CARVE(carver, c->node_exciter_offset, nodes + 1);
    CARVE(carver, c->node_exciter, exciters);
    CARVE(carver, c->node_collision_offset, nodes + 1);
    CARVE(carver, c->node_collision, 2 * collisions);
    CARVE(carver, c->node_collision_sign, 2 * collisions);
    CARVE(carver, c->exciter_kind, exciters);
    CARVE(carver, c->exciter_node, exciters);
    CARVE(carver, c->exciter_dir_x, exciters);
    CARVE(carver, c->exciter_dir_y, exciters);
    CARVE(carver, c->exciter_dir_z, exciters);
    CARVE(carver, c->exciter_strength, exciters);
    CARVE(carver, c->exciter_attack, exciters);
    CARVE(carver, c->exciter_release, exciters);
    CARVE(carver, c->exciter_waveform, exciters);
    CARVE(carver, c->exciter_harmonic_limit, exciters);
    CARVE(carver, c->exciter_gated, exciters);
    CARVE(carver, c->exciter_stiffness, exciters);
    CARVE(carver, c->exciter_max_travel, exciters);
    CARVE(carver, c->exciter_mu_static, exciters);
    CARVE(carver, c->exciter_mu_dynamic, exciters);
    CARVE(carver, c->exciter_slip_velocity, exciters);
    CARVE(carver, c->exciter_stick_velocity, exciters);
    CARVE(carver, c->exciter_delay_offset, exciters + 1);
    CARVE(carver, c->exciter_delay, delays);
    CARVE(carver, c->exciter_seed, exciters);
    CARVE(carver, c->exciter_input, exciters);
    CARVE(carver, c->exciter_note_low, exciters);
    CARVE(carver, c->exciter_note_high, exciters);
    CARVE(carver, c->exciter_channel, exciters);
    CARVE(carver, c->exciter_frequency, exciters);
    CARVE(carver, c->exciter_speed, exciters);
    CARVE(carver, c->collision_a, collisions);
    CARVE(carver, c->collision_b, collisions);
    CARVE(carver, c->collision_normal_x, collisions);
    CARVE(carver, c->collision_normal_y, collisions);
    CARVE(carver, c->collision_normal_z, collisions);
    CARVE(carver, c->collision_height0, collisions);
    CARVE(carver, c->collision_d0_x, collisions);
    CARVE(carver, c->collision_d0_y, collisions);
    CARVE(carver, c->collision_d0_z, collisions);
    CARVE(carver, c->collision_radius, collisions);
    CARVE(carver, c->collision_stiffness, collisions);
    CARVE(carver, c->collision_damping, collisions);
    CARVE(carver, c->mic_channel, mics);
    CARVE(carver, c->mic_gain, mics);
    CARVE(carver, c->delay_mic, delays);
    CARVE(carver, c->delay_exciter, delays);
    CARVE(carver, c->delay_steps, delays);
    CARVE(carver, c->delay_gain, delays);
    CARVE(carver, c->delay_feedback, delays);
    CARVE(carver, c->delay_ring_offset, delays);
    CARVE(carver, c->delay_ring_length, delays);
    CARVE(carver, c->node_modulated, nodes);
    CARVE(carver, c->spring_modulated, springs);
}

static void state_carve(const SprungCompiled *c, SprungState *s, Carver *carver)
{
    CARVE(carver, s->ux, c->n_nodes);
    CARVE(carver, s->uy, c->n_nodes);
    CARVE(carver, s->uz, c->n_nodes);
    CARVE(carver, s->vx, c->n_nodes);
    CARVE(carver, s->vy, c->n_nodes);
    CARVE(carver, s->vz, c->n_nodes);
    CARVE(carver, s->spring_force_x, c->n_springs);
    CARVE(carver, s->spring_force_y, c->n_springs);
    CARVE(carver, s->spring_force_z, c->n_springs);
    CARVE(carver, s->pulse_amplitude, c->n_pulse_slots);
    CARVE(carver, s->pulse_step, c->n_pulse_slots);

    size_t exciters = c->n_exciters;
    CARVE(carver, s->exciter_gate, exciters);
    CARVE(carver, s->exciter_level, exciters);
    CARVE(carver, s->exciter_velocity, exciters);
    CARVE(carver, s->exciter_increment, exciters);
    CARVE(carver, s->exciter_phase, exciters);
    CARVE(carver, s->exciter_plectrum, exciters);
    CARVE(carver, s->exciter_start, exciters);
    CARVE(carver, s->exciter_rng, exciters);
    CARVE(carver, s->exciter_contact, exciters);
    CARVE(carver, s->exciter_harmonics, exciters);
    CARVE(carver, s->exciter_feed, exciters);
    CARVE(carver, s->exciter_force_x, exciters);
    CARVE(carver, s->exciter_force_y, exciters);
    CARVE(carver, s->exciter_force_z, exciters);
    CARVE(carver, s->collision_force_x, c->n_collisions);
    CARVE(carver, s->collision_force_y, c->n_collisions);
    CARVE(carver, s->collision_force_z, c->n_collisions);
    CARVE(carver, s->net_force_x, c->n_nodes);
    CARVE(carver, s->net_force_y, c->n_nodes);
    CARVE(carver, s->net_force_z, c->n_nodes);
    CARVE(carver, s->mic_value, c->n_microphones);
    CARVE(carver, s->delay_position, c->n_delays);
    CARVE(carver, s->delay_out, c->n_delays);
    /* Last: a GPU block kernel keeps the state before it in local memory
     * and leaves the rings (a second of audio each) in global memory. */
    CARVE(carver, s->delay_ring, c->n_delay_samples);
}

/* The exciter sections in compiled order, and their paths in messages. */
static const SprungModelExciter *exciter_at(const SprungModel *model, uint32_t e,
                                            const char **section, uint32_t *index)
{
    const SprungModelExciter *const sections[] = {model->oscillators, model->plucks,
                                                  model->bows, model->audio_inputs};
    const uint32_t counts[] = {model->n_oscillators, model->n_plucks, model->n_bows,
                               model->n_audio_inputs};
    static const char *const names[] = {"oscillators", "plucks", "bows", "audio_inputs"};
    for (int k = 0; k < 4; k++) {
        if (e < counts[k]) {
            if (section)
                *section = names[k];
            if (index)
                *index = e;
            return &sections[k][e];
        }
        e -= counts[k];
    }
    return NULL;
}

/* Envelope change per engine step for a ramp of `ms` milliseconds. */
static float envelope_rate(double ms, double engine_rate)
{
    double steps = ms * 1e-3 * engine_rate;
    return steps <= 1.0 ? 1.0f : (float)(1.0 / steps);
}

/* Unit vector in double; the model guarantees a nonzero vector. */
static SprungVec3 unit(SprungVec3 v)
{
    double norm = sqrt(v.x * v.x + v.y * v.y + v.z * v.z);
    SprungVec3 u = {v.x / norm, v.y / norm, v.z / norm};
    return u;
}

/* Pulse length in engine steps: N = max(1, round(duration·fs_e)). */
static double pulse_steps(double duration_ms, double engine_rate)
{
    double steps = round(duration_ms * 1e-3 * engine_rate);
    return steps < 1.0 ? 1.0 : steps;
}

/* CSR in place: counts at offset[i + 1] become start offsets; filling then
 * advances offset[i] to the end of row i, and csr_unshift moves the rows
 * back, so entries keep the order they were placed in. */
static void csr_prefix(uint32_t *offset, uint32_t rows)
{
    for (uint32_t i = 0; i < rows; ++i)
        offset[i + 1] += offset[i];
}

static void csr_unshift(uint32_t *offset, uint32_t rows)
{
    for (uint32_t i = rows; i > 0; --i)
        offset[i] = offset[i - 1];
    offset[0] = 0;
}

/* Exciters, collisions, gravity and delay lines (the arrays are carved). */
static void compile_features(const SprungModel *model, SprungCompiled *c)
{
    static const uint32_t kind_features[] = {SPRUNG_FEATURE_OSCILLATOR, SPRUNG_FEATURE_PLUCK,
                                             SPRUNG_FEATURE_BOW, SPRUNG_FEATURE_AUDIO_INPUT};
    double rate = c->engine_rate;
    SprungVec3 g = model->gravity;
    if (g.x != 0.0 || g.y != 0.0 || g.z != 0.0)
        c->features |= SPRUNG_FEATURE_GRAVITY;
    for (uint32_t i = 0; i < c->n_bodies; ++i) {
        double mass = model->bodies[i].mass;
        c->node_force_x[i] = (float)(mass * g.x);
        c->node_force_y[i] = (float)(mass * g.y);
        c->node_force_z[i] = (float)(mass * g.z);
    }

    /* Exciters, and the CSR of the exciters driving each node. */
    for (uint32_t e = 0; e < c->n_exciters; ++e) {
        const SprungModelExciter *x = exciter_at(model, e, NULL, NULL);
        SprungVec3 dir = unit(x->direction);
        c->features |= kind_features[x->kind];
        c->exciter_kind[e] = (uint32_t)x->kind;
        c->exciter_node[e] = x->target_body;
        c->exciter_dir_x[e] = (float)dir.x;
        c->exciter_dir_y[e] = (float)dir.y;
        c->exciter_dir_z[e] = (float)dir.z;
        c->exciter_attack[e] = envelope_rate(x->attack_ms, rate);
        c->exciter_release[e] = envelope_rate(x->release_ms, rate);
        c->exciter_waveform[e] = (uint32_t)x->waveform;
        c->exciter_harmonic_limit[e] = (float)(fmin(20000.0, 0.4999 * rate) / rate);
        c->exciter_seed[e] = x->seed ? x->seed : 1u;
        c->exciter_note_low[e] = (uint32_t)x->note_low;
        c->exciter_note_high[e] = (uint32_t)x->note_high;
        c->exciter_channel[e] = (uint32_t)x->channel;
        c->exciter_input[e] = UINT32_MAX;
        c->exciter_max_travel[e] = FLT_MAX;
        switch (x->kind) {
        case SPRUNG_EXCITER_OSCILLATOR:
            c->exciter_strength[e] = (float)x->amplitude;
            c->exciter_frequency[e] = x->has_frequency ? x->frequency : 0.0;
            break;
        case SPRUNG_EXCITER_PLUCK:
            c->exciter_strength[e] = (float)x->strength;
            c->exciter_stiffness[e] = (float)x->stiffness;
            if (x->has_max_travel)
                c->exciter_max_travel[e] = (float)x->max_travel;
            c->exciter_speed[e] = x->speed;
            break;
        case SPRUNG_EXCITER_BOW:
            c->exciter_strength[e] = (float)x->strength;
            c->exciter_speed[e] = x->speed;
            c->exciter_mu_static[e] = (float)x->static_friction;
            c->exciter_mu_dynamic[e] = (float)x->dynamic_friction;
            c->exciter_slip_velocity[e] = (float)x->slip_velocity;
            c->exciter_stick_velocity[e] = (float)x->stick_velocity;
            break;
        default:
            c->exciter_strength[e] = (float)x->gain;
            c->exciter_gated[e] = x->gate ? 1u : 0u;
            if (x->input != SPRUNG_INPUT_NONE) {
                c->exciter_input[e] = (uint32_t)x->input;
                if ((uint32_t)x->input + 1 > c->n_input_channels)
                    c->n_input_channels = (uint32_t)x->input + 1;
            }
            break;
        }
        c->node_exciter_offset[x->target_body + 1]++;
    }
    csr_prefix(c->node_exciter_offset, c->n_nodes);
    for (uint32_t e = 0; e < c->n_exciters; ++e)
        c->node_exciter[c->node_exciter_offset[c->exciter_node[e]]++] = e;
    csr_unshift(c->node_exciter_offset, c->n_nodes);

    /* Collisions: the rest geometry in double, then rounded. */
    for (uint32_t k = 0; k < c->n_collisions; ++k) {
        const SprungModelCollision *collision = &model->collisions[k];
        SprungVec3 xa = model->bodies[collision->body].position;
        c->features |= SPRUNG_FEATURE_COLLISION;
        c->collision_a[k] = collision->body;
        c->collision_radius[k] = (float)collision->radius;
        c->collision_stiffness[k] = (float)collision->stiffness;
        c->collision_damping[k] = (float)collision->damping;
        if (collision->other_id) {
            SprungVec3 xb = sprung_model_point_position(model, collision->other_point);
            c->collision_b[k] = collision->other_point;
            c->collision_d0_x[k] = (float)(xb.x - xa.x);
            c->collision_d0_y[k] = (float)(xb.y - xa.y);
            c->collision_d0_z[k] = (float)(xb.z - xa.z);
            c->node_collision_offset[collision->other_point + 1]++;
        } else {
            SprungVec3 n = unit(collision->plane_normal);
            SprungVec3 p = collision->plane_point;
            c->collision_b[k] = SPRUNG_NO_NODE;
            c->collision_normal_x[k] = (float)n.x;
            c->collision_normal_y[k] = (float)n.y;
            c->collision_normal_z[k] = (float)n.z;
            c->collision_height0[k] =
                (float)((xa.x - p.x) * n.x + (xa.y - p.y) * n.y + (xa.z - p.z) * n.z);
        }
        c->node_collision_offset[collision->body + 1]++;
    }
    csr_prefix(c->node_collision_offset, c->n_nodes);
    for (uint32_t k = 0; k < c->n_collisions; ++k) {
        uint32_t ea = c->node_collision_offset[c->collision_a[k]]++;
        c->node_collision[ea] = k;
        c->node_collision_sign[ea] = 1.0f;
        if (c->collision_b[k] != SPRUNG_NO_NODE) {
            uint32_t eb = c->node_collision_offset[c->collision_b[k]]++;
            c->node_collision[eb] = k;
            c->node_collision_sign[eb] = -1.0f;
        }
    }
    csr_unshift(c->node_collision_offset, c->n_nodes);

    /* Delay lines, and the CSR of the delays feeding each exciter. */
    const uint32_t audio_input_base = model->n_oscillators + model->n_plucks + model->n_bows;
    const uint32_t ring_length = c->n_delays ? c->n_delay_samples / c->n_delays : 0;
    for (uint32_t d = 0; d < c->n_delays; ++d) {
        const SprungModelDelay *delay = &model->delays[d];
        double steps = round(delay->time_ms * 1e-3 * rate);
        c->features |= SPRUNG_FEATURE_DELAY;
        c->delay_mic[d] = delay->from_mic;
        c->delay_exciter[d] = audio_input_base + delay->to_input;
        c->delay_steps[d] = steps < 1.0 ? 1u : (uint32_t)steps;
        c->delay_gain[d] = (float)delay->gain;
        c->delay_feedback[d] = (float)delay->feedback;
        c->delay_ring_offset[d] = d * ring_length;
        c->delay_ring_length[d] = ring_length;
        c->exciter_delay_offset[c->delay_exciter[d] + 1]++;
    }
    csr_prefix(c->exciter_delay_offset, c->n_exciters);
    for (uint32_t d = 0; d < c->n_delays; ++d)
        c->exciter_delay[c->exciter_delay_offset[c->delay_exciter[d]]++] = d;
    csr_unshift(c->exciter_delay_offset, c->n_exciters);
}

/* Marks the nodes and springs whose constants a parameter route rewrites
 * (engine_modulation.c's apply_route), counts the words the routes may
 * rewrite in a frame, and notes followers that hear a microphone. */
static void compile_modulated(const SprungModel *model, SprungCompiled *c)
{
    if (!model->instrument)
        return;
    for (uint32_t i = 0; i < model->instrument->n_sources; ++i) {
        const SprungModelSource *source = &model->instrument->sources[i];
        if (source->type == SPRUNG_SOURCE_FOLLOWER && source->input < 0)
            c->features |= SPRUNG_FEATURE_MIC_FOLLOWER;
    }
    for (uint32_t r = 0; r < model->instrument->n_routes; ++r) {
        const SprungModelRoute *route = &model->instrument->routes[r];
        if (route->kind != SPRUNG_ROUTE_PARAMETER)
            continue;
        c->max_frame_writes += sprung_route_word_count(route->parameter);
        switch (route->parameter) {
        case SPRUNG_TARGET_BODY_MASS:
        case SPRUNG_TARGET_BODY_DRAG:
            if (route->object < c->n_bodies)
                c->node_modulated[route->object] = 1;
            break;
        case SPRUNG_TARGET_ANCHOR_X:
        case SPRUNG_TARGET_ANCHOR_Y:
        case SPRUNG_TARGET_ANCHOR_Z:
            if (route->object < c->n_anchors)
                c->node_modulated[c->n_bodies + route->object] = 1;
            break;
        case SPRUNG_TARGET_SPRING_STIFFNESS:
        case SPRUNG_TARGET_SPRING_DAMPING:
        case SPRUNG_TARGET_SPRING_REST_LENGTH:
            if (route->object < c->n_springs)
                c->spring_modulated[route->object] = 1;
            break;
        default:
            break;
        }
    }
}

SprungStatus sprung_compiled_new(const SprungModel *model, double engine_rate,
                                 SprungCompiled **out, SprungError *error)
{
    *out = NULL;
    SprungCompiled *c = calloc(1, sizeof *c);
    if (!c)
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, model->source, 0, 0, NULL,
                                "out of memory compiling the model");

    c->n_bodies = model->n_bodies;
    c->n_anchors = model->n_anchors;
    c->n_nodes = model->n_bodies + model->n_anchors;
    c->n_springs = model->n_springs;
    c->n_incidences = 2 * model->n_springs;
    c->n_mallets = model->n_mallets;
    c->n_microphones = model->n_microphones;
    c->n_pulse_slots = model->n_mallets * SPRUNG_PULSE_SLOTS;
    c->engine_rate = engine_rate;
    c->dt = 1.0 / engine_rate;
    c->n_exciters = model->n_oscillators + model->n_plucks + model->n_bows +
                    model->n_audio_inputs;
    c->n_collisions = model->n_collisions;
    c->n_delays = model->n_delays;
    c->n_channels = 2;
    for (uint32_t i = 0; i < model->n_microphones; ++i)
        if (model->microphones[i].output >= 2 &&
            (uint32_t)model->microphones[i].output + 1 > c->n_channels)
            c->n_channels = (uint32_t)model->microphones[i].output + 1;
    /* One second at the engine rate, whatever the delay: room for a delay
     * time modulated up to the 1 s limit. */
    const uint32_t ring_length = (uint32_t)ceil(engine_rate) + 1u;
    if ((uint64_t)ring_length * model->n_delays > UINT32_MAX / 2) {
        free(c);
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_MODEL, model->source, 0, 0,
                                "delays", "too many delay lines for this engine rate");
    }
    c->n_delay_samples = ring_length * model->n_delays;
    for (uint32_t e = 0; e < model->n_oscillators; ++e) {
        const SprungModelExciter *x = &model->oscillators[e];
        if (x->has_frequency && !(x->frequency < 0.5 * engine_rate)) {
            char path[64];
            snprintf(path, sizeof path, "oscillators[%u].frequency", e);
            sprung_error_set(error, SPRUNG_ERROR_INVALID_MODEL, model->source, 0, 0, path,
                             "%g Hz is not below the engine's Nyquist frequency %g Hz",
                             x->frequency, 0.5 * engine_rate);
            free(c);
            return SPRUNG_ERROR_INVALID_MODEL;
        }
    }

    uint64_t shape_samples = 0;
    for (uint32_t m = 0; m < model->n_mallets; ++m) {
        double steps = pulse_steps(model->mallets[m].duration_ms, engine_rate);
        if (!(steps <= SPRUNG_MAX_PULSE_STEPS)) {
            char path[64];
            snprintf(path, sizeof path, "mallets[%u].duration_ms", m);
            sprung_error_set(error, SPRUNG_ERROR_INVALID_MODEL, model->source, 0, 0, path,
                             "%g ms is %.0f engine steps at %g Hz; at most %u are supported",
                             model->mallets[m].duration_ms, steps, engine_rate,
                             SPRUNG_MAX_PULSE_STEPS);
            free(c);
            return SPRUNG_ERROR_INVALID_MODEL;
        }
        shape_samples += (uint64_t)steps;
    }
    if (shape_samples > UINT32_MAX / 2) {
        free(c);
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_MODEL, model->source, 0, 0, NULL,
                                "mallet pulses too long in total for this engine rate");
    }
    c->n_shape_samples = (uint32_t)shape_samples;

    Carver sizing = {NULL, 0};
    compiled_carve(c, &sizing);
    c->block = calloc(1, sizing.size);
    if (!c->block) {
        free(c);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, model->source, 0, 0, NULL,
                                "out of memory compiling the model (%zu bytes)", sizing.size);
    }
    c->block_bytes = sizing.size;
    Carver carving = {c->block, 0};
    compiled_carve(c, &carving);

    /* Nodes. */
    for (uint32_t i = 0; i < c->n_nodes; ++i) {
        SprungVec3 x0 = sprung_model_point_position(model, i);
        c->rest_x[i] = (float)x0.x;
        c->rest_y[i] = (float)x0.y;
        c->rest_z[i] = (float)x0.z;
        if (i < model->n_bodies) {
            const SprungModelBody *body = &model->bodies[i];
            c->inv_mass[i] = (float)(1.0 / body->mass);
            c->drag[i] = (float)body->drag;
            c->initial_vx[i] = (float)body->velocity.x;
            c->initial_vy[i] = (float)body->velocity.y;
            c->initial_vz[i] = (float)body->velocity.z;
        }
    }

    /* Springs; d0 and ℓ0 in double so the only rounding is the final one. */
    for (uint32_t s = 0; s < c->n_springs; ++s) {
        const SprungModelSpring *spring = &model->springs[s];
        SprungVec3 xp = sprung_model_point_position(model, spring->from_point);
        SprungVec3 xq = sprung_model_point_position(model, spring->to_point);
        double d0x = xq.x - xp.x, d0y = xq.y - xp.y, d0z = xq.z - xp.z;
        double length0_sq = d0x * d0x + d0y * d0y + d0z * d0z;
        double length0 = sqrt(length0_sq);
        c->spring_p[s] = spring->from_point;
        c->spring_q[s] = spring->to_point;
        c->spring_stiffness[s] = (float)spring->stiffness;
        c->spring_damping[s] = (float)spring->damping;
        c->spring_rest_length[s] = (float)spring->rest_length;
        c->spring_length0[s] = (float)length0;
        c->spring_length0_sq[s] = (float)length0_sq;
        c->spring_preload[s] = (float)(length0 - spring->rest_length);
        c->spring_d0_x[s] = (float)d0x;
        c->spring_d0_y[s] = (float)d0y;
        c->spring_d0_z[s] = (float)d0z;
    }

    /* Incidence CSR: count, prefix-sum, fill in spring order (so each node
     * lists its springs in increasing spring index: a defined order). */
    for (uint32_t s = 0; s < c->n_springs; ++s) {
        c->incidence_offset[c->spring_p[s] + 1]++;
        c->incidence_offset[c->spring_q[s] + 1]++;
    }
    for (uint32_t i = 0; i < c->n_nodes; ++i)
        c->incidence_offset[i + 1] += c->incidence_offset[i];
    /* Fill cursor per node: how many entries are placed already. */
    uint32_t *placed = calloc(c->n_nodes ? c->n_nodes : 1, sizeof *placed);
    if (!placed) {
        sprung_compiled_free(c);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, model->source, 0, 0, NULL,
                                "out of memory compiling the model");
    }
    for (uint32_t s = 0; s < c->n_springs; ++s) {
        uint32_t p = c->spring_p[s], q = c->spring_q[s];
        uint32_t ep = c->incidence_offset[p] + placed[p]++;
        c->incidence_spring[ep] = s;
        c->incidence_sign[ep] = 1.0f;
        uint32_t eq = c->incidence_offset[q] + placed[q]++;
        c->incidence_spring[eq] = s;
        c->incidence_sign[eq] = -1.0f;
    }

    /* Mallets and their pulse shapes. */
    uint32_t shape_offset = 0;
    for (uint32_t m = 0; m < c->n_mallets; ++m) {
        const SprungModelMallet *mallet = &model->mallets[m];
        SprungVec3 dir = unit(mallet->direction);
        uint32_t steps = (uint32_t)pulse_steps(mallet->duration_ms, engine_rate);
        c->mallet_node[m] = mallet->target_body;
        c->mallet_dir_x[m] = (float)dir.x;
        c->mallet_dir_y[m] = (float)dir.y;
        c->mallet_dir_z[m] = (float)dir.z;
        c->mallet_strength[m] = mallet->strength;
        c->mallet_note_low[m] = (uint32_t)mallet->note_low;
        c->mallet_note_high[m] = (uint32_t)mallet->note_high;
        c->mallet_steps[m] = steps;
        c->mallet_shape_offset[m] = shape_offset;
        c->mallet_channel[m] = (uint32_t)mallet->channel;
        for (uint32_t k = 0; k < steps; ++k) {
            double shape = steps == 1
                               ? 1.0 / c->dt
                               : (1.0 - cos(2.0 * M_PI * (k + 0.5) / steps)) / (steps * c->dt);
            c->mallet_shape[shape_offset + k] = (float)shape;
        }
        shape_offset += steps;
        c->node_mallet_offset[mallet->target_body + 1]++;
    }
    for (uint32_t i = 0; i < c->n_nodes; ++i)
        c->node_mallet_offset[i + 1] += c->node_mallet_offset[i];
    /* Fill in mallet order. */
    memset(placed, 0, (c->n_nodes ? c->n_nodes : 1) * sizeof *placed);
    for (uint32_t m = 0; m < c->n_mallets; ++m) {
        uint32_t node = c->mallet_node[m];
        c->node_mallet[c->node_mallet_offset[node] + placed[node]++] = m;
    }
    free(placed);

    /* Microphones: equal-power pan, premultiplied by the gain, in double. */
    for (uint32_t i = 0; i < c->n_microphones; ++i) {
        const SprungModelMicrophone *mic = &model->microphones[i];
        SprungVec3 axis = unit(mic->axis);
        SprungMicPan pan;
        sprung_mic_pan_init(&pan, mic->pan);
        c->mic_node[i] = mic->target_body;
        c->mic_signal[i] = mic->signal == SPRUNG_MIC_VELOCITY ? SPRUNG_KERNEL_MIC_VELOCITY
                                                              : SPRUNG_KERNEL_MIC_POSITION;
        c->mic_axis_x[i] = (float)axis.x;
        c->mic_axis_y[i] = (float)axis.y;
        c->mic_axis_z[i] = (float)axis.z;
        c->mic_gain_left[i] = (float)(mic->gain * pan.left);
        c->mic_gain_right[i] = (float)(mic->gain * pan.right);
        if (mic->signal == SPRUNG_MIC_FORCE) {
            c->mic_signal[i] = SPRUNG_KERNEL_MIC_FORCE;
            c->features |= SPRUNG_FEATURE_MIC_FORCE;
        }
        c->mic_gain[i] = (float)mic->gain;
        c->mic_channel[i] = SPRUNG_MIC_CHANNEL_STEREO;
        if (mic->output != SPRUNG_MIC_OUTPUT_PAN) {
            /* Routed or send-only: the pan gains say the same to the base
             * kernel for channels 0 and 1 (and silence for none). */
            c->mic_channel[i] = mic->output == SPRUNG_MIC_OUTPUT_NONE ? SPRUNG_MIC_CHANNEL_NONE
                                                                      : (uint32_t)mic->output;
            c->mic_gain_left[i] = mic->output == 0 ? (float)mic->gain : 0.0f;
            c->mic_gain_right[i] = mic->output == 1 ? (float)mic->gain : 0.0f;
            if (mic->output >= 2)
                c->features |= SPRUNG_FEATURE_OUTPUT_CHANNELS;
        }
    }

    compile_features(model, c);
    /* Modulation and voices (model_modulation.h): host-side, but the
     * backend must see the arrays the engine rewrites between frames (the
     * CPU backends read them in place; the GPUs get them as writes). */
    if (model->instrument && (model->instrument->n_sources || model->instrument->n_routes))
        c->features |= SPRUNG_FEATURE_MODULATION;
    compile_modulated(model, c);
    if (model->instrument && model->instrument->voices)
        c->features |= SPRUNG_FEATURE_VOICES;
    *out = c;
    return SPRUNG_OK;
}

void sprung_compiled_free(SprungCompiled *compiled)
{
    if (!compiled)
        return;
    free(compiled->block);
    free(compiled);
}

SprungStatus sprung_state_new(const SprungCompiled *compiled, SprungState *out)
{
    memset(out, 0, sizeof *out);
    Carver sizing = {NULL, 0};
    state_carve(compiled, out, &sizing);
    out->block = calloc(1, sizing.size);
    if (!out->block)
        return SPRUNG_ERROR_NO_MEMORY;
    out->block_bytes = sizing.size;
    Carver carving = {out->block, 0};
    state_carve(compiled, out, &carving);
    sprung_state_reset(compiled, out);
    return SPRUNG_OK;
}

void sprung_state_free(SprungState *state)
{
    if (!state)
        return;
    free(state->block);
    memset(state, 0, sizeof *state);
}

void sprung_state_reset(const SprungCompiled *compiled, SprungState *state)
{
    size_t nodes = compiled->n_nodes;
    memset(state->ux, 0, nodes * sizeof *state->ux);
    memset(state->uy, 0, nodes * sizeof *state->uy);
    memset(state->uz, 0, nodes * sizeof *state->uz);
    memcpy(state->vx, compiled->initial_vx, nodes * sizeof *state->vx);
    memcpy(state->vy, compiled->initial_vy, nodes * sizeof *state->vy);
    memcpy(state->vz, compiled->initial_vz, nodes * sizeof *state->vz);
    memset(state->spring_force_x, 0, compiled->n_springs * sizeof *state->spring_force_x);
    memset(state->spring_force_y, 0, compiled->n_springs * sizeof *state->spring_force_y);
    memset(state->spring_force_z, 0, compiled->n_springs * sizeof *state->spring_force_z);
    for (uint32_t slot = 0; slot < compiled->n_pulse_slots; ++slot) {
        state->pulse_amplitude[slot] = 0.0f;
        state->pulse_step[slot] = SPRUNG_PULSE_IDLE;
    }
    /* Features: silent exciters, empty delay lines. */
    size_t exciters = compiled->n_exciters;
    memset(state->exciter_gate, 0, exciters * sizeof *state->exciter_gate);
    memset(state->exciter_level, 0, exciters * sizeof *state->exciter_level);
    memset(state->exciter_velocity, 0, exciters * sizeof *state->exciter_velocity);
    memset(state->exciter_increment, 0, exciters * sizeof *state->exciter_increment);
    memset(state->exciter_phase, 0, exciters * sizeof *state->exciter_phase);
    memset(state->exciter_plectrum, 0, exciters * sizeof *state->exciter_plectrum);
    memset(state->exciter_start, 0, exciters * sizeof *state->exciter_start);
    memcpy(state->exciter_rng, compiled->exciter_seed, exciters * sizeof *state->exciter_rng);
    memset(state->exciter_contact, 0, exciters * sizeof *state->exciter_contact);
    memset(state->exciter_harmonics, 0, exciters * sizeof *state->exciter_harmonics);
    memset(state->exciter_feed, 0, exciters * sizeof *state->exciter_feed);
    memset(state->exciter_force_x, 0, exciters * sizeof *state->exciter_force_x);
    memset(state->exciter_force_y, 0, exciters * sizeof *state->exciter_force_y);
    memset(state->exciter_force_z, 0, exciters * sizeof *state->exciter_force_z);
    memset(state->collision_force_x, 0, compiled->n_collisions * sizeof(float));
    memset(state->collision_force_y, 0, compiled->n_collisions * sizeof(float));
    memset(state->collision_force_z, 0, compiled->n_collisions * sizeof(float));
    memset(state->net_force_x, 0, nodes * sizeof *state->net_force_x);
    memset(state->net_force_y, 0, nodes * sizeof *state->net_force_y);
    memset(state->net_force_z, 0, nodes * sizeof *state->net_force_z);
    memset(state->mic_value, 0, compiled->n_microphones * sizeof *state->mic_value);
    memset(state->delay_ring, 0, compiled->n_delay_samples * sizeof *state->delay_ring);
    memset(state->delay_position, 0, compiled->n_delays * sizeof *state->delay_position);
    memset(state->delay_out, 0, compiled->n_delays * sizeof *state->delay_out);
}

SprungStepModel sprung_compiled_step_model(const SprungCompiled *c)
{
    SprungStepModel m = {
        .n_nodes = c->n_nodes,
        .n_bodies = c->n_bodies,
        .n_springs = c->n_springs,
        .n_microphones = c->n_microphones,
        .dt = (float)c->dt,
        .inv_mass = c->inv_mass,
        .drag = c->drag,
        .incidence_offset = c->incidence_offset,
        .incidence_spring = c->incidence_spring,
        .incidence_sign = c->incidence_sign,
        .node_mallet_offset = c->node_mallet_offset,
        .node_mallet = c->node_mallet,
        .spring_p = c->spring_p,
        .spring_q = c->spring_q,
        .spring_stiffness = c->spring_stiffness,
        .spring_damping = c->spring_damping,
        .spring_rest_length = c->spring_rest_length,
        .spring_length0 = c->spring_length0,
        .spring_length0_sq = c->spring_length0_sq,
        .spring_preload = c->spring_preload,
        .spring_d0_x = c->spring_d0_x,
        .spring_d0_y = c->spring_d0_y,
        .spring_d0_z = c->spring_d0_z,
        .mallet_dir_x = c->mallet_dir_x,
        .mallet_dir_y = c->mallet_dir_y,
        .mallet_dir_z = c->mallet_dir_z,
        .mallet_steps = c->mallet_steps,
        .mallet_shape_offset = c->mallet_shape_offset,
        .mallet_shape = c->mallet_shape,
        .mic_node = c->mic_node,
        .mic_signal = c->mic_signal,
        .mic_axis_x = c->mic_axis_x,
        .mic_axis_y = c->mic_axis_y,
        .mic_axis_z = c->mic_axis_z,
        .mic_gain_left = c->mic_gain_left,
        .mic_gain_right = c->mic_gain_right,
    };
    return m;
}

SprungStepState sprung_state_step_view(const SprungState *s)
{
    SprungStepState v = {
        .ux = s->ux,
        .uy = s->uy,
        .uz = s->uz,
        .vx = s->vx,
        .vy = s->vy,
        .vz = s->vz,
        .spring_force_x = s->spring_force_x,
        .spring_force_y = s->spring_force_y,
        .spring_force_z = s->spring_force_z,
        .pulse_amplitude = s->pulse_amplitude,
        .pulse_step = s->pulse_step,
    };
    return v;
}

SprungFeatureModel sprung_compiled_feature_model(const SprungCompiled *c)
{
    SprungFeatureModel m = {
        .n_exciters = c->n_exciters,
        .n_collisions = c->n_collisions,
        .n_delays = c->n_delays,
        .n_channels = c->n_channels,
        .node_force_x = c->node_force_x,
        .node_force_y = c->node_force_y,
        .node_force_z = c->node_force_z,
        .node_exciter_offset = c->node_exciter_offset,
        .node_exciter = c->node_exciter,
        .node_collision_offset = c->node_collision_offset,
        .node_collision = c->node_collision,
        .node_collision_sign = c->node_collision_sign,
        .exciter_kind = c->exciter_kind,
        .exciter_node = c->exciter_node,
        .exciter_dir_x = c->exciter_dir_x,
        .exciter_dir_y = c->exciter_dir_y,
        .exciter_dir_z = c->exciter_dir_z,
        .exciter_strength = c->exciter_strength,
        .exciter_attack = c->exciter_attack,
        .exciter_release = c->exciter_release,
        .exciter_waveform = c->exciter_waveform,
        .exciter_harmonic_limit = c->exciter_harmonic_limit,
        .exciter_gated = c->exciter_gated,
        .exciter_stiffness = c->exciter_stiffness,
        .exciter_max_travel = c->exciter_max_travel,
        .exciter_mu_static = c->exciter_mu_static,
        .exciter_mu_dynamic = c->exciter_mu_dynamic,
        .exciter_slip_velocity = c->exciter_slip_velocity,
        .exciter_stick_velocity = c->exciter_stick_velocity,
        .exciter_delay_offset = c->exciter_delay_offset,
        .exciter_delay = c->exciter_delay,
        .collision_a = c->collision_a,
        .collision_b = c->collision_b,
        .collision_normal_x = c->collision_normal_x,
        .collision_normal_y = c->collision_normal_y,
        .collision_normal_z = c->collision_normal_z,
        .collision_height0 = c->collision_height0,
        .collision_d0_x = c->collision_d0_x,
        .collision_d0_y = c->collision_d0_y,
        .collision_d0_z = c->collision_d0_z,
        .collision_radius = c->collision_radius,
        .collision_stiffness = c->collision_stiffness,
        .collision_damping = c->collision_damping,
        .mic_channel = c->mic_channel,
        .mic_gain = c->mic_gain,
        .delay_mic = c->delay_mic,
        .delay_steps = c->delay_steps,
        .delay_gain = c->delay_gain,
        .delay_feedback = c->delay_feedback,
        .delay_ring_offset = c->delay_ring_offset,
        .delay_ring_length = c->delay_ring_length,
    };
    return m;
}

SprungFeatureState sprung_state_feature_view(const SprungState *s)
{
    SprungFeatureState v = {
        .exciter_gate = s->exciter_gate,
        .exciter_level = s->exciter_level,
        .exciter_velocity = s->exciter_velocity,
        .exciter_increment = s->exciter_increment,
        .exciter_phase = s->exciter_phase,
        .exciter_plectrum = s->exciter_plectrum,
        .exciter_start = s->exciter_start,
        .exciter_rng = s->exciter_rng,
        .exciter_contact = s->exciter_contact,
        .exciter_harmonics = s->exciter_harmonics,
        .exciter_feed = s->exciter_feed,
        .exciter_force_x = s->exciter_force_x,
        .exciter_force_y = s->exciter_force_y,
        .exciter_force_z = s->exciter_force_z,
        .collision_force_x = s->collision_force_x,
        .collision_force_y = s->collision_force_y,
        .collision_force_z = s->collision_force_z,
        .net_force_x = s->net_force_x,
        .net_force_y = s->net_force_y,
        .net_force_z = s->net_force_z,
        .mic_value = s->mic_value,
        .delay_ring = s->delay_ring,
        .delay_position = s->delay_position,
        .delay_out = s->delay_out,
    };
    return v;
}
