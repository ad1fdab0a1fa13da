#!/usr/bin/env python3
"""Generates the factory presets in presets/*.json (python3, standard library only).

    python3 scripts/make-presets.py [OUTPUT_DIR]    (default: presets/ next to this script)

The generated files are committed; this script documents how they were made and
lets anyone change a design and regenerate. docs/presets.md explains each design.

Everything is tuned for the integrator of DESIGN.md §1 (semi-implicit Euler at
48 kHz): a linear mode of eigenvalue lambda (of M^-1 K) sounds at
    f = (fs/pi) * asin(sqrt(lambda) / (2 fs)),
so each target frequency f is turned into the eigenvalue that produces it,
lambda = (2 fs sin(pi f / fs))^2, before designing the network.

Three kinds of resonator are built here:

* Tuned chains (marimba, kalimba, bells, demo): a fixed-free chain of bodies
  moving along its own axis, struck at its free end. Its masses and stiffnesses
  come from the classic inverse eigenvalue problem: given the eigenvalues we want
  (the partials) and how strongly each mode should move the free end (weights),
  the Lanczos process builds the one Jacobi matrix with those eigenvalues and
  first eigenvector components, and the Jacobi matrix is read off as masses and
  springs. Damping is Rayleigh damping (body drag alpha*m, spring damping
  beta*k), which keeps the modes of the undamped chain and gives each one the
  decay rate (alpha + beta*lambda)/2: two numbers set the fundamental's and the
  top partial's decay time.
* Pre-stressed strings (string): bodies in a line between two anchors, springs
  with a rest length shorter than their length; the tension gives a transverse
  stiffness T/l and the modes of a discrete string.
* Pre-stressed membranes (drums, gong): a square grid cut to a circle, anchored
  around its rim; the transverse fundamental is found by inverse iteration on
  the linearised stiffness and the stiffnesses scaled to put it on pitch.
"""

import json
import math
import os
import random
import sys

FS = 48000.0
NOTE_NAMES = ["C", "Cs", "D", "Ds", "E", "F", "Fs", "G", "Gs", "A", "As", "B"]


def midi_hz(note):
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def note_name(note):
    return "%s%d" % (NOTE_NAMES[note % 12], note // 12 - 1)


def lam_of_hz(f):
    """Eigenvalue of M^-1 K that the discrete integrator plays at f Hz."""
    return (2.0 * FS * math.sin(math.pi * f / FS)) ** 2


def hz_of_lam(lam):
    return FS / math.pi * math.asin(min(1.0, 0.5 * math.sqrt(lam) / FS))


def t60_rate(t60):
    """Amplitude decay rate sigma (1/s) that falls 60 dB in t60 seconds."""
    return math.log(1000.0) / t60


def num(x):
    """A float rounded to 10 significant digits: readable, and far finer than
    the float32 the engine computes in."""
    return float("%.10g" % x)


# ---------------------------------------------------------------- linear algebra

def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def jacobi_eigenvalues(a):
    """Eigenvalues (ascending) of a small symmetric matrix, cyclic Jacobi."""
    n = len(a)
    a = [row[:] for row in a]
    for _sweep in range(100):
        off = sum(a[i][j] ** 2 for i in range(n) for j in range(n) if i != j)
        if off < 1e-30 * sum(a[i][i] ** 2 for i in range(n)):
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                if a[p][q] == 0.0:
                    continue
                theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q])
                t = (1.0 if theta >= 0 else -1.0) / (abs(theta) + math.sqrt(theta * theta + 1.0))
                c = 1.0 / math.sqrt(t * t + 1.0)
                s = t * c
                for k in range(n):
                    akp, akq = a[k][p], a[k][q]
                    a[k][p] = c * akp - s * akq
                    a[k][q] = s * akp + c * akq
                for k in range(n):
                    apk, aqk = a[p][k], a[q][k]
                    a[p][k] = c * apk - s * aqk
                    a[q][k] = s * apk + c * aqk
    return sorted(a[i][i] for i in range(n))


def solve_dense(a, b):
    """Solves a x = b (Gaussian elimination with partial pivoting)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[piv] = m[piv], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            if f != 0.0:
                row, prow = m[r], m[col]
                for c in range(col, n + 1):
                    row[c] -= f * prow[c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def lowest_eigenvalue(stiffness, masses, iterations=60):
    """Lowest eigenvalue of M^-1 K by inverse iteration (K symmetric positive
    definite, dense): enough for a membrane's fundamental."""
    n = len(masses)
    x = [1.0] * n
    lam = 0.0
    for _ in range(iterations):
        y = solve_dense(stiffness, [masses[i] * x[i] for i in range(n)])
        norm = math.sqrt(sum(masses[i] * y[i] * y[i] for i in range(n)))
        x = [v / norm for v in y]
        kx = [dot(stiffness[i], x) for i in range(n)]
        new = dot(x, kx) / sum(masses[i] * x[i] * x[i] for i in range(n))
        if abs(new - lam) < 1e-14 * new:
            lam = new
            break
        lam = new
    return lam


# ---------------------------------------------------------------- preset builder

class Preset:
    def __init__(self, name, comment):
        self.name = name
        self.comment = comment
        self.bodies, self.anchors, self.springs = [], [], []
        self.mallets, self.microphones = [], []

    def body(self, ident, position, mass, drag=0.0):
        entry = {"id": ident, "position": [num(v) for v in position], "mass": num(mass)}
        if drag > 0.0:
            entry["drag"] = num(drag)
        self.bodies.append(entry)
        return ident

    def anchor(self, ident, position):
        self.anchors.append({"id": ident, "position": [num(v) for v in position]})
        return ident

    def spring(self, ident, a, b, stiffness, damping=0.0, rest_length=None):
        entry = {"id": ident, "from": a, "to": b, "stiffness": num(stiffness)}
        if damping > 0.0:
            entry["damping"] = num(damping)
        if rest_length is not None:
            entry["rest_length"] = num(rest_length)
        self.springs.append(entry)

    def mallet(self, ident, target, direction, strength, duration_ms, notes):
        self.mallets.append({"id": ident, "target": target,
                             "direction": [num(v) for v in direction],
                             "strength": num(strength), "duration_ms": num(duration_ms),
                             "notes": list(notes)})

    def microphone(self, ident, target, axis, gain, pan, signal="velocity"):
        self.microphones.append({"id": ident, "target": target, "axis": [num(v) for v in axis],
                                 "signal": signal, "gain": num(gain), "pan": num(pan)})

    def write(self, directory, base):
        doc = {"sprung": 1, "name": self.name, "comment": self.comment,
               "bodies": self.bodies, "anchors": self.anchors, "springs": self.springs,
               "mallets": self.mallets, "microphones": self.microphones}
        path = os.path.join(directory, base + ".json")
        with open(path, "w") as f:
            # One object per line: diffs stay readable, the file stays short.
            f.write("{\n")
            keys = list(doc.keys())
            for i, key in enumerate(keys):
                value = doc[key]
                sep = "," if i + 1 < len(keys) else ""
                if isinstance(value, list):
                    f.write('  "%s": [\n' % key)
                    for j, item in enumerate(value):
                        f.write("    " + json.dumps(item, separators=(", ", ": ")) +
                                ("," if j + 1 < len(value) else "") + "\n")
                    f.write("  ]%s\n" % sep)
                else:
                    f.write('  "%s": %s%s\n' % (key, json.dumps(value), sep))
            f.write("}\n")
        print("%-28s %4d bodies %4d springs %3d mallets %3d mics" % (
            path, len(self.bodies), len(self.springs), len(self.mallets), len(self.microphones)))


# ---------------------------------------------------------------- tuned chains

def lanczos(lams, weights):
    """Jacobi matrix (diagonal a, off-diagonal b > 0) with eigenvalues `lams`
    whose normalised eigenvectors start with sqrt(weights)."""
    n = len(lams)
    q = [math.sqrt(w) for w in weights]
    basis = [q]
    a, b = [], []
    for i in range(n):
        v = [lams[j] * basis[i][j] for j in range(n)]
        a.append(dot(basis[i], v))
        for _ in range(2):  # full reorthogonalisation, twice: n is tiny
            for u in basis:
                c = dot(u, v)
                v = [v[j] - c * u[j] for j in range(n)]
        if i + 1 < n:
            bi = math.sqrt(dot(v, v))
            b.append(bi)
            basis.append([x / bi for x in v])
    return a, b


def chain_from_jacobi(a, b, first_mass):
    """Masses m[0..n-1] and springs s[0..n-1] of a fixed-free chain whose
    M^-1/2 K M^-1/2 is the Jacobi matrix (a, -b). Body 0 is the free end;
    spring i joins body i to body i+1, and the last spring joins the last
    body to the anchor."""
    n = len(a)
    m = [first_mass]
    s = [a[0] * first_mass]
    for i in range(1, n):
        m.append(s[i - 1] ** 2 / (b[i - 1] ** 2 * m[i - 1]))
        s.append(a[i] * m[i] - s[i - 1])
    if min(s) <= 0.0:
        raise ValueError("chain not realisable with positive springs: %r" % s)
    return m, s


def chain_eigenvalues(m, s):
    n = len(m)
    k = [[0.0] * n for _ in range(n)]
    for i in range(n):
        k[i][i] += s[i]
        if i + 1 < n:
            k[i + 1][i + 1] += s[i]
            k[i][i + 1] -= s[i]
            k[i + 1][i] -= s[i]
    return jacobi_eigenvalues([[k[i][j] / math.sqrt(m[i] * m[j]) for j in range(n)]
                               for i in range(n)])


def tuned_chain(preset, prefix, origin, f0, partials, first_mass, t60_first, t60_last,
                spacing=0.02, max_hz=14000.0):
    """Adds one fixed-free chain along +y at `origin` whose modes sound at
    f0 * ratio for each (ratio, weight) in `partials`; partials above max_hz
    are left out (their weights go to the others). Returns the body ids (free
    end first) and the worst tuning error in cents."""
    kept = [(r, w) for r, w in partials if r * f0 <= max_hz]
    kept.sort()
    total = sum(w for _, w in kept)
    freqs = [r * f0 for r, _ in kept]
    lams = [lam_of_hz(f) for f in freqs]
    weights = [w / total for _, w in kept]
    a, b = lanczos(lams, weights)
    m, s = chain_from_jacobi(a, b, first_mass)

    # Rayleigh damping C = alpha M + beta K: mode j decays at (alpha + beta lam_j)/2.
    sig0, sig1 = t60_rate(t60_first), t60_rate(t60_last)
    if len(lams) > 1:
        beta = 2.0 * (sig1 - sig0) / (lams[-1] - lams[0])
        alpha = 2.0 * sig0 - beta * lams[0]
    else:
        alpha, beta = 2.0 * sig0, 0.0
    if alpha < 0.0 or beta < 0.0:
        raise ValueError("decay times need a faster top partial")

    got = chain_eigenvalues(m, s)
    cents = max(abs(1200.0 * math.log2(hz_of_lam(g) / f)) for g, f in zip(got, freqs))

    x0, y0, z0 = origin
    ids = []
    for i in range(len(m)):
        ids.append(preset.body("%s_b%d" % (prefix, i + 1), (x0, y0 + spacing * i, z0), m[i],
                               drag=alpha * m[i]))
    end = preset.anchor("%s_a" % prefix, (x0, y0 + spacing * len(m), z0))
    for i in range(len(m)):
        to = ids[i + 1] if i + 1 < len(m) else end
        preset.spring("%s_s%d" % (prefix, i + 1), ids[i], to, s[i], damping=beta * s[i])
    return ids, cents


def lerp(a, b, t):
    return a + (b - a) * t


def mallet_ms_for(f, fraction, lo, hi):
    """Contact time as a fraction of the fundamental's period: a raised-cosine
    pulse of length D passes frequencies well below 1/D and removes those above."""
    return max(lo, min(hi, 1000.0 * fraction / f))


def report(name, notes, errors):
    print("  %s: notes %s..%s, worst chain tuning error %.4f cents" % (
        name, note_name(notes[0]), note_name(notes[-1]), max(errors)))


# ---------------------------------------------------------------- the presets

def make_marimba(out):
    """Rosewood-like marimba: partials 1 : 4 : 9.9 like an undercut bar."""
    p = Preset("Marimba", "Tuned bars, C3-C6 chromatic. Each bar is a 3-body fixed-free "
               "chain built by the inverse eigenvalue problem so that its modes sit at "
               "1 : 4 : 9.9 (an undercut marimba bar); yarn-mallet contact times.")
    notes = list(range(48, 85))
    errors = []
    for i, n in enumerate(notes):
        f0 = midi_hz(n)
        t = i / (len(notes) - 1)
        pre = note_name(n)
        ids, c = tuned_chain(p, pre, (0.03 * i, 0.0, 0.0), f0,
                             [(1.0, 0.78), (4.0, 0.16), (9.9, 0.06)], first_mass=0.02,
                             t60_first=lerp(1.6, 0.6, t), t60_last=lerp(0.05, 0.03, t))
        errors.append(c)
        p.mallet(pre + "_m", ids[0], (0, 1, 0), 0.0135,
                 mallet_ms_for(f0, 0.25, 0.25, 3.0), (n, n))
        p.microphone(pre + "_mic", ids[0], (0, 1, 0), 1.0, lerp(-0.7, 0.7, t))
    report("marimba", notes, errors)
    p.write(out, "marimba")


def make_kalimba(out):
    """17-tine kalimba in C major; clamped-tine partials 1 : 6.27 : 17.55."""
    p = Preset("Kalimba", "17 tines, C4-E6 diatonic (C major). Each tine is a 3-body "
               "fixed-free chain tuned to the clamped-beam partials 1 : 6.27 : 17.55; a "
               "thumb-short strike; tines alternate left and right as on the instrument.")
    scale = [0, 2, 4, 5, 7, 9, 11]
    notes = [60 + 12 * (k // 7) + scale[k % 7] for k in range(17)]
    errors = []
    for i, n in enumerate(notes):
        f0 = midi_hz(n)
        t = i / (len(notes) - 1)
        pre = note_name(n)
        # The real layout: lowest tine in the middle, then alternating outwards.
        side = -1.0 if i % 2 else 1.0
        pan = side * lerp(0.0, 0.8, ((i + 1) // 2) / 8.0)
        ids, c = tuned_chain(p, pre, (0.012 * side * ((i + 1) // 2), 0.0, 0.0), f0,
                             [(1.0, 0.80), (6.27, 0.15), (17.55, 0.05)], first_mass=0.005,
                             t60_first=lerp(2.6, 1.4, t), t60_last=lerp(0.12, 0.06, t))
        errors.append(c)
        p.mallet(pre + "_m", ids[0], (0, 1, 0), 0.0032, 0.6, (n, n))
        p.microphone(pre + "_mic", ids[0], (0, 1, 0), 1.0, pan)
    report("kalimba", notes, errors)
    p.write(out, "kalimba")


def make_bells(out):
    """Tuned church-style bells: hum, prime, tierce, quint, nominal, superquint."""
    p = Preset("Bells", "Cast bells, G3-G5 chromatic. Each bell is a 6-body fixed-free chain "
               "tuned to the bell partials hum 0.5, prime 1, tierce 1.19 (minor third), "
               "quint 1.5, nominal 2, superquint 2.52 (the note is the prime). Two "
               "microphones on different bodies of each bell give it stereo width.")
    notes = list(range(55, 80))
    partials = [(0.5, 0.16), (1.0, 0.22), (1.19, 0.18), (1.5, 0.08), (2.0, 0.26), (2.52, 0.10)]
    errors = []
    for i, n in enumerate(notes):
        f0 = midi_hz(n)
        t = i / (len(notes) - 1)
        pre = note_name(n)
        shorten = (midi_hz(55) / f0) ** 0.35
        ids, c = tuned_chain(p, pre, (0.05 * i, 0.0, 0.0), f0, partials, first_mass=0.05,
                             t60_first=9.0 * shorten, t60_last=1.6 * shorten)
        errors.append(c)
        p.mallet(pre + "_m", ids[0], (0, 1, 0), 0.034,
                 mallet_ms_for(f0, 0.35, 0.3, 1.5), (n, n))
        pan = lerp(-0.5, 0.5, t)
        p.microphone(pre + "_micL", ids[0], (0, 1, 0), 1.0, max(-1.0, pan - 0.45))
        p.microphone(pre + "_micR", ids[2], (0, 1, 0), 1.6, min(1.0, pan + 0.45))
    report("bells", notes, errors)
    p.write(out, "bells")


def make_demo(out):
    """The built-in demo: a vibraphone / celesta hybrid with a slow stereo shimmer."""
    p = Preset("Sprung Glass Vibes", "The built-in demo instrument, C3-C6 chromatic. Each "
               "note has two resonators struck together: a 3-body chain tuned (inverse "
               "eigenvalue problem) to a vibraphone bar's 1 : 4 : 9.8, heard on the left "
               "of the note's place, and a 3-body chain 4.5 cents higher tuned to "
               "1 : 2 : 6 (the fundamentals sit 1.7 cents below and 2.8 cents above "
               "the note), "
               "heard on the right. The two fundamentals beat slowly across the stereo "
               "field like a vibraphone's tremolo; notes are spread across the keyboard.")
    notes = list(range(48, 85))
    bar = [(0.999, 0.62), (4.0, 0.26), (9.8, 0.12)]
    glass = [(1.0016, 0.66), (2.0, 0.22), (6.0, 0.12)]
    errors = []
    for i, n in enumerate(notes):
        f0 = midi_hz(n)
        t = i / (len(notes) - 1)
        pre = note_name(n)
        ms = mallet_ms_for(f0, 0.2, 0.3, 1.5)
        pan = lerp(-0.55, 0.55, t)
        ids, c = tuned_chain(p, pre + "_bar", (0.03 * i, 0.0, 0.0), f0, bar, first_mass=0.02,
                             t60_first=lerp(4.0, 1.8, t), t60_last=lerp(0.25, 0.12, t))
        errors.append(c)
        p.mallet(pre + "_bar_m", ids[0], (0, 1, 0), 0.0075, ms, (n, n))
        p.microphone(pre + "_bar_mic", ids[0], (0, 1, 0), 1.0, max(-1.0, pan - 0.4))
        ids, c = tuned_chain(p, pre + "_glass", (0.03 * i, 0.0, 0.1), f0, glass,
                             first_mass=0.02, t60_first=lerp(3.2, 1.5, t),
                             t60_last=lerp(0.6, 0.25, t))
        errors.append(c)
        p.mallet(pre + "_glass_m", ids[0], (0, 1, 0), 0.0061, ms, (n, n))
        p.microphone(pre + "_glass_mic", ids[0], (0, 1, 0), 1.0, min(1.0, pan + 0.4))
    report("demo", notes, errors)
    p.write(out, "demo")


def make_string(out):
    """Plucked strings (a small harp): pre-stressed transverse strings."""
    p = Preset("Plucked Strings", "A small harp, C3-C5 chromatic. Each string is 12 bodies "
               "between two anchors, joined by springs stretched to 10x their rest length; "
               "the tension gives the transverse modes of a discrete string (harmonics "
               "slightly flat). Plucked on the second body by a mallet 0.18 of a period "
               "long; decay by body drag.")
    notes = list(range(48, 73))
    n_bodies = 12
    h = 0.03             # body spacing, m
    rest_ratio = 0.1     # rest length / length: tension = 0.9 k h
    mass = 0.002
    errors = []
    for i, n in enumerate(notes):
        f0 = midi_hz(n)
        t = i / (len(notes) - 1)
        pre = note_name(n)
        # Transverse stiffness per spring T/h = k (1 - L/h); a fixed-fixed
        # uniform chain has lambda_1 = 4 (T/h)/m sin^2(pi / (2 (N + 1))).
        k_t = lam_of_hz(f0) * mass / (4.0 * math.sin(math.pi / (2 * (n_bodies + 1))) ** 2)
        k = k_t / (1.0 - rest_ratio)
        t60 = lerp(4.5, 1.6, t)
        drag = 2.0 * mass * t60_rate(t60)
        x0, y0 = 0.0, 0.04 * i
        a0 = p.anchor(pre + "_a0", (x0, y0, 0.0))
        a1 = p.anchor(pre + "_a1", (x0 + h * (n_bodies + 1), y0, 0.0))
        ids = [p.body("%s_b%d" % (pre, j + 1), (x0 + h * (j + 1), y0, 0.0), mass, drag=drag)
               for j in range(n_bodies)]
        chain = [a0] + ids + [a1]
        for j in range(n_bodies + 1):
            p.spring("%s_s%d" % (pre, j + 1), chain[j], chain[j + 1], k,
                     rest_length=h * rest_ratio)
        errors.append(0.0)  # closed form: exact in the linear limit
        p.mallet(pre + "_m", ids[1], (0, 0, 1), 0.0018, mallet_ms_for(f0, 0.18, 0.25, 1.2),
                 (n, n))
        pan = lerp(-0.7, 0.7, t)
        p.microphone(pre + "_micL", ids[2], (0, 0, 1), 1.0, max(-1.0, pan - 0.25))
        p.microphone(pre + "_micR", ids[n_bodies - 4], (0, 0, 1), 1.0, min(1.0, pan + 0.25))
    report("string", notes, errors)
    p.write(out, "string")


def membrane(p, prefix, centre, radius_cells, h, rest_ratio, masses_fn, drag_t60, f0):
    """A circular pre-stressed membrane in the xy plane: the grid points
    within radius_cells of the centre are bodies, their missing neighbours are
    anchors (the rim). Every body has four springs of equal tension, so the
    membrane starts in equilibrium. Stiffness is set so that the transverse (z)
    fundamental sounds at f0. Returns {(i, j): body id}."""
    cx, cy, cz = centre
    r = radius_cells
    cells = [(i, j) for i in range(-r - 1, r + 2) for j in range(-r - 1, r + 2)
             if i * i + j * j <= r * r + 0.5]
    index = {c: k for k, c in enumerate(cells)}
    masses = [masses_fn(i, j) for i, j in cells]
    # Transverse stiffness matrix with unit tension weight T/h = 1.
    n = len(cells)
    kmat = [[0.0] * n for _ in range(n)]
    for (i, j), a in index.items():
        for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            kmat[a][a] += 1.0
            b = index.get((i + di, j + dj))
            if b is not None:
                kmat[a][b] -= 1.0
    lam1 = lowest_eigenvalue(kmat, masses)
    k_t = lam_of_hz(f0) / lam1
    k = k_t / (1.0 - rest_ratio)
    ids = {}
    for (i, j), mass in zip(cells, masses):
        ids[(i, j)] = p.body("%s_%d_%d" % (prefix, i, j), (cx + h * i, cy + h * j, cz), mass,
                             drag=2.0 * mass * t60_rate(drag_t60))
    anchors = {}
    count = 0
    for (i, j) in cells:
        for di, dj in ((1, 0), (0, 1), (-1, 0), (0, -1)):
            nb = (i + di, j + dj)
            if nb in ids:
                if (di, dj) in ((1, 0), (0, 1)):
                    count += 1
                    p.spring("%s_s%d" % (prefix, count), ids[(i, j)], ids[nb], k,
                             rest_length=h * rest_ratio)
            else:
                if nb not in anchors:
                    anchors[nb] = p.anchor("%s_a_%d_%d" % (prefix, nb[0], nb[1]),
                                           (cx + h * nb[0], cy + h * nb[1], cz))
                count += 1
                p.spring("%s_s%d" % (prefix, count), ids[(i, j)], anchors[nb], k,
                         rest_length=h * rest_ratio)
    return ids


def make_drums(out):
    """Two hand drums (low and high), struck in the centre or at the edge."""
    p = Preset("Hand Drums", "Two pre-stressed circular membranes (radius 4 cells, 49 "
               "bodies each) tuned to 98 Hz and 147 Hz. Notes 36/37: low drum centre, "
               "38/39: low drum edge (slap), 40/41: high drum centre, 42/43: high drum "
               "edge. An oblique edge stroke also excites the in-plane modes: the slap.")
    h = 0.025
    drums = [("low", (0.0, 0.0, 0.0), 98.0, 36, -0.35, 0.0016),
             ("high", (0.3, 0.0, 0.0), 147.0, 40, 0.35, 0.0011)]
    for name, centre, f0, base, pan, mass in drums:
        ids = membrane(p, name, centre, 4, h, 0.9, lambda i, j, m=mass: m, 0.45, f0)
        # Centre: a soft, deep stroke. Edge: short and oblique, bright.
        p.mallet(name + "_centre", ids[(0, 0)], (0, 0, 1), 0.011, 5.0, (base, base + 1))
        p.mallet(name + "_edge", ids[(3, 1)], (0.5, 0.2, 1), 0.005, 0.6, (base + 2, base + 3))
        p.microphone(name + "_mic1", ids[(1, 1)], (0, 0, 1), 1.0, pan - 0.3)
        p.microphone(name + "_mic2", ids[(-2, 1)], (0.3, 0.3, 1), 1.0, pan + 0.3)
        print("  drum %s: fundamental %.1f Hz, %d bodies" % (name, f0, len(ids)))
    p.write(out, "drums")


def make_gong(out):
    """A large gong: irregular pre-stressed membrane with a heavy boss."""
    p = Preset("Gong", "A large gong: a pre-stressed circular membrane of 149 bodies "
               "(radius 7 cells) with a heavy central boss and masses varied by +-20 % "
               "(seeded), which splits every mode into a dense inharmonic cluster. "
               "Fundamental 62 Hz; long decay. Notes 36-47: soft centre stroke, 48-59: "
               "off-centre, 60-72: near the rim (brighter). Oblique strokes also ring the "
               "in-plane modes.")
    rng = random.Random(20240611)
    base_mass = 0.004

    def masses(i, j):
        m = base_mass * rng.uniform(0.8, 1.2)
        if i * i + j * j <= 2:
            m *= 2.5  # the boss
        return m

    # Low tension (rest length 90 % of length) keeps the in-plane modes far
    # above the transverse ones and makes the tension swing with amplitude:
    # hard strokes bend the pitch and spread energy upwards.
    ids = membrane(p, "g", (0.0, 0.0, 0.0), 7, 0.04, 0.9, masses, 9.0, 62.0)
    p.mallet("g_centre", ids[(0, 0)], (0.3, 0.15, 1), 0.035, 4.0, (36, 47))
    p.mallet("g_mid", ids[(3, 2)], (0.4, 0.3, 1), 0.025, 2.5, (48, 59))
    p.mallet("g_rim", ids[(5, -4)], (0.6, -0.4, 1), 0.014, 1.2, (60, 72))
    p.microphone("g_micL", ids[(-4, 3)], (0.4, 0.2, 1), 1.0, -0.6)
    p.microphone("g_micR", ids[(5, -1)], (-0.3, 0.4, 1), 1.0, 0.6)
    print("  gong: %d bodies" % len(ids))
    p.write(out, "gong")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.normpath(os.path.join(here, "..", "presets"))
    out = sys.argv[1] if len(sys.argv) > 1 else default
    os.makedirs(out, exist_ok=True)
    make_demo(out)
    make_marimba(out)
    make_kalimba(out)
    make_bells(out)
    make_string(out)
    make_drums(out)
    make_gong(out)


if __name__ == "__main__":
    main()
