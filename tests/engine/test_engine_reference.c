/* The float32 kernel against DESIGN.md §1 written out again, independently
 * and plainly, in double precision with absolute positions: springs (damped,
 * pre-stressed, rest length 0), drag, initial velocity, mallet pulses and
 * both microphone signals. The engine (oversampling 1, no filter) must match
 * it to a normalised error Σ(a-b)²/Σa² below 1e-8 (the accuracy DESIGN.md
 * asks of a float32 engine against a float64 one).
 *
 * Sabotage: SPRUNG_TEST_SABOTAGE=1 flips the sign of the damping term in the
 * double model, and the test must then fail. */
#include "engine_test_util.h"
#include "model/model.h"

#define FRAMES 24000u
#define RATE 48000.0

static const char *const gentle_json =
    "{'sprung': 1, 'name': 'gentle',"
    " 'bodies': ["
    "  {'id': 'b1', 'position': [0.1, 0.003, 0], 'mass': 0.01, 'drag': 0.002},"
    "  {'id': 'b2', 'position': [0.2, 0, 0.004], 'mass': 0.02, 'velocity': [0, 0.003, 0]},"
    "  {'id': 'b3', 'position': [0.31, 0.01, 0], 'mass': 0.012},"
    "  {'id': 'b4', 'position': [0.2, 0.1, 0.05], 'mass': 0.03}],"
    " 'anchors': [{'id': 'a1', 'position': [0, 0, 0]}, {'id': 'a2', 'position': [0.4, 0, 0]},"
    "             {'id': 'a3', 'position': [0.2, 0.1, 0.05]}],"
    " 'springs': ["
    "  {'id': 's1', 'from': 'a1', 'to': 'b1', 'stiffness': 4000, 'damping': 0.02,"
    "   'rest_length': 0.098},"
    "  {'id': 's2', 'from': 'b1', 'to': 'b2', 'stiffness': 3000, 'damping': 0.01,"
    "   'rest_length': 0.097},"
    "  {'id': 's3', 'from': 'b2', 'to': 'b3', 'stiffness': 5000},"
    "  {'id': 's4', 'from': 'b3', 'to': 'a2', 'stiffness': 2000, 'rest_length': 0.095},"
    "  {'id': 's5', 'from': 'b2', 'to': 'b4', 'stiffness': 800, 'damping': 0.004},"
    "  {'id': 's6', 'from': 'a3', 'to': 'b4', 'stiffness': 1500, 'rest_length': 0}],"
    " 'mallets': ["
    "  {'id': 'm1', 'target': 'b1', 'direction': [0, 1, 0.2], 'strength': 0.0005},"
    "  {'id': 'm2', 'target': 'b4', 'direction': [1, 1, 1], 'strength': 0.001,"
    "   'duration_ms': 3}],"
    " 'microphones': ["
    "  {'id': 'mic1', 'target': 'b1', 'axis': [0, 1, 0], 'pan': -0.5},"
    "  {'id': 'mic2', 'target': 'b2', 'axis': [1, 1, 0], 'signal': 'velocity', 'gain': 0.01,"
    "   'pan': 0.7},"
    "  {'id': 'mic3', 'target': 'b4', 'axis': [0, 0, 1], 'gain': 2}]}";

typedef struct Pulse {
    uint32_t mallet;
    double impulse;
    uint32_t step; /* next step; >= N: done */
} Pulse;

/* DESIGN.md §1 in double. */
static void reference_render(const SprungModel *model, const SprungEvent *events,
                             uint32_t n_events, double *left, double *right, int sabotage)
{
    uint32_t nb = model->n_bodies, np = nb + model->n_anchors;
    double dt = 1.0 / RATE;
    SprungVec3 *x = test_alloc(np * sizeof *x), *v = test_alloc(np * sizeof *v);
    SprungVec3 *force = test_alloc(np * sizeof *force);
    for (uint32_t p = 0; p < np; p++)
        x[p] = sprung_model_point_position(model, p);
    for (uint32_t b = 0; b < nb; b++)
        v[b] = model->bodies[b].velocity;
    Pulse pulses[64];
    uint32_t n_pulses = 0, e = 0;

    for (uint32_t frame = 0; frame < FRAMES; frame++) {
        for (; e < n_events && events[e].frame == frame; e++)
            for (uint32_t m = 0; m < model->n_mallets; m++)
                if (events[e].velocity > 0 && events[e].note >= model->mallets[m].note_low &&
                    events[e].note <= model->mallets[m].note_high)
                    pulses[n_pulses++] = (Pulse){m, model->mallets[m].strength *
                                                        events[e].velocity / 127.0, 0};
        memset(force, 0, np * sizeof *force);
        for (uint32_t s = 0; s < model->n_springs; s++) {
            const SprungModelSpring *spring = &model->springs[s];
            uint32_t p = spring->from_point, q = spring->to_point;
            double d[3] = {x[q].x - x[p].x, x[q].y - x[p].y, x[q].z - x[p].z};
            double dv[3] = {v[q].x - v[p].x, v[q].y - v[p].y, v[q].z - v[p].z};
            double length = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
            if (length == 0.0)
                continue; /* no direction: no force (k·d = 0 for L = 0) */
            double u[3] = {d[0] / length, d[1] / length, d[2] / length};
            double damping = (sabotage ? -1.0 : 1.0) * spring->damping *
                             (dv[0] * u[0] + dv[1] * u[1] + dv[2] * u[2]);
            double f = spring->stiffness * (length - spring->rest_length) + damping;
            force[p].x += f * u[0], force[p].y += f * u[1], force[p].z += f * u[2];
            force[q].x -= f * u[0], force[q].y -= f * u[1], force[q].z -= f * u[2];
        }
        for (uint32_t k = 0; k < n_pulses; k++) {
            const SprungModelMallet *mallet = &model->mallets[pulses[k].mallet];
            double n = fmax(1.0, round(mallet->duration_ms * 1e-3 * RATE));
            if (pulses[k].step >= n)
                continue;
            double shape = n == 1.0 ? 1.0 / dt
                                    : (1.0 - cos(2.0 * M_PI * (pulses[k].step + 0.5) / n)) /
                                          (n * dt);
            SprungVec3 dir = mallet->direction;
            double norm = sqrt(dir.x * dir.x + dir.y * dir.y + dir.z * dir.z);
            double f = pulses[k].impulse * shape / norm;
            uint32_t b = mallet->target_body;
            force[b].x += f * dir.x, force[b].y += f * dir.y, force[b].z += f * dir.z;
            pulses[k].step++;
        }
        for (uint32_t b = 0; b < nb; b++) {
            double w = 1.0 / model->bodies[b].mass, gamma = model->bodies[b].drag;
            v[b].x += dt * (force[b].x - gamma * v[b].x) * w;
            v[b].y += dt * (force[b].y - gamma * v[b].y) * w;
            v[b].z += dt * (force[b].z - gamma * v[b].z) * w;
            x[b].x += dt * v[b].x, x[b].y += dt * v[b].y, x[b].z += dt * v[b].z;
        }
        left[frame] = right[frame] = 0.0;
        for (uint32_t i = 0; i < model->n_microphones; i++) {
            const SprungModelMicrophone *mic = &model->microphones[i];
            uint32_t b = mic->target_body;
            SprungVec3 a = mic->axis, x0 = model->bodies[b].position;
            double norm = sqrt(a.x * a.x + a.y * a.y + a.z * a.z);
            double signal = mic->signal == SPRUNG_MIC_VELOCITY
                                ? v[b].x * a.x + v[b].y * a.y + v[b].z * a.z
                                : (x[b].x - x0.x) * a.x + (x[b].y - x0.y) * a.y +
                                      (x[b].z - x0.z) * a.z;
            signal *= mic->gain / norm;
            double angle = (mic->pan + 1.0) * M_PI / 4.0;
            left[frame] += cos(angle) * signal;
            right[frame] += sin(angle) * signal;
        }
    }
    free(x);
    free(v);
    free(force);
}

static double nmse(const float *a, const double *b, uint32_t n)
{
    double err = 0.0, energy = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        double diff = (double)a[i] - b[i];
        err += diff * diff;
        energy += b[i] * b[i];
    }
    return err / energy;
}

int main(void)
{
    const char *sabotage_env = getenv("SPRUNG_TEST_SABOTAGE");
    int sabotage = sabotage_env && sabotage_env[0] == '1';
    SprungModel *model = test_model(gentle_json);
    SprungEvent events[] = {test_note_on(100, 60, 100), test_note_on(3001, 64, 127),
                            test_note_on(3002, 64, 90), test_note_on(12345, 30, 64)};
    uint32_t n_events = sizeof events / sizeof events[0];

    static float left[FRAMES], right[FRAMES];
    static double ref_left[FRAMES], ref_right[FRAMES];
    SprungEngine *engine = test_engine(model, RATE, 1000, 1);
    CHECK(test_render(engine, events, n_events, FRAMES, 1000, left, right, 0), "render");
    reference_render(model, events, n_events, ref_left, ref_right, sabotage);
    double e_left = nmse(left, ref_left, FRAMES), e_right = nmse(right, ref_right, FRAMES);
    printf("float32 engine vs float64 DESIGN.md §1: NMSE left %.2e, right %.2e%s\n", e_left,
           e_right, sabotage ? " (sabotaged reference)" : "");
    CHECK(test_peak(left, FRAMES) > 1e-5, "silent render");
    CHECK(e_left < 1e-8 && e_right < 1e-8, "engine does not follow DESIGN.md §1");

    sprung_engine_free(engine);
    sprung_model_free(model);
    if (test_failures) {
        fprintf(stderr, "%d check(s) failed\n", test_failures);
        return 1;
    }
    printf("engine reference: ok\n");
    return 0;
}
