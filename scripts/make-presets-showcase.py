#!/usr/bin/env python3
"""Writes the showcase factory presets and their phrases (python3, standard
library only):

    python3 scripts/make-presets-showcase.py [PRESET_DIR]   (default: presets/)

presets/NAME.json and presets/midi/NAME.mid for
  sitar           plucked strings buzzing on a bridge (collisions: jawari);
  wind-chimes     tubes struck by Note Triggers from sample-and-hold LFOs,
                  at a strength that follows a wind (a noise-driven sail
                  heard through an envelope follower), swaying pans (LFOs);
  vibraphone      bars with a motor tremolo (a tempo-synced LFO on the
                  resonator microphones' gain), depth on the mod wheel (CC1);
  talking-drum    a membrane whose rim anchors an envelope pulls outwards
                  while a key is held, so the pitch rises (moving anchors).
Tunings use the discrete integrator's map at 48 kHz (DESIGN.md §1); the
tuned chains come from scripts/make-presets.py (inverse eigenvalue problem).
The sitar's bridge raises the pitch of its strings by a fixed ratio (a
one-sided contact makes a bilinear oscillator, whose frequency does not
depend on amplitude); SITAR_BRIDGE_CENTS, measured with tests/presets
(SPRUNG_TEST_VERBOSE=1), is taken off the strings' tuning.
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


def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_midi = _load("make_midi", "make-midi.py")
base = _load("make_presets", "make-presets.py")
Phrase = make_midi.Phrase
midi_hz, lam_of_hz, num, t60_rate = base.midi_hz, base.lam_of_hz, base.num, base.t60_rate


def vec(v):
    return [num(c) for c in v]


class Preset(base.Preset):
    """make-presets.py's builder plus the other sections, sources and routes."""

    def __init__(self, name, comment):
        super().__init__(name, comment)
        self.extra = {}   # section -> list (plucks, collisions, ...)
        self.top = {}     # gravity, tempo
        self.sources, self.routes = [], []

    def add(self, section, entry):
        self.extra.setdefault(section, []).append(entry)
        return entry["id"]

    def source(self, entry):
        self.sources.append(entry)
        return entry["id"]

    def route(self, entry):
        self.routes.append(entry)

    def write(self, directory, base_name):
        doc = {"sprung": 1, "name": self.name, "comment": self.comment}
        doc.update({k: v for k, v in self.top.items() if k == "gravity"})
        sections = [("bodies", self.bodies), ("anchors", self.anchors),
                    ("springs", self.springs), ("mallets", self.mallets)]
        for key in ("oscillators", "plucks", "bows", "audio_inputs"):
            sections.append((key, self.extra.get(key, [])))
        sections.append(("microphones", self.microphones))
        for key in ("collisions", "delays"):
            sections.append((key, self.extra.get(key, [])))
        for key, value in sections:
            if value:
                doc[key] = value
        if "tempo" in self.top:
            doc["tempo"] = self.top["tempo"]
        if self.sources:
            doc["sources"] = self.sources
        if self.routes:
            doc["routes"] = self.routes
        path = os.path.join(directory, base_name + ".json")
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
        counts = [(k, len(v)) for k, v in sections if v]
        counts += [("sources", len(self.sources)), ("routes", len(self.routes))]
        print("%-30s %s" % (path, ", ".join("%d %s" % (n, k) for k, n in counts if n)))


# ---------------------------------------------------------------- sitar

# Measured: the bridge contact raises every string by this much (see the
# module comment); the strings are tuned this much flat to compensate.
SITAR_BRIDGE_CENTS = 53.0
APEX = 0.001   # how far the plectrum pulls the string at velocity 127 (m)
GAP = 0.00005  # the second bridge plane lies this far below the string (m)


def make_sitar(out):
    """Plucked strings over a flat bridge (jawari): the string's first body
    rests on a plane (contact on one side only) and its second body just
    above another, so each vibration wraps the string onto the bridge: the
    buzz is contact physics."""
    p = Preset("Sitar",
               "Fifteen plucked strings in raga Bhairav (C Db E F G Ab B), C3 to C5 "
               "(notes 48..72). Each string's end lies on a flat bridge: its first body "
               "touches a plane at rest and its second body grazes another 0.15 mm "
               "below, so every cycle wraps the string onto the bridge and it buzzes "
               "(jawari). Loud notes buzz more, the buzz thins as the note decays.")
    notes = [48, 49, 52, 53, 55, 56, 59, 60, 61, 64, 65, 67, 68, 71, 72]
    n_bodies, spacing, mass = 16, 0.04, 0.0005
    for s, note in enumerate(notes):
        prefix = "s%d_" % s
        y = 0.02 * s
        f = midi_hz(note) * 2.0 ** (-SITAR_BRIDGE_CENTS / 1200.0)
        k = lam_of_hz(f) * mass / (4.0 * math.sin(math.pi / (2 * (n_bodies + 1))) ** 2)
        t = s / (len(notes) - 1)
        drag = 2.0 * mass * t60_rate(base.lerp(5.0, 2.5, t))
        left = p.anchor(prefix + "nut", (0.0, y, 0.0))
        right = p.anchor(prefix + "bridge_end", (spacing * (n_bodies + 1), y, 0.0))
        ids = [p.body("%s%d" % (prefix, i + 1), (spacing * (n_bodies - i), y, 0.0), mass,
                      drag=drag) for i in range(n_bodies)]
        # ids[0] is next to the bridge end (right), ids[-1] next to the nut.
        points = [right] + ids + [left]
        for i in range(n_bodies + 1):
            p.spring("%ss%d" % (prefix, i), points[i], points[i + 1], k, rest_length=0.0)
        # Bridge: a plane under the first body, touching at rest, and one
        # 0.15 mm under the second (reached only by loud vibrations).
        p.add("collisions", {"id": prefix + "jawari1", "body": ids[0],
                             "plane": {"point": vec([0, y, 0.0]), "normal": [0, 0, 1]},
                             "stiffness": num(6.0 * k), "damping": num(2e-4 * math.sqrt(k * mass))})
        p.add("collisions", {"id": prefix + "jawari2", "body": ids[1],
                             "plane": {"point": vec([0, y, -GAP]), "normal": [0, 0, 1]},
                             "stiffness": num(3.0 * k)})
        p.add("plucks", {"id": prefix + "mizrab", "target": ids[n_bodies - 4],
                         "direction": [0, 0, -1],
                         "strength": num(APEX * k * (n_bodies + 1) / (4.0 * (n_bodies - 3))),
                         "stiffness": num(20.0 * k), "speed": 0.4, "notes": [note, note]})
        p.microphone(prefix + "mic", ids[2], (0, 0, 1), 0.4 * 261.6 / midi_hz(note), base.lerp(-0.5, 0.5, t))
    p.write(out, "sitar")

    ph = Phrase("sitar", 72)
    # An alap in Bhairav: slow, rising from Sa to the upper Sa and back.
    line = [(0, 1.5, 48), (1.5, 0.5, 49), (2, 1, 52), (3, 1, 53), (4, 2, 55), (6, 0.5, 56),
            (6.5, 0.5, 55), (7, 0.5, 53), (7.5, 0.5, 52), (8, 1, 53), (9, 1, 55), (10, 1, 56),
            (11, 1, 59), (12, 2, 60), (14, 0.5, 61), (14.5, 0.5, 64), (15, 0.5, 65),
            (15.5, 0.5, 67), (16, 0.5, 68), (16.5, 0.5, 71), (17, 2, 72), (19, 0.5, 68),
            (19.5, 0.5, 67), (20, 0.5, 64), (20.5, 0.5, 61), (21, 3, 60)]
    for start, length, note in line:
        ph.note(start, length, note, 96 if length >= 1 else 80)
    ph.write(os.path.join(out, "midi", "sitar.mid"), 3)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "presets")
    os.makedirs(os.path.join(out, "midi"), exist_ok=True)
    only = sys.argv[2:] if len(sys.argv) > 2 else None
    for name, fn in (("sitar", make_sitar),):
        if only is None or name in only:
            fn(out)


if __name__ == "__main__":
    main()
