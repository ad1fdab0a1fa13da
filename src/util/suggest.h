/* "Did you mean ...?" for names a person typed: preset fields (src/model),
 * command-line options and commands (apps/sprung). One rule everywhere, so
 * that a slip gets the same help wherever it is made.
 *
 *     SprungSuggestion s = sprung_suggestion_start(word);
 *     for (each known name)
 *         sprung_suggestion_consider(&s, name);
 *     if (s.best) ... "did you mean \"%s\"?", s.best ...
 *
 * Control threads only (the distance table lives on the stack). */
#ifndef SPRUNG_UTIL_SUGGEST_H
#define SPRUNG_UTIL_SUGGEST_H

#include <stddef.h>

typedef struct SprungSuggestion {
    const char *word;  /* what was typed */
    const char *best;  /* the closest known name so far, or NULL */
    size_t distance;   /* its distance from word */
} SprungSuggestion;

SprungSuggestion sprung_suggestion_start(const char *word);

/* Takes `known` as the best so far when it is close to the word (at most two
 * slips, and at most a third of its length: "mas" -> "mass", but "to" is not
 * a typo of "id") and closer than any before it; earlier names win ties. */
void sprung_suggestion_consider(SprungSuggestion *suggestion, const char *known);

/* Optimal string alignment distance, case-insensitive, so that a swapped
 * pair ("dampnig") or a capital ("Mass") counts as one slip. Words longer
 * than 48 characters are infinitely far from everything (SIZE_MAX). */
size_t sprung_edit_distance(const char *a, const char *b);

#endif
