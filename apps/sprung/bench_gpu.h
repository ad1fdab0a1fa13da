/* `sprung bench --backend opencl|cuda`: the GPU backends' benchmarks
 * (apps/sprung/bench_gpu.c). Command thread only. */
#ifndef SPRUNG_APP_BENCH_GPU_H
#define SPRUNG_APP_BENCH_GPU_H

/* Measures backend `backend` ("opencl", "opencl:1", "cuda", ...): per-block
 * overhead (launch to result, minus the kernel's device time) p50/p99/p999
 * over `blocks` blocks (10,000 for a measurement; --quick passes 200) at 64,
 * 128 and 512 frames for every launch variant, and the real-time factor
 * against model size from 100 to 1,000,000 springs. Prints a table to
 * stdout (stderr when the JSON goes to stdout) and JSON to `json_path`
 * ("-": stdout; NULL: none). With `voices`, then the voices sweep
 * (bench_voices.h; JSON key "voices"). Returns the exit code: 0, 1 when a
 * measurement failed, 2 when the backend cannot run here. */
int sprung_bench_gpu(const char *backend, const char *json_path, int quick, int voices);

#endif
