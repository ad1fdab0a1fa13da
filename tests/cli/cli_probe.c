/* Helper for test_cli.sh: prints what a WAV or PNG holds, so the shell
 * test can check lengths and sizes without other tools.
 *   cli_probe wav FILE  ->  "FRAMES CHANNELS RATE PEAK"
 *   cli_probe png FILE  ->  "WIDTH HEIGHT" */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cairo.h>

#include "io/wav.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: cli_probe wav|png FILE\n");
        return 2;
    }
    if (!strcmp(argv[1], "wav")) {
        SprungAudio *audio = NULL;
        SprungError error = {0};
        if (sprung_wav_read(argv[2], &audio, &error) != SPRUNG_OK) {
            fprintf(stderr, "%s\n", error.message);
            return 1;
        }
        double peak = 0.0;
        for (size_t i = 0; i < audio->n_frames * audio->channels; i++)
            if (fabs(audio->samples[i]) > peak)
                peak = fabs(audio->samples[i]);
        printf("%zu %u %.0f %.9g\n", audio->n_frames, audio->channels, audio->sample_rate, peak);
        sprung_audio_free(audio);
        return 0;
    }
    if (!strcmp(argv[1], "png")) {
        cairo_surface_t *png = cairo_image_surface_create_from_png(argv[2]);
        if (cairo_surface_status(png) != CAIRO_STATUS_SUCCESS) {
            fprintf(stderr, "%s: not a readable PNG\n", argv[2]);
            return 1;
        }
        printf("%d %d\n", cairo_image_surface_get_width(png), cairo_image_surface_get_height(png));
        cairo_surface_destroy(png);
        return 0;
    }
    fprintf(stderr, "cli_probe: unknown kind '%s'\n", argv[1]);
    return 2;
}
