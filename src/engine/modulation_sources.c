/* Modulation sources: LFO, ADSR, envelope follower, Note Trigger, route
 * curves. Definitions in modulation_sources.h. Nothing here allocates;
 * everything but the *_init functions may run on the audio thread. */
#include <math.h>
#include <string.h>

#include "engine/modulation_sources.h"

#ifndef M_PI
#  define M_PI 3.14159265358979323846
#endif

/* ---- LFO ---- */

static uint32_t xorshift32(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

/* Uniform in [−1, 1): the top 24 bits, exact in a double. */
static double random_bipolar(uint32_t *state)
{
    return (double)(xorshift32(state) >> 8) / 8388608.0 - 1.0;
}

double sprung_lfo_config_rate(const SprungLfoConfig *config, double tempo_bpm)
{
    if (config->sync_beats > 0.0)
        return tempo_bpm / 60.0 / config->sync_beats;
    return config->rate_hz;
}

static double wrap_phase(double phase)
{
    double wrapped = phase - floor(phase);
    return wrapped >= 1.0 ? 0.0 : wrapped;
}

void sprung_lfo_init(SprungLfo *lfo, const SprungLfoConfig *config, double sample_rate,
                     double tempo_bpm)
{
    memset(lfo, 0, sizeof *lfo);
    lfo->config = *config;
    lfo->config.phase = wrap_phase(config->phase);
    if (lfo->config.seed == 0)
        lfo->config.seed = 1;
    lfo->sample_rate = sample_rate;
    lfo->rate = sprung_lfo_config_rate(config, tempo_bpm);
    sprung_lfo_retrigger(lfo);
}

SPRUNG_REALTIME void sprung_lfo_retrigger(SprungLfo *lfo)
{
    lfo->anchor_phase = lfo->config.phase;
    lfo->frames = 0;
    lfo->cycle = 0;
    if (lfo->random == 0)
        lfo->random = lfo->config.seed;
    lfo->held = random_bipolar(&lfo->random);
}

/* φ_a + n·f/fs, with n·f taken first so that whole cycles land exactly. */
static double lfo_total_phase(const SprungLfo *lfo, uint64_t frames)
{
    return lfo->anchor_phase + (double)frames * lfo->rate / lfo->sample_rate;
}

SPRUNG_REALTIME double sprung_lfo_phase(const SprungLfo *lfo)
{
    return wrap_phase(lfo_total_phase(lfo, lfo->frames));
}

SPRUNG_REALTIME double sprung_lfo_shape_value(SprungLfoShape shape, double phase)
{
    switch (shape) {
    case SPRUNG_LFO_SINE:
        return sin(2.0 * M_PI * phase);
    case SPRUNG_LFO_TRIANGLE:
        if (phase < 0.25)
            return 4.0 * phase;
        if (phase < 0.75)
            return 2.0 - 4.0 * phase;
        return 4.0 * phase - 4.0;
    case SPRUNG_LFO_SAW:
        return 2.0 * phase - 1.0;
    case SPRUNG_LFO_SQUARE:
        return phase < 0.5 ? 1.0 : -1.0;
    case SPRUNG_LFO_SAMPLE_HOLD:
    default:
        return 0.0;
    }
}

SPRUNG_REALTIME double sprung_lfo_next(SprungLfo *lfo)
{
    double total = lfo_total_phase(lfo, lfo->frames);
    double whole = floor(total);
    double phase = total - whole;
    if (phase >= 1.0)
        phase = 0.0;
    int64_t cycle = (int64_t)whole;
    if (cycle != lfo->cycle) {
        lfo->cycle = cycle;
        lfo->held = random_bipolar(&lfo->random);
    }
    lfo->frames++;
    if (lfo->config.shape == SPRUNG_LFO_SAMPLE_HOLD)
        return lfo->held;
    return sprung_lfo_shape_value(lfo->config.shape, phase);
}

SPRUNG_REALTIME void sprung_lfo_set_rate(SprungLfo *lfo, double rate_hz)
{
    if (rate_hz == lfo->rate)
        return;
    double total = lfo_total_phase(lfo, lfo->frames);
    double whole = floor(total);
    double phase = total - whole;
    /* Re-anchor at the next frame's phase. If that frame begins a new cycle
     * (the sample-and-hold draw is due), frame 0 of the new anchor must
     * still draw: mark the cycle as unknown. */
    lfo->anchor_phase = phase >= 1.0 ? 0.0 : phase;
    lfo->cycle = (int64_t)whole != lfo->cycle ? -1 : 0;
    lfo->frames = 0;
    lfo->rate = rate_hz;
}

SPRUNG_REALTIME void sprung_lfo_set_tempo(SprungLfo *lfo, double tempo_bpm)
{
    if (lfo->config.sync_beats > 0.0)
        sprung_lfo_set_rate(lfo, sprung_lfo_config_rate(&lfo->config, tempo_bpm));
}

/* ---- ADSR ---- */

#define SEGMENT_TOLERANCE 1e-9

static double segment_step(double span, double ms, double sample_rate)
{
    double frames = ms * 1e-3 * sample_rate;
    return frames > 0.0 ? span / frames : INFINITY;
}

void sprung_adsr_init(SprungAdsr *adsr, const SprungAdsrConfig *config, double sample_rate)
{
    memset(adsr, 0, sizeof *adsr);
    double sustain = config->sustain < 0.0 ? 0.0 : config->sustain > 1.0 ? 1.0 : config->sustain;
    adsr->sustain = sustain;
    adsr->attack_step = segment_step(1.0, config->attack_ms, sample_rate);
    adsr->decay_step = segment_step(1.0 - sustain, config->decay_ms, sample_rate);
    adsr->release_frames = config->release_ms * 1e-3 * sample_rate;
    adsr->stage = SPRUNG_ADSR_IDLE;
}

SPRUNG_REALTIME void sprung_adsr_reset(SprungAdsr *adsr)
{
    adsr->level = 0.0;
    adsr->stage = SPRUNG_ADSR_IDLE;
}

SPRUNG_REALTIME void sprung_adsr_gate_on(SprungAdsr *adsr)
{
    adsr->stage = SPRUNG_ADSR_ATTACK;
    if (isinf(adsr->attack_step)) {
        adsr->level = 1.0;
        adsr->stage = SPRUNG_ADSR_DECAY;
        if (isinf(adsr->decay_step) || adsr->decay_step == 0.0) {
            adsr->level = isinf(adsr->decay_step) ? adsr->sustain : 1.0;
            adsr->stage = SPRUNG_ADSR_SUSTAIN;
        }
    }
}

SPRUNG_REALTIME void sprung_adsr_gate_off(SprungAdsr *adsr)
{
    if (adsr->stage == SPRUNG_ADSR_IDLE || adsr->stage == SPRUNG_ADSR_RELEASE)
        return;
    adsr->stage = SPRUNG_ADSR_RELEASE;
    if (adsr->release_frames > 0.0) {
        adsr->release_step = adsr->level / adsr->release_frames;
    } else {
        adsr->level = 0.0;
        adsr->stage = SPRUNG_ADSR_IDLE;
    }
}

SPRUNG_REALTIME double sprung_adsr_next(SprungAdsr *adsr)
{
    double value = adsr->level;
    switch (adsr->stage) {
    case SPRUNG_ADSR_ATTACK:
        adsr->level += adsr->attack_step;
        /* The tolerance absorbs the rounding of n additions of 1/n. */
        if (adsr->level >= 1.0 - SEGMENT_TOLERANCE) {
            adsr->level = 1.0;
            adsr->stage = adsr->decay_step > 0.0 ? SPRUNG_ADSR_DECAY : SPRUNG_ADSR_SUSTAIN;
        }
        break;
    case SPRUNG_ADSR_DECAY:
        adsr->level -= adsr->decay_step;
        if (adsr->level <= adsr->sustain + SEGMENT_TOLERANCE) {
            adsr->level = adsr->sustain;
            adsr->stage = SPRUNG_ADSR_SUSTAIN;
        }
        break;
    case SPRUNG_ADSR_RELEASE:
        adsr->level -= adsr->release_step;
        if (adsr->level <= SEGMENT_TOLERANCE || !(adsr->release_step > 0.0)) {
            adsr->level = 0.0;
            adsr->stage = SPRUNG_ADSR_IDLE;
        }
        break;
    case SPRUNG_ADSR_SUSTAIN:
    case SPRUNG_ADSR_IDLE:
    default:
        break;
    }
    return value;
}

/* ---- Envelope follower ---- */

static double follower_coefficient(double ms, double sample_rate)
{
    if (!(ms > 0.0))
        return 1.0;
    return 1.0 - exp(-1.0 / (ms * 1e-3 * sample_rate));
}

void sprung_follower_init(SprungFollower *follower, double attack_ms, double release_ms,
                          double sample_rate)
{
    follower->attack_coefficient = follower_coefficient(attack_ms, sample_rate);
    follower->release_coefficient = follower_coefficient(release_ms, sample_rate);
    follower->level = 0.0;
}

SPRUNG_REALTIME double sprung_follower_next(SprungFollower *follower, double input)
{
    double rectified = fabs(input);
    if (!isfinite(rectified))
        return follower->level; /* a broken input never poisons the state */
    double coefficient = rectified > follower->level ? follower->attack_coefficient
                                                     : follower->release_coefficient;
    follower->level += coefficient * (rectified - follower->level);
    return follower->level;
}

SPRUNG_REALTIME void sprung_follower_reset(SprungFollower *follower)
{
    follower->level = 0.0;
}

/* ---- Note Trigger ---- */

SPRUNG_REALTIME SprungTriggerEdge sprung_note_trigger_next(SprungNoteTrigger *trigger,
                                                           double value)
{
    if (!trigger->high && value > 0.5) {
        trigger->high = 1;
        return SPRUNG_TRIGGER_ON;
    }
    if (trigger->high && value < 0.5) {
        trigger->high = 0;
        return SPRUNG_TRIGGER_OFF;
    }
    return SPRUNG_TRIGGER_NONE;
}

/* ---- Names ---- */

static const char *const shape_names[] = {"sine", "triangle", "saw", "square",
                                          "sample_and_hold"};
static const char *const curve_names[] = {"linear", "exponential", "quadratic", "cubic",
                                          "smooth"};

static int find_name(const char *const *names, int count, const char *name)
{
    for (int i = 0; i < count; ++i)
        if (name && !strcmp(names[i], name))
            return i;
    return -1;
}

int sprung_lfo_shape_from_name(const char *name)
{
    return find_name(shape_names, 5, name);
}

int sprung_curve_from_name(const char *name)
{
    return find_name(curve_names, 5, name);
}

const char *sprung_lfo_shape_name(SprungLfoShape shape)
{
    return (unsigned)shape < 5 ? shape_names[shape] : "?";
}

const char *sprung_curve_name(SprungCurve curve)
{
    return (unsigned)curve < 5 ? curve_names[curve] : "?";
}
