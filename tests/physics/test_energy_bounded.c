/* An undamped, pre-stressed, nonlinear 3D network keeps its discrete energy
 * bounded over 60 s of simulated time (2.88 M steps at 48 kHz).
 *
 * Two energies are computed, in double, from the engine state every 64
 * steps (engine_internal.h), both counted from the pre-stressed rest state
 * (so the vibration is measured, not the large constant pre-stress energy)
 * and relative to the initial vibration energy E0:
 *  - the plain energy H = Σ ½m v² + Σ ½k(ℓ - L)² at (x_{n+1}, v_{n+1}).
 *    Symplectic Euler makes it oscillate by O(ω·dt) around a constant: it
 *    must stay within a band and its average may not drift.
 *  - the modified energy H̃ = Σ ½m v² + V(x_n) + (dt/2)·v·∇V(x_n) with
 *    v = v_{n+1}, x_n = x_{n+1} - dt·v_{n+1}. For a linear network this is
 *    exactly what semi-implicit Euler conserves (it equals
 *    ½v·Mv + ½x_{n+1}·K·x_n); for this nonlinear one it is conserved up to
 *    O(dt²) terms that grow with the amplitude, so it must stay flat to a
 *    much tighter bound.
 *
 * Amplitude. Measured on this network (sqrt(λ_max)·dt = 0.5), the modified
 * energy wanders by about 2.7·10⁻² of E0 at 0.05 m/s, 3.6·10⁻⁴ at 5 m/s and
 * 1.6·10⁻³ at 20 m/s: at tiny amplitudes float32 loses the vibration force
 * in the cancelling pre-stress forces of neighbouring springs (relative
 * error ~ 6·10⁻⁸·(ℓ - L)/amplitude), at large ones the nonlinear O(dt²)
 * terms grow. 5 m/s (displacements of about 0.5 % of the spacing) sits
 * between the two.
 *
 * Bounds, with their measured values (deterministic: the kernel's float
 * operations are fixed): plain excursion < 20 % (10 %), plain drift < 1e-3
 * (1.6·10⁻⁴), modified excursion < 1e-3 (3.6·10⁻⁴), modified drift < 5e-4
 * (8·10⁻⁵).
 *
 * Two sabotage switches, each registered as a test that must fail:
 *  --sabotage               feeds energy in slowly: velocities scaled by
 *                           1 + 2·10⁻⁶ every 4096 steps, about +0.15 % of
 *                           E0 over the run, far less than any real
 *                           integrator bug; the modified-energy drift
 *                           catches it (measured 1.45·10⁻³ > 5·10⁻⁴);
 *  --sabotage=explicit-euler steps the same state with the same kernel
 *                           forces but x_{n+1} = x_n + dt·v_n: each mode's
 *                           energy grows by 1 + ω²dt² per step and
 *                           overflows within milliseconds. */
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "physics_common.h"

enum { NX = 3, NY = 3, NZ = 2, NB = NX * NY * NZ };
/* Stiffest mode sqrt(λ)·dt and initial speeds up to VMAX m/s (see above). */
#define OMEGA_DT 0.5
#define VMAX 5.0

static double random_uniform(uint64_t *seed, double lo, double hi)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * ((double)(*seed >> 11) / 9007199254740992.0);
}

/* The network as JSON, stiffnesses scaled by `scale`: a 3×3×2 cubic
 * lattice of bodies with random masses, springs along the lattice lines
 * (random stiffnesses), and anchors closing every line at the boundary.
 * Each line carries its own random tension T (10-30 % of k·ℓ for its
 * softest spring), each spring's rest length is ℓ - T/k, so every body is
 * in equilibrium at rest while every spring is pre-stressed: the transverse
 * stiffness comes from tension alone, and the motion is geometrically
 * nonlinear. Initial velocities are random, up to VMAX. */
static void build_network(PhysJson *json, double scale)
{
    const double spacing = 0.1;
    uint64_t seed = 12345;
    phys_json_add(json, "{\"sprung\": 1, \"name\": \"lattice\", \"bodies\": [");
    for (int b = 0; b < NB; b++) {
        int i = b % NX, j = (b / NX) % NY, k = b / (NX * NY);
        double mass = random_uniform(&seed, 0.5e-3, 2e-3);
        phys_json_add(json,
                      "%s{\"id\": \"b%d\", \"position\": [%.17g, %.17g, %.17g], \"mass\": %.17g,"
                      " \"velocity\": [%.17g, %.17g, %.17g]}",
                      b ? ", " : "", b, spacing * (i + 1), spacing * (j + 1), spacing * (k + 1), mass,
                      random_uniform(&seed, -VMAX, VMAX), random_uniform(&seed, -VMAX, VMAX),
                      random_uniform(&seed, -VMAX, VMAX));
    }
    /* Lines: for each axis, each line of bodies along it, from the anchor
     * before the first body to the anchor after the last. */
    const int dims[3] = {NX, NY, NZ};
    PhysJson anchors = {0}, springs = {0};
    int n_anchors = 0, n_springs = 0;
    for (int axis = 0; axis < 3; axis++) {
        int a1 = (axis + 1) % 3, a2 = (axis + 2) % 3;
        for (int c1 = 0; c1 < dims[a1]; c1++)
            for (int c2 = 0; c2 < dims[a2]; c2++) {
                int length = dims[axis];
                double k_line[NX + NY + NZ + 2];
                double k_min = INFINITY;
                for (int s = 0; s <= length; s++) {
                    k_line[s] = scale * random_uniform(&seed, 2e4, 1e5);
                    k_min = fmin(k_min, k_line[s]);
                }
                double tension = k_min * spacing * random_uniform(&seed, 0.1, 0.3);
                char ends[2][16];
                for (int e = 0; e < 2; e++) {
                    double p[3];
                    p[axis] = e ? spacing * (length + 1) : 0.0;
                    p[a1] = spacing * (c1 + 1);
                    p[a2] = spacing * (c2 + 1);
                    snprintf(ends[e], sizeof ends[e], "a%d", n_anchors);
                    phys_json_add(&anchors, "%s{\"id\": \"a%d\", \"position\": [%.17g, %.17g, %.17g]}",
                                  n_anchors ? ", " : "", n_anchors, p[0], p[1], p[2]);
                    n_anchors++;
                }
                for (int s = 0; s <= length; s++) {
                    char from[16], to[16];
                    int coord[3];
                    coord[a1] = c1;
                    coord[a2] = c2;
                    for (int e = 0; e < 2; e++) {
                        char *name = e ? to : from;
                        int along = s - 1 + e;
                        if (along < 0 || along >= length) {
                            snprintf(name, 16, "%s", ends[along < 0 ? 0 : 1]);
                        } else {
                            coord[axis] = along;
                            snprintf(name, 16, "b%d", coord[0] + NX * (coord[1] + NY * coord[2]));
                        }
                    }
                    phys_json_add(&springs,
                                  "%s{\"id\": \"s%d\", \"from\": \"%s\", \"to\": \"%s\", \"stiffness\": %.17g,"
                                  " \"rest_length\": %.17g}",
                                  n_springs ? ", " : "", n_springs, from, to, k_line[s],
                                  spacing - tension / k_line[s]);
                    n_springs++;
                }
            }
    }
    phys_json_add(json, "], \"anchors\": [%s], \"springs\": [%s]", anchors.text, springs.text);
    phys_json_add(json, ", \"microphones\": [{\"id\": \"mic\", \"target\": \"b4\", \"axis\": [1, 1, 1]}]}");
    phys_json_free(&anchors);
    phys_json_free(&springs);
}

typedef struct Energies {
    double plain, modified;
} Energies;

static Energies energies(const SprungCompiled *c, const SprungState *s)
{
    double dt = (float)c->dt; /* the kernel steps with (float)dt */
    double kinetic = 0.0;
    for (uint32_t i = 0; i < c->n_bodies; i++) {
        double m = 1.0 / c->inv_mass[i];
        kinetic += 0.5 * m * ((double)s->vx[i] * s->vx[i] + (double)s->vy[i] * s->vy[i] +
                              (double)s->vz[i] * s->vz[i]);
    }
    double potential_now = 0.0, potential_before = 0.0, correction = 0.0;
    for (uint32_t k = 0; k < c->n_springs; k++) {
        uint32_t p = c->spring_p[k], q = c->spring_q[k];
        double u_now[2][3] = {{s->ux[p], s->uy[p], s->uz[p]}, {s->ux[q], s->uy[q], s->uz[q]}};
        double v[2][3] = {{s->vx[p], s->vy[p], s->vz[p]}, {s->vx[q], s->vy[q], s->vz[q]}};
        double d0[3] = {c->spring_d0_x[k], c->spring_d0_y[k], c->spring_d0_z[k]};
        double d_now[3], d_before[3], dv[3];
        for (int a = 0; a < 3; a++) {
            d_now[a] = d0[a] + u_now[1][a] - u_now[0][a];
            dv[a] = v[1][a] - v[0][a];
            d_before[a] = d_now[a] - dt * dv[a];
        }
        double l_now = sqrt(d_now[0] * d_now[0] + d_now[1] * d_now[1] + d_now[2] * d_now[2]);
        double l_before =
            sqrt(d_before[0] * d_before[0] + d_before[1] * d_before[1] + d_before[2] * d_before[2]);
        double l_rest = sqrt(d0[0] * d0[0] + d0[1] * d0[1] + d0[2] * d0[2]);
        double stiffness = c->spring_stiffness[k], rest = c->spring_rest_length[k];
        /* Potential above the pre-stressed rest state:
         * ½k[(ℓ-L)² - (ℓ0-L)²] = ½k·e·(e + 2(ℓ0-L)), e = ℓ - ℓ0, so the
         * large constant pre-stress energy never swamps the vibration. */
        double e_now = l_now - l_rest, e_before = l_before - l_rest;
        potential_now += 0.5 * stiffness * e_now * (e_now + 2.0 * (l_rest - rest));
        potential_before += 0.5 * stiffness * e_before * (e_before + 2.0 * (l_rest - rest));
        /* v·∇V: the spring's potential changes at rate k(ℓ-L)·(dv·d/ℓ). */
        double rate = stiffness * (l_before - rest) *
                      (dv[0] * d_before[0] + dv[1] * d_before[1] + dv[2] * d_before[2]) / l_before;
        correction += 0.5 * dt * rate;
    }
    return (Energies){kinetic + potential_now, kinetic + potential_before + correction};
}

/* --sabotage=explicit-euler: `steps` steps of the engine's own state with
 * the kernel's forces but explicit Euler (position from the old velocity). */
static void explicit_euler(const SprungCompiled *compiled, const SprungState *state, uint32_t steps,
                           float *old_vx, float *old_vy, float *old_vz)
{
    SprungStepModel model = sprung_compiled_step_model(compiled);
    SprungStepState view = sprung_state_step_view(state);
    for (uint32_t n = 0; n < steps; n++) {
        for (uint32_t s = 0; s < model.n_springs; s++)
            sprung_spring_force(s, &model, &view);
        for (uint32_t i = 0; i < model.n_nodes; i++) {
            old_vx[i] = view.vx[i];
            old_vy[i] = view.vy[i];
            old_vz[i] = view.vz[i];
            float ux = view.ux[i], uy = view.uy[i], uz = view.uz[i];
            sprung_node_integrate(i, &model, &view);
            view.ux[i] = ux + model.dt * old_vx[i];
            view.uy[i] = uy + model.dt * old_vy[i];
            view.uz[i] = uz + model.dt * old_vz[i];
        }
    }
}

int main(int argc, char **argv)
{
    enum { HONEST, SLOW_GAIN, EXPLICIT_EULER } mode = HONEST;
    if (argc > 1 && strcmp(argv[1], "--sabotage") == 0)
        mode = SLOW_GAIN;
    else if (argc > 1 && strcmp(argv[1], "--sabotage=explicit-euler") == 0)
        mode = EXPLICIT_EULER;
    else if (argc > 1) {
        fprintf(stderr, "usage: %s [--sabotage | --sabotage=explicit-euler]\n", argv[0]);
        return 2;
    }
    /* Scale the stiffnesses so the stiffest mode has sqrt(λ)·dt = OMEGA_DT. */
    PhysJson json = {0};
    build_network(&json, 1.0);
    SprungModel *model = phys_load(json.text, "lattice.json");
    SprungAnalysis analysis;
    sprung_model_analyze(model, PHYS_FS, &analysis);
    double scale = pow(OMEGA_DT * PHYS_FS, 2) / analysis.lambda_max;
    sprung_model_free(model);
    phys_json_free(&json);
    build_network(&json, scale);
    model = phys_load(json.text, "lattice.json");
    sprung_model_analyze(model, PHYS_FS, &analysis);
    SprungModelCounts counts = sprung_model_counts(model);
    printf("network: %u bodies, %u springs; sqrt(lambda_max)·dt = %.3f, modes %.0f..%.0f Hz\n",
           counts.bodies, counts.springs, sqrt(analysis.lambda_max) / PHYS_FS,
           analysis.lowest_mode_hz, analysis.highest_mode_hz);

    SprungEngine *engine = phys_engine(model, 1);
    const SprungCompiled *compiled = sprung_engine_compiled(engine);
    const SprungState *state = sprung_engine_state(engine);
    float *old_v = malloc(3 * compiled->n_nodes * sizeof *old_v);

    /* The energy is sampled every 64 steps (45,000 samples), so the
     * averages that measure drift are not swamped by the oscillation. */
    const uint32_t block = 64;
    const uint64_t total = 60ull * 48000ull;
    const uint32_t n_blocks = (uint32_t)(total / block);
    Energies *history = malloc((n_blocks + 1) * sizeof *history);
    history[0] = energies(compiled, state);
    bool finite = true;
    for (uint32_t b = 0; b < n_blocks; b++) {
        if (mode == EXPLICIT_EULER) {
            explicit_euler(compiled, state, block, old_v, old_v + compiled->n_nodes,
                           old_v + 2 * compiled->n_nodes);
        } else {
            phys_render(engine, block, block, NULL, 0, NULL, NULL);
            state = sprung_engine_state(engine);
        }
        if (mode == SLOW_GAIN && b % 64 == 63) {
            /* The CPU reference backend steps this host state in place. */
            const float boost = 1.000002f;
            for (uint32_t i = 0; i < compiled->n_bodies; i++) {
                state->vx[i] *= boost;
                state->vy[i] *= boost;
                state->vz[i] *= boost;
            }
        }
        history[b + 1] = energies(compiled, state);
        if (!isfinite(history[b + 1].plain) || !isfinite(history[b + 1].modified)) {
            printf("energy not finite after %.4f s\n", (double)(b + 1) * block / PHYS_FS);
            finite = false;
            break;
        }
    }
    phys_check(finite, "the energy stays finite for 60 s");
    if (!finite)
        return phys_exit("test_energy_bounded (sabotaged)");

    /* Drift: the mean over the last tenth of the run against the mean over
     * the first tenth; excursion: the largest single deviation from E0. */
    double e0 = history[0].plain;
    uint32_t tenth = (n_blocks + 1) / 10;
    double first[2] = {0, 0}, last[2] = {0, 0}, worst[2] = {0, 0};
    for (uint32_t b = 0; b < tenth; b++) {
        first[0] += history[b].plain / tenth;
        first[1] += history[b].modified / tenth;
        last[0] += history[n_blocks - b].plain / tenth;
        last[1] += history[n_blocks - b].modified / tenth;
    }
    for (uint32_t b = 0; b <= n_blocks; b++) {
        worst[0] = fmax(worst[0], fabs(history[b].plain - e0) / e0);
        worst[1] = fmax(worst[1], fabs(history[b].modified - e0) / e0);
    }
    for (int s = 0; s <= 6; s++) {
        uint32_t b = (uint32_t)((uint64_t)n_blocks * s / 6);
        printf("  t = %4.1f s: plain %.6f, modified %.6f (× E0)\n", (double)b * block / PHYS_FS,
               history[b].plain / e0, history[b].modified / e0);
    }
    double drift[2] = {(last[0] - first[0]) / e0, (last[1] - first[1]) / e0};
    printf("E0 = %.6g J; plain: excursion %.2e, drift %+.2e; modified: excursion %.2e, drift %+.2e\n",
           e0, worst[0], drift[0], worst[1], drift[1]);

    const double plain_excursion = 0.2, plain_drift = 1e-3;
    const double modified_excursion = 1e-3, modified_drift = 5e-4;
    phys_check(worst[0] < plain_excursion, "plain energy stays within %.0f %% of E0 (%.3f %%)",
               100 * plain_excursion, 100 * worst[0]);
    phys_check(fabs(drift[0]) < plain_drift, "plain energy does not drift: %.2e (< %.0e)",
               fabs(drift[0]), plain_drift);
    phys_check(worst[1] < modified_excursion, "modified energy stays within %.2f %% of E0 (%.4f %%)",
               100 * modified_excursion, 100 * worst[1]);
    phys_check(fabs(drift[1]) < modified_drift, "modified energy does not drift: %.2e (< %.0e)",
               fabs(drift[1]), modified_drift);

    free(history);
    free(old_v);
    sprung_engine_free(engine);
    sprung_model_free(model);
    phys_json_free(&json);
    return phys_exit(mode == HONEST ? "test_energy_bounded" : "test_energy_bounded (sabotaged)");
}
