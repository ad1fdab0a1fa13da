/* The pedals and All Notes Off (src/runner/runner_keys.h).
 *   logic    runner_keys_play on its own: a damper holds note-offs until it
 *            lifts, a key struck again is no longer held, All Notes Off
 *            releases the keys down (held too while a pedal is down), Reset
 *            All Controllers lifts the pedals, a pedal governs its own
 *            channel only; a sostenuto holds the keys sounding as it went
 *            down and no others, and with a damper each pedal keeps what
 *            it holds; and over random streams, the output never outgrows
 *            its room, and once every pedal is up and every channel has
 *            had All Notes Off, no note the engine heard start is left
 *            sounding
 *   sustain  through the runner, bit for bit: a bowed string (no voices)
 *            and the MPE pad (voices, a lower zone) played with the pedal
 *            sound exactly as with each note-off moved to the pedal's
 *            lift, and differ from the same notes without the pedal; the
 *            pad's pedal on its master channel holds the member channels'
 *            notes, on a member channel only that channel's; All Notes Off
 *            sounds as note-offs at its frame; the sostenuto likewise, on
 *            both (on the pad's master channel it catches the zone)
 * Usage: test_runner_keys logic|sustain */
#include "runner/runner_keys.h"
#include "runner_test_util.h"

#define ON SPRUNG_EVENT_NOTE_ON
#define OFF SPRUNG_EVENT_NOTE_OFF
#define CC SPRUNG_EVENT_CONTROL_CHANGE

static SprungEvent note(uint32_t frame, uint8_t type, uint8_t channel, uint8_t key)
{
    return (SprungEvent){.frame = frame, .type = type, .channel = channel, .note = key,
                         .velocity = type == ON ? 100 : 0};
}

static SprungEvent control(uint32_t frame, uint8_t channel, uint8_t number, uint8_t value)
{
    return (SprungEvent){.frame = frame, .type = CC, .channel = channel, .note = number,
                         .value = value};
}

/* Plays `in` through fresh keys (no engine) and compares the note events
 * that come out (controllers pass as they are, not compared) with `want`. */
static void expect_notes(const char *what, const SprungEvent *in, uint32_t n_in,
                         const SprungEvent *want, uint32_t n_want)
{
    RunnerKeys keys = {0};
    SprungEvent out[64 + RUNNER_KEYS_MAX_RELEASES];
    uint32_t n = runner_keys_play(&keys, NULL, in, n_in, out), k = 0, controls = 0;
    int same = 1;
    for (uint32_t i = 0; i < n; i++) {
        if (out[i].type == CC) {
            controls++;
            continue;
        }
        same &= k < n_want && out[i].frame == want[k].frame && out[i].type == want[k].type &&
                out[i].channel == want[k].channel && out[i].note == want[k].note;
        k++;
    }
    uint32_t in_controls = 0;
    for (uint32_t i = 0; i < n_in; i++)
        in_controls += in[i].type == CC;
    CHECK(same && k == n_want, "%s: %u note events out, %u expected, or not as expected", what,
          k, n_want);
    CHECK(controls == in_controls, "%s: %u of %u controllers passed", what, controls,
          in_controls);
}

static void test_logic(void)
{
    {
        const SprungEvent in[] = {note(0, ON, 0, 60), control(1, 0, 64, 127),
                                  note(2, OFF, 0, 60), control(9, 0, 64, 0)};
        const SprungEvent want[] = {note(0, ON, 0, 60), note(9, OFF, 0, 60)};
        expect_notes("a note-off under the pedal waits for its lift", in, 4, want, 2);
    }
    {
        const SprungEvent in[] = {control(0, 0, 64, 64), note(1, ON, 0, 60),
                                  note(2, ON, 0, 60), note(3, OFF, 0, 60),
                                  control(4, 0, 64, 63)};
        const SprungEvent want[] = {note(1, ON, 0, 60), note(2, ON, 0, 60), note(4, OFF, 0, 60)};
        expect_notes("64 presses, 63 lifts; a key struck twice is released once", in, 5, want,
                     3);
    }
    {
        const SprungEvent in[] = {control(0, 0, 64, 127), note(1, ON, 0, 60),
                                  note(2, OFF, 0, 60), note(3, ON, 0, 60),
                                  control(4, 0, 64, 0), note(5, OFF, 0, 60)};
        const SprungEvent want[] = {note(1, ON, 0, 60), note(3, ON, 0, 60), note(5, OFF, 0, 60)};
        expect_notes("a held key struck again is no longer held", in, 6, want, 3);
    }
    {
        const SprungEvent in[] = {note(0, ON, 0, 60), note(0, ON, 0, 64), note(0, ON, 1, 67),
                                  control(5, 0, 123, 0), note(6, OFF, 0, 60)};
        const SprungEvent want[] = {note(0, ON, 0, 60), note(0, ON, 0, 64), note(0, ON, 1, 67),
                                    note(5, OFF, 0, 60), note(5, OFF, 0, 64),
                                    note(6, OFF, 0, 60)};
        expect_notes("All Notes Off releases its channel's keys", in, 5, want, 6);
    }
    {
        const SprungEvent in[] = {note(0, ON, 2, 60), control(1, 2, 64, 127),
                                  control(2, 2, 126, 0), control(8, 2, 121, 0)};
        const SprungEvent want[] = {note(0, ON, 2, 60), note(8, OFF, 2, 60)};
        expect_notes("mono on (All Notes Off) under the pedal holds; Reset All Controllers "
                     "lifts it", in, 4, want, 2);
    }
    {
        const SprungEvent in[] = {note(0, ON, 4, 60), control(1, 3, 64, 127),
                                  note(2, OFF, 4, 60), note(3, OFF, 3, 61)};
        const SprungEvent want[] = {note(0, ON, 4, 60), note(2, OFF, 4, 60),
                                    note(3, OFF, 3, 61)};
        expect_notes("a pedal holds its own channel only (and no key that is not down)", in, 4,
                     want, 3);
    }
    {
        const SprungEvent in[] = {note(0, ON, 0, 60),  control(1, 0, 66, 127),
                                  note(2, ON, 0, 64),  note(3, OFF, 0, 60),
                                  note(4, OFF, 0, 64), control(9, 0, 66, 0)};
        const SprungEvent want[] = {note(0, ON, 0, 60), note(2, ON, 0, 64), note(4, OFF, 0, 64),
                                    note(9, OFF, 0, 60)};
        expect_notes("the sostenuto holds the keys down as it went down, not later ones", in, 6,
                     want, 4);
    }
    {
        const SprungEvent in[] = {control(0, 0, 64, 127), note(1, ON, 0, 60),
                                  note(2, OFF, 0, 60),    control(3, 0, 66, 127),
                                  note(4, ON, 0, 64),     note(5, OFF, 0, 64),
                                  control(6, 0, 64, 0),   control(8, 0, 66, 0)};
        const SprungEvent want[] = {note(1, ON, 0, 60), note(4, ON, 0, 64), note(6, OFF, 0, 64),
                                    note(8, OFF, 0, 60)};
        expect_notes("the sostenuto catches what the damper holds and keeps it past the "
                     "damper's lift", in, 8, want, 4);
    }
    {
        const SprungEvent in[] = {note(0, ON, 0, 60),     control(1, 0, 66, 127),
                                  note(2, OFF, 0, 60),    control(3, 0, 64, 127),
                                  control(4, 0, 66, 0),   note(5, ON, 0, 62),
                                  control(6, 0, 123, 0),  control(7, 0, 64, 0)};
        const SprungEvent want[] = {note(0, ON, 0, 60), note(5, ON, 0, 62), note(7, OFF, 0, 60),
                                    note(7, OFF, 0, 62)};
        expect_notes("the damper keeps what the sostenuto let go; All Notes Off under it "
                     "holds", in, 8, want, 4);
    }
    {
        const SprungEvent in[] = {note(0, ON, 0, 60), control(1, 0, 66, 127),
                                  note(2, OFF, 0, 60), note(3, ON, 0, 60), note(4, OFF, 0, 60),
                                  control(5, 0, 121, 0)};
        const SprungEvent want[] = {note(0, ON, 0, 60), note(3, ON, 0, 60), note(5, OFF, 0, 60)};
        expect_notes("a caught key struck again stays caught; Reset All Controllers lifts the "
                     "sostenuto", in, 6, want, 3);
    }

    /* Random streams: room, and nothing left sounding at the end. */
    uint32_t seed = 12345, most = 0;
    unsigned long blocks = 0;
    enum { N_IN = 64 };
    static SprungEvent in[N_IN], out[2 * N_IN + RUNNER_KEYS_MAX_RELEASES];
    for (int trial = 0; trial < 200; trial++) {
        RunnerKeys keys = {0};
        uint8_t sounding[16][128] = {{0}};
        for (int b = 0; b < 50; b++, blocks++) {
            uint32_t n_in = 0;
            const int last = b == 49;
            for (uint32_t i = 0; i < (last ? 48u : (uint32_t)N_IN); i++) {
                seed = seed * 1664525u + 1013904223u;
                uint8_t ch = (uint8_t)(seed >> 8 & 3u), key = (uint8_t)(60 + (seed >> 12 & 7u));
                uint32_t pick = seed >> 20 & 15u;
                if (last) /* every pedal up, then All Notes Off, on every channel */
                    in[n_in++] = control(0, (uint8_t)(i & 15u), i < 16 ? 64 : i < 32 ? 66 : 123,
                                         0);
                else if (pick < 5)
                    in[n_in++] = note(0, ON, ch, key);
                else if (pick < 10)
                    in[n_in++] = note(0, OFF, ch, key);
                else if (pick < 13)
                    in[n_in++] = control(0, ch, pick == 12 ? 66 : 64, (uint8_t)(seed >> 4 & 127u));
                else if (pick == 13)
                    in[n_in++] = control(0, ch, 123, 0);
                else
                    in[n_in++] = control(0, ch, 121, 0);
            }
            uint32_t n = runner_keys_play(&keys, NULL, in, n_in, out);
            most = n > most ? n : most;
            CHECK(n <= 2 * n_in + RUNNER_KEYS_MAX_RELEASES, "%u events out of %u in", n, n_in);
            for (uint32_t i = 0; i < n; i++)
                if (out[i].type == ON || out[i].type == OFF)
                    sounding[out[i].channel][out[i].note] = out[i].type == ON;
        }
        int left = 0;
        for (int c = 0; c < 16; c++)
            for (int k = 0; k < 128; k++)
                left += sounding[c][k];
        CHECK(left == 0, "trial %d: %d notes left sounding after the pedals lifted and All "
              "Notes Off", trial, left);
    }
    printf("logic: ten sequences as MIDI 1.0 has them; %lu random blocks (at most %u events "
           "out of 64 in): within room, and no note left sounding at the end\n", blocks, most);
}

/* ---- sustain: through the runner ---- */

enum { TOTAL = 48000, BLOCK = 128 };

static SprungModel *load_preset(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", SPRUNG_TEST_PRESET_DIR, name);
    SprungModel *model = NULL;
    SprungError error = {0};
    if (sprung_model_load_file(path, &model, &error) != SPRUNG_OK) {
        fprintf(stderr, "%s\n", error.message);
        exit(2);
    }
    return model;
}

/* Renders TOTAL frames of `model` through a runner playing `events`
 * (sorted, absolute frames) into out (left then right). */
static void render(const SprungModel *model, const SprungEvent *events, uint32_t n_events,
                   float *out)
{
    SprungRunnerConfig config = sprung_runner_config_default();
    config.max_block_frames = BLOCK;
    SprungRunner *runner = test_runner(&config, test_engine(model, 48000.0, BLOCK));
    uint32_t next = 0;
    for (uint32_t pos = 0; pos < TOTAL; pos += BLOCK) {
        SprungEvent block[32];
        uint32_t k = 0;
        while (next < n_events && events[next].frame < pos + BLOCK && k < 32) {
            block[k] = events[next++];
            block[k++].frame -= pos;
        }
        float *outs[2] = {out + pos, out + TOTAL + pos};
        if (sprung_runner_process(runner, BLOCK, NULL, 0, outs, 2, block, k) != SPRUNG_OK) {
            fprintf(stderr, "sprung_runner_process failed\n");
            exit(2);
        }
    }
    sprung_runner_free(runner);
}

/* Renders `played` and `meant` and checks they are the same bits (`same`)
 * or audibly different. */
static void compare(const char *what, const SprungModel *model, const SprungEvent *played,
                    uint32_t n_played, const SprungEvent *meant, uint32_t n_meant, int same)
{
    float *a = calloc(2 * TOTAL, sizeof(float)), *b = calloc(2 * TOTAL, sizeof(float));
    render(model, played, n_played, a);
    render(model, meant, n_meant, b);
    double energy = 0.0, difference = 0.0;
    for (uint32_t i = 0; i < 2 * TOTAL; i++) {
        energy += (double)b[i] * b[i];
        difference += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    }
    CHECK(energy > 1e-3, "%s: silent", what);
    if (same)
        CHECK(!memcmp(a, b, 2 * TOTAL * sizeof(float)), "%s: not the same bits (difference %g "
              "of energy %g)", what, difference, energy);
    else
        CHECK(difference > 1e-3 * energy, "%s: no audible difference (%g of %g)", what,
              difference, energy);
    printf("  %s: %s (energy %.3g, difference %.3g)\n", what,
           same ? "the same bits" : "differs", energy, difference);
    free(a);
    free(b);
}

static void test_sustain(void)
{
    SprungModel *bow = load_preset("bowed-string.json");
    {
        const SprungEvent pedal[] = {note(1000, ON, 0, 60), control(2000, 0, 64, 127),
                                     note(5000, OFF, 0, 60), control(30000, 0, 64, 0)};
        const SprungEvent moved[] = {note(1000, ON, 0, 60), note(30000, OFF, 0, 60)};
        const SprungEvent unpedalled[] = {note(1000, ON, 0, 60), note(5000, OFF, 0, 60)};
        compare("bowed string, pedal = note-off at the lift", bow, pedal, 4, moved, 2, 1);
        compare("bowed string, pedal != no pedal", bow, pedal, 4, unpedalled, 2, 0);
        const SprungEvent other[] = {note(1000, ON, 0, 60), control(2000, 3, 64, 127),
                                     note(5000, OFF, 0, 60), control(30000, 3, 64, 0)};
        compare("bowed string, a pedal on channel 4 does not hold channel 1", bow, other, 4,
                unpedalled, 2, 1);
        const SprungEvent all_off[] = {note(1000, ON, 0, 60), control(9000, 0, 123, 0)};
        const SprungEvent all_off_meant[] = {note(1000, ON, 0, 60), note(9000, OFF, 0, 60)};
        compare("bowed string, All Notes Off = note-off", bow, all_off, 2, all_off_meant, 2, 1);
        const SprungEvent sostenuto[] = {note(1000, ON, 0, 60),      control(2000, 0, 66, 127),
                                         note(3000, ON, 0, 64),      note(5000, OFF, 0, 60),
                                         note(6000, OFF, 0, 64),     control(30000, 0, 66, 0)};
        const SprungEvent sostenuto_meant[] = {note(1000, ON, 0, 60), note(3000, ON, 0, 64),
                                               note(6000, OFF, 0, 64), note(30000, OFF, 0, 60)};
        compare("bowed string, sostenuto = the caught note's note-off at the lift", bow,
                sostenuto, 6, sostenuto_meant, 4, 1);
    }
    sprung_model_free(bow);

    SprungModel *pad = load_preset("mpe-pad.json"); /* lower zone: master 1, members 2.. */
    {
        const SprungEvent master[] = {note(1000, ON, 1, 60),     note(1500, ON, 2, 67),
                                      control(2000, 0, 64, 127), note(5000, OFF, 1, 60),
                                      note(6000, OFF, 2, 67),    control(25000, 0, 64, 0)};
        const SprungEvent moved[] = {note(1000, ON, 1, 60), note(1500, ON, 2, 67),
                                     note(25000, OFF, 1, 60), note(25000, OFF, 2, 67)};
        const SprungEvent unpedalled[] = {note(1000, ON, 1, 60), note(1500, ON, 2, 67),
                                          note(5000, OFF, 1, 60), note(6000, OFF, 2, 67)};
        compare("MPE pad, the master's pedal holds the members' notes", pad, master, 6, moved, 4,
                1);
        compare("MPE pad, pedal != no pedal", pad, master, 6, unpedalled, 4, 0);
        const SprungEvent member[] = {note(1000, ON, 1, 60),     note(1500, ON, 2, 67),
                                      control(2000, 2, 64, 127), note(5000, OFF, 1, 60),
                                      note(6000, OFF, 2, 67),    control(25000, 2, 64, 0)};
        const SprungEvent member_meant[] = {note(1000, ON, 1, 60), note(1500, ON, 2, 67),
                                            note(5000, OFF, 1, 60), note(25000, OFF, 2, 67)};
        compare("MPE pad, a member's pedal holds its own channel only", pad, member, 6,
                member_meant, 4, 1);
        const SprungEvent all_off[] = {note(1000, ON, 1, 60), note(1500, ON, 2, 67),
                                       control(9000, 0, 123, 0)};
        const SprungEvent all_off_meant[] = {note(1000, ON, 1, 60), note(1500, ON, 2, 67),
                                             note(9000, OFF, 1, 60), note(9000, OFF, 2, 67)};
        compare("MPE pad, All Notes Off on the master releases the zone", pad, all_off, 3,
                all_off_meant, 4, 1);
        const SprungEvent sostenuto[] = {note(1000, ON, 1, 60),     control(2000, 0, 66, 127),
                                         note(3000, ON, 2, 67),     note(5000, OFF, 1, 60),
                                         note(6000, OFF, 2, 67),    control(25000, 0, 66, 0)};
        const SprungEvent sostenuto_meant[] = {note(1000, ON, 1, 60), note(3000, ON, 2, 67),
                                               note(6000, OFF, 2, 67), note(25000, OFF, 1, 60)};
        compare("MPE pad, the master's sostenuto catches a member's note only", pad, sostenuto,
                6, sostenuto_meant, 4, 1);
    }
    sprung_model_free(pad);
    printf("sustain: the pedals and All Notes Off sound as their note-offs would, bit for "
           "bit\n");
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "logic") && strcmp(argv[1], "sustain"))) {
        fprintf(stderr, "usage: %s logic|sustain\n", argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "logic"))
        test_logic();
    else
        test_sustain();
    if (g_failures) {
        fprintf(stderr, "%d failure(s)\n", g_failures);
        return 1;
    }
    printf("OK\n");
    return 0;
}
