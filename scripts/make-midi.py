#!/usr/bin/env python3
"""Writes the phrases in presets/midi/*.mid (python3, standard library only).

    python3 scripts/make-midi.py [OUTPUT_DIR]    (default: presets/midi/ next to this script)

One Standard MIDI File (format 0, 480 ticks per quarter note) per factory
preset, with the preset's base name, playing a short phrase inside its note
range. Each file ends with an end-of-track event a little after the last note
so that `sprung render --midi` lets the last notes ring. docs/presets.md says
what each one plays.
"""

import os
import struct
import sys

PPQ = 480


def vlq(value):
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


class Phrase:
    """Notes in beats (quarter notes); written as one track."""

    def __init__(self, name, bpm):
        self.name = name
        self.bpm = bpm
        self.notes = []  # (start_beat, length_beats, note, velocity)
        self.end_beat = 0.0

    def note(self, start, length, note, velocity):
        assert 0 <= note <= 127 and 1 <= velocity <= 127
        self.notes.append((start, length, note, velocity))
        self.end_beat = max(self.end_beat, start + length)

    def seconds(self, beats):
        return beats * 60.0 / self.bpm

    def write(self, path, ring_beats):
        events = []  # (tick, order, bytes): note-offs before note-ons at one tick
        for start, length, note, velocity in self.notes:
            on = int(round(start * PPQ))
            off = int(round((start + length) * PPQ))
            events.append((on, 1, bytes([0x90, note, velocity])))
            events.append((off, 0, bytes([0x80, note, 64])))
        events.sort(key=lambda e: (e[0], e[1]))
        end_tick = int(round((self.end_beat + ring_beats) * PPQ))
        tempo = int(round(60_000_000 / self.bpm))
        track = bytearray()
        name = self.name.encode("ascii")
        track += vlq(0) + b"\xff\x03" + vlq(len(name)) + name
        track += vlq(0) + b"\xff\x51\x03" + tempo.to_bytes(3, "big")
        track += vlq(0) + b"\xff\x58\x04\x04\x02\x18\x08"
        tick = 0
        for t, _, data in events:
            track += vlq(t - tick) + data
            tick = t
        track += vlq(end_tick - tick) + b"\xff\x2f\x00"
        with open(path, "wb") as f:
            f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, PPQ))
            f.write(b"MTrk" + struct.pack(">I", len(track)) + bytes(track))
        lo = min(n for _, _, n, _ in self.notes)
        hi = max(n for _, _, n, _ in self.notes)
        print("%-32s %3d notes %2d..%2d  %.1f s" % (path, len(self.notes), lo, hi,
                                                     self.seconds(self.end_beat + ring_beats)))


def demo():
    """Fmaj9 - Em7 - Dm9 - G13sus - Cmaj9: arpeggios under a slow melody."""
    p = Phrase("Sprung demo", 96)
    chords = [
        (53, [57, 60, 64, 67]),       # Fmaj9 over F3
        (52, [55, 59, 62, 67]),       # Em7 over E3
        (50, [57, 60, 64, 65]),       # Dm9 over D3
        (55, [57, 60, 65, 64]),       # G13sus
    ]
    melody = [
        [(0, 1.5, 76), (1.5, 0.5, 79), (2, 2, 81)],
        [(0, 1.5, 79), (1.5, 0.5, 76), (2, 1, 74), (3, 1, 71)],
        [(0, 1, 72), (1, 1, 74), (2, 1.5, 77), (3.5, 0.5, 76)],
        [(0, 2, 74), (2, 1, 72), (3, 1, 74)],
    ]
    for bar, ((bass, tones), line) in enumerate(zip(chords, melody)):
        b0 = 4.0 * bar
        p.note(b0, 4, bass, 84)
        order = [0, 1, 2, 3, 2, 1, 2, 3]
        for k, idx in enumerate(order):
            p.note(b0 + 0.5 * k, 0.5, tones[idx], 58 + (12 if k % 4 == 0 else 0))
        for start, length, n in line:
            p.note(b0 + start, length, n, 100)
    # Final bar: a rolled Cmaj9 chord left to ring, top note C6.
    b0 = 16.0
    for k, n in enumerate([48, 55, 59, 62, 64, 67, 71, 74, 76, 84]):
        p.note(b0 + 0.09 * k, 4, n, 70 + 3 * k)
    return p, 1.0


def marimba():
    """The figure of Bach's C major prelude (BWV 846), an octave up, in 16ths."""
    p = Phrase("Marimba", 132)
    bars = [  # two bass notes, then three upper notes played twice
        [60, 64, 67, 72, 76],
        [60, 62, 69, 74, 77],
        [59, 62, 67, 74, 77],
        [60, 64, 67, 72, 76],
        [60, 64, 69, 76, 81],
    ]
    for bar, (b1, b2, t1, t2, t3) in enumerate(bars):
        for half in range(2):
            h0 = 4.0 * bar + 2.0 * half
            p.note(h0, 2.0, b1, 96)
            p.note(h0 + 0.25, 1.75, b2, 80)
            for k, n in enumerate([t1, t2, t3, t1, t2, t3]):
                p.note(h0 + 0.5 + 0.25 * k, 0.25, n, 88 if k % 3 == 0 else 74)
    # A closing run up to C6.
    b0 = 20.0
    for k, n in enumerate([60, 64, 67, 72, 76, 79, 84]):
        p.note(b0 + 0.125 * k, 0.125 if k < 6 else 1.0, n, 80 + 3 * k)
    return p, 2.0


def kalimba():
    """A lilting pentatonic ostinato, two thumbs alternating, with dyads."""
    p = Phrase("Kalimba", 100)
    # Tines: C4 D4 E4 F4 G4 A4 B4 C5 D5 E5 F5 G5 A5 B5 C6 D6 E6
    left = [60, 64, 67, 64, 62, 67, 69, 67]
    right = [76, 79, 81, 79, 74, 76, 72, 74]
    t = 0.0
    for rep in range(2):
        for k in range(8):
            p.note(t, 0.5, left[k], 84 if k % 4 == 0 else 70)
            # The repeat lifts two notes of the answer to C6 and D6.
            high = {2: 84, 6: 86} if rep == 1 else {}
            p.note(t + 0.25, 0.25, high.get(k, right[k]), 90 if k % 2 == 0 else 74)
            t += 0.5
    # Dyads and a last high chime.
    for k, (a, b) in enumerate([(60, 76), (62, 77), (64, 79), (67, 84)]):
        p.note(t + k * 0.5, 1.0, a, 80)
        p.note(t + k * 0.5, 1.0, b, 92)
    t += 2.0
    p.note(t, 2.0, 72, 90)
    p.note(t + 0.12, 2.0, 88, 96)
    return p, 2.0


def bells():
    """The Westminster quarters in E (G#4 F#4 E4 B3), closing on an E chord."""
    p = Phrase("Bells", 100)
    gs, fs, e, b = 68, 66, 64, 59
    changes = [[gs, fs, e, b], [e, gs, fs, b], [gs, e, fs, b], [b, fs, gs, e]]
    t = 0.0
    for group in changes:
        for k, n in enumerate(group):
            p.note(t, 1.0 if k < 3 else 2.0, n, 96 if k < 3 else 106)
            t += 1.0
        t += 1.0
    p.note(t, 3.0, 64, 110)         # E4
    p.note(t, 3.0, 71, 88)          # B4
    p.note(t + 0.02, 3.0, 76, 84)   # E5
    return p, 3.0


def string():
    """Harp arpeggios over C - Am - F - G, then a glissando down two octaves."""
    p = Phrase("Plucked Strings", 96)
    chords = [[48, 55, 60, 64, 67, 72], [57, 60, 64, 69, 72, 69],
              [53, 57, 60, 65, 69, 72], [55, 59, 62, 67, 71, 67]]
    t = 0.0
    for tones in chords:
        for k, n in enumerate(tones + tones[::-1][1:3]):
            p.note(t + 0.25 * k, 1.0, n, 92 if k == 0 else 76)
        t += 2.0
    white = [72, 71, 69, 67, 65, 64, 62, 60, 59, 57, 55, 53, 52, 50, 48]
    for k, n in enumerate(white):
        p.note(t + 0.0625 * k, 0.5, n, 70 + k)
    t += 0.0625 * len(white) + 0.25
    for n in [48, 55, 64, 72]:
        p.note(t, 2.0, n, 96)
    return p, 2.0


def drums():
    """A two-bar hand-drum groove (dum, tek, ka), played twice, with a fill."""
    p = Phrase("Hand Drums", 104)
    dum_low, slap_low, dum_high, slap_high = 36, 38, 40, 42
    pattern = [  # (beat, note, velocity)
        (0.0, dum_low, 110), (0.75, slap_high, 70), (1.0, slap_high, 96), (1.5, dum_high, 80),
        (2.0, dum_low, 100), (2.5, slap_low, 90), (3.0, slap_high, 100), (3.5, slap_high, 66),
        (3.75, slap_high, 74),
        (4.0, dum_low, 110), (4.75, slap_high, 70), (5.0, slap_high, 96), (5.5, dum_high, 84),
        (6.0, dum_low, 96), (6.5, dum_high, 90), (7.0, slap_low, 104), (7.5, dum_high, 80),
    ]
    for rep in range(2):
        for beat, n, v in pattern:
            p.note(8.0 * rep + beat, 0.25, n, v)
    fill = [dum_high, slap_high, dum_high, slap_high, dum_low, slap_low, dum_low, slap_low]
    for k, n in enumerate(fill):
        p.note(16.0 + 0.25 * k, 0.25, n, 70 + 5 * k)
    p.note(18.0, 1.0, dum_low, 120)
    p.note(18.0, 1.0, slap_high, 100)
    return p, 2.0


def gong():
    """A full stroke, a soft roll that swells, a rim tap and a final stroke."""
    p = Phrase("Gong", 60)
    p.note(0.0, 1.0, 36, 112)
    for k in range(16):
        p.note(3.0 + 0.1875 * k, 0.15, 48, 30 + 4 * k)
    p.note(6.5, 0.5, 64, 70)
    p.note(7.0, 1.0, 36, 124)
    return p, 4.0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.normpath(os.path.join(here, "..", "presets", "midi"))
    out = sys.argv[1] if len(sys.argv) > 1 else default
    os.makedirs(out, exist_ok=True)
    for base, make in [("demo", demo), ("marimba", marimba), ("kalimba", kalimba),
                       ("bells", bells), ("string", string), ("drums", drums),
                       ("gong", gong)]:
        phrase, ring = make()
        phrase.write(os.path.join(out, base + ".mid"), ring)


if __name__ == "__main__":
    main()
