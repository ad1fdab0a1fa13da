/* RealtimeSanitizer sections for the modulation and voice engine tests: when
 * the test is linked with the rtsan runtime (SPRUNG_TEST_RTSAN), the code
 * between RT_ENTER() and RT_EXIT() dies on any allocation, lock or I/O;
 * otherwise they do nothing. RT_INIT() once at the start of main. Checks
 * (CHECK) run outside the sections: they print. rt_render() drives an engine
 * block by block with every process() call inside a section. */
#ifndef SPRUNG_TESTS_RT_SECTION_H
#define SPRUNG_TESTS_RT_SECTION_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sprung/engine.h"

#ifdef SPRUNG_TEST_RTSAN
void __rtsan_init(void);
void __rtsan_realtime_enter(void);
void __rtsan_realtime_exit(void);
#  define RT_INIT() __rtsan_init()
#  define RT_ENTER() __rtsan_realtime_enter()
#  define RT_EXIT() __rtsan_realtime_exit()
#else
#  define RT_INIT() ((void)0)
#  define RT_ENTER() ((void)0)
#  define RT_EXIT() ((void)0)
#endif

#define CHECK(condition, ...)                                                       \
    do {                                                                            \
        if (!(condition)) {                                                         \
            fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #condition); \
            fprintf(stderr, __VA_ARGS__);                                           \
            fprintf(stderr, "\n");                                                  \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

/* Renders n frames in blocks of `block`, events at absolute frames (at most
 * 64 per block). */
static inline void rt_render(SprungEngine *engine, const SprungEvent *events, uint32_t n_events,
                             uint32_t n, uint32_t block, float *left, float *right)
{
    SprungEvent local[64];
    uint32_t next = 0;
    for (uint32_t first = 0; first < n; first += block) {
        uint32_t frames = n - first < block ? n - first : block;
        uint32_t count = 0;
        while (next < n_events && events[next].frame < first + frames && count < 64) {
            local[count] = events[next++];
            local[count].frame -= first;
            count++;
        }
        float *outputs[2] = {left + first, right + first};
        SprungBlock b = {.n_frames = frames, .events = local, .n_events = count,
                         .outputs = outputs, .n_outputs = 2};
        RT_ENTER();
        SprungStatus status = sprung_engine_process(engine, &b);
        RT_EXIT();
        CHECK(status == SPRUNG_OK, "process");
    }
}

#endif
