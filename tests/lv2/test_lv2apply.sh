#!/usr/bin/env bash
# lv2apply (lilv-utils) runs the effect plugin over a WAV made here.
# A PLUMBING test, not the parity test: the engine has no
# audio-input exciter yet (issue 3) and `sprung render` has no --input, so
# the effect's input cannot drive the physics. What is checked: lv2apply
# loads the bundle, instantiates the effect without any host feature (no
# urid:map, no worker), runs it over the file, the output has the input's
# length, 2 channels and rate, and it equals, bit for bit, what `sprung
# render` gives for the default preset (presets/demo.json) with no notes
# (its free motion: the input changes nothing yet).
#   test_lv2apply.sh SPRUNG WAV_TOOL PRESET_DIR WORK_DIR   (LV2_PATH set by ctest)
set -u
SPRUNG=$1 TOOL=$2 PRESETS=$3 WORK=$4
URI=https://sprung.example/lv2/effect
command -v lv2apply >/dev/null || { echo "SKIP: lv2apply is not installed (lilv-utils)"; exit 77; }
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
FRAMES=24000
"$TOOL" make in.wav $FRAMES || exit 1
lv2apply -i in.wav -o out.wav $URI >apply.out 2>apply.err
rc=$?
cat apply.err
[ $rc = 0 ] || { echo "FAIL: lv2apply exited $rc: $(cat apply.out apply.err)" >&2; exit 1; }
[ -s out.wav ] || { echo "FAIL: lv2apply wrote no output" >&2; exit 1; }
"$SPRUNG" render "$PRESETS/demo.json" --duration 0.5 -o ref.wav >render.out 2>&1 ||
    { echo "FAIL: sprung render: $(cat render.out)" >&2; exit 1; }
"$TOOL" compare out.wav ref.wav 0 || { echo "FAIL: lv2apply's output is not the render" >&2; exit 1; }
# A control value through lv2apply: bypass passes the input through.
lv2apply -i in.wav -o bypass.wav -c enabled 0 $URI >/dev/null 2>&1 ||
    { echo "FAIL: lv2apply -c enabled 0 failed" >&2; exit 1; }
# (after the 20 ms crossfade has long settled: from 0.2 s on)
"$TOOL" compare bypass.wav in.wav 1e-3 9600 ||
    { echo "FAIL: the bypassed effect does not pass its input through" >&2; exit 1; }
echo "lv2apply: the effect ran over $FRAMES frames; output = sprung render of the default preset with no notes (no audio-input exciter yet)"
