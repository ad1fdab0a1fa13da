/* Voices as units: the allocator's stealing order and click-free fade
 * (src/engine/voice_allocator.c), MPE zones, bend ranges and per-channel
 * routing (src/engine/mpe.c), and the pitch-warp prediction
 * (src/engine/voice_pitch.h). The audio-thread calls run inside a
 * RealtimeSanitizer section when built with it.
 *
 * Usage: test_voice_units [steal|fade|mpe|pitch] */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "engine/mpe.h"
#include "engine/voice_allocator.h"
#include "engine/voice_pitch.h"
#include "../modulation/rt_section.h"

static void test_steal(void)
{
    SprungVoiceAllocator a;
    sprung_voice_allocator_init(&a, 3, 144);
    SprungVoiceAssignment r[8];
    int off[4];
    uint32_t started[SPRUNG_MAX_VOICES], n_started;
    RT_ENTER();
    /* Free voices first, lowest index. */
    r[0] = sprung_voice_note_on(&a, 0, 60, 100);
    r[1] = sprung_voice_note_on(&a, 0, 64, 100);
    r[2] = sprung_voice_note_on(&a, 0, 67, 100);
    /* All held; release 64 then 60: released voices go next, the one
     * released longest ago (64's voice) first. */
    off[0] = sprung_voice_note_off(&a, 0, 64);
    off[1] = sprung_voice_note_off(&a, 0, 60);
    r[3] = sprung_voice_note_on(&a, 0, 72, 100);
    n_started = sprung_voice_allocator_advance(&a, 144, started);
    r[4] = sprung_voice_note_on(&a, 0, 74, 100);
    uint32_t n_started2 = sprung_voice_allocator_advance(&a, 144, started + 4);
    /* Now held: 67 (v2, oldest), 72 (v1), 74 (v0). No free, none released:
     * the oldest held note's voice (67 on v2) is stolen. */
    r[5] = sprung_voice_note_on(&a, 0, 76, 100);
    /* Re-strike of a held note: same voice, no steal. */
    r[6] = sprung_voice_note_on(&a, 0, 72, 90);
    RT_EXIT();
    CHECK(r[0].voice == 0 && r[1].voice == 1 && r[2].voice == 2 &&
              r[0].action == SPRUNG_VOICE_START && r[2].action == SPRUNG_VOICE_START,
          "free voices first: %u %u %u", r[0].voice, r[1].voice, r[2].voice);
    CHECK(off[0] == 1 && off[1] == 0, "note-offs found voices %d %d", off[0], off[1]);
    CHECK(r[3].voice == 1 && r[3].action == SPRUNG_VOICE_STEAL,
          "released longest ago is stolen first: voice %u action %d", r[3].voice, r[3].action);
    CHECK(n_started == 1 && started[0] == 1, "fade end starts the pending note");
    CHECK(a.slots[1].status == SPRUNG_VOICE_HELD && a.slots[1].note.note == 72, "72 held on v1");
    CHECK(r[4].voice == 0 && r[4].action == SPRUNG_VOICE_STEAL, "then the other released one");
    CHECK(n_started2 == 1 && started[4] == 0, "74 started on v0");
    CHECK(r[5].voice == 2 && r[5].action == SPRUNG_VOICE_STEAL,
          "no released voice: the oldest held is stolen (v2), got v%u", r[5].voice);
    CHECK(r[6].voice == 1 && r[6].action == SPRUNG_VOICE_RESTRIKE, "re-strike: v%u action %d",
          r[6].voice, r[6].action);

    /* A note-off during the fade is kept: the note starts released. */
    int pending_off = sprung_voice_note_off(&a, 0, 76);
    CHECK(pending_off == 2, "note-off of a pending note found v%d", pending_off);
    CHECK(sprung_voice_frames_to_fade_end(&a) == 144, "fade end in 144 frames");
    n_started = sprung_voice_allocator_advance(&a, 100, started);
    CHECK(n_started == 0 && sprung_voice_frames_to_fade_end(&a) == 44, "partial fade");
    n_started = sprung_voice_allocator_advance(&a, 44, started);
    CHECK(n_started == 1 && a.slots[2].status == SPRUNG_VOICE_RELEASED &&
              a.slots[2].note.note == 76,
          "pending note-off applied at the start");
    /* Every voice fading: the pending note that came first is replaced. */
    sprung_voice_allocator_reset(&a);
    for (int k = 0; k < 3; ++k)
        sprung_voice_note_on(&a, 0, (uint8_t)(40 + k), 100);
    for (int k = 0; k < 3; ++k)
        sprung_voice_note_on(&a, 0, (uint8_t)(50 + k), 100);
    SprungVoiceAssignment replace = sprung_voice_note_on(&a, 0, 60, 100);
    CHECK(replace.action == SPRUNG_VOICE_REPLACE && replace.voice == 0 &&
              a.slots[0].pending.note == 60,
          "all fading: replace v%u action %d", replace.voice, replace.action);
    /* A silent released voice becomes free and is then preferred. */
    sprung_voice_allocator_reset(&a);
    sprung_voice_note_on(&a, 0, 60, 100);
    sprung_voice_note_on(&a, 0, 61, 100);
    sprung_voice_note_on(&a, 0, 62, 100);
    sprung_voice_note_off(&a, 0, 61);
    sprung_voice_free(&a, 1);
    CHECK(sprung_voice_active_count(&a) == 2, "two active");
    SprungVoiceAssignment reuse = sprung_voice_note_on(&a, 0, 63, 100);
    CHECK(reuse.voice == 1 && reuse.action == SPRUNG_VOICE_START, "freed voice reused");
    /* Per-note lookup: channel-wide (note 255) finds the newest on it. */
    sprung_voice_allocator_reset(&a);
    sprung_voice_note_on(&a, 3, 60, 100);
    sprung_voice_note_on(&a, 4, 62, 100);
    CHECK(sprung_voice_find(&a, 4, 255) == 1 && sprung_voice_find(&a, 3, 60) == 0 &&
              sprung_voice_find(&a, 5, 255) == -1,
          "find by channel");
    printf("steal: ok\n");
}

/* A stolen voice playing a full-scale sine at the worst moment fades out
 * without a click: the largest sample-to-sample difference of the faded
 * signal stays below that of the sine itself (plus the fade's own slope),
 * and the fade ends exactly at 0. */
static void test_fade(void)
{
    const double fs = 48000.0, frequency = 1000.0;
    const uint32_t fade = 144; /* 3 ms */
    SprungVoiceAllocator a;
    sprung_voice_allocator_init(&a, 1, fade);
    sprung_voice_note_on(&a, 0, 60, 127);
    float out[2048];
    uint32_t started[SPRUNG_MAX_VOICES];
    uint32_t steal_at = 100, restarted_at = 0;
    RT_ENTER();
    for (uint32_t n = 0; n < 1024; ++n) {
        if (n == steal_at)
            sprung_voice_note_on(&a, 0, 72, 127);
        float gain = sprung_voice_fade_gain(&a, 0);
        float sine = (float)sin(2.0 * 3.14159265358979323846 * frequency * n / fs);
        out[n] = gain * sine;
        if (sprung_voice_allocator_advance(&a, 1, started) && !restarted_at)
            restarted_at = n + 1;
    }
    RT_EXIT();
    double sine_step = 2.0 * 3.14159265358979323846 * frequency / fs; /* max |Δ| of the sine */
    double fade_step = 3.14159265358979323846 / 2.0 / fade;            /* max |Δ| of the gain */
    double largest = 0;
    for (uint32_t n = 1; n < restarted_at; ++n) {
        double step = fabs((double)out[n] - out[n - 1]);
        if (step > largest)
            largest = step;
    }
    CHECK(largest <= sine_step + fade_step + 1e-6, "fade step %g > %g", largest,
          sine_step + fade_step);
    CHECK(restarted_at == steal_at + fade, "restart at %u, want %u", restarted_at,
          steal_at + fade);
    CHECK(out[restarted_at - 1] == 0.0f, "last faded frame is %g, not 0", out[restarted_at - 1]);
    CHECK(sprung_voice_fade_law(0, fade) < 1.0f && sprung_voice_fade_law(0, fade) > 0.999f,
          "fade starts just below 1");
    for (uint32_t k = 1; k < fade; ++k)
        CHECK(sprung_voice_fade_law(k, fade) <= sprung_voice_fade_law(k - 1, fade),
              "fade not monotonic at %u", k);
    printf("fade: ok (largest step %.4f, limit %.4f)\n", largest, sine_step + fade_step);
}

static void test_mpe(void)
{
    SprungMpe mpe;
    sprung_mpe_init(&mpe);
    /* No MPE: each channel bends by its own ±2 semitones. */
    sprung_mpe_pitch_bend(&mpe, 3, 16383);
    CHECK(fabs(sprung_mpe_note_bend_semitones(&mpe, 3) - 2.0 * 8191 / 8192) < 1e-12,
          "non-MPE bend");
    CHECK(sprung_mpe_note_bend_semitones(&mpe, 4) == 0.0, "other channel unbent");
    sprung_mpe_pitch_bend(&mpe, 3, 8192);

    /* MCM on channel 1: RPN 6 (101=0, 100=6), data 7 members → lower zone
     * of channels 2…8 (1…7 zero-based), member range 48, master range 2. */
    RT_ENTER();
    sprung_mpe_control_change(&mpe, 0, 101, 0);
    sprung_mpe_control_change(&mpe, 0, 100, 6);
    sprung_mpe_control_change(&mpe, 0, 6, 7);
    RT_EXIT();
    SprungMpeZoneKind kind;
    CHECK(mpe.zone[SPRUNG_MPE_LOWER].members == 7, "lower zone members %u",
          mpe.zone[SPRUNG_MPE_LOWER].members);
    CHECK(sprung_mpe_is_member(&mpe, 1, &kind) && kind == SPRUNG_MPE_LOWER &&
              sprung_mpe_is_member(&mpe, 7, NULL) && !sprung_mpe_is_member(&mpe, 8, NULL) &&
              !sprung_mpe_is_member(&mpe, 0, NULL) && sprung_mpe_is_master(&mpe, 0),
          "lower zone membership");
    /* A member bend moves that channel only, by ±48. */
    sprung_mpe_pitch_bend(&mpe, 2, 8192 + 4096);
    CHECK(fabs(sprung_mpe_note_bend_semitones(&mpe, 2) - 24.0) < 1e-12, "member +24: %g",
          sprung_mpe_note_bend_semitones(&mpe, 2));
    CHECK(sprung_mpe_note_bend_semitones(&mpe, 3) == 0.0, "neighbour member unbent");
    /* The master's bend applies to the whole zone, by ±2. */
    sprung_mpe_pitch_bend(&mpe, 0, 0);
    CHECK(fabs(sprung_mpe_note_bend_semitones(&mpe, 2) - 22.0) < 1e-12, "member + master");
    CHECK(fabs(sprung_mpe_note_bend_semitones(&mpe, 5) + 2.0) < 1e-12, "master bends zone");
    CHECK(sprung_mpe_note_bend_semitones(&mpe, 9) == 0.0, "outside the zone: no master bend");
    sprung_mpe_pitch_bend(&mpe, 0, 8192);
    /* RPN 0 on a member sets the member range of the zone (semitones +
     * cents); on the master, the master range. */
    sprung_mpe_control_change(&mpe, 4, 101, 0);
    sprung_mpe_control_change(&mpe, 4, 100, 0);
    sprung_mpe_control_change(&mpe, 4, 6, 12);
    sprung_mpe_control_change(&mpe, 4, 38, 50);
    CHECK(fabs(mpe.zone[SPRUNG_MPE_LOWER].member_range - 12.5) < 1e-12, "member range %g",
          mpe.zone[SPRUNG_MPE_LOWER].member_range);
    CHECK(fabs(sprung_mpe_note_bend_semitones(&mpe, 2) - 6.25) < 1e-12, "bend with new range");
    sprung_mpe_control_change(&mpe, 0, 101, 0);
    sprung_mpe_control_change(&mpe, 0, 100, 0);
    sprung_mpe_control_change(&mpe, 0, 6, 7);
    CHECK(mpe.zone[SPRUNG_MPE_LOWER].master_range == 7.0, "master range");
    /* Pressure and CC74 stay per channel. */
    sprung_mpe_channel_pressure(&mpe, 2, 127);
    sprung_mpe_control_change(&mpe, 3, 74, 0);
    CHECK(sprung_mpe_note_pressure(&mpe, 2) == 1.0 && sprung_mpe_note_pressure(&mpe, 3) == 0.0,
          "pressure per channel");
    CHECK(sprung_mpe_note_timbre(&mpe, 3) == 0.0 && sprung_mpe_note_timbre(&mpe, 2) == 0.5,
          "CC74 per channel (0.5 neutral)");
    /* Reset All Controllers (CC 121, MIDI RP-015) on member channel 3: the
     * bend, the pressure and the playing controllers go back; volume and
     * the sound controllers (CC74, the timbre) stay; no RPN stays selected,
     * so a later data entry changes no bend range. */
    sprung_mpe_pitch_bend(&mpe, 3, 0);
    sprung_mpe_channel_pressure(&mpe, 3, 90);
    sprung_mpe_control_change(&mpe, 3, 1, 127);  /* modulation wheel */
    sprung_mpe_control_change(&mpe, 3, 7, 100);  /* volume */
    sprung_mpe_control_change(&mpe, 3, 11, 20);  /* expression */
    sprung_mpe_control_change(&mpe, 3, 64, 127); /* sustain pedal */
    sprung_mpe_control_change(&mpe, 3, 101, 0);
    sprung_mpe_control_change(&mpe, 3, 100, 0); /* RPN 0 selected */
    RT_ENTER();
    sprung_mpe_control_change(&mpe, 3, 121, 0);
    RT_EXIT();
    const SprungMpeChannel *reset = &mpe.channel[3];
    CHECK(reset->bend == 0.0 && reset->pressure == 0.0 && reset->cc[1] == 0.0 &&
              reset->cc[64] == 0.0 && reset->cc[11] == 1.0,
          "reset: bend %g pressure %g wheel %g sustain %g expression %g", reset->bend,
          reset->pressure, reset->cc[1], reset->cc[64], reset->cc[11]);
    CHECK(reset->cc[7] == 100 / 127.0 && sprung_mpe_note_timbre(&mpe, 3) == 0.0,
          "reset kept volume %g and timbre %g", reset->cc[7], sprung_mpe_note_timbre(&mpe, 3));
    double member_range = mpe.zone[SPRUNG_MPE_LOWER].member_range;
    sprung_mpe_control_change(&mpe, 3, 6, 3);
    CHECK(mpe.zone[SPRUNG_MPE_LOWER].member_range == member_range,
          "data entry after a reset changed the member range to %g",
          mpe.zone[SPRUNG_MPE_LOWER].member_range);
    /* An NRPN deselects the RPN too. */
    sprung_mpe_control_change(&mpe, 3, 101, 0);
    sprung_mpe_control_change(&mpe, 3, 100, 0);
    sprung_mpe_control_change(&mpe, 3, 99, 1);
    sprung_mpe_control_change(&mpe, 3, 6, 3);
    CHECK(mpe.zone[SPRUNG_MPE_LOWER].member_range == member_range,
          "NRPN data entry changed the member range to %g",
          mpe.zone[SPRUNG_MPE_LOWER].member_range);
    /* An upper zone of 10 overlaps the lower of 7 (14 member channels
     * available): the lower shrinks to 4. */
    sprung_mpe_control_change(&mpe, 15, 101, 0);
    sprung_mpe_control_change(&mpe, 15, 100, 6);
    sprung_mpe_control_change(&mpe, 15, 6, 10);
    CHECK(mpe.zone[SPRUNG_MPE_UPPER].members == 10 && mpe.zone[SPRUNG_MPE_LOWER].members == 4,
          "overlap: upper %u lower %u", mpe.zone[SPRUNG_MPE_UPPER].members,
          mpe.zone[SPRUNG_MPE_LOWER].members);
    CHECK(sprung_mpe_is_member(&mpe, 14, &kind) && kind == SPRUNG_MPE_UPPER &&
              sprung_mpe_is_member(&mpe, 5, &kind) && kind == SPRUNG_MPE_UPPER &&
              sprung_mpe_is_member(&mpe, 4, &kind) && kind == SPRUNG_MPE_LOWER,
          "upper zone membership");
    CHECK(mpe.zone[SPRUNG_MPE_UPPER].member_range == 48.0 &&
              mpe.zone[SPRUNG_MPE_UPPER].master_range == 2.0,
          "MCM default ranges");
    /* 15 members removes the other zone; 0 removes the zone. */
    sprung_mpe_set_zone(&mpe, SPRUNG_MPE_LOWER, 15);
    CHECK(mpe.zone[SPRUNG_MPE_UPPER].members == 0, "15-member zone removes the other");
    sprung_mpe_control_change(&mpe, 0, 101, 0);
    sprung_mpe_control_change(&mpe, 0, 100, 6);
    sprung_mpe_control_change(&mpe, 0, 6, 0);
    CHECK(mpe.zone[SPRUNG_MPE_LOWER].members == 0 && !sprung_mpe_is_master(&mpe, 0),
          "MCM 0 removes the zone");
    /* An MCM on a non-master channel is ignored. */
    sprung_mpe_control_change(&mpe, 5, 101, 0);
    sprung_mpe_control_change(&mpe, 5, 100, 6);
    sprung_mpe_control_change(&mpe, 5, 6, 3);
    CHECK(mpe.zone[0].members == 0 && mpe.zone[1].members == 0, "MCM on channel 6 ignored");
    printf("mpe: ok\n");
}

static void test_pitch(void)
{
    /* Time scale: an octave is 2, the root is 1. */
    CHECK(sprung_voice_time_scale(72, 0, 60) == 2.0, "octave scale");
    CHECK(sprung_voice_time_scale(60, 0, 60) == 1.0, "root scale");
    CHECK(fabs(sprung_voice_time_scale(60, 12, 60) - 2.0) < 1e-15, "bend adds semitones");
    /* Prediction: low modes follow 2^(n/12) closely; the octave of a mode
     * at 1/8 of the rate is sharp by the warp, and the prediction says by
     * how much. */
    const double fs = 48000.0, dt = 1.0 / fs;
    double f0 = 440.0, omega = 2 * 3.14159265358979323846 * f0;
    /* λ such that the root sounds at exactly f0 in discrete time:
     * asin(½√λ·dt) = π·f0·dt. */
    double lambda = pow(2.0 * sin(3.14159265358979323846 * f0 * dt) / dt, 2);
    (void)omega;
    double root = sprung_voice_predicted_frequency(lambda, dt, 1.0);
    double octave = sprung_voice_predicted_frequency(lambda, dt, 2.0);
    CHECK(fabs(root - f0) < 1e-9, "root %g", root);
    CHECK(octave > 2 * f0 && octave / (2 * f0) - 1 < 1e-3, "octave %g (warp: slightly sharp)",
          octave);
    /* Highest stable note: √λ·dt·2^((n−root)/12) < 2. */
    double big = pow(2.0 / dt / 3.0, 2); /* √λ·dt = 2/3: stable up to 3× (19 semitones) */
    int highest = sprung_voice_highest_stable_note(big, dt, 60);
    CHECK(highest == 60 + 19, "highest stable note %d", highest);
    CHECK(isnan(sprung_voice_predicted_frequency(big, dt, 3.0)), "unstable → NaN");
    printf("pitch: ok\n");
}

int main(int argc, char **argv)
{
    RT_INIT();
    const char *which = argc > 1 ? argv[1] : "all";
    int all = !strcmp(which, "all");
    if (all || !strcmp(which, "steal"))
        test_steal();
    if (all || !strcmp(which, "fade"))
        test_fade();
    if (all || !strcmp(which, "mpe"))
        test_mpe();
    if (all || !strcmp(which, "pitch"))
        test_pitch();
    return 0;
}
