/* Backend conformance: every backend of the registry (and every device of
 * each: for `simd` the devices are the instruction sets this CPU has)
 * against the CPU reference, the oracle.
 *
 * 1. One step from the same random state, for every factory preset and for
 *    random networks (L = 0 and tensioned springs, drag, anchors, running
 *    mallet pulses, position and velocity microphones): the host state is
 *    set, uploaded, synced back at once (the same state must come back),
 *    advanced one engine step (and then 15 more), synced back; every state
 *    array and the two outputs are compared. A NaN, or an Inf the
 *    reference does not have at the same place, fails; then the normalised
 *    error Σ(a−b)²/Σa² must be ≤ 1e-10 per array (issue 6).
 *    Pulse step counters must be equal. A feature model then runs a
 *    16-step feature block from there (notes on every exciter, two audio
 *    inputs), comparing the feature state and every output channel too.
 * 2. One-second renders of every factory preset with notes across the key
 *    range: max |diff| ≤ 1e-3 of the reference's peak.
 * Bit-identical results are counted and reported; with --exact, any
 * comparison that is not bit-identical fails (the simd backend keeps the
 * reference's operation order in both of its layouts, so it must be).
 * Beside the random networks, random meshes (a grid in a ring of anchors,
 * as bench/mesh-20x30.json) exercise the simd backend's lattice layout.
 * A backend or device that cannot run here is reported as skipped with the
 * probe's reason (GPU backends on machines without a GPU), and so is a model
 * that uses a physics feature the backend does not implement yet.
 * By hand: with simd_records_upload writing each force record at its
 * spring's index instead of simd_force_slot's, the upload-then-sync
 * comparison fails (normalised errors 0.25-0.87 on the first preset).
 *
 * Usage: test_backend_conformance [--backend NAME] [--device N] [--no-render]
 *                                 [--exact] [--sabotage] PRESET_DIR
 *   --backend NAME  only this backend (exit 77, "skipped", when it is not
 *                   in this build or cannot run here)
 *   --device N      only its device N
 *   --no-render     only the step comparisons
 *   --exact         fail every comparison that is not bit-identical
 *   --sabotage      perturb one value of every tested backend's state by
 *                   1e-3 (relative): the NMSE check must then fail. */
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "engine/compiled.h"
#include "model/analysis.h"
#include "model/model.h"
#include "sprung/sprung.h"

#define NMSE_BOUND 1e-10
#define RENDER_BOUND 1e-3
#define RANDOM_NETWORKS 6
#define RANDOM_MESHES 3
#define EXTRA_STEPS 15
#define RENDER_BLOCK 256u
#define SKIPPED 77

static bool g_sabotage;
static bool g_require_exact;
static int g_failures;
static unsigned g_compared, g_exact, g_skipped;

/* A backend may lack physics features a model uses (SPRUNG_FEATURE_* in
 * src/engine/compiled.h: new physics lands in the reference first). Such a
 * model is reported as skipped for that backend, not failed. */
static bool lacks_feature(SprungStatus status, const SprungError *error)
{
    return status == SPRUNG_ERROR_UNSUPPORTED && strstr(error->message, "does not implement");
}

/* ---- deterministic random numbers ---- */

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint32_t rng_u32(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}
static double rng_uniform(double low, double high)
{
    return low + (high - low) * (rng_u32() / 2147483648.0);
}

/* ---- comparisons ---- */

typedef struct Compare {
    double nmse;
    bool bad_special; /* NaN, or unmatched Inf */
    bool exact;
    char what[96];
} Compare;

static Compare compare_floats(const float *ref, const float *got, size_t n)
{
    Compare c = {.exact = true};
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; ++i) {
        float a = ref[i], b = got[i];
        if (memcmp(&a, &b, sizeof a))
            c.exact = false;
        if (isnan(a) || isnan(b)) {
            c.bad_special = true;
            snprintf(c.what, sizeof c.what, "NaN at [%zu] (reference %g, backend %g)", i, a, b);
            continue;
        }
        if (isinf(a) || isinf(b)) {
            if (a != b) {
                c.bad_special = true;
                snprintf(c.what, sizeof c.what, "unmatched Inf at [%zu] (reference %g, backend %g)",
                         i, a, b);
            }
            continue;
        }
        double d = (double)a - (double)b;
        num += d * d;
        den += (double)a * a;
    }
    c.nmse = den > 0.0 ? num / den : (num > 0.0 ? INFINITY : 0.0);
    return c;
}

static bool check_array(const char *context, const char *name, const float *ref, const float *got,
                        size_t n)
{
    Compare c = compare_floats(ref, got, n);
    g_compared++;
    g_exact += c.exact;
    if (c.bad_special) {
        printf("FAIL %s: %s: %s\n", context, name, c.what);
        g_failures++;
        return false;
    }
    if (!(c.nmse <= NMSE_BOUND)) {
        printf("FAIL %s: %s: normalised error %.3g exceeds %.0e\n", context, name, c.nmse,
               NMSE_BOUND);
        g_failures++;
        return false;
    }
    return true;
}

/* ---- models ---- */

static SprungModel *load_model_text(const char *json, const char *name)
{
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_string(json, name, &model, &error) != SPRUNG_OK) {
        printf("FAIL %s does not load: %s\n", name, error.message);
        g_failures++;
        return NULL;
    }
    return model;
}

/* A random network: bodies in a 5 cm cube, a few anchors; springs join
 * random pairs (some with L = 0, some tensioned, some slack); drag on some
 * bodies; three mallets; position and velocity microphones. */
static char *random_network_json(int index, uint32_t n_bodies, uint32_t n_springs)
{
    size_t capacity = 256u * (n_bodies + n_springs) + 4096u, used = 0;
    char *text = malloc(capacity);
    if (!text)
        return NULL;
#define EMIT(...) used += (size_t)snprintf(text + used, capacity - used, __VA_ARGS__)
    uint32_t n_anchors = 1 + n_bodies / 8;
    EMIT("{\"sprung\": 1, \"name\": \"random-%d\", \"bodies\": [", index);
    for (uint32_t i = 0; i < n_bodies; ++i)
        EMIT("%s{\"id\": \"b%u\", \"position\": [%.5f, %.5f, %.5f], \"mass\": %.5f, \"drag\": %.6f,"
             " \"velocity\": [%.4f, %.4f, %.4f]}",
             i ? ",\n" : "\n", i, rng_uniform(0, 0.05), rng_uniform(0, 0.05), rng_uniform(0, 0.05),
             rng_uniform(0.001, 0.01), rng_u32() % 3 ? 0.0 : rng_uniform(0, 1e-3),
             rng_uniform(-0.1, 0.1), rng_uniform(-0.1, 0.1), rng_uniform(-0.1, 0.1));
    EMIT("],\n\"anchors\": [");
    for (uint32_t a = 0; a < n_anchors; ++a)
        EMIT("%s{\"id\": \"a%u\", \"position\": [%.5f, %.5f, %.5f]}", a ? ",\n" : "\n", a,
             rng_uniform(-0.01, 0.06), rng_uniform(-0.01, 0.06), rng_uniform(-0.01, 0.06));
    EMIT("],\n\"springs\": [");
    for (uint32_t s = 0; s < n_springs; ++s) {
        uint32_t p = rng_u32() % (n_bodies + n_anchors), q;
        do {
            q = rng_u32() % n_bodies;
        } while (q == p);
        char from[16], to[16];
        if (p < n_bodies)
            snprintf(from, sizeof from, "b%u", p);
        else
            snprintf(from, sizeof from, "a%u", p - n_bodies);
        snprintf(to, sizeof to, "b%u", q);
        char rest[48] = "";
        uint32_t kind = rng_u32() % 4;
        if (kind == 0)
            snprintf(rest, sizeof rest, ", \"rest_length\": 0");
        else if (kind == 1)
            snprintf(rest, sizeof rest, ", \"rest_length\": %.5f", rng_uniform(0.001, 0.03));
        EMIT("%s{\"id\": \"s%u\", \"from\": \"%s\", \"to\": \"%s\", \"stiffness\": %.1f,"
             " \"damping\": %.6f%s}",
             s ? ",\n" : "\n", s, from, to, rng_uniform(10, 2000), rng_uniform(0, 1e-3), rest);
    }
    EMIT("],\n\"mallets\": [");
    for (uint32_t m = 0; m < 3; ++m)
        EMIT("%s{\"id\": \"m%u\", \"target\": \"b%u\", \"direction\": [%.3f, %.3f, 1],"
             " \"strength\": 0.001, \"duration_ms\": %.2f}",
             m ? ", " : "", m, rng_u32() % n_bodies, rng_uniform(-1, 1), rng_uniform(-1, 1),
             rng_uniform(0.02, 2.0));
    EMIT("],\n\"microphones\": [{\"id\": \"p\", \"target\": \"b%u\", \"axis\": [0, 0, 1],"
         " \"gain\": 10, \"pan\": -0.4}, {\"id\": \"v\", \"target\": \"b%u\", \"axis\": [1, 1, 0],"
         " \"signal\": \"velocity\", \"gain\": 0.3, \"pan\": 0.6}]}\n",
         rng_u32() % n_bodies, rng_u32() % n_bodies);
#undef EMIT
    return text;
}

/* A random mesh: nx × ny bodies on a jittered grid, neighbours joined
 * along x and y (in row order, as a generator writes them), a ring of
 * anchors tied to the edge bodies, tensioned springs with some at L = 0;
 * drag on some bodies, a mallet on one, position and velocity microphones. */
static char *random_mesh_json(int index, uint32_t nx, uint32_t ny)
{
    size_t capacity = 512u * (nx + 2) * (ny + 2) + 4096u, used = 0;
    char *text = malloc(capacity);
    if (!text)
        return NULL;
#define EMIT(...) used += (size_t)snprintf(text + used, capacity - used, __VA_ARGS__)
    const double spacing = 0.01;
    EMIT("{\"sprung\": 1, \"name\": \"mesh-%d\", \"bodies\": [", index);
    for (uint32_t j = 0; j < ny; ++j)
        for (uint32_t i = 0; i < nx; ++i)
            EMIT("%s{\"id\": \"b%u_%u\", \"position\": [%.5f, %.5f, %.5f], \"mass\": %.5f,"
                 " \"drag\": %.6f, \"velocity\": [%.4f, %.4f, %.4f]}",
                 i || j ? ",\n" : "\n", i, j, i * spacing + rng_uniform(-1e-3, 1e-3),
                 j * spacing + rng_uniform(-1e-3, 1e-3), rng_uniform(-1e-3, 1e-3),
                 rng_uniform(1e-4, 1e-3), rng_u32() % 3 ? 1e-5 : rng_uniform(0, 1e-4),
                 rng_uniform(-0.1, 0.1), rng_uniform(-0.1, 0.1), rng_uniform(-0.1, 0.1));
    EMIT("],\n\"anchors\": [");
    uint32_t n_anchors = 0;
    for (int j = -1; j <= (int)ny; ++j)
        for (int i = -1; i <= (int)nx; ++i) {
            bool edge_x = i == -1 || i == (int)nx, edge_y = j == -1 || j == (int)ny;
            if (edge_x == edge_y)
                continue; /* inside, or a corner */
            EMIT("%s{\"id\": \"a%d_%d\", \"position\": [%.5f, %.5f, 0]}",
                 n_anchors ? ",\n" : "\n", i, j, i * spacing, j * spacing);
            n_anchors++;
        }
    EMIT("],\n\"springs\": [");
    uint32_t n_springs = 0;
    for (int j = -1; j <= (int)ny; ++j)
        for (int i = -1; i <= (int)nx; ++i)
            for (int direction = 0; direction < 2; ++direction) {
                int i2 = i + (direction == 0), j2 = j + (direction == 1);
                bool body_p = i >= 0 && i < (int)nx && j >= 0 && j < (int)ny;
                bool body_q = i2 >= 0 && i2 < (int)nx && j2 >= 0 && j2 < (int)ny;
                bool ring_p = (i == -1 || i == (int)nx) != (j == -1 || j == (int)ny);
                bool ring_q = (i2 == -1 || i2 == (int)nx) != (j2 == -1 || j2 == (int)ny);
                if (!(body_p || body_q) || !(body_p || ring_p) || !(body_q || ring_q))
                    continue;
                char rest[48];
                if (rng_u32() % 5 == 0)
                    snprintf(rest, sizeof rest, "0");
                else
                    snprintf(rest, sizeof rest, "%.6f", spacing * rng_uniform(0.9, 0.99));
                EMIT("%s{\"id\": \"s%u\", \"from\": \"%c%d_%d\", \"to\": \"%c%d_%d\","
                     " \"stiffness\": %.1f, \"damping\": %.6f, \"rest_length\": %s}",
                     n_springs ? ",\n" : "\n", n_springs, body_p ? 'b' : 'a', i, j,
                     body_q ? 'b' : 'a', i2, j2, rng_uniform(100, 2000), rng_uniform(0, 2e-4),
                     rest);
                n_springs++;
            }
    EMIT("],\n\"mallets\": [{\"id\": \"m\", \"target\": \"b%u_%u\", \"direction\": [0, 0, 1],"
         " \"strength\": 0.001, \"duration_ms\": 1}],\n",
         rng_u32() % nx, rng_u32() % ny);
    EMIT("\"microphones\": [{\"id\": \"p\", \"target\": \"b%u_%u\", \"axis\": [0, 0, 1],"
         " \"gain\": 10, \"pan\": -0.4}, {\"id\": \"v\", \"target\": \"b%u_%u\","
         " \"axis\": [0, 1, 1], \"signal\": \"velocity\", \"gain\": 0.3, \"pan\": 0.6}]}\n",
         rng_u32() % nx, rng_u32() % ny, rng_u32() % nx, rng_u32() % ny);
#undef EMIT
    return text;
}

/* A random mesh whose springs and bodies modulation rewrites between
 * frames (stiffness, damping, rest length from 0 to nonzero and back, mass,
 * drag), through a free LFO and, with `voices`, a per-voice envelope into
 * each voice's own arrays: a backend that keeps private copies of those
 * constants must follow them. */
static char *modulated_mesh_json(int index, uint32_t nx, uint32_t ny, uint32_t voices)
{
    char *mesh = random_mesh_json(index, nx, ny);
    if (!mesh)
        return NULL;
    size_t length = strlen(mesh);
    char *text = realloc(mesh, length + 2048);
    if (!text) {
        free(mesh);
        return NULL;
    }
    /* Reopen the closing brace. */
    while (length && text[length - 1] != '}')
        --length;
    length -= 1;
    char voice_block[96] = "";
    if (voices)
        snprintf(voice_block, sizeof voice_block,
                 "\"voices\": {\"count\": %u, \"root\": 60, \"notes\": [24, 113]},\n",
                 voices);
    snprintf(text + length, 2048,
             ",\n%s\"sources\": [{\"id\": \"lfo\", \"type\": \"lfo\", \"rate_hz\": 9},"
             " {\"id\": \"env\", \"type\": \"envelope\", \"attack_ms\": 30,"
             " \"decay_ms\": 40, \"sustain\": 0.3, \"release_ms\": 20}],\n"
             "\"routes\": ["
             "{\"source\": \"lfo\", \"target\": \"s1\", \"parameter\": \"stiffness\","
             " \"range\": [200, 1500], \"offset\": 0.5, \"amount\": 0.5},\n"
             "{\"source\": \"lfo\", \"target\": \"s4\", \"parameter\": \"damping\","
             " \"range\": [0, 3e-4], \"offset\": 0.5, \"amount\": 0.5},\n"
             "{\"source\": \"env\", \"target\": \"s6\", \"parameter\": \"rest_length\","
             " \"range\": [0, 0.012], \"smoothing_ms\": 0.1},\n"
             "{\"source\": \"env\", \"target\": \"b1_1\", \"parameter\": \"mass\","
             " \"range\": [5e-4, 1e-3]},\n"
             "{\"source\": \"lfo\", \"target\": \"b2_1\", \"parameter\": \"drag\","
             " \"range\": [0, 1e-4], \"offset\": 0.5, \"amount\": 0.5}]}\n",
             voice_block);
    return text;
}

/* ---- one step from a random state ---- */

typedef struct Side {
    SprungState state;
    SprungBackend backend;
    bool made;
} Side;

static void side_free(Side *side)
{
    if (side->made && side->backend.destroy)
        side->backend.destroy(side->backend.ctx);
    sprung_state_free(&side->state);
    memset(side, 0, sizeof *side);
}

/* The same random state in both: displacements of a few per cent of the
 * typical spring length, velocities to match, forces garbage (phase 1
 * overwrites them), and running pulses on random slots. */
static void random_state(const SprungCompiled *c, SprungState *a, SprungState *b)
{
    double length = 0.0;
    for (uint32_t s = 0; s < c->n_springs; ++s)
        length += c->spring_length0[s];
    length = c->n_springs ? length / c->n_springs : 0.01;
    if (!(length > 0.0))
        length = 0.01;
    for (uint32_t i = 0; i < c->n_nodes; ++i) {
        bool anchor = i >= c->n_bodies;
        float u[3], v[3];
        for (int k = 0; k < 3; ++k) {
            u[k] = anchor ? 0.0f : (float)rng_uniform(-0.05 * length, 0.05 * length);
            v[k] = anchor ? 0.0f : (float)rng_uniform(-50.0 * length, 50.0 * length);
        }
        a->ux[i] = b->ux[i] = u[0];
        a->uy[i] = b->uy[i] = u[1];
        a->uz[i] = b->uz[i] = u[2];
        a->vx[i] = b->vx[i] = v[0];
        a->vy[i] = b->vy[i] = v[1];
        a->vz[i] = b->vz[i] = v[2];
    }
    for (uint32_t s = 0; s < c->n_springs; ++s) {
        a->spring_force_x[s] = b->spring_force_x[s] = (float)rng_uniform(-1, 1);
        a->spring_force_y[s] = b->spring_force_y[s] = (float)rng_uniform(-1, 1);
        a->spring_force_z[s] = b->spring_force_z[s] = (float)rng_uniform(-1, 1);
    }
    for (uint32_t slot = 0; slot < c->n_pulse_slots; ++slot) {
        uint32_t mallet = slot / SPRUNG_PULSE_SLOTS;
        bool running = rng_u32() % 2;
        a->pulse_step[slot] = b->pulse_step[slot] =
            running ? rng_u32() % c->mallet_steps[mallet] : SPRUNG_PULSE_IDLE;
        a->pulse_amplitude[slot] = b->pulse_amplitude[slot] =
            running ? (float)rng_uniform(1e-4, 2e-3) : 0.0f;
    }
}

/* Returns 1 when made, 0 on failure, -1 when the backend lacks a feature. */
static int side_make(Side *side, const SprungCompiled *compiled, const char *spec,
                     const char *context)
{
    memset(side, 0, sizeof *side);
    if (sprung_state_new(compiled, &side->state) != SPRUNG_OK) {
        printf("FAIL %s: out of memory\n", context);
        g_failures++;
        return 0;
    }
    SprungEngineConfig config = sprung_engine_config_default();
    config.backend = spec;
    config.max_block_frames = 64;
    SprungError error = {0};
    SprungStatus status =
        sprung_backend_create(compiled, &side->state, &config, &side->backend, &error);
    if (lacks_feature(status, &error)) {
        printf("skip %s: %s\n", context, error.message);
        g_skipped++;
        return -1;
    }
    if (status != SPRUNG_OK) {
        printf("FAIL %s: backend %s: %s\n", context, spec, error.message);
        g_failures++;
        return 0;
    }
    side->made = true;
    return 1;
}

static void compare_states(const char *context, const SprungCompiled *c, const SprungState *ref,
                           const SprungState *got)
{
    check_array(context, "ux", ref->ux, got->ux, c->n_nodes);
    check_array(context, "uy", ref->uy, got->uy, c->n_nodes);
    check_array(context, "uz", ref->uz, got->uz, c->n_nodes);
    check_array(context, "vx", ref->vx, got->vx, c->n_nodes);
    check_array(context, "vy", ref->vy, got->vy, c->n_nodes);
    check_array(context, "vz", ref->vz, got->vz, c->n_nodes);
    check_array(context, "spring_force_x", ref->spring_force_x, got->spring_force_x, c->n_springs);
    check_array(context, "spring_force_y", ref->spring_force_y, got->spring_force_y, c->n_springs);
    check_array(context, "spring_force_z", ref->spring_force_z, got->spring_force_z, c->n_springs);
    check_array(context, "pulse_amplitude", ref->pulse_amplitude, got->pulse_amplitude,
                c->n_pulse_slots);
    if (c->n_pulse_slots &&
        memcmp(ref->pulse_step, got->pulse_step, c->n_pulse_slots * sizeof *ref->pulse_step)) {
        printf("FAIL %s: pulse_step differs\n", context);
        g_failures++;
    }
}

/* Flush-to-zero as the engine sets it for a block. */
#if defined(__SSE__)
#  include <xmmintrin.h>
static unsigned int float_mode_enter(void)
{
    unsigned int saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u);
    return saved;
}
static void float_mode_exit(unsigned int saved) { _mm_setcsr(saved); }
#else
static unsigned int float_mode_enter(void) { return 0; }
static void float_mode_exit(unsigned int saved) { (void)saved; }
#endif

/* A feature model's block (advance_features) from where both stand: a
 * note on every exciter at the first step, released at FEATURE_RELEASE,
 * two audio input channels, every output channel; the feature state is
 * compared too. */
#define FEATURE_STEPS (1 + EXTRA_STEPS)
#define FEATURE_RELEASE 9u
#define FEATURE_MAX_EXCITERS 256u

static void feature_block_test(const char *spec, const char *name, const SprungCompiled *c,
                               Side *ref, Side *got)
{
    if (!c->features || !got->backend.advance_features)
        return;
    static SprungExciterEvent events[2 * FEATURE_MAX_EXCITERS];
    uint32_t n_exciters = c->n_exciters < FEATURE_MAX_EXCITERS ? c->n_exciters
                                                               : FEATURE_MAX_EXCITERS;
    for (uint32_t e = 0; e < n_exciters; ++e) {
        events[e] = (SprungExciterEvent){.step = 0, .exciter = e, .velocity = 0.8f,
                                         .increment = 0.01f};
        events[n_exciters + e] = (SprungExciterEvent){.step = FEATURE_RELEASE, .exciter = e};
    }
    float input[2][FEATURE_STEPS];
    for (int k = 0; k < FEATURE_STEPS; ++k) {
        input[0][k] = (float)sin(0.7 * k);
        input[1][k] = (float)cos(1.3 * k);
    }
    const float *inputs[2] = {input[0], input[1]};
    static float ref_channels[SPRUNG_MAX_CHANNELS][FEATURE_STEPS];
    static float got_channels[SPRUNG_MAX_CHANNELS][FEATURE_STEPS];
    float *ref_outputs[SPRUNG_MAX_CHANNELS], *got_outputs[SPRUNG_MAX_CHANNELS];
    for (uint32_t ch = 0; ch < SPRUNG_MAX_CHANNELS; ++ch) {
        ref_outputs[ch] = ref_channels[ch];
        got_outputs[ch] = got_channels[ch];
    }
    SprungFeatureIo io = {.exciter_events = events, .n_exciter_events = 2 * n_exciters,
                          .inputs = inputs, .n_inputs = 2, .oversampling = 1,
                          .outputs = ref_outputs};
    unsigned int mode = float_mode_enter();
    ref->backend.advance_features(ref->backend.ctx, FEATURE_STEPS, NULL, 0, &io);
    io.outputs = got_outputs;
    got->backend.advance_features(got->backend.ctx, FEATURE_STEPS, NULL, 0, &io);
    float_mode_exit(mode);
    if (got->backend.sync_state)
        got->backend.sync_state(got->backend.ctx);

    char context[256];
    snprintf(context, sizeof context, "%s %d-step feature block, %s", spec, FEATURE_STEPS, name);
    const SprungState *a = &ref->state, *b = &got->state;
    compare_states(context, c, a, b);
    check_array(context, "exciter_level", a->exciter_level, b->exciter_level, c->n_exciters);
    check_array(context, "exciter_phase", a->exciter_phase, b->exciter_phase, c->n_exciters);
    check_array(context, "exciter_plectrum", a->exciter_plectrum, b->exciter_plectrum,
                c->n_exciters);
    check_array(context, "exciter_force_x", a->exciter_force_x, b->exciter_force_x, c->n_exciters);
    check_array(context, "exciter_force_y", a->exciter_force_y, b->exciter_force_y, c->n_exciters);
    check_array(context, "exciter_force_z", a->exciter_force_z, b->exciter_force_z, c->n_exciters);
    check_array(context, "collision_force_x", a->collision_force_x, b->collision_force_x,
                c->n_collisions);
    check_array(context, "collision_force_y", a->collision_force_y, b->collision_force_y,
                c->n_collisions);
    check_array(context, "collision_force_z", a->collision_force_z, b->collision_force_z,
                c->n_collisions);
    /* The net force only where a force microphone reads it: the simd
     * backend keeps it for those bodies alone. */
    static float heard[2][3][FEATURE_MAX_EXCITERS];
    uint32_t n_heard = 0;
    for (uint32_t mic = 0; mic < c->n_microphones && n_heard < FEATURE_MAX_EXCITERS; ++mic) {
        if (c->mic_signal[mic] != SPRUNG_KERNEL_MIC_FORCE)
            continue;
        uint32_t node = c->mic_node[mic];
        const SprungState *side[2] = {a, b};
        for (int k = 0; k < 2; ++k) {
            heard[k][0][n_heard] = side[k]->net_force_x[node];
            heard[k][1][n_heard] = side[k]->net_force_y[node];
            heard[k][2][n_heard] = side[k]->net_force_z[node];
        }
        n_heard++;
    }
    check_array(context, "net_force_x (force microphones)", heard[0][0], heard[1][0], n_heard);
    check_array(context, "net_force_y (force microphones)", heard[0][1], heard[1][1], n_heard);
    check_array(context, "net_force_z (force microphones)", heard[0][2], heard[1][2], n_heard);
    check_array(context, "mic_value", a->mic_value, b->mic_value, c->n_microphones);
    check_array(context, "delay_ring", a->delay_ring, b->delay_ring, c->n_delay_samples);
    check_array(context, "delay_out", a->delay_out, b->delay_out, c->n_delays);
    for (uint32_t ch = 0; ch < c->n_channels; ++ch) {
        char channel[32];
        snprintf(channel, sizeof channel, "output channel %u", ch);
        check_array(context, channel, ref_channels[ch], got_channels[ch], FEATURE_STEPS);
    }
}

static void step_test(const char *spec, const SprungModel *model, const char *name)
{
    uint32_t oversampling = 1;
    while (oversampling < 4 &&
           sprung_model_check_stability(model, 48000.0, oversampling, NULL) != SPRUNG_OK)
        oversampling *= 2;
    SprungCompiled *compiled = NULL;
    SprungError error = {0};
    if (sprung_compiled_new(model, 48000.0 * oversampling, &compiled, &error) != SPRUNG_OK) {
        printf("FAIL %s: does not compile: %s\n", name, error.message);
        g_failures++;
        return;
    }
    char context[256];
    snprintf(context, sizeof context, "%s one step, %s", spec, name);
    Side ref, got;
    if (side_make(&ref, compiled, "cpu", context) != 1 ||
        side_make(&got, compiled, spec, context) != 1) {
        side_free(&ref);
        side_free(&got);
        sprung_compiled_free(compiled);
        return;
    }
    random_state(compiled, &ref.state, &got.state);
    if (got.backend.upload_state)
        got.backend.upload_state(got.backend.ctx);
    /* Synced straight back, before any step (a host that reads the state
     * before the first block): the state that was uploaded. */
    if (got.backend.sync_state) {
        char round_trip[300];
        snprintf(round_trip, sizeof round_trip, "%s upload then sync, %s", spec, name);
        got.backend.sync_state(got.backend.ctx);
        compare_states(round_trip, compiled, &ref.state, &got.state);
    }

    /* A pulse starting at the first step on the first slot, too. */
    SprungPulseStart start = {.step = 0, .slot = 0, .amplitude = 1e-3f};
    uint32_t n_starts = compiled->n_pulse_slots ? 1 : 0;
    float ref_out[2][1 + EXTRA_STEPS], got_out[2][1 + EXTRA_STEPS];
    unsigned int mode = float_mode_enter();
    ref.backend.advance(ref.backend.ctx, 1, &start, n_starts, ref_out[0], ref_out[1]);
    got.backend.advance(got.backend.ctx, 1, &start, n_starts, got_out[0], got_out[1]);
    float_mode_exit(mode);
    if (got.backend.sync_state)
        got.backend.sync_state(got.backend.ctx);
    if (g_sabotage && compiled->n_bodies)
        got.state.ux[0] = got.state.ux[0] * 1.001f + 1e-3f * (float)compiled->dt;
    compare_states(context, compiled, &ref.state, &got.state);
    check_array(context, "left", ref_out[0], got_out[0], 1);
    check_array(context, "right", ref_out[1], got_out[1], 1);

    /* Then more steps in one call, from where each stands. */
    snprintf(context, sizeof context, "%s %d more steps, %s", spec, EXTRA_STEPS, name);
    mode = float_mode_enter();
    ref.backend.advance(ref.backend.ctx, EXTRA_STEPS, NULL, 0, ref_out[0], ref_out[1]);
    got.backend.advance(got.backend.ctx, EXTRA_STEPS, NULL, 0, got_out[0], got_out[1]);
    float_mode_exit(mode);
    if (got.backend.sync_state)
        got.backend.sync_state(got.backend.ctx);
    if (!g_sabotage) {
        compare_states(context, compiled, &ref.state, &got.state);
        check_array(context, "left", ref_out[0], got_out[0], EXTRA_STEPS);
        check_array(context, "right", ref_out[1], got_out[1], EXTRA_STEPS);
        feature_block_test(spec, name, compiled, &ref, &got);
    }
    side_free(&ref);
    side_free(&got);
    sprung_compiled_free(compiled);
}

/* ---- one-second renders ---- */

static SprungEngine *render_engine(const SprungModel *model, const char *spec, SprungError *error)
{
    SprungStatus status = SPRUNG_ERROR_UNSTABLE;
    SprungEngine *engine = NULL;
    for (uint32_t oversampling = 1; oversampling <= 4 && status == SPRUNG_ERROR_UNSTABLE;
         oversampling *= 2) {
        SprungEngineConfig config = sprung_engine_config_default();
        config.max_block_frames = RENDER_BLOCK;
        config.oversampling = oversampling;
        config.backend = spec;
        status = sprung_engine_new(&config, model, &engine, error);
    }
    return status == SPRUNG_OK ? engine : NULL;
}

/* A note every 2,400 frames (20 per second) across the keys, each
 * released 1,200 frames later, and two audio input channels (a decaying
 * chirp and a noise burst) for models that listen. */
static void render(SprungEngine *engine, float *left, float *right, uint32_t frames)
{
    float input[2][RENDER_BLOCK];
    uint32_t noise = 0x9e3779b9u;
    for (uint32_t first = 0; first < frames; first += RENDER_BLOCK) {
        uint32_t n = frames - first < RENDER_BLOCK ? frames - first : RENDER_BLOCK;
        float *outputs[2] = {left + first, right + first};
        const float *inputs[2] = {input[0], input[1]};
        SprungEvent events[4];
        uint32_t n_events = 0;
        for (uint32_t f = first; f < first + n; ++f) {
            uint32_t k = f / 2400;
            uint8_t note = (uint8_t)(24 + (k * 29) % 90);
            if (f % 2400 == 100 && n_events < 4)
                events[n_events++] = (SprungEvent){.frame = f - first,
                                                   .type = SPRUNG_EVENT_NOTE_ON,
                                                   .note = note,
                                                   .velocity = (uint8_t)(40 + (k * 37) % 88)};
            if (f % 2400 == 1300 && n_events < 4)
                events[n_events++] = (SprungEvent){.frame = f - first,
                                                   .type = SPRUNG_EVENT_NOTE_OFF,
                                                   .note = note};
            double t = f / 48000.0;
            input[0][f - first] = (float)(0.3 * sin(2.0 * M_PI * (200.0 + 900.0 * t) * t) *
                                          exp(-2.0 * fmod(t, 0.5)));
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            input[1][f - first] = f % 4800 < 600 ? (float)(noise / 4294967296.0 - 0.5) : 0.0f;
        }
        SprungBlock block = {.n_frames = n, .events = events, .n_events = n_events,
                             .outputs = outputs, .n_outputs = 2, .inputs = inputs,
                             .n_inputs = 2};
        sprung_engine_process(engine, &block);
    }
}

enum { FRAMES = 48000 };

/* The reference's render of a model, made once and kept (by `slot`). */
static float *reference_render(const SprungModel *model, uint32_t slot, const char *context)
{
    static float *cache[64];
    if (cache[slot])
        return cache[slot];
    SprungError error = {0};
    SprungEngine *ref = render_engine(model, "cpu", &error);
    if (!ref) {
        printf("FAIL %s: reference engine: %s\n", context, error.message);
        g_failures++;
        return NULL;
    }
    float *buffer = calloc(2u * FRAMES, sizeof *buffer);
    if (!buffer) {
        printf("FAIL %s: out of memory\n", context);
        exit(2);
    }
    render(ref, buffer, buffer + FRAMES, FRAMES);
    sprung_engine_free(ref);
    return cache[slot] = buffer;
}

static void render_test(const char *spec, const SprungModel *model, uint32_t slot,
                        const char *name)
{
    char context[256];
    snprintf(context, sizeof context, "%s 1 s render, %s", spec, name);
    SprungError error = {0};
    /* Ask the backend first: the reference render is wasted on a model
     * the backend cannot take. */
    SprungEngine *probe_engine = render_engine(model, spec, &error);
    if (!probe_engine && lacks_feature(error.status, &error)) {
        printf("skip %s: %s\n", context, error.message);
        g_skipped++;
        return;
    }
    sprung_engine_free(probe_engine);
    memset(&error, 0, sizeof error);
    const float *reference = reference_render(model, slot, context);
    if (!reference)
        return;
    SprungEngine *got = render_engine(model, spec, &error);
    if (!got && lacks_feature(error.status, &error)) {
        printf("skip %s: %s\n", context, error.message);
        g_skipped++;
        return;
    }
    if (!got) {
        printf("FAIL %s: engine: %s\n", context, error.message);
        g_failures++;
        return;
    }
    float *buffer = calloc(4u * FRAMES, sizeof *buffer);
    if (!buffer) {
        printf("FAIL %s: out of memory\n", context);
        exit(2);
    }
    memcpy(buffer, reference, 2u * FRAMES * sizeof *buffer);
    render(got, buffer + 2 * FRAMES, buffer + 3 * FRAMES, FRAMES);
    double peak = 0.0, worst = 0.0;
    bool special = false;
    for (uint32_t i = 0; i < 2 * FRAMES; ++i) {
        float a = buffer[i], b = buffer[2 * FRAMES + i];
        if (!isfinite(a) || !isfinite(b))
            special = true;
        peak = fmax(peak, fabs(a));
        worst = fmax(worst, fabs((double)a - b));
    }
    g_compared++;
    bool exact = !memcmp(buffer, buffer + 2 * FRAMES, 2u * FRAMES * sizeof *buffer);
    g_exact += exact;
    if (special) {
        printf("FAIL %s: non-finite output\n", context);
        g_failures++;
    } else if (!(worst <= RENDER_BOUND * peak)) {
        printf("FAIL %s: max |diff| %.3g exceeds %.0e of the peak %.3g\n", context, worst,
               RENDER_BOUND, peak);
        g_failures++;
    } else {
        printf("ok   %s: max |diff| %.3g of peak %.3g%s\n", context, worst, peak,
               exact ? " (bit-identical)" : "");
    }
    free(buffer);
    sprung_engine_free(got);
}

/* ---- driver ---- */

typedef struct Models {
    SprungModel *items[64];
    char names[64][128];
    bool rendered[64]; /* also gets the 1 s render test */
    uint32_t count;
} Models;

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void load_presets(const char *dir, Models *models)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("FAIL cannot open preset directory %s\n", dir);
        g_failures++;
        return;
    }
    char *names[64];
    uint32_t n = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) && n < 64) {
        size_t length = strlen(entry->d_name);
        if (length > 5 && !strcmp(entry->d_name + length - 5, ".json"))
            names[n++] = strdup(entry->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], compare_names);
    for (uint32_t i = 0; i < n && models->count < 48; ++i) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        SprungModel *model = NULL;
        SprungError error = {0};
        if (sprung_model_load_file(path, &model, &error) != SPRUNG_OK) {
            printf("FAIL %s does not load: %s\n", path, error.message);
            g_failures++;
        } else {
            models->items[models->count] = model;
            models->rendered[models->count] = true;
            snprintf(models->names[models->count], sizeof models->names[0], "preset %s",
                     names[i]);
            models->count++;
        }
        free(names[i]);
    }
}

/* Loads a generated model (JSON text, freed here) into `models`. */
static void add_generated(Models *models, char *json, const char *name, bool rendered)
{
    SprungModel *model = json ? load_model_text(json, name) : NULL;
    free(json);
    if (!model)
        return;
    models->items[models->count] = model;
    models->rendered[models->count] = rendered;
    snprintf(models->names[models->count], sizeof models->names[0], "%s", name);
    models->count++;
}

/* --models a,b,c: keeps the models whose names contain one of the
 * comma-separated words. */
static void keep_models(Models *models, const char *words)
{
    uint32_t kept = 0;
    for (uint32_t m = 0; m < models->count; ++m) {
        bool keep = false;
        for (const char *word = words; *word && !keep;) {
            size_t length = strcspn(word, ",");
            for (const char *at = models->names[m]; *at && !keep; ++at)
                keep = length && !strncmp(at, word, length);
            word += length + (word[length] == ',');
        }
        if (!keep) {
            sprung_model_free(models->items[m]);
            continue;
        }
        if (kept != m) {
            models->items[kept] = models->items[m];
            models->rendered[kept] = models->rendered[m];
            memcpy(models->names[kept], models->names[m], sizeof models->names[0]);
        }
        kept++;
    }
    models->count = kept;
}

int main(int argc, char **argv)
{
    const char *only = NULL, *preset_dir = NULL, *model_words = NULL;
    long only_device = -1;
    bool renders = true;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--sabotage")) {
            g_sabotage = true;
            printf("sabotage: one value of every tested backend's state is perturbed by 1e-3\n");
        }
        else if (!strcmp(argv[i], "--no-render"))
            renders = false;
        else if (!strcmp(argv[i], "--exact"))
            g_require_exact = true;
        else if (!strcmp(argv[i], "--device") && i + 1 < argc)
            only_device = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--models") && i + 1 < argc)
            model_words = argv[++i];
        else
            preset_dir = argv[i];
    }
    if (!preset_dir) {
        fprintf(stderr, "usage: test_backend_conformance [--backend NAME] [--device N] "
                        "[--models WORD,...] [--exact] [--no-render] [--sabotage] DIR\n");
        return 2;
    }

    Models models = {0};
    load_presets(preset_dir, &models);
    static const uint32_t sizes[RANDOM_NETWORKS][2] = {{3, 4}, {17, 40}, {40, 90}, {64, 200},
                                                       {150, 500}, {300, 1100}};
    for (int r = 0; r < RANDOM_NETWORKS; ++r) {
        char name[64];
        snprintf(name, sizeof name, "random network %d (%u bodies, %u springs)", r, sizes[r][0],
                 sizes[r][1]);
        add_generated(&models, random_network_json(r, sizes[r][0], sizes[r][1]), name, false);
    }
    static const uint32_t mesh_sizes[RANDOM_MESHES][2] = {{3, 2}, {7, 5}, {20, 30}};
    for (int r = 0; r < RANDOM_MESHES; ++r) {
        char name[64];
        snprintf(name, sizeof name, "random mesh %d (%u x %u bodies)", r, mesh_sizes[r][0],
                 mesh_sizes[r][1]);
        add_generated(&models, random_mesh_json(r, mesh_sizes[r][0], mesh_sizes[r][1]), name,
                      false);
    }
    /* Modulation happens between frames: these need the render test. */
    add_generated(&models, modulated_mesh_json(RANDOM_MESHES, 7, 5, 0),
                  "modulated mesh (7 x 5 bodies)", true);
    add_generated(&models, modulated_mesh_json(RANDOM_MESHES + 1, 7, 5, 3),
                  "modulated mesh in 3 voices (7 x 5 bodies)", true);
    if (model_words)
        keep_models(&models, model_words);

    uint32_t tested = 0;
    bool found = false;
    for (uint32_t b = 0; b < sprung_backend_count(); ++b) {
        SprungBackendInfo info;
        sprung_backend_info(b, &info);
        if (only && strcmp(only, info.name))
            continue;
        found = true;
        if (!strcmp(info.name, "cpu") && !only)
            continue; /* the oracle against itself proves nothing */
        if (!info.available) {
            printf("skip %s: %s\n", info.name, info.reason);
            continue;
        }
        for (uint32_t device = 0; device < info.n_devices; ++device) {
            if (only_device >= 0 && device != (uint32_t)only_device)
                continue;
            char spec[48];
            snprintf(spec, sizeof spec, "%s:%u", info.name, device);
            printf("---- %s (%s)\n", spec, info.devices[device]);
            unsigned failures_before = (unsigned)g_failures;
            unsigned compared_before = g_compared, exact_before = g_exact;
            unsigned skipped_before = g_skipped;
            for (uint32_t m = 0; m < models.count; ++m)
                step_test(spec, models.items[m], models.names[m]);
            if (!g_sabotage && renders)
                for (uint32_t m = 0; m < models.count; ++m)
                    if (models.rendered[m])
                        render_test(spec, models.items[m], m, models.names[m]);
            unsigned inexact = (g_compared - compared_before) - (g_exact - exact_before);
            if (g_require_exact && inexact) {
                printf("FAIL %s: %u comparisons are not bit-identical (--exact)\n", spec, inexact);
                g_failures++;
            }
            printf("%s %s: %u comparisons, %u bit-identical, %u failures, %u skipped (features "
                   "the backend lacks)\n",
                   (unsigned)g_failures == failures_before ? "ok  " : "FAIL", spec,
                   g_compared - compared_before, g_exact - exact_before,
                   (unsigned)g_failures - failures_before, g_skipped - skipped_before);
            tested++;
        }
    }
    for (uint32_t m = 0; m < models.count; ++m)
        sprung_model_free(models.items[m]);
    if (only && (!found || tested == 0)) {
        printf("skipped: backend %s %s\n", only, found ? "cannot run here" : "is not in this build");
        return g_failures ? 1 : SKIPPED;
    }
    printf("%s: %u backend device(s) tested, %d failure(s)\n", g_failures ? "FAILED" : "passed",
           tested, g_failures);
    return g_failures ? 1 : 0;
}
