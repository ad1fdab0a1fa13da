#!/usr/bin/env python3
"""Writes the factory presets that show issue 3's physics objects, and their
phrases (python3, standard library only):

    python3 scripts/make-presets-instrument.py [PRESET_DIR]   (default: presets/)

presets/NAME.json and presets/midi/NAME.mid for bowed-string, plucked-harp,
rattle, echo and resonator-input. Tunings use the discrete integrator's
frequency map at 48 kHz (DESIGN.md §1): a body on a spring to an anchor
rings at (fs/π)·asin(½·√(k/m)·dt); a linear string (rest length 0) of N
bodies between two anchors has λ_1 = (4k/m)·sin²(π/(2(N+1))).
docs/presets.md says what each shows and how to play it.
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
Phrase = make_midi.Phrase


def midi_hz(note):
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def lam_of_hz(f):
    """The eigenvalue of M^-1 K the discrete integrator plays at f Hz."""
    return (2.0 * math.sin(math.pi * f / FS) / DT) ** 2


def num(x):
    """Short decimal text that reads back within 1e-12 (keeps files small)."""
    if isinstance(x, int):
        return x
    return float("%.12g" % x)


def vec(v):
    return [num(c) for c in v]


class Preset:
    def __init__(self, name, comment):
        self.doc = {"sprung": 1, "name": name, "comment": comment}
        self.sections = {}

    def add(self, section, entry):
        self.sections.setdefault(section, []).append(entry)
        return entry["id"]

    def write(self, directory, base):
        order = ["gravity", "bodies", "anchors", "springs", "mallets", "oscillators", "plucks",
                 "bows", "audio_inputs", "microphones", "collisions", "delays"]
        doc = dict(self.doc)
        for key in order:
            if key in self.sections:
                doc[key] = self.sections[key]
        path = os.path.join(directory, base + ".json")
        with open(path, "w") as f:
            f.write("{\n")
            keys = list(doc.keys())
            for i, key in enumerate(keys):
                value = doc[key]
                sep = "," if i + 1 < len(keys) else ""
                if isinstance(value, list) and value and isinstance(value[0], dict):
                    f.write('  "%s": [\n' % key)
                    for j, item in enumerate(value):
                        f.write("    " + json.dumps(item, separators=(", ", ": ")) +
                                ("," if j + 1 < len(value) else "") + "\n")
                    f.write("  ]%s\n" % sep)
                else:
                    f.write('  "%s": %s%s\n' % (key, json.dumps(value), sep))
            f.write("}\n")
        print("%-32s %s" % (path, ", ".join("%d %s" % (len(v), k) for k, v in
                                            self.sections.items() if isinstance(v, list))))


def string(p, prefix, note, y, n_bodies, mass, spacing, drag):
    """A linear string (rest length 0) along x at height y, tuned so its
    first mode is `note`; returns its body ids."""
    k = lam_of_hz(midi_hz(note)) * mass / (4.0 * math.sin(math.pi / (2 * (n_bodies + 1))) ** 2)
    left = p.add("anchors", {"id": prefix + "L", "position": vec([0, y, 0])})
    right = p.add("anchors", {"id": prefix + "R",
                              "position": vec([spacing * (n_bodies + 1), y, 0])})
    ids = []
    for i in range(n_bodies):
        ids.append(p.add("bodies", {"id": "%s%d" % (prefix, i + 1),
                                    "position": vec([spacing * (i + 1), y, 0]),
                                    "mass": num(mass), "drag": num(drag)}))
    points = [left] + ids + [right]
    for i in range(n_bodies + 1):
        p.add("springs", {"id": "%ss%d" % (prefix, i), "from": points[i], "to": points[i + 1],
                          "stiffness": num(k), "rest_length": 0})
    return ids


def make_bowed_string(out):
    p = Preset("Bowed String",
               "Eight bowed strings, G3 to G4 in G major (notes 55..67). A bow on each "
               "string (stick-slip friction) sounds while the key is held; velocity sets "
               "the bow speed. Hold notes: the tone builds up over the bow's attack.")
    scale = [55, 57, 59, 60, 62, 64, 66, 67]
    for s, note in enumerate(scale):
        prefix = "g%d_" % s
        ids = string(p, prefix, note, 0.05 * s, 12, 0.0002, 0.02, 0.004)
        p.add("bows", {"id": prefix + "bow", "target": ids[1], "direction": [0, 0, 1],
                       "force": 0.15, "speed": 0.15, "static_friction": 0.8,
                       "dynamic_friction": 0.3, "slip_velocity": 0.1, "stick_velocity": 0.02,
                       "attack_ms": 60, "release_ms": 120, "notes": [note, note]})
        p.add("microphones", {"id": prefix + "mic", "target": ids[5], "axis": [0, 0, 1],
                              "signal": "velocity", "gain": 0.7,
                              "pan": num(-0.6 + 1.2 * s / (len(scale) - 1))})
    p.write(out, "bowed-string")
    ph = Phrase("bowed-string", 72)
    melody = [(0, 2, 55), (2, 1, 59), (3, 1, 62), (4, 3, 67), (7, 1, 66), (8, 2, 64),
              (10, 2, 60), (12, 4, 62)]
    for start, length, note in melody:
        ph.note(start, length - 0.1, note, 100)
    ph.write(os.path.join(out, "midi", "bowed-string.mid"), 3)


def make_plucked_harp(out):
    p = Preset("Plucked Harp",
               "Fifteen plucked strings, C4 to C6 in C major (notes 60..84). A plectrum "
               "pushes each string and lets go, so the string is displaced and released, "
               "not struck; velocity sets how far it is pushed.")
    notes = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79, 81, 83, 84]
    for s, note in enumerate(notes):
        prefix = "h%d_" % s
        ids = string(p, prefix, note, 0.03 * s, 10, 0.0001, 0.015, 0.00025)
        p.add("plucks", {"id": prefix + "pluck", "target": ids[2], "direction": [0, 0, 1],
                         "strength": 0.6, "stiffness": 20000, "speed": 0.5,
                         "notes": [note, note]})
        p.add("microphones", {"id": prefix + "mic", "target": ids[4], "axis": [0, 0, 1],
                              "signal": "velocity", "gain": 1.5,
                              "pan": num(-0.7 + 1.4 * s / (len(notes) - 1))})
    p.write(out, "plucked-harp")
    ph = Phrase("plucked-harp", 96)
    arpeggio = [60, 64, 67, 72, 76, 79, 84, 79, 76, 72, 67, 64]
    for i, note in enumerate(arpeggio):
        ph.note(i * 0.5, 0.45, note, 70 + (i * 7) % 50)
    for i, note in enumerate([65, 69, 72, 77, 81]):
        ph.note(6 + i * 0.25, 2, note, 90)
    ph.write(os.path.join(out, "midi", "plucked-harp.mid"), 4)


def make_rattle(out):
    g = 9.81
    p = Preset("Rattle",
               "Four small drums with a bead resting on each, under gravity, with a lid "
               "above: strike a drum (notes 36..47, 48..59, 60..71, 72..84) and its bead "
               "jumps, rattles on the skin and against the lid, and settles. Collisions "
               "make the rattle; force microphones on the skins hear each impact.")
    p.doc["gravity"] = [0, 0, -g]
    drums = [(170.0, [36, 47]), (240.0, [48, 59]), (330.0, [60, 71]), (450.0, [72, 84])]
    for d, (hz, notes) in enumerate(drums):
        x = 0.1 * d
        skin_mass, bead_mass, k_contact = 0.01, 0.0004, 2000.0
        k = lam_of_hz(hz) * skin_mass
        r_skin, r_bead = 0.004, 0.003
        # Everything starts in equilibrium: the hanger carries the skin and
        # the bead, the bead sits on the skin pressed in by m·g/k.
        load = (skin_mass + bead_mass) * g
        hanger = 0.05
        p.add("anchors", {"id": "top%d" % d, "position": vec([x, 0, hanger])})
        skin = p.add("bodies", {"id": "skin%d" % d, "position": vec([x, 0, 0]),
                                "mass": num(skin_mass), "drag": 0.08, "radius": r_skin})
        p.add("springs", {"id": "hanger%d" % d, "from": "top%d" % d, "to": skin,
                          "stiffness": num(k), "rest_length": num(hanger - load / k)})
        sink = bead_mass * g / k_contact
        bead = p.add("bodies", {"id": "bead%d" % d,
                                "position": vec([x, 0, r_skin + r_bead - sink]),
                                "mass": num(bead_mass), "drag": 0.0004, "radius": r_bead})
        p.add("collisions", {"id": "on_skin%d" % d, "body": bead, "other": skin,
                             "stiffness": k_contact, "damping": 0.02})
        p.add("collisions", {"id": "lid%d" % d, "body": bead,
                             "plane": {"point": vec([x, 0, 0.012]), "normal": [0, 0, -1]},
                             "radius": r_bead, "stiffness": 4000, "damping": 0.01})
        p.add("mallets", {"id": "stick%d" % d, "target": skin, "direction": [0, 0, 1],
                          "strength": 0.004, "duration_ms": 1.0, "notes": notes})
        p.add("microphones", {"id": "skin_mic%d" % d, "target": skin, "axis": [0, 0, 1],
                              "signal": "velocity", "gain": 2.0,
                              "pan": num(-0.6 + 0.4 * d)})
        p.add("microphones", {"id": "hit_mic%d" % d, "target": skin, "axis": [0, 0, 1],
                              "signal": "force", "gain": 0.01, "pan": num(0.6 - 0.4 * d)})
    p.write(out, "rattle")
    ph = Phrase("rattle", 110)
    pattern = [(0, 40), (1, 52), (1.5, 52), (2, 64), (3, 76), (3.5, 64), (4, 40), (4.75, 76),
               (5, 52), (6, 64), (6.5, 76), (7, 40)]
    for start, note in pattern:
        ph.note(start, 0.2, note, 110)
    ph.write(os.path.join(out, "midi", "rattle.mid"), 4)


def make_echo(out):
    p = Preset("Echo Tines",
               "Five struck tines (C pentatonic, notes 60..69), each with a twin: a delay "
               "line carries a tine's sound to its twin 300 ms later, and another carries "
               "the twin's back, so every note echoes back and forth between left and "
               "right and fades. Play sparse notes and listen to the repeats.")
    notes = [60, 62, 64, 67, 69]
    mass, drag = 0.002, 0.06
    for t, note in enumerate(notes):
        k = lam_of_hz(midi_hz(note)) * mass
        for side, pan in (("a", -0.7), ("b", 0.7)):
            tid = "t%d%s" % (t, side)
            p.add("anchors", {"id": tid + "_root", "position": vec([0.05 * t, 0.1 if side == "b" else 0, 0.05])})
            p.add("bodies", {"id": tid, "position": vec([0.05 * t, 0.1 if side == "b" else 0, 0]),
                             "mass": mass, "drag": drag})
            p.add("springs", {"id": tid + "_spring", "from": tid + "_root", "to": tid,
                              "stiffness": num(k)})
            p.add("audio_inputs", {"id": tid + "_in", "target": tid, "direction": [0, 0, 1],
                                   "gain": 0.04, "input": "none"})
            p.add("microphones", {"id": tid + "_mic", "target": tid, "axis": [0, 0, 1],
                                  "signal": "velocity", "gain": 0.4, "pan": pan})
        p.add("mallets", {"id": "t%d_mallet" % t, "target": "t%da" % t, "direction": [0, 0, 1],
                          "strength": 0.0006, "duration_ms": 1.0, "notes": [note, note]})
        p.add("delays", {"id": "t%d_there" % t, "from": "t%da_mic" % t, "to": "t%db_in" % t,
                         "time_ms": 300, "gain": 2.5})
        p.add("delays", {"id": "t%d_back" % t, "from": "t%db_mic" % t, "to": "t%da_in" % t,
                         "time_ms": 300, "gain": 2.5})
    p.write(out, "echo")
    ph = Phrase("echo", 60)
    for start, note, vel in [(0, 60, 110), (2, 67, 100), (3.5, 64, 90), (5, 69, 100),
                             (6, 62, 80)]:
        ph.note(start, 0.3, note, vel)
    ph.write(os.path.join(out, "midi", "echo.mid"), 4)


def make_resonator_input(out):
    p = Preset("Input Resonator",
               "A bank of six resonators tuned to a C major chord (C2 G2 C3 E3 G3 C4), "
               "driven by the audio input (left input channel 0 drives three, right "
               "channel 1 the others): anything played into it rings the chord "
               "sympathetically. The LV2 effect plugin's natural preset. Each resonator "
               "can also be struck by its own note (36, 43, 48, 52, 55, 60).")
    notes = [36, 43, 48, 52, 55, 60]
    mass = 0.005
    for r, note in enumerate(notes):
        k = lam_of_hz(midi_hz(note)) * mass
        rid = "r%d" % r
        p.add("anchors", {"id": rid + "_root", "position": vec([0.05 * r, 0, 0.05])})
        p.add("bodies", {"id": rid, "position": vec([0.05 * r, 0, 0]), "mass": mass,
                         "drag": num(0.004 * (1 + r / 3.0))})
        p.add("springs", {"id": rid + "_spring", "from": rid + "_root", "to": rid,
                          "stiffness": num(k)})
        p.add("mallets", {"id": rid + "_mallet", "target": rid, "direction": [0, 0, 1],
                          "strength": num(0.0012 * (1 + r / 4.0)), "duration_ms": 1.0,
                          "notes": [note, note]})
        p.add("audio_inputs", {"id": rid + "_in", "target": rid, "direction": [0, 0, 1],
                               "gain": 0.05, "input": r % 2})
        p.add("microphones", {"id": rid + "_mic", "target": rid, "axis": [0, 0, 1],
                              "signal": "velocity", "gain": num(0.6 * (1 + r / 3.0)),
                              "pan": num(-0.6 + 1.2 * r / (len(notes) - 1))})
    p.write(out, "resonator-input")
    ph = Phrase("resonator-input", 80)
    for start, note in [(0, 36), (1, 48), (2, 55), (3, 60), (4, 52), (4, 43)]:
        ph.note(start, 0.5, note, 90)
    ph.write(os.path.join(out, "midi", "resonator-input.mid"), 3)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "presets")
    os.makedirs(os.path.join(out, "midi"), exist_ok=True)
    make_bowed_string(out)
    make_plucked_harp(out)
    make_rattle(out)
    make_echo(out)
    make_resonator_input(out)


if __name__ == "__main__":
    main()
