/* RealtimeSanitizer sections for the modulation and voice unit tests: when
 * the test is linked with the rtsan runtime (SPRUNG_TEST_RTSAN), the code
 * between RT_ENTER() and RT_EXIT() dies on any allocation, lock or I/O;
 * otherwise they do nothing. RT_INIT() once at the start of main. Checks
 * (CHECK) run outside the sections: they print. */
#ifndef SPRUNG_TESTS_RT_SECTION_H
#define SPRUNG_TESTS_RT_SECTION_H

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

#include <stdio.h>
#include <stdlib.h>

#define CHECK(condition, ...)                                                   \
    do {                                                                        \
        if (!(condition)) {                                                     \
            fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #condition); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fprintf(stderr, "\n");                                              \
            exit(1);                                                            \
        }                                                                       \
    } while (0)

#endif
