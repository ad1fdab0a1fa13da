/* Spectrogram PNGs (see spectrogram.h): Hann-windowed STFT with fftw3f,
 * one picture column per time slice (the loudest of the overlapping frames
 * in it, so short strikes are never skipped), rows on a log-frequency axis,
 * colours from a magma-like perceptual map computed from a few control
 * points, axes and a colour bar drawn with cairo. */
#include "io/spectrogram.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <fftw3.h>

#include "model/model.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Layout, in pixels of a 1200×600 picture; scaled for other sizes. */
#define LAYOUT_LEFT 78
#define LAYOUT_RIGHT 104
#define LAYOUT_TOP 50
#define LAYOUT_BOTTOM 54

SprungSpectrogramConfig sprung_spectrogram_config_default(void)
{
    return (SprungSpectrogramConfig){
        .width = 1200, .height = 600, .min_hz = 20.0, .range_db = 100.0, .title = NULL};
}

/* A perceptual dark-to-light map (purple, red, orange, pale yellow) in the
 * spirit of matplotlib's magma: lightness rises monotonically, so louder is
 * always brighter, also in greyscale. Linear interpolation between stops. */
static void colour_map(double t, double rgb[3])
{
    static const double stops[][3] = {
        {0.001, 0.000, 0.014}, {0.090, 0.059, 0.247}, {0.267, 0.063, 0.451},
        {0.447, 0.122, 0.506}, {0.627, 0.176, 0.486}, {0.812, 0.251, 0.400},
        {0.945, 0.376, 0.365}, {0.992, 0.573, 0.408}, {0.996, 0.769, 0.529},
        {0.988, 0.992, 0.749},
    };
    const int n = (int)(sizeof stops / sizeof stops[0]);
    if (!(t > 0.0))
        t = 0.0;
    if (t > 1.0)
        t = 1.0;
    double x = t * (n - 1);
    int i = (int)x;
    if (i >= n - 1)
        i = n - 2;
    double f = x - i;
    for (int c = 0; c < 3; c++)
        rgb[c] = stops[i][c] + f * (stops[i + 1][c] - stops[i][c]);
}

/* How each picture row reads the spectrum: interpolate between two bins
 * where bins are wider than a pixel, take the loudest bin where many bins
 * share one pixel. */
typedef struct RowMap {
    int bin_low, bin_high; /* inclusive range for the max */
    double frac;           /* interpolation weight of bin_low + 1 */
    int interpolate;
} RowMap;

static void format_hz(double hz, char *out, size_t size)
{
    if (hz >= 1000.0)
        snprintf(out, size, "%gk", hz / 1000.0);
    else
        snprintf(out, size, "%g", hz);
}

/* A step of 1, 2 or 5 × 10^k giving about `target` ticks over `span`. */
static double nice_step(double span, double target)
{
    double raw = span / target;
    double power = pow(10.0, floor(log10(raw)));
    double steps[] = {1.0, 2.0, 2.5, 5.0, 10.0};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i] * power >= raw)
            return steps[i] * power;
    return 10.0 * power;
}

static void text_at(cairo_t *cr, double x, double y, const char *text, double align_x,
                    double align_y)
{
    cairo_text_extents_t ext;
    cairo_text_extents(cr, text, &ext);
    cairo_move_to(cr, x - ext.x_bearing - align_x * ext.width,
                  y - ext.y_bearing - align_y * ext.height);
    cairo_show_text(cr, text);
}

/* Computes the picture's dB values (plot_w × plot_h, row-major from the
 * top), relative to nothing yet; returns the peak in *peak_db. */
static int compute_columns(const float *mono, size_t n_frames, double sample_rate, int plot_w,
                           int plot_h, double min_hz, float *pixels, double *peak_db)
{
    int fft_size = 256;
    while (fft_size < sample_rate / 12.0 && fft_size < 16384)
        fft_size *= 2;
    int n_bins = fft_size / 2 + 1;
    double bin_hz = sample_rate / fft_size;

    float *window = fftwf_malloc(sizeof(float) * (size_t)fft_size);
    float *frame = fftwf_malloc(sizeof(float) * (size_t)fft_size);
    fftwf_complex *spectrum = fftwf_malloc(sizeof(fftwf_complex) * (size_t)n_bins);
    float *column_power = malloc(sizeof(float) * (size_t)n_bins);
    RowMap *rows = malloc(sizeof(RowMap) * (size_t)plot_h);
    fftwf_plan plan = NULL;
    int ok = window && frame && spectrum && column_power && rows;
    if (ok) {
        plan = fftwf_plan_dft_r2c_1d(fft_size, frame, spectrum, FFTW_ESTIMATE);
        ok = plan != NULL;
    }
    if (!ok)
        goto done;

    for (int i = 0; i < fft_size; i++)
        window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / fft_size));

    double max_hz = sample_rate / 2.0;
    double ratio = max_hz / min_hz;
    for (int y = 0; y < plot_h; y++) {
        double u_low = (double)(plot_h - 1 - y) / plot_h;
        double u_high = (double)(plot_h - y) / plot_h;
        double f_low = min_hz * pow(ratio, u_low), f_high = min_hz * pow(ratio, u_high);
        double f_mid = min_hz * pow(ratio, 0.5 * (u_low + u_high));
        RowMap *r = &rows[y];
        if ((f_high - f_low) / bin_hz < 1.0) {
            double k = f_mid / bin_hz;
            r->interpolate = 1;
            r->bin_low = (int)floor(k);
            if (r->bin_low > n_bins - 2)
                r->bin_low = n_bins - 2;
            r->frac = k - r->bin_low;
            r->bin_high = r->bin_low + 1;
        } else {
            r->interpolate = 0;
            r->bin_low = (int)ceil(f_low / bin_hz);
            r->bin_high = (int)floor(f_high / bin_hz);
            if (r->bin_high >= n_bins)
                r->bin_high = n_bins - 1;
            if (r->bin_low > r->bin_high)
                r->bin_low = r->bin_high;
        }
    }

    /* 75 % overlap, or denser when the sound is short for the picture. */
    size_t hop = (size_t)fft_size / 4;
    if (n_frames / (size_t)plot_w < hop)
        hop = n_frames / (size_t)plot_w > 0 ? n_frames / (size_t)plot_w : 1;

    double peak = -DBL_MAX;
    for (int x = 0; x < plot_w; x++) {
        size_t s0 = (size_t)((double)x * n_frames / plot_w);
        size_t s1 = (size_t)((double)(x + 1) * n_frames / plot_w);
        for (int k = 0; k < n_bins; k++)
            column_power[k] = 0.0f;
        size_t first = s0, count = s1 > s0 ? (s1 - s0 + hop - 1) / hop : 1;
        if (s1 <= s0)
            first = s0;
        for (size_t j = 0; j < count; j++) {
            long long centre = (long long)(first + j * hop);
            long long start = centre - fft_size / 2;
            for (int i = 0; i < fft_size; i++) {
                long long s = start + i;
                float v = (s >= 0 && s < (long long)n_frames) ? mono[s] : 0.0f;
                frame[i] = v * window[i];
            }
            fftwf_execute(plan);
            for (int k = 0; k < n_bins; k++) {
                float p = spectrum[k][0] * spectrum[k][0] + spectrum[k][1] * spectrum[k][1];
                if (p > column_power[k])
                    column_power[k] = p;
            }
        }
        for (int y = 0; y < plot_h; y++) {
            const RowMap *r = &rows[y];
            double p;
            if (r->interpolate) {
                p = (1.0 - r->frac) * column_power[r->bin_low] +
                    r->frac * column_power[r->bin_high];
            } else {
                p = 0.0;
                for (int k = r->bin_low; k <= r->bin_high; k++)
                    if (column_power[k] > p)
                        p = column_power[k];
            }
            double db = 10.0 * log10(p + 1e-30);
            pixels[(size_t)y * plot_w + x] = (float)db;
            if (db > peak)
                peak = db;
        }
    }
    *peak_db = peak;

done:
    if (plan)
        fftwf_destroy_plan(plan);
    fftwf_free(window);
    fftwf_free(frame);
    fftwf_free(spectrum);
    free(column_power);
    free(rows);
    return ok;
}

SprungStatus sprung_spectrogram_write_png(const char *path, const float *interleaved,
                                          size_t n_frames, unsigned channels,
                                          double sample_rate,
                                          const SprungSpectrogramConfig *config,
                                          SprungError *error)
{
    SprungSpectrogramConfig cfg = config ? *config : sprung_spectrogram_config_default();
    if (!path || (!interleaved && n_frames) || channels == 0 || !(sample_rate > 0.0))
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, path, 0, 0, NULL,
                                "invalid arguments to sprung_spectrogram_write_png");
    if (cfg.width < 300 || cfg.height < 200 || cfg.width > 16384 || cfg.height > 16384)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, path, 0, 0, NULL,
                                "picture size %d×%d out of range (300×200 to 16384×16384)",
                                cfg.width, cfg.height);
    if (!(cfg.min_hz > 0.0) || cfg.min_hz >= sample_rate / 2.0)
        cfg.min_hz = sample_rate / 2.0 / 1000.0;
    if (!(cfg.range_db > 0.0))
        cfg.range_db = 100.0;

    double scale = cfg.height / 600.0;
    int left = (int)(LAYOUT_LEFT * scale), right = (int)(LAYOUT_RIGHT * scale);
    int top = (int)(LAYOUT_TOP * scale), bottom = (int)(LAYOUT_BOTTOM * scale);
    int plot_w = cfg.width - left - right, plot_h = cfg.height - top - bottom;

    SprungStatus status = SPRUNG_OK;
    float *mono = malloc(sizeof(float) * (n_frames ? n_frames : 1));
    float *pixels = malloc(sizeof(float) * (size_t)plot_w * (size_t)plot_h);
    cairo_surface_t *surface = NULL, *plot = NULL;
    cairo_t *cr = NULL;
    if (!mono || !pixels) {
        status = sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, path, 0, 0, NULL,
                                  "out of memory");
        goto done;
    }
    double peak_sample = 0.0;
    for (size_t i = 0; i < n_frames; i++) {
        double sum = 0.0;
        for (unsigned c = 0; c < channels; c++) {
            double v = interleaved[i * channels + c];
            sum += v;
            if (fabs(v) > peak_sample)
                peak_sample = fabs(v);
        }
        mono[i] = (float)(sum / channels);
    }

    double peak_db = 0.0;
    if (!compute_columns(mono, n_frames, sample_rate, plot_w, plot_h, cfg.min_hz, pixels,
                         &peak_db)) {
        status = sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, path, 0, 0, NULL,
                                  "out of memory (FFT)");
        goto done;
    }
    int silent = !(peak_sample > 0.0);

    /* The plot itself, pixel by pixel. */
    plot = cairo_image_surface_create(CAIRO_FORMAT_RGB24, plot_w, plot_h);
    surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, cfg.width, cfg.height);
    if (cairo_surface_status(plot) != CAIRO_STATUS_SUCCESS ||
        cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        status = sprung_error_set(error, SPRUNG_ERROR_NO_MEMORY, path, 0, 0, NULL,
                                  "cannot create a %d×%d picture", cfg.width, cfg.height);
        goto done;
    }
    cairo_surface_flush(plot);
    unsigned char *data = cairo_image_surface_get_data(plot);
    int stride = cairo_image_surface_get_stride(plot);
    for (int y = 0; y < plot_h; y++) {
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)y * stride);
        for (int x = 0; x < plot_w; x++) {
            double t = silent ? 0.0
                              : 1.0 + (pixels[(size_t)y * plot_w + x] - peak_db) / cfg.range_db;
            double rgb[3];
            colour_map(t, rgb);
            row[x] = ((uint32_t)lround(rgb[0] * 255) << 16) |
                     ((uint32_t)lround(rgb[1] * 255) << 8) | (uint32_t)lround(rgb[2] * 255);
        }
    }
    cairo_surface_mark_dirty(plot);

    cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 0.075, 0.075, 0.09);
    cairo_paint(cr);
    cairo_set_source_surface(cr, plot, left, top);
    cairo_paint(cr);

    const double text_grey = 0.88, tick_len = 6 * scale;
    double font = 13.0 * scale;
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, font);
    cairo_set_line_width(cr, 1.0);

    /* Frequency axis: musicians' round numbers, with faint guide lines. */
    static const double ticks_hz[] = {20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000};
    double max_hz = sample_rate / 2.0;
    double log_span = log(max_hz / cfg.min_hz);
    for (size_t i = 0; i < sizeof ticks_hz / sizeof ticks_hz[0]; i++) {
        double hz = ticks_hz[i];
        if (hz < cfg.min_hz * 0.999 || hz > max_hz * 1.001)
            continue;
        double y = top + plot_h - plot_h * log(hz / cfg.min_hz) / log_span;
        y = floor(y) + 0.5;
        cairo_set_source_rgba(cr, 1, 1, 1, 0.16);
        cairo_move_to(cr, left, y);
        cairo_line_to(cr, left + plot_w, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, text_grey, text_grey, text_grey);
        cairo_move_to(cr, left - tick_len, y);
        cairo_line_to(cr, left, y);
        cairo_stroke(cr);
        char label[16];
        format_hz(hz, label, sizeof label);
        text_at(cr, left - tick_len - 4 * scale, y, label, 1.0, 0.5);
    }
    cairo_save(cr);
    cairo_translate(cr, 18 * scale, top + plot_h / 2.0);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, "Frequency (Hz)", 0.5, 0.5);
    cairo_restore(cr);

    /* Time axis. */
    double duration = n_frames / sample_rate;
    if (duration > 0.0) {
        double step = nice_step(duration, 10.0);
        for (int i = 0;; i++) {
            double t = i * step;
            if (t > duration * 1.0001)
                break;
            double x = floor(left + plot_w * t / duration) + 0.5;
            cairo_set_source_rgb(cr, text_grey, text_grey, text_grey);
            cairo_move_to(cr, x, top + plot_h);
            cairo_line_to(cr, x, top + plot_h + tick_len);
            cairo_stroke(cr);
            char label[32];
            snprintf(label, sizeof label, "%g", round(t * 1000.0) / 1000.0);
            text_at(cr, x, top + plot_h + tick_len + 4 * scale, label, 0.5, 0.0);
        }
    }
    text_at(cr, left + plot_w / 2.0, cfg.height - 8 * scale, "Time (s)", 0.5, 1.0);

    /* Frame around the plot. */
    cairo_set_source_rgba(cr, 1, 1, 1, 0.5);
    cairo_rectangle(cr, left - 0.5, top - 0.5, plot_w + 1, plot_h + 1);
    cairo_stroke(cr);

    /* Colour bar: 0 dB (the peak) at the top. */
    double bar_x = cfg.width - right + 22 * scale, bar_w = 16 * scale;
    for (int y = 0; y < plot_h; y++) {
        double rgb[3];
        colour_map(1.0 - (y + 0.5) / plot_h, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle(cr, bar_x, top + y, bar_w, 1);
        cairo_fill(cr);
    }
    cairo_set_source_rgba(cr, 1, 1, 1, 0.5);
    cairo_rectangle(cr, bar_x - 0.5, top - 0.5, bar_w + 1, plot_h + 1);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, text_grey, text_grey, text_grey);
    double db_step = cfg.range_db > 60 ? 20.0 : 10.0;
    for (double db = 0.0; db >= -cfg.range_db - 1e-9; db -= db_step) {
        double y = floor(top + plot_h * (-db / cfg.range_db)) + 0.5;
        cairo_move_to(cr, bar_x + bar_w, y);
        cairo_line_to(cr, bar_x + bar_w + tick_len * 0.7, y);
        cairo_stroke(cr);
        char label[16];
        snprintf(label, sizeof label, "%g", db == 0.0 ? 0.0 : db);
        text_at(cr, bar_x + bar_w + tick_len + 3 * scale, y, label, 0.0, 0.5);
    }
    text_at(cr, bar_x + bar_w / 2, top - 8 * scale, "dB", 0.5, 1.0);

    /* Title and a line of facts. */
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 18.0 * scale);
    cairo_set_source_rgb(cr, 0.97, 0.97, 0.97);
    text_at(cr, left, top - 14 * scale, cfg.title && cfg.title[0] ? cfg.title : "Spectrogram",
            0.0, 1.0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, font);
    cairo_set_source_rgb(cr, 0.7, 0.7, 0.72);
    char facts[160];
    if (silent)
        snprintf(facts, sizeof facts, "%.2f s at %g Hz · silent", duration, sample_rate);
    else
        snprintf(facts, sizeof facts, "%.2f s at %g Hz · peak %.1f dBFS · colours relative to "
                 "the loudest point",
                 duration, sample_rate, 20.0 * log10(peak_sample));
    text_at(cr, left + plot_w, top - 14 * scale, facts, 1.0, 1.0);

    cairo_surface_flush(surface);
    cairo_status_t written = cairo_surface_write_to_png(surface, path);
    if (written != CAIRO_STATUS_SUCCESS)
        status = sprung_error_set(error, SPRUNG_ERROR_IO, path, 0, 0, NULL, "cannot write: %s",
                                  cairo_status_to_string(written));

done:
    if (cr)
        cairo_destroy(cr);
    if (plot)
        cairo_surface_destroy(plot);
    if (surface)
        cairo_surface_destroy(surface);
    free(mono);
    free(pixels);
    return status;
}
