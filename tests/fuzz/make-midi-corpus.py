#!/usr/bin/env python3
"""Writes the seed corpus of the MIDI fuzzer (tests/fuzz/corpus/midi/):
small valid Standard MIDI Files covering the loader's paths (format 0 and 1,
tempo changes, running status, velocity-0 note-offs, SMPTE division, meta
and sysex events) and a few broken ones. Standard library only; the output
is committed, so this only needs rerunning when the seeds change."""
import os
import struct
import sys


def varlen(value):
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.insert(0, 0x80 | (value & 0x7F))
        value >>= 7
    return bytes(out)


def track(events, end=True):
    body = b"".join(varlen(delta) + data for delta, data in events)
    if end:
        body += varlen(0) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + body


def smf(fmt, division, tracks):
    return b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division) + b"".join(tracks)


def tempo(us_per_quarter):
    return b"\xff\x51\x03" + us_per_quarter.to_bytes(3, "big")


def on(ch, note, vel):
    return bytes([0x90 | ch, note, vel])


def off(ch, note, vel=64):
    return bytes([0x80 | ch, note, vel])


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "midi")
    os.makedirs(out, exist_ok=True)
    files = {}

    files["01-format0-scale.mid"] = smf(0, 480, [track(
        [(0, tempo(500000))] +
        [e for n in range(60, 68) for e in ((0, on(0, n, 100)), (240, off(0, n)))])])

    # Format 1: a tempo map track, then two note tracks on different channels.
    files["02-format1-tempo-changes.mid"] = smf(1, 96, [
        track([(0, tempo(500000)), (192, tempo(250000)), (192, tempo(1000000))]),
        track([(0, on(0, 48, 90)), (96, off(0, 48)), (96, on(0, 50, 70)), (300, off(0, 50))]),
        track([(48, on(9, 36, 127)), (48, off(9, 36)), (100, on(9, 38, 1)), (1, off(9, 38))]),
    ])

    # Running status and note-on with velocity 0 as note-off.
    files["03-running-status.mid"] = smf(0, 120, [track([
        (0, b"\x93\x3c\x50"), (60, b"\x3c\x00"), (0, b"\x3e\x50"), (60, b"\x3e\x00"),
        (0, b"\x40\x7f"), (120, b"\x40\x00")])])

    # Chords, all velocities, extreme notes, overlapping notes of one key.
    files["04-chords-extremes.mid"] = smf(0, 480, [track([
        (0, on(0, 0, 1)), (0, on(0, 127, 127)), (0, on(0, 64, 64)),
        (10, on(0, 64, 30)), (10, off(0, 64)), (0, off(0, 0)), (0, off(0, 127)),
        (1000, off(0, 64))])])

    # Meta events (track name, time signature, key, text), sysex, controllers,
    # program change, pitch bend: all ignored but must be skipped correctly.
    files["05-meta-sysex-controllers.mid"] = smf(1, 240, [
        track([(0, b"\xff\x03\x05Piano"), (0, b"\xff\x58\x04\x04\x02\x18\x08"),
               (0, b"\xff\x59\x02\x00\x00"), (0, tempo(600000))]),
        track([(0, b"\xf0\x05\x7e\x7f\x09\x01\xf7"), (0, b"\xc0\x05"), (0, b"\xb0\x07\x64"),
               (0, b"\xe0\x00\x40"), (0, on(0, 72, 88)), (240, b"\xff\x01\x03abc"),
               (0, off(0, 72))]),
    ])

    # SMPTE division: 25 frames per second, 40 ticks per frame.
    files["06-smpte-division.mid"] = smf(0, 0xE728, [track([
        (0, on(1, 60, 100)), (1000, off(1, 60)), (500, on(1, 62, 100)), (1000, off(1, 62))])])

    # An empty but valid file, and one whose only track has no notes.
    files["07-empty-track.mid"] = smf(0, 480, [track([])])
    files["08-tempo-only.mid"] = smf(1, 480, [track([(0, tempo(400000)), (4800, b"\xff\x06\x03end")])])

    # Broken files.
    good = files["01-format0-scale.mid"]
    files["09-truncated.mid"] = good[: len(good) // 2]
    files["10-header-only.mid"] = good[:14]
    files["11-bad-magic.mid"] = b"MThx" + good[4:]
    files["12-track-length-too-long.mid"] = (good[:18] + struct.pack(">I", 0x7FFFFFF0) +
                                             good[22:])
    files["13-no-end-of-track.mid"] = smf(0, 480, [track([(0, on(0, 60, 100)), (10, off(0, 60))],
                                                          end=False)])
    files["14-zero-division.mid"] = smf(0, 0, [track([(0, on(0, 60, 100)), (10, off(0, 60))])])
    files["15-status-without-data.mid"] = smf(0, 480, [track([(0, b"\x90")], end=False)])
    files["16-huge-varlen.mid"] = smf(0, 480, [track([(0, on(0, 60, 100))]) [:-4] +
                                               b"\xff\xff\xff\xff\x7f" + off(0, 60)])
    files["17-format2.mid"] = smf(2, 480, [track([(0, on(0, 60, 100)), (10, off(0, 60))]),
                                           track([(0, on(0, 61, 100)), (10, off(0, 61))])])

    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(files)} files to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
