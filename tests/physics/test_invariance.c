/* Translating or rotating a whole preset leaves its sound unchanged.
 *
 * A small 3D model (five bodies, three anchors, pre-stressed and damped
 * springs, a zero-length spring, a mallet, a position and a velocity
 * microphone, starting in equilibrium) is rendered with notes three times: as written, translated by
 * (1000, -500, 250) m, and rotated (positions, initial velocities, mallet
 * directions and microphone axes) and then translated.
 *
 * Tolerances, relative to the peak output:
 *  - translation: 1e-6. The engine works on displacements from rest and on
 *    rest vectors d0 = x0_q - x0_p taken in double, so a kilometre offset
 *    only perturbs d0 by double rounding (~10⁻¹³ m) before it is rounded to
 *    float32: the renders agree essentially bit for bit. An engine that
 *    simulated absolute float32 positions would have 6·10⁻⁵ m resolution at
 *    1000 m and fail by orders of magnitude.
 *  - rotation: 1e-4. Rotated rest vectors and axes round differently to
 *    float32 (relative 6·10⁻⁸), which shifts each mode's frequency by about
 *    that much; the phase error grows as 2π·f·t·δ while the damped sound
 *    decays, and stays of order 10⁻⁵ of the peak over this render. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "physics_common.h"

typedef struct Transform {
    double rotation[3][3];
    double offset[3];
} Transform;

static void apply(const Transform *t, const double in[3], double out[3], int is_point)
{
    for (int r = 0; r < 3; r++) {
        out[r] = is_point ? t->offset[r] : 0.0;
        for (int c = 0; c < 3; c++)
            out[r] += t->rotation[r][c] * in[c];
    }
}

static const double body_pos[5][3] = {
    {0.00, 0.00, 0.00}, {0.12, 0.01, -0.02}, {0.05, 0.11, 0.03}, {0.02, 0.04, 0.13}, {0.14, 0.12, 0.10}};
static const double body_mass[5] = {2e-3, 1.5e-3, 1e-3, 2.5e-3, 1.2e-3};
static const double body_vel[5][3] = {{0, 0, 0}, {0, 0, 0}, {0.02, -0.01, 0}, {0, 0, 0}, {0, 0, 0}};
/* a0 and a1 sit symmetrically about b0, so their two equally pre-stressed
 * springs balance; a2 sits on b4, joined by a zero-length spring (ℓ = L = 0,
 * the exactly linear case). The model starts in equilibrium. */
static const double anchor_pos[3][3] = {{-0.1, -0.05, 0.02}, {0.1, 0.05, -0.02}, {0.14, 0.12, 0.10}};

/* from, to (anchors are 5, 6, 7), k, c, rest length as a fraction of the
 * initial distance (-1: the default, i.e. the initial distance; 0: zero) */
static const struct {
    int from, to;
    double k, c, rest_scale;
} springs[] = {
    {5, 0, 4e4, 0.2, 0.9},  {0, 6, 4e4, 0.2, 0.9}, {0, 1, 3e4, 0.0, -1},  {0, 2, 2.5e4, 0.1, -1},
    {0, 3, 3.5e4, 0.0, -1}, {1, 2, 2e4, 0.0, -1},  {1, 4, 3e4, 0.15, -1}, {2, 4, 2e4, 0.0, -1},
    {3, 4, 2.2e4, 0.1, -1}, {2, 3, 1.8e4, 0.0, -1}, {7, 4, 5e3, 0.05, 0},  {1, 3, 1e4, 0.0, -1},
};

static void point(PhysJson *json, const Transform *t, const double p[3], int is_point)
{
    double q[3];
    apply(t, p, q, is_point);
    phys_json_add(json, "[%.17g, %.17g, %.17g]", q[0], q[1], q[2]);
}

static void build(PhysJson *json, const Transform *t)
{
    phys_json_add(json, "{\"sprung\": 1, \"name\": \"invariance\", \"bodies\": [");
    for (int b = 0; b < 5; b++) {
        phys_json_add(json, "%s{\"id\": \"b%d\", \"mass\": %.17g, \"drag\": 0.02, \"position\": ",
                      b ? ", " : "", b, body_mass[b]);
        point(json, t, body_pos[b], 1);
        phys_json_add(json, ", \"velocity\": ");
        point(json, t, body_vel[b], 0);
        phys_json_add(json, "}");
    }
    phys_json_add(json, "], \"anchors\": [");
    for (int a = 0; a < 3; a++) {
        phys_json_add(json, "%s{\"id\": \"a%d\", \"position\": ", a ? ", " : "", a);
        point(json, t, anchor_pos[a], 1);
        phys_json_add(json, "}");
    }
    phys_json_add(json, "], \"springs\": [");
    for (size_t s = 0; s < sizeof springs / sizeof springs[0]; s++) {
        char from[8], to[8];
        snprintf(from, sizeof from, springs[s].from >= 5 ? "a%d" : "b%d",
                 springs[s].from >= 5 ? springs[s].from - 5 : springs[s].from);
        snprintf(to, sizeof to, springs[s].to >= 5 ? "a%d" : "b%d",
                 springs[s].to >= 5 ? springs[s].to - 5 : springs[s].to);
        phys_json_add(json,
                      "%s{\"id\": \"s%zu\", \"from\": \"%s\", \"to\": \"%s\", \"stiffness\": %.17g,"
                      " \"damping\": %.17g",
                      s ? ", " : "", s, from, to, springs[s].k, springs[s].c);
        if (springs[s].rest_scale >= 0) {
            /* Rest lengths are distances: the same in every frame (computed
             * from the untransformed geometry). */
            const double *pf = springs[s].from >= 5 ? anchor_pos[springs[s].from - 5]
                                                    : body_pos[springs[s].from];
            const double *pt = springs[s].to >= 5 ? anchor_pos[springs[s].to - 5]
                                                  : body_pos[springs[s].to];
            double d = sqrt(pow(pt[0] - pf[0], 2) + pow(pt[1] - pf[1], 2) + pow(pt[2] - pf[2], 2));
            phys_json_add(json, ", \"rest_length\": %.17g", springs[s].rest_scale * d);
        }
        phys_json_add(json, "}");
    }
    static const double mallet_dir[3] = {0.3, 0.8, 0.5};
    static const double axis0[3] = {1.0, 0.2, 0.0}, axis1[3] = {0.0, 0.5, 1.0};
    phys_json_add(json, "], \"mallets\": [{\"id\": \"m\", \"target\": \"b0\", \"strength\": 0.002,"
                        " \"duration_ms\": 0.8, \"direction\": ");
    point(json, t, mallet_dir, 0);
    phys_json_add(json, "}], \"microphones\": [{\"id\": \"mic0\", \"target\": \"b2\", \"pan\": -0.5,"
                        " \"axis\": ");
    point(json, t, axis0, 0);
    phys_json_add(json, "}, {\"id\": \"mic1\", \"target\": \"b4\", \"signal\": \"velocity\","
                        " \"gain\": 0.01, \"pan\": 0.6, \"axis\": ");
    point(json, t, axis1, 0);
    phys_json_add(json, "}]}");
}

static void render(const Transform *t, uint32_t n, float *left, float *right)
{
    PhysJson json = {0};
    build(&json, t);
    SprungModel *model = phys_load(json.text, "invariance.json");
    SprungEngine *engine = phys_engine(model, 1);
    const SprungEvent events[] = {
        {.frame = 100, .type = SPRUNG_EVENT_NOTE_ON, .note = 60, .velocity = 100},
        {.frame = 12000, .type = SPRUNG_EVENT_NOTE_OFF, .note = 60},
        {.frame = 20000, .type = SPRUNG_EVENT_NOTE_ON, .note = 64, .velocity = 127},
    };
    phys_render(engine, n, 512, events, sizeof events / sizeof events[0], left, right);
    sprung_engine_free(engine);
    sprung_model_free(model);
    phys_json_free(&json);
}

/* Rotation about a unit axis by `angle` (Rodrigues). */
static void rotation(double axis_x, double axis_y, double axis_z, double angle, double r[3][3])
{
    double n = sqrt(axis_x * axis_x + axis_y * axis_y + axis_z * axis_z);
    double x = axis_x / n, y = axis_y / n, z = axis_z / n, c = cos(angle), s = sin(angle), t = 1 - c;
    double m[3][3] = {{t * x * x + c, t * x * y - s * z, t * x * z + s * y},
                      {t * x * y + s * z, t * y * y + c, t * y * z - s * x},
                      {t * x * z - s * y, t * y * z + s * x, t * z * z + c}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            r[i][j] = m[i][j];
}

static double compare(const float *a_left, const float *a_right, const float *b_left,
                      const float *b_right, uint32_t n, double *peak_out)
{
    double peak = 0, worst = 0;
    for (uint32_t k = 0; k < n; k++) {
        peak = fmax(peak, fmax(fabs(a_left[k]), fabs(a_right[k])));
        worst = fmax(worst, fmax(fabs((double)a_left[k] - b_left[k]),
                                 fabs((double)a_right[k] - b_right[k])));
    }
    *peak_out = peak;
    return worst / peak;
}

int main(void)
{
    const uint32_t n = 48000;
    float *ref[2], *moved[2], *turned[2];
    for (int c = 0; c < 2; c++) {
        ref[c] = malloc(n * sizeof(float));
        moved[c] = malloc(n * sizeof(float));
        turned[c] = malloc(n * sizeof(float));
    }
    Transform identity = {.rotation = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
    Transform translate = identity;
    translate.offset[0] = 1000.0;
    translate.offset[1] = -500.0;
    translate.offset[2] = 250.0;
    Transform rotate = translate;
    rotation(1.0, 2.0, 3.0, 0.7, rotate.rotation);

    render(&identity, n, ref[0], ref[1]);
    render(&translate, n, moved[0], moved[1]);
    render(&rotate, n, turned[0], turned[1]);

    double peak;
    double moved_error = compare(ref[0], ref[1], moved[0], moved[1], n, &peak);
    phys_check(peak > 0, "the reference render is not silent (peak %.3g)", peak);
    double turned_error = compare(ref[0], ref[1], turned[0], turned[1], n, &peak);
    phys_check(moved_error <= 1e-6, "translated by (1000, -500, 250) m: max |diff| / peak = %.2e (<= 1e-6)",
               moved_error);
    phys_check(turned_error <= 1e-4, "rotated and translated: max |diff| / peak = %.2e (<= 1e-4)",
               turned_error);
    for (int c = 0; c < 2; c++) {
        free(ref[c]);
        free(moved[c]);
        free(turned[c]);
    }
    return phys_exit("test_invariance");
}
