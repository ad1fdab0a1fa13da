/* Model -> SprungCompiled: the flat float32 arrays every backend reads, and
 * the state they step. Control thread only (allocates).
 *
 * Memory: each of SprungCompiled and SprungState is carved from one block.
 * The carving runs twice, first against a NULL base to add up the size, then
 * against the allocated block (the llm.c malloc_and_point_parameters
 * pattern), so the layout is computed in exactly one place. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/compiled.h"

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
        double angle = (mic->pan + 1.0) * M_PI / 4.0;
        c->mic_node[i] = mic->target_body;
        c->mic_signal[i] = mic->signal == SPRUNG_MIC_VELOCITY ? SPRUNG_KERNEL_MIC_VELOCITY
                                                              : SPRUNG_KERNEL_MIC_POSITION;
        c->mic_axis_x[i] = (float)axis.x;
        c->mic_axis_y[i] = (float)axis.y;
        c->mic_axis_z[i] = (float)axis.z;
        c->mic_gain_left[i] = (float)(mic->gain * cos(angle));
        c->mic_gain_right[i] = (float)(mic->gain * sin(angle));
    }

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
