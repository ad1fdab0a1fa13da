/* libFuzzer target for the preset loader: any byte string either loads or
 * fails with a message; a model that loads saves, reloads and saves again
 * to the same JSON (the round trip loses nothing), and small ones go
 * through the linear analysis and are compiled into an engine that renders
 * a few struck blocks (so the compiler sees every odd model the loader
 * accepts). Built with -fsanitize=fuzzer,address,undefined together with
 * the library sources themselves (tests/fuzz/CMakeLists.txt). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sprung/sprung.h"

/* Keeps each run fast; the interesting structure fits well within this. */
enum { FUZZ_MAX_INPUT = 64 * 1024, MAX_ANALYZED_POINTS = 24 };

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_preset: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void check_failure(SprungStatus status, const SprungModel *model,
                          const SprungError *error)
{
    if (model)
        die("a failed load returned a model", NULL);
    if (status <= SPRUNG_OK || status >= SPRUNG_STATUS_COUNT)
        die("a failed load returned an out-of-range status", NULL);
    if (error->status != status)
        die("the error record's status differs from the returned status", error->message);
    if (error->message[0] == '\0')
        die("a failed load left the error message empty", NULL);
    if (!memchr(error->message, '\0', sizeof error->message))
        die("the error message is not NUL-terminated", NULL);
}

/* Compiles the model and renders two short blocks with a strike in each;
 * an unstable model must be refused, anything else must work. */
static void render_a_little(const SprungModel *model)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.max_block_frames = 64;
    SprungEngine *engine = NULL;
    SprungError error;
    memset(&error, 0, sizeof error);
    SprungStatus status = sprung_engine_new(&config, model, &engine, &error);
    if (status == SPRUNG_ERROR_UNSTABLE || status == SPRUNG_ERROR_NO_MEMORY)
        return;
    if (status != SPRUNG_OK || !engine)
        die("sprung_engine_new failed on a valid model", error.message);
    float left[64], right[64];
    float *const outputs[2] = {left, right};
    SprungEvent events[2] = {
        {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .channel = 0, .note = 60, .velocity = 127},
        {.frame = 33, .type = SPRUNG_EVENT_NOTE_ON, .channel = 3, .note = 0, .velocity = 1},
    };
    SprungBlock block = {.n_frames = 64, .events = events, .n_events = 2, .outputs = outputs,
                         .n_outputs = 2};
    for (int b = 0; b < 2; b++)
        if (sprung_engine_process(engine, &block) != SPRUNG_OK)
            die("sprung_engine_process failed on a valid block", NULL);
    sprung_engine_free(engine);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT)
        return 0;
    char *json = malloc(size + 1);
    if (!json)
        return 0;
    memcpy(json, data, size);
    json[size] = '\0';

    SprungModel *model = NULL;
    SprungError error;
    memset(&error, 0, sizeof error);
    SprungStatus status = sprung_model_load_string(json, "fuzz.json", &model, &error);
    free(json);
    if (status != SPRUNG_OK) {
        check_failure(status, model, &error);
        return 0;
    }
    if (!model)
        die("a successful load returned no model", NULL);

    char *saved = NULL;
    if (sprung_model_save_string(model, &saved) != SPRUNG_OK || !saved)
        die("a loaded model does not save", NULL);

    SprungModel *reloaded = NULL;
    memset(&error, 0, sizeof error);
    if (sprung_model_load_string(saved, "fuzz.json", &reloaded, &error) != SPRUNG_OK)
        die("the saved model does not load again", error.message);

    char *saved_again = NULL;
    if (sprung_model_save_string(reloaded, &saved_again) != SPRUNG_OK || !saved_again)
        die("the reloaded model does not save", NULL);
    if (strcmp(saved, saved_again) != 0) {
        fprintf(stderr, "first save:\n%s\nsecond save:\n%s\n", saved, saved_again);
        die("save -> load -> save changed the JSON", NULL);
    }

    SprungModelCounts a = sprung_model_counts(model), b = sprung_model_counts(reloaded);
    if (memcmp(&a, &b, sizeof a) != 0)
        die("the round trip changed the object counts", NULL);
    const char *name_a = sprung_model_name(model), *name_b = sprung_model_name(reloaded);
    if (!name_a || !name_b || strcmp(name_a, name_b) != 0)
        die("the round trip changed the name", name_a);

    if (a.bodies + a.anchors <= MAX_ANALYZED_POINTS) {
        SprungAnalysis analysis;
        SprungStatus analyzed = sprung_model_analyze(model, 48000.0, &analysis);
        if (analyzed != SPRUNG_OK && analyzed != SPRUNG_ERROR_UNSTABLE &&
            analyzed != SPRUNG_ERROR_NO_MEMORY)
            die("sprung_model_analyze failed on a valid model", sprung_strerror(analyzed));
        if (analyzed == SPRUNG_OK && analysis.stable && !(analysis.stability_margin > 0.0))
            die("analysis says stable with a non-positive margin", NULL);
    }

    if (a.bodies + a.anchors <= MAX_ANALYZED_POINTS)
        render_a_little(model);

    sprung_free(saved);
    sprung_free(saved_again);
    sprung_model_free(reloaded);
    sprung_model_free(model);
    return 0;
}
