/* The SIMD backend's portable kernels: plain scalar C over the backend's
 * private layout (one spring, one node at a time), for machines without a
 * vector unit this backend knows and as the reference point of the vector
 * versions. Audio thread and pool workers; no allocation. */
#include <math.h>

#include "backend/simd/simd_internal.h"

typedef float VF;
typedef int VMASK;
#define W 1u
#define V_LOAD(p) (*(p))
#define V_SET1(x) (x)
#define V_ZERO() 0.0f
#define V_ADD(a, b) ((a) + (b))
#define V_SUB(a, b) ((a) - (b))
#define V_MUL(a, b) ((a) * (b))
#define V_DIV(a, b) ((a) / (b))
#define V_SQRT(a) sqrtf(a)
#define V_GT(a, b) ((a) > (b))
#define V_EQ(a, b) ((a) == (b))
#define V_SELECT(mask, if_true, if_false) ((mask) ? (if_true) : (if_false))
#define V_LOADU(p) (*(p))
#define V_STOREU(p, a) (*(p) = (a))
#define V_STORE(p, a) (*(p) = (a))
#define V_GATHER(base, index) ((base)[(index)[0]])
#define V_LANE(j) ((j) == 0)

#define SIMD_LOAD_DELTAS(net, s, delta)                                                       \
    do {                                                                                      \
        const float *p_ = (net)->node + (net)->p_off[s];                                      \
        const float *q_ = (net)->node + (net)->q_off[s];                                      \
        (delta)[0] = q_[0] - p_[0];                                                           \
        (delta)[1] = q_[1] - p_[1];                                                           \
        (delta)[2] = q_[2] - p_[2];                                                           \
        (delta)[3] = q_[4] - p_[4];                                                           \
        (delta)[4] = q_[5] - p_[5];                                                           \
        (delta)[5] = q_[6] - p_[6];                                                           \
    } while (0)

#define SIMD_STORE_FORCES(net, s, fx, fy, fz)                                                 \
    do {                                                                                      \
        float *p_ = (net)->force + (size_t)(s) * SIMD_FORCE_FLOATS;                           \
        float *q_ = p_ + (size_t)(net)->n_springs_padded * SIMD_FORCE_FLOATS;                 \
        p_[0] = fx;                                                                           \
        p_[1] = fy;                                                                           \
        p_[2] = fz;                                                                           \
        q_[0] = -(fx);                                                                        \
        q_[1] = -(fy);                                                                        \
        q_[2] = -(fz);                                                                        \
    } while (0)

/* V_SELECT is C's ?:, so sqrtf only ever sees a positive argument, as in the
 * kernel. Node vectors are four plain floats. */
typedef struct N4 {
    float v[4];
} N4;
static inline N4 n4_load(const float *p) { return (N4){{p[0], p[1], p[2], p[3]}}; }
static inline void n4_store(float *p, N4 a)
{
    p[0] = a.v[0];
    p[1] = a.v[1];
    p[2] = a.v[2];
    p[3] = a.v[3];
}
static inline N4 n4_add(N4 a, N4 b)
{
    return (N4){{a.v[0] + b.v[0], a.v[1] + b.v[1], a.v[2] + b.v[2], a.v[3] + b.v[3]}};
}
static inline N4 n4_sub(N4 a, N4 b)
{
    return (N4){{a.v[0] - b.v[0], a.v[1] - b.v[1], a.v[2] - b.v[2], a.v[3] - b.v[3]}};
}
static inline N4 n4_mul(N4 a, N4 b)
{
    return (N4){{a.v[0] * b.v[0], a.v[1] * b.v[1], a.v[2] * b.v[2], a.v[3] * b.v[3]}};
}
#define N4_LOAD(p) n4_load(p)
#define N4_STORE(p, a) n4_store((p), (a))
#define N4_ADD(a, b) n4_add((a), (b))
#define N4_SUB(a, b) n4_sub((a), (b))
#define N4_MUL(a, b) n4_mul((a), (b))
#define N4_SET1(x) ((N4){{(x), (x), (x), (x)}})
#define N4_SET3(x, y, z) ((N4){{(x), (y), (z), 0.0f}})
#define N4_ZERO() ((N4){{0.0f, 0.0f, 0.0f, 0.0f}})

#define SIMD_FN(name) portable_##name
#include "backend/simd/simd_kernel_template.h"
#include "backend/simd/simd_lattice_template.h"

const SimdKernels sprung_simd_portable = {
    .name = "portable",
    .lanes = 1,
    .springs = portable_springs,
    .nodes = portable_nodes,
    .lattice_springs = portable_lattice_springs,
    .lattice_bodies = portable_lattice_bodies,
};
