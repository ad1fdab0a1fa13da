/* WAV reading and writing with libsndfile (see wav.h). Float data is
 * written unscaled and unclipped, so the file holds exactly what the engine
 * produced, and without a time stamp, so equal renders give equal files. */
#include "io/wav.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "model/model.h"

struct SprungWavWriter {
    SNDFILE *file;
    char *path;
    unsigned channels;
};

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

/* Why sf_open failed: the system's words where the system refused
 * ("No such file or directory"; libsndfile would say "System error :
 * No such file or directory."), libsndfile's otherwise. Call it right
 * after the failed sf_open, with the errno it left. */
static const char *open_failure(int saved_errno)
{
    if (sf_error(NULL) == SF_ERR_SYSTEM && saved_errno)
        return strerror(saved_errno);
    return sf_strerror(NULL);
}

SprungStatus sprung_wav_writer_open(const char *path, unsigned channels, double sample_rate,
                                    SprungWavWriter **out, SprungError *error)
{
    if (out)
        *out = NULL;
    if (!path || !out || channels == 0 || channels > 1024)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, path, 0, 0, NULL,
                                "invalid arguments to sprung_wav_writer_open");
    if (!(sample_rate >= 1.0 && sample_rate <= 1e7) || sample_rate != floor(sample_rate))
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, path, 0, 0, NULL,
                                "sample rate %g Hz is not a positive whole number",
                                sample_rate);
    SF_INFO info = {.samplerate = (int)sample_rate,
                    .channels = (int)channels,
                    .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    if (!sf_format_check(&info))
        return sprung_error_set(error, SPRUNG_ERROR_UNSUPPORTED, path, 0, 0, NULL,
                                "libsndfile cannot write a %u-channel float WAV", channels);
    SprungWavWriter *writer = calloc(1, sizeof *writer);
    if (!writer || !(writer->path = copy_string(path))) {
        free(writer);
        return sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, path, 0, 0, NULL,
                                "out of memory");
    }
    errno = 0;
    writer->file = sf_open(path, SFM_WRITE, &info);
    if (!writer->file) {
        SprungStatus s = sprung_error_set(error, SPRUNG_ERROR_IO, path, 0, 0, NULL,
                                          "cannot write: %s", open_failure(errno));
        free(writer->path);
        free(writer);
        return s;
    }
    /* libsndfile adds a PEAK chunk with a time stamp to float files: leave
     * it out so the same render always gives the same bytes. */
    sf_command(writer->file, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
    writer->channels = channels;
    *out = writer;
    return SPRUNG_OK;
}

SprungStatus sprung_wav_writer_write(SprungWavWriter *writer, const float *interleaved,
                                     size_t n_frames, SprungError *error)
{
    if (!writer || (!interleaved && n_frames))
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                                "invalid arguments to sprung_wav_writer_write");
    while (n_frames > 0) {
        /* sf_count_t is signed 64-bit; write in bounded pieces anyway. */
        sf_count_t chunk = n_frames > (1u << 20) ? (1 << 20) : (sf_count_t)n_frames;
        sf_count_t written = sf_writef_float(writer->file, interleaved, chunk);
        if (written != chunk)
            return sprung_error_set(error, SPRUNG_ERROR_IO, writer->path, 0, 0, NULL,
                                    "write failed: %s", sf_strerror(writer->file));
        interleaved += (size_t)chunk * writer->channels;
        n_frames -= (size_t)chunk;
    }
    return SPRUNG_OK;
}

SprungStatus sprung_wav_writer_close(SprungWavWriter *writer, SprungError *error)
{
    if (!writer)
        return SPRUNG_OK;
    SprungStatus status = SPRUNG_OK;
    if (sf_close(writer->file) != 0)
        status = sprung_error_set(error, SPRUNG_ERROR_IO, writer->path, 0, 0, NULL,
                                  "closing failed (disk full?)");
    free(writer->path);
    free(writer);
    return status;
}

SprungStatus sprung_wav_write(const char *path, const float *interleaved, size_t n_frames,
                              unsigned channels, double sample_rate, SprungError *error)
{
    SprungWavWriter *writer;
    SprungStatus status = sprung_wav_writer_open(path, channels, sample_rate, &writer, error);
    if (status != SPRUNG_OK)
        return status;
    status = sprung_wav_writer_write(writer, interleaved, n_frames, error);
    if (status != SPRUNG_OK) {
        sprung_wav_writer_close(writer, NULL);
        return status;
    }
    return sprung_wav_writer_close(writer, error);
}

SprungStatus sprung_wav_read(const char *path, SprungAudio **out, SprungError *error)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, path, 0, 0, NULL,
                                "invalid arguments to sprung_wav_read");
    SF_INFO info = {0};
    errno = 0;
    SNDFILE *file = sf_open(path, SFM_READ, &info);
    if (!file)
        return sprung_error_set(error, SPRUNG_ERROR_IO, path, 0, 0, NULL, "cannot read: %s",
                                open_failure(errno));
    SprungStatus status = SPRUNG_OK;
    SprungAudio *audio = calloc(1, sizeof *audio);
    size_t n_samples = (size_t)info.frames * (size_t)info.channels;
    if (info.frames < 0 || info.channels <= 0 ||
        (uint64_t)info.frames > (SIZE_MAX / sizeof(float)) / (uint64_t)info.channels) {
        status = sprung_error_set(error, SPRUNG_ERROR_PARSE, path, 0, 0, NULL,
                                  "implausible size (%lld frames, %d channels)",
                                  (long long)info.frames, info.channels);
        goto fail;
    }
    if (!audio || !(audio->samples = malloc(n_samples ? n_samples * sizeof(float) : 1))) {
        status = sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, path, 0, 0, NULL,
                                  "out of memory");
        goto fail;
    }
    sf_count_t got = sf_readf_float(file, audio->samples, info.frames);
    if (got != info.frames) {
        status = sprung_error_set(error, SPRUNG_ERROR_IO, path, 0, 0, NULL,
                                  "read %lld of %lld frames: %s", (long long)got,
                                  (long long)info.frames, sf_strerror(file));
        goto fail;
    }
    audio->n_frames = (size_t)info.frames;
    audio->channels = (unsigned)info.channels;
    audio->sample_rate = info.samplerate;
    sf_close(file);
    *out = audio;
    return SPRUNG_OK;

fail:
    sf_close(file);
    sprung_audio_free(audio);
    return status;
}

void sprung_audio_free(SprungAudio *audio)
{
    if (!audio)
        return;
    free(audio->samples);
    free(audio);
}
