/* WAV files through libsndfile: 32-bit float output, written in one go or
 * streamed block by block, and reading any WAV back as float. Control
 * thread (or the offline renderer's loop) only: these do file I/O. */
#ifndef SPRUNG_IO_WAV_H
#define SPRUNG_IO_WAV_H

#include <stddef.h>

#include "sprung/status.h"

/* Interleaved float audio in memory. */
typedef struct SprungAudio {
    float *samples;       /* n_frames × channels, interleaved */
    size_t n_frames;
    unsigned channels;
    double sample_rate;
} SprungAudio;

typedef struct SprungWavWriter SprungWavWriter;

/* Creates (or truncates) `path` as a 32-bit float WAV. The sample rate must
 * be a positive whole number of Hz. */
SprungStatus sprung_wav_writer_open(const char *path, unsigned channels, double sample_rate,
                                    SprungWavWriter **out, SprungError *error);
SprungStatus sprung_wav_writer_write(SprungWavWriter *writer, const float *interleaved,
                                     size_t n_frames, SprungError *error);
/* Finishes the header and frees the writer (also when it fails). */
SprungStatus sprung_wav_writer_close(SprungWavWriter *writer, SprungError *error);

/* Open, write, close. */
SprungStatus sprung_wav_write(const char *path, const float *interleaved, size_t n_frames,
                              unsigned channels, double sample_rate, SprungError *error);

/* Reads a whole audio file (any format libsndfile reads) as float. */
SprungStatus sprung_wav_read(const char *path, SprungAudio **out, SprungError *error);
void sprung_audio_free(SprungAudio *audio);

#endif
