/* The SIMD backend's two step phases, written once over a small set of
 * vector macros and included by each per-instruction-set file
 * (simd_portable.c, simd_sse2.c, simd_avx2.c, simd_avx512.c), which defines
 * the macros and compiles it with its own target flags. Each lane performs
 * exactly the operations of kernel/sprung_step.h, in the same order, so the
 * results equal the reference's bits (see simd_internal.h for the layout).
 *
 * The including file defines:
 *   VF, W                          vector of W floats
 *   V_LOAD(p) V_SET1(x) V_ZERO()   aligned load, broadcast, zero
 *   V_ADD V_SUB V_MUL V_DIV V_SQRT IEEE float32, correctly rounded
 *   VMASK V_GT(a, b) V_EQ(a, b) V_SELECT(mask, if_true, if_false)
 *   SIMD_LOAD_DELTAS(net, s, delta)  VF delta[6] = {u_q - u_p (x, y, z),
 *                                  v_q - v_p (x, y, z)} of springs s ..
 *   SIMD_STORE_FORCES(net, s, fx, fy, fz)   +F to force records s.., -F to
 *                                  records n_springs_padded + s..
 *   N4 N4_LOAD N4_STORE N4_ADD N4_SUB N4_MUL N4_SET1 N4_SET3 N4_ZERO
 *                                  4-float vectors for the per-node phase
 *   SIMD_FN(name)                  the file's function names
 * Audio thread and pool workers; no allocation. */

/* sprung_spring_force's operations on W springs, lane by lane and in its
 * order, in two halves, so that a loop can overlap the geometry of the next
 * vector with the square root and divisions of this one (software
 * pipelining: 8 % off the net-1000x5000 step; 6 % off mesh-20x30's, with
 * the lattice's phase 2 pipelined too; docs/benchmarks.md). Shared by both
 * layouts. */
typedef struct SimdSpringGeometry {
    VF d_x, d_y, d_z;             /* d = d0 + δ */
    VF stretch_sq;                /* 2 d0·δ + δ·δ */
    VF length_sq;                 /* L0² + stretch_sq */
    VF dv_dot_d;
} SimdSpringGeometry;

/* The first half, from the deltas δ = u_q - u_p and dv = v_q - v_p. */
static inline __attribute__((always_inline)) SimdSpringGeometry
SIMD_FN(spring_geometry)(const SimdSpringConstants *spring, uint32_t s, VF delta_x, VF delta_y,
                         VF delta_z, VF dv_x, VF dv_y, VF dv_z)
{
    const VF two = V_SET1(2.0f);
    SimdSpringGeometry g;
    VF d0_x = V_LOAD(spring->d0x + s);
    VF d0_y = V_LOAD(spring->d0y + s);
    VF d0_z = V_LOAD(spring->d0z + s);
    g.d_x = V_ADD(d0_x, delta_x);
    g.d_y = V_ADD(d0_y, delta_y);
    g.d_z = V_ADD(d0_z, delta_z);

    VF twice_dot = V_MUL(two, V_ADD(V_ADD(V_MUL(d0_x, delta_x), V_MUL(d0_y, delta_y)),
                                    V_MUL(d0_z, delta_z)));
    VF delta_sq = V_ADD(V_ADD(V_MUL(delta_x, delta_x), V_MUL(delta_y, delta_y)),
                        V_MUL(delta_z, delta_z));
    g.stretch_sq = V_ADD(twice_dot, delta_sq);
    g.length_sq = V_ADD(V_LOAD(spring->l0sq + s), g.stretch_sq);
    g.dv_dot_d = V_ADD(V_ADD(V_MUL(dv_x, g.d_x), V_MUL(dv_y, g.d_y)), V_MUL(dv_z, g.d_z));
    return g;
}

/* The second half: the coefficient that multiplies d. */
static inline __attribute__((always_inline)) VF
SIMD_FN(spring_coefficient)(const SimdSpringConstants *spring, uint32_t s, SimdSpringGeometry g)
{
    const VF zero = V_ZERO();
    VF length = V_SELECT(V_GT(g.length_sq, zero), V_SQRT(g.length_sq), zero);
    VF k = V_LOAD(spring->k + s);
    VF c = V_LOAD(spring->c + s);
    /* Both branches of the kernel are computed; lanes that the kernel
     * does not evaluate (ℓ = 0, or L = 0 for the tension path) may hold
     * Inf or NaN here and are discarded by the selects. */
    VF damping_part = V_MUL(c, V_DIV(g.dv_dot_d, g.length_sq));
    VF elongation = V_ADD(V_DIV(g.stretch_sq, V_ADD(length, V_LOAD(spring->l0 + s))),
                          V_LOAD(spring->preload + s));
    VF elastic_part = V_SELECT(V_EQ(V_LOAD(spring->rest + s), zero), k,
                               V_MUL(k, V_DIV(elongation, length)));
    return V_SELECT(V_GT(length, zero), V_ADD(elastic_part, damping_part), zero);
}

/* The force of W springs on their first endpoints: both halves. */
static inline __attribute__((always_inline)) void
SIMD_FN(spring_forces)(const SimdSpringConstants *spring, uint32_t s, VF delta_x, VF delta_y,
                       VF delta_z, VF dv_x, VF dv_y, VF dv_z, VF *force_x, VF *force_y,
                       VF *force_z)
{
    SimdSpringGeometry g =
        SIMD_FN(spring_geometry)(spring, s, delta_x, delta_y, delta_z, dv_x, dv_y, dv_z);
    VF coefficient = SIMD_FN(spring_coefficient)(spring, s, g);
    *force_x = V_MUL(coefficient, g.d_x);
    *force_y = V_MUL(coefficient, g.d_y);
    *force_z = V_MUL(coefficient, g.d_z);
}

/* The geometry of springs s .. s + W - 1 from their endpoint records. */
static inline __attribute__((always_inline)) SimdSpringGeometry
SIMD_FN(record_geometry)(const SimdNet *net, uint32_t s)
{
    VF delta[6];
    SIMD_LOAD_DELTAS(net, s, delta);
    return SIMD_FN(spring_geometry)(&net->spring, s, delta[0], delta[1], delta[2], delta[3],
                                    delta[4], delta[5]);
}

/* Phase 1 for springs [first, end), software pipelined as the lattice's
 * runs are (the last iteration recomputes its own geometry). */
static void SIMD_FN(springs)(const SimdNet *net, uint32_t first, uint32_t end)
{
    if (first >= end)
        return;
    SimdSpringGeometry g = SIMD_FN(record_geometry)(net, first);
    for (uint32_t s = first; s < end; s += W) {
        uint32_t next = s + W < end ? s + W : s;
        SimdSpringGeometry g_next = SIMD_FN(record_geometry)(net, next);
        VF coefficient = SIMD_FN(spring_coefficient)(&net->spring, s, g);
        SIMD_STORE_FORCES(net, s, V_MUL(coefficient, g.d_x), V_MUL(coefficient, g.d_y),
                          V_MUL(coefficient, g.d_z));
        g = g_next;
    }
}

/* The semi-implicit Euler update of one body record {u, 0, v, 0} from its
 * pre-step velocity v and total force, as kernel/sprung_step.h does it. */
static inline __attribute__((always_inline)) void
SIMD_FN(integrate)(float *record, N4 v, N4 force, float inv_mass, N4 dt)
{
    v = N4_ADD(v, N4_MUL(dt, N4_MUL(force, N4_SET1(inv_mass))));
    N4_STORE(record + 4, v);
    N4_STORE(record, N4_ADD(N4_LOAD(record), N4_MUL(dt, v)));
}

/* Phase 2 for a run of plain bodies [first, end) of one `degree` (no
 * mallet, nonzero inverse mass): their incidence lists follow each other,
 * so the loop walks them with no per-body branch. Called with a constant degree
 * for the common degrees, which unrolls the gather. Same operations as
 * SIMD_FN(node) below without its mallet loop. */
static inline __attribute__((always_inline)) void
SIMD_FN(plain_run)(const SimdNet *net, N4 dt, uint32_t first, uint32_t end, uint32_t degree)
{
    float *restrict node = net->node;
    const float *restrict forces = net->force;
    const uint32_t *restrict incidence = net->incidence_off + net->incidence_begin[first];
    const uint32_t *restrict order = net->order;
    const float *restrict inv_mass = net->inv_mass;
    const float *restrict drag = net->drag;
    for (uint32_t j = first; j < end; ++j, incidence += degree) {
        N4 force = N4_ZERO();
        for (uint32_t e = 0; e < degree; ++e)
            force = N4_ADD(force, N4_LOAD(forces + incidence[e]));
        float *record = node + (size_t)order[j] * SIMD_NODE_FLOATS;
        N4 v = N4_LOAD(record + 4);
        force = N4_SUB(force, N4_MUL(N4_SET1(drag[j]), v));
        SIMD_FN(integrate)(record, v, force, inv_mass[j], dt);
    }
}

/* One body of phase 2, any kind: the reference's order (springs in CSR
 * order, drag, then the mallets' pulses). */
static void SIMD_FN(node)(const SimdNet *net, const SprungCompiled *compiled, N4 dt, uint32_t j)
{
    float inv_mass = net->inv_mass[j];
    if (inv_mass == 0.0f)
        return;

    N4 force = N4_ZERO();
    for (uint32_t e = net->incidence_begin[j]; e < net->incidence_begin[j + 1]; ++e)
        force = N4_ADD(force, N4_LOAD(net->force + net->incidence_off[e]));

    float *record = net->node + (size_t)net->order[j] * SIMD_NODE_FLOATS;
    N4 v = N4_LOAD(record + 4);
    force = N4_SUB(force, N4_MUL(N4_SET1(net->drag[j]), v));

    uint32_t mallet_end = net->mallet_begin[j + 1];
    for (uint32_t e = net->mallet_begin[j]; e < mallet_end; ++e) {
        uint32_t mallet = net->mallet_list[e];
        uint32_t steps = compiled->mallet_steps[mallet];
        for (uint32_t ring = 0; ring < SPRUNG_PULSE_SLOTS; ++ring) {
            uint32_t index = mallet * SPRUNG_PULSE_SLOTS + ring;
            uint32_t step = net->pulse_step[index];
            if (step >= steps)
                continue;
            float strength = net->pulse_amplitude[index] *
                             compiled->mallet_shape[compiled->mallet_shape_offset[mallet] + step];
            force = N4_ADD(force, N4_MUL(N4_SET1(strength),
                                         N4_SET3(compiled->mallet_dir_x[mallet],
                                                 compiled->mallet_dir_y[mallet],
                                                 compiled->mallet_dir_z[mallet])));
            net->pulse_step[index] = step + 1u < steps ? step + 1u : SPRUNG_PULSE_IDLE;
        }
    }

    SIMD_FN(integrate)(record, v, force, inv_mass, dt);
}

static void SIMD_FN(nodes)(const SimdNet *net, uint32_t first, uint32_t end)
{
    const N4 dt = N4_SET1(net->dt);
    uint32_t plain_end = end < net->n_plain ? end : net->n_plain;
    uint32_t j = first;
    while (j < plain_end) {
        /* Plain bodies come grouped by degree: run to the end of this group. */
        uint32_t degree = net->incidence_begin[j + 1] - net->incidence_begin[j];
        uint32_t run_end = net->degree_run_end[j] < plain_end ? net->degree_run_end[j] : plain_end;
        switch (degree) {
#define SIMD_DEGREE_CASE(d)                                                                       \
    case d:                                                                                       \
        SIMD_FN(plain_run)(net, dt, j, run_end, d);                                               \
        break;
            SIMD_DEGREE_CASE(1)
            SIMD_DEGREE_CASE(2)
            SIMD_DEGREE_CASE(3)
            SIMD_DEGREE_CASE(4)
            SIMD_DEGREE_CASE(5)
            SIMD_DEGREE_CASE(6)
            SIMD_DEGREE_CASE(7)
            SIMD_DEGREE_CASE(8)
            SIMD_DEGREE_CASE(9)
            SIMD_DEGREE_CASE(10)
            SIMD_DEGREE_CASE(11)
            SIMD_DEGREE_CASE(12)
#undef SIMD_DEGREE_CASE
        default:
            SIMD_FN(plain_run)(net, dt, j, run_end, degree);
            break;
        }
        j = run_end;
    }
    for (j = first > net->n_plain ? first : net->n_plain; j < end; ++j)
        SIMD_FN(node)(net, net->compiled, dt, j);
}
