/* Followers of a microphone on a GPU backend (argv[1]: opencl or cuda; or
 * cpu-batch: the test's stand-in, tests/voices/cpu_batch_backend.h, the
 * CPU reference behind the same interface, so the engine's side runs
 * without a GPU and, in the RealtimeSanitizer build, with every process()
 * call in a real-time section; --sabotage makes that backend allocate)
 * through the engine, against the CPU reference, bit for bit, at blocks of
 * 1, 7, 64, 512 and 4096 frames and oversampling 1 and 2 (src/engine/engine.c,
 * "Followers of a microphone"). A follower hears the microphones of the
 * frame before, which a GPU block hands back per frame.
 *
 *   wind-chimes   the factory preset: a follower on the swinging sail sets
 *                 the wind mallets' strength, which the host reads at each
 *                 strike, so the followers are deferred: a run is cut only
 *                 before such a strike (checked: far fewer launches than
 *                 frames);
 *   every-frame   a follower that sets a spring's stiffness (read by the
 *                 kernel every step) and fires a Note Trigger: a run per
 *                 frame (checked: one launch per frame).
 *
 * Each scenario first shows that its followers change the output (the
 * same model with the followers' routes made flat renders otherwise), so
 * the comparison is not vacuous. By-hand sabotages: tests/gpu/CMakeLists.txt. */
#include "../modulation/rt_section.h"
#include "../voices/cpu_batch_backend.h"
#include "engine/engine_internal.h"
#include "gpu_test_util.h"

#define RATE 48000.0
#define MAX_FRAMES 96000u

typedef struct Scenario {
    const char *name;
    char *json;       /* the model */
    char *flat_json;  /* the same with the followers' routes flat */
    const SprungEvent *events;
    uint32_t n_events;
    uint32_t n_frames;
    int deferred;     /* 1: runs cut only before a followed strike */
} Scenario;

static float ref_l[MAX_FRAMES], ref_r[MAX_FRAMES], dev_l[MAX_FRAMES], dev_r[MAX_FRAMES];

static char *read_text(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "FAIL: cannot open %s\n", path);
        exit(1);
    }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char *text = gpu_alloc((size_t)size + 1);
    if (fread(text, 1, (size_t)size, file) != (size_t)size) {
        fprintf(stderr, "FAIL: cannot read %s\n", path);
        exit(1);
    }
    fclose(file);
    return text;
}

/* `text` with every `from` replaced by `to` (same length), which must occur. */
static char *replaced(const char *text, const char *from, const char *to)
{
    char *copy = gpu_alloc(strlen(text) + 1);
    strcpy(copy, text);
    size_t n = strlen(from), count = 0;
    if (strlen(to) != n) {
        fprintf(stderr, "FAIL: replacement of another length\n");
        exit(1);
    }
    for (char *at = strstr(copy, from); at; at = strstr(at + n, from), ++count)
        memcpy(at, to, n);
    if (!count) {
        fprintf(stderr, "FAIL: \"%s\" not in the model\n", from);
        exit(1);
    }
    return copy;
}

static SprungEngine *engine_on(const char *json, const char *backend, uint32_t block,
                               uint32_t oversampling)
{
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_string(json, "followers test", &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: model: %s\n", error.message);
        exit(1);
    }
    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = RATE;
    config.max_block_frames = block;
    config.oversampling = oversampling;
    int stand_in = !strcmp(backend, cpu_batch_factory.name);
    config.backend = stand_in ? "cpu" : backend;
    sprung_engine_testing_factory(stand_in ? &cpu_batch_factory : NULL);
    cpu_batch_stats_clear();
    SprungEngine *engine = NULL;
    SprungStatus status = sprung_engine_new(&config, model, &engine, &error);
    sprung_engine_testing_factory(NULL);
    if (status != SPRUNG_OK) {
        fprintf(stderr, "FAIL: engine on %s: %s\n", backend, error.message);
        exit(1);
    }
    sprung_model_free(model);
    return engine;
}

/* The scenario's events in blocks of `block` frames, every process() call
 * in a real-time section (rt_section.h). */
static void render(SprungEngine *engine, const Scenario *s, uint32_t block, float *left,
                   float *right)
{
    rt_render(engine, s->events, s->n_events, s->n_frames, block, left, right);
}

static uint64_t launches(SprungEngine *engine)
{
    const char *name = NULL;
    void *ctx = sprung_engine_backend_context(engine, &name);
    if (!strcmp(name, cpu_batch_factory.name))
        return cpu_batch_stats()->feature_calls;
    SprungGpuStats *stats = sprung_gpu_stats(name, ctx);
    return stats ? stats->blocks : 0;
}

static void check_scenario(const char *backend, const Scenario *s)
{
    size_t bytes = s->n_frames * sizeof(float);
    static const uint32_t blocks[] = {1, 7, 64, 512, 4096};
    for (uint32_t oversampling = 1; oversampling <= 2; ++oversampling) {
        SprungEngine *flat = engine_on(s->flat_json, "cpu", 4096, oversampling);
        render(flat, s, 4096, dev_l, dev_r);
        sprung_engine_free(flat);
        SprungEngine *cpu = engine_on(s->json, "cpu", 4096, oversampling);
        render(cpu, s, 4096, ref_l, ref_r);
        sprung_engine_free(cpu);
        GPU_CHECK(memcmp(ref_l, dev_l, bytes) || memcmp(ref_r, dev_r, bytes),
                  "%s: the followers change nothing: the test would prove nothing", s->name);
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; ++b) {
            /* Blocks of one frame launch per frame: a shorter render. */
            Scenario short_run = *s;
            if (blocks[b] == 1 && short_run.n_frames > 12000u)
                short_run.n_frames = 12000u;
            SprungEngine *dev = engine_on(s->json, backend, blocks[b], oversampling);
            render(dev, &short_run, blocks[b], dev_l, dev_r);
            uint64_t n_launches = launches(dev);
            sprung_engine_free(dev);
            uint32_t first = 0;
            while (first < short_run.n_frames && ref_l[first] == dev_l[first] &&
                   ref_r[first] == dev_r[first])
                ++first;
            GPU_CHECK(first == short_run.n_frames,
                      "%s, blocks of %u, oversampling %u: differs from the reference from "
                      "frame %u (%.9g %.9g against %.9g %.9g)",
                      s->name, blocks[b], oversampling, first, dev_l[first], dev_r[first],
                      ref_l[first], ref_r[first]);
            uint32_t n_blocks = (short_run.n_frames + blocks[b] - 1) / blocks[b];
            if (s->deferred)
                GPU_CHECK(blocks[b] < 64 || n_launches * 8 < short_run.n_frames,
                          "%s, blocks of %u: %llu launches for %u frames: the followers are "
                          "not deferred", s->name, blocks[b], (unsigned long long)n_launches,
                          short_run.n_frames);
            else
                GPU_CHECK(n_launches == short_run.n_frames,
                          "%s, blocks of %u: %llu launches for %u frames, not one per frame",
                          s->name, blocks[b], (unsigned long long)n_launches,
                          short_run.n_frames);
            printf("%s, blocks of %4u, oversampling %u: %s, %llu launches for %u blocks\n",
                   s->name, blocks[b], oversampling,
                   first == short_run.n_frames ? "bit-identical" : "DIFFERS",
                   (unsigned long long)n_launches, n_blocks);
        }
    }
}

/* A follower (the "probe" microphone on the second body) that stiffens
 * the middle spring and, when loud, fires a Note Trigger on a mallet
 * striking that body across. */
static const char every_frame_json[] =
    "{\"sprung\": 1, \"name\": \"follower on the kernel's arrays\","
    " \"bodies\": [{\"id\": \"b1\", \"position\": [0, 0, 0], \"mass\": 0.01, \"drag\": 0.02},"
    "  {\"id\": \"b2\", \"position\": [0.02, 0, 0], \"mass\": 0.01, \"drag\": 0.02}],"
    " \"anchors\": [{\"id\": \"a1\", \"position\": [-0.02, 0, 0]},"
    "  {\"id\": \"a2\", \"position\": [0.04, 0, 0]}],"
    " \"springs\": [{\"id\": \"s1\", \"from\": \"a1\", \"to\": \"b1\", \"stiffness\": 40000},"
    "  {\"id\": \"s2\", \"from\": \"b1\", \"to\": \"b2\", \"stiffness\": 30000, \"damping\": 0.01},"
    "  {\"id\": \"s3\", \"from\": \"b2\", \"to\": \"a2\", \"stiffness\": 40000}],"
    " \"mallets\": [{\"id\": \"key\", \"target\": \"b1\", \"direction\": [1, 0, 0],"
    "   \"strength\": 0.02, \"duration_ms\": 0.5, \"notes\": [60, 60]},"
    "  {\"id\": \"echo\", \"target\": \"b2\", \"direction\": [0, 1, 0], \"strength\": 0.01,"
    "   \"duration_ms\": 0.5, \"notes\": [90, 90], \"channel\": 16}],"
    " \"microphones\": [{\"id\": \"listen\", \"target\": \"b2\", \"axis\": [0.6, 0.8, 0],"
    "   \"signal\": \"velocity\", \"gain\": 1.0},"
    "  {\"id\": \"probe\", \"target\": \"b2\", \"axis\": [1, 0, 0], \"signal\": \"velocity\","
    "   \"gain\": 2.0, \"output\": \"none\"}],"
    " \"sources\": [{\"id\": \"loud\", \"type\": \"follower\", \"microphone\": \"probe\","
    "   \"attack_ms\": 2, \"release_ms\": 40}],"
    " \"routes\": [{\"source\": \"loud\", \"target\": \"s2\", \"parameter\": \"stiffness\","
    "   \"range\": [30000, 90000], \"amount\": 4.0, \"smoothing_ms\": 1},"
    "  {\"source\": \"loud\", \"note_trigger\": {\"note\": 90, \"channel\": 16},"
    "   \"amount\": 4.0}]}";

static const SprungEvent every_frame_events[] = {
    {.frame = 10, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 100},
    {.frame = 2500, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 127},
    {.frame = 7001, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 40},
};

/* Wind-chimes: a low key held raises the wind (the follower on the sail),
 * two tubes struck by hand besides the wind's strikes. */
static const SprungEvent wind_events[] = {
    {.frame = 100, .type = SPRUNG_EVENT_NOTE_ON, .note = 40, .velocity = 127},
    {.frame = 5003, .type = SPRUNG_EVENT_NOTE_ON, .note = 72, .velocity = 90},
    {.frame = 60001, .type = SPRUNG_EVENT_NOTE_ON, .note = 79, .velocity = 110},
    {.frame = 80000, .type = SPRUNG_EVENT_NOTE_OFF, .note = 40},
};

int main(int argc, char **argv)
{
    RT_INIT();
    const char *backend = cpu_batch_factory.name;
    if (argc > 1 && !strcmp(argv[1], backend)) {
        int sabotage = argc > 2 && !strcmp(argv[2], "--sabotage");
        if (sabotage)
            fprintf(stderr, "sabotage: the stand-in backend's advance_features allocates\n");
        cpu_batch_sabotage(sabotage);
    } else {
        backend = gpu_test_backend(argc, argv);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/presets/wind-chimes.json", SPRUNG_SOURCE_DIR);
    char *wind = read_text(path);
    Scenario scenarios[] = {
        {"wind-chimes", wind, replaced(wind, "\"range\": [0, 0.006]", "\"range\": [0, 0.000]"),
         wind_events, sizeof wind_events / sizeof wind_events[0], MAX_FRAMES, 1},
        {"every-frame", (char *)every_frame_json,
         replaced(every_frame_json, "\"amount\": 4.0", "\"amount\": 0.0"), every_frame_events,
         sizeof every_frame_events / sizeof every_frame_events[0], 12000u, 0},
    };
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; ++i) {
        check_scenario(backend, &scenarios[i]);
        free(scenarios[i].flat_json);
    }
    free(wind);
    if (gpu_failures) {
        fprintf(stderr, "%d check(s) failed\n", gpu_failures);
        return 1;
    }
    printf("%s: microphone followers bit-identical to the reference at every block size\n",
           backend);
    return 0;
}
