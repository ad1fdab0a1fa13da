/* A panned microphone's pan law, g·cos((pan + 1)π/4) to the left and
 * g·sin((pan + 1)π/4) to the right (compile.c sets the preset's gains, the
 * modulation the routed ones), with the cosine and sine kept for the
 * current pan: a route that modulates a microphone's gain every output
 * frame then costs two multiplies, not two libm calls (those were a third
 * of the vibraphone preset's render time). The gains come out bit for bit
 * as computed afresh. Private to src/engine/; audio thread, no
 * allocation. */
#ifndef SPRUNG_ENGINE_MIC_PAN_H
#define SPRUNG_ENGINE_MIC_PAN_H

#include <math.h>

#ifndef M_PI
#  define M_PI 3.14159265358979323846
#endif

typedef struct SprungMicPan {
    double pan; /* -1 (left) .. 1 (right) */
    double left, right; /* cos and sin of (pan + 1)π/4 */
} SprungMicPan;

static inline void sprung_mic_pan_init(SprungMicPan *p, double pan)
{
    double angle = (pan + 1.0) * M_PI / 4.0;
    p->pan = pan;
    /* glibc's sincos (a GNU extension: _GNU_SOURCE is defined for the whole
     * build) reduces the angle once for both and gives the bits of cos()
     * and sin() (compared on 2e8 arguments): a swaying pan is two libm
     * calls per frame less. */
    sincos(angle, &p->right, &p->left);
}

/* A new pan: the law is worked out again only when the pan changed. */
static inline void sprung_mic_pan_set(SprungMicPan *p, double pan)
{
    if (pan != p->pan)
        sprung_mic_pan_init(p, pan);
}

#endif
