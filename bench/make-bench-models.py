#!/usr/bin/env python3
"""Writes the benchmark models in bench/ (committed; rerun to regenerate):

  mesh-20x30.json      a pre-stressed membrane of 20 x 30 bodies held by a
                       ring of anchors: 600 bodies, 1,250 springs (the size
                       of the mass-interaction benchmark meshes)
  net-1000x5000.json   1,000 bodies at random points in a 10 cm cube, each
                       joined to near neighbours: 5,000 springs, 24 anchors
  voices-8x-mesh-10x12.json  a 10 x 12 membrane (262 springs) played in 8
                       voices, with midi/voices-8x-mesh-10x12.mid holding
                       an eight-note chord for 6 s: the voices' worker pool
                       (SPRUNG_VOICE_THREADS) is measured on it
  oscillators-12.json  twelve band-limited oscillators (a saw and a square
                       on each of C2, C3, ..., C7: 9 to 305 harmonics),
                       each driving a resonator, with midi/oscillators-12.mid
                       holding the six notes for 6 s: the additive
                       oscillators' cost (sprung_additive_wave)

All are stable at 48 kHz without oversampling and deterministic (fixed
seed); the networks carry one mallet and two microphones. Standard library only
(the MIDI file through scripts/make-midi.py's writer)."""
import importlib.util
import json
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, model):
    with open(os.path.join(HERE, name), "w") as f:
        # One object per line: readable, and diffs stay small.
        f.write("{\n")
        items = list(model.items())
        for n, (key, value) in enumerate(items):
            f.write(f"  {json.dumps(key)}: ")
            if isinstance(value, list):
                f.write("[\n" + ",\n".join("    " + json.dumps(v) for v in value) + "\n  ]")
            else:
                f.write(json.dumps(value))
            f.write(",\n" if n + 1 < len(items) else "\n")
        f.write("}\n")
    print(f"{name}: {len(model['bodies'])} bodies, {len(model['anchors'])} anchors, "
          f"{len(model['springs'])} springs")


def mesh(nx=20, ny=30, spacing=0.01, stiffness=1e4, stretch=0.95, mass=1e-4):
    """Bodies on an nx x ny grid, neighbours joined by springs whose rest
    length is `stretch` times the spacing (tension gives transverse
    stiffness); the grid's outer ring of points are anchors, so every body
    starts in equilibrium."""
    bodies, anchors, springs = [], [], []

    def point(i, j):
        """The id at grid point (i, j): a body inside the grid, an anchor on
        the ring around it (corners excluded), None elsewhere."""
        if 0 <= i < nx and 0 <= j < ny:
            return f"b{i}_{j}"
        if (i in (-1, nx)) != (j in (-1, ny)) and -1 <= i <= nx and -1 <= j <= ny:
            return f"a{i}_{j}"
        return None

    for j in range(-1, ny + 1):
        for i in range(-1, nx + 1):
            p = point(i, j)
            if p is None:
                continue
            xyz = [round(i * spacing, 6), round(j * spacing, 6), 0]
            if p[0] == "b":
                bodies.append({"id": p, "position": xyz, "mass": mass, "drag": 1e-5})
            else:
                anchors.append({"id": p, "position": xyz})
    for j in range(-1, ny + 1):
        for i in range(-1, nx + 1):
            for di, dj in ((1, 0), (0, 1)):
                p, q = point(i, j), point(i + di, j + dj)
                if p is None or q is None or (p[0] == "a" and q[0] == "a"):
                    continue
                springs.append({"id": f"s{len(springs)}", "from": p, "to": q,
                                "stiffness": stiffness, "damping": 2e-4,
                                "rest_length": round(stretch * spacing, 9)})
    return {
        "sprung": 1, "name": f"bench mesh {nx}x{ny}",
        "comment": "benchmark model written by bench/make-bench-models.py",
        "bodies": bodies, "anchors": anchors, "springs": springs,
        "mallets": [{"id": "m", "target": f"b{nx // 3}_{ny // 4}", "direction": [0, 0, 1],
                     "strength": 0.002, "duration_ms": 1}],
        "microphones": [
            {"id": "l", "target": f"b{nx // 4}_{ny // 3}", "axis": [0, 0, 1], "gain": 200,
             "pan": -0.5},
            {"id": "r", "target": f"b{(2 * nx) // 3}_{(3 * ny) // 5}", "axis": [0, 0, 1],
             "gain": 200, "pan": 0.5}],
    }


def network(n_bodies=1000, n_springs=5000, n_anchors=24, size=0.1, stiffness=2e3, mass=1e-3,
            seed=1):
    """Random points in a cube; each body in turn is joined to a random one of
    its 12 nearest neighbours (no repeated pair) until n_springs springs,
    the first n_anchors of which tie bodies to anchors beside them."""
    rng = random.Random(seed)
    pos = [[round(rng.uniform(0, size), 6) for _ in range(3)] for _ in range(n_bodies)]
    near = []
    for i, p in enumerate(pos):
        d = sorted((math.dist(p, q), k) for k, q in enumerate(pos) if k != i)
        near.append([k for _, k in d[:12]])
    bodies = [{"id": f"b{i}", "position": pos[i], "mass": mass} for i in range(n_bodies)]
    anchors, springs, pairs = [], [], set()
    for a in range(n_anchors):
        b = rng.randrange(n_bodies)
        anchors.append({"id": f"a{a}", "position": [round(c + 0.004, 6) for c in pos[b]]})
        springs.append({"id": f"s{len(springs)}", "from": f"a{a}", "to": f"b{b}",
                        "stiffness": stiffness, "damping": 1e-3})
    i = 0
    while len(springs) < n_springs:
        k = rng.choice(near[i])
        pair = (min(i, k), max(i, k))
        if pair not in pairs:
            pairs.add(pair)
            springs.append({"id": f"s{len(springs)}", "from": f"b{i}", "to": f"b{k}",
                            "stiffness": stiffness, "damping": 1e-3})
        i = (i + 1) % n_bodies
    return {
        "sprung": 1, "name": f"bench network {n_bodies}x{n_springs}",
        "comment": "benchmark model written by bench/make-bench-models.py",
        "bodies": bodies, "anchors": anchors, "springs": springs,
        "mallets": [{"id": "m", "target": "b0", "direction": [0.2, 0.3, 1], "strength": 0.02,
                     "duration_ms": 1}],
        "microphones": [
            {"id": "l", "target": f"b{n_bodies // 3}", "axis": [1, 0, 0], "gain": 100, "pan": -0.5},
            {"id": "r", "target": f"b{(2 * n_bodies) // 3}", "axis": [0, 0, 1], "gain": 100,
             "pan": 0.5}],
    }


def voiced(model, count=8, root=72):
    """The model in `count` voices, every playable note at or below the
    root (voices above it step faster: past the mesh's stability limit)."""
    model = dict(model, name=f"bench {count} voices of " + model["name"][len("bench "):])
    model["voices"] = {"count": count, "root": root, "notes": [root - 24, root]}
    return model


OSCILLATOR_NOTES = (36, 48, 60, 72, 84, 96)


def oscillators(notes=OSCILLATOR_NOTES, mass=1e-3, stiffness=2e3, damping=0.02):
    """For each note a saw and a square oscillator, each on a resonator of
    its own (a body on a spring to an anchor, about 225 Hz) that answers
    that note alone; one microphone per resonator."""
    bodies, anchors, springs, exciters, microphones = [], [], [], [], []
    for n, note in enumerate(notes):
        for w, waveform in enumerate(("saw", "square")):
            name = f"{waveform}{note}"
            x = 0.02 * (2 * n + w)
            bodies.append({"id": name, "position": [x, 0.0, 0.0], "mass": mass})
            anchors.append({"id": f"{name}_a", "position": [x, 0.01, 0.0]})
            springs.append({"id": f"{name}_s", "from": f"{name}_a", "to": name,
                            "stiffness": stiffness, "damping": damping})
            exciters.append({"id": f"{name}_osc", "target": name, "direction": [0, 1, 0],
                             "waveform": waveform, "amplitude": 0.5, "attack_ms": 20,
                             "release_ms": 200, "notes": [note, note]})
            microphones.append({"id": f"{name}_mic", "target": name, "axis": [0, 1, 0],
                                "gain": 200, "pan": -0.8 + 1.6 * x / (0.02 * 2 * len(notes))})
    return {"sprung": 1, "name": "bench 12 oscillators",
            "comment": "A saw and a square oscillator on each C from C2 to C7, each on a "
                       "resonator: the cost of band-limited oscillators (bench/make-bench-models.py).",
            "bodies": bodies, "anchors": anchors, "springs": springs,
            "oscillators": exciters, "microphones": microphones}


def chord_midi(path, notes=(48, 51, 55, 58, 60, 63, 67, 70), seconds=6):
    """Every voice busy: the notes struck 10 ms apart and held."""
    spec = importlib.util.spec_from_file_location(
        "make_midi", os.path.join(HERE, "..", "scripts", "make-midi.py"))
    make_midi = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_midi)
    phrase = make_midi.Phrase("bench chord", 60)
    for k, note in enumerate(notes):
        phrase.note(0.01 * k, seconds, note, 100)
    phrase.write(path, 0.5)


if __name__ == "__main__":
    write("mesh-20x30.json", mesh())
    write("net-1000x5000.json", network())
    write("voices-8x-mesh-10x12.json", voiced(mesh(10, 12)))
    os.makedirs(os.path.join(HERE, "midi"), exist_ok=True)
    chord_midi(os.path.join(HERE, "midi", "voices-8x-mesh-10x12.mid"))
    write("oscillators-12.json", oscillators())
    chord_midi(os.path.join(HERE, "midi", "oscillators-12.mid"), OSCILLATOR_NOTES)
