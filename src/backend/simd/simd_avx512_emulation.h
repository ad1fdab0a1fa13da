/* The AVX-512F and DQ intrinsics that simd_avx512.c uses, emulated lane by lane in
 * plain C to the semantics of Intel's intrinsics guide, for
 * simd_avx512_emulated.c only. Include it before simd_avx512.c: it takes
 * the vector types from <immintrin.h> and then redefines each intrinsic's
 * name to its emulation, so the kernels' source runs unchanged on a CPU
 * without AVX-512. An intrinsic it lacks stays the compiler's, which will
 * not build without -mavx512f: a new one cannot slip through unemulated.
 *
 * Like the hardware, the aligned loads and stores stop the program on an
 * address that is not 64-byte aligned (32 for the 256-bit load). Private
 * to src/backend/simd/. */
#ifndef SPRUNG_BACKEND_SIMD_AVX512_EMULATION_H
#define SPRUNG_BACKEND_SIMD_AVX512_EMULATION_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMU512_LANES 16

/* One register's bits, seen as floats or as 32-bit integers. */
typedef union Emu512 {
    __m512 f;
    __m512i i;
    float lane[EMU512_LANES];
    uint32_t bits[EMU512_LANES];
} Emu512;

static inline Emu512 emu512_ps(__m512 a) { return (Emu512){.f = a}; }
static inline Emu512 emu512_si(__m512i a) { return (Emu512){.i = a}; }

/* vmovaps / vmovdqa32 raise #GP on an address not aligned to 64 bytes:
 * stop as the CPU would, saying why (the emulation is for tests only). */
static inline void emu512_check_aligned(const void *p)
{
    if ((uintptr_t)p % 64) {
        fprintf(stderr, "avx512-emulated: aligned load or store at %p, not 64-byte aligned: "
                        "an AVX-512 CPU faults here\n", p);
        abort();
    }
}

static inline __m512 emu512_load_ps(const void *p)
{
    emu512_check_aligned(p);
    Emu512 r;
    memcpy(r.lane, p, sizeof r.lane);
    return r.f;
}

static inline __m512 emu512_loadu_ps(const void *p)
{
    Emu512 r;
    memcpy(r.lane, p, sizeof r.lane);
    return r.f;
}

static inline __m512i emu512_loadu_si512(const void *p)
{
    Emu512 r;
    memcpy(r.bits, p, sizeof r.bits);
    return r.i;
}

static inline void emu512_store_ps(void *p, __m512 a)
{
    emu512_check_aligned(p);
    Emu512 v = emu512_ps(a);
    memcpy(p, v.lane, sizeof v.lane);
}

static inline void emu512_storeu_ps(void *p, __m512 a)
{
    Emu512 v = emu512_ps(a);
    memcpy(p, v.lane, sizeof v.lane);
}

static inline __m512 emu512_set1_ps(float x)
{
    Emu512 r;
    for (int i = 0; i < EMU512_LANES; ++i)
        r.lane[i] = x;
    return r.f;
}

static inline __m512 emu512_setzero_ps(void) { return emu512_set1_ps(0.0f); }

static inline __m512 emu512_castsi512_ps(__m512i a) { return emu512_si(a).f; }
static inline __m512i emu512_castps_si512(__m512 a) { return emu512_ps(a).i; }

/* The float operations, each IEEE-754 single precision rounded to nearest
 * (as the hardware under the default MXCSR; the flush-to-zero bits, if
 * set, apply to these scalar operations alike). */
#define EMU512_FLOAT_OP(name, expression)                                                     \
    static inline __m512 emu512_##name(__m512 a, __m512 b)                                    \
    {                                                                                         \
        Emu512 x = emu512_ps(a), y = emu512_ps(b), r;                                         \
        for (int i = 0; i < EMU512_LANES; ++i)                                                \
            r.lane[i] = (expression);                                                         \
        return r.f;                                                                           \
    }
EMU512_FLOAT_OP(add_ps, x.lane[i] + y.lane[i])
EMU512_FLOAT_OP(sub_ps, x.lane[i] - y.lane[i])
EMU512_FLOAT_OP(mul_ps, x.lane[i] * y.lane[i])
EMU512_FLOAT_OP(div_ps, x.lane[i] / y.lane[i])
#undef EMU512_FLOAT_OP

static inline __m512 emu512_sqrt_ps(__m512 a)
{
    Emu512 x = emu512_ps(a), r;
    for (int i = 0; i < EMU512_LANES; ++i)
        r.lane[i] = sqrtf(x.lane[i]);
    return r.f;
}

static inline __m512i emu512_xor_si512(__m512i a, __m512i b)
{
    Emu512 x = emu512_si(a), y = emu512_si(b), r;
    for (int i = 0; i < EMU512_LANES; ++i)
        r.bits[i] = x.bits[i] ^ y.bits[i];
    return r.i;
}

/* The two predicates the kernels use, both ordered and quiet: false when
 * either lane is NaN. Bit i of the mask is lane i. */
static inline __mmask16 emu512_cmp_gt_oq(__m512 a, __m512 b)
{
    Emu512 x = emu512_ps(a), y = emu512_ps(b);
    unsigned mask = 0;
    for (int i = 0; i < EMU512_LANES; ++i)
        mask |= (unsigned)(x.lane[i] > y.lane[i]) << i;
    return (__mmask16)mask;
}

static inline __mmask16 emu512_cmp_eq_oq(__m512 a, __m512 b)
{
    Emu512 x = emu512_ps(a), y = emu512_ps(b);
    unsigned mask = 0;
    for (int i = 0; i < EMU512_LANES; ++i)
        mask |= (unsigned)(x.lane[i] == y.lane[i]) << i;
    return (__mmask16)mask;
}

/* Lane i from b where mask bit i is set, else from a. */
static inline __m512 emu512_mask_blend_ps(__mmask16 mask, __m512 a, __m512 b)
{
    Emu512 x = emu512_ps(a), y = emu512_ps(b), r;
    for (int i = 0; i < EMU512_LANES; ++i)
        r.lane[i] = (mask >> i & 1u) ? y.lane[i] : x.lane[i];
    return r.f;
}

/* Lane i from base + index[i] × scale bytes (index signed). */
static inline __m512 emu512_i32gather_ps(__m512i index, const void *base, int scale)
{
    Emu512 at = emu512_si(index), r;
    for (int i = 0; i < EMU512_LANES; ++i)
        memcpy(&r.lane[i], (const char *)base + (int64_t)(int32_t)at.bits[i] * scale,
               sizeof(float));
    return r.f;
}

/* 256-bit halves, for the records loaded two at a time: a plain struct,
 * not __m256, which a file built without AVX cannot pass by value without
 * gcc's ABI warning (an error under -Werror, and not one a pragma can
 * silence). The kernels never name the type: a half goes straight from
 * the load into the cast or the insert. */
typedef struct Emu256 {
    float lane[EMU512_LANES / 2];
} Emu256;

static inline Emu256 emu256_load_ps(const void *p)
{
    if ((uintptr_t)p % 32) {
        fprintf(stderr, "avx512-emulated: aligned 256-bit load at %p, not 32-byte aligned: "
                        "the CPU faults here\n", p);
        abort();
    }
    Emu256 r;
    memcpy(r.lane, p, sizeof r.lane);
    return r;
}

/* The upper half is undefined on the hardware; zero here. */
static inline __m512 emu512_castps256_ps512(Emu256 a)
{
    Emu512 r = emu512_ps(emu512_setzero_ps());
    memcpy(r.lane, a.lane, sizeof a.lane);
    return r.f;
}

/* a with its half `half` (0 low, 1 high) replaced by b. */
static inline __m512 emu512_insertf32x8(__m512 a, Emu256 b, int half)
{
    Emu512 r = emu512_ps(a);
    memcpy(r.lane + 8 * (half & 1), b.lane, sizeof b.lane);
    return r.f;
}

/* In every 128-bit lane k: {a0, b0, a1, b1} (lo) or {a2, b2, a3, b3} (hi). */
static inline __m512 emu512_unpack_ps(__m512 a, __m512 b, int high)
{
    Emu512 x = emu512_ps(a), y = emu512_ps(b), r;
    for (int k = 0; k < EMU512_LANES; k += 4) {
        int from = k + 2 * high;
        r.lane[k] = x.lane[from];
        r.lane[k + 1] = y.lane[from];
        r.lane[k + 2] = x.lane[from + 1];
        r.lane[k + 3] = y.lane[from + 1];
    }
    return r.f;
}

/* In every 128-bit lane: two floats of a, then two of b, chosen by the
 * 2-bit fields of imm. */
static inline __m512 emu512_shuffle_ps(__m512 a, __m512 b, int imm)
{
    Emu512 x = emu512_ps(a), y = emu512_ps(b), r;
    for (int k = 0; k < EMU512_LANES; k += 4) {
        r.lane[k] = x.lane[k + (imm & 3)];
        r.lane[k + 1] = x.lane[k + (imm >> 2 & 3)];
        r.lane[k + 2] = y.lane[k + (imm >> 4 & 3)];
        r.lane[k + 3] = y.lane[k + (imm >> 6 & 3)];
    }
    return r.f;
}

/* Two 128-bit lanes of a, then two of b, chosen by the 2-bit fields of imm. */
static inline __m512 emu512_shuffle_f32x4(__m512 a, __m512 b, int imm)
{
    Emu512 x = emu512_ps(a), y = emu512_ps(b), r;
    for (int k = 0; k < 4; ++k) {
        const Emu512 *from = k < 2 ? &x : &y;
        memcpy(r.lane + 4 * k, from->lane + 4 * (imm >> (2 * k) & 3), 4 * sizeof(float));
    }
    return r.f;
}

/* The intrinsics' names, from here on, are the emulations. Some are macros
 * in the compiler's headers (those with immediate operands), hence the
 * #undef. A comparison predicate other than the two emulated ones pastes
 * to a name that does not exist: a build error, not a wrong result. */
#undef _mm512_load_ps
#undef _mm512_loadu_ps
#undef _mm512_loadu_si512
#undef _mm512_store_ps
#undef _mm512_storeu_ps
#undef _mm512_set1_ps
#undef _mm512_setzero_ps
#undef _mm512_castsi512_ps
#undef _mm512_castps_si512
#undef _mm512_add_ps
#undef _mm512_sub_ps
#undef _mm512_mul_ps
#undef _mm512_div_ps
#undef _mm512_sqrt_ps
#undef _mm512_xor_si512
#undef _mm512_cmp_ps_mask
#undef _mm512_mask_blend_ps
#undef _mm512_i32gather_ps
#undef _mm256_load_ps
#undef _mm512_castps256_ps512
#undef _mm512_insertf32x8
#undef _mm512_unpacklo_ps
#undef _mm512_unpackhi_ps
#undef _mm512_shuffle_ps
#undef _mm512_shuffle_f32x4
#define _mm512_load_ps emu512_load_ps
#define _mm512_loadu_ps emu512_loadu_ps
#define _mm512_loadu_si512 emu512_loadu_si512
#define _mm512_store_ps emu512_store_ps
#define _mm512_storeu_ps emu512_storeu_ps
#define _mm512_set1_ps emu512_set1_ps
#define _mm512_setzero_ps emu512_setzero_ps
#define _mm512_castsi512_ps emu512_castsi512_ps
#define _mm512_castps_si512 emu512_castps_si512
#define _mm512_add_ps emu512_add_ps
#define _mm512_sub_ps emu512_sub_ps
#define _mm512_mul_ps emu512_mul_ps
#define _mm512_div_ps emu512_div_ps
#define _mm512_sqrt_ps emu512_sqrt_ps
#define _mm512_xor_si512 emu512_xor_si512
#define _mm512_cmp_ps_mask(a, b, predicate) emu512_cmp_##predicate(a, b)
#define emu512_cmp__CMP_GT_OQ emu512_cmp_gt_oq
#define emu512_cmp__CMP_EQ_OQ emu512_cmp_eq_oq
#define _mm512_mask_blend_ps emu512_mask_blend_ps
#define _mm512_i32gather_ps emu512_i32gather_ps
#define _mm256_load_ps emu256_load_ps
#define _mm512_castps256_ps512 emu512_castps256_ps512
#define _mm512_insertf32x8 emu512_insertf32x8
#define _mm512_unpacklo_ps(a, b) emu512_unpack_ps((a), (b), 0)
#define _mm512_unpackhi_ps(a, b) emu512_unpack_ps((a), (b), 1)
#define _mm512_shuffle_ps emu512_shuffle_ps
#define _mm512_shuffle_f32x4 emu512_shuffle_f32x4

#endif
