/* Pitch by time dilation, for instanced presets: a voice playing MIDI note n
 * (bent by b semitones) steps its copy of the network with the time step
 *     dt_voice = dt · 2^((n + b − root)/12)
 * while real time advances by dt per step. Header-only; any thread.
 *
 * The discrete-time warp applies per voice: a mode of eigenvalue λ of
 * M⁻¹K rotates by θ = 2·asin(½·√λ·dt_voice) per step, so it sounds at
 *     f(n) = asin(½·√λ·dt_voice) / (π·dt)
 * — not exactly 2^((n − root)/12) · f(root). Low modes (√λ·dt ≪ 1) are in
 * tune to within (√λ·dt_voice)²/24 relative; high ones go sharp, and a
 * voice with √λ·dt_voice ≥ 2 is unstable. That is why the stability check
 * of an instanced preset uses the largest dt_voice it can reach (its
 * highest note) and why voices never step faster than that. */
#ifndef SPRUNG_ENGINE_VOICE_PITCH_H
#define SPRUNG_ENGINE_VOICE_PITCH_H

#include <math.h>

#ifndef M_PI
#  define M_PI 3.14159265358979323846
#endif

/* 2^((note + bend − root)/12). */
static inline double sprung_voice_time_scale(double note, double bend_semitones, double root)
{
    return exp2((note + bend_semitones - root) / 12.0);
}

/* The frequency (Hz) a mode of eigenvalue `lambda` (rad²/s²) sounds at in
 * a voice whose time step is `scale` × `dt`; NAN when that is unstable. */
static inline double sprung_voice_predicted_frequency(double lambda, double dt, double scale)
{
    double half = 0.5 * sqrt(lambda) * dt * scale;
    if (!(half < 1.0))
        return NAN;
    return asin(half) / (M_PI * dt);
}

/* The highest note (≤ 127) whose voice is still stable for a largest
 * eigenvalue `lambda`: the largest n with √λ·dt·2^((n − root)/12) < 2;
 * −1 when even note 0 is not. (The engine's own check uses the full
 * damped analysis, src/model/analysis.c; this is the undamped bound.) */
static inline int sprung_voice_highest_stable_note(double lambda, double dt, double root)
{
    for (int note = 127; note >= 0; --note)
        if (sqrt(lambda) * dt * sprung_voice_time_scale(note, 0.0, root) < 2.0)
            return note;
    return -1;
}

#endif
