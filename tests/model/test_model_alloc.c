/* Failing allocator: every allocation made while loading or saving a preset
 * is made to fail in turn (the 1st, then the 2nd, ...). Each run must return
 * SPRUNG_ERROR_NO_MEMORY (or succeed, once the failure point lies past the
 * last allocation) and leave no block behind.
 *
 * This executable replaces malloc/calloc/realloc/free for the whole process
 * (glibc allows it; jansson's allocations come here too), forwarding to
 * glibc's own __libc_* functions. Under a sanitizer, which needs to own
 * malloc itself, the test skips. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sprung/model.h"

#if defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || \
      __has_feature(thread_sanitizer)
#    define UNDER_SANITIZER 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define UNDER_SANITIZER 1
#endif

#ifndef UNDER_SANITIZER
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);

/* Default visibility: the build hides symbols by default, and a hidden
 * malloc would replace the allocator for this executable's own code only,
 * not for libc (strdup) and jansson. */
#define REPLACES_LIBC __attribute__((visibility("default")))

static long fail_at = -1;  /* index of the allocation to fail; -1: none */
static long allocations;   /* allocations seen since the counter was reset */
static long live;          /* blocks handed out and not yet freed */
static bool injected;      /* the failure happened in this run */

static bool should_fail(void)
{
    if (fail_at < 0)
        return false;
    if (allocations++ == fail_at) {
        injected = true;
        return true;
    }
    return false;
}

REPLACES_LIBC void *malloc(size_t size)
{
    if (should_fail())
        return NULL;
    void *p = __libc_malloc(size);
    if (p)
        live++;
    return p;
}

REPLACES_LIBC void *calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    void *p = __libc_calloc(count, size);
    if (p)
        live++;
    return p;
}

REPLACES_LIBC void *realloc(void *ptr, size_t size)
{
    if (!ptr)
        return malloc(size);
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    if (should_fail())
        return NULL;
    return __libc_realloc(ptr, size);
}

REPLACES_LIBC void free(void *ptr)
{
    if (ptr)
        live--;
    __libc_free(ptr);
}

static int failures;

static const char *const preset =
    "{\"sprung\": 1, \"name\": \"alloc\", \"comment\": {\"a\": [1, 2.5, \"x\"]},"
    " \"bodies\": [{\"id\": \"b1\", \"position\": [0, 0, 0], \"mass\": 1, \"drag\": 0.1,"
    "   \"velocity\": [0, 1, 0], \"comment\": \"c\"},"
    "  {\"id\": \"b2\", \"position\": [1, 0, 0], \"mass\": 2}],"
    " \"anchors\": [{\"id\": \"a1\", \"position\": [0, 0, 1], \"comment\": 1}],"
    " \"springs\": [{\"id\": \"s1\", \"from\": \"a1\", \"to\": \"b1\", \"stiffness\": 10,"
    "   \"comment\": null}, {\"id\": \"s2\", \"from\": \"b1\", \"to\": \"b2\", \"stiffness\": 5,"
    "   \"damping\": 0.1, \"rest_length\": 1}],"
    " \"mallets\": [{\"id\": \"m1\", \"target\": \"b2\", \"direction\": [0, 0, 1],"
    "   \"strength\": 1, \"notes\": [10, 20], \"comment\": [1]}],"
    " \"microphones\": [{\"id\": \"mic\", \"target\": \"b1\", \"axis\": [1, 0, 0],"
    "   \"signal\": \"velocity\", \"gain\": 2, \"pan\": 0.5, \"comment\": {}}]}";

/* Runs `operation` with allocation k failing, for k = 0, 1, ... until a run
 * completes without reaching the failure point. */
static void sweep(const char *label, SprungStatus (*operation)(void *), void *context)
{
    long runs = 0, out_of_memory = 0;
    for (long k = 0;; k++) {
        long live_before = live;
        allocations = 0;
        injected = false;
        fail_at = k;
        SprungStatus status = operation(context);
        fail_at = -1;
        if (live != live_before) {
            fprintf(stderr, "FAIL %s: allocation %ld failing leaks %ld block(s)\n", label, k,
                    live - live_before);
            failures++;
        }
        if (!injected) {
            if (status != SPRUNG_OK) {
                fprintf(stderr, "FAIL %s: status %s with no allocation failing\n", label,
                        sprung_strerror(status));
                failures++;
            }
            break;
        }
        if (status != SPRUNG_ERROR_NO_MEMORY && status != SPRUNG_OK) {
            fprintf(stderr, "FAIL %s: allocation %ld failing gave %s, not out of memory\n",
                    label, k, sprung_strerror(status));
            failures++;
        }
        out_of_memory += status == SPRUNG_ERROR_NO_MEMORY;
        runs++;
    }
    /* A sweep that never saw an allocation fail would prove nothing. */
    if (out_of_memory == 0) {
        fprintf(stderr, "FAIL %s: no run reported out of memory\n", label);
        failures++;
    }
    printf("%s: %ld allocation failure points checked, %ld reported out of memory\n", label,
           runs, out_of_memory);
}

static SprungStatus load_and_free(void *context)
{
    (void)context;
    SprungModel *model = NULL;
    SprungError error;
    SprungStatus status = sprung_model_load_string(preset, "alloc.json", &model, &error);
    if (status != SPRUNG_OK && error.status != status)
        failures++;
    if (status == SPRUNG_ERROR_NO_MEMORY && !strstr(error.message, "out of memory"))
        failures++;
    sprung_model_free(model);
    return status;
}

static SprungStatus save_and_free(void *context)
{
    char *text = NULL;
    SprungStatus status = sprung_model_save_string(context, &text);
    if (status != SPRUNG_OK && text)
        failures++;
    sprung_free(text);
    return status;
}

int main(void)
{
    /* Warm up stdio and jansson's one-time set-up (its hash seed) outside
     * the counted region. */
    printf("failing-allocator test\n");
    /* Under valgrind (or any tool that replaces malloc) ours is bypassed. */
    fail_at = 0;
    allocations = 0;
    /* Through a volatile pointer so the compiler cannot elide the call. */
    void *(*volatile allocate)(size_t) = malloc;
    void *probe = allocate(16);
    fail_at = -1;
    if (probe) {
        free(probe);
        printf("skipped: malloc is not replaceable here (valgrind?)\n");
        return 0;
    }
    SprungModel *model = NULL;
    if (sprung_model_load_string(preset, "alloc.json", &model, NULL) != SPRUNG_OK) {
        fprintf(stderr, "FAIL: the test preset does not load\n");
        return 1;
    }
    sweep("load_string", load_and_free, NULL);
    sweep("save_string", save_and_free, model);
    sprung_model_free(model);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("failing allocator: every failure point returned out of memory, no leaks\n");
    return 0;
}
#else
int main(void)
{
    printf("skipped: a sanitizer owns malloc in this build\n");
    return 0;
}
#endif
