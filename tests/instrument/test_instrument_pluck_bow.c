/* Plucks and bows on a test string (string_model.h):
 * pluck: the plectrum pushes the string and lets go (its contact state goes
 *   back to idle within 20 ms), the string then rings at its fundamental
 *   (the analysis of the same string without the pluck, within 1 %) and
 *   keeps ringing (the second half second is at least a third as loud as
 *   the first);
 * bow: while held, a sustained oscillation at the string's fundamental
 *   (within 3 %, the last 0.2 s of the note at least half as loud as the
 *   0.2 s before), with stick-slip: the relative velocity of body and bow
 *   sits within 2·v_eps of 0 for at least 20 % of the time and exceeds half
 *   the bow speed for at least 10 %; after note-off it decays (1 s later
 *   more than 20 dB down). */
#include "instrument_test_util.h"
#include "string_model.h"

#define RATE 48000.0

static double string_fundamental(void)
{
    char *json = string_model("\"microphones\": [{\"id\": \"m\", \"target\": \"b10\", "
                              "\"axis\": [0, 1, 0]}]", 0.0);
    SprungModel *model = load_model(json);
    SprungAnalysis analysis;
    sprung_model_analyze(model, RATE, &analysis);
    sprung_model_free(model);
    free(json);
    return analysis.lowest_mode_hz;
}

static void check_pluck(double f1)
{
    char *json = string_model(
        "\"plucks\": [{\"id\": \"p\", \"target\": \"b4\", \"direction\": [0, 1, 0], "
        "\"strength\": 0.05, \"stiffness\": 5000, \"speed\": 0.1}], "
        "\"microphones\": [{\"id\": \"m\", \"target\": \"b10\", \"axis\": [0, 1, 0], "
        "\"gain\": 1000}]", 0.00002);
    SprungModel *model = load_model(json);
    SprungEngine *engine = make_engine(model, RATE, 1, 480);
    const size_t n = 48000;
    float *out = calloc(2 * n, sizeof *out);
    SprungEvent events[] = {note_on(0, 60, 127)};
    Render first = {.events = events, .n_events = 1, .n_channels = 2, .n_frames = 960,
                    .block = 480};
    render_into(engine, &first, out);
    /* Parameters of the 20 ms just rendered: released? */
    const SprungState *state = sprung_engine_state(engine);
    CHECK(state->exciter_contact[0] == 0, "the plectrum still holds the string after 20 ms");
    float *rest = calloc(2 * (n - 960), sizeof *rest);
    Render more = {.n_channels = 2, .n_frames = n - 960, .block = 480};
    render_into(engine, &more, rest);
    memcpy(out + 960, rest, (n - 960) * sizeof *out);
    double early = rms(out + 2400, 21600), late = rms(out + 24000, 24000);
    double f = dominant_frequency(out + 4800, 32768, RATE, 0.8 * f1, 1.2 * f1);
    printf("pluck: fundamental %.3f Hz (string %.3f Hz), rms %.3g then %.3g, peak %.3g\n", f, f1,
           early, late, peak(out, n));
    CHECK(fabs(f / f1 - 1.0) < 0.01, "plucked string at %.3f Hz, not %.3f", f, f1);
    CHECK(early > 1e-3, "the pluck is silent (rms %.3g)", early);
    CHECK(late > early / 3.0, "the string does not ring after the release");
    free(out);
    free(rest);
    sprung_engine_free(engine);
    sprung_model_free(model);
    free(json);
}

static void check_bow(double f1)
{
    const double speed = 0.1, stick = 0.01, force = 0.02, drag = 0.0005;
    char extra[1024];
    snprintf(extra, sizeof extra,
             "\"bows\": [{\"id\": \"bow\", \"target\": \"b3\", \"direction\": [0, 1, 0], "
             "\"force\": %g, \"speed\": %g, \"static_friction\": 0.8, "
             "\"dynamic_friction\": 0.3, \"slip_velocity\": 0.1, \"stick_velocity\": %g, "
             "\"attack_ms\": 20, \"release_ms\": 20}], "
             "\"microphones\": [{\"id\": \"m\", \"target\": \"b10\", \"axis\": [0, 1, 0], "
             "\"gain\": 1000, \"output\": 0}, {\"id\": \"v\", \"target\": \"b3\", "
             "\"axis\": [0, 1, 0], \"signal\": \"velocity\", \"output\": 1}]",
             force, speed, stick);
    char *json = string_model(extra, drag);
    SprungModel *model = load_model(json);
    const size_t n = 120000, off = 48000;
    SprungEvent events[] = {note_on(0, 60, 127), note_off(off, 60)};
    Render r = {.events = events, .n_events = 2, .n_channels = 2, .n_frames = n, .block = 512};
    float *out = render_model(model, RATE, 1, &r);
    const float *sound = out, *velocity = out + n;
    double f = dominant_frequency(sound + 24000, 24000, RATE, 0.7 * f1, 1.3 * f1);
    double before = rms(sound + off - 19200, 9600), last = rms(sound + off - 9600, 9600);
    double after = rms(sound + off + 48000, 9600);
    size_t sticking = 0, slipping = 0, window = 24000;
    for (size_t i = off - window; i < off; i++) {
        double relative = velocity[i] - speed;
        sticking += fabs(relative) < 2.0 * stick;
        slipping += fabs(relative) > 0.5 * speed;
    }
    printf("bow: %.3f Hz (string %.3f Hz), rms %.3g then %.3g while held, %.3g 1 s after "
           "note-off; sticking %.0f %%, slipping %.0f %% of the time\n",
           f, f1, before, last, after, 100.0 * sticking / window, 100.0 * slipping / window);
    CHECK(fabs(f / f1 - 1.0) < 0.03, "bowed string at %.3f Hz, not near %.3f", f, f1);
    CHECK(last > 1e-3, "the bowed string is silent (rms %.3g)", last);
    CHECK(last > 0.5 * before, "the bowed oscillation is not sustained (%.3g then %.3g)", before,
          last);
    CHECK(after < 0.1 * last, "no decay after note-off (%.3g then %.3g)", last, after);
    CHECK(sticking > window / 5, "no sticking phase (%zu of %zu steps)", sticking, window);
    CHECK(slipping > window / 10, "no slipping phase (%zu of %zu steps)", slipping, window);
    free(out);
    sprung_model_free(model);
    free(json);
}

int main(void)
{
    double f1 = string_fundamental();
    check_pluck(f1);
    check_bow(f1);
    return finish("instrument_pluck_bow");
}
