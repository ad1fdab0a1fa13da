/* The microphones' pan law (engine/mic_pan.h): the gains kept for a pan are
 * cos and sin of (pan + 1)π/4 bit for bit, as the law computed afresh with
 * libm's cos() and sin() (the pan law uses sincos(), which must not move a
 * bit: renders and the GPU backends rely on the same gains), over a fine
 * sweep of pans, the ends and a few hundred thousand random ones; and a
 * pan set again unchanged keeps its gains. */
#include <string.h>

#include "engine/mic_pan.h"
#include "engine_test_util.h"

static uint64_t bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static void check_pan(double pan)
{
    SprungMicPan p;
    sprung_mic_pan_init(&p, pan);
    double angle = (pan + 1.0) * M_PI / 4.0;
    CHECK(bits(p.left) == bits(cos(angle)) && bits(p.right) == bits(sin(angle)),
          "pan %.17g: gains %a, %a where cos and sin give %a, %a", pan, p.left, p.right,
          cos(angle), sin(angle));
}

int main(void)
{
    for (int i = -100000; i <= 100000; i++)
        check_pan(i / 100000.0);
    uint64_t state = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 300000; i++) { /* xorshift64: pans anywhere in [-1, 1] */
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        check_pan(2.0 * (double)(state >> 11) * 0x1.0p-53 - 1.0);
    }

    SprungMicPan p;
    sprung_mic_pan_init(&p, 0.25);
    p.left = p.right = 7.0; /* marks: a set with the same pan must not recompute */
    sprung_mic_pan_set(&p, 0.25);
    CHECK(p.left == 7.0 && p.right == 7.0, "an unchanged pan recomputed its gains");
    sprung_mic_pan_set(&p, -0.5);
    CHECK(p.pan == -0.5 && p.left != 7.0, "a new pan kept the old gains");

    if (test_failures) {
        fprintf(stderr, "%d check(s) failed\n", test_failures);
        return 1;
    }
    printf("engine mic pan: ok\n");
    return 0;
}
