/* Export and thread-class annotations shared by every public header. */
#ifndef SPRUNG_ATTRIBUTES_H
#define SPRUNG_ATTRIBUTES_H

#if defined(_WIN32)
#  define SPRUNG_API
#elif defined(__GNUC__)
#  define SPRUNG_API __attribute__((visibility("default")))
#else
#  define SPRUNG_API
#endif

/* Marks a function that may be called on the audio thread: it never
 * allocates, locks, blocks or does I/O. Clang 20+ checks this with the
 * `nonblocking` attribute; elsewhere it documents, and the RealtimeSanitizer
 * tests enforce it. */
#if defined(__clang__) && defined(__has_attribute)
#  if __has_attribute(nonblocking) && !defined(__cplusplus)
#    define SPRUNG_REALTIME __attribute__((nonblocking))
#  endif
#endif
#ifndef SPRUNG_REALTIME
#  define SPRUNG_REALTIME
#endif

#endif
