/* The SIMD backend's AVX-512 kernels: sixteen springs per vector. Endpoint
 * records are loaded two to a register and transposed into component
 * vectors, and force records transposed back, as the AVX2 kernels do at
 * half the width. Compiled with -mavx512f -mavx512dq (FMA contraction stays
 * off); called only when the CPU has both. Audio thread and pool workers;
 * no allocation. */
#include <immintrin.h>

#include "backend/simd/simd_internal.h"
#include "backend/simd/simd_x86_n4.h"

typedef __m512 VF;
typedef __mmask16 VMASK;
#define W 16u
#define V_LOAD(p) _mm512_load_ps(p)
#define V_SET1(x) _mm512_set1_ps(x)
#define V_ZERO() _mm512_setzero_ps()
#define V_ADD(a, b) _mm512_add_ps((a), (b))
#define V_SUB(a, b) _mm512_sub_ps((a), (b))
#define V_MUL(a, b) _mm512_mul_ps((a), (b))
#define V_DIV(a, b) _mm512_div_ps((a), (b))
#define V_SQRT(a) _mm512_sqrt_ps(a)
#define V_GT(a, b) _mm512_cmp_ps_mask((a), (b), _CMP_GT_OQ)
#define V_EQ(a, b) _mm512_cmp_ps_mask((a), (b), _CMP_EQ_OQ)
#define V_SELECT(mask, if_true, if_false) _mm512_mask_blend_ps((mask), (if_false), (if_true))
#define V_LOADU(p) _mm512_loadu_ps(p)
#define V_STOREU(p, a) _mm512_storeu_ps((p), (a))
#define V_STORE(p, a) _mm512_store_ps((p), (a))
#define V_GATHER(base, index)                                                                 \
    _mm512_i32gather_ps(_mm512_loadu_si512((const void *)(index)), (base), 4)
#define V_LANE(j) ((__mmask16)(1u << (j)))

/* Two node records side by side: {u_a, 0, v_a, 0 | u_b, 0, v_b, 0}. */
static inline __m512 avx512_record_pair(const float *node, uint32_t a, uint32_t b)
{
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_load_ps(node + a)),
                              _mm256_load_ps(node + b), 1);
}

/* Row i = record(q) - record(p) of two springs, spring j (j < 4) in its low
 * half and spring j + 4 in its high half for rows 0-3, springs 8 + j and
 * 12 + j for rows 4-7. The 128-bit-lane transpose of the AVX2 kernel, done
 * on both halves at once, then leaves component c of springs 0-3, 4-7, 8-11
 * and 12-15 in lanes that one shuffle of 128-bit lanes puts in order. No
 * gathers: sixteen-lane gathers cost a load per float (the random network
 * 1.4-4× slower with them on the Sapphire Rapids guest, docs/benchmarks.md). */
static inline void avx512_load_deltas(const SimdNet *net, uint32_t s, __m512 *out)
{
    const float *node = net->node;
    const uint32_t *p = net->p_off + s, *q = net->q_off + s;
    __m512 r[8];
    for (int i = 0; i < 8; ++i) {
        int a = (i & 3) + (i & 4) * 2, b = a + 4;
        r[i] = _mm512_sub_ps(avx512_record_pair(node, q[a], q[b]),
                             avx512_record_pair(node, p[a], p[b]));
    }
    __m512 t0 = _mm512_unpacklo_ps(r[0], r[1]), t1 = _mm512_unpackhi_ps(r[0], r[1]);
    __m512 t2 = _mm512_unpacklo_ps(r[2], r[3]), t3 = _mm512_unpackhi_ps(r[2], r[3]);
    __m512 t4 = _mm512_unpacklo_ps(r[4], r[5]), t5 = _mm512_unpackhi_ps(r[4], r[5]);
    __m512 t6 = _mm512_unpacklo_ps(r[6], r[7]), t7 = _mm512_unpackhi_ps(r[6], r[7]);
    /* s0: x of springs 0-3 | vx 0-3 | x 4-7 | vx 4-7; s4 the same for 8-15. */
    __m512 s0 = _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m512 s1 = _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m512 s2 = _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m512 s4 = _mm512_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m512 s5 = _mm512_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m512 s6 = _mm512_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    out[0] = _mm512_shuffle_f32x4(s0, s4, _MM_SHUFFLE(2, 0, 2, 0)); /* δx */
    out[1] = _mm512_shuffle_f32x4(s1, s5, _MM_SHUFFLE(2, 0, 2, 0)); /* δy */
    out[2] = _mm512_shuffle_f32x4(s2, s6, _MM_SHUFFLE(2, 0, 2, 0)); /* δz */
    out[3] = _mm512_shuffle_f32x4(s0, s4, _MM_SHUFFLE(3, 1, 3, 1)); /* dvx */
    out[4] = _mm512_shuffle_f32x4(s1, s5, _MM_SHUFFLE(3, 1, 3, 1)); /* dvy */
    out[5] = _mm512_shuffle_f32x4(s2, s6, _MM_SHUFFLE(3, 1, 3, 1)); /* dvz */
}

#define SIMD_LOAD_DELTAS(net, s, delta) avx512_load_deltas((net), (s), (delta))

/* Records {fx, fy, fz, 0} of springs s .. s + 15 to their slots among
 * force[s ..], and their negations among force[n_springs_padded + s ..]: a
 * 4×16 transpose leaves springs j, j + 4, j + 8, j + 12 in the 128-bit
 * lanes of vector j, which is one 64-byte store to slots 4j .. 4j + 3
 * (simd_force_slot; no scatters: they cost a store per float). */
static inline void avx512_store_forces(const SimdNet *net, uint32_t s, __m512 fx, __m512 fy,
                                       __m512 fz)
{
    float *plus = net->force + (size_t)s * SIMD_FORCE_FLOATS;
    float *minus = plus + (size_t)net->n_springs_padded * SIMD_FORCE_FLOATS;
    const __m512i sign = _mm512_castps_si512(_mm512_set1_ps(-0.0f));
    __m512 zero = _mm512_setzero_ps();
    __m512 t0 = _mm512_unpacklo_ps(fx, fy), t1 = _mm512_unpackhi_ps(fx, fy);
    __m512 t2 = _mm512_unpacklo_ps(fz, zero), t3 = _mm512_unpackhi_ps(fz, zero);
    __m512 fours[4] = {
        _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), /* springs 0 | 4 | 8 | 12 */
        _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)), /* 1 | 5 | 9 | 13 */
        _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), /* 2 | 6 | 10 | 14 */
        _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)), /* 3 | 7 | 11 | 15 */
    };
    for (int j = 0; j < 4; ++j) {
        _mm512_store_ps(plus + 16 * j, fours[j]);
        _mm512_store_ps(minus + 16 * j, _mm512_castsi512_ps(_mm512_xor_si512(
                                            _mm512_castps_si512(fours[j]), sign)));
    }
}

#define SIMD_STORE_FORCES(net, s, fx, fy, fz) avx512_store_forces((net), (s), (fx), (fy), (fz))

#define SIMD_FN(name) avx512_##name
#include "backend/simd/simd_kernel_template.h"
#include "backend/simd/simd_lattice_template.h"

/* simd_avx512_emulated.c builds this file again under other names. */
#ifndef SIMD_AVX512_KERNELS
#define SIMD_AVX512_KERNELS sprung_simd_avx512
#define SIMD_AVX512_NAME "avx512"
#define SIMD_AVX512_NAMED_ONLY 0
#endif

const SimdKernels SIMD_AVX512_KERNELS = {
    .name = SIMD_AVX512_NAME,
    .lanes = 16,
    .named_only = SIMD_AVX512_NAMED_ONLY,
    .springs = avx512_springs,
    .nodes = avx512_nodes,
    .lattice_springs = avx512_lattice_springs,
    .lattice_bodies = avx512_lattice_bodies,
};
