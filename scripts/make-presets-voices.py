#!/usr/bin/env python3
"""Writes the factory preset that shows instanced mode and MPE (python3,
standard library only):

    python3 scripts/make-presets-voices.py [PRESET_DIR]   (default: presets/)

presets/mpe-pad.json: an instanced polyphonic pad, 8 voices. One voice is
three resonators (a body on a spring to an anchor, with drag for a Q of
about 25) tuned to the 1st, 2nd and 3rd harmonic of the root C4 (261.63 Hz),
each driven by a band-limited saw oscillator at the note's pitch with a slow
attack and release. Every note plays its own copy of that network, its time
step scaled by 2^((note + bend - root)/12), so the resonators follow the
note and each note's MPE pitch bend. MPE (lower zone, 15 member channels):
a note's channel pressure swells its drive (oscillator amplitude), its CC74
(timbre) brings in the bright third-harmonic pickup; a slow free LFO moves
the middle pickup across the stereo field.

presets/midi/mpe-pad.mid: the MPE Configuration Message (RPN 6 on channel 1,
15 member channels), then chords and a melody, one note per member channel,
with per-note pitch bends (a whole-tone scoop and a glide), pressure swells
and CC74 sweeps. (The `sprung render` MIDI reader plays the notes; bends,
pressure and CC74 reach the engine from hosts and from the SprungEvent API.)
"""

import json
import math
import os
import struct
import sys

FS = 48000.0
DT = 1.0 / FS
PPQ = 480
ROOT = 60


def midi_hz(note):
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def lam_of_hz(f):
    """The eigenvalue that rings at f at 48 kHz under the discrete map."""
    return (2.0 * math.sin(math.pi * f / FS) / DT) ** 2


def num(x):
    return float("%.12g" % x)


def mpe_pad():
    f_root = midi_hz(ROOT)
    mass = 0.001
    q = 25.0
    pans = [-0.35, 0.0, 0.35]
    gains = [17.0, 60.0, 150.0]
    bodies, anchors, springs, oscillators, mics = [], [], [], [], []
    for k in (1, 2, 3):
        f = k * f_root
        omega = 2.0 * math.pi * f
        x = 0.04 * (k - 1)
        bodies.append({"id": "res%d" % k, "position": [x, 0.0, 0.0], "mass": mass,
                       "drag": num(mass * omega / q)})
        anchors.append({"id": "post%d" % k, "position": [x, 0.0, 0.05]})
        springs.append({"id": "spring%d" % k, "from": "post%d" % k, "to": "res%d" % k,
                        "stiffness": num(mass * lam_of_hz(f))})
        oscillators.append({"id": "drive%d" % k, "target": "res%d" % k,
                            "direction": [0, 0, 1], "waveform": "saw", "amplitude": 1.0,
                            "attack_ms": 180, "release_ms": 700})
        mics.append({"id": "pickup%d" % k, "target": "res%d" % k, "axis": [0, 0, 1],
                     "gain": gains[k - 1], "pan": pans[k - 1]})
    sources = [
        {"id": "pressure", "type": "midi", "control": "channel_pressure"},
        {"id": "timbre", "type": "midi", "control": "timbre"},
        {"id": "drift", "type": "lfo", "shape": "sine", "rate_hz": 0.15},
    ]
    routes = [
        # Pressure 0..1 swells the fundamental's drive from 1 N to 2.5 N.
        {"source": "pressure", "target": "drive1", "parameter": "amplitude",
         "range": [1.0, 2.5], "smoothing_ms": 20},
        {"source": "pressure", "target": "drive2", "parameter": "amplitude",
         "range": [1.0, 2.5], "smoothing_ms": 20},
        # CC74 (0.5 until a controller sends it) opens the bright pickup.
        {"source": "timbre", "target": "pickup3", "parameter": "gain",
         "range": [0.0, 300.0], "smoothing_ms": 20},
        {"source": "drift", "target": "pickup2", "parameter": "pan",
         "range": [-0.5, 0.5], "offset": 0.5, "amount": 0.5, "smoothing_ms": 50},
    ]
    return {
        "sprung": 1,
        "name": "MPE Pad",
        "comment": ("An instanced polyphonic pad: 8 voices, each its own copy of three "
                    "resonators (1st, 2nd, 3rd harmonic of C4) driven by saw oscillators at "
                    "the note's pitch. Pitch by time dilation: every note and every per-note "
                    "pitch bend retunes its own voice only. Play it from an MPE controller "
                    "(lower zone): pressure swells a note, CC74 (slide) brightens it, bends "
                    "glide it. Hold chords; notes 36..96."),
        "bodies": bodies,
        "anchors": anchors,
        "springs": springs,
        "oscillators": oscillators,
        "microphones": mics,
        "voices": {"count": 8, "root": ROOT, "notes": [36, 96], "steal_fade_ms": 5},
        "mpe": {"lower": 15, "member_bend_range": 48, "master_bend_range": 2},
        "sources": sources,
        "routes": routes,
    }


def vlq(value):
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


class MpePhrase:
    """Channel messages in beats; one track, MPE lower zone."""

    def __init__(self, bpm):
        self.bpm = bpm
        self.events = []  # (tick, order, bytes)
        self.end_beat = 0.0
        self.channel = 0  # next member channel (0-based index from 1)

    def at(self, beat, data, order=2):
        self.events.append((int(round(beat * PPQ)), order, bytes(data)))
        self.end_beat = max(self.end_beat, beat)

    def mcm(self, members):
        # RPN 6 (MPE Configuration Message) on the master channel 1.
        for control, value in ((101, 0), (100, 6), (6, members), (38, 0), (101, 127),
                               (100, 127)):
            self.at(0, [0xB0, control, value], order=0)

    def note(self, start, length, note, velocity, bends=(), pressures=(), timbres=()):
        """A note on its own member channel; bends (beat offset, semitones),
        pressures (beat offset, 0..127), timbres (beat offset, 0..127)."""
        channel = 1 + self.channel % 15
        self.channel += 1
        self.at(start, [0xE0 | channel, 0, 64], order=1)  # bend centre first
        self.at(start, [0xB0 | channel, 74, 64], order=1)
        self.at(start, [0xD0 | channel, 0], order=1)
        self.at(start, [0x90 | channel, note, velocity], order=2)
        for offset, semitones in bends:
            value = max(0, min(16383, int(round(8192 + semitones / 48.0 * 8192))))
            self.at(start + offset, [0xE0 | channel, value & 0x7F, value >> 7])
        for offset, value in pressures:
            self.at(start + offset, [0xD0 | channel, value])
        for offset, value in timbres:
            self.at(start + offset, [0xB0 | channel, 74, value])
        self.at(start + length, [0x80 | channel, note, 64], order=0)

    def write(self, path, ring_beats):
        self.events.sort(key=lambda e: (e[0], e[1]))
        end_tick = int(round((self.end_beat + ring_beats) * PPQ))
        tempo = int(round(60_000_000 / self.bpm))
        track = bytearray()
        name = b"mpe-pad"
        track += vlq(0) + b"\xff\x03" + vlq(len(name)) + name
        track += vlq(0) + b"\xff\x51\x03" + tempo.to_bytes(3, "big")
        track += vlq(0) + b"\xff\x58\x04\x04\x02\x18\x08"
        tick = 0
        for t, _, data in self.events:
            track += vlq(t - tick) + data
            tick = t
        track += vlq(end_tick - tick) + b"\xff\x2f\x00"
        with open(path, "wb") as f:
            f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, PPQ))
            f.write(b"MTrk" + struct.pack(">I", len(track)) + bytes(track))
        seconds = (self.end_beat + ring_beats) * 60.0 / self.bpm
        print("%-32s %3d events  %.1f s" % (path, len(self.events), seconds))


def swell(length, peak):
    """Pressure rising to `peak` and back over `length` beats, 8 steps."""
    steps = 8
    return [(length * i / steps, int(peak * math.sin(math.pi * i / steps)))
            for i in range(steps + 1)]


def sweep(length, low, high):
    steps = 8
    return [(length * i / steps, int(low + (high - low) * i / steps)) for i in range(steps + 1)]


def mpe_pad_phrase():
    p = MpePhrase(bpm=80)
    p.mcm(15)
    # Cmaj7, a pressure swell on every note, the top note brightening.
    for note in (48, 55, 64, 71):
        p.note(0, 3.5, note, 90, pressures=swell(3.5, 100),
               timbres=sweep(3.5, 64, 120) if note == 71 else ())
    # Am9: the top note scoops up a whole tone into E5 (a per-note bend).
    for note in (45, 57, 60, 67):
        p.note(4, 3.5, note, 85, pressures=swell(3.5, 80))
    p.note(4.5, 3, 74, 95, bends=[(0, -2), (0.25, -1.5), (0.5, -1), (0.75, -0.5), (1, 0)],
           pressures=swell(3, 110))
    # Fmaj9 with a melody gliding up a fifth while the chord holds still.
    for note in (41, 53, 57, 64):
        p.note(8, 4, note, 85, pressures=swell(4, 90))
    p.note(8.5, 3.5, 72, 100,
           bends=[(1 + 0.25 * i, 7 * i / 8) for i in range(9)],
           timbres=sweep(3.5, 40, 127))
    return p


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "presets")
    os.makedirs(os.path.join(out, "midi"), exist_ok=True)
    path = os.path.join(out, "mpe-pad.json")
    with open(path, "w") as f:
        json.dump(mpe_pad(), f, indent=2)
        f.write("\n")
    print(path)
    mpe_pad_phrase().write(os.path.join(out, "midi", "mpe-pad.mid"), ring_beats=4)


if __name__ == "__main__":
    main()
