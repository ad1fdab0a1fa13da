/* Spectrogram (src/io/spectrogram.c): a 1 kHz tone that stops half way
 * draws a bright line at the 1 kHz row while it sounds and dark after, and
 * not at 100 Hz; the picture has the requested size. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "io/spectrogram.h"

static int failures = 0;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "FAIL: " __VA_ARGS__);                                             \
            fprintf(stderr, "\n");                                                             \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

/* Brightness (0..765) of the pixel at (x, y). */
static int brightness(cairo_surface_t *s, int x, int y)
{
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    uint32_t p = *(const uint32_t *)(const void *)(data + (size_t)y * stride + 4 * (size_t)x);
    return (int)((p >> 16) & 255) + (int)((p >> 8) & 255) + (int)(p & 255);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    char path[1024];
    snprintf(path, sizeof path, "%s/tone.png", dir);

    const double rate = 48000.0;
    const size_t frames = 96000; /* 2 s; the tone stops at 1 s */
    float *stereo = calloc(frames * 2, sizeof(float));
    for (size_t i = 0; i < frames / 2; i++) {
        float v = (float)(0.5 * sin(2.0 * M_PI * 1000.0 * i / rate));
        stereo[2 * i] = v;
        stereo[2 * i + 1] = v;
    }
    SprungSpectrogramConfig cfg = sprung_spectrogram_config_default();
    cfg.title = "1 kHz test tone";
    SprungError error = {0};
    SprungStatus s = sprung_spectrogram_write_png(path, stereo, frames, 2, rate, &cfg, &error);
    CHECK(s == SPRUNG_OK, "write: %s", error.message);

    cairo_surface_t *png = cairo_image_surface_create_from_png(path);
    CHECK(cairo_surface_status(png) == CAIRO_STATUS_SUCCESS, "PNG does not read back");
    if (cairo_surface_status(png) == CAIRO_STATUS_SUCCESS) {
        CHECK(cairo_image_surface_get_width(png) == 1200 &&
                  cairo_image_surface_get_height(png) == 600,
              "size %dx%d (expected 1200x600)", cairo_image_surface_get_width(png),
              cairo_image_surface_get_height(png));
        /* Layout of a 1200x600 picture (see spectrogram.c): plot from
         * x 78..1096, y 50..546, 20 Hz at the bottom, 24 kHz at the top. */
        int left = 78, top = 50, plot_w = 1200 - 78 - 104, plot_h = 600 - 50 - 54;
        double span = log(24000.0 / 20.0);
        int y1k = top + plot_h - (int)(plot_h * log(1000.0 / 20.0) / span);
        int y100 = top + plot_h - (int)(plot_h * log(100.0 / 20.0) / span);
        int x_on = left + plot_w / 4, x_off = left + 3 * plot_w / 4;
        /* The line is a pixel or two thick: look a few rows around it. */
        int on = 0, off = 0;
        for (int dy = -3; dy <= 3; dy++) {
            int b = brightness(png, x_on, y1k + dy);
            on = b > on ? b : on;
            b = brightness(png, x_off, y1k + dy);
            off = b > off ? b : off;
        }
        int low = brightness(png, x_on, y100);
        printf("1 kHz row: %d while sounding, %d after; 100 Hz row: %d\n", on, off, low);
        CHECK(on > 600, "1 kHz line not bright (%d)", on);
        CHECK(off < 200, "silence after the tone not dark (%d; the guide line alone is about 120)", off);
        CHECK(low < on / 2, "100 Hz row too bright (%d vs %d)", low, on);
    }
    cairo_surface_destroy(png);

    s = sprung_spectrogram_write_png("/nonexistent-dir/x.png", stereo, frames, 2, rate, &cfg,
                                     &error);
    CHECK(s == SPRUNG_ERROR_IO && strstr(error.message, "/nonexistent-dir/x.png"),
          "unwritable path names the file: %s", error.message);
    free(stereo);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("spectrogram: all checks passed\n");
    return 0;
}
