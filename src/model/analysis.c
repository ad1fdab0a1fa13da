/* Linear analysis of a model: the linearised stiffness K and damping C at
 * the initial configuration, their largest eigenvalue by power iteration
 * with sparse products, the stability check sprung_engine_new() runs, and
 * (for small models) the whole mode spectrum by dense eigendecomposition.
 * Control thread only.
 *
 * Why the criterion is lambda_max(M^-1 (K + 2C/dt))·dt² < 4. The engine's
 * semi-implicit Euler with damping on the pre-step velocity is, for a
 * linear network, the recurrence
 *     M (x⁺ − 2x + x⁻) = −dt² K x − dt C (x − x⁻).
 * Writing the backward difference as the centred one minus half the second
 * difference turns it into a scheme with centred (purely dissipative)
 * damping and an effective mass M − (dt/2) C. Its discrete energy is
 * positive, hence the scheme stable, while
 *     M − (dt/2) C − (dt²/4) K > 0,
 * i.e. while every eigenvalue of M^-1 (K + 2C/dt) is below 4/dt². For one
 * degree of freedom with a = ω²dt², b = (c/m)dt this is a + 2b < 4, which
 * together with b < 2 is exactly where both roots of
 * z² − (2 − a − b) z + (1 − b) lie inside the unit circle; for a network it
 * is sufficient (and exact when K and C share eigenvectors). The per-body
 * test b = lambda_max(C_ii)·dt/m_i < 2 is the necessary condition
 * M − (dt/2) C > 0 on each body's own block; it is implied by the main one
 * unless springs are compressed, and it gives the clearer message when
 * damping alone is the problem.
 *
 * Each spring contributes the 3×3 block k·uuᵀ + (T/ℓ)(I − uuᵀ), T = k(ℓ − L),
 * to K (k·I when L = 0, which is exact: the force is then k·d) and c·uuᵀ to
 * C; drag adds γ·I on its body. Anchors are fixed and drop out. A spring of
 * zero initial length has no direction: with L = 0 its block is exactly
 * k·I; with L > 0 it is degenerate (the force direction is undefined at
 * rest) and we take k·I and c·I, the stiffest it can be in any direction. */
#include <lapacke.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/analysis.h"
#include "model/analysis_modes.h"
#include "model/model.h"
#include "model/model_modulation.h"

/* Power iteration stops when the Rayleigh quotient changes by less than
 * this (relative) from one iteration to the next... */
#define POWER_TOLERANCE 1e-9
/* ...or after this many iterations, or sooner for big models: the work
 * budget counts spring and body updates, about 2·10⁸ of them (a second or
 * two), so a 100,000-spring network still compiles quickly. */
#define POWER_MAX_ITERATIONS 20000u
#define POWER_MIN_ITERATIONS 1000u
#define POWER_WORK_BUDGET 2e8

/* The Rayleigh quotient approaches lambda_max from below. When it has
 * converged geometrically (a clear gap under the top) its error is far
 * below POWER_SAFETY_CONVERGED. When it hits the iteration cap, the
 * eigenvalues are packed just under the top (long chains, big lattices) and
 * after k iterations the error is about c·lambda/k, with c = 1/4 for a
 * chain, 1/2 for a membrane and 3/4 for a 3D lattice (from how densely the
 * eigenvalues crowd the top of the spectrum; measured: a 100,000-body chain
 * after 1000 iterations is 2.6·10⁻⁴ low). The margin is then 1/k. The
 * stability decision uses the estimate raised by the margin, capped by the
 * Gershgorin bound (a true upper bound). */
#define POWER_SAFETY_CONVERGED 1e-6

/* Eigenvalues below this fraction of the largest magnitude count as zero
 * (rigid) modes: dense eigenvalues carry absolute errors of about
 * n·eps·|lambda_max| ≈ 4·10⁻¹³·|lambda_max| for n = 1800. The threshold is
 * a frequency ratio of 10⁻⁵ (0.2 Hz under a 20 kHz top mode). */
#define RIGID_THRESHOLD 1e-10

typedef struct LinearSpring {
    uint32_t index; /* in model->springs */
    uint32_t p, q;  /* point indices (body when < n_bodies) */
    double u[3];    /* unit direction p -> q; zero when degenerate */
    /* K block = k_iso·I + k_axial·uuᵀ; C block = c_iso·I + c_axial·uuᵀ. */
    double k_iso, k_axial;
    double c_iso, c_axial;
} LinearSpring;

typedef struct Linearised {
    const SprungModel *model;
    uint32_t n_bodies;
    uint32_t n_springs;       /* springs touching at least one body, then contacts */
    uint32_t n_contacts;      /* collisions, plucks and bows (add_contacts) */
    LinearSpring *springs;
    double *inv_sqrt_mass;    /* per body */
    double *drag;             /* per body */
    bool damped;              /* any spring damping or drag */
    double *work;             /* 3 vectors of 3·n_bodies */

    /* The undamped largest eigenvalue, computed on first use. */
    bool have_undamped;
    double undamped_estimate; /* the Rayleigh quotient */
    double undamped_safe;     /* raised by the safety margin, capped by Gershgorin */
} Linearised;

typedef struct Verdict {
    double rate;
    double lambda_damped; /* safe estimate of lambda_max(M^-1 (K + 2C/dt)) */
    double damping_b;     /* largest lambda_max(C_ii)·dt/m_i */
    uint32_t damping_body;
    bool stable;
} Verdict;

double sprung_mode_frequency(double lambda, double engine_rate)
{
    if (!(lambda > 0.0))
        return 0.0;
    double half_omega_dt = 0.5 * sqrt(lambda) / engine_rate;
    if (half_omega_dt >= 1.0)
        return NAN;
    return engine_rate / M_PI * asin(half_omega_dt);
}

static void linearised_free(Linearised *lin)
{
    free(lin->springs);
    free(lin->inv_sqrt_mass);
    free(lin->drag);
    free(lin->work);
    memset(lin, 0, sizeof *lin);
}

/* Contacts count as engaged springs (a contact spring is a spring while in
 * contact): a collision with a plane adds k·nnᵀ and c·nnᵀ to its body, one
 * with another point k·I and c·I between the two (isotropic: the contact
 * may come from any side), a pluck its plectrum stiffness along its
 * direction to a fixed point, a bow the steepest slope of its friction
 * force, F_n·mu_s/v_eps (the sticking region), as damping along its
 * direction. Their index is n_springs + k (not a spring of the model). */
static void add_contact(Linearised *lin, uint32_t p, uint32_t q, SprungVec3 axis, double k_iso,
                        double k_axial, double c_iso, double c_axial)
{
    LinearSpring *ls = &lin->springs[lin->n_springs++];
    double norm = sqrt(axis.x * axis.x + axis.y * axis.y + axis.z * axis.z);
    ls->index = lin->model->n_springs + lin->n_contacts++;
    ls->p = p;
    ls->q = q;
    ls->u[0] = norm > 0.0 ? axis.x / norm : 0.0;
    ls->u[1] = norm > 0.0 ? axis.y / norm : 0.0;
    ls->u[2] = norm > 0.0 ? axis.z / norm : 0.0;
    ls->k_iso = k_iso;
    ls->k_axial = k_axial;
    ls->c_iso = c_iso;
    ls->c_axial = c_axial;
    if (c_iso > 0.0 || c_axial > 0.0)
        lin->damped = true;
}

static void add_contacts(const SprungModel *model, Linearised *lin)
{
    const uint32_t fixed = model->n_bodies; /* any index >= n_bodies is a fixed point */
    const SprungVec3 none = {0.0, 0.0, 0.0};
    for (uint32_t i = 0; i < model->n_collisions; i++) {
        const SprungModelCollision *c = &model->collisions[i];
        if (c->other_id)
            add_contact(lin, c->body, c->other_point, none, c->stiffness, 0.0, c->damping, 0.0);
        else
            add_contact(lin, c->body, fixed, c->plane_normal, 0.0, c->stiffness, 0.0, c->damping);
    }
    for (uint32_t i = 0; i < model->n_plucks; i++)
        add_contact(lin, model->plucks[i].target_body, fixed, model->plucks[i].direction, 0.0,
                    model->plucks[i].stiffness, 0.0, 0.0);
    for (uint32_t i = 0; i < model->n_bows; i++) {
        const SprungModelExciter *bow = &model->bows[i];
        add_contact(lin, bow->target_body, fixed, bow->direction, 0.0, 0.0, 0.0,
                    bow->strength * bow->static_friction / bow->stick_velocity);
    }
}

static SprungStatus linearise(const SprungModel *model, Linearised *lin)
{
    memset(lin, 0, sizeof *lin);
    lin->model = model;
    uint32_t nb = model->n_bodies;
    lin->n_bodies = nb;
    size_t nb_alloc = nb ? nb : 1;
    lin->inv_sqrt_mass = malloc(nb_alloc * sizeof *lin->inv_sqrt_mass);
    lin->drag = malloc(nb_alloc * sizeof *lin->drag);
    size_t n_contacts = (size_t)model->n_collisions + model->n_plucks + model->n_bows;
    lin->springs = malloc((model->n_springs + n_contacts + 1) * sizeof *lin->springs);
    lin->work = malloc(3 * 3 * nb_alloc * sizeof *lin->work);
    if (!lin->inv_sqrt_mass || !lin->drag || !lin->springs || !lin->work) {
        linearised_free(lin);
        return SPRUNG_ERROR_NO_MEMORY;
    }
    for (uint32_t i = 0; i < nb; i++) {
        const SprungModelBody *body = &model->bodies[i];
        if (!(body->mass > 0.0) || !isfinite(body->mass)) {
            linearised_free(lin);
            return SPRUNG_ERROR_INVALID_ARGUMENT; /* the loader rejects these */
        }
        lin->inv_sqrt_mass[i] = 1.0 / sqrt(body->mass);
        lin->drag[i] = body->drag;
        if (body->drag > 0.0)
            lin->damped = true;
    }
    for (uint32_t s = 0; s < model->n_springs; s++) {
        const SprungModelSpring *spring = &model->springs[s];
        if (spring->from_point >= nb && spring->to_point >= nb)
            continue; /* anchor to anchor: no free degree of freedom */
        LinearSpring *ls = &lin->springs[lin->n_springs++];
        ls->index = s;
        ls->p = spring->from_point;
        ls->q = spring->to_point;
        SprungVec3 xp = sprung_model_point_position(model, ls->p);
        SprungVec3 xq = sprung_model_point_position(model, ls->q);
        double d[3] = {xq.x - xp.x, xq.y - xp.y, xq.z - xp.z};
        double length = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
        double k = spring->stiffness, c = spring->damping, rest = spring->rest_length;
        if (length > 0.0) {
            for (int a = 0; a < 3; a++)
                ls->u[a] = d[a] / length;
            /* T/ℓ: the transverse stiffness of a pre-stressed spring. */
            double tension_per_length = rest == 0.0 ? k : k * (length - rest) / length;
            ls->k_iso = tension_per_length;
            ls->k_axial = k - tension_per_length;
            ls->c_iso = 0.0;
            ls->c_axial = c;
        } else {
            ls->k_iso = k;
            ls->k_axial = 0.0;
            ls->c_iso = c;
            ls->c_axial = 0.0;
        }
        if (c > 0.0)
            lin->damped = true;
    }
    add_contacts(model, lin);
    return SPRUNG_OK;
}

/* y = M^-1/2 (K + s·C) M^-1/2 x + shift·x, over springs (never dense). */
static void apply_operator(const Linearised *lin, double s, double shift, const double *x,
                           double *y, double *scaled)
{
    uint32_t nb = lin->n_bodies;
    for (uint32_t i = 0; i < nb; i++)
        for (int a = 0; a < 3; a++) {
            scaled[3 * i + a] = x[3 * i + a] * lin->inv_sqrt_mass[i];
            y[3 * i + a] = 0.0;
        }
    static const double anchored[3] = {0.0, 0.0, 0.0};
    for (uint32_t j = 0; j < lin->n_springs; j++) {
        const LinearSpring *ls = &lin->springs[j];
        const double *wp = ls->p < nb ? &scaled[3 * ls->p] : anchored;
        const double *wq = ls->q < nb ? &scaled[3 * ls->q] : anchored;
        double iso = ls->k_iso + s * ls->c_iso;
        double axial = ls->k_axial + s * ls->c_axial;
        double d[3] = {wq[0] - wp[0], wq[1] - wp[1], wq[2] - wp[2]};
        double along = ls->u[0] * d[0] + ls->u[1] * d[1] + ls->u[2] * d[2];
        for (int a = 0; a < 3; a++) {
            double f = iso * d[a] + axial * along * ls->u[a];
            if (ls->p < nb)
                y[3 * ls->p + a] -= f;
            if (ls->q < nb)
                y[3 * ls->q + a] += f;
        }
    }
    for (uint32_t i = 0; i < nb; i++)
        for (int a = 0; a < 3; a++) {
            double v = y[3 * i + a] + s * lin->drag[i] * scaled[3 * i + a];
            y[3 * i + a] = v * lin->inv_sqrt_mass[i] + shift * x[3 * i + a];
        }
}

static void spring_block(const LinearSpring *ls, double s, double block[3][3])
{
    double iso = ls->k_iso + s * ls->c_iso;
    double axial = ls->k_axial + s * ls->c_axial;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            block[a][b] = (a == b ? iso : 0.0) + axial * ls->u[a] * ls->u[b];
}

/* Gershgorin bounds on the spectrum of M^-1/2 (K + s·C) M^-1/2. `scratch`
 * holds 12 doubles per body. */
static void gershgorin_bounds(const Linearised *lin, double s, double *scratch, double *lower,
                              double *upper)
{
    uint32_t nb = lin->n_bodies;
    double *diag = scratch;           /* 9 per body: the body's own block */
    double *radius = scratch + 9 * nb; /* 3 per body: off-diagonal row sums */
    memset(scratch, 0, 12 * (size_t)nb * sizeof *scratch);
    for (uint32_t j = 0; j < lin->n_springs; j++) {
        const LinearSpring *ls = &lin->springs[j];
        double block[3][3];
        spring_block(ls, s, block);
        uint32_t ends[2] = {ls->p, ls->q};
        for (int e = 0; e < 2; e++) {
            if (ends[e] >= nb)
                continue;
            uint32_t i = ends[e], other = ends[1 - e];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    diag[9 * i + 3 * a + b] += block[a][b];
            if (other < nb) {
                double scale = lin->inv_sqrt_mass[i] * lin->inv_sqrt_mass[other];
                for (int a = 0; a < 3; a++)
                    radius[3 * i + a] +=
                        scale * (fabs(block[a][0]) + fabs(block[a][1]) + fabs(block[a][2]));
            }
        }
    }
    double lo = nb ? INFINITY : 0.0, hi = nb ? -INFINITY : 0.0;
    for (uint32_t i = 0; i < nb; i++) {
        double inv_mass = lin->inv_sqrt_mass[i] * lin->inv_sqrt_mass[i];
        for (int a = 0; a < 3; a++) {
            double centre = (diag[9 * i + 4 * a] + s * lin->drag[i]) * inv_mass;
            double r = radius[3 * i + a];
            for (int b = 0; b < 3; b++)
                if (b != a)
                    r += fabs(diag[9 * i + 3 * a + b]) * inv_mass;
            lo = fmin(lo, centre - r);
            hi = fmax(hi, centre + r);
        }
    }
    *lower = lo;
    *upper = hi;
}

/* Largest eigenvalue of a symmetric 3×3 matrix (closed form). */
static double symmetric3_max_eigenvalue(const double m[3][3])
{
    double off = m[0][1] * m[0][1] + m[0][2] * m[0][2] + m[1][2] * m[1][2];
    if (off == 0.0)
        return fmax(m[0][0], fmax(m[1][1], m[2][2]));
    double mean = (m[0][0] + m[1][1] + m[2][2]) / 3.0;
    double d0 = m[0][0] - mean, d1 = m[1][1] - mean, d2 = m[2][2] - mean;
    double p = sqrt((d0 * d0 + d1 * d1 + d2 * d2 + 2.0 * off) / 6.0);
    double b[3][3];
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++)
            b[a][c] = (m[a][c] - (a == c ? mean : 0.0)) / p;
    double det = b[0][0] * (b[1][1] * b[2][2] - b[1][2] * b[2][1]) -
                 b[0][1] * (b[1][0] * b[2][2] - b[1][2] * b[2][0]) +
                 b[0][2] * (b[1][0] * b[2][1] - b[1][1] * b[2][0]);
    double r = fmax(-1.0, fmin(1.0, det / 2.0));
    return mean + 2.0 * p * cos(acos(r) / 3.0);
}

/* Largest lambda_max(C_ii)/m_i over bodies: the per-body damping rate that
 * b = rate·dt must keep below 2. */
static double damping_rate_max(const Linearised *lin, double *scratch, uint32_t *which)
{
    uint32_t nb = lin->n_bodies;
    memset(scratch, 0, 9 * (size_t)nb * sizeof *scratch);
    for (uint32_t j = 0; j < lin->n_springs; j++) {
        const LinearSpring *ls = &lin->springs[j];
        double block[3][3];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                block[a][b] = (a == b ? ls->c_iso : 0.0) + ls->c_axial * ls->u[a] * ls->u[b];
        uint32_t ends[2] = {ls->p, ls->q};
        for (int e = 0; e < 2; e++)
            if (ends[e] < nb)
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++)
                        scratch[9 * ends[e] + 3 * a + b] += block[a][b];
    }
    double best = 0.0;
    *which = 0;
    for (uint32_t i = 0; i < nb; i++) {
        double m[3][3];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                m[a][b] = scratch[9 * i + 3 * a + b] + (a == b ? lin->drag[i] : 0.0);
        double rate = symmetric3_max_eigenvalue(m) * lin->inv_sqrt_mass[i] * lin->inv_sqrt_mass[i];
        if (rate > best) {
            best = rate;
            *which = i;
        }
    }
    return best;
}

/* The largest eigenvalue of M^-1 (K + s·C) by power iteration on the
 * symmetric form, with the Rayleigh quotient as the estimate. Returns the
 * estimate; *safe gets it raised by the safety margin and capped by the
 * Gershgorin upper bound. */
static double power_iteration(Linearised *lin, double s, double *safe)
{
    uint32_t n = 3 * lin->n_bodies;
    double lower, upper;
    if (n == 0 || lin->n_springs == 0) {
        /* No springs: the operator is diagonal (drag only) or zero. */
        double best = 0.0;
        for (uint32_t i = 0; i < lin->n_bodies; i++)
            best = fmax(best, s * lin->drag[i] * lin->inv_sqrt_mass[i] * lin->inv_sqrt_mass[i]);
        *safe = best;
        return best;
    }
    double *scratch = malloc(12 * (size_t)lin->n_bodies * sizeof *scratch);
    if (!scratch) {
        /* Fall back on the bound alone; it is safe, just pessimistic. */
        *safe = INFINITY;
        return INFINITY;
    }
    gershgorin_bounds(lin, s, scratch, &lower, &upper);
    free(scratch);
    /* Compressed springs can make the operator indefinite; shift it so the
     * eigenvalue of largest magnitude is the largest one. */
    double shift = lower < 0.0 ? -lower : 0.0;

    double *x = lin->work, *y = lin->work + n, *scaled = lin->work + 2 * n;
    /* A fixed pseudo-random start: reproducible, and with a component along
     * the top eigenvector for any model we will meet. */
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    double norm = 0.0;
    for (uint32_t r = 0; r < n; r++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[r] = (double)(seed >> 11) / 9007199254740992.0 - 0.5;
        norm += x[r] * x[r];
    }
    norm = sqrt(norm);
    for (uint32_t r = 0; r < n; r++)
        x[r] /= norm;

    double work_per_iteration = (double)lin->n_springs + (double)lin->n_bodies;
    double budget = POWER_WORK_BUDGET / work_per_iteration;
    uint32_t cap = budget >= POWER_MAX_ITERATIONS ? POWER_MAX_ITERATIONS
                   : budget <= POWER_MIN_ITERATIONS ? POWER_MIN_ITERATIONS
                                                    : (uint32_t)budget;
    double rho = 0.0, previous = 0.0;
    bool converged = false;
    uint32_t it;
    for (it = 1; it <= cap; it++) {
        apply_operator(lin, s, shift, x, y, scaled);
        rho = 0.0;
        norm = 0.0;
        for (uint32_t r = 0; r < n; r++) {
            rho += x[r] * y[r];
            norm += y[r] * y[r];
        }
        norm = sqrt(norm);
        if (norm == 0.0) {
            converged = true;
            break;
        }
        for (uint32_t r = 0; r < n; r++)
            x[r] = y[r] / norm;
        if (it > 8 && fabs(rho - previous) <= POWER_TOLERANCE * fabs(rho)) {
            converged = true;
            break;
        }
        previous = rho;
    }
    double estimate = rho - shift;
    double margin = converged ? POWER_SAFETY_CONVERGED : 1.0 / (double)cap;
    if (margin < POWER_SAFETY_CONVERGED)
        margin = POWER_SAFETY_CONVERGED;
    *safe = fmin(upper, fmax(estimate, 0.0) * (1.0 + margin));
    if (*safe < estimate)
        *safe = estimate;
    return estimate;
}

static void undamped_lambda(Linearised *lin)
{
    if (!lin->have_undamped) {
        lin->undamped_estimate = power_iteration(lin, 0.0, &lin->undamped_safe);
        lin->have_undamped = true;
    }
}

/* Stability at one engine rate. With `need_value` false, a Gershgorin bound
 * that already proves stability spares the power iteration. */
static Verdict judge(Linearised *lin, double rate, bool need_value)
{
    Verdict v = {.rate = rate};
    double dt = 1.0 / rate;
    double s = 2.0 * rate; /* 2/dt */
    uint32_t nb = lin->n_bodies;
    double *scratch = malloc(12 * (size_t)(nb ? nb : 1) * sizeof *scratch);
    if (!scratch) {
        v.lambda_damped = INFINITY;
        return v;
    }
    v.damping_b = damping_rate_max(lin, scratch, &v.damping_body) * dt;
    double lower, upper;
    gershgorin_bounds(lin, lin->damped ? s : 0.0, scratch, &lower, &upper);
    free(scratch);
    if (!need_value && upper * dt * dt < 4.0) {
        v.lambda_damped = upper;
    } else if (!lin->damped) {
        undamped_lambda(lin);
        v.lambda_damped = lin->undamped_safe;
    } else {
        double safe;
        power_iteration(lin, s, &safe);
        v.lambda_damped = safe;
    }
    v.stable = v.lambda_damped * dt * dt < 4.0 && v.damping_b < 2.0;
    return v;
}

/* The spring that most limits the step: the largest diagonal contribution
 * (k + s·c)(1/m_p + 1/m_q). */
static uint32_t stiffest_spring(const Linearised *lin, double s)
{
    uint32_t best_index = 0;
    double best = -1.0;
    for (uint32_t j = 0; j < lin->n_springs; j++) {
        const LinearSpring *ls = &lin->springs[j];
        double iso = ls->k_iso + s * ls->c_iso, axial = ls->k_axial + s * ls->c_axial;
        double stiffness = fmax(fabs(iso), fabs(iso + axial));
        double inv_mass = 0.0;
        if (ls->p < lin->n_bodies)
            inv_mass += lin->inv_sqrt_mass[ls->p] * lin->inv_sqrt_mass[ls->p];
        if (ls->q < lin->n_bodies)
            inv_mass += lin->inv_sqrt_mass[ls->q] * lin->inv_sqrt_mass[ls->q];
        if (stiffness * inv_mass > best) {
            best = stiffness * inv_mass;
            best_index = ls->index;
        }
    }
    return best_index;
}

static const char *id_or_blank(const char *id)
{
    return id ? id : "";
}

/* An instanced preset unstable at its highest playable note: names the
 * highest stable note (stability only improves as a voice's dt shrinks, so
 * a bisection over notes finds it) and the oversampling that would make
 * the whole range stable. Frees `lin`. */
static SprungStatus voices_unstable(const SprungModel *model, Linearised *lin,
                                    double sample_rate, uint32_t oversampling,
                                    SprungError *error)
{
    const SprungModelInstrument *spec = model->instrument;
    double rate = sample_rate * oversampling;
    int high = spec->note_high, root = spec->root;
    /* Largest stable note in [0, high), or -1. */
    int lo = -1, hi = high; /* lo stable (or -1), hi unstable */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (judge(lin, rate / exp2((mid - root) / 12.0), false).stable)
            lo = mid;
        else
            hi = mid;
    }
    uint32_t cure = 0;
    static const uint32_t factors[] = {2, 4};
    for (size_t f = 0; f < sizeof factors / sizeof factors[0] && !cure; f++)
        if (factors[f] > oversampling &&
            judge(lin, sample_rate * factors[f] / exp2((high - root) / 12.0), false).stable)
            cure = factors[f];
    Verdict here = judge(lin, rate / exp2((high - root) / 12.0), true);
    double with = sqrt(fmax(here.lambda_damped, 0.0)) / (rate / exp2((high - root) / 12.0));
    linearised_free(lin);
    char fix[160];
    if (cure)
        snprintf(fix, sizeof fix, "; or use oversampling %u", cure);
    else
        fix[0] = '\0';
    if (lo < 0)
        return sprung_error_set(error, SPRUNG_ERROR_UNSTABLE, model->source, 0, 0, "voices.notes",
                                "instanced mode: no note is stable (the voice of note 0 steps at "
                                "dt·2^((0 − %d)/12) and is still unstable); lower the stiffest "
                                "springs or raise the masses%s",
                                root, fix);
    return sprung_error_set(error, SPRUNG_ERROR_UNSTABLE, model->source, 0, 0, "voices.notes",
                            "instanced mode: the voice of note %d (the highest playable) steps "
                            "at dt·2^((%d − %d)/12) and is unstable there (sqrt(λ)·dt_voice = "
                            "%.3f, < 2 required); the highest stable note is %d: play at most "
                            "\"notes\": [%d, %d]%s",
                            high, high, root, with, lo, spec->note_low < lo ? spec->note_low : lo,
                            lo, fix);
}

SprungStatus sprung_model_check_stability(const SprungModel *model, double sample_rate,
                                          uint32_t oversampling, SprungError *error)
{
    const char *source = model ? model->source : NULL;
    if (!model || !(sample_rate > 0.0) || !isfinite(sample_rate) || oversampling == 0)
        return sprung_error_set(error, SPRUNG_ERROR_INVALID_ARGUMENT, source, 0, 0, NULL,
                                "stability check: invalid sample rate or oversampling");
    Linearised lin;
    SprungStatus status = linearise(model, &lin);
    if (status != SPRUNG_OK)
        return sprung_error_set(error, status, source, 0, 0, NULL,
                                "stability check: %s", sprung_strerror(status));
    double rate = sample_rate * oversampling;
    /* Instanced mode: a voice steps with dt·2^((note + bend − root)/12),
     * bends clamped to the highest playable note, so that note's voice is
     * the one to check; it steps as the network would at rate / scale. */
    const SprungModelInstrument *spec = model->instrument;
    bool voices = spec && spec->voices;
    double scale = voices ? exp2((spec->note_high - spec->root) / 12.0) : 1.0;
    Verdict here = judge(&lin, rate / scale, false);
    if (here.stable) {
        linearised_free(&lin);
        return SPRUNG_OK;
    }
    if (voices)
        return voices_unstable(model, &lin, sample_rate, oversampling, error);
    /* Unstable: find the cure. Stability only improves as dt shrinks, so
     * only larger factors can help. */
    static const uint32_t factors[] = {1, 2, 4};
    uint32_t cure = 0;
    for (size_t f = 0; f < sizeof factors / sizeof factors[0] && !cure; f++)
        if (factors[f] > oversampling && judge(&lin, sample_rate * factors[f], false).stable)
            cure = factors[f];
    /* For the message we want the actual value, not just a failed bound. */
    here = judge(&lin, rate, true);

    char where[96];
    if (oversampling == 1)
        snprintf(where, sizeof where, "%g Hz", rate);
    else
        snprintf(where, sizeof where, "%g Hz (%g Hz × oversampling %u)", rate, sample_rate,
                 oversampling);
    double dt = 1.0 / rate;
    char reason[256];
    bool damping_alone = here.damping_b >= 2.0;
    bool damping_caused = false;
    if (damping_alone) {
        uint32_t b = here.damping_body;
        snprintf(reason, sizeof reason,
                 "damping alone is unstable at bodies[%u] (\"%s\"): (c/m)·dt = %.3g (< 2 required)",
                 b, id_or_blank(model->bodies[b].id), here.damping_b);
    } else {
        undamped_lambda(&lin);
        double with = sqrt(fmax(here.lambda_damped, 0.0)) * dt;
        double without = sqrt(fmax(lin.undamped_estimate, 0.0)) * dt;
        damping_caused = lin.damped && without < 2.0;
        if (damping_caused)
            snprintf(reason, sizeof reason,
                     "damping makes the stiffest mode unstable: sqrt(λ)·dt = %.3f with damping "
                     "(< 2 required; %.3f without)",
                     with, without);
        else
            snprintf(reason, sizeof reason,
                     "the stiffest mode needs sqrt(λ)·dt = %.3f (< 2 required)", with);
    }
    char fix[320];
    if (cure) {
        snprintf(fix, sizeof fix, "use oversampling %u", cure);
    } else if (damping_alone || damping_caused) {
        uint32_t b = here.damping_body;
        snprintf(fix, sizeof fix,
                 "not stable even at oversampling 4: lower the damping (drag and spring damping "
                 "at bodies[%u] \"%s\") or raise the masses",
                 b, id_or_blank(model->bodies[b].id));
    } else {
        uint32_t sp = stiffest_spring(&lin, lin.damped ? 2.0 * rate : 0.0);
        if (sp >= model->n_springs)
            snprintf(fix, sizeof fix,
                     "not stable even at oversampling 4: lower the contact stiffness of the "
                     "collisions and plucks (or a bow's force/stick_velocity), or raise the "
                     "masses");
        else
            snprintf(fix, sizeof fix,
                     "not stable even at oversampling 4: lower the stiffest springs (e.g. "
                     "springs[%u] \"%s\") or raise their masses",
                     sp, model->n_springs ? id_or_blank(model->springs[sp].id) : "");
    }
    linearised_free(&lin);
    return sprung_error_set(error, SPRUNG_ERROR_UNSTABLE, source, 0, 0, NULL,
                            "unstable at %s: %s; %s", where, reason, fix);
}

/* Fills a dense row-major M^-1/2 K M^-1/2 (n = 3·bodies). */
static void dense_stiffness(const Linearised *lin, double *a, uint32_t n)
{
    uint32_t nb = lin->n_bodies;
    memset(a, 0, (size_t)n * n * sizeof *a);
    for (uint32_t j = 0; j < lin->n_springs; j++) {
        const LinearSpring *ls = &lin->springs[j];
        double block[3][3];
        spring_block(ls, 0.0, block);
        uint32_t p = ls->p, q = ls->q;
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) {
                double v = block[r][c];
                if (p < nb) {
                    double sp = lin->inv_sqrt_mass[p];
                    a[(size_t)(3 * p + r) * n + 3 * p + c] += v * sp * sp;
                }
                if (q < nb) {
                    double sq = lin->inv_sqrt_mass[q];
                    a[(size_t)(3 * q + r) * n + 3 * q + c] += v * sq * sq;
                }
                if (p < nb && q < nb) {
                    double cross = v * lin->inv_sqrt_mass[p] * lin->inv_sqrt_mass[q];
                    a[(size_t)(3 * p + r) * n + 3 * q + c] -= cross;
                    a[(size_t)(3 * q + r) * n + 3 * p + c] -= cross;
                }
            }
    }
}

static SprungStatus modes_from_linearised(const Linearised *lin, double engine_rate,
                                          SprungModes *out)
{
    memset(out, 0, sizeof *out);
    uint32_t n = 3 * lin->n_bodies;
    if (n > SPRUNG_ANALYSIS_DENSE_MAX_DOF)
        return SPRUNG_ERROR_UNSUPPORTED;
    out->count = n;
    out->engine_rate = engine_rate;
    size_t alloc = n ? n : 1;
    out->eigenvalues = malloc(alloc * sizeof *out->eigenvalues);
    out->frequencies_hz = malloc(alloc * sizeof *out->frequencies_hz);
    double *a = malloc(alloc * alloc * sizeof *a);
    if (!out->eigenvalues || !out->frequencies_hz || !a) {
        free(a);
        sprung_modes_free(out);
        return SPRUNG_ERROR_NO_MEMORY;
    }
    if (n > 0) {
        dense_stiffness(lin, a, n);
        lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)n, a,
                                         (lapack_int)n, out->eigenvalues);
        if (info != 0) {
            free(a);
            sprung_modes_free(out);
            return info < 0 ? SPRUNG_ERROR_INVALID_ARGUMENT : SPRUNG_ERROR_NO_MEMORY;
        }
    }
    free(a);
    double scale = n ? fmax(fabs(out->eigenvalues[0]), fabs(out->eigenvalues[n - 1])) : 0.0;
    double threshold = RIGID_THRESHOLD * scale;
    for (uint32_t r = 0; r < n; r++) {
        double lambda = out->eigenvalues[r];
        if (fabs(lambda) <= threshold) {
            out->rigid++;
            out->frequencies_hz[r] = 0.0;
        } else if (lambda < 0.0) {
            out->negative++;
            out->frequencies_hz[r] = 0.0;
        } else {
            out->frequencies_hz[r] = sprung_mode_frequency(lambda, engine_rate);
        }
    }
    return SPRUNG_OK;
}

SprungStatus sprung_model_modes(const SprungModel *model, double engine_rate, SprungModes *out)
{
    if (!out)
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (!model || !(engine_rate > 0.0) || !isfinite(engine_rate))
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    if (3ull * model->n_bodies > SPRUNG_ANALYSIS_DENSE_MAX_DOF)
        return SPRUNG_ERROR_UNSUPPORTED;
    Linearised lin;
    SprungStatus status = linearise(model, &lin);
    if (status != SPRUNG_OK)
        return status;
    status = modes_from_linearised(&lin, engine_rate, out);
    linearised_free(&lin);
    return status;
}

void sprung_modes_free(SprungModes *modes)
{
    if (!modes)
        return;
    free(modes->eigenvalues);
    free(modes->frequencies_hz);
    memset(modes, 0, sizeof *modes);
}

/* min_oversampling treats engine_rate as the rate at oversampling 1 and
 * tries engine_rate × 1, 2, 4. lambda_max comes from the dense
 * eigendecomposition when the model is small enough (exact), else from
 * power iteration (a slight underestimate); lambda_max_damped is always the
 * safe power-iteration estimate the engine's own check uses, so `stable`
 * here agrees with sprung_engine_new(). Without a dense decomposition
 * rigid_modes and lowest_mode_hz are 0 (unknown). */
SprungStatus sprung_model_analyze(const SprungModel *model, double engine_rate,
                                  SprungAnalysis *out)
{
    if (!out)
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (!model || !(engine_rate > 0.0) || !isfinite(engine_rate))
        return SPRUNG_ERROR_INVALID_ARGUMENT;
    Linearised lin;
    SprungStatus status = linearise(model, &lin);
    if (status != SPRUNG_OK)
        return status;
    out->engine_rate = engine_rate;

    SprungModes modes;
    status = modes_from_linearised(&lin, engine_rate, &modes);
    if (status == SPRUNG_OK) {
        out->modes_exact = 1;
        out->rigid_modes = modes.rigid;
        out->lambda_max = modes.count ? fmax(modes.eigenvalues[modes.count - 1], 0.0) : 0.0;
        /* Rigid and buckling modes have frequency 0; an unstable one NaN. */
        for (uint32_t r = 0; r < modes.count; r++)
            if (modes.eigenvalues[r] > 0.0 && modes.frequencies_hz[r] != 0.0) {
                out->lowest_mode_hz = modes.frequencies_hz[r];
                break;
            }
        sprung_modes_free(&modes);
    } else if (status == SPRUNG_ERROR_UNSUPPORTED) {
        undamped_lambda(&lin);
        out->lambda_max = fmax(lin.undamped_estimate, 0.0);
    } else {
        linearised_free(&lin);
        return status;
    }
    out->highest_mode_hz = sprung_mode_frequency(out->lambda_max, engine_rate);

    Verdict here = judge(&lin, engine_rate, true);
    double dt = 1.0 / engine_rate;
    out->lambda_max_damped = here.lambda_damped;
    out->stability_margin = 4.0 - here.lambda_damped * dt * dt;
    out->stable = here.stable;
    static const uint32_t factors[] = {1, 2, 4};
    for (size_t f = 0; f < sizeof factors / sizeof factors[0]; f++) {
        bool stable = factors[f] == 1 ? here.stable
                                      : judge(&lin, engine_rate * factors[f], false).stable;
        if (stable) {
            out->min_oversampling = factors[f];
            break;
        }
    }
    linearised_free(&lin);
    return SPRUNG_OK;
}
