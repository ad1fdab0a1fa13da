/* The SIMD backend's kernels for the lattice layout (SimdLattice in
 * simd_internal.h), written once over the vector macros and included by
 * each per-instruction-set file after simd_kernel_template.h, whose
 * spring_forces() they share. Besides that file's macros, the including
 * file defines:
 *   V_LOADU(p) V_STOREU(p, a)   unaligned load and store
 *   V_STORE(p, a)               aligned store
 *   V_GATHER(base, index)       {base[index[0]], ..., base[index[W - 1]]}
 *   V_LANE(j)                   a VMASK selecting lane j only
 * Each lane performs exactly the operations of kernel/sprung_step.h, in
 * its order: the results are the reference's bits.
 * Audio thread and pool workers; no allocation. */

/* base[index[j]] = lane j of a, for j = W - 1 down to 0: of a repeated
 * index (phase 2's padding lanes repeat the vector's last body) the first
 * lane's value stays, the one that got the body's mallet pulses. */
static inline __attribute__((always_inline)) void
SIMD_FN(lattice_scatter)(float *base, const uint32_t *index, VF a)
{
    float lane[W] __attribute__((aligned(64)));
    V_STORE(lane, a);
    for (uint32_t j = W; j-- > 0;)
        base[index[j]] = lane[j];
}

/* The geometry of run vector s: its endpoints are W consecutive nodes. */
static inline __attribute__((always_inline)) SimdSpringGeometry
SIMD_FN(run_geometry)(const SimdLattice *lattice, uint32_t s)
{
    uint32_t p = lattice->p[s], q = lattice->q[s];
    return SIMD_FN(spring_geometry)(
        &lattice->spring, s, V_SUB(V_LOADU(lattice->ux + q), V_LOADU(lattice->ux + p)),
        V_SUB(V_LOADU(lattice->uy + q), V_LOADU(lattice->uy + p)),
        V_SUB(V_LOADU(lattice->uz + q), V_LOADU(lattice->uz + p)),
        V_SUB(V_LOADU(lattice->vx + q), V_LOADU(lattice->vx + p)),
        V_SUB(V_LOADU(lattice->vy + q), V_LOADU(lattice->vy + p)),
        V_SUB(V_LOADU(lattice->vz + q), V_LOADU(lattice->vz + p)));
}

/* Phase 1 for private springs [first, end): the runs load u and v of their
 * endpoints as whole vectors, software pipelined (the geometry of the next
 * vector beside the divisions of this one; the last iteration recomputes
 * its own), and the rest gather them. */
static void SIMD_FN(lattice_springs)(const SimdLattice *lattice, uint32_t first, uint32_t end)
{
    const float *restrict ux = lattice->ux, *restrict uy = lattice->uy, *restrict uz = lattice->uz;
    const float *restrict vx = lattice->vx, *restrict vy = lattice->vy, *restrict vz = lattice->vz;
    uint32_t run_end = end < lattice->n_run_springs ? end : lattice->n_run_springs;
    uint32_t s = first;
    VF force_x, force_y, force_z;
    if (s < run_end) {
        SimdSpringGeometry g = SIMD_FN(run_geometry)(lattice, s);
        for (; s < run_end; s += W) {
            SimdSpringGeometry g_next =
                SIMD_FN(run_geometry)(lattice, s + W < run_end ? s + W : s);
            VF coefficient = SIMD_FN(spring_coefficient)(&lattice->spring, s, g);
            V_STORE(lattice->fx + s, V_MUL(coefficient, g.d_x));
            V_STORE(lattice->fy + s, V_MUL(coefficient, g.d_y));
            V_STORE(lattice->fz + s, V_MUL(coefficient, g.d_z));
            g = g_next;
        }
    }
    for (; s < end; s += W) {
        const uint32_t *p = lattice->p + s, *q = lattice->q + s;
        SIMD_FN(spring_forces)(&lattice->spring, s, V_SUB(V_GATHER(ux, q), V_GATHER(ux, p)),
                               V_SUB(V_GATHER(uy, q), V_GATHER(uy, p)),
                               V_SUB(V_GATHER(uz, q), V_GATHER(uz, p)),
                               V_SUB(V_GATHER(vx, q), V_GATHER(vx, p)),
                               V_SUB(V_GATHER(vy, q), V_GATHER(vy, p)),
                               V_SUB(V_GATHER(vz, q), V_GATHER(vz, p)), &force_x, &force_y,
                               &force_z);
        V_STORE(lattice->fx + s, force_x);
        V_STORE(lattice->fy + s, force_y);
        V_STORE(lattice->fz + s, force_z);
    }
}

/* A slot's spring forces when they are not one vector load from base
 * (flags has lanes to patch, or SIMD_LATTICE_GATHER); lane j: spring[j]. */
static inline __attribute__((always_inline)) void
SIMD_FN(lattice_slot_odd)(const float *fx, const float *fy, const float *fz,
                          const uint32_t *spring, int32_t base, uint32_t flags, VF *gx, VF *gy,
                          VF *gz)
{
    if (flags & SIMD_LATTICE_GATHER) {
        *gx = V_GATHER(fx, spring);
        *gy = V_GATHER(fy, spring);
        *gz = V_GATHER(fz, spring);
        return;
    }
    VF x = V_LOADU(fx + base), y = V_LOADU(fy + base), z = V_LOADU(fz + base);
    for (uint32_t patch = flags & SIMD_LATTICE_PATCH_LANES; patch; patch &= patch - 1) {
        uint32_t j = (uint32_t)__builtin_ctz(patch);
        VMASK lane = V_LANE(j);
        x = V_SELECT(lane, V_SET1(fx[spring[j]]), x);
        y = V_SELECT(lane, V_SET1(fy[spring[j]]), y);
        z = V_SELECT(lane, V_SET1(fz[spring[j]]), z);
    }
    *gx = x;
    *gy = y;
    *gz = z;
}

/* Vector v's spring forces: slot by slot, each lane's in its CSR order,
 * sign × force. */
static inline __attribute__((always_inline)) void
SIMD_FN(lattice_slot_sum)(const SimdLattice *lattice, const float *fx, const float *fy,
                          const float *fz, uint32_t v, VF *sum_x, VF *sum_y, VF *sum_z)
{
    VF force_x = V_ZERO(), force_y = V_ZERO(), force_z = V_ZERO();
    uint32_t slot_end = lattice->slot_begin[v + 1];
    for (uint32_t e = lattice->slot_begin[v]; e < slot_end; ++e) {
        uint32_t flags = lattice->slot_flags[e];
        int32_t base = lattice->slot_base[e];
        VF gx, gy, gz;
        if (__builtin_expect((flags & SIMD_LATTICE_LOAD_BITS) == 0, 1)) {
            gx = V_LOADU(fx + base);
            gy = V_LOADU(fy + base);
            gz = V_LOADU(fz + base);
        } else {
            SIMD_FN(lattice_slot_odd)(fx, fy, fz, lattice->slot_spring + (size_t)e * W, base,
                                      flags, &gx, &gy, &gz);
        }
        if (flags & SIMD_LATTICE_MIXED_SIGNS) {
            VF sign = V_LOAD(lattice->slot_sign + (size_t)e * W);
            force_x = V_ADD(force_x, V_MUL(sign, gx));
            force_y = V_ADD(force_y, V_MUL(sign, gy));
            force_z = V_ADD(force_z, V_MUL(sign, gz));
        } else if (flags & SIMD_LATTICE_NEGATE) {
            force_x = V_SUB(force_x, gx);
            force_y = V_SUB(force_y, gy);
            force_z = V_SUB(force_z, gz);
        } else {
            force_x = V_ADD(force_x, gx);
            force_y = V_ADD(force_y, gy);
            force_z = V_ADD(force_z, gz);
        }
    }
    *sum_x = force_x;
    *sum_y = force_y;
    *sum_z = force_z;
}

/* (x, y, z) added to one lane of the force vectors; the other lanes add
 * +0, which changes no bit: a force sum is never -0. */
static inline void SIMD_FN(add_to_lane)(uint32_t lane, float x, float y, float z, VF *force_x,
                                        VF *force_y, VF *force_z)
{
    const VF zero = V_ZERO();
    VMASK mask = V_LANE(lane);
    *force_x = V_ADD(*force_x, V_SELECT(mask, V_SET1(x), zero));
    *force_y = V_ADD(*force_y, V_SELECT(mask, V_SET1(y), zero));
    *force_z = V_ADD(*force_z, V_SELECT(mask, V_SET1(z), zero));
}

/* The running pulses of the mallets on vector v's bodies, each added to
 * its body's lane as sprung_node_base_force adds it (mallet order, then
 * slot order) and advanced by one step. */
static void SIMD_FN(lattice_pulses)(const SimdLattice *lattice, uint32_t v, VF *force_x,
                                    VF *force_y, VF *force_z)
{
    const SprungStepModel *m = &lattice->model;
    const uint32_t *pulse_step = lattice->view.pulse_step;
    for (uint32_t k = lattice->mallet_begin[v]; k < lattice->mallet_begin[v + 1]; ++k) {
        uint32_t mallet = lattice->mallet_index[k], steps = m->mallet_steps[mallet];
        for (uint32_t index = mallet * SPRUNG_PULSE_SLOTS;
             index < (mallet + 1) * SPRUNG_PULSE_SLOTS; ++index) {
            if (pulse_step[index] >= steps)
                continue;
            float strength = sprung_pulse_advance(mallet, index, m, &lattice->view);
            SIMD_FN(add_to_lane)(lattice->mallet_lane[k], strength * m->mallet_dir_x[mallet],
                                 strength * m->mallet_dir_y[mallet],
                                 strength * m->mallet_dir_z[mallet], force_x, force_y, force_z);
        }
    }
}

/* The exciters' forces on vector v's bodies (computed before phase 2 by
 * backend/feature_step.h), each added to its body's lane after the pulses,
 * in the body's exciter order, as sprung_node_integrate_features adds them
 * (after a constant force, which a body in a vector does not have). */
static void SIMD_FN(lattice_exciters)(const SimdLattice *lattice, uint32_t v, VF *force_x,
                                      VF *force_y, VF *force_z)
{
    const SprungFeatureState *fs = &lattice->feature_view;
    for (uint32_t k = lattice->exciter_begin[v]; k < lattice->exciter_begin[v + 1]; ++k) {
        uint32_t exciter = lattice->exciter_index[k];
        SIMD_FN(add_to_lane)(lattice->exciter_lane[k], fs->exciter_force_x[exciter],
                             fs->exciter_force_y[exciter], fs->exciter_force_z[exciter], force_x,
                             force_y, force_z);
    }
}

/* The collisions' forces on vector v's bodies (computed before phase 2
 * with the exciters'), each times the body's sign added to its lane after
 * the exciters, in the body's collision order, as
 * sprung_node_integrate_features adds them. */
static void SIMD_FN(lattice_collisions)(const SimdLattice *lattice, uint32_t v, VF *force_x,
                                        VF *force_y, VF *force_z)
{
    const SprungFeatureModel *fm = &lattice->feature_model;
    const SprungFeatureState *fs = &lattice->feature_view;
    for (uint32_t k = lattice->collision_begin[v]; k < lattice->collision_begin[v + 1]; ++k) {
        uint32_t e = lattice->collision_entry[k], collision = fm->node_collision[e];
        float sign = fm->node_collision_sign[e];
        SIMD_FN(add_to_lane)(lattice->collision_lane[k], sign * fs->collision_force_x[collision],
                             sign * fs->collision_force_y[collision],
                             sign * fs->collision_force_z[collision], force_x, force_y,
                             force_z);
    }
}

/* Phase 2 for body vectors [first, end): per lane, the body's spring forces,
 * drag, mallet pulses, exciter and collision forces, then semi-implicit
 * Euler, as sprung_node_integrate(_features) does. Software pipelined: the next
 * vector's sum beside this one's update. */
static void SIMD_FN(lattice_bodies)(const SimdLattice *lattice, uint32_t first, uint32_t end)
{
    const VF dt = V_SET1(lattice->dt);
    float *restrict ux = lattice->ux, *restrict uy = lattice->uy, *restrict uz = lattice->uz;
    float *restrict vx = lattice->vx, *restrict vy = lattice->vy, *restrict vz = lattice->vz;
    const float *restrict fx = lattice->fx, *restrict fy = lattice->fy, *restrict fz = lattice->fz;
    if (first >= end)
        return;
    VF next_x, next_y, next_z;
    SIMD_FN(lattice_slot_sum)(lattice, fx, fy, fz, first, &next_x, &next_y, &next_z);
    for (uint32_t v = first; v < end; ++v) {
        VF force_x = next_x, force_y = next_y, force_z = next_z;
        if (v + 1 < end)
            SIMD_FN(lattice_slot_sum)(lattice, fx, fy, fz, v + 1, &next_x, &next_y, &next_z);

        const uint32_t *node = lattice->vector_node + (size_t)v * W;
        int whole = lattice->vector_whole[v];
        VF vel_x = whole ? V_LOADU(vx + node[0]) : V_GATHER(vx, node);
        VF vel_y = whole ? V_LOADU(vy + node[0]) : V_GATHER(vy, node);
        VF vel_z = whole ? V_LOADU(vz + node[0]) : V_GATHER(vz, node);
        VF drag = V_LOAD(lattice->vector_drag + (size_t)v * W);
        force_x = V_SUB(force_x, V_MUL(drag, vel_x));
        force_y = V_SUB(force_y, V_MUL(drag, vel_y));
        force_z = V_SUB(force_z, V_MUL(drag, vel_z));
        if (lattice->mallet_begin[v] != lattice->mallet_begin[v + 1])
            SIMD_FN(lattice_pulses)(lattice, v, &force_x, &force_y, &force_z);
        if (lattice->exciter_begin[v] != lattice->exciter_begin[v + 1])
            SIMD_FN(lattice_exciters)(lattice, v, &force_x, &force_y, &force_z);
        if (lattice->collision_begin[v] != lattice->collision_begin[v + 1])
            SIMD_FN(lattice_collisions)(lattice, v, &force_x, &force_y, &force_z);

        VF inv_mass = V_LOAD(lattice->vector_inv_mass + (size_t)v * W);
        vel_x = V_ADD(vel_x, V_MUL(dt, V_MUL(force_x, inv_mass)));
        vel_y = V_ADD(vel_y, V_MUL(dt, V_MUL(force_y, inv_mass)));
        vel_z = V_ADD(vel_z, V_MUL(dt, V_MUL(force_z, inv_mass)));
        if (whole) {
            uint32_t n = node[0];
            V_STOREU(vx + n, vel_x);
            V_STOREU(vy + n, vel_y);
            V_STOREU(vz + n, vel_z);
            V_STOREU(ux + n, V_ADD(V_LOADU(ux + n), V_MUL(dt, vel_x)));
            V_STOREU(uy + n, V_ADD(V_LOADU(uy + n), V_MUL(dt, vel_y)));
            V_STOREU(uz + n, V_ADD(V_LOADU(uz + n), V_MUL(dt, vel_z)));
        } else {
            VF pos_x = V_ADD(V_GATHER(ux, node), V_MUL(dt, vel_x));
            VF pos_y = V_ADD(V_GATHER(uy, node), V_MUL(dt, vel_y));
            VF pos_z = V_ADD(V_GATHER(uz, node), V_MUL(dt, vel_z));
            SIMD_FN(lattice_scatter)(vx, node, vel_x);
            SIMD_FN(lattice_scatter)(vy, node, vel_y);
            SIMD_FN(lattice_scatter)(vz, node, vel_z);
            SIMD_FN(lattice_scatter)(ux, node, pos_x);
            SIMD_FN(lattice_scatter)(uy, node, pos_y);
            SIMD_FN(lattice_scatter)(uz, node, pos_z);
        }
    }
}
