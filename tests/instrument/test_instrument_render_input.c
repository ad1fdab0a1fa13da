/* `sprung render --input FILE.wav`: a mono file feeds input channel 0, a
 * stereo file channels 0 and 1; a file at another sample rate is refused
 * with a clear message (no resampling). The preset (written here) has an
 * audio input on channel 0 heard on the left and one on channel 1 heard on
 * the right. The command's output equals an in-process render of the same
 * input bit for bit. Usage: test_instrument_render_input SPRUNG WORK_DIR */
#include <sys/stat.h>

#include "instrument_test_util.h"
#include "io/wav.h"

static const char PRESET[] =
    "{\"sprung\": 1, \"bodies\": [{\"id\": \"l\", \"position\": [0, 0, 0], \"mass\": 0.001},"
    " {\"id\": \"r\", \"position\": [1, 0, 0], \"mass\": 0.001}], \"anchors\": [{\"id\": \"a\","
    " \"position\": [0, 0, 0.1]}, {\"id\": \"b\", \"position\": [1, 0, 0.1]}], \"springs\": ["
    "{\"id\": \"s\", \"from\": \"a\", \"to\": \"l\", \"stiffness\": 3000, \"damping\": 0.002},"
    " {\"id\": \"t\", \"from\": \"b\", \"to\": \"r\", \"stiffness\": 5000, \"damping\": 0.002}],"
    " \"audio_inputs\": [{\"id\": \"in0\", \"target\": \"l\", \"direction\": [0, 0, 1],"
    " \"gain\": 0.02}, {\"id\": \"in1\", \"target\": \"r\", \"direction\": [0, 0, 1],"
    " \"gain\": 0.02, \"input\": 1}], \"microphones\": [{\"id\": \"ml\", \"target\": \"l\","
    " \"axis\": [0, 0, 1], \"signal\": \"velocity\", \"output\": 0}, {\"id\": \"mr\","
    " \"target\": \"r\", \"axis\": [0, 0, 1], \"signal\": \"velocity\", \"output\": 1}]}";

enum { FRAMES = 9600 };

static SprungAudio *run(const char *sprung, const char *dir, const char *input,
                        const char *extra, int *exit_code, char *log, size_t log_size)
{
    char command[8192], output[1024], log_path[1024];
    snprintf(output, sizeof output, "%s/out.wav", dir);
    snprintf(log_path, sizeof log_path, "%s/render.log", dir);
    snprintf(command, sizeof command,
             "'%s' render '%s/preset.json' --input '%s/%s' --duration 0.2 %s -o '%s' > '%s' 2>&1",
             sprung, dir, dir, input, extra, output, log_path);
    remove(output);
    int status = system(command);
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    FILE *f = fopen(log_path, "r");
    size_t n = f ? fread(log, 1, log_size - 1, f) : 0;
    log[n] = '\0';
    if (f)
        fclose(f);
    SprungAudio *audio = NULL;
    SprungError error;
    if (*exit_code == 0 && sprung_wav_read(output, &audio, &error) != SPRUNG_OK)
        fprintf(stderr, "FAIL: %s\n", error.message);
    return audio;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SPRUNG WORK_DIR\n", argv[0]);
        return 2;
    }
    const char *sprung = argv[1], *dir = argv[2];
    mkdir(dir, 0777);
    char path[1024];
    snprintf(path, sizeof path, "%s/preset.json", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(PRESET, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "FAIL: cannot write %s\n", path);
        return 1;
    }
    float *mono = calloc(FRAMES, sizeof *mono), *stereo = calloc(2 * FRAMES, sizeof *stereo);
    mono[100] = 0.5f;
    stereo[2 * 100] = 0.5f;      /* channel 0 at frame 100 */
    stereo[2 * 300 + 1] = 0.25f; /* channel 1 at frame 300 */
    SprungError error;
    snprintf(path, sizeof path, "%s/mono.wav", dir);
    CHECK(sprung_wav_write(path, mono, FRAMES, 1, 48000, &error) == SPRUNG_OK, "%s", error.message);
    snprintf(path, sizeof path, "%s/stereo.wav", dir);
    CHECK(sprung_wav_write(path, stereo, FRAMES, 2, 48000, &error) == SPRUNG_OK, "%s",
          error.message);
    snprintf(path, sizeof path, "%s/slow.wav", dir);
    CHECK(sprung_wav_write(path, mono, FRAMES, 1, 44100, &error) == SPRUNG_OK, "%s", error.message);

    char log[4096];
    int code;
    SprungAudio *a = run(sprung, dir, "mono.wav", "", &code, log, sizeof log);
    CHECK(code == 0 && a, "render --input mono.wav failed (%d): %s", code, log);
    if (a) {
        /* In-process reference: the same preset and input. */
        SprungModel *model = load_model(PRESET);
        float *input = calloc(2 * FRAMES, sizeof *input);
        input[100] = 0.5f;
        Render r = {.inputs = input, .n_inputs = 1, .n_channels = 2, .n_frames = FRAMES,
                    .block = 256};
        float *expected = render_model(model, 48000.0, 1, &r);
        size_t differ = 0;
        double left = 0.0, right = 0.0;
        for (size_t i = 0; i < FRAMES && i < a->n_frames; i++) {
            differ += a->samples[2 * i] != expected[i] || a->samples[2 * i + 1] != expected[FRAMES + i];
            left = fmax(left, fabs(a->samples[2 * i]));
            right = fmax(right, fabs(a->samples[2 * i + 1]));
        }
        printf("mono input: %zu frames, left peak %.4g, right peak %.4g, %zu frames differ from "
               "the in-process render\n", a->n_frames, left, right, differ);
        CHECK(a->n_frames == FRAMES && a->channels == 2, "output is %zu frames", a->n_frames);
        CHECK(left > 0.0 && right == 0.0, "mono file: left %.3g, right %.3g", left, right);
        CHECK(differ == 0, "render --input differs from the engine fed the same input");
        CHECK(a->samples[2 * 99] == 0.0f && a->samples[2 * 100] != 0.0f,
              "the impulse is not heard at its frame");
        free(expected);
        free(input);
        sprung_model_free(model);
        sprung_audio_free(a);
    }

    a = run(sprung, dir, "stereo.wav", "", &code, log, sizeof log);
    CHECK(code == 0 && a, "render --input stereo.wav failed (%d): %s", code, log);
    if (a) {
        size_t first_right = FRAMES;
        for (size_t i = 0; i < a->n_frames && first_right == FRAMES; i++)
            if (a->samples[2 * i + 1] != 0.0f)
                first_right = i;
        printf("stereo input: right channel starts at frame %zu\n", first_right);
        CHECK(first_right == 300, "channel 1 of the file is not input channel 1 (%zu)",
              first_right);
        sprung_audio_free(a);
    }

    a = run(sprung, dir, "stereo.wav", "--oversample 2", &code, log, sizeof log);
    CHECK(code == 0 && a, "render --input --oversample 2 failed (%d): %s", code, log);
    sprung_audio_free(a);

    a = run(sprung, dir, "slow.wav", "", &code, log, sizeof log);
    printf("44.1 kHz file at 48 kHz: exit %d: %s", code, log);
    CHECK(code == 1 && !a && strstr(log, "44100 Hz") && strstr(log, "does not resample"),
          "a file at another rate is not refused clearly (%d): %s", code, log);
    sprung_audio_free(a);
    free(mono);
    free(stereo);
    return finish("instrument_render_input");
}
