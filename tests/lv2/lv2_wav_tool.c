/* Small WAV helper for the LV2 host tests (test_lv2apply.sh):
 *   lv2_wav_tool make OUT.wav FRAMES       a stereo 32-bit float test signal
 *                                          (a 330 Hz sine and a 0.01 s click train)
 *   lv2_wav_tool compare A.wav B.wav TOL [FROM]
 *                                          same channels, frames and rate, and every
 *                                          sample from frame FROM (default 0) on
 *                                          within TOL (0: bit-equal)
 * Exit 0 when it holds, 1 (with the reason) when not. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/wav.h"
#include "sprung/sprung.h"

static int make(const char *path, size_t frames)
{
    float *x = malloc(sizeof(float) * 2 * frames);
    for (size_t i = 0; i < frames; i++) {
        x[2 * i] = 0.3f * sinf((float)(2.0 * M_PI * 330.0 * (double)i / 48000.0));
        x[2 * i + 1] = i % 480 == 0 ? 0.5f : 0.0f;
    }
    SprungError error = {0};
    SprungStatus status = sprung_wav_write(path, x, frames, 2, 48000.0, &error);
    free(x);
    if (status != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s\n", error.message);
        return 1;
    }
    return 0;
}

static int compare(const char *a_path, const char *b_path, double tolerance, size_t from)
{
    SprungError error = {0};
    SprungAudio *a = NULL, *b = NULL;
    if (sprung_wav_read(a_path, &a, &error) != SPRUNG_OK ||
        sprung_wav_read(b_path, &b, &error) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: %s\n", error.message);
        return 1;
    }
    int rc = 0;
    if (a->channels != b->channels || a->n_frames != b->n_frames ||
        a->sample_rate != b->sample_rate) {
        fprintf(stderr, "FAIL: %s: %u channels, %zu frames, %.0f Hz; %s: %u, %zu, %.0f Hz\n",
                a_path, a->channels, a->n_frames, a->sample_rate, b_path, b->channels,
                b->n_frames, b->sample_rate);
        rc = 1;
    } else {
        double worst = 0.0, peak = 0.0;
        size_t at = 0;
        for (size_t i = from * a->channels; i < a->n_frames * a->channels; i++) {
            double d = fabs((double)a->samples[i] - b->samples[i]);
            peak = fmax(peak, fabs((double)a->samples[i]));
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        printf("%s vs %s: %u channels, %zu frames at %.0f Hz, peak %.3g, largest difference "
               "%.3g from frame %zu (allowed %.3g)\n",
               a_path, b_path, a->channels, a->n_frames, a->sample_rate, peak, worst, from, tolerance);
        if (worst > tolerance) {
            fprintf(stderr, "FAIL: sample %zu (frame %zu) differs by %g\n", at,
                    at / a->channels, worst);
            rc = 1;
        }
    }
    sprung_audio_free(a);
    sprung_audio_free(b);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "make"))
        return make(argv[2], (size_t)strtoul(argv[3], NULL, 10));
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "compare"))
        return compare(argv[2], argv[3], atof(argv[4]),
                       argc == 6 ? (size_t)strtoul(argv[5], NULL, 10) : 0);
    fprintf(stderr, "usage: %s make OUT.wav FRAMES | compare A.wav B.wav TOLERANCE [FROM_FRAME]\n", argv[0]);
    return 2;
}
