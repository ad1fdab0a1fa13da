/* The modulation writes (src/engine/modulation_writes.h) a GPU backend gets
 * instead of reading the compiled arrays in place: every word a route can
 * write is watched once (a microphone's gain and pan routes share its three
 * words), the first collect hands over all of them, later ones only the
 * words whose bits changed, a resend all of them again; each write names
 * its word by its offset in the compiled block or, flagged, in the state
 * block, so writing `bits` at that offset of a copy of the blocks
 * reproduces the host's values. collect and resend run inside
 * RealtimeSanitizer sections in the _rtsan build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/compiled.h"
#include "engine/modulation_writes.h"
#include "kernel/sprung_block.h"
#include "model/model.h"
#include "rt_section.h"

static const char PRESET[] =
    "{\"sprung\": 1, \"name\": \"writes\",\n"
    " \"bodies\": [{\"id\": \"b\", \"position\": [0, 0, 0], \"mass\": 0.001},\n"
    "  {\"id\": \"c\", \"position\": [0.1, 0, 0], \"mass\": 0.001}],\n"
    " \"anchors\": [{\"id\": \"a\", \"position\": [0, 0, 0.1]}],\n"
    " \"springs\": [{\"id\": \"s\", \"from\": \"a\", \"to\": \"b\", \"stiffness\": 1000},\n"
    "  {\"id\": \"t\", \"from\": \"b\", \"to\": \"c\", \"stiffness\": 1000}],\n"
    " \"mallets\": [{\"id\": \"m\", \"target\": \"b\", \"direction\": [0, 0, 1],"
    " \"strength\": 0.001}],\n"
    " \"microphones\": [{\"id\": \"mic\", \"target\": \"b\", \"axis\": [0, 0, 1]}],\n"
    " \"sources\": [{\"id\": \"l\", \"type\": \"lfo\"}],\n"
    " \"routes\": [\n"
    "  {\"source\": \"l\", \"target\": \"t\", \"parameter\": \"stiffness\", \"range\": [900, 1100]},\n"
    "  {\"source\": \"l\", \"target\": \"s\", \"parameter\": \"rest_length\", \"range\": [0.09, 0.1]},\n"
    "  {\"source\": \"l\", \"target\": \"a\", \"parameter\": \"z\", \"range\": [0.1, 0.11]},\n"
    "  {\"source\": \"l\", \"target\": \"mic\", \"parameter\": \"gain\", \"range\": [1, 2]},\n"
    "  {\"source\": \"l\", \"target\": \"mic\", \"parameter\": \"pan\", \"range\": [-1, 1]},\n"
    "  {\"source\": \"l\", \"target\": \"m\", \"parameter\": \"strength\", \"range\": [0.001, 0.002]}"
    "]}\n";

/* stiffness 1, rest length 2 (with the preload), anchor 2 (displacement and
 * velocity), the microphone's 3 words once for both routes, the mallet's
 * strength none (the host reads it at each strike). */
#define WATCHED_WORDS 8u

/* The host word a write names. */
static const uint32_t *word_of(const SprungCompiled *c, const SprungState *s, uint32_t target)
{
    if (target & SPRUNG_BLOCK_WRITE_STATE)
        return (const uint32_t *)s->block + (target & ~SPRUNG_BLOCK_WRITE_STATE);
    return (const uint32_t *)c->block + target;
}

int main(void)
{
    RT_INIT();
    SprungModel *model = NULL;
    SprungError error;
    CHECK(sprung_model_load_string(PRESET, "writes", &model, &error) == SPRUNG_OK, "%s",
          error.message);
    SprungCompiled *c = NULL;
    CHECK(sprung_compiled_new(model, 48000.0, &c, &error) == SPRUNG_OK, "%s", error.message);
    /* An upper bound, counting the microphone's words for each of its routes. */
    CHECK(c->max_frame_writes == WATCHED_WORDS + 3u, "max_frame_writes %u", c->max_frame_writes);
    SprungState state;
    CHECK(sprung_state_new(c, &state) == SPRUNG_OK, "state");
    SprungModulationWatch *watch = NULL;
    CHECK(sprung_modulation_watch_new(model, c, &state, &watch, &error) == SPRUNG_OK, "%s",
          error.message);
    SprungModulationWrite *writes = calloc(c->max_frame_writes, sizeof *writes);
    CHECK(writes != NULL, "out of memory");

    RT_ENTER();
    uint32_t first = sprung_modulation_watch_collect(watch, writes);
    RT_EXIT();
    CHECK(first == WATCHED_WORDS, "the first collect handed over %u words, not %u", first,
          WATCHED_WORDS);
    uint32_t state_words = 0;
    for (uint32_t w = 0; w < first; w++) {
        CHECK(*word_of(c, &state, writes[w].target) == writes[w].bits,
              "write %u: its bits are not the host's", w);
        CHECK(w == 0 || writes[w - 1].target < writes[w].target, "write %u: a word twice", w);
        state_words += (writes[w].target & SPRUNG_BLOCK_WRITE_STATE) != 0;
    }
    CHECK(state_words == 2, "%u writes into the state, not the anchor's 2", state_words);
    uint32_t anchor = c->n_bodies;
    const void *expected[WATCHED_WORDS] = {
        &c->spring_stiffness[1], &c->spring_rest_length[0], &c->spring_preload[0],
        &c->mic_gain[0],         &c->mic_gain_left[0],      &c->mic_gain_right[0],
        &state.uz[anchor],       &state.vz[anchor]};
    for (uint32_t k = 0; k < WATCHED_WORDS; k++) {
        int named = 0;
        for (uint32_t w = 0; w < first; w++)
            named |= word_of(c, &state, writes[w].target) == (const uint32_t *)expected[k];
        CHECK(named, "word %u of the routes is not among the writes", k);
    }

    RT_ENTER();
    uint32_t again = sprung_modulation_watch_collect(watch, writes);
    RT_EXIT();
    CHECK(again == 0, "nothing changed, yet %u writes", again);

    c->spring_stiffness[1] = 1234.5f;
    state.vz[anchor] = -0.25f;
    RT_ENTER();
    uint32_t changed = sprung_modulation_watch_collect(watch, writes);
    RT_EXIT();
    CHECK(changed == 2, "two words changed, %u writes", changed);
    for (uint32_t w = 0; w < changed; w++)
        CHECK(*word_of(c, &state, writes[w].target) == writes[w].bits, "changed write %u", w);
    CHECK(word_of(c, &state, writes[0].target) == (const uint32_t *)&c->spring_stiffness[1] &&
              word_of(c, &state, writes[1].target) == (const uint32_t *)&state.vz[anchor],
          "the writes name other words than the two changed");

    RT_ENTER();
    sprung_modulation_watch_resend(watch);
    uint32_t resent = sprung_modulation_watch_collect(watch, writes);
    RT_EXIT();
    CHECK(resent == WATCHED_WORDS, "a resend handed over %u words, not %u", resent,
          WATCHED_WORDS);

    free(writes);
    sprung_modulation_watch_free(watch);
    sprung_state_free(&state);
    sprung_compiled_free(c);
    sprung_model_free(model);
    printf("modulation_writes: ok (%u words watched)\n", WATCHED_WORDS);
    return 0;
}
