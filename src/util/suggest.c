/* "Did you mean": see suggest.h. */
#include "util/suggest.h"

#include <stdint.h>
#include <string.h>

static int lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

size_t sprung_edit_distance(const char *a, const char *b)
{
    enum { MAX = 48 };
    size_t n = strlen(a), m = strlen(b);
    if (n > MAX || m > MAX)
        return SIZE_MAX;
    size_t d[MAX + 1][MAX + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        int ai = lower((unsigned char)a[i - 1]);
        for (size_t j = 1; j <= m; j++) {
            int bj = lower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j] + 1;                  /* deletion */
            if (d[i][j - 1] + 1 < best)                     /* insertion */
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + (ai != bj) < best)        /* substitution */
                best = d[i - 1][j - 1] + (ai != bj);
            if (i > 1 && j > 1 && ai == lower((unsigned char)b[j - 2]) &&
                lower((unsigned char)a[i - 2]) == bj && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;                 /* transposition */
            d[i][j] = best;
        }
    }
    return d[n][m];
}

SprungSuggestion sprung_suggestion_start(const char *word)
{
    return (SprungSuggestion){.word = word, .best = NULL, .distance = SIZE_MAX};
}

void sprung_suggestion_consider(SprungSuggestion *suggestion, const char *known)
{
    size_t distance = sprung_edit_distance(suggestion->word, known);
    if (distance <= 2 && distance * 3 <= strlen(known) && distance < suggestion->distance) {
        suggestion->best = known;
        suggestion->distance = distance;
    }
}
