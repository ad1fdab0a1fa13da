/* The SIMD backend's AVX-512 kernels: sixteen springs per vector, endpoint
 * components gathered and force records scattered (every record has one writer,
 * so the scatter has no conflicts). Compiled with -mavx512f (FMA contraction
 * stays off); called only when the CPU has AVX-512F. Audio thread and pool
 * workers; no allocation. */
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

static inline __m512 avx512_component(const float *node, __m512i p, __m512i q, int c)
{
    __m512i offset = _mm512_set1_epi32(c);
    return _mm512_sub_ps(_mm512_i32gather_ps(_mm512_add_epi32(q, offset), node, 4),
                         _mm512_i32gather_ps(_mm512_add_epi32(p, offset), node, 4));
}

#define SIMD_LOAD_DELTAS(net, s, dx, dy, dz, dvx, dvy, dvz)                                  \
    do {                                                                                      \
        __m512i p_ = _mm512_load_si512((const void *)((net)->p_off + (s)));                   \
        __m512i q_ = _mm512_load_si512((const void *)((net)->q_off + (s)));                   \
        dx = avx512_component((net)->node, p_, q_, 0);                                        \
        dy = avx512_component((net)->node, p_, q_, 1);                                        \
        dz = avx512_component((net)->node, p_, q_, 2);                                        \
        dvx = avx512_component((net)->node, p_, q_, 4);                                       \
        dvy = avx512_component((net)->node, p_, q_, 5);                                       \
        dvz = avx512_component((net)->node, p_, q_, 6);                                       \
    } while (0)

/* Records {fx, fy, fz, 0} of springs s .. s + 15 to force[s ..] and their
 * negations to force[n_springs_padded + s ..], scattered component by
 * component to consecutive records (the fourth float stays 0). */
static inline void avx512_store_forces(const SimdNet *net, uint32_t s, __m512 fx, __m512 fy,
                                       __m512 fz)
{
    const __m512i record = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48,
                                             52, 56, 60);
    const __m512i one = _mm512_set1_epi32(1), two = _mm512_set1_epi32(2);
    const __m512i sign = _mm512_castps_si512(_mm512_set1_ps(-0.0f));
    float *plus = net->force + (size_t)s * SIMD_FORCE_FLOATS;
    float *minus = plus + (size_t)net->n_springs_padded * SIMD_FORCE_FLOATS;
    __m512 nx = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(fx), sign));
    __m512 ny = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(fy), sign));
    __m512 nz = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(fz), sign));
    _mm512_i32scatter_ps(plus, record, fx, 4);
    _mm512_i32scatter_ps(plus, _mm512_add_epi32(record, one), fy, 4);
    _mm512_i32scatter_ps(plus, _mm512_add_epi32(record, two), fz, 4);
    _mm512_i32scatter_ps(minus, record, nx, 4);
    _mm512_i32scatter_ps(minus, _mm512_add_epi32(record, one), ny, 4);
    _mm512_i32scatter_ps(minus, _mm512_add_epi32(record, two), nz, 4);
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
