/* Helpers shared by the physics tests (see physics_common.h). */
#include "physics_common.h"

#include <fftw3.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

void phys_json_add(PhysJson *json, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    va_list copy;
    va_copy(copy, args);
    int needed = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    if (json->length + (size_t)needed + 1 > json->capacity) {
        size_t capacity = json->capacity ? json->capacity : 1024;
        while (json->length + (size_t)needed + 1 > capacity)
            capacity *= 2;
        json->text = realloc(json->text, capacity);
        if (!json->text) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        json->capacity = capacity;
    }
    vsnprintf(json->text + json->length, json->capacity - json->length, format, args);
    json->length += (size_t)needed;
    va_end(args);
}

void phys_json_free(PhysJson *json)
{
    free(json->text);
    memset(json, 0, sizeof *json);
}

bool phys_check(bool condition, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs(condition ? "  ok:   " : "  FAIL: ", condition ? stdout : stderr);
    vfprintf(condition ? stdout : stderr, format, args);
    fputc('\n', condition ? stdout : stderr);
    va_end(args);
    if (!condition)
        failures++;
    return condition;
}

int phys_exit(const char *test_name)
{
    if (failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", test_name, failures);
        return 1;
    }
    printf("%s: all checks passed\n", test_name);
    return 0;
}

SprungModel *phys_load(const char *json, const char *source_name)
{
    SprungModel *model = NULL;
    SprungError error = {0};
    SprungStatus status = sprung_model_load_string(json, source_name, &model, &error);
    if (status != SPRUNG_OK) {
        fprintf(stderr, "FAIL: loading %s: %s (%s)\n", source_name, error.message,
                sprung_strerror(status));
        exit(1);
    }
    return model;
}

SprungEngine *phys_engine(const SprungModel *model, uint32_t oversampling)
{
    SprungEngineConfig config = sprung_engine_config_default();
    config.sample_rate = PHYS_FS;
    config.oversampling = oversampling;
    config.backend = "cpu"; /* physics is checked on the reference, the oracle */
    SprungEngine *engine = NULL;
    SprungError error = {0};
    SprungStatus status = sprung_engine_new(&config, model, &engine, &error);
    if (status != SPRUNG_OK) {
        fprintf(stderr, "FAIL: sprung_engine_new: %s (%s)\n", error.message,
                sprung_strerror(status));
        exit(1);
    }
    return engine;
}

void phys_render(SprungEngine *engine, uint32_t frames, uint32_t block, const SprungEvent *events,
                 uint32_t n_events, float *left, float *right)
{
    float *scratch_left = malloc(block * sizeof(float));
    float *scratch_right = malloc(block * sizeof(float));
    SprungEvent *block_events = malloc((n_events ? n_events : 1) * sizeof *block_events);
    if (!scratch_left || !scratch_right || !block_events) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    uint32_t next_event = 0;
    for (uint32_t start = 0; start < frames; start += block) {
        uint32_t n = frames - start < block ? frames - start : block;
        uint32_t count = 0;
        while (next_event < n_events && events[next_event].frame < start + n) {
            block_events[count] = events[next_event++];
            block_events[count].frame -= start;
            count++;
        }
        float *outputs[2] = {scratch_left, scratch_right};
        SprungBlock b = {.n_frames = n, .events = block_events, .n_events = count,
                         .outputs = outputs, .n_outputs = 2};
        SprungStatus status = sprung_engine_process(engine, &b);
        if (status != SPRUNG_OK) {
            fprintf(stderr, "FAIL: sprung_engine_process: %s\n", sprung_strerror(status));
            exit(1);
        }
        if (left)
            memcpy(left + start, scratch_left, n * sizeof(float));
        if (right)
            memcpy(right + start, scratch_right, n * sizeof(float));
    }
    free(scratch_left);
    free(scratch_right);
    free(block_events);
}

double phys_discrete_hz(double lambda, double fs)
{
    return fs / M_PI * asin(0.5 * sqrt(lambda) / fs);
}

double phys_continuous_hz(double lambda)
{
    return sqrt(lambda) / (2.0 * M_PI);
}

/* 4-term Blackman-Harris: sidelobes below -92 dB, so a neighbouring mode
 * (or the negative-frequency image) biases a peak by a negligible amount. */
static double *windowed(const float *x, uint32_t n)
{
    double *w = malloc(n * sizeof *w);
    if (!w) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (uint32_t k = 0; k < n; k++) {
        double phase = 2.0 * M_PI * k / (n - 1);
        double window = 0.35875 - 0.48829 * cos(phase) + 0.14128 * cos(2 * phase) -
                        0.01168 * cos(3 * phase);
        w[k] = window * x[k];
    }
    return w;
}

static double dtft_power(const double *wx, uint32_t n, double fs, double f)
{
    double omega = 2.0 * M_PI * f / fs;
    double step_re = cos(omega), step_im = -sin(omega);
    double p_re = 1.0, p_im = 0.0, acc_re = 0.0, acc_im = 0.0;
    for (uint32_t k = 0; k < n; k++) {
        acc_re += wx[k] * p_re;
        acc_im += wx[k] * p_im;
        double re = p_re * step_re - p_im * step_im;
        p_im = p_re * step_im + p_im * step_re;
        p_re = re;
        if ((k & 1023u) == 1023u) { /* exact restart keeps the phasor on the unit circle */
            p_re = cos(omega * (k + 1));
            p_im = -sin(omega * (k + 1));
        }
    }
    return acc_re * acc_re + acc_im * acc_im;
}

static double golden_max(const double *wx, uint32_t n, double fs, double lo, double hi)
{
    const double ratio = 0.6180339887498949;
    double a = lo, b = hi;
    double c = b - ratio * (b - a), d = a + ratio * (b - a);
    double fc = dtft_power(wx, n, fs, c), fd = dtft_power(wx, n, fs, d);
    for (int it = 0; it < 48; it++) {
        if (fc > fd) {
            b = d;
            d = c;
            fd = fc;
            c = b - ratio * (b - a);
            fc = dtft_power(wx, n, fs, c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + ratio * (b - a);
            fd = dtft_power(wx, n, fs, d);
        }
    }
    return 0.5 * (a + b);
}

double phys_refine_peak(const float *x, uint32_t n, double fs, double lo_hz, double hi_hz)
{
    double *wx = windowed(x, n);
    double f = golden_max(wx, n, fs, lo_hz, hi_hz);
    free(wx);
    return f;
}

uint32_t phys_find_peaks(const float *x, uint32_t n, double fs, double floor_db, double *peaks_hz,
                         uint32_t max_peaks)
{
    double *wx = windowed(x, n);
    uint32_t bins = n / 2 + 1;
    double *in = fftw_malloc(n * sizeof *in);
    fftw_complex *out = fftw_malloc(bins * sizeof *out);
    double *power = malloc(bins * sizeof *power);
    if (!in || !out || !power) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    fftw_plan plan = fftw_plan_dft_r2c_1d((int)n, in, out, FFTW_ESTIMATE);
    memcpy(in, wx, n * sizeof *in);
    fftw_execute(plan);
    double strongest = 0.0;
    for (uint32_t k = 0; k < bins; k++) {
        power[k] = out[k][0] * out[k][0] + out[k][1] * out[k][1];
        if (power[k] > strongest)
            strongest = power[k];
    }
    double floor_power = strongest * pow(10.0, floor_db / 10.0);
    uint32_t count = 0;
    double bin_hz = fs / n;
    for (uint32_t k = 2; k + 2 < bins && count < max_peaks; k++) {
        if (power[k] >= floor_power && power[k] > power[k - 1] && power[k] >= power[k + 1])
            peaks_hz[count++] = golden_max(wx, n, fs, (k - 1) * bin_hz, (k + 1) * bin_hz);
    }
    fftw_destroy_plan(plan);
    fftw_free(in);
    fftw_free(out);
    free(power);
    free(wx);
    return count;
}
