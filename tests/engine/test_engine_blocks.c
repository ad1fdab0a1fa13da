/* Block-size invariance: the same events rendered with blocks of 1, 7, 64,
 * 512 and 4096 frames give bit-identical output, at oversampling 1, 2 and 4.
 *
 * Sabotage: the same check, run on a render whose events are moved to the
 * start of their block (what an engine that ignored event frames would do),
 * must see a difference, or this test could not catch that bug. It was also
 * checked once by hand: with engine_apply_event() hoisted out of the run loop
 * in sprung_engine_process() (all events applied at frame 0 of the block),
 * every block size except 4096 failed here. */
#include "engine_test_util.h"

#define TOTAL_FRAMES 16384u

static const uint32_t block_sizes[] = {1, 7, 64, 512, 4096};

static void check_oversampling(const SprungModel *model, uint32_t oversampling)
{
    SprungEvent events[64];
    uint32_t n_events = test_network_events(events);
    size_t bytes = TOTAL_FRAMES * sizeof(float);
    float *ref_left = test_alloc(bytes), *ref_right = test_alloc(bytes);
    float *left = test_alloc(bytes), *right = test_alloc(bytes);

    SprungEngine *engine = test_engine(model, 48000.0, 4096, oversampling);
    CHECK(test_render(engine, events, n_events, TOTAL_FRAMES, 4096, ref_left, ref_right, 0),
          "process() failed");
    sprung_engine_free(engine);
    CHECK(test_peak(ref_left, TOTAL_FRAMES) > 1e-6 && test_peak(ref_right, TOTAL_FRAMES) > 1e-6,
          "oversampling %u: the reference render is silent", oversampling);
    /* The events must matter, or the comparisons below prove nothing. */
    CHECK(ref_left[1000] != ref_left[1010] && ref_left[9100] != 0.0f,
          "oversampling %u: the reference render does not move", oversampling);

    for (size_t b = 0; b < sizeof block_sizes / sizeof block_sizes[0]; b++) {
        engine = test_engine(model, 48000.0, 4096, oversampling);
        CHECK(test_render(engine, events, n_events, TOTAL_FRAMES, block_sizes[b], left, right, 0),
              "process() failed");
        sprung_engine_free(engine);
        int same = memcmp(left, ref_left, bytes) == 0 && memcmp(right, ref_right, bytes) == 0;
        size_t first = 0;
        while (first < TOTAL_FRAMES && left[first] == ref_left[first] &&
               right[first] == ref_right[first])
            first++;
        CHECK(same, "oversampling %u, blocks of %u: output differs from 4096-frame blocks "
                    "(first at frame %zu)", oversampling, block_sizes[b], first);
        printf("oversampling %u, blocks of %4u: %s\n", oversampling, block_sizes[b],
               same ? "bit-identical" : "DIFFERENT");
    }

    /* Sabotage: events at their block's start instead of their frame. */
    engine = test_engine(model, 48000.0, 4096, oversampling);
    CHECK(test_render(engine, events, n_events, TOTAL_FRAMES, 64, left, right, 1),
          "process() failed");
    sprung_engine_free(engine);
    CHECK(memcmp(left, ref_left, bytes) != 0,
          "oversampling %u: events moved to block starts went unnoticed", oversampling);

    free(ref_left);
    free(ref_right);
    free(left);
    free(right);
}

int main(void)
{
    SprungModel *model = test_model(test_network_json);
    check_oversampling(model, 1);
    check_oversampling(model, 2);
    check_oversampling(model, 4);
    sprung_model_free(model);
    if (test_failures) {
        fprintf(stderr, "%d check(s) failed\n", test_failures);
        return 1;
    }
    printf("engine blocks: ok\n");
    return 0;
}
