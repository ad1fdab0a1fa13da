/* Mallets: a free body (no springs) struck once ends with velocity J/m along
 * the mallet's direction, J = strength·velocity/127; note ranges, note-offs,
 * velocity-0 note-ons and channels behave as documented; re-strikes beyond
 * the 4 pulse slots replace the oldest pulse; microphones read g·(v·â),
 * panned with equal power. */
#include "engine_test_util.h"

#define MASS 0.25
#define STRENGTH 0.5

static const char *const free_body_json =
    "{'sprung': 1, 'name': 'free-body',"
    " 'bodies': [{'id': 'b', 'position': [1, 2, 3], 'mass': 0.25}],"
    " 'mallets': ["
    "  {'id': 'long', 'target': 'b', 'direction': [1, 2, 2], 'strength': 0.5, 'duration_ms': 2,"
    "   'notes': [60, 60]},"
    "  {'id': 'short', 'target': 'b', 'direction': [0, 0, -3], 'strength': 0.5,"
    "   'duration_ms': 0.001, 'notes': [61, 61]}],"
    " 'microphones': [{'id': 'mic', 'target': 'b', 'axis': [2, 0, 0], 'signal': 'velocity',"
    "                  'gain': 2}]}";

/* Renders n frames with the given events in one block, returns the body's
 * velocity afterwards. */
static void strike(SprungEngine *engine, const SprungEvent *events, uint32_t n_events,
                   uint32_t n_frames, float *left, float *right, double velocity[3])
{
    sprung_engine_reset(engine);
    CHECK(test_render(engine, events, n_events, n_frames, n_frames, left, right, 0),
          "process() failed");
    const SprungState *state = sprung_engine_state(engine);
    velocity[0] = state->vx[0];
    velocity[1] = state->vy[0];
    velocity[2] = state->vz[0];
}

static int close_to(double actual, double expected, double relative, double scale)
{
    return fabs(actual - expected) <= relative * scale;
}

static void check_oversampling(const SprungModel *model, uint32_t oversampling)
{
    SprungEngine *engine = test_engine(model, 48000.0, 1024, oversampling);
    const SprungCompiled *compiled = sprung_engine_compiled(engine);
    float left[1024], right[1024];
    double v[3];
    const double j100 = STRENGTH * 100.0 / 127.0;
    const double dir[3] = {1.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0};
    const double tolerance = 1e-5; /* float accumulation over a 2 ms pulse */

    CHECK(compiled->mallet_steps[0] == (uint32_t)lround(2e-3 * 48000.0 * oversampling),
          "long pulse: %u steps", compiled->mallet_steps[0]);
    CHECK(compiled->mallet_steps[1] == 1, "short pulse: %u steps", compiled->mallet_steps[1]);

    /* One strike, long pulse: v = J/m along (1,2,2)/3. */
    SprungEvent hit = test_note_on(5, 60, 100);
    strike(engine, &hit, 1, 400, left, right, v);
    for (int a = 0; a < 3; a++)
        CHECK(close_to(v[a], j100 / MASS * dir[a], tolerance, j100 / MASS),
              "oversampling %u: v[%d] = %.9g, expected %.9g", oversampling, a, v[a],
              j100 / MASS * dir[a]);
    /* Nothing before the event's frame; the pulse acts from its first step. */
    CHECK(left[4] == 0.0f && left[5] != 0.0f, "oversampling %u: pulse starts at the wrong frame",
          oversampling);
    /* Velocity microphone, gain 2, pan 0: both channels 2·cos(π/4)·v_x. */
    double expected_mic = 2.0 * cos(M_PI / 4.0) * v[0];
    CHECK(close_to(left[399], expected_mic, 1e-6, fabs(expected_mic)) &&
              close_to(right[399], expected_mic, 1e-6, fabs(expected_mic)),
          "oversampling %u: microphone %g/%g, expected %g", oversampling, left[399], right[399],
          expected_mic);

    /* One-step pulse (N = 1): the whole impulse in the event's first step. */
    SprungEvent tap = test_note_on(0, 61, 127);
    strike(engine, &tap, 1, 1, left, right, v);
    CHECK(v[0] == 0.0 && v[1] == 0.0 &&
              close_to(v[2], -STRENGTH / MASS, 1e-6, STRENGTH / MASS),
          "oversampling %u: one-step pulse gives v = (%g, %g, %g)", oversampling, v[0], v[1],
          v[2]);

    /* Notes outside every range, note-offs, velocity-0 note-ons: no motion.
     * Channel 9 strikes like channel 0. */
    SprungEvent nothing[4] = {test_note_on(0, 59, 127), test_note_on(1, 62, 127),
                              test_note_off(2, 60), test_note_on(3, 60, 0)};
    strike(engine, nothing, 4, 200, left, right, v);
    CHECK(v[0] == 0.0 && v[1] == 0.0 && v[2] == 0.0, "oversampling %u: stray motion",
          oversampling);
    SprungEvent channel9 = test_note_on(0, 60, 100);
    channel9.channel = 9;
    strike(engine, &channel9, 1, 400, left, right, v);
    CHECK(close_to(v[0], j100 / MASS * dir[0], tolerance, j100 / MASS),
          "oversampling %u: channel 9 does not strike", oversampling);

    /* Five strikes in one frame: four slots, the fifth replaces the first
     * before it has run a step. Total impulse 4J. */
    SprungEvent five[5];
    for (int k = 0; k < 5; k++)
        five[k] = test_note_on(0, 60, 127);
    strike(engine, five, 5, 400, left, right, v);
    CHECK(close_to(v[0], 4.0 * STRENGTH / MASS * dir[0], tolerance, 4.0 * STRENGTH / MASS),
          "oversampling %u: five strikes at once: v_x = %.9g, expected %.9g", oversampling,
          v[0], 4.0 * STRENGTH / MASS * dir[0]);

    /* Five strikes one frame apart: the fifth replaces the first after it
     * ran `oversampling` frames' worth of steps. */
    for (int k = 0; k < 5; k++)
        five[k] = test_note_on((uint32_t)k, 60, 127);
    strike(engine, five, 5, 400, left, right, v);
    double partial = 0.0; /* impulse fraction the first pulse delivered */
    for (uint32_t k = 0; k < 4 * oversampling; k++)
        partial += (double)compiled->mallet_shape[compiled->mallet_shape_offset[0] + k] *
                   compiled->dt;
    double expected = (4.0 + partial) * STRENGTH / MASS * dir[0];
    CHECK(close_to(v[0], expected, tolerance, 4.0 * STRENGTH / MASS),
          "oversampling %u: ring replacement: v_x = %.9g, expected %.9g", oversampling, v[0],
          expected);

    /* The shape table sums to one impulse. */
    double sum = 0.0;
    for (uint32_t k = 0; k < compiled->mallet_steps[0]; k++)
        sum += (double)compiled->mallet_shape[compiled->mallet_shape_offset[0] + k] * compiled->dt;
    CHECK(fabs(sum - 1.0) < 1e-6, "oversampling %u: shape sums to %.9g", oversampling, sum);

    printf("oversampling %u: v after one strike = J/m within %.1e\n", oversampling, tolerance);
    sprung_engine_free(engine);
}

int main(void)
{
    SprungModel *model = test_model(free_body_json);
    check_oversampling(model, 1);
    check_oversampling(model, 2);
    check_oversampling(model, 4);
    sprung_model_free(model);
    if (test_failures) {
        fprintf(stderr, "%d check(s) failed\n", test_failures);
        return 1;
    }
    printf("engine mallet: ok\n");
    return 0;
}
