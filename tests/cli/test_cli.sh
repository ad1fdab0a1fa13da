#!/usr/bin/env bash
# Command-line tests of `sprung`: every bad argument exits 2 with its own
# message; bad files exit 1 naming the file (and so do lengths and inputs
# the renderer refuses); render writes WAVs of the right length and rate
# (free motion, MIDI + tail, oversampling latency removed, any block size
# giving the same bytes), warns when the breaker trips and says how to play
# a preset that rendered silent for want of notes; validate and info
# on good and bad presets, info on an instanced preset; mpe-pad's MIDI file
# renders.
#   test_cli.sh SPRUNG CLI_PROBE DATA_DIR WORK_DIR
set -u
SPRUNG=$1 PROBE=$2 DATA=$3 WORK=$4
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# run EXPECTED_EXIT ARGS... : runs sprung, keeps stdout/stderr in out/err.
run() {
    local want=$1; shift
    "$SPRUNG" "$@" >out 2>err
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "sprung $* exited $got (expected $want); stderr: $(head -c 400 err)"
        return 1
    fi
    return 0
}
# expect_err TEXT: the last command's stderr contains TEXT.
expect_err() { grep -qF -- "$1" err || fail "stderr lacks '$1': $(head -c 400 err)"; }
expect_out() { grep -qF -- "$1" out || fail "stdout lacks '$1': $(head -c 400 out)"; }

# A phrase: A4 for 0.5 s at 120 bpm, then a tempo change to 60 bpm and A4
# again for one beat (1 s): 1.5 s long. Format 0, 96 ticks per quarter.
printf 'MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x22' > phrase.mid
printf '\x00\xff\x51\x03\x07\xa1\x20\x00\x90\x45\x64\x60\x80\x45\x00' >> phrase.mid
printf '\x00\xff\x51\x03\x0f\x42\x40\x00\x90\x45\x50\x60\x80\x45\x00\x00\xff\x2f\x00' >> phrase.mid
printf 'this is not a MIDI file' > garbage.mid

# ---- top level ----
run 0 --help && expect_out "usage: sprung <command>"
run 0 --version && expect_out "sprung "
run 2 && expect_err "usage: sprung"
run 2 frobnicate && expect_err "unknown command 'frobnicate'"
run 2 --frobnicate && expect_err "unknown option '--frobnicate'"
# A slip gets the closest name (src/util/suggest.c); a word like no name gets none.
run 2 rendr && expect_err "unknown command 'rendr' (did you mean 'render'?)"
if run 2 frobnicate; then
    ! grep -q "did you mean" err || fail "a suggestion for 'frobnicate': $(head -c 400 err)"
fi
for cmd in render validate info bench; do
    run 0 "$cmd" --help && expect_out "usage: sprung $cmd"
done
run 0 help render && expect_out "usage: sprung render"

# ---- bad arguments: exit 2, one message each, and where to look ----
bad() { # bad EXPECTED_MESSAGE ARGS...
    local msg=$1; shift
    if run 2 "$@"; then
        expect_err "$msg"
        expect_err "see 'sprung $1 --help'"
        [ "$(wc -l < err)" -eq 2 ] || fail "sprung $*: expected 2 lines on stderr, got $(wc -l < err)"
    fi
}
bad "unknown option '--frobnicate'" render --frobnicate
bad "unknown option '-x'" render -x
bad "unknown option '--durration' (did you mean '--duration'?)" render --durration 3
bad "unknown option '--backnd=simd' (did you mean '--backend'?)" render --backnd=simd
# A backend name this build lacks is a slip, refused (one it has but this
# machine cannot run falls back to auto, below).
bad "--backend 'simdd': unknown backend (did you mean 'simd'?)" render --backend simdd
bad "--backend 'cpuu:1': unknown backend (did you mean 'cpu'?)" play x.json --backend cpuu:1
bad "--backend 'nope': unknown backend (this build has: auto, " render --backend nope
bad "--backend 'auto:1': auto takes no device number" render --backend auto:1
bad "option '--duration' needs a value" render --duration
bad "option '--output' needs a value" render -o
bad "option '--midi' needs a value" render --midi
bad "--duration: 'abc' is not a number" render --duration abc
bad "--duration: -1 is out of range" render --duration -1
bad "--duration: 0 is out of range" render --duration 0
bad "--duration: 1e9 is out of range" render --duration 1e9
bad "--tail: -2 is out of range" render --tail -2
bad "--oversample: 3 is not allowed (1, 2 or 4)" render --oversample 3
bad "--oversample: 'two' is not a whole number" render --oversample two
bad "--block: 0 is out of range" render --block 0
bad "--block: '1.5' is not a whole number" render --block 1.5
bad "--block: 100000 is out of range" render --block 100000
bad "--sample-rate: 100 is out of range" render --sample-rate 100
bad "--sample-rate: '48k' is not a whole number" render --sample-rate 48k
bad "unexpected argument 'b.json'" render a.json b.json
bad "no preset given" validate
bad "--oversample: 5 is not allowed" validate --oversample 5 "$DATA/small.json"
bad "unknown option '--frobnicate'" validate --frobnicate "$DATA/small.json"
bad "no preset given" info
bad "--sample-rate: 'x' is not a whole number" info --sample-rate x "$DATA/small.json"
bad "unexpected argument" info "$DATA/small.json" "$DATA/small.json"

# ---- bad files: exit 1 naming the file and the problem ----
run 1 render missing.json && expect_err "missing.json"
run 1 render "$DATA/bad-ref.json" && { expect_err "bad-ref.json"; expect_err "b9"; }
run 1 render "$DATA/bad-json.json" && expect_err "bad-json.json:4"
run 1 render "$DATA/small.json" --midi missing.mid && expect_err "missing.mid"
run 1 render "$DATA/small.json" --midi garbage.mid && { expect_err "garbage.mid"; expect_err "not a MIDI file"; }
# The system's words, not libsndfile's "System error : ..." wrapping.
run 1 render "$DATA/small.json" --duration 0.1 -o no-such-dir/out.wav &&
    expect_err "no-such-dir/out.wav: cannot write: No such file or directory"
run 1 render "$DATA/small.json" --input missing.wav &&
    expect_err "missing.wav: cannot read: No such file or directory"
run 1 render "$DATA/unstable.json" --duration 0.1 && { expect_err "unstable.json"; expect_err "2"; }
[ -e unstable.wav ] && fail "a failed render left unstable.wav behind"
# Lengths the renderer refuses: a phrase longer than an hour with its tail,
# and nothing at all (a MIDI file of one End of Track, no tail).
run 1 render "$DATA/small.json" --midi phrase.mid --tail 3600 &&
    expect_err "phrase.mid: the phrase lasts 3601.5 s with its tail; sprung renders at most 3600 s"
printf 'MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x04\x00\xff\x2f\x00' > empty.mid
run 1 render "$DATA/small.json" --midi empty.mid --tail 0 &&
    expect_err "nothing to render (the length is 0 s; add --tail)"

# ---- render ----
probe_wav() { "$PROBE" wav "$1"; }
# check_wav FILE FRAMES RATE: exact length, stereo, rate, not silent.
check_wav() {
    local info; info=$(probe_wav "$1") || { fail "$1 unreadable"; return; }
    read -r frames channels rate peak <<< "$info"
    [ "$frames" = "$2" ] || fail "$1: $frames frames (expected $2)"
    [ "$channels" = 2 ] || fail "$1: $channels channels (expected 2)"
    [ "$rate" = "$3" ] || fail "$1: rate $rate (expected $3)"
    awk -v p="$peak" 'BEGIN { exit !(p > 1e-4 && p < 100) }' || fail "$1: peak $peak (silent or exploded)"
}
run 0 render "$DATA/small.json" --duration 1.5 -o free.wav && {
    check_wav free.wav 72000 48000
    expect_out "free.wav"; expect_out "dBFS"; expect_out "realtime"
    [ -s err ] && fail "render printed on stderr while not a terminal: $(head -c 200 err)"
    # libsndfile's PEAK chunk holds a time stamp: equal renders must give equal files.
    grep -q PEAK free.wav && fail "free.wav has a time-stamped PEAK chunk"
}
run 0 render "$DATA/small.json" --duration 0.5 && check_wav small.wav 24000 48000
run 0 render "$DATA/small.json" --midi phrase.mid --tail 0.5 --sample-rate 44100 -o phrase.wav &&
    check_wav phrase.wav 88200 44100
run 0 render "$DATA/small.json" --midi phrase.mid -o phrase-tail.wav && check_wav phrase-tail.wav 168000 48000
run 0 render "$DATA/small.json" --duration 1 --oversample 2 -o os2.wav && check_wav os2.wav 48000 48000
run 0 render "$DATA/small.json" --midi empty.mid --tail 0.1 -o empty.wav && check_wav empty.wav 4800 48000
# --input: a file at another rate is refused (no resampling), and so is one
# of more channels than the runner takes (a one-frame, 65-channel WAV).
run 1 render "$DATA/small.json" --input phrase.wav &&
    expect_err "phrase.wav: the file's sample rate is 44100 Hz but the render runs at 48000 Hz"
{
    printf 'RIFF\xa6\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x41\x00'
    printf '\x80\xbb\x00\x00\x00\x37\x5f\x00\x82\x00\x10\x00data\x82\x00\x00\x00'
    head -c 130 /dev/zero
} > wide.wav
run 1 render "$DATA/small.json" --input wide.wav &&
    expect_err "wide.wav: 65 channels; sprung takes at most 64 input channels"
# A backend this build has but that cannot serve here (no such device)
# falls back to auto with a warning: the render still sounds.
run 0 render "$DATA/small.json" --backend cpu:3 --duration 0.1 -o fallback.wav && {
    expect_err "--backend cpu:3: backend \"cpu\" has 1 device; there is no device 3; using auto"
    check_wav fallback.wav 4800 48000
}
# A preset without audio inputs renders as without the file, with a warning.
run 0 render "$DATA/small.json" --input free.wav --duration 0.1 -o no-inputs.wav &&
    expect_err "small.json: warning: the preset has no audio inputs, so --input free.wav"
# The circuit breaker: the small resonator tuned 100 times lower swings
# above +12 dBFS for longer than the breaker holds, again after every
# reset: three warnings, then the rest counted; the render goes on.
sed 's/"stiffness": 76433.0/"stiffness": 7.6433/' "$DATA/small.json" > slow.json
run 0 render slow.json --duration 0.5 -o slow.wav && {
    expect_err "slow.json: warning: the circuit breaker tripped at 0.0"
    expect_err "the left channel stayed above +12 dBFS"
    [ "$(grep -c 'tripped at' err)" = 3 ] || fail "$(grep -c 'tripped at' err) trips warned of, not 3"
    grep -qE "^slow.json: warning: the circuit breaker tripped [0-9]+ more times, the last at 0\.4" err ||
        fail "no count of the other trips: $(tail -n 2 err)"
    check_wav slow.wav 24000 48000
}
run 0 render "$DATA/unstable.json" --duration 0.2 --oversample 2 -o stiff.wav && check_wav stiff.wav 9600 48000
# The block size never changes the output, with or without oversampling.
for os in 1 4; do
    for block in 1 7 4096; do
        run 0 render "$DATA/small.json" --midi phrase.mid --tail 0.2 --oversample $os --block $block -o b$os-$block.wav
    done
    cmp -s b$os-1.wav b$os-7.wav || fail "oversample $os: block 1 and 7 differ"
    cmp -s b$os-1.wav b$os-4096.wav || fail "oversample $os: block 1 and 4096 differ"
done
run 0 render "$DATA/small.json" --duration 1 -o spec.wav --spectrogram spec.png && {
    size=$("$PROBE" png spec.png) || fail "spec.png unreadable"
    [ "$size" = "1200 600" ] || fail "spec.png is $size (expected 1200 600)"
    expect_out "spec.png"
}
# A preset at rest, rendered with nothing to play it, is silent: the
# renderer says how to play it, naming its phrase where one lies in midi/
# beside it, and --input where it has audio inputs.
sed 's/, "velocity": \[0.5, 0, 0\]//' "$DATA/small.json" > rest.json
run 0 render rest.json --duration 0.1 &&
    expect_err "rest.json: silent: nothing played it; play it with --midi FILE.mid"
mkdir -p midi && cp phrase.mid midi/rest.mid
run 0 render rest.json --duration 0.1 &&
    expect_err "rest.json: silent: nothing played it; play it with --midi midi/rest.mid (its"
run 0 render rest.json --midi midi/rest.mid --tail 0.1 && check_wav rest.wav 76800 48000
audio_input='"audio_inputs": [{"id": "in", "target": "b1", "direction": [1, 0, 0],'
audio_input+=' "gain": 1, "input": 0}],'
sed "s/\"microphones\"/$audio_input\n  \"microphones\"/" rest.json > rest-in.json
run 0 render rest-in.json --duration 0.1 &&
    expect_err "play it with --midi FILE.mid or --input FILE.wav (its audio inputs)"

# The built-in demo (embedded preset and phrase).
run 0 render --duration 0.25 -o demo-short.wav && {
    info=$(probe_wav demo-short.wav) && [ "${info%% *}" = 12000 ] || fail "demo: $info"
}

# ---- validate and info ----
run 0 validate "$DATA/small.json" && expect_out "small.json: ok (1 bodies"
run 1 validate "$DATA/small.json" "$DATA/bad-ref.json" && { expect_out "small.json: ok"; expect_err "bad-ref.json"; }
run 1 validate "$DATA/unstable.json" && expect_err "unstable.json"
run 0 validate --oversample 2 "$DATA/unstable.json" && expect_out "ok"
run 1 validate missing.json && expect_err "missing.json"
run 0 info "$DATA/small.json" && {
    expect_out "bodies:           1"; expect_out "springs:          1"; expect_out "stability margin:"
    lowest=$(awk '/^lowest mode:/ { print $3 }' out)
    awk -v f="$lowest" 'BEGIN { exit !(f > 435 && f < 445) }' || fail "info: lowest mode '$lowest' (expected about 440 Hz)"
}
run 0 info "$DATA/unstable.json" && { expect_out "UNSTABLE"; expect_out "min oversampling: 2"; }
run 1 info "$DATA/bad-json.json" && expect_err "bad-json.json"
# An instanced preset: voices, root, playable notes, the analysis at the
# highest playable note, and the newer object counts.
PRESETS="$DATA/../../../presets"
if [ -f "$PRESETS/mpe-pad.json" ]; then
    run 0 info "$PRESETS/mpe-pad.json" && {
        expect_out "voices:           8"; expect_out "root note:        60"
        expect_out "playable notes:   36..96"; expect_out "oscillators:      3"
        expect_out "routes:"; expect_out "at note 96  margin:"; expect_out "voice stability:"
        top=$(awk '/^at note 96  highest mode:/ { print $6 }' out)
        root=$(awk '/^highest mode:/ { print $3 }' out)
        # Three octaves up: the voice's modes sound about 8 times higher.
        awk -v t="$top" -v r="$root" 'BEGIN { exit !(t > 7.5 * r && t < 8.5 * r) }' ||
            fail "info mpe-pad: highest mode at note 96 '$top' vs root '$root' (expected about 8x)"
    }
    run 0 info "$DATA/small.json" && { grep -q "^voices:" out && fail "info small.json prints voices"; }
    # Its MIDI file (bends, pressure, CC74) renders.
    run 0 render "$PRESETS/mpe-pad.json" --midi "$PRESETS/midi/mpe-pad.mid" --tail 0.5 -o mpe.wav
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "cli: all checks passed"
