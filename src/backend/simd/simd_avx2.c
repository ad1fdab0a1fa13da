/* The SIMD backend's AVX2 kernels: eight springs per vector. Each endpoint
 * record {u, 0, v, 0} is one 32-byte load; q - p is taken record-wise and
 * an 8×8 transpose turns eight records into delta and dv vectors (measured
 * faster than eight-lane gathers on this layout, docs/benchmarks.md).
 * Compiled with -mavx2 (no FMA: contraction would change the bits); called
 * only when the CPU has AVX2. Audio thread and pool workers; no allocation. */
#include <immintrin.h>

#include "backend/simd/simd_internal.h"
#include "backend/simd/simd_x86_n4.h"

typedef __m256 VF;
typedef __m256 VMASK;
#define W 8u
#define V_LOAD(p) _mm256_load_ps(p)
#define V_SET1(x) _mm256_set1_ps(x)
#define V_ZERO() _mm256_setzero_ps()
#define V_ADD(a, b) _mm256_add_ps((a), (b))
#define V_SUB(a, b) _mm256_sub_ps((a), (b))
#define V_MUL(a, b) _mm256_mul_ps((a), (b))
#define V_DIV(a, b) _mm256_div_ps((a), (b))
#define V_SQRT(a) _mm256_sqrt_ps(a)
#define V_GT(a, b) _mm256_cmp_ps((a), (b), _CMP_GT_OQ)
#define V_EQ(a, b) _mm256_cmp_ps((a), (b), _CMP_EQ_OQ)
#define V_SELECT(mask, if_true, if_false) _mm256_blendv_ps((if_false), (if_true), (mask))
#define V_LOADU(p) _mm256_loadu_ps(p)
#define V_STOREU(p, a) _mm256_storeu_ps((p), (a))
#define V_STORE(p, a) _mm256_store_ps((p), (a))
/* Eight scalar loads, not vgatherdps: on Zen 3 the gather instruction is
 * slower than the loads it replaces (the mesh-20x30 render 4 % faster,
 * docs/benchmarks.md). The same bits either way. */
#define V_GATHER(base, index)                                                                 \
    _mm256_setr_ps((base)[(index)[0]], (base)[(index)[1]], (base)[(index)[2]],                \
                   (base)[(index)[3]], (base)[(index)[4]], (base)[(index)[5]],                \
                   (base)[(index)[6]], (base)[(index)[7]])
#define V_LANE(j)                                                                             \
    _mm256_castsi256_ps(                                                                      \
        _mm256_cmpeq_epi32(_mm256_set1_epi32((int)(j)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)))

/* Row j = record(q_j) - record(p_j) = {δx, δy, δz, 0, dvx, dvy, dvz, 0};
 * after the transpose, column c holds component c of the eight springs. */
static inline void avx2_load_deltas(const SimdNet *net, uint32_t s, __m256 *out)
{
    const float *node = net->node;
    const uint32_t *p = net->p_off + s, *q = net->q_off + s;
    __m256 r0 = _mm256_sub_ps(_mm256_load_ps(node + q[0]), _mm256_load_ps(node + p[0]));
    __m256 r1 = _mm256_sub_ps(_mm256_load_ps(node + q[1]), _mm256_load_ps(node + p[1]));
    __m256 r2 = _mm256_sub_ps(_mm256_load_ps(node + q[2]), _mm256_load_ps(node + p[2]));
    __m256 r3 = _mm256_sub_ps(_mm256_load_ps(node + q[3]), _mm256_load_ps(node + p[3]));
    __m256 r4 = _mm256_sub_ps(_mm256_load_ps(node + q[4]), _mm256_load_ps(node + p[4]));
    __m256 r5 = _mm256_sub_ps(_mm256_load_ps(node + q[5]), _mm256_load_ps(node + p[5]));
    __m256 r6 = _mm256_sub_ps(_mm256_load_ps(node + q[6]), _mm256_load_ps(node + p[6]));
    __m256 r7 = _mm256_sub_ps(_mm256_load_ps(node + q[7]), _mm256_load_ps(node + p[7]));
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    out[0] = _mm256_permute2f128_ps(s0, s4, 0x20); /* δx */
    out[1] = _mm256_permute2f128_ps(s1, s5, 0x20); /* δy */
    out[2] = _mm256_permute2f128_ps(s2, s6, 0x20); /* δz */
    out[3] = _mm256_permute2f128_ps(s0, s4, 0x31); /* dvx */
    out[4] = _mm256_permute2f128_ps(s1, s5, 0x31); /* dvy */
    out[5] = _mm256_permute2f128_ps(s2, s6, 0x31); /* dvz */
}

#define SIMD_LOAD_DELTAS(net, s, delta) avx2_load_deltas((net), (s), (delta))

/* Records {fx, fy, fz, 0} of springs s .. s + 7 to their slots among
 * force[s ..], and their negations among force[n_springs_padded + s ..]: a
 * 4×8 transpose leaves springs j and j + 4 in the halves of vector j, which
 * is one 32-byte store to slots 2j and 2j + 1 (simd_force_slot). */
static inline void avx2_store_forces(const SimdNet *net, uint32_t s, __m256 fx, __m256 fy,
                                     __m256 fz)
{
    float *plus = net->force + (size_t)s * SIMD_FORCE_FLOATS;
    float *minus = plus + (size_t)net->n_springs_padded * SIMD_FORCE_FLOATS;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 zero = _mm256_setzero_ps();
    __m256 t0 = _mm256_unpacklo_ps(fx, fy), t1 = _mm256_unpackhi_ps(fx, fy);
    __m256 t2 = _mm256_unpacklo_ps(fz, zero), t3 = _mm256_unpackhi_ps(fz, zero);
    __m256 pairs[4] = {
        _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), /* springs 0 | 4 */
        _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)), /* 1 | 5 */
        _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), /* 2 | 6 */
        _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)), /* 3 | 7 */
    };
    for (int j = 0; j < 4; ++j) {
        _mm256_store_ps(plus + 8 * j, pairs[j]);
        _mm256_store_ps(minus + 8 * j, _mm256_xor_ps(pairs[j], sign));
    }
}

#define SIMD_STORE_FORCES(net, s, fx, fy, fz) avx2_store_forces((net), (s), (fx), (fy), (fz))

#define SIMD_FN(name) avx2_##name
#include "backend/simd/simd_kernel_template.h"
#include "backend/simd/simd_lattice_template.h"

const SimdKernels sprung_simd_avx2 = {
    .name = "avx2",
    .lanes = 8,
    .springs = avx2_springs,
    .nodes = avx2_nodes,
    .lattice_springs = avx2_lattice_springs,
    .lattice_bodies = avx2_lattice_bodies,
};
