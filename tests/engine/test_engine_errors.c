/* Bad configurations and bad blocks: each gives its documented status and
 * message; a rejected block renders silence and leaves the engine exactly
 * as it was (the next blocks match an engine that never saw it). */
#include "engine_test_util.h"

static void expect_config_error(const SprungModel *model, SprungEngineConfig config,
                                const char *field)
{
    SprungEngine *engine = (SprungEngine *)&config; /* must be overwritten with NULL */
    SprungError error = {0};
    SprungStatus status = sprung_engine_new(&config, model, &engine, &error);
    CHECK(status == SPRUNG_ERROR_INVALID_ARGUMENT, "%s: status %s", field,
          sprung_strerror(status));
    CHECK(engine == NULL, "%s: *out not cleared", field);
    CHECK(error.status == SPRUNG_ERROR_INVALID_ARGUMENT && strstr(error.message, field),
          "%s: message does not name the field: \"%s\"", field, error.message);
    printf("  %s\n", error.message);
}

static void check_config(const SprungModel *model)
{
    SprungEngineConfig good = sprung_engine_config_default();
    CHECK(good.sample_rate == 48000.0 && good.max_block_frames == 4096 &&
              good.oversampling == 1 && good.worker_priority == 0,
          "defaults changed");
    const double bad_rates[] = {0.0, 7999.0, 384001.0, NAN, INFINITY, -48000.0};
    for (int i = 0; i < 6; i++) {
        SprungEngineConfig config = good;
        config.sample_rate = bad_rates[i];
        expect_config_error(model, config, "sample_rate");
    }
    const uint32_t bad_blocks[] = {0, 65537};
    for (int i = 0; i < 2; i++) {
        SprungEngineConfig config = good;
        config.max_block_frames = bad_blocks[i];
        expect_config_error(model, config, "max_block_frames");
    }
    const uint32_t bad_factors[] = {0, 3, 8};
    for (int i = 0; i < 3; i++) {
        SprungEngineConfig config = good;
        config.oversampling = bad_factors[i];
        expect_config_error(model, config, "oversampling");
    }
    const int bad_priorities[] = {-1, 100};
    for (int i = 0; i < 2; i++) {
        SprungEngineConfig config = good;
        config.worker_priority = bad_priorities[i];
        expect_config_error(model, config, "worker_priority");
    }
    /* The extremes of the ranges are fine. */
    SprungEngineConfig edge = good;
    edge.sample_rate = 8000.0;
    edge.max_block_frames = 1;
    edge.worker_priority = 99; /* with no worker threads, nothing to set */
    SprungEngine *engine = NULL;
    CHECK(sprung_engine_new(&edge, model, &engine, NULL) == SPRUNG_OK && engine,
          "8000 Hz, 1-frame blocks rejected");
    sprung_engine_free(engine);

    SprungError error = {0};
    CHECK(sprung_engine_new(&good, NULL, &engine, &error) == SPRUNG_ERROR_INVALID_ARGUMENT,
          "NULL model accepted");
    sprung_engine_free(NULL); /* a no-op */
    CHECK(sprung_engine_latency_frames(NULL) == 0, "latency of NULL");
}

/* A backend name that cannot be used says why, in words that name it. */
static void check_backend_names(const SprungModel *model)
{
    static const struct {
        const char *spec;
        const char *says;
    } cases[] = {
        {"nope", "unknown backend \"nope\" (this build has: auto, "},
        {"cpu:1", "backend \"cpu\" has 1 device; there is no device 1"},
        {"cpu:9", "backend \"cpu\" has 1 device; there is no device 9"},
        {"cpu:x", "\"cpu:x\": the device after ':' must be a number (as in \"cpu:0\")"},
        {"cpu:", "\"cpu:\": the device after ':' must be a number"},
        {"cpu:-1", "\"cpu:-1\": the device after ':' must be a number"},
        {"cpu:4294967296", "the device after ':' must be a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        SprungEngineConfig config = sprung_engine_config_default();
        config.backend = cases[i].spec;
        expect_config_error(model, config, "backend");
        SprungEngine *engine = NULL;
        SprungError error = {0};
        sprung_engine_new(&config, model, &engine, &error);
        CHECK(strstr(error.message, cases[i].says) != NULL, "backend \"%s\": \"%s\" lacks \"%s\"",
              cases[i].spec, error.message, cases[i].says);
    }
    SprungEngineConfig config = sprung_engine_config_default();
    config.backend = "cpu:0";
    SprungEngine *engine = NULL;
    CHECK(sprung_engine_new(&config, model, &engine, NULL) == SPRUNG_OK && engine,
          "\"cpu:0\" rejected");
    sprung_engine_free(engine);
}

/* Much too stiff for 48 kHz: rejected as unstable, naming a factor or none. */
static void check_unstable(void)
{
    SprungModel *model = test_model(
        "{'sprung': 1, 'bodies': [{'id': 'b', 'position': [0, 0, 0], 'mass': 1e-6}],"
        " 'anchors': [{'id': 'a', 'position': [1, 0, 0]}],"
        " 'springs': [{'id': 's', 'from': 'a', 'to': 'b', 'stiffness': 1e7}],"
        " 'microphones': [{'id': 'm', 'target': 'b', 'axis': [1, 0, 0]}]}");
    SprungEngineConfig config = sprung_engine_config_default();
    SprungEngine *engine = NULL;
    SprungError error = {0};
    SprungStatus status = sprung_engine_new(&config, model, &engine, &error);
    CHECK(status == SPRUNG_ERROR_UNSTABLE && engine == NULL,
          "unstable model: status %s", sprung_strerror(status));
    printf("  %s\n", error.message);
    sprung_model_free(model);
}

#define FRAMES 256u

/* Process one block; checks status and that the outputs are all silence
 * when it must fail. */
static void expect_block(SprungEngine *engine, SprungBlock block, SprungStatus expected,
                         const char *what)
{
    for (uint32_t c = 0; c < block.n_outputs; c++)
        if (block.outputs && block.outputs[c])
            for (uint32_t j = 0; j < block.n_frames; j++)
                block.outputs[c][j] = 1.0f;
    SprungStatus status = sprung_engine_process(engine, &block);
    CHECK(status == expected, "%s: status %s, expected %s", what, sprung_strerror(status),
          sprung_strerror(expected));
    if (expected != SPRUNG_OK)
        for (uint32_t c = 0; c < block.n_outputs; c++)
            if (block.outputs && block.outputs[c])
                for (uint32_t j = 0; j < block.n_frames; j++)
                    if (block.outputs[c][j] != 0.0f) {
                        CHECK(0, "%s: channel %u frame %u not silent", what, c, j);
                        return;
                    }
}

static SprungBlock block_of(uint32_t n_frames, const SprungEvent *events, uint32_t n_events,
                            float *const *outputs, uint32_t n_outputs)
{
    return (SprungBlock){.n_frames = n_frames, .events = events, .n_events = n_events,
                         .outputs = outputs, .n_outputs = n_outputs};
}

static void check_blocks(const SprungModel *model)
{
    SprungEngine *engine = test_engine(model, 48000.0, FRAMES, 2);
    SprungEngine *clean = test_engine(model, 48000.0, FRAMES, 2);
    static float left[2 * FRAMES], right[2 * FRAMES], third[2 * FRAMES];
    static float clean_left[FRAMES], clean_right[FRAMES];
    float *outputs[3] = {left, right, third};
    float *with_null[2] = {left, NULL};
    SprungEvent hit = test_note_on(10, 64, 100);

    /* Start both engines ringing. */
    CHECK(test_render(engine, &hit, 1, FRAMES, FRAMES, left, right, 0), "render");
    CHECK(test_render(clean, &hit, 1, FRAMES, FRAMES, clean_left, clean_right, 0), "render");

    SprungEvent unsorted[2] = {test_note_on(20, 64, 100), test_note_on(10, 64, 100)};
    SprungEvent late = test_note_on(FRAMES, 64, 100);
    SprungEvent bad_note = test_note_on(5, 128, 100);
    SprungEvent bad_velocity = test_note_on(5, 64, 200);
    SprungEvent bad_channel = test_note_on(5, 64, 100);
    bad_channel.channel = 16;
    SprungEvent bad_type = test_note_on(5, 64, 100);
    bad_type.type = 7;

    expect_block(engine, block_of(FRAMES + 1, NULL, 0, outputs, 2),
                 SPRUNG_ERROR_INVALID_ARGUMENT, "block larger than max_block_frames");
    expect_block(engine, block_of(FRAMES, unsorted, 2, outputs, 2),
                 SPRUNG_ERROR_INVALID_ARGUMENT, "unsorted events");
    expect_block(engine, block_of(FRAMES, &late, 1, outputs, 2),
                 SPRUNG_ERROR_INVALID_ARGUMENT, "event frame == n_frames");
    expect_block(engine, block_of(FRAMES, &bad_note, 1, outputs, 2),
                 SPRUNG_ERROR_INVALID_ARGUMENT, "note 128");
    expect_block(engine, block_of(FRAMES, &bad_velocity, 1, outputs, 2),
                 SPRUNG_ERROR_INVALID_ARGUMENT, "velocity 200");
    expect_block(engine, block_of(FRAMES, &bad_channel, 1, outputs, 2),
                 SPRUNG_ERROR_INVALID_ARGUMENT, "channel 16");
    expect_block(engine, block_of(FRAMES, &bad_type, 1, outputs, 2),
                 SPRUNG_ERROR_INVALID_ARGUMENT, "unknown event type");
    expect_block(engine, block_of(FRAMES, NULL, 3, outputs, 2),
                 SPRUNG_ERROR_INVALID_ARGUMENT, "NULL events with n_events 3");
    expect_block(engine, block_of(FRAMES, NULL, 0, outputs, 1),
                 SPRUNG_ERROR_INVALID_ARGUMENT, "one output");
    expect_block(engine, block_of(FRAMES, NULL, 0, with_null, 2),
                 SPRUNG_ERROR_INVALID_ARGUMENT, "NULL output buffer");
    expect_block(engine, block_of(FRAMES, NULL, 0, NULL, 2),
                 SPRUNG_ERROR_INVALID_ARGUMENT, "NULL outputs");
    CHECK(sprung_engine_process(engine, NULL) == SPRUNG_ERROR_INVALID_ARGUMENT, "NULL block");
    SprungBlock whole = block_of(FRAMES, NULL, 0, outputs, 2);
    CHECK(sprung_engine_process(NULL, &whole) == SPRUNG_ERROR_INVALID_ARGUMENT, "NULL engine");
    CHECK(left[0] == 0.0f && right[FRAMES - 1] == 0.0f, "NULL engine: no silence");

    /* Empty blocks are fine and change nothing. */
    expect_block(engine, block_of(0, NULL, 0, outputs, 2), SPRUNG_OK, "empty block");

    /* Nothing above moved the engine: it continues like the clean one. A
     * third output is silence. */
    expect_block(engine, block_of(FRAMES, NULL, 0, outputs, 3), SPRUNG_OK, "three outputs");
    float *clean_outputs[2] = {clean_left, clean_right};
    SprungBlock clean_block = block_of(FRAMES, NULL, 0, clean_outputs, 2);
    CHECK(sprung_engine_process(clean, &clean_block) == SPRUNG_OK, "clean process");
    CHECK(test_peak(clean_left, FRAMES) > 0.0, "clean engine silent");
    CHECK(memcmp(left, clean_left, FRAMES * sizeof(float)) == 0 &&
              memcmp(right, clean_right, FRAMES * sizeof(float)) == 0,
          "a rejected block changed the engine");
    CHECK(test_peak(third, FRAMES) == 0.0, "third output not silent");

    sprung_engine_free(engine);
    sprung_engine_free(clean);
}

int main(void)
{
    SprungModel *model = test_model(test_network_json);
    printf("messages:\n");
    check_config(model);
    check_backend_names(model);
    check_unstable();
    check_blocks(model);
    sprung_model_free(model);
    if (test_failures) {
        fprintf(stderr, "%d check(s) failed\n", test_failures);
        return 1;
    }
    printf("engine errors: ok\n");
    return 0;
}
