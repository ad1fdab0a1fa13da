/* The AVX-512 kernels' own source (simd_avx512.c) built a second time with
 * its intrinsics emulated in plain C (simd_avx512_emulation.h), as the
 * instruction set "avx512-emulated". On a CPU without AVX-512 (most that
 * CI runs on) this is what runs the sixteen-lane code against the
 * reference: the lattice's runs and patched slots of sixteen, the gathers,
 * the record transposes, the masks, the alignment of every aligned load and
 * store. What it cannot check is the compiler's translation of the real
 * intrinsics and the CPU itself, nor their speed (docs/benchmarks.md, "On
 * an AVX-512 CPU": the gathers it ran happily were slow on the hardware).
 *
 * Slow (each intrinsic a loop of sixteen) and never picked on its own: only
 * SPRUNG_SIMD_ISA=avx512-emulated selects it (simd_backend.c). Compiled for
 * the x86-64 baseline, without -mavx512f. */

/* 64-byte vectors passed between this file's static functions only: the
 * calling convention the warning is about never meets other code. */
#pragma GCC diagnostic ignored "-Wpsabi"

#include "backend/simd/simd_avx512_emulation.h"

#define SIMD_AVX512_KERNELS sprung_simd_avx512_emulated
#define SIMD_AVX512_NAME "avx512-emulated"
#define SIMD_AVX512_NAMED_ONLY 1
#include "backend/simd/simd_avx512.c"
