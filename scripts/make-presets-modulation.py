#!/usr/bin/env python3
"""Writes the factory presets that show issue 3's modulation (python3,
standard library only):

    python3 scripts/make-presets-modulation.py [PRESET_DIR]   (default: presets/)

presets/arpeggiator.json and presets/midi/arpeggiator.mid: four tuned bars,
each struck by a single-note mallet; a key press opens a slow envelope whose
rise crosses four Note Trigger thresholds in turn, so every key plays an
arpeggio C5 E5 G5 C6 (a Note Trigger fires when offset + amount·envelope
rises above 0.5). Tunings use the discrete integrator's map at 48 kHz:
a body on a spring to an anchor rings at (fs/π)·asin(½·√(k/m)·dt).
"""

import importlib.util
import json
import math
import os
import sys

FS = 48000.0
DT = 1.0 / FS
HERE = os.path.dirname(os.path.abspath(__file__))

_spec = importlib.util.spec_from_file_location("make_midi", os.path.join(HERE, "make-midi.py"))
make_midi = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_midi)


def midi_hz(note):
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def lam_of_hz(f):
    return (2.0 * math.sin(math.pi * f / FS) / DT) ** 2


def num(x):
    return float("%.12g" % x)


def arpeggiator():
    notes = [72, 76, 79, 84]
    pans = [-0.6, -0.2, 0.2, 0.6]
    mass = 0.001
    bodies, anchors, springs, mallets, mics, routes = [], [], [], [], [], []
    for i, note in enumerate(notes):
        x = 0.05 * i
        bodies.append({"id": "bar%d" % i, "position": [x, 0.0, 0.0], "mass": mass,
                       "drag": 0.004})
        anchors.append({"id": "post%d" % i, "position": [x, 0.0, 0.05]})
        springs.append({"id": "spring%d" % i, "from": "post%d" % i, "to": "bar%d" % i,
                        "stiffness": num(mass * lam_of_hz(midi_hz(note)))})
        mallets.append({"id": "hammer%d" % i, "target": "bar%d" % i, "direction": [0, 0, 1],
                        "strength": 0.0006, "duration_ms": 0.5, "notes": [note, note]})
        mics.append({"id": "mic%d" % i, "target": "bar%d" % i, "axis": [0, 0, 1],
                     "gain": 500, "pan": pans[i]})
        # The envelope rises 0 -> 1 in 500 ms; trigger i fires when it
        # passes 0.1 + 0.25·i: offset = 0.5 - threshold.
        threshold = 0.1 + 0.25 * i
        routes.append({"source": "hold", "note_trigger": {"note": note, "velocity": 100},
                       "offset": num(0.5 - threshold)})
    preset = {
        "sprung": 1,
        "name": "Arpeggiator",
        "comment": "Hold a key: an envelope rises through four Note Trigger thresholds and "
                   "plays C5 E5 G5 C6 in turn; release and press again for the next "
                   "arpeggio. The key itself strikes nothing unless it is one of the four.",
        "bodies": bodies,
        "anchors": anchors,
        "springs": springs,
        "mallets": mallets,
        "microphones": mics,
        "tempo": 120,
        "sources": [{"id": "hold", "type": "envelope", "attack_ms": 500, "decay_ms": 0,
                     "sustain": 1, "release_ms": 20}],
        "routes": routes,
    }
    phrase = make_midi.Phrase("arpeggiator", 120)
    for k, key in enumerate([48, 50, 53, 48]):
        phrase.note(2.0 * k, 1.5, key, 100)
    return preset, phrase


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "presets")
    os.makedirs(os.path.join(out, "midi"), exist_ok=True)
    preset, phrase = arpeggiator()
    with open(os.path.join(out, "arpeggiator.json"), "w") as f:
        json.dump(preset, f, indent=2)
        f.write("\n")
    phrase.write(os.path.join(out, "midi", "arpeggiator.mid"), ring_beats=4)


if __name__ == "__main__":
    main()
