/* WAV round trip (src/io/wav.c): float samples, including values beyond
 * ±1 and tiny ones, come back bit for bit for 1, 2 and 3 channels, written
 * in one go and streamed in uneven pieces; errors name the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/wav.h"

static int failures = 0;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "FAIL: " __VA_ARGS__);                                             \
            fprintf(stderr, "\n");                                                             \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

static void round_trip(const char *dir, unsigned channels, double rate, int streamed)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/roundtrip-%u-%s.wav", dir, channels,
             streamed ? "stream" : "whole");
    const size_t frames = 1000;
    float *data = malloc(sizeof(float) * frames * channels);
    for (size_t i = 0; i < frames * channels; i++)
        data[i] = (float)((double)(i % 97) / 13.0 - 3.5) * (i % 5 == 0 ? 1e-30f : 1.0f);
    data[0] = 2.5f;
    data[1 % (frames * channels)] = -1.75f;

    SprungError error = {0};
    SprungStatus s;
    if (streamed) {
        SprungWavWriter *w = NULL;
        s = sprung_wav_writer_open(path, channels, rate, &w, &error);
        size_t done = 0, piece = 1;
        while (s == SPRUNG_OK && done < frames) {
            size_t n = piece < frames - done ? piece : frames - done;
            s = sprung_wav_writer_write(w, data + done * channels, n, &error);
            done += n;
            piece = piece * 3 + 1;
        }
        SprungStatus c = sprung_wav_writer_close(w, &error);
        if (s == SPRUNG_OK)
            s = c;
    } else {
        s = sprung_wav_write(path, data, frames, channels, rate, &error);
    }
    CHECK(s == SPRUNG_OK, "write %s: %s", path, error.message);

    SprungAudio *audio = NULL;
    s = sprung_wav_read(path, &audio, &error);
    CHECK(s == SPRUNG_OK, "read %s: %s", path, error.message);
    if (s == SPRUNG_OK) {
        CHECK(audio->n_frames == frames, "%s: %zu frames (expected %zu)", path, audio->n_frames,
              frames);
        CHECK(audio->channels == channels, "%s: %u channels (expected %u)", path,
              audio->channels, channels);
        CHECK(audio->sample_rate == rate, "%s: rate %g (expected %g)", path, audio->sample_rate,
              rate);
        if (audio->n_frames == frames && audio->channels == channels)
            CHECK(memcmp(audio->samples, data, sizeof(float) * frames * channels) == 0,
                  "%s: samples differ after the round trip", path);
    }
    sprung_audio_free(audio);
    free(data);
    remove(path);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    round_trip(dir, 1, 44100, 0);
    round_trip(dir, 2, 48000, 0);
    round_trip(dir, 2, 96000, 1);
    round_trip(dir, 3, 22050, 1);

    SprungError error = {0};
    float one = 0.5f;
    SprungStatus s = sprung_wav_write("/nonexistent-dir/out.wav", &one, 1, 2, 48000, &error);
    CHECK(s == SPRUNG_ERROR_IO, "unwritable path gives SPRUNG_ERROR_IO (%d)", s);
    CHECK(strstr(error.message, "/nonexistent-dir/out.wav") != NULL,
          "write error names the file: %s", error.message);
    s = sprung_wav_write("x.wav", &one, 1, 2, 44100.5, &error);
    CHECK(s == SPRUNG_ERROR_INVALID_ARGUMENT, "fractional sample rate rejected (%d)", s);

    SprungAudio *audio = NULL;
    s = sprung_wav_read("/nonexistent-dir/in.wav", &audio, &error);
    CHECK(s == SPRUNG_ERROR_IO && audio == NULL, "missing file gives SPRUNG_ERROR_IO (%d)", s);
    CHECK(strstr(error.message, "/nonexistent-dir/in.wav") != NULL,
          "read error names the file: %s", error.message);

    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("wav round trip: all checks passed\n");
    return 0;
}
