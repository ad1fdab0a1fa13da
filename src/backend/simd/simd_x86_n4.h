/* 4-float node vectors on SSE (every x86-64 has it), for the per-node phase
 * of the x86 kernels (simd_sse2.c, simd_avx2.c, simd_avx512.c). Private to
 * src/backend/simd/. */
#ifndef SPRUNG_BACKEND_SIMD_X86_N4_H
#define SPRUNG_BACKEND_SIMD_X86_N4_H

#include <immintrin.h>

typedef __m128 N4;
#define N4_LOAD(p) _mm_load_ps(p)
#define N4_STORE(p, a) _mm_store_ps((p), (a))
#define N4_ADD(a, b) _mm_add_ps((a), (b))
#define N4_SUB(a, b) _mm_sub_ps((a), (b))
#define N4_MUL(a, b) _mm_mul_ps((a), (b))
#define N4_SET1(x) _mm_set1_ps(x)
#define N4_SET3(x, y, z) _mm_setr_ps((x), (y), (z), 0.0f)
#define N4_ZERO() _mm_setzero_ps()

#endif
