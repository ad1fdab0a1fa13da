/* Linked into `sprung_play_rtsan` only, the RealtimeSanitizer twin of
 * `sprung` that tests/jack plays under jackd (jack_play_realtime): the same
 * program, with the RTSan runtime linked in and play_jack.c's process
 * callback inside a real-time section (SPRUNG_PLAY_RTSAN). clang-19 has no
 * -fsanitize=realtime, so the runtime is started and the section marked by
 * hand (DESIGN.md §5).
 *
 * Sabotage: with SPRUNG_PLAY_SABOTAGE=allocate in the environment, every
 * callback allocates inside the section, as a careless callback would;
 * RTSan must stop the program with its report (jack_play_realtime_sabotage).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void __rtsan_init(void);
void __rtsan_realtime_enter(void);
void __rtsan_realtime_exit(void);

void play_rtsan_enter(void);
void play_rtsan_exit(void);

static bool g_allocate_in_callback;

/* Before main: the runtime must be up before any thread starts. */
__attribute__((constructor)) static void play_rtsan_start(void)
{
    __rtsan_init();
    const char *sabotage = getenv("SPRUNG_PLAY_SABOTAGE");
    if (sabotage && !strcmp(sabotage, "allocate")) {
        g_allocate_in_callback = true;
        fprintf(stderr, "sabotage: the JACK callback allocates\n");
    } else if (sabotage) {
        fprintf(stderr, "SPRUNG_PLAY_SABOTAGE=%s: unknown (the one sabotage is \"allocate\")\n",
                sabotage);
        exit(2);
    }
}

void play_rtsan_enter(void)
{
    __rtsan_realtime_enter();
    if (g_allocate_in_callback) {
        void *volatile block = malloc(64);
        free(block);
    }
}

void play_rtsan_exit(void)
{
    __rtsan_realtime_exit();
}
