/* The generator of random_model.h. Each seed picks a topology that takes
 * its own paths through the simd backend's layouts:
 * - chains and grids give runs of consecutive endpoints (the lattice's whole
 *   vectors), with anchors at their ends or around them;
 * - bodies written out of order, springs left out and extra springs give
 *   patched slots, gathered springs and bodies outside whole vectors;
 * - random networks are the records' kind;
 * and any mix of the features: mallets, gravity, collisions (with planes,
 * anchors and other bodies), oscillators, plucks, bows, audio inputs,
 * delays, modulation (every kind of source and parameter) and voices.
 * Instruments hear every body on an output channel of its own (mic<i> on
 * channel 2 + i), so that a wrong bit anywhere reaches a compared sample;
 * plain networks, which either layout may take, are heard in stereo
 * (channels would make them the lattice's). Constants span decades but
 * keep nearly every model stable at 48 kHz with at most 4x oversampling. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "random_model.h"

enum { MAX_SPRINGS = 400 };

/* ---- the model's text ---- */

typedef struct Text {
    char *data;
    size_t used, capacity;
} Text;

static Text text_new(void)
{
    Text t = {malloc(4096), 0, 4096};
    if (!t.data) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return t;
}

static void emit(Text *t, const char *format, ...)
{
    for (;;) {
        va_list args;
        va_start(args, format);
        int n = vsnprintf(t->data + t->used, t->capacity - t->used, format, args);
        va_end(args);
        if (n >= 0 && t->used + (size_t)n < t->capacity) {
            t->used += (size_t)n;
            return;
        }
        t->capacity = t->capacity * 2 + (size_t)(n > 0 ? n : 0);
        t->data = realloc(t->data, t->capacity);
        if (!t->data) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
    }
}

/* A random unit-ish direction, written as a JSON vector. */
static void emit_direction(Text *t, Rng *r)
{
    double x = rng_uniform(r, -1, 1), y = rng_uniform(r, -1, 1), z = rng_uniform(r, -1, 1);
    if (fabs(x) + fabs(y) + fabs(z) < 0.1)
        z = 1.0;
    emit(t, "[%.6f, %.6f, %.6f]", x, y, z);
}

/* Points are bodies 0 .. n_bodies - 1, then anchors. */
typedef struct Shape {
    uint32_t n_bodies, n_anchors, n_springs;
    double position[RANDOM_MODEL_MAX_BODIES + 8][3];
    uint32_t spring[MAX_SPRINGS][2];
    uint32_t order[RANDOM_MODEL_MAX_BODIES]; /* body i is written as the order[i]-th body */
} Shape;

static void add_spring(Shape *s, uint32_t a, uint32_t b)
{
    if (a != b && s->n_springs < MAX_SPRINGS) {
        s->spring[s->n_springs][0] = a;
        s->spring[s->n_springs][1] = b;
        s->n_springs++;
    }
}

static void set_point(Shape *s, uint32_t point, double x, double y, double z, Rng *r)
{
    /* Jitter: no two springs have the same rest vector. */
    s->position[point][0] = x + rng_uniform(r, -5e-4, 5e-4);
    s->position[point][1] = y + rng_uniform(r, -5e-4, 5e-4);
    s->position[point][2] = z + rng_uniform(r, -5e-4, 5e-4);
}

/* A chain of bodies (runs of consecutive endpoints), anchored at none,
 * one or both ends, sometimes with springs to second neighbours. */
static void shape_chain(Shape *s, Rng *r)
{
    uint32_t n = 3 + rng_below(r, RANDOM_MODEL_MAX_BODIES - 2);
    s->n_bodies = n;
    for (uint32_t i = 0; i < n; ++i)
        set_point(s, i, 0.01 * i, 0, 0, r);
    for (uint32_t i = 0; i + 1 < n; ++i)
        add_spring(s, i, i + 1);
    if (rng_chance(r, 0.4))
        for (uint32_t i = 0; i + 2 < n; ++i)
            add_spring(s, i, i + 2);
    uint32_t ends = rng_below(r, 3);
    for (uint32_t e = 0; e < ends; ++e) {
        uint32_t anchor = n + s->n_anchors++;
        set_point(s, anchor, e ? 0.01 * n : -0.01, 0, 0, r);
        add_spring(s, e ? n - 1 : 0, anchor);
    }
}

/* A grid (runs with two endpoint offsets, 1 and nx), in a ring of up to
 * eight anchors, sometimes with diagonals. */
static void shape_grid(Shape *s, Rng *r)
{
    uint32_t nx = 2 + rng_below(r, 9), ny = 2 + rng_below(r, 6);
    while (nx * ny > RANDOM_MODEL_MAX_BODIES)
        ny--;
    s->n_bodies = nx * ny;
    bool diagonals = rng_chance(r, 0.3);
    for (uint32_t j = 0; j < ny; ++j)
        for (uint32_t i = 0; i < nx; ++i) {
            uint32_t b = j * nx + i;
            set_point(s, b, 0.01 * i, 0.01 * j, 0, r);
            if (i + 1 < nx)
                add_spring(s, b, b + 1);
            if (j + 1 < ny)
                add_spring(s, b, b + nx);
            if (diagonals && i + 1 < nx && j + 1 < ny)
                add_spring(s, b, b + nx + 1);
        }
    uint32_t anchors = rng_below(r, 9);
    for (uint32_t a = 0; a < anchors; ++a) {
        uint32_t b = rng_below(r, s->n_bodies), anchor = s->n_bodies + s->n_anchors++;
        set_point(s, anchor, s->position[b][0], s->position[b][1], 0.01, r);
        add_spring(s, b, anchor);
    }
}

/* Bodies at random points, joined at random (the records' kind). */
static void shape_network(Shape *s, Rng *r)
{
    s->n_bodies = 2 + rng_below(r, RANDOM_MODEL_MAX_BODIES - 1);
    s->n_anchors = rng_below(r, 4);
    for (uint32_t p = 0; p < s->n_bodies + s->n_anchors; ++p)
        set_point(s, p, rng_uniform(r, 0, 0.05), rng_uniform(r, 0, 0.05),
                  rng_uniform(r, 0, 0.05), r);
    uint32_t springs = s->n_bodies + rng_below(r, 3 * s->n_bodies);
    for (uint32_t k = 0; k < springs; ++k)
        add_spring(s, rng_below(r, s->n_bodies), rng_below(r, s->n_bodies + s->n_anchors));
}

static Shape *make_shape(Rng *r)
{
    Shape *s = calloc(1, sizeof *s);
    if (!s)
        exit(2);
    switch (rng_below(r, 4)) {
    case 0: shape_chain(s, r); break;
    case 1: shape_grid(s, r); break;
    case 2: shape_network(s, r); break;
    default: /* a grid with extra springs: runs and gathers side by side */
        shape_grid(s, r);
        for (uint32_t k = rng_below(r, 12); k > 0; --k)
            add_spring(s, rng_below(r, s->n_bodies), rng_below(r, s->n_bodies));
    }
    if (rng_chance(r, 0.3)) /* leave some out (the last takes their place): holes in the runs */
        for (uint32_t k = 0; k < s->n_springs; ++k)
            if (s->n_springs > 1 && rng_chance(r, 0.1)) {
                uint32_t last = --s->n_springs;
                s->spring[k][0] = s->spring[last][0];
                s->spring[k][1] = s->spring[last][1];
            }
    for (uint32_t i = 0; i < s->n_bodies; ++i)
        s->order[i] = i;
    if (rng_chance(r, 0.3)) /* some bodies written out of order */
        for (uint32_t k = rng_below(r, 6); k > 0; --k) {
            uint32_t a = rng_below(r, s->n_bodies), b = rng_below(r, s->n_bodies);
            uint32_t swap = s->order[a];
            s->order[a] = s->order[b];
            s->order[b] = swap;
        }
    return s;
}

/* Point p's id: bodies b<i>, anchors a<i>. */
static const char *point_id(const Shape *s, uint32_t p, char buffer[16])
{
    if (p < s->n_bodies)
        snprintf(buffer, 16, "b%u", p);
    else
        snprintf(buffer, 16, "a%u", p - s->n_bodies);
    return buffer;
}

static double distance(const Shape *s, uint32_t a, uint32_t b)
{
    double d = 0;
    for (int i = 0; i < 3; ++i)
        d += (s->position[a][i] - s->position[b][i]) * (s->position[a][i] - s->position[b][i]);
    return sqrt(d);
}

/* What the model has besides springs, drawn once per seed. */
typedef struct Features {
    bool gravity, collisions, oscillators, plucks, bows, audio_input, delay, modulation, voices;
    bool channel_per_body;
} Features;

static void emit_bodies(Text *t, const Shape *s, const Features *f, Rng *r)
{
    emit(t, "\"bodies\": [");
    for (uint32_t k = 0; k < s->n_bodies; ++k) {
        uint32_t b = 0;
        while (s->order[b] != k)
            b++;
        const double *x = s->position[b];
        emit(t, "%s{\"id\": \"b%u\", \"position\": [%.6f, %.6f, %.6f], \"mass\": %.6g",
             k ? ", " : "", b, x[0], x[1], x[2], rng_uniform(r, 1e-3, 1e-2));
        if (rng_chance(r, 0.5))
            emit(t, ", \"drag\": %.6g", rng_decades(r, -5, -2));
        if (rng_chance(r, 0.1)) {
            emit(t, ", \"velocity\": ");
            emit_direction(t, r);
        }
        if (f->collisions)
            emit(t, ", \"radius\": %.6g", rng_uniform(r, 0.002, 0.006));
        emit(t, "}");
    }
    emit(t, "], \"anchors\": [");
    for (uint32_t a = 0; a < s->n_anchors; ++a) {
        const double *x = s->position[s->n_bodies + a];
        emit(t, "%s{\"id\": \"a%u\", \"position\": [%.6f, %.6f, %.6f]}", a ? ", " : "", a, x[0],
             x[1], x[2]);
    }
    emit(t, "]");
}

/* Springs of every kind: at rest, pre-stressed, L = 0; damped or not.
 * `sabotage`: the first one a little stiffer. */
static void emit_springs(Text *t, const Shape *s, Rng *r, bool sabotage)
{
    emit(t, ", \"springs\": [");
    for (uint32_t k = 0; k < s->n_springs; ++k) {
        char from[16], to[16];
        uint32_t a = s->spring[k][0], b = s->spring[k][1];
        double stiffness = rng_decades(r, 1, 3.5);
        if (sabotage && k == 0)
            stiffness *= 1.0 + 0x1.0p-20;
        emit(t, "%s{\"id\": \"s%u\", \"from\": \"%s\", \"to\": \"%s\", \"stiffness\": %.9g",
             k ? ", " : "", k, point_id(s, a, from), point_id(s, b, to), stiffness);
        if (rng_chance(r, 0.5))
            emit(t, ", \"damping\": %.6g", rng_decades(r, -5, -2));
        uint32_t rest = rng_below(r, 8);
        if (rest == 0)
            emit(t, ", \"rest_length\": 0");
        else if (rest == 1)
            emit(t, ", \"rest_length\": %.6g", 0.9 * distance(s, a, b));
        emit(t, "}");
    }
    emit(t, "]");
}

/* Up to three mallets, on any bodies. */
static void emit_mallets(Text *t, const Shape *s, Rng *r)
{
    emit(t, ", \"mallets\": [");
    uint32_t n = 1 + rng_below(r, 3);
    for (uint32_t m = 0; m < n; ++m) {
        emit(t, "%s{\"id\": \"mallet%u\", \"target\": \"b%u\", \"direction\": ", m ? ", " : "", m,
             rng_below(r, s->n_bodies));
        emit_direction(t, r);
        emit(t, ", \"strength\": %.6g, \"duration_ms\": %.3g}", rng_decades(r, -4, -2),
             rng_uniform(r, 0.3, 3));
    }
    emit(t, "]");
}

static void emit_exciters(Text *t, const Shape *s, const Features *f, Rng *r)
{
    static const char *const waves[] = {"sine", "saw", "square", "noise"};
    if (f->oscillators) {
        emit(t, ", \"oscillators\": [");
        for (uint32_t k = 0, n = 1 + rng_below(r, 3); k < n; ++k) {
            emit(t, "%s{\"id\": \"osc%u\", \"target\": \"b%u\", \"direction\": ", k ? ", " : "", k,
                 rng_below(r, s->n_bodies));
            emit_direction(t, r);
            emit(t, ", \"waveform\": \"%s\", \"amplitude\": %.6g, \"attack_ms\": %.3g",
                 waves[rng_below(r, 4)], rng_decades(r, -3, -1), rng_uniform(r, 0, 10));
            if (rng_chance(r, 0.5))
                emit(t, ", \"frequency\": %.6g", rng_uniform(r, 50, 2000));
            emit(t, ", \"seed\": %u}", 1 + rng_below(r, 1000));
        }
        emit(t, "]");
    }
    if (f->plucks) {
        emit(t, ", \"plucks\": [");
        for (uint32_t k = 0, n = 1 + rng_below(r, 2); k < n; ++k) {
            emit(t, "%s{\"id\": \"pluck%u\", \"target\": \"b%u\", \"direction\": ", k ? ", " : "",
                 k, rng_below(r, s->n_bodies));
            emit_direction(t, r);
            emit(t, ", \"strength\": %.6g, \"stiffness\": %.6g, \"speed\": %.6g",
                 rng_decades(r, -3, -1), rng_decades(r, 2, 3.5), rng_uniform(r, 0.05, 1));
            if (rng_chance(r, 0.5))
                emit(t, ", \"max_travel\": %.6g", rng_uniform(r, 0.0005, 0.01));
            emit(t, "}");
        }
        emit(t, "]");
    }
    if (f->bows) {
        emit(t, ", \"bows\": [{\"id\": \"bow\", \"target\": \"b%u\", \"direction\": ",
             rng_below(r, s->n_bodies));
        emit_direction(t, r);
        emit(t, ", \"force\": %.6g, \"speed\": %.6g, \"attack_ms\": %.3g}]",
             rng_uniform(r, 0.01, 0.5), rng_uniform(r, 0.05, 0.5), rng_uniform(r, 0, 20));
    }
    if (f->audio_input) {
        emit(t, ", \"audio_inputs\": [{\"id\": \"in\", \"target\": \"b%u\", \"direction\": ",
             rng_below(r, s->n_bodies));
        emit_direction(t, r);
        emit(t, ", \"gain\": %.6g, \"input\": %s, \"gate\": %s}]", rng_decades(r, -3, -1),
             f->delay && rng_chance(r, 0.5) ? "\"none\"" : "0",
             rng_chance(r, 0.5) ? "true" : "false");
    }
}

/* One microphone per body (its own channel, or panned), and one more. */
static void emit_microphones(Text *t, const Shape *s, const Features *f, Rng *r)
{
    emit(t, ", \"microphones\": [");
    for (uint32_t b = 0; b <= s->n_bodies; ++b) {
        bool velocity = rng_chance(r, 0.3);
        emit(t, "%s{\"id\": \"mic%u\", \"target\": \"b%u\", \"axis\": ", b ? ", " : "", b,
             b < s->n_bodies ? b : rng_below(r, s->n_bodies));
        emit_direction(t, r);
        emit(t, ", \"signal\": \"%s\", \"gain\": %g", velocity ? "velocity" : "position",
             velocity ? 1.0 : 100.0);
        if (f->channel_per_body && b < s->n_bodies)
            emit(t, ", \"output\": %u}", 2 + b);
        else
            emit(t, ", \"pan\": %.3f}", rng_uniform(r, -1, 1));
    }
    emit(t, "]");
}

static void emit_collisions(Text *t, const Shape *s, const Features *f, Rng *r)
{
    if (f->gravity)
        emit(t, ", \"gravity\": [0, 0, -9.81]");
    if (!f->collisions)
        return;
    emit(t, ", \"collisions\": [");
    for (uint32_t k = 0, n = 1 + rng_below(r, 4); k < n; ++k) {
        uint32_t body = rng_below(r, s->n_bodies);
        emit(t, "%s{\"id\": \"hit%u\", \"body\": \"b%u\", ", k ? ", " : "", k, body);
        uint32_t other = rng_below(r, s->n_bodies + s->n_anchors);
        if (other != body && rng_chance(r, 0.5)) {
            char id[16];
            emit(t, "\"other\": \"%s\", \"radius\": %.6g", point_id(s, other, id),
                 distance(s, body, other) * rng_uniform(r, 0.9, 1.1));
        } else {
            /* A plane through a point just below (or above) the body. */
            const double *x = s->position[body];
            emit(t, "\"plane\": {\"point\": [%.6f, %.6f, %.6f], \"normal\": ", x[0], x[1],
                 x[2] - rng_uniform(r, -0.001, 0.005));
            emit_direction(t, r);
            emit(t, "}");
        }
        emit(t, ", \"stiffness\": %.6g, \"damping\": %.6g}", rng_decades(r, 2, 3.5),
             rng_chance(r, 0.5) ? rng_decades(r, -4, -2) : 0.0);
    }
    emit(t, "]");
}

/* A parameter route from one of the first `n_sources` sources to
 * `object`'s `parameter` over [low, high], by any curve (the exponential
 * one only over a range that keeps its sign), smoothed or not. */
static void emit_route(Text *t, bool *first, uint32_t n_sources, const char *object,
                       const char *parameter, double low, double high, Rng *r)
{
    static const char *const sources[] = {"lfo", "wheel", "bend", "envelope", "follower"};
    static const char *const curves[] = {"linear", "quadratic", "cubic", "smooth", "exponential"};
    uint32_t n_curves = low * high > 0 ? 5 : 4;
    emit(t, "%s{\"source\": \"%s\", \"target\": \"%s\", \"parameter\": \"%s\", "
            "\"range\": [%.6g, %.6g], \"amount\": %.3f, \"offset\": %.3f, \"curve\": \"%s\", "
            "\"smoothing_ms\": %.3g}",
         *first ? "" : ", ", sources[rng_below(r, n_sources)], object, parameter, low, high,
         rng_uniform(r, -1, 1), rng_uniform(r, 0, 1), curves[rng_below(r, n_curves)],
         rng_chance(r, 0.3) ? 0.0 : 5.0);
    *first = false;
}

/* Sources of every kind and, each with even odds, a route to every kind of
 * parameter (one route per parameter, as the format requires). A follower
 * of a microphone makes the model a feature model (the lattice's), so only
 * some have one: modulation alone leaves the layout to its rule. */
static void emit_modulation(Text *t, const Shape *s, const Features *f, Rng *r)
{
    static const char *const shapes[] = {"sine", "triangle", "saw", "square", "sample_and_hold"};
    emit(t, ", \"sources\": [{\"id\": \"lfo\", \"type\": \"lfo\", \"shape\": \"%s\", "
            "\"rate_hz\": %.3g}, "
            "{\"id\": \"wheel\", \"type\": \"midi\", \"control\": \"cc\", \"number\": 1}, "
            "{\"id\": \"bend\", \"type\": \"midi\", \"control\": \"pitch_bend\"}, "
            "{\"id\": \"envelope\", \"type\": \"envelope\", \"attack_ms\": 3, \"decay_ms\": 20, "
            "\"sustain\": 0.5, \"release_ms\": 10}",
         shapes[rng_below(r, 5)], rng_uniform(r, 5, 40));
    uint32_t n_sources = 4;
    if (rng_chance(r, 0.3)) {
        emit(t, ", {\"id\": \"follower\", \"type\": \"follower\", \"microphone\": \"mic0\"}");
        n_sources = 5;
    }
    emit(t, "]");
    bool first = true;
    char spring[16], body[16];
    /* A random network may have drawn no spring at all (every pair it drew
     * was one body twice): then no spring routes. */
    if (s->n_springs)
        snprintf(spring, sizeof spring, "s%u", rng_below(r, s->n_springs));
    snprintf(body, sizeof body, "b%u", rng_below(r, s->n_bodies));
    double k = rng_decades(r, 1, 3);
    emit(t, ", \"routes\": [");
    if (s->n_springs) {
        emit_route(t, &first, n_sources, spring, "stiffness", k, 2 * k, r);
        if (rng_chance(r, 0.5))
            emit_route(t, &first, n_sources, spring, "damping", 1e-5, 1e-2, r);
        if (rng_chance(r, 0.5))
            emit_route(t, &first, n_sources, spring, "rest_length", 0.005, 0.012, r);
    }
    if (rng_chance(r, 0.5))
        emit_route(t, &first, n_sources, body, "mass", 2e-3, 1e-2, r);
    if (rng_chance(r, 0.5))
        emit_route(t, &first, n_sources, body, "drag", 0, 1e-2, r);
    if (s->n_anchors && rng_chance(r, 0.5)) {
        uint32_t a = rng_below(r, s->n_anchors);
        double x = s->position[s->n_bodies + a][0];
        char anchor[16];
        snprintf(anchor, sizeof anchor, "a%u", a);
        emit_route(t, &first, n_sources, anchor, "x", x - 0.001, x + 0.001, r);
    }
    if (rng_chance(r, 0.5))
        emit_route(t, &first, n_sources, "mallet0", "strength", 1e-4, 1e-2, r);
    if (rng_chance(r, 0.5))
        emit_route(t, &first, n_sources, "mic1", "gain", -50, 200, r);
    if (rng_chance(r, 0.5))
        emit_route(t, &first, n_sources, "mic0", "pan", -1, 1, r);
    if (f->oscillators && rng_chance(r, 0.5))
        emit_route(t, &first, n_sources, "osc0", "amplitude", 1e-3, 1e-1, r);
    if (f->oscillators && rng_chance(r, 0.5))
        emit_route(t, &first, n_sources, "osc0", "frequency", 100, 1000, r);
    if (f->delay && rng_chance(r, 0.5))
        emit_route(t, &first, n_sources, "echo", "time_ms", 1, 20, r);
    emit(t, "]");
}

char *random_model_text(uint64_t seed, RandomModelOptions options)
{
    Rng r = {seed};
    Shape *s = make_shape(&r);
    /* Half the seeds are instruments (every body on a channel of its own,
     * so the lattice's), half plain networks, which either layout may take
     * (heard in stereo, or on channels, which makes them the lattice's). */
    Features f = {.modulation = rng_chance(&r, 0.5)};
    if (rng_chance(&r, 0.5)) {
        f.gravity = rng_chance(&r, 0.25);
        f.collisions = rng_chance(&r, 0.4);
        f.oscillators = rng_chance(&r, 0.4);
        f.plucks = rng_chance(&r, 0.3);
        f.bows = rng_chance(&r, 0.25);
        f.audio_input = rng_chance(&r, 0.3);
        f.delay = f.audio_input && rng_chance(&r, 0.5);
        f.voices = rng_chance(&r, 0.25) && !options.no_voices;
        f.channel_per_body = true;
    } else {
        f.channel_per_body = rng_chance(&r, 0.3);
    }

    Text t = text_new();
    emit(&t, "{\"sprung\": 1, \"name\": \"random %llu\", ", (unsigned long long)seed);
    emit_bodies(&t, s, &f, &r);
    emit_springs(&t, s, &r, options.stiffer_spring);
    emit_mallets(&t, s, &r);
    emit_exciters(&t, s, &f, &r);
    emit_microphones(&t, s, &f, &r);
    emit_collisions(&t, s, &f, &r);
    if (f.delay)
        emit(&t, ", \"delays\": [{\"id\": \"echo\", \"from\": \"mic0\", \"to\": \"in\", "
                 "\"time_ms\": %.3g, \"gain\": %.3f, \"feedback\": %.3f}]",
             rng_uniform(&r, 0.5, 20), rng_uniform(&r, -1, 1), rng_uniform(&r, -0.9, 0.9));
    if (f.modulation)
        emit_modulation(&t, s, &f, &r);
    if (f.voices)
        emit(&t, ", \"voices\": {\"count\": %u, \"root\": 60, \"notes\": [36, 84]}",
             2 + rng_below(&r, 3));
    emit(&t, "}");
    free(s);
    return t.data;
}
