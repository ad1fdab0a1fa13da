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
SITAR_BRIDGE_CENTS = 64.0
SITAR_BRIDGE_SLOPE = 7.7  # cents more per octave above C3 (the integrator's warp)
APEX = 0.001   # how far the plectrum pulls the string at velocity 127 (m)


def make_sitar(out):
    """Plucked strings over a flat bridge (jawari): the body next to the
    string's bridge end rests on a plane, a contact on one side only, so in
    every cycle the string lies on the bridge for half a period (and is
    shorter, stiffer) and swings free for the other half: the buzz, rich in
    high harmonics, is contact physics. (A second plane a little below the
    next body, reached only by loud notes, made the pitch depend on the
    amplitude by up to 20 cents: too much for a tuned instrument.)"""
    p = Preset("Sitar",
               "Fifteen plucked strings in raga Bhairav (C Db E F G Ab B), C3 to C5 "
               "(notes 48..72). Each string's end lies on a flat bridge: the body next "
               "to it touches a plane at rest, so half of every cycle wraps the string "
               "onto the bridge and it buzzes (jawari): the bright, nasal tone is "
               "contact physics, not a filter.")
    notes = [48, 49, 52, 53, 55, 56, 59, 60, 61, 64, 65, 67, 68, 71, 72]
    n_bodies, spacing, mass = 12, 0.05, 0.0005
    for s, note in enumerate(notes):
        prefix = "s%d_" % s
        y = 0.02 * s
        octaves = (note - 48) / 12.0
        f = midi_hz(note) * 2.0 ** (-(SITAR_BRIDGE_CENTS + SITAR_BRIDGE_SLOPE * octaves) / 1200.0)
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
        # Bridge: a plane under the first body, touching it at rest.
        p.add("collisions", {"id": prefix + "jawari", "body": ids[0],
                             "plane": {"point": vec([0, y, 0.0]), "normal": [0, 0, 1]},
                             "stiffness": num(6.0 * k),
                             "damping": num(2e-4 * math.sqrt(k * mass))})
        p.add("plucks", {"id": prefix + "mizrab", "target": ids[n_bodies - 4],
                         "direction": [0, 0, -1],
                         "strength": num(APEX * k * (n_bodies + 1) / (4.0 * (n_bodies - 3))),
                         "stiffness": num(20.0 * k), "speed": 0.4, "notes": [note, note]})
        # Velocity grows with the pitch; the low strings, heard near the
        # bridge where they move little, need more on top (measured).
        gain = 0.4 * 261.6 / midi_hz(note) * max(1.0, 250.0 / midi_hz(note)) ** 2
        p.microphone(prefix + "mic", ids[2], (0, 0, 1), gain, base.lerp(-0.5, 0.5, t))
    p.write(out, "sitar")

    ph = Phrase("sitar", 100)
    # An alap in Bhairav: slow, rising from Sa to the upper Sa and back.
    line = [(0, 1.5, 48), (1.5, 0.5, 49), (2, 1, 52), (3, 1, 53), (4, 2, 55), (6, 0.5, 56),
            (6.5, 0.5, 55), (7, 0.5, 53), (7.5, 0.5, 52), (8, 1, 53), (9, 1, 55), (10, 1, 56),
            (11, 1, 59), (12, 2, 60), (14, 0.5, 61), (14.5, 0.5, 64), (15, 0.5, 65),
            (15.5, 0.5, 67), (16, 0.5, 68), (16.5, 0.5, 71), (17, 2, 72), (19, 0.5, 68),
            (19.5, 0.5, 67), (20, 0.5, 64), (20.5, 0.5, 61), (21, 3, 60)]
    for start, length, note in line:
        ph.note(start, length, note, 96 if length >= 1 else 80)
    ph.write(os.path.join(out, "midi", "sitar.mid"), 3)


# ---------------------------------------------------------------- vibraphone

def fundamental_shape(f0, partials, first_mass):
    """Displacements of the bodies of base.tuned_chain's chain (free end
    first, normalised to 1 there) in its lowest mode."""
    kept = sorted(partials)
    total = sum(w for _, w in kept)
    lams = [lam_of_hz(r * f0) for r, _ in kept]
    a, b = base.lanczos(lams, [w / total for _, w in kept])
    m, _ = base.chain_from_jacobi(a, b, first_mass)
    lam = lams[0]
    q = [1.0, (a[0] - lam) / b[0]]
    for i in range(1, len(a) - 1):
        q.append(((a[i] - lam) * q[i] - b[i - 1] * q[i - 1]) / b[i])
    u = [qi / math.sqrt(mi) for qi, mi in zip(q, m)]
    return [x / u[0] for x in u]


def make_vibraphone(out):
    """Vibraphone bars (partials 1 : 4 : 10) heard twice: the bar's struck end
    (bright) and its far end, where the fundamental dominates, standing for
    the resonator tube; both are velocity microphones, so the fundamental
    is in phase in both and the tremolo is pure amplitude modulation. The
    tube's gain a tempo-synced LFO swings from 0 to full: the
    motor's tremolo. The mod wheel (CC1) fades the bar out, leaving only the
    pulsing resonator: the tremolo depth."""
    p = Preset("Vibraphone",
               "Vibraphone bars, F3-F6 chromatic (notes 53..89), with the motor on: the "
               "resonator sound pulses at a sixteenth note of the preset's tempo (100 bpm: "
               "6.7 Hz; a host's tempo overrides it). The mod wheel (CC1) fades out the "
               "direct bar sound, leaving the full tremolo of the resonators.")
    p.top["tempo"] = 100
    notes = list(range(53, 90))
    p.source({"id": "motor", "type": "lfo", "shape": "sine", "sync_beats": 0.25})
    p.source({"id": "depth", "type": "midi", "control": "cc", "number": 1})
    errors = []
    for i, n in enumerate(notes):
        f0 = midi_hz(n)
        t = i / (len(notes) - 1)
        pre = base.note_name(n)
        partials = [(1.0, 0.72), (4.0, 0.2), (10.0, 0.08)]
        shape = fundamental_shape(f0, partials, 0.02)
        ids, c = base.tuned_chain(p, pre, (0.04 * i, 0.0, 0.0), f0, partials, first_mass=0.02,
                                  t60_first=base.lerp(7.0, 3.0, t),
                                  t60_last=base.lerp(0.35, 0.15, t))
        errors.append(c)
        p.mallet(pre + "_m", ids[0], (0, 1, 0), 0.012,
                 base.mallet_ms_for(f0, 0.2, 0.25, 1.5), (n, n))
        pan = base.lerp(-0.7, 0.7, t)
        # The tube hears the fundamental as loud as the bar does, on average.
        bar_gain, tube_gain = VIBES_GAIN, VIBES_GAIN / shape[-1]
        p.microphone(pre + "_bar", ids[0], (0, 1, 0), bar_gain, pan)
        p.microphone(pre + "_tube", ids[-1], (0, 1, 0), tube_gain, pan)
        p.route({"source": "motor", "target": pre + "_tube", "parameter": "gain",
                 "range": [0, num(2.0 * tube_gain)], "amount": 0.5, "offset": 0.5,
                 "smoothing_ms": 1})
        p.route({"source": "depth", "target": pre + "_bar", "parameter": "gain",
                 "range": [num(bar_gain), 0], "smoothing_ms": 20})
    base.report("vibraphone", notes, errors)
    p.write(out, "vibraphone")

    ph = Phrase("vibraphone", 100)
    # A ballad: Dm9 - G13 - Cmaj9, left hand chords, a melody above, and a
    # rolled Dm11 left to ring through the tremolo.
    chords = [(0, [62, 65, 69, 72]), (4, [59, 65, 69, 64]), (8, [60, 64, 67, 71])]
    for start, chord in chords:
        for k, note in enumerate(sorted(chord)):
            ph.note(start + 0.06 * k, 3.5, note, 70)
    melody = [(0, 77), (1, 76), (1.5, 74), (2, 72), (3, 74), (4, 79), (5.5, 77), (6, 76),
              (8, 76), (9, 79), (9.5, 83), (10, 84), (11, 83)]
    for start, note in melody:
        ph.note(start, 0.9, note, 96)
    for k, note in enumerate([50, 57, 62, 65, 69, 74, 77, 86]):
        ph.note(12 + 0.12 * k, 4, max(53, note), 84)
    ph.write(os.path.join(out, "midi", "vibraphone.mid"), 4)


VIBES_GAIN = 0.2


# ---------------------------------------------------------------- wind chimes

CHIME_NOTES = [72, 74, 76, 79, 81, 84]


def make_wind_chimes(out):
    """Six tubes (free-free beam partials) played by the wind: sample-and-hold
    LFOs fire Note Triggers on channel 16 at irregular moments, striking each
    tube with a mallet whose strength follows the wind; the wind is a sail
    (a heavy, slow pendulum) pushed by a noise oscillator while a low key is
    held, heard only by an envelope follower. Slow LFOs sway the tubes' pans."""
    p = Preset("Wind Chimes",
               "Six chime tubes, C5 D5 E5 G5 A5 C6 (notes 72..84, struck directly on "
               "channel 1). Hold a low key (C2-B3, notes 36..59) to raise the wind: a "
               "noise-driven sail swings, an envelope follower measures it, and the "
               "tubes are struck at random moments (sample-and-hold LFOs firing Note "
               "Triggers on channel 16) as hard as the wind blows. Release and the wind "
               "dies down.")
    # The sail: a slow pendulum (0.8 Hz) pushed by noise while a wind key is held.
    p.anchor("sail_top", (0.0, 0.0, 0.3))
    p.body("sail", (0.0, 0.0, 0.0), 0.05, drag=0.05 * 2.0 * math.pi * 0.8 / 1.5)
    p.spring("sail_rope", "sail_top", "sail", num(lam_of_hz(0.8) * 0.05))
    p.add("oscillators", {"id": "gust", "target": "sail", "direction": [1, 0, 0],
                          "waveform": "noise", "amplitude": WIND_FORCE, "attack_ms": 1500,
                          "release_ms": 2500, "seed": 7, "notes": [36, 59], "channel": 1})
    p.microphones.append({"id": "sail_mic", "target": "sail", "axis": [1, 0, 0],
                          "signal": "velocity", "gain": WIND_MIC, "output": "none"})
    p.source({"id": "wind", "type": "follower", "microphone": "sail_mic",
              "attack_ms": 150, "release_ms": 600})
    rates = [1.13, 1.41, 1.77, 2.19, 2.63, 3.07]
    for i, n in enumerate(CHIME_NOTES):
        f0 = midi_hz(n)
        pre = "tube%d" % i
        ids, c = base.tuned_chain(p, pre, (0.05 * i, 0.0, 0.0), f0,
                                  [(1.0, 0.55), (2.756, 0.25), (5.404, 0.13), (8.933, 0.07)],
                                  first_mass=0.01, t60_first=base.lerp(5.0, 3.5, i / 5.0),
                                  t60_last=0.6)
        assert c < 0.01
        # Played from the keyboard (channel 1) and by the wind (channel 16).
        p.mallet(pre + "_key", ids[0], (0, 1, 0), 0.004, 0.25, (n, n))
        p.mallets[-1]["channel"] = 1
        p.mallet(pre + "_wind", ids[0], (0, 1, 0), 0.004, 0.25, (n, n))
        p.mallets[-1]["channel"] = 16
        pan0 = base.lerp(-0.6, 0.6, i / 5.0)
        p.microphone(pre + "_mic", ids[0], (0, 1, 0), 0.9, pan0)
        p.source({"id": pre + "_gusts", "type": "lfo", "shape": "sample_and_hold",
                  "rate_hz": rates[i], "phase": num((0.37 * i) % 1.0), "seed": 11 + 7 * i})
        p.source({"id": pre + "_sway", "type": "lfo", "shape": "sine",
                  "rate_hz": num(0.07 + 0.013 * i), "phase": num((0.29 * i) % 1.0)})
        # Fires when the held random value rises above 0.4 (about 1 cycle in 4).
        p.route({"source": pre + "_gusts",
                 "note_trigger": {"note": n, "velocity": 100, "channel": 16},
                 "offset": 0.1})
        p.route({"source": "wind", "target": pre + "_wind", "parameter": "strength",
                 "range": [0, 0.006], "amount": WIND_AMOUNT, "smoothing_ms": 20})
        p.route({"source": pre + "_sway", "target": pre + "_mic", "parameter": "pan",
                 "range": [-1, 1], "amount": 0.15, "offset": num(0.5 + 0.5 * pan0)})
    p.write(out, "wind-chimes")

    ph = Phrase("wind-chimes", 80)
    for start, note in [(0, 84), (0.5, 79), (1, 76), (1.5, 72)]:
        ph.note(start, 0.4, note, 90)
    ph.note(3, 10, 48, 100)        # a gust: hold a wind key for ten beats
    for start, note in [(14, 74), (14.75, 81), (15.5, 72)]:
        ph.note(start, 0.4, note, 80)
    ph.write(os.path.join(out, "midi", "wind-chimes.mid"), 8)


WIND_FORCE = 0.5     # peak noise force on the sail (N)
WIND_MIC = 25.0      # sail velocity to the follower
WIND_AMOUNT = 1.0    # follower level that gives full strength: 1/WIND_AMOUNT


# ---------------------------------------------------------------- talking drum

def make_talking_drum(out):
    """A pre-stressed membrane whose rim anchors an envelope pulls outwards
    while a key is held: the springs stretch, the tension rises and so does
    the pitch, like squeezing the cords of a talking drum."""
    p = Preset("Talking Drum",
               "A membrane (29 bodies, fundamental 150 Hz) whose 20 rim anchors are moved "
               "outwards by an envelope while a key is held: the tension and the pitch rise "
               "(about a fourth after 300 ms) and fall back on release. Notes 36..47 strike "
               "the centre, 48..59 near the rim (brighter). Short notes stay low, held notes "
               "glide up.")
    h, r, ratio = 0.03, 3, 0.9
    ids = base.membrane(p, "skin", (0.0, 0.0, 0.0), r, h, ratio, lambda i, j: 0.002, 1.4,
                        150.0)
    p.source({"id": "squeeze", "type": "envelope", "attack_ms": 300, "decay_ms": 0,
              "sustain": 1, "release_ms": 200})
    # Each rim anchor is the missing neighbour of one or two bodies; move it
    # outwards along its first spring.
    moved = set()
    for (i, j) in sorted(ids):
        for di, dj in ((1, 0), (0, 1), (-1, 0), (0, -1)):
            nb = (i + di, j + dj)
            if nb in ids or nb in moved:
                continue
            moved.add(nb)
            ident = "skin_a_%d_%d" % nb
            axis, sign = ("x", di) if di else ("y", dj)
            x0 = h * (nb[0] if axis == "x" else nb[1])
            p.route({"source": "squeeze", "target": ident, "parameter": axis,
                     "range": [num(x0), num(x0 + sign * SQUEEZE)], "curve": "smooth",
                     "smoothing_ms": 10})
    p.mallet("centre", ids[(0, 0)], (0, 0, 1), 0.006, 4.0, (36, 47))
    p.mallet("rim", ids[(2, 1)], (0.3, 0.1, 1), 0.003, 0.8, (48, 59))
    p.microphone("mic_l", ids[(1, 1)], (0, 0, 1), 1.0, -0.4)
    p.microphone("mic_r", ids[(-1, -2)], (0, 0, 1), 1.0, 0.4)
    p.write(out, "talking-drum")

    ph = Phrase("talking-drum", 96)
    # Short strokes stay low; held ones "speak", gliding up and back down.
    pattern = [(0, 0.15, 36), (0.5, 0.15, 36), (1, 1.2, 36), (2.5, 0.15, 50), (3, 0.15, 50),
               (3.5, 0.15, 36), (4, 1.5, 38), (6, 0.15, 36), (6.5, 0.15, 50), (7, 0.15, 36),
               (7.5, 0.6, 36), (8.5, 2.5, 36)]
    for start, length, note in pattern:
        ph.note(start, length, note, 100 if note < 48 else 90)
    ph.write(os.path.join(out, "midi", "talking-drum.mid"), 4)


SQUEEZE = 0.011  # how far the envelope moves each rim anchor outwards (m)


# ---------------------------------------------------------------- bouncing balls

def make_bouncing_balls(out):
    """Eight tuned bars lying flat, each with a steel ball resting on it under
    gravity. A strike from below rings the bar and throws the ball up; it
    falls back, strikes the bar again, bounces lower and sooner (restitution
    0.85 from the contact damping), and comes to rest: an accelerating
    ping-ping-ping on the bar's pitch. The bars are 2-body vertical chains
    (partials 1 : 3.9), designed like base.tuned_chain's and pre-loaded so
    that the whole preset starts in equilibrium."""
    g = 9.81
    p = Preset("Bouncing Balls",
               "Eight tuned bars, C major pentatonic C5-E6 (notes 72, 74, 76, 79, 81, 84, "
               "86, 88), each with a 3 g ball resting on it under gravity. A note strikes "
               "the bar from below: it rings and throws the ball up, which falls back and "
               "bounces, lower and faster each time, until it settles. Velocity sets how "
               "high the ball flies.")
    p.top["gravity"] = [0, 0, -g]
    notes = [72, 74, 76, 79, 81, 84, 86, 88]
    ball_mass, ball_radius, k_contact = 0.003, 0.006, 20000.0
    first_mass = 0.01
    for i, n in enumerate(notes):
        f0 = midi_hz(n)
        t = i / (len(notes) - 1)
        pre = "bar%d" % i
        partials = [(1.0, 0.8), (3.9, 0.2)]
        lams = [lam_of_hz(r * f0) for r, _ in partials]
        a, b = base.lanczos(lams, [w for _, w in partials])
        m, k = base.chain_from_jacobi(a, b, first_mass)
        sig0, sig1 = t60_rate(base.lerp(3.0, 1.8, t)), t60_rate(0.3)
        beta = 2.0 * (sig1 - sig0) / (lams[1] - lams[0])
        alpha = 2.0 * sig0 - beta * lams[0]
        x = 0.05 * i
        # Bar (body 1 on top, body 2 below, anchor at the bottom), vertical:
        # each spring is compressed by the weight it carries.
        top = p.body(pre + "_b1", (x, 0.0, 0.0), m[0], drag=alpha * m[0])
        low = p.body(pre + "_b2", (x, 0.0, -0.02), m[1], drag=alpha * m[1])
        foot = p.anchor(pre + "_foot", (x, 0.0, -0.04))
        load1 = (m[0] + ball_mass) * g
        load2 = load1 + m[1] * g
        p.spring(pre + "_s1", top, low, k[0], damping=beta * k[0],
                 rest_length=0.02 + load1 / k[0])
        p.spring(pre + "_s2", low, foot, k[1], damping=beta * k[1],
                 rest_length=0.02 + load2 / k[1])
        sink = ball_mass * g / k_contact
        ball = p.body(pre + "_ball", (x, 0.0, ball_radius - sink), ball_mass, drag=0.0)
        p.bodies[-1]["radius"] = ball_radius
        zeta = 0.052  # restitution exp(-zeta*pi/sqrt(1-zeta^2)) = 0.85
        reduced = ball_mass * m[0] / (ball_mass + m[0])
        p.add("collisions", {"id": pre + "_contact", "body": ball, "other": top,
                             "stiffness": k_contact,
                             "damping": num(2.0 * zeta * math.sqrt(k_contact * reduced))})
        p.mallet(pre + "_m", top, (0, 0, 1), BALL_STRIKE, 0.3, (n, n))
        p.microphone(pre + "_mic", top, (0, 0, 1), BALL_MIC, base.lerp(-0.6, 0.6, t))
    p.write(out, "bouncing-balls")

    ph = Phrase("bouncing-balls", 90)
    for start, note, vel in [(0, 72, 100), (2, 79, 110), (3, 76, 80), (4, 84, 120),
                             (4.5, 81, 90), (6, 88, 100), (6.25, 86, 90), (8, 72, 127),
                             (8, 79, 110)]:
        ph.note(start, 0.3, note, vel)
    ph.write(os.path.join(out, "midi", "bouncing-balls.mid"), 6)


BALL_STRIKE = 0.02   # impulse on the bar at velocity 127 (N s)
BALL_MIC = 0.15


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "presets")
    os.makedirs(os.path.join(out, "midi"), exist_ok=True)
    only = sys.argv[2:] if len(sys.argv) > 2 else None
    for name, fn in (("sitar", make_sitar), ("vibraphone", make_vibraphone),
                     ("wind-chimes", make_wind_chimes), ("talking-drum", make_talking_drum),
                     ("bouncing-balls", make_bouncing_balls)):
        if only is None or name in only:
            fn(out)


if __name__ == "__main__":
    main()
