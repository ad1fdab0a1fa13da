/* The SIMD backend's SSE2 kernels (the x86-64 baseline): four springs per
 * vector. Endpoint records are loaded whole and transposed, forces are
 * transposed back into force records. Audio thread and pool workers; no allocation. */
#include <immintrin.h>

#include "backend/simd/simd_internal.h"
#include "backend/simd/simd_x86_n4.h"

typedef __m128 VF;
typedef __m128 VMASK;
#define W 4u
#define V_LOAD(p) _mm_load_ps(p)
#define V_SET1(x) _mm_set1_ps(x)
#define V_ZERO() _mm_setzero_ps()
#define V_ADD(a, b) _mm_add_ps((a), (b))
#define V_SUB(a, b) _mm_sub_ps((a), (b))
#define V_MUL(a, b) _mm_mul_ps((a), (b))
#define V_DIV(a, b) _mm_div_ps((a), (b))
#define V_SQRT(a) _mm_sqrt_ps(a)
#define V_GT(a, b) _mm_cmpgt_ps((a), (b))
#define V_EQ(a, b) _mm_cmpeq_ps((a), (b))
#define V_SELECT(mask, if_true, if_false)                                                     \
    _mm_or_ps(_mm_and_ps((mask), (if_true)), _mm_andnot_ps((mask), (if_false)))
#define V_LOADU(p) _mm_loadu_ps(p)
#define V_STOREU(p, a) _mm_storeu_ps((p), (a))
#define V_STORE(p, a) _mm_store_ps((p), (a))
/* SSE2 has no gather instruction. */
#define V_GATHER(base, index)                                                                 \
    _mm_setr_ps((base)[(index)[0]], (base)[(index)[1]], (base)[(index)[2]], (base)[(index)[3]])
#define V_LANE(j)                                                                             \
    _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_set1_epi32((int)(j)), _mm_setr_epi32(0, 1, 2, 3)))

#define SIMD_LOAD_DELTAS(net, s, delta)                                                       \
    do {                                                                                      \
        const float *nd_ = (net)->node;                                                       \
        const uint32_t *p_ = (net)->p_off + (s), *q_ = (net)->q_off + (s);                    \
        __m128 u0 = _mm_sub_ps(_mm_load_ps(nd_ + q_[0]), _mm_load_ps(nd_ + p_[0]));           \
        __m128 u1 = _mm_sub_ps(_mm_load_ps(nd_ + q_[1]), _mm_load_ps(nd_ + p_[1]));           \
        __m128 u2 = _mm_sub_ps(_mm_load_ps(nd_ + q_[2]), _mm_load_ps(nd_ + p_[2]));           \
        __m128 u3 = _mm_sub_ps(_mm_load_ps(nd_ + q_[3]), _mm_load_ps(nd_ + p_[3]));           \
        __m128 v0 = _mm_sub_ps(_mm_load_ps(nd_ + q_[0] + 4), _mm_load_ps(nd_ + p_[0] + 4));   \
        __m128 v1 = _mm_sub_ps(_mm_load_ps(nd_ + q_[1] + 4), _mm_load_ps(nd_ + p_[1] + 4));   \
        __m128 v2 = _mm_sub_ps(_mm_load_ps(nd_ + q_[2] + 4), _mm_load_ps(nd_ + p_[2] + 4));   \
        __m128 v3 = _mm_sub_ps(_mm_load_ps(nd_ + q_[3] + 4), _mm_load_ps(nd_ + p_[3] + 4));   \
        _MM_TRANSPOSE4_PS(u0, u1, u2, u3);                                                    \
        _MM_TRANSPOSE4_PS(v0, v1, v2, v3);                                                    \
        (delta)[0] = u0;                                                                      \
        (delta)[1] = u1;                                                                      \
        (delta)[2] = u2;                                                                      \
        (delta)[3] = v0;                                                                      \
        (delta)[4] = v1;                                                                      \
        (delta)[5] = v2;                                                                      \
    } while (0)

#define SIMD_STORE_FORCES(net, s, fx, fy, fz)                                                 \
    do {                                                                                      \
        float *p_ = (net)->force + (size_t)(s) * SIMD_FORCE_FLOATS;                           \
        float *q_ = p_ + (size_t)(net)->n_springs_padded * SIMD_FORCE_FLOATS;                 \
        const __m128 sign_ = _mm_set1_ps(-0.0f);                                              \
        __m128 f0 = fx, f1 = fy, f2 = fz, f3 = _mm_setzero_ps();                              \
        _MM_TRANSPOSE4_PS(f0, f1, f2, f3);                                                    \
        _mm_store_ps(p_, f0);                                                                 \
        _mm_store_ps(p_ + 4, f1);                                                             \
        _mm_store_ps(p_ + 8, f2);                                                             \
        _mm_store_ps(p_ + 12, f3);                                                            \
        _mm_store_ps(q_, _mm_xor_ps(f0, sign_));                                              \
        _mm_store_ps(q_ + 4, _mm_xor_ps(f1, sign_));                                          \
        _mm_store_ps(q_ + 8, _mm_xor_ps(f2, sign_));                                          \
        _mm_store_ps(q_ + 12, _mm_xor_ps(f3, sign_));                                         \
    } while (0)

#define SIMD_FN(name) sse2_##name
#include "backend/simd/simd_kernel_template.h"
#include "backend/simd/simd_lattice_template.h"

const SimdKernels sprung_simd_sse2 = {
    .name = "sse2",
    .lanes = 4,
    .springs = sse2_springs,
    .nodes = sse2_nodes,
    .lattice_springs = sse2_lattice_springs,
    .lattice_bodies = sse2_lattice_bodies,
};
