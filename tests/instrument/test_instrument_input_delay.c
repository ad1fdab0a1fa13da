/* Audio inputs, delay lines and microphone signals and routing:
 *  - an impulse in the input produces the same response as a mallet of
 *    equal impulse (normalised error below 1e-9);
 *  - a delay line: the echo appears exactly D = round(time·fs_e) steps later
 *    with gain (delay gain × the input's gain × the microphone's), and its
 *    feedback repeats it every D steps scaled by the feedback; a microphone
 *    routed to output channel 2 is heard there and only there;
 *  - a force microphone reads m·a (the net force of the step);
 *  - the microphone limit: SPRUNG_MODEL_MAX_MICROPHONES load, one more is
 *    refused with its own message. */
#include "instrument_test_util.h"

#define RATE 48000.0

static const char RESONATOR[] =
    "{\"sprung\": 1, \"bodies\": [{\"id\": \"b\", \"position\": [0, 0, 0], \"mass\": 0.001, "
    "\"drag\": 0.0001}], \"anchors\": [{\"id\": \"a\", \"position\": [0, 0, 0.1]}], "
    "\"springs\": [{\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": 4000}], "
    "\"mallets\": [{\"id\": \"m\", \"target\": \"b\", \"direction\": [1, 0, 0], "
    "\"strength\": %.17g, \"duration_ms\": 0.001}], "
    "\"audio_inputs\": [{\"id\": \"in\", \"target\": \"b\", \"direction\": [1, 0, 0], "
    "\"gain\": 2}], "
    "\"microphones\": [{\"id\": \"mic\", \"target\": \"b\", \"axis\": [1, 0, 0], "
    "\"gain\": 1000}]}";

static void check_input_equals_mallet(void)
{
    /* An input sample of 0.25 with gain 2 is 0.5 N for one step: an impulse
     * of 0.5·dt, the mallet's strength at velocity 127. */
    char json[2048];
    snprintf(json, sizeof json, RESONATOR, 0.5 / RATE);
    SprungModel *model = load_model(json);
    const size_t n = 24000;
    SprungEvent strike[] = {note_on(100, 60, 127)};
    Render with_mallet = {.events = strike, .n_events = 1, .n_channels = 2, .n_frames = n,
                          .block = 256};
    float *a = render_model(model, RATE, 1, &with_mallet);
    float *input = calloc(n, sizeof *input);
    input[100] = 0.25f;
    Render with_input = {.inputs = input, .n_inputs = 1, .n_channels = 2, .n_frames = n,
                         .block = 256};
    float *b = render_model(model, RATE, 1, &with_input);
    double error = 0.0, energy = 0.0;
    for (size_t i = 0; i < 2 * n; i++) {
        error += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        energy += (double)a[i] * a[i];
    }
    printf("input impulse vs mallet: peak %.4g, normalised error %.3g\n", peak(a, n),
           error / energy);
    CHECK(energy > 0.0 && error / energy < 1e-9, "input impulse differs from the mallet (%.3g)",
          error / energy);
    free(a);
    free(b);
    free(input);
    sprung_model_free(model);
}

static void check_delay(void)
{
    SprungModel *model = load_model(
        "{\"sprung\": 1, \"bodies\": [{\"id\": \"A\", \"position\": [0, 0, 0], \"mass\": 1}, "
        "{\"id\": \"B\", \"position\": [1, 0, 0], \"mass\": 1}], "
        "\"audio_inputs\": [{\"id\": \"inA\", \"target\": \"A\", \"direction\": [0, 0, 1], "
        "\"gain\": 1}, {\"id\": \"inB\", \"target\": \"B\", \"direction\": [0, 0, 1], "
        "\"gain\": 2, \"input\": \"none\"}], "
        "\"microphones\": [{\"id\": \"mA\", \"target\": \"A\", \"axis\": [0, 0, 1], "
        "\"signal\": \"force\", \"gain\": 0.5, \"output\": 2}, {\"id\": \"mB\", \"target\": \"B\", "
        "\"axis\": [0, 0, 1], \"signal\": \"force\", \"output\": 0}], "
        "\"delays\": [{\"id\": \"d\", \"from\": \"mA\", \"to\": \"inB\", \"time_ms\": 10.01, "
        "\"gain\": 0.25, \"feedback\": 0.5}]}");
    const size_t n = 4800, at = 100, D = 480; /* round(10.01 ms × 48 kHz) */
    float *input = calloc(n, sizeof *input);
    input[at] = 1.0f;
    Render r = {.inputs = input, .n_inputs = 1, .n_channels = 3, .n_frames = n, .block = 64};
    float *out = render_model(model, RATE, 1, &r);
    const float *echo = out, *right = out + n, *send = out + 2 * n;
    int exact = 1;
    for (size_t i = 0; i < n; i++) {
        double expected = 0.0;
        if (i >= at + D && (i - at) % D == 0)
            expected = 2.0 * 0.25 * 0.5 * pow(0.5, (double)((i - at) / D - 1));
        if (echo[i] != (float)expected || right[i] != 0.0f ||
            send[i] != (i == at ? 0.5f : 0.0f)) {
            if (exact)
                fprintf(stderr, "  step %zu: echo %.9g (expected %.9g), right %g, send %g\n", i,
                        echo[i], expected, right[i], send[i]);
            exact = 0;
        }
    }
    printf("delay: echoes at %zu, %zu, %zu steps of %.4g, %.4g, %.4g\n", at + D, at + 2 * D,
           at + 3 * D, echo[at + D], echo[at + 2 * D], echo[at + 3 * D]);
    CHECK(exact, "the delay line's echoes are not exactly D = %zu steps apart with the gains",
          D);
    free(out);
    free(input);
    sprung_model_free(model);
}

static void check_force_microphone(void)
{
    SprungModel *model = load_model(
        "{\"sprung\": 1, \"bodies\": [{\"id\": \"b\", \"position\": [0, 0, 0], \"mass\": 0.002, "
        "\"drag\": 0.001}, {\"id\": \"c\", \"position\": [0, 0, -0.1], \"mass\": 0.003}], "
        "\"anchors\": [{\"id\": \"a\", \"position\": [0, 0, 0.1]}], \"springs\": [{\"id\": \"s\", "
        "\"from\": \"a\", \"to\": \"b\", \"stiffness\": 3000, \"damping\": 0.01}, {\"id\": "
        "\"t\", \"from\": \"b\", \"to\": \"c\", \"stiffness\": 2000}], \"mallets\": [{\"id\": "
        "\"m\", \"target\": \"b\", \"direction\": [1, 0, 1], \"strength\": 0.001}], "
        "\"microphones\": [{\"id\": \"f\", \"target\": \"b\", \"axis\": [1, 0, 0], \"signal\": "
        "\"force\", \"output\": 0}, {\"id\": \"v\", \"target\": \"b\", \"axis\": [1, 0, 0], "
        "\"signal\": \"velocity\", \"output\": 1}]}");
    const size_t n = 4800;
    SprungEvent strike[] = {note_on(10, 60, 127)};
    Render r = {.events = strike, .n_events = 1, .n_channels = 2, .n_frames = n, .block = 100};
    float *out = render_model(model, RATE, 1, &r);
    double worst = 0.0, largest = peak(out, n);
    for (size_t i = 1; i < n; i++) {
        double ma = 0.002 * ((double)out[n + i] - out[n + i - 1]) * RATE;
        worst = fmax(worst, fabs(ma - out[i]));
    }
    printf("force microphone: peak %.4g N, worst |F - m·a| %.3g N\n", largest, worst);
    CHECK(largest > 0.0 && worst < 1e-3 * largest, "force microphone is not m·a (%.3g of %.3g)",
          worst, largest);
    free(out);
    sprung_model_free(model);
}

static char *many_microphones(unsigned count)
{
    size_t size = 200 + 100 * (size_t)count;
    char *json = malloc(size);
    size_t used = (size_t)snprintf(json, size, "{\"sprung\": 1, \"bodies\": [{\"id\": \"b\", "
                                               "\"position\": [0, 0, 0], \"mass\": 1}], "
                                               "\"microphones\": [");
    for (unsigned i = 0; i < count; i++)
        used += (size_t)snprintf(json + used, size - used,
                                 "%s{\"id\": \"m%u\", \"target\": \"b\", \"axis\": [1, 0, 0]}",
                                 i ? ", " : "", i);
    snprintf(json + used, size - used, "]}");
    return json;
}

static void check_microphone_limit(void)
{
    char *ok = many_microphones(SPRUNG_MODEL_MAX_MICROPHONES);
    char *too_many = many_microphones(SPRUNG_MODEL_MAX_MICROPHONES + 1);
    SprungModel *model = NULL;
    SprungError error;
    CHECK(sprung_model_load_string(ok, "many.json", &model, &error) == SPRUNG_OK,
          "%u microphones refused: %s", SPRUNG_MODEL_MAX_MICROPHONES, error.message);
    sprung_model_free(model);
    model = NULL;
    SprungStatus status = sprung_model_load_string(too_many, "many.json", &model, &error);
    printf("%u microphones: %s\n", SPRUNG_MODEL_MAX_MICROPHONES + 1, error.message);
    CHECK(status == SPRUNG_ERROR_INVALID_MODEL && strstr(error.message, "too many microphones") &&
              strcmp(error.path, "microphones") == 0,
          "%u microphones not refused clearly: %s", SPRUNG_MODEL_MAX_MICROPHONES + 1,
          error.message);
    free(ok);
    free(too_many);
}

int main(void)
{
    check_input_equals_mallet();
    check_delay();
    check_force_microphone();
    check_microphone_limit();
    return finish("instrument_input_delay");
}
