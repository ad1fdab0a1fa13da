/* The table and JSON streams of `sprung bench` (see bench_output.h). */
#include "bench_output.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static int json_to_stdout(const char *json_path)
{
    return json_path && strcmp(json_path, "-") == 0;
}

FILE *bench_table_stream(const char *json_path)
{
    return json_to_stdout(json_path) ? stderr : stdout;
}

FILE *bench_json_open(const char *json_path)
{
    if (json_to_stdout(json_path))
        return stdout;
    FILE *out = fopen(json_path, "w");
    if (!out)
        fprintf(stderr, "sprung bench: cannot write %s: %s\n", json_path, strerror(errno));
    return out;
}

void bench_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void bench_json_number(FILE *out, double value)
{
    if (isfinite(value))
        fprintf(out, "%.6g", value);
    else
        fputs("null", out);
}

void bench_json_field_string(FILE *out, const char *key, const char *value)
{
    fprintf(out, ", \"%s\": ", key);
    bench_json_string(out, value);
}

void bench_json_field_number(FILE *out, const char *key, double value)
{
    fprintf(out, ", \"%s\": ", key);
    bench_json_number(out, value);
}
