/* Where `sprung bench` writes, for the CPU benchmark (bench.c) and the GPU
 * one (bench_gpu.c) alike: the table, the JSON of --json FILE|- and how
 * JSON values are spelled, so both reports read the same way. Command
 * thread only. */
#ifndef SPRUNG_APP_BENCH_OUTPUT_H
#define SPRUNG_APP_BENCH_OUTPUT_H

#include <stdio.h>

#include "sprung/status.h"

/* Room for why a row was not measured: a short prefix ("engine: ") and a
 * whole SprungError message, so the JSON never holds half a reason. */
#define BENCH_MAX_ERROR (sizeof(((SprungError *)0)->message) + 32)

/* The table's stream: stdout, or stderr when the JSON goes to stdout
 * (json_path "-"), so that stdout holds nothing but the JSON. */
FILE *bench_table_stream(const char *json_path);

/* The JSON's stream: stdout for "-", else `json_path` opened for writing;
 * NULL after printing "sprung bench: cannot write PATH: why". */
FILE *bench_json_open(const char *json_path);

/* A JSON string literal; quotes, backslashes and control characters
 * escaped. */
void bench_json_string(FILE *out, const char *s);

/* A JSON number, or null for NaN and infinities (JSON has neither). */
void bench_json_number(FILE *out, double value);

/* `, "key": value`: a member after the first of a JSON object, so that a
 * report's fields read one to a line. */
void bench_json_field_string(FILE *out, const char *key, const char *value);
void bench_json_field_number(FILE *out, const char *key, double value);

#endif
