/* Voices as work-groups of one launch (issue 6) on a GPU backend (argv[1]):
 * the factory's create_voices for 4 voices of an instanced model, stepped
 * by advance_voices, against the CPU reference backend stepping each voice
 * on its own SprungState, one output frame per advance_features() call
 * after set_views() with that frame's dt and the voice's own copy of the
 * constants (as src/engine/engine_voices.c does). Every run's every output
 * channel must be bit-identical (and free of NaN), and so must every
 * voice's whole state block after sync_state at the end, voices left out of
 * runs included. The one allowance: a model whose exciters call sinf, cosf
 * or expf (oscillator partials, bows) may differ in their last bits, which
 * differ between the device's math library and the host's
 * (kernel/sprung_step.h says so): its outputs then within NMSE 1e-10 (the
 * conformance test's bound), its float state words within a relative 1e-5.
 * The test reports how many comparisons were bit-identical (on PoCL here:
 * every output; only some exciter forces differed, by a few ulps).
 *
 * Models: presets/mpe-pad.json (oscillators, modulation), a 3×3 mesh with
 * two mallets and routes on a spring, a drag, a microphone and an anchor
 * (pulse starts, constant and state writes), and the kitchen sink
 * (tests/instrument/kitchen_sink.h: every exciter kind, audio inputs,
 * collisions, delay rings, several channels) made instanced. Each at
 * oversampling 1 and 2, with the state in local memory and in global
 * memory (SPRUNG_<BACKEND>_PATH). Blocks of 1, 7 and 64 frames; each block
 * runs a random subset of the voices in random order, each with its own
 * pulse starts, exciter notes, audio inputs, modulation writes (on models
 * with routes: random words of the arrays routes reach, state words of the
 * anchors) and a time step per frame that glides like a bend; the host
 * states are changed and uploaded (upload_state) before the first block,
 * one voice is reset (reset_voice) midway, and reset() at the end must
 * bring every voice back to the initial state.
 *
 * --sabotage dt|voice|reset hands the GPU the compiled dt instead of the
 * voices', every run voice 0's copies, or skips the reset_voice: the test
 * must then fail (tests/gpu/CMakeLists.txt). */
#include "../instrument/kitchen_sink.h"
#include "../voices/cpu_voice.h"
#include "gpu_test_util.h"

#ifdef SPRUNG_TEST_HAVE_OPENCL
extern const SprungBackendFactory sprung_backend_opencl_factory;
#endif
#ifdef SPRUNG_TEST_HAVE_CUDA
extern const SprungBackendFactory sprung_backend_cuda_factory;
#endif

#define N_VOICES 4u
#define MAX_FRAMES 64u
#define N_BLOCKS 12u
#define RESET_BLOCK 6u
#define MAX_TEST_STARTS 4u
#define MAX_TEST_EVENTS 4u

static const uint32_t block_frames[] = {1, 7, 64};
static const char *sabotage;

/* A 3×3 mesh of bodies held by four anchors, two mallets, two microphones,
 * instanced, with routes on a spring's stiffness, a body's drag, a
 * microphone's gain and an anchor's position (a state write). */
static const char MESH[] =
    "{\"sprung\": 1, \"name\": \"voiced mesh\",\n"
    " \"bodies\": ["
    "{\"id\": \"b0\", \"position\": [0.00, 0.00, 0], \"mass\": 0.01},"
    "{\"id\": \"b1\", \"position\": [0.02, 0.00, 0], \"mass\": 0.01, \"drag\": 0.002},"
    "{\"id\": \"b2\", \"position\": [0.04, 0.00, 0], \"mass\": 0.01},"
    "{\"id\": \"b3\", \"position\": [0.00, 0.02, 0], \"mass\": 0.012},"
    "{\"id\": \"b4\", \"position\": [0.02, 0.02, 0], \"mass\": 0.01, \"drag\": 0.001},"
    "{\"id\": \"b5\", \"position\": [0.04, 0.02, 0], \"mass\": 0.01},"
    "{\"id\": \"b6\", \"position\": [0.00, 0.04, 0], \"mass\": 0.01},"
    "{\"id\": \"b7\", \"position\": [0.02, 0.04, 0], \"mass\": 0.009},"
    "{\"id\": \"b8\", \"position\": [0.04, 0.04, 0], \"mass\": 0.01}],\n"
    " \"anchors\": [{\"id\": \"a0\", \"position\": [-0.02, 0, 0]},"
    "{\"id\": \"a1\", \"position\": [0.06, 0, 0]},"
    "{\"id\": \"a2\", \"position\": [-0.02, 0.04, 0]},"
    "{\"id\": \"a3\", \"position\": [0.06, 0.04, 0]}],\n"
    " \"springs\": ["
    "{\"id\": \"h0\", \"from\": \"b0\", \"to\": \"b1\", \"stiffness\": 2000, \"damping\": 0.001},"
    "{\"id\": \"h1\", \"from\": \"b1\", \"to\": \"b2\", \"stiffness\": 2100},"
    "{\"id\": \"h2\", \"from\": \"b3\", \"to\": \"b4\", \"stiffness\": 1900,"
    " \"rest_length\": 0.018},"
    "{\"id\": \"h3\", \"from\": \"b4\", \"to\": \"b5\", \"stiffness\": 2000},"
    "{\"id\": \"h4\", \"from\": \"b6\", \"to\": \"b7\", \"stiffness\": 2200},"
    "{\"id\": \"h5\", \"from\": \"b7\", \"to\": \"b8\", \"stiffness\": 2000},"
    "{\"id\": \"v0\", \"from\": \"b0\", \"to\": \"b3\", \"stiffness\": 2000},"
    "{\"id\": \"v1\", \"from\": \"b1\", \"to\": \"b4\", \"stiffness\": 1800},"
    "{\"id\": \"v2\", \"from\": \"b2\", \"to\": \"b5\", \"stiffness\": 2000, \"rest_length\": 0},"
    "{\"id\": \"v3\", \"from\": \"b3\", \"to\": \"b6\", \"stiffness\": 2000},"
    "{\"id\": \"v4\", \"from\": \"b4\", \"to\": \"b7\", \"stiffness\": 2300},"
    "{\"id\": \"v5\", \"from\": \"b5\", \"to\": \"b8\", \"stiffness\": 2000},"
    "{\"id\": \"t0\", \"from\": \"a0\", \"to\": \"b0\", \"stiffness\": 3000},"
    "{\"id\": \"t1\", \"from\": \"a1\", \"to\": \"b2\", \"stiffness\": 3000},"
    "{\"id\": \"t2\", \"from\": \"a2\", \"to\": \"b6\", \"stiffness\": 3000},"
    "{\"id\": \"t3\", \"from\": \"a3\", \"to\": \"b8\", \"stiffness\": 3000}],\n"
    " \"mallets\": [{\"id\": \"m0\", \"target\": \"b4\", \"direction\": [0, 0.3, 1],"
    " \"strength\": 0.002, \"duration_ms\": 0.5},"
    "{\"id\": \"m1\", \"target\": \"b1\", \"direction\": [1, 0, 1], \"strength\": 0.001,"
    " \"duration_ms\": 0.01}],\n"
    " \"microphones\": [{\"id\": \"p0\", \"target\": \"b4\", \"axis\": [0, 0, 1], \"gain\": 20,"
    " \"pan\": -0.5},"
    "{\"id\": \"p1\", \"target\": \"b7\", \"axis\": [0, 1, 1], \"signal\": \"velocity\","
    " \"gain\": 0.5, \"pan\": 0.4}],\n"
    " \"voices\": {\"count\": 4, \"root\": 60, \"notes\": [48, 72]},\n"
    " \"sources\": [{\"id\": \"lfo\", \"type\": \"lfo\", \"rate_hz\": 5}],\n"
    " \"routes\": ["
    "{\"source\": \"lfo\", \"target\": \"h2\", \"parameter\": \"stiffness\","
    " \"range\": [1700, 2100]},"
    "{\"source\": \"lfo\", \"target\": \"b4\", \"parameter\": \"drag\", \"range\": [0, 0.003]},"
    "{\"source\": \"lfo\", \"target\": \"p0\", \"parameter\": \"gain\", \"range\": [10, 30]},"
    "{\"source\": \"lfo\", \"target\": \"a0\", \"parameter\": \"x\","
    " \"range\": [-0.021, -0.019]}]}\n";

/* ---- models ---- */

static SprungModel *load_json(const char *json, const char *name)
{
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_string(json, name, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s does not load: %s\n", name, error.message);
        exit(1);
    }
    return model;
}

/* The kitchen sink, instanced, with routes (on a spring, the echo's time,
 * an anchor) before its closing brace. */
static SprungModel *voiced_kitchen_sink(void)
{
    static const char voices[] =
        ", \"voices\": {\"count\": 4, \"root\": 60},\n"
        " \"sources\": [{\"id\": \"lfo\", \"type\": \"lfo\", \"rate_hz\": 7}],\n"
        " \"routes\": [{\"source\": \"lfo\", \"target\": \"s1\", \"parameter\": \"stiffness\","
        " \"range\": [2500, 3500]},\n"
        "  {\"source\": \"lfo\", \"target\": \"echo\", \"parameter\": \"time_ms\","
        " \"range\": [2, 4]},\n"
        "  {\"source\": \"lfo\", \"target\": \"peg\", \"parameter\": \"y\","
        " \"range\": [0, 0.001]}]}\n";
    size_t keep = strlen(KITCHEN_SINK);
    while (keep && KITCHEN_SINK[keep - 1] != '}')
        --keep;
    char *json = gpu_alloc(keep + sizeof voices);
    memcpy(json, KITCHEN_SINK, keep - 1);
    memcpy(json + keep - 1, voices, sizeof voices);
    SprungModel *model = load_json(json, "kitchen-sink+voices");
    free(json);
    return model;
}

/* ---- one voice's inputs for a run ---- */

typedef struct VoiceIo {
    SprungPulseStart starts[MAX_TEST_STARTS];
    uint32_t n_starts;
    SprungExciterEvent events[MAX_TEST_EVENTS];
    uint32_t n_events;
    float *input_data; /* n_input_channels × MAX_FRAMES */
    const float *inputs[SPRUNG_MAX_CHANNELS];
    SprungModulationWrite *writes;
    uint32_t frame_writes[MAX_FRAMES + 1];
    float frame_dt[MAX_FRAMES];
    float *gpu_data, *cpu_data; /* n_channels × max_steps */
    float *gpu_out[SPRUNG_MAX_CHANNELS], *cpu_out[SPRUNG_MAX_CHANNELS];
} VoiceIo;

/* A word modulation may write, and how to make a new value for it. */
typedef struct Candidate {
    uint32_t target;
    float base;         /* a constant's compiled value (scaled by 0.8..1.2) */
    int state;          /* an anchor's displacement instead (±1 mm) */
    uint32_t max_steps; /* a delay's length instead (1 .. max_steps) */
} Candidate;

typedef struct Setup {
    const SprungCompiled *c;
    uint32_t os, max_steps, write_capacity;
    Candidate *candidates;
    uint32_t n_candidates;
    double bend[N_VOICES]; /* semitones, glides */
    uint32_t rng;
    uint32_t runs, starts, events, writes, state_writes; /* what the GPU was handed */
} Setup;

static void add_constant(Setup *s, const float *array, uint32_t count)
{
    for (uint32_t i = 0; i < count; ++i)
        s->candidates[s->n_candidates++] = (Candidate){
            (uint32_t)(sprung_compiled_offset(s->c, &array[i]) / 4u), array[i], 0, 0};
}

static void find_candidates(Setup *s, const SprungState *state)
{
    const SprungCompiled *c = s->c;
    s->candidates = gpu_alloc(sizeof *s->candidates *
                              (3u * c->n_springs + c->n_bodies + 3u * c->n_microphones +
                               c->n_exciters + 3u * (c->n_nodes - c->n_bodies) +
                               c->n_delays));
    add_constant(s, c->spring_stiffness, c->n_springs);
    add_constant(s, c->spring_damping, c->n_springs);
    add_constant(s, c->drag, c->n_bodies);
    add_constant(s, c->mic_gain_left, c->n_microphones);
    add_constant(s, c->mic_gain_right, c->n_microphones);
    add_constant(s, c->mic_gain, c->n_microphones);
    add_constant(s, c->exciter_strength, c->n_exciters);
    const float *axes[3] = {state->ux, state->uy, state->uz};
    for (uint32_t i = c->n_bodies; i < c->n_nodes; ++i)
        for (int a = 0; a < 3; ++a)
            s->candidates[s->n_candidates++] = (Candidate){
                (uint32_t)(((const char *)&axes[a][i] - (const char *)state->block) / 4u) |
                    SPRUNG_BLOCK_WRITE_STATE,
                0.0f, 1, 0};
    for (uint32_t d = 0; d < c->n_delays; ++d)
        s->candidates[s->n_candidates++] = (Candidate){
            (uint32_t)(sprung_compiled_offset(c, &c->delay_steps[d]) / 4u), 0.0f, 0,
            c->delay_ring_length[d] - 1u};
}

static void sort_starts(SprungPulseStart *a, uint32_t n)
{
    for (uint32_t i = 1; i < n; ++i)
        for (uint32_t j = i; j > 0 && a[j - 1].step > a[j].step; --j) {
            SprungPulseStart t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
        }
}

static void sort_events(SprungExciterEvent *a, uint32_t n)
{
    for (uint32_t i = 1; i < n; ++i)
        for (uint32_t j = i; j > 0 && a[j - 1].step > a[j].step; --j) {
            SprungExciterEvent t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
        }
}

/* Voice v's random inputs for a run of n_frames frames. */
static void make_inputs(Setup *s, uint32_t v, uint32_t n_frames, VoiceIo *io)
{
    const SprungCompiled *c = s->c;
    uint32_t n_steps = n_frames * s->os;
    io->n_starts = c->n_mallets ? gpu_random(&s->rng) % (MAX_TEST_STARTS + 1u) : 0u;
    for (uint32_t k = 0; k < io->n_starts; ++k)
        io->starts[k] = (SprungPulseStart){
            gpu_random(&s->rng) % n_steps,
            (gpu_random(&s->rng) % c->n_mallets) * SPRUNG_PULSE_SLOTS +
                gpu_random(&s->rng) % SPRUNG_PULSE_SLOTS,
            (float)gpu_uniform(&s->rng, 0.0002, 0.002)};
    sort_starts(io->starts, io->n_starts);
    io->n_events = c->n_exciters ? gpu_random(&s->rng) % (MAX_TEST_EVENTS + 1u) : 0u;
    for (uint32_t k = 0; k < io->n_events; ++k) {
        uint32_t e = gpu_random(&s->rng) % c->n_exciters;
        float velocity = gpu_random(&s->rng) % 3u == 0 ? 0.0f
                                                      : (float)gpu_uniform(&s->rng, 0.2, 1.0);
        double per_step = c->exciter_kind[e] == SPRUNG_KERNEL_EXCITER_OSCILLATOR
                              ? gpu_uniform(&s->rng, 110.0, 660.0)  /* Hz */
                              : gpu_uniform(&s->rng, 0.05, 0.3);    /* m/s */
        io->events[k] = (SprungExciterEvent){gpu_random(&s->rng) % n_steps, e, velocity,
                                             (float)(per_step * c->dt)};
    }
    sort_events(io->events, io->n_events);
    for (uint32_t ch = 0; ch < c->n_input_channels; ++ch) {
        float *samples = io->input_data + (size_t)ch * MAX_FRAMES;
        for (uint32_t f = 0; f < n_frames; ++f)
            samples[f] = (float)gpu_uniform(&s->rng, -0.5, 0.5);
        io->inputs[ch] = samples;
    }
    /* Writes: on about half the frames, distinct words each. */
    uint32_t n_writes = 0;
    io->frame_writes[0] = 0;
    for (uint32_t f = 0; f < n_frames; ++f) {
        uint32_t most = c->max_frame_writes < s->n_candidates ? c->max_frame_writes
                                                               : s->n_candidates;
        if (s->write_capacity - n_writes < most)
            most = s->write_capacity - n_writes;
        uint32_t count = most && gpu_random(&s->rng) % 2u ? 1u + gpu_random(&s->rng) % most : 0u;
        uint32_t first = gpu_random(&s->rng) % (s->n_candidates ? s->n_candidates : 1u);
        for (uint32_t k = 0; k < count; ++k) {
            /* Distinct: consecutive candidates from `first` (count <= n_candidates). */
            const Candidate *cand = &s->candidates[(first + k) % s->n_candidates];
            float value = cand->state ? (float)gpu_uniform(&s->rng, -0.001, 0.001)
                                      : cand->base * (float)gpu_uniform(&s->rng, 0.8, 1.2);
            SprungModulationWrite w = {cand->target, 0};
            memcpy(&w.bits, &value, sizeof value);
            if (cand->max_steps)
                w.bits = 1u + gpu_random(&s->rng) % cand->max_steps;
            io->writes[n_writes++] = w;
            s->state_writes += cand->state ? 1u : 0u;
        }
        io->frame_writes[f + 1] = n_writes;
    }
    s->runs++;
    s->starts += io->n_starts;
    s->events += io->n_events;
    s->writes += n_writes;
    /* The voice's pitch: a note offset per voice and a gliding bend. */
    for (uint32_t f = 0; f < n_frames; ++f) {
        s->bend[v] += gpu_uniform(&s->rng, -0.05, 0.05);
        if (s->bend[v] > 4.0 || s->bend[v] < -4.0)
            s->bend[v] *= 0.5;
        double scale = exp2(((double)v * 2.0 - 3.0 + s->bend[v]) / 12.0);
        io->frame_dt[f] = (float)(c->dt * scale);
    }
}

/* ---- the CPU reference's side ---- */

/* Voice v's run on the reference (cpu_voice.h): per output frame its
 * writes into the voice's copies, set_views with the frame's dt, then one
 * advance_features() call for the frame's steps. */
static void cpu_run(CpuVoice *cv, const Setup *s, uint32_t n_frames, const VoiceIo *io)
{
    static CpuVoiceScratch scratch;
    const SprungCompiled *c = s->c;
    SprungVoiceRun run = {
        .starts = io->starts,
        .n_starts = io->n_starts,
        .io = {.exciter_events = io->events,
               .n_exciter_events = io->n_events,
               .inputs = io->inputs,
               .n_inputs = c->n_input_channels,
               .oversampling = s->os,
               .outputs = io->cpu_out,
               .writes = io->writes,
               .frame_writes = io->frame_writes},
        .frame_dt = io->frame_dt,
    };
    cpu_voice_run(cv, c, n_frames * s->os, &run, &scratch);
}

/* Comparisons: bit-identical, or (models with transcendentals only) within
 * the conformance test's bound. */
typedef struct Tally {
    uint32_t exact, close;
} Tally;

/* The name of the state array word `word` of `state` lies in (for a
 * failure's message). */
static const char *state_field(const SprungState *state, size_t word)
{
#define FIELD(name) {#name, (const void *)state->name}
    const struct {
        const char *name;
        const void *at;
    } fields[] = {FIELD(ux), FIELD(uy), FIELD(uz), FIELD(vx), FIELD(vy), FIELD(vz),
                  FIELD(spring_force_x), FIELD(spring_force_y), FIELD(spring_force_z),
                  FIELD(pulse_amplitude), FIELD(pulse_step), FIELD(exciter_gate),
                  FIELD(exciter_level), FIELD(exciter_velocity), FIELD(exciter_increment),
                  FIELD(exciter_phase), FIELD(exciter_plectrum), FIELD(exciter_start),
                  FIELD(exciter_rng), FIELD(exciter_contact), FIELD(exciter_harmonics),
                  FIELD(exciter_feed), FIELD(exciter_force_x), FIELD(exciter_force_y),
                  FIELD(exciter_force_z), FIELD(collision_force_x), FIELD(collision_force_y),
                  FIELD(collision_force_z), FIELD(net_force_x), FIELD(net_force_y),
                  FIELD(net_force_z), FIELD(mic_value), FIELD(delay_ring),
                  FIELD(delay_position), FIELD(delay_out)};
#undef FIELD
    const char *at = (const char *)state->block + 4u * word, *best = "?";
    const char *best_at = NULL;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; ++i) {
        const char *f = fields[i].at;
        if (f && f <= at && (!best_at || f >= best_at)) {
            best = fields[i].name;
            best_at = f;
        }
    }
    return best;
}

/* A voice's whole state block against the reference's, run or not: every
 * word bit-identical; with `transcendentals`, a float word may differ by a
 * relative 1e-5 (the sin/cos of an oscillator's partials reach its force
 * and the nodes it drives), an integer word (counters, noise, contact
 * states, ring positions) never. Returns whether it failed. */
static int compare_state(const char *label, uint32_t v, const SprungState *want,
                         const SprungState *got, int transcendentals, Tally *tally)
{
    static const char *const integer_fields[] = {"pulse_step", "exciter_rng", "exciter_contact",
                                                 "exciter_harmonics", "delay_position"};
    const uint32_t *a = want->block, *b = got->block;
    size_t words = want->block_bytes / 4u;
    uint32_t close = 0;
    for (size_t w = 0; w < words; ++w) {
        if (a[w] == b[w])
            continue;
        const char *field = state_field(want, w);
        int integer = 0;
        for (size_t k = 0; k < sizeof integer_fields / sizeof *integer_fields; ++k)
            integer |= !strcmp(field, integer_fields[k]);
        float x, y;
        memcpy(&x, &a[w], sizeof x);
        memcpy(&y, &b[w], sizeof y);
        if (transcendentals && !integer && !isnan(y) &&
            fabsf(x - y) <= 1e-5f * fmaxf(fabsf(x), fabsf(y))) {
            close++;
            continue;
        }
        GPU_CHECK(0, "%s: voice %u's state differs from the reference at word %zu of %zu (%s): "
                     "%.9g (0x%08x), reference %.9g (0x%08x)",
                  label, v, w, words, field, y, b[w], x, a[w]);
        return 1;
    }
    if (close)
        tally->close++;
    else
        tally->exact++;
    return 0;
}

/* ---- one model, oversampling and path ---- */

static const SprungBackendFactory *gpu_factory(const char *backend)
{
#ifdef SPRUNG_TEST_HAVE_OPENCL
    if (!strcmp(backend, "opencl"))
        return &sprung_backend_opencl_factory;
#endif
#ifdef SPRUNG_TEST_HAVE_CUDA
    if (!strcmp(backend, "cuda"))
        return &sprung_backend_cuda_factory;
#endif
    return NULL;
}

/* Whether the model's exciters call sinf, cosf or expf (an oscillator's
 * sine, saw or square; a bow), whose last bit may differ between math
 * libraries (kernel/sprung_step.h): the device's and the host's. */
static int uses_transcendentals(const SprungCompiled *c)
{
    for (uint32_t e = 0; e < c->n_exciters; ++e)
        if (c->exciter_kind[e] == SPRUNG_KERNEL_EXCITER_BOW ||
            (c->exciter_kind[e] == SPRUNG_KERNEL_EXCITER_OSCILLATOR &&
             c->exciter_waveform[e] != SPRUNG_KERNEL_WAVE_NOISE))
            return 1;
    return 0;
}

/* A run's every output channel against the reference's: bit-identical, or
 * with `transcendentals` an NMSE <= NMSE_BOUND. NaN or an unmatched Inf
 * always fails. Returns whether it failed. */
#define NMSE_BOUND 1e-10
static int compare_run(const char *label, uint32_t block, uint32_t v, const SprungCompiled *c,
                       uint32_t n_steps, const VoiceIo *io, int transcendentals, Tally *tally)
{
    int failed = 0;
    for (uint32_t ch = 0; ch < c->n_channels; ++ch) {
        int bad = 0, exact = 1;
        double nmse = gpu_nmse(io->cpu_out[ch], io->gpu_out[ch], n_steps, &bad, &exact);
        if (!bad && exact) {
            tally->exact++;
            continue;
        }
        if (!bad && transcendentals && nmse <= NMSE_BOUND) {
            tally->close++;
            continue;
        }
        uint32_t at = 0;
        while (at < n_steps && !memcmp(&io->cpu_out[ch][at], &io->gpu_out[ch][at], sizeof(float)))
            ++at;
        GPU_CHECK(0, "%s, block %u, voice %u, channel %u: %s the reference (NMSE %.3g; first at "
                     "step %u of %u: %.9g, reference %.9g)",
                  label, block, v, ch, bad ? "NaN/Inf against" : "differs from", nmse, at,
                  n_steps, at < n_steps ? io->gpu_out[ch][at] : 0.0,
                  at < n_steps ? io->cpu_out[ch][at] : 0.0);
        failed = 1;
    }
    return failed;
}

static void run_case(const char *backend, const SprungBackendFactory *factory,
                     const SprungModel *model, const char *name, uint32_t os, const char *path)
{
    char label[96];
    snprintf(label, sizeof label, "%s, oversampling %u, path %s", name, os, path);
    gpu_test_env(backend, "path", path);
    SprungCompiled *c = NULL;
    SprungError error = {0};
    if (sprung_compiled_new(model, 48000.0 * os, &c, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s does not compile: %s\n", name, error.message);
        exit(1);
    }
    SprungEngineConfig config = sprung_engine_config_default();
    config.max_block_frames = MAX_FRAMES;
    config.oversampling = os;
    Setup s = {.c = c, .os = os, .max_steps = MAX_FRAMES * os,
               .write_capacity = sprung_backend_write_capacity(c, MAX_FRAMES),
               .rng = 12345u + os};
    if (!c->max_frame_writes)
        s.write_capacity = 0;

    SprungState gpu_states[N_VOICES];
    SprungState *gpu_state_list[N_VOICES];
    CpuVoice cpu[N_VOICES];
    VoiceIo io[N_VOICES];
    memset(cpu, 0, sizeof cpu);
    memset(io, 0, sizeof io);
    for (uint32_t v = 0; v < N_VOICES; ++v) {
        if (sprung_state_new(c, &gpu_states[v]) != SPRUNG_OK) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        gpu_state_list[v] = &gpu_states[v];
        SprungStatus status = cpu_voice_new(c, &config, &cpu[v], &error);
        if (status == SPRUNG_ERROR_NO_MEMORY) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        if (status != SPRUNG_OK) {
            fprintf(stderr, "FAIL: cpu backend: %s\n", error.message);
            exit(1);
        }
        io[v].input_data = gpu_alloc((size_t)(c->n_input_channels + 1u) * MAX_FRAMES *
                                     sizeof(float));
        io[v].writes = gpu_alloc((size_t)(s.write_capacity + 1u) * sizeof *io[v].writes);
        io[v].gpu_data = gpu_alloc((size_t)c->n_channels * s.max_steps * sizeof(float));
        io[v].cpu_data = gpu_alloc((size_t)c->n_channels * s.max_steps * sizeof(float));
        for (uint32_t ch = 0; ch < c->n_channels; ++ch) {
            io[v].gpu_out[ch] = io[v].gpu_data + (size_t)ch * s.max_steps;
            io[v].cpu_out[ch] = io[v].cpu_data + (size_t)ch * s.max_steps;
        }
    }
    find_candidates(&s, &gpu_states[0]);

    SprungBackend gpu = {0};
    if (factory->create_voices(c, N_VOICES, gpu_state_list, 0, &config, &gpu, &error) !=
        SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s: create_voices: %s\n", label, error.message);
        exit(1);
    }
    GPU_CHECK(gpu.advance_voices && gpu.reset_voice && gpu.sync_state && gpu.upload_state &&
                  gpu.applies_writes && !gpu.set_views,
              "%s: the voices backend's table is incomplete", label);
    SprungGpuStats *stats = sprung_gpu_stats(gpu.name, gpu.ctx);

    /* Each voice from its own state: a nudge per voice, uploaded. */
    for (uint32_t v = 0; v < N_VOICES; ++v) {
        for (uint32_t i = 0; i < c->n_bodies; ++i) {
            float vz = 0.01f * (float)(v + 1u) * (float)((i % 3u) + 1u);
            gpu_states[v].vz[i] += vz;
            cpu[v].state.vz[i] += vz;
        }
    }
    gpu.upload_state(gpu.ctx);

    int failed = 0, transcendentals = uses_transcendentals(c);
    Tally outputs = {0, 0}, states = {0, 0};
    uint32_t order[N_VOICES];
    for (uint32_t block = 0; block < N_BLOCKS && !failed; ++block) {
        uint32_t n_frames = block_frames[block % (sizeof block_frames / sizeof *block_frames)];
        uint32_t n_steps = n_frames * os;
        if (block == RESET_BLOCK) {
            uint32_t v = block % N_VOICES;
            if (!(sabotage && !strcmp(sabotage, "reset")))
                gpu.reset_voice(gpu.ctx, v);
            cpu[v].backend.reset(cpu[v].backend.ctx);
        }
        /* A random subset of the voices, in random order (all of them in
         * the first block and in the reset one). */
        for (uint32_t v = 0; v < N_VOICES; ++v)
            order[v] = v;
        for (uint32_t v = N_VOICES - 1u; v > 0; --v) {
            uint32_t k = gpu_random(&s.rng) % (v + 1u), t = order[v];
            order[v] = order[k];
            order[k] = t;
        }
        uint32_t n_runs = block == 0 || block == RESET_BLOCK
                              ? N_VOICES
                              : 1u + gpu_random(&s.rng) % N_VOICES;
        SprungVoiceRun runs[N_VOICES];
        float compiled_dt[MAX_FRAMES];
        for (uint32_t f = 0; f < MAX_FRAMES; ++f)
            compiled_dt[f] = (float)c->dt;
        for (uint32_t r = 0; r < n_runs; ++r) {
            uint32_t v = order[r];
            make_inputs(&s, v, n_frames, &io[v]);
            uint32_t n_writes = io[v].frame_writes[n_frames];
            runs[r] = (SprungVoiceRun){
                .voice = sabotage && !strcmp(sabotage, "voice") ? 0u : v,
                .starts = io[v].starts,
                .n_starts = io[v].n_starts,
                .io = {.exciter_events = io[v].events,
                       .n_exciter_events = io[v].n_events,
                       .inputs = io[v].inputs,
                       .n_inputs = c->n_input_channels,
                       .oversampling = os,
                       .outputs = io[v].gpu_out,
                       .writes = n_writes ? io[v].writes : NULL,
                       .frame_writes = n_writes ? io[v].frame_writes : NULL},
                .frame_dt = sabotage && !strcmp(sabotage, "dt") ? compiled_dt : io[v].frame_dt,
            };
            for (uint32_t ch = 0; ch < c->n_channels; ++ch)
                for (uint32_t k = 0; k < n_steps; ++k)
                    io[v].gpu_out[ch][k] = NAN;
        }
        gpu.advance_voices(gpu.ctx, n_steps, n_runs, runs);
        for (uint32_t r = 0; r < n_runs; ++r) {
            uint32_t v = order[r];
            cpu_run(&cpu[v], &s, n_frames, &io[v]);
            failed |= compare_run(label, block, v, c, n_steps, &io[v], transcendentals, &outputs);
        }
        if (stats)
            GPU_CHECK(stats->groups == n_runs, "%s: stats say %u groups for %u runs", label,
                      stats->groups, n_runs);
    }

    /* Every voice's whole state, run or not. */
    gpu.sync_state(gpu.ctx);
    for (uint32_t v = 0; v < N_VOICES && !failed; ++v)
        failed |= compare_state(label, v, &cpu[v].state, &gpu_states[v], transcendentals, &states);
    /* reset(): every voice back to the initial state, on the device. */
    gpu.reset(gpu.ctx);
    for (uint32_t v = 0; v < N_VOICES; ++v)
        memset(gpu_states[v].block, 0xFF, gpu_states[v].block_bytes);
    gpu.sync_state(gpu.ctx);
    SprungState initial;
    if (sprung_state_new(c, &initial) != SPRUNG_OK)
        exit(2);
    for (uint32_t v = 0; v < N_VOICES; ++v)
        GPU_CHECK(!memcmp(initial.block, gpu_states[v].block, initial.block_bytes),
                  "%s: after reset(), voice %u is not in the initial state", label, v);
    sprung_state_free(&initial);

    double peak = 0.0;
    for (uint32_t v = 0; v < N_VOICES; ++v)
        for (uint32_t k = 0; k < (size_t)c->n_channels * s.max_steps; ++k)
            if (fabs(io[v].cpu_data[k]) > peak && !isnan(io[v].cpu_data[k]))
                peak = fabs(io[v].cpu_data[k]);
    printf("%s: %s path (%u local bytes, %u items per group); %u runs with %u starts, %u "
           "notes, %u writes (%u to the state)\n"
           "  outputs: %u channel runs bit-identical, %u within NMSE %.0e; states: %u "
           "bit-identical, %u within 1e-5%s\n",
           label, stats ? stats->path : "?", stats ? stats->local_bytes : 0,
           stats ? stats->work_group_size : 0, s.runs, s.starts, s.events, s.writes,
           s.state_writes, outputs.exact, outputs.close, NMSE_BOUND, states.exact, states.close,
           failed ? "; FAILED" : "");
    GPU_CHECK(peak > 0.0, "%s: the reference is silent (the test would prove nothing)", label);

    gpu.destroy(gpu.ctx);
    for (uint32_t v = 0; v < N_VOICES; ++v) {
        cpu_voice_free(&cpu[v]);
        sprung_state_free(&gpu_states[v]);
        free(io[v].input_data);
        free(io[v].writes);
        free(io[v].gpu_data);
        free(io[v].cpu_data);
    }
    free(s.candidates);
    sprung_compiled_free(c);
    gpu_test_env(backend, "path", NULL);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[2], "--sabotage")) {
        sabotage = argv[3];
        argc = 2;
    }
    const char *backend = gpu_test_backend(argc, argv);
    const SprungBackendFactory *factory = gpu_factory(backend);
    if (!factory || !factory->create_voices) {
        fprintf(stderr, "FAIL: the %s factory has no create_voices\n", backend);
        return 1;
    }
    if (!(factory->features & SPRUNG_FEATURE_VOICES))
        fprintf(stderr, "note: the %s factory does not declare SPRUNG_FEATURE_VOICES\n", backend);
    if (sabotage)
        printf("sabotage: %s\n", sabotage);

    SprungModel *models[3] = {gpu_preset("mpe-pad"), load_json(MESH, "mesh.json"),
                              voiced_kitchen_sink()};
    const char *names[3] = {"mpe-pad", "mesh", "kitchen-sink"};
    static const char *const paths[] = {"local", "global"};
    for (int m = 0; m < 3; ++m) {
        for (uint32_t os = 1; os <= 2; ++os)
            for (int p = 0; p < 2; ++p)
                run_case(backend, factory, models[m], names[m], os, paths[p]);
        if (sabotage && gpu_failures)
            break;
    }
    for (int m = 0; m < 3; ++m)
        sprung_model_free(models[m]);
    if (gpu_failures) {
        fprintf(stderr, "%d check(s) failed\n", gpu_failures);
        return 1;
    }
    printf("%s voices as work-groups of one launch: as the CPU reference\n", backend);
    return 0;
}
