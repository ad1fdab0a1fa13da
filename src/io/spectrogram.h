/* Spectrogram pictures: a PNG (cairo) of the short-time spectrum of a
 * rendered sound, on a log-frequency axis with a dB colour scale, meant to
 * be read by a musician at a glance. Control thread only. */
#ifndef SPRUNG_IO_SPECTROGRAM_H
#define SPRUNG_IO_SPECTROGRAM_H

#include <stddef.h>

#include "sprung/status.h"

typedef struct SprungSpectrogramConfig {
    int width;           /* whole picture, pixels */
    int height;
    double min_hz;       /* bottom of the frequency axis; the top is Nyquist */
    double range_db;     /* colours span [-range_db, 0] dB relative to the peak */
    const char *title;   /* e.g. the preset name; may be NULL */
} SprungSpectrogramConfig;

/* 1200×600, 20 Hz, 100 dB, no title. */
SprungSpectrogramConfig sprung_spectrogram_config_default(void);

/* Draws `interleaved` (n_frames × channels; channels are averaged) and
 * writes it to `path` as PNG. */
SprungStatus sprung_spectrogram_write_png(const char *path, const float *interleaved,
                                          size_t n_frames, unsigned channels,
                                          double sample_rate,
                                          const SprungSpectrogramConfig *config,
                                          SprungError *error);

#endif
