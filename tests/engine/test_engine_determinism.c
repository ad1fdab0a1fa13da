/* Determinism: two engines fed the same blocks give the same bits (also when
 * their calls interleave, so they share no hidden state); reset returns an
 * engine to exactly the output of a fresh one, also mid-pulse. */
#include "engine_test_util.h"

#define TOTAL_FRAMES 12288u

static void check_oversampling(const SprungModel *model, uint32_t oversampling)
{
    SprungEvent events[64];
    uint32_t n_events = test_network_events(events);
    while (n_events > 0 && events[n_events - 1].frame >= TOTAL_FRAMES)
        n_events--;
    size_t bytes = TOTAL_FRAMES * sizeof(float);
    float *a_left = test_alloc(bytes), *a_right = test_alloc(bytes);
    float *b_left = test_alloc(bytes), *b_right = test_alloc(bytes);

    /* Interleaved: block k of engine a, then block k of engine b. */
    SprungEngine *a = test_engine(model, 44100.0, 512, oversampling);
    SprungEngine *b = test_engine(model, 44100.0, 512, oversampling);
    uint32_t e = 0;
    for (uint32_t start = 0; start < TOTAL_FRAMES; start += 512) {
        SprungEvent local[64];
        uint32_t count = 0;
        while (e < n_events && events[e].frame < start + 512) {
            local[count] = events[e++];
            local[count++].frame -= start;
        }
        float *oa[2] = {a_left + start, a_right + start};
        float *ob[2] = {b_left + start, b_right + start};
        SprungBlock block_a = {.n_frames = 512, .events = local, .n_events = count, .outputs = oa, .n_outputs = 2};
        SprungBlock block_b = {.n_frames = 512, .events = local, .n_events = count, .outputs = ob, .n_outputs = 2};
        CHECK(sprung_engine_process(a, &block_a) == SPRUNG_OK, "process a");
        CHECK(sprung_engine_process(b, &block_b) == SPRUNG_OK, "process b");
    }
    CHECK(test_peak(a_left, TOTAL_FRAMES) > 0.0, "silent render");
    CHECK(memcmp(a_left, b_left, bytes) == 0 && memcmp(a_right, b_right, bytes) == 0,
          "oversampling %u: two engines, same input, different output", oversampling);

    /* Reset after a full render (state, pulses, filter memory all dirty). */
    sprung_engine_reset(b);
    CHECK(sprung_engine_steps(b) == 0, "reset keeps the step count");
    CHECK(test_render(b, events, n_events, TOTAL_FRAMES, 512, b_left, b_right, 0), "render");
    CHECK(memcmp(a_left, b_left, bytes) == 0 && memcmp(a_right, b_right, bytes) == 0,
          "oversampling %u: reset engine differs from a fresh one", oversampling);

    /* Reset in the middle of a 5 ms pulse of m2 (started at frame 3). */
    sprung_engine_reset(b);
    CHECK(test_render(b, events, 1, 100, 100, b_left, b_right, 0), "render");
    sprung_engine_reset(b);
    CHECK(test_render(b, events, n_events, TOTAL_FRAMES, 512, b_left, b_right, 0), "render");
    CHECK(memcmp(a_left, b_left, bytes) == 0 && memcmp(a_right, b_right, bytes) == 0,
          "oversampling %u: reset mid-pulse leaves a trace", oversampling);

    /* Reset restores the state arrays themselves. */
    const SprungState *state = sprung_engine_state(b);
    const SprungCompiled *compiled = sprung_engine_compiled(b);
    sprung_engine_reset(b);
    for (uint32_t i = 0; i < compiled->n_nodes; i++)
        CHECK(state->ux[i] == 0.0f && state->uy[i] == 0.0f && state->uz[i] == 0.0f &&
                  state->vx[i] == compiled->initial_vx[i] &&
                  state->vy[i] == compiled->initial_vy[i],
              "node %u not reset", i);

    sprung_engine_free(a);
    sprung_engine_free(b);
    free(a_left);
    free(a_right);
    free(b_left);
    free(b_right);
}

int main(void)
{
    SprungModel *model = test_model(test_network_json);
    check_oversampling(model, 1);
    check_oversampling(model, 2);
    check_oversampling(model, 4);

    /* The model may go away once the engine is built. */
    SprungEngine *engine = test_engine(model, 48000.0, 256, 1);
    sprung_model_free(model);
    float left[256], right[256];
    SprungEvent hit = test_note_on(10, 64, 100);
    CHECK(test_render(engine, &hit, 1, 256, 256, left, right, 0), "render after model free");
    CHECK(test_peak(left, 256) > 0.0, "silent after model free");
    sprung_engine_free(engine);

    if (test_failures) {
        fprintf(stderr, "%d check(s) failed\n", test_failures);
        return 1;
    }
    printf("engine determinism: ok\n");
    return 0;
}
