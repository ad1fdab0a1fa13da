/* Releasing a model, and the small read-only accessors of the public
 * SprungModel API. Control thread only. */
#include <stdlib.h>

#include "model/model.h"
#include "model/model_modulation.h"

void sprung_model_free(SprungModel *model)
{
    if (!model)
        return;
    for (uint32_t i = 0; i < model->n_bodies; i++) {
        free(model->bodies[i].id);
        free(model->bodies[i].comment);
    }
    for (uint32_t i = 0; i < model->n_anchors; i++) {
        free(model->anchors[i].id);
        free(model->anchors[i].comment);
    }
    for (uint32_t i = 0; i < model->n_springs; i++) {
        free(model->springs[i].id);
        free(model->springs[i].from);
        free(model->springs[i].to);
        free(model->springs[i].comment);
    }
    for (uint32_t i = 0; i < model->n_mallets; i++) {
        free(model->mallets[i].id);
        free(model->mallets[i].target);
        free(model->mallets[i].comment);
    }
    for (uint32_t i = 0; i < model->n_microphones; i++) {
        free(model->microphones[i].id);
        free(model->microphones[i].target);
        free(model->microphones[i].comment);
    }
    SprungModelExciter *const exciter_sections[] = {model->oscillators, model->plucks,
                                                     model->bows, model->audio_inputs};
    const uint32_t exciter_counts[] = {model->n_oscillators, model->n_plucks, model->n_bows,
                                       model->n_audio_inputs};
    for (int k = 0; k < 4; k++) {
        for (uint32_t i = 0; i < exciter_counts[k]; i++) {
            free(exciter_sections[k][i].id);
            free(exciter_sections[k][i].target);
            free(exciter_sections[k][i].comment);
        }
        free(exciter_sections[k]);
    }
    for (uint32_t i = 0; i < model->n_collisions; i++) {
        free(model->collisions[i].id);
        free(model->collisions[i].body_id);
        free(model->collisions[i].other_id);
        free(model->collisions[i].comment);
    }
    for (uint32_t i = 0; i < model->n_delays; i++) {
        free(model->delays[i].id);
        free(model->delays[i].from);
        free(model->delays[i].to);
        free(model->delays[i].comment);
    }
    free(model->collisions);
    free(model->delays);
    sprung_model_instrument_free(model->instrument);
    free(model->bodies);
    free(model->anchors);
    free(model->springs);
    free(model->mallets);
    free(model->microphones);
    free(model->name);
    free(model->source);
    free(model->comment);
    free(model);
}

const char *sprung_model_name(const SprungModel *model)
{
    return model && model->name ? model->name : "";
}

SprungModelCounts sprung_model_counts(const SprungModel *model)
{
    SprungModelCounts counts = {0};
    if (model) {
        counts.bodies = model->n_bodies;
        counts.anchors = model->n_anchors;
        counts.springs = model->n_springs;
        counts.mallets = model->n_mallets;
        counts.microphones = model->n_microphones;
    }
    return counts;
}

void sprung_free(void *ptr)
{
    free(ptr);
}
