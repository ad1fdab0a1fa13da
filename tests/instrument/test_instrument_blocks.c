/* Block-size invariance of every feature: the kitchen-sink model
 * (kitchen_sink.h: oscillators, pluck, bow, gated and plain audio inputs,
 * a delay line with feedback, collisions with a plane, a body and an
 * anchor, gravity, force and routed microphones, three output channels)
 * rendered with blocks of 1, 7, 64, 512 and 4096 frames, at oversampling 1
 * and 2, with notes on several channels and two input channels, gives the
 * same bits every time. Also: reset returns to the initial state (a second
 * render after sprung_engine_reset is identical to the first). Then the
 * same checks on the kitchen sink with modulation (MODULATED_SINK: a route
 * on every parameter a route can reach, an LFO, an envelope, a follower of
 * an input, a constant and a Note Trigger), which a GPU backend renders a
 * block per launch with each frame's modulation writes
 * (engine/modulation_writes.h). The constant holds an anchor away from its
 * rest position: written once, it must be written again after a reset,
 * which puts the backend's anchors back at rest.
 *
 * Usage: test_instrument_blocks [BACKEND]: on another backend than the
 * reference (a GPU backend's feature kernel; its path and launch come from
 * its environment variables), the same checks, and the blocks of 512 must
 * match the reference within the conformance bound (max |diff| <= 1e-3 of
 * the peak per channel; whether they are bit-identical is printed). Exit
 * 77 (skipped) when that backend cannot run here. */
#include "instrument_test_util.h"
#include "kitchen_sink.h"

#define RATE 48000.0
#define SKIPPED 77

/* Exits 77 when `backend` cannot run here (no device, not built). */
static void skip_unless_runs(const char *backend)
{
    for (uint32_t i = 0; i < sprung_backend_count(); i++) {
        SprungBackendInfo info;
        if (sprung_backend_info(i, &info) == SPRUNG_OK && !strcmp(info.name, backend)) {
            if (info.available)
                return;
            printf("SKIP: backend %s cannot run here: %s\n", backend, info.reason);
            exit(SKIPPED);
        }
    }
    printf("SKIP: backend %s is not in this build\n", backend);
    exit(SKIPPED);
}

/* The reference's render at blocks of 512 against `got`, per channel. */
static void compare_with_reference(const SprungModel *model, uint32_t oversampling,
                                   const Render *r, const float *got)
{
    const char *backend = instrument_backend;
    instrument_backend = "cpu";
    float *want = render_model(model, RATE, oversampling, r);
    instrument_backend = backend;
    for (uint32_t ch = 0; ch < r->n_channels; ch++) {
        const float *a = want + (size_t)ch * r->n_frames, *b = got + (size_t)ch * r->n_frames;
        double diff = 0.0;
        for (size_t i = 0; i < r->n_frames; i++)
            diff = fmax(diff, fabs((double)a[i] - (double)b[i]));
        double top = peak(a, r->n_frames);
        printf("oversampling %u, channel %u on %s: max |diff| %.3g of the reference's peak "
               "%.3g%s\n",
               oversampling, ch, backend, diff, top, diff == 0.0 ? " (bit-identical)" : "");
        CHECK(diff <= 1e-3 * top, "oversampling %u, channel %u: %s differs from the reference",
              oversampling, ch, backend);
    }
    free(want);
}

/* The kitchen sink's sources and routes for MODULATED_SINK. */
#define MODULATION_SECTIONS                                                                      \
    " \"sources\": [{\"id\": \"lfo\", \"type\": \"lfo\", \"rate_hz\": 7},\n"                     \
    "  {\"id\": \"clock\", \"type\": \"lfo\", \"shape\": \"square\", \"rate_hz\": 6},\n"        \
    "  {\"id\": \"env\", \"type\": \"envelope\", \"attack_ms\": 20, \"decay_ms\": 50,"             \
    " \"sustain\": 0.4, \"release_ms\": 30},\n"                                                  \
    "  {\"id\": \"ear\", \"type\": \"follower\", \"input\": 0, \"release_ms\": 20},\n"           \
    "  {\"id\": \"fixed\", \"type\": \"constant\", \"value\": 1}],\n"                                \
    " \"routes\": [\n"                                                                          \
    "  {\"source\": \"lfo\", \"target\": \"s1\", \"parameter\": \"stiffness\","                    \
    " \"range\": [2500, 3500], \"offset\": 0.5, \"amount\": 0.5},\n"                              \
    "  {\"source\": \"ear\", \"target\": \"s4\", \"parameter\": \"stiffness\","                    \
    " \"range\": [3000, 3600]},\n"                                                               \
    "  {\"source\": \"lfo\", \"target\": \"s2\", \"parameter\": \"damping\","                      \
    " \"range\": [0, 0.002], \"offset\": 0.5, \"amount\": 0.5},\n"                                \
    "  {\"source\": \"env\", \"target\": \"s3\", \"parameter\": \"rest_length\","                  \
    " \"range\": [0.03, 0.027]},\n"                                                              \
    "  {\"source\": \"env\", \"target\": \"b3\", \"parameter\": \"mass\","                         \
    " \"range\": [0.001, 0.0008]},\n"                                                            \
    "  {\"source\": \"lfo\", \"target\": \"b1\", \"parameter\": \"drag\","                         \
    " \"range\": [0.0003, 0.0007], \"offset\": 0.5, \"amount\": 0.5},\n"                          \
    "  {\"source\": \"lfo\", \"target\": \"right\", \"parameter\": \"x\","                         \
    " \"range\": [0.199, 0.201], \"offset\": 0.5, \"amount\": 0.5},\n"                            \
    "  {\"source\": \"fixed\", \"target\": \"peg\", \"parameter\": \"y\", \"range\": [0, 0.001]},\n" \
    "  {\"source\": \"env\", \"target\": \"mp\", \"parameter\": \"gain\", \"range\": [10, 30]},\n"  \
    "  {\"source\": \"lfo\", \"target\": \"mp\", \"parameter\": \"pan\", \"range\": [-0.8, 0.8],"   \
    " \"offset\": 0.5, \"amount\": 0.5},\n"                                                      \
    "  {\"source\": \"lfo\", \"target\": \"o1\", \"parameter\": \"amplitude\","                    \
    " \"range\": [0.01, 0.03], \"offset\": 0.5, \"amount\": 0.5},\n"                              \
    "  {\"source\": \"env\", \"target\": \"o4\", \"parameter\": \"frequency\","                    \
    " \"range\": [300, 500]},\n"                                                                 \
    "  {\"source\": \"lfo\", \"target\": \"echo\", \"parameter\": \"time_ms\","                    \
    " \"range\": [2, 4], \"offset\": 0.5, \"amount\": 0.5},\n"                                    \
    "  {\"source\": \"lfo\", \"target\": \"m\", \"parameter\": \"strength\","                      \
    " \"range\": [0.0003, 0.0007], \"offset\": 0.5, \"amount\": 0.5},\n"                          \
    "  {\"source\": \"clock\", \"note_trigger\": {\"note\": 33, \"velocity\": 90, \"channel\": 1},"  \
    " \"offset\": 0.5, \"amount\": 0.5}]}\n"

/* The kitchen sink with MODULATION_SECTIONS in place of its closing brace. */
static char *modulated_sink(void)
{
    size_t keep = strlen(KITCHEN_SINK);
    while (keep && KITCHEN_SINK[keep - 1] != '}')
        --keep;
    keep -= 1;
    size_t size = keep + sizeof ",\n" MODULATION_SECTIONS;
    char *text = malloc(size);
    if (!text) {
        fprintf(stderr, "FAIL: out of memory\n");
        exit(1);
    }
    memcpy(text, KITCHEN_SINK, keep);
    snprintf(text + keep, size - keep, ",\n%s", MODULATION_SECTIONS);
    return text;
}

/* Every check above on the model in `json`. */
static void check_blocks(const char *json, const char *name)
{
    printf("---- %s\n", name);
    SprungModel *model = load_model(json);
    const size_t n = 9000;
    float *inputs = calloc(2 * n, sizeof *inputs);
    uint32_t seed = 1;
    for (size_t i = 0; i < 2 * n; i++) {
        seed = seed * 1664525u + 1013904223u;
        inputs[i] = (i % 3000 < 400) ? (float)((seed >> 9) * (1.0 / 8388608.0) - 1.0) : 0.0f;
    }
    SprungEvent events[] = {
        note_on(0, 35, 100),    note_on(5, 60, 110),     note_on(5, 61, 90),
        note_on(700, 45, 127),  note_off(1500, 61),      note_on(1501, 80, 100),
        note_on(2000, 95, 100), note_off(2600, 95),      note_on(3001, 62, 64),
        note_off(4000, 60),     note_off(4000, 80),      note_on(4002, 72, 80),
        note_off(6000, 72),     note_off(6001, 62),      note_on(7000, 50, 30),
    };
    events[1].channel = 1; /* o1 answers channel 2 only */
    const uint32_t blocks[] = {1, 7, 64, 512, 4096};
    for (uint32_t oversampling = 1; oversampling <= 2; oversampling++) {
        float *reference = NULL;
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
            Render r = {.events = events, .n_events = sizeof events / sizeof events[0],
                        .inputs = inputs, .n_inputs = 2, .n_channels = 3, .n_frames = n,
                        .block = blocks[b]};
            float *out = render_model(model, RATE, oversampling, &r);
            if (!reference) {
                reference = out;
                printf("oversampling %u: peaks %.4g %.4g %.4g\n", oversampling,
                       peak(out, n), peak(out + n, n), peak(out + 2 * n, n));
                CHECK(peak(out, n) > 0.0 && peak(out + n, n) > 0.0 && peak(out + 2 * n, n) > 0.0,
                      "a channel is silent");
                for (size_t i = 0; i < 3 * n; i++)
                    CHECK(isfinite(out[i]), "non-finite sample %zu", i);
                continue;
            }
            size_t first = 3 * n;
            for (size_t i = 0; i < 3 * n && first == 3 * n; i++)
                if (memcmp(&out[i], &reference[i], sizeof(float)) != 0)
                    first = i;
            CHECK(first == 3 * n,
                  "oversampling %u, blocks of %u: differs from blocks of 1 at channel %zu frame "
                  "%zu",
                  oversampling, blocks[b], first / n, first % n);
            free(out);
        }
        /* Reset: the same render again on the same engine. */
        SprungEngine *engine = make_engine(model, RATE, oversampling, 512);
        Render r = {.events = events, .n_events = sizeof events / sizeof events[0],
                    .inputs = inputs, .n_inputs = 2, .n_channels = 3, .n_frames = n,
                    .block = 512};
        float *once = calloc(3 * n, sizeof *once), *twice = calloc(3 * n, sizeof *twice);
        render_into(engine, &r, once);
        sprung_engine_reset(engine);
        render_into(engine, &r, twice);
        CHECK(memcmp(once, twice, 3 * n * sizeof *once) == 0,
              "oversampling %u: a render after reset differs", oversampling);
        CHECK(memcmp(once, reference, 3 * n * sizeof *once) == 0,
              "oversampling %u: blocks of 512 on one engine differ", oversampling);
        if (strcmp(instrument_backend, "cpu"))
            compare_with_reference(model, oversampling, &r, once);
        free(once);
        free(twice);
        free(reference);
        sprung_engine_free(engine);
    }
    printf("%s: blocks of 1, 7, 64, 512, 4096 give the same bits at oversampling 1 and 2\n",
           name);
    free(inputs);
    sprung_model_free(model);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        instrument_backend = argv[1];
        skip_unless_runs(instrument_backend);
    }
    check_blocks(KITCHEN_SINK, "kitchen sink");
    char *modulated = modulated_sink();
    check_blocks(modulated, "kitchen sink with modulation");
    free(modulated);
    return finish("instrument_blocks");
}
