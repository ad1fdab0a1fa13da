/* Modulation's changes as word writes (modulation_writes.h). new/free on
 * the control thread; collect and resend never allocate. */
#include <stdlib.h>
#include <string.h>

#include "engine/modulation_writes.h"
#include "kernel/sprung_block.h"
#include "model/model.h"

/* Most words one route writes: a microphone's gain and its two panned gains. */
#define ROUTE_MAX_WORDS 3u

typedef struct WatchedWord {
    uint32_t target;       /* SprungModulationWrite.target */
    const uint32_t *host;  /* the engine's copy of the word */
} WatchedWord;

struct SprungModulationWatch {
    uint32_t n_words;
    WatchedWord *words;    /* sorted by target, each once */
    uint32_t *sent;        /* the value last handed over, per word */
    int resend;            /* 1: hand over every word at the next collect */
};

uint32_t sprung_route_word_count(SprungTargetParameter parameter)
{
    switch (parameter) {
    case SPRUNG_TARGET_BODY_MASS:
    case SPRUNG_TARGET_BODY_DRAG:
    case SPRUNG_TARGET_SPRING_STIFFNESS:
    case SPRUNG_TARGET_SPRING_DAMPING:
    case SPRUNG_TARGET_OSCILLATOR_AMPLITUDE:
    case SPRUNG_TARGET_DELAY_TIME:
        return 1;
    case SPRUNG_TARGET_ANCHOR_X:
    case SPRUNG_TARGET_ANCHOR_Y:
    case SPRUNG_TARGET_ANCHOR_Z:
    case SPRUNG_TARGET_SPRING_REST_LENGTH:
        return 2; /* displacement and velocity; rest length and preload */
    case SPRUNG_TARGET_MIC_GAIN:
    case SPRUNG_TARGET_MIC_PAN:
        return ROUTE_MAX_WORDS;
    default:
        return 0;
    }
}

/* The words route writes, as addresses in the arrays the views `m` and
 * `fm` point at (the compiled block's own, or a voice's copies) and in the
 * state `s` (the same assignments as engine_modulation.c's apply_route and
 * engine_voices.c's); each case fills the sprung_route_word_count() words
 * it returns. */
static uint32_t route_words(const SprungModelRoute *route, const SprungStepModel *m,
                            const SprungFeatureModel *fm, const SprungState *s,
                            const void *word[ROUTE_MAX_WORDS])
{
    uint32_t i = route->object, anchor = m->n_bodies + route->object;
    switch (route->parameter) {
    case SPRUNG_TARGET_BODY_MASS:
        word[0] = &m->inv_mass[i];
        break;
    case SPRUNG_TARGET_BODY_DRAG:
        word[0] = &m->drag[i];
        break;
    case SPRUNG_TARGET_ANCHOR_X:
        word[0] = &s->ux[anchor];
        word[1] = &s->vx[anchor];
        break;
    case SPRUNG_TARGET_ANCHOR_Y:
        word[0] = &s->uy[anchor];
        word[1] = &s->vy[anchor];
        break;
    case SPRUNG_TARGET_ANCHOR_Z:
        word[0] = &s->uz[anchor];
        word[1] = &s->vz[anchor];
        break;
    case SPRUNG_TARGET_SPRING_STIFFNESS:
        word[0] = &m->spring_stiffness[i];
        break;
    case SPRUNG_TARGET_SPRING_DAMPING:
        word[0] = &m->spring_damping[i];
        break;
    case SPRUNG_TARGET_SPRING_REST_LENGTH:
        word[0] = &m->spring_rest_length[i];
        word[1] = &m->spring_preload[i];
        break;
    case SPRUNG_TARGET_MIC_GAIN:
    case SPRUNG_TARGET_MIC_PAN:
        word[0] = &fm->mic_gain[i];
        word[1] = &m->mic_gain_left[i];
        word[2] = &m->mic_gain_right[i];
        break;
    case SPRUNG_TARGET_OSCILLATOR_AMPLITUDE:
        word[0] = &fm->exciter_strength[i];
        break;
    case SPRUNG_TARGET_DELAY_TIME:
        word[0] = &fm->delay_steps[i];
        break;
    default:
        break;
    }
    return sprung_route_word_count(route->parameter);
}

static int word_order(const void *a, const void *b)
{
    uint32_t x = ((const WatchedWord *)a)->target, y = ((const WatchedWord *)b)->target;
    return x < y ? -1 : x > y;
}

/* Watches `host`, a word of `state` or of the arrays the host views point
 * at, handed over as the word `compiled_word` (the same array element in
 * the compiled block) or its offset in the state block. */
static void watch_word(SprungModulationWatch *watch, uint32_t capacity,
                       const SprungCompiled *compiled, const SprungState *state,
                       const void *compiled_word, const void *host)
{
    if (watch->n_words >= capacity)
        return;
    const char *at = host;
    int in_state = at >= (const char *)state->block &&
                   at < (const char *)state->block + state->block_bytes;
    size_t offset = in_state ? (size_t)(at - (const char *)state->block)
                             : sprung_compiled_offset(compiled, compiled_word);
    watch->words[watch->n_words++] = (WatchedWord){
        .target = (uint32_t)(offset / 4u) | (in_state ? SPRUNG_BLOCK_WRITE_STATE : 0u),
        .host = (const uint32_t *)host};
}

/* The watch over `host_model` and `host_features` (views of the arrays the
 * engine writes) and `state`; with `pitch`, every oscillator's increment
 * and harmonics in the state too. */
static SprungStatus watch_new(const SprungModel *model, const SprungCompiled *compiled,
                              const SprungStepModel *host_model,
                              const SprungFeatureModel *host_features, const SprungState *state,
                              int pitch, SprungModulationWatch **out, SprungError *error)
{
    *out = NULL;
    SprungModulationWatch *watch = calloc(1, sizeof *watch);
    uint32_t capacity = compiled->max_frame_writes + (pitch ? 2 * compiled->n_exciters : 0);
    capacity = capacity ? capacity : 1;
    if (watch) {
        watch->words = calloc(capacity, sizeof *watch->words);
        watch->sent = calloc(capacity, sizeof *watch->sent);
    }
    if (!watch || !watch->words || !watch->sent) {
        sprung_modulation_watch_free(watch);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, model->source, 0, 0, NULL,
                                "out of memory for the modulation writes");
    }
    SprungStepModel compiled_model = sprung_compiled_step_model(compiled);
    SprungFeatureModel compiled_features = sprung_compiled_feature_model(compiled);
    const SprungModelInstrument *spec = model->instrument;
    for (uint32_t r = 0; spec && r < spec->n_routes; ++r) {
        const SprungModelRoute *route = &spec->routes[r];
        if (route->kind != SPRUNG_ROUTE_PARAMETER)
            continue;
        const void *in_compiled[ROUTE_MAX_WORDS], *in_host[ROUTE_MAX_WORDS];
        uint32_t n = route_words(route, &compiled_model, &compiled_features, state, in_compiled);
        route_words(route, host_model, host_features, state, in_host);
        for (uint32_t k = 0; k < n; ++k)
            watch_word(watch, capacity, compiled, state, in_compiled[k], in_host[k]);
    }
    for (uint32_t e = 0; pitch && e < compiled->n_exciters; ++e) {
        if (compiled->exciter_kind[e] != SPRUNG_KERNEL_EXCITER_OSCILLATOR)
            continue;
        watch_word(watch, capacity, compiled, state, NULL, &state->exciter_increment[e]);
        watch_word(watch, capacity, compiled, state, NULL, &state->exciter_harmonics[e]);
    }
    /* Two routes on one parameter write one word: watch it once. */
    qsort(watch->words, watch->n_words, sizeof *watch->words, word_order);
    uint32_t unique = 0;
    for (uint32_t w = 0; w < watch->n_words; ++w)
        if (unique == 0 || watch->words[unique - 1].target != watch->words[w].target)
            watch->words[unique++] = watch->words[w];
    watch->n_words = unique;
    watch->resend = 1;
    *out = watch;
    return SPRUNG_OK;
}

SprungStatus sprung_modulation_watch_new(const SprungModel *model, const SprungCompiled *compiled,
                                         const SprungState *state, SprungModulationWatch **out,
                                         SprungError *error)
{
    SprungStepModel own_model = sprung_compiled_step_model(compiled);
    SprungFeatureModel own_features = sprung_compiled_feature_model(compiled);
    return watch_new(model, compiled, &own_model, &own_features, state, 0, out, error);
}

SprungStatus sprung_modulation_watch_new_voice(const SprungModel *model,
                                               const SprungCompiled *compiled,
                                               const SprungStepModel *voice_model,
                                               const SprungFeatureModel *voice_features,
                                               const SprungState *voice_state,
                                               SprungModulationWatch **out, SprungError *error)
{
    return watch_new(model, compiled, voice_model, voice_features, voice_state, 1, out, error);
}

uint32_t sprung_modulation_watch_words(const SprungModulationWatch *watch)
{
    return watch ? watch->n_words : 0;
}

void sprung_modulation_watch_free(SprungModulationWatch *watch)
{
    if (!watch)
        return;
    free(watch->words);
    free(watch->sent);
    free(watch);
}

SPRUNG_REALTIME uint32_t sprung_modulation_watch_collect(SprungModulationWatch *watch,
                                                         SprungModulationWrite *out)
{
    uint32_t n = 0;
    for (uint32_t w = 0; w < watch->n_words; ++w) {
        uint32_t bits = *watch->words[w].host;
        if (!watch->resend && bits == watch->sent[w])
            continue;
        watch->sent[w] = bits;
        out[n++] = (SprungModulationWrite){.target = watch->words[w].target, .bits = bits};
    }
    watch->resend = 0;
    return n;
}

SPRUNG_REALTIME void sprung_modulation_watch_resend(SprungModulationWatch *watch)
{
    watch->resend = 1;
}
