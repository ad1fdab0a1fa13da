#!/usr/bin/env bash
# `sprung play` against a real JACK server: starts `jackd -d dummy -r 48000
# -p 1024` under a server name of its own, runs `sprung play PRESET`, loops
# a MIDI phrase into it with jack_midi_loop, records it freewheeling with
# jack_freewheel_rec (jack_test_lib.sh says why), and checks the recording
# with jack_check (not silent; normalised cross-correlation with the offline
# render of the same phrase from rest above 0.9999). Also checks the
# message when no server runs. If jackd cannot start, this says why and
# FAILS: it never passes without having played. The phrase:
#   notes       C4 and G4 at velocity 64 (what jack_midiseq sent before);
#   expression  an MPE phrase for tests/jack/expression.json: member and
#               master bends, channel pressure, CC74, the damper pedal, and
#               a program change and a clock the front end must ignore;
#               jack_check --each-heard also shows that leaving out any one
#               kind of message would not match, so a front end that passed
#               notes only (as before 6c19801) fails here.
#   input       no MIDI: jack_midi_loop's looped noise burst into both of
#               sprung play's audio inputs (in_left, in_right), for a preset
#               of audio-input exciters; a client that dropped its inputs
#               would record silence, one that dropped one of them would
#               not match.
#   test_jack.sh SPRUNG JACK_CHECK MIDI_LOOP RECORDER PRESET WORK_DIR notes|expression|input
set -u
LIB=$(dirname "$(readlink -f "$0")")/jack_test_lib.sh   # before the cd below
SPRUNG=$(readlink -f "$1") CHECK=$(readlink -f "$2") MIDI_LOOP=$(readlink -f "$3")
RECORDER=$(readlink -f "$4") PRESET=$(readlink -f "$5") WORK=$6 MODE=$7
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
WORK=$PWD   # absolute: attempts cd back to it
# A fixed server name (the test runs alone: RUN_SERIAL). jackd2 has 8
# server slots in its shared registry and reclaims a dead server's slot only
# for a server of the same name, so a name per run would leak a slot each
# time a run is killed, until no server can start on this machine.
export JACK_DEFAULT_SERVER=sprung-jack-test   # not the client name: the two clash
export JACK_NO_AUDIO_RESERVATION=1
CLIENT=sprung-test
LOOP=24000   # 0.5 s at 48 kHz
case $MODE in
notes)   # C4 at 0, G4 at 0.25 s, 0.125 s each, velocity 64
    PHRASE=(0:903c40 6000:803c40 12000:904340 18000:804340)
    CHECK_FLAGS=() ;;
expression)
    PHRASE=(
        0:e10040 0:d100 0:b14a40 0:e00040 0:b04000   # channel 2 and the master at rest
        100:913c64                                   # C4 on channel 2
        1500:b14a7f 3000:e10048 5000:d17f            # its CC74, bend (+6 st), pressure
        6000:b0407f 8000:813c40                      # pedal down (master); C4 off, held
        10000:c105 10001:f8                          # ignored: program change, clock
        12000:924350                                 # G4 on channel 3
        14000:e07f7f                                 # the master's bend (+2 st): the zone
        16000:924300                                 # G4 off (velocity 0), held
        19000:b04000                                 # pedal up: both released here
        22000:e10040 22000:d100 22000:b14a40 22000:e00040)   # back to rest
    CHECK_FLAGS=(--each-heard) ;;
input)
    PHRASE=()
    CHECK_FLAGS=(--input) ;;
*)
    echo "test_jack.sh: MODE must be notes, expression or input, not \"$MODE\"" >&2
    exit 2 ;;
esac
source "$LIB" || exit 1

for tool in jackd jack_wait jack_lsp jack_connect; do
    command -v $tool >/dev/null || { echo "FAIL: $tool is not installed (jackd2)" >&2; exit 1; }
done

# No server yet: a clear message, exit 1.
"$SPRUNG" play "$PRESET" --duration 1 >noserver.out 2>noserver.err
rc=$?
[ $rc = 1 ] || fail "without a server sprung play exited $rc (expected 1)"
grep -q "no JACK server is running" noserver.err || fail "without a server: $(cat noserver.err)"

jack_test_start_server

# One attempt: play, record, check. Returns 0 on a match, 1 on a mismatch
# (the recording is made freewheeling, so a mismatch is always real), 2
# when the attempt itself went wrong (a client that did not come up, a tool
# that hung; $why says what), 3 when sprung play died (already failed: a
# crash or a sanitizer's report is never retried). Leaves no client of its
# own running.
PLAY= SEQ= why=
stop_attempt() {
    jack_test_stop $SEQ $PLAY
    SEQ= PLAY=
}
# When sprung play has exited before its time: fails the test, returns 0.
play_died() {
    [ -z "$PLAY" ] || kill -0 $PLAY 2>/dev/null && return 1
    wait $PLAY
    local rc=$?
    PLAY=
    fail "sprung play exited $rc before the recording was made: $(cat play.err)"
    stop_attempt
    return 0
}
attempt() {
    # --duration only bounds a run whose recording hangs: it stops at SIGTERM.
    "$SPRUNG" play "$PRESET" --name $CLIENT --duration 60 >play.out 2>play.err &
    PLAY=$!
    pids+=($PLAY)
    if ! wait_port $CLIENT:out_left; then
        play_died && return 3
        why="sprung play never registered its ports: $(cat play.err)"
        stop_attempt
        return 2
    fi
    local audio_to=()
    [ "$MODE" = input ] && audio_to=($CLIENT:in_left $CLIENT:in_right)
    jack_test_start_sender $CLIENT:midi_in "${audio_to[@]}" ||
        { play_died && return 3; stop_attempt; return 2; }
    rm -f rec.wav
    if ! jack_test_record $CLIENT:out_left $CLIENT:out_right; then
        play_died && return 3
        stop_attempt
        return 2
    fi
    jack_test_stop $SEQ
    SEQ=
    play_died && return 3
    kill -TERM $PLAY
    wait $PLAY
    local rc=$?
    PLAY=
    cat play.err
    # sprung play itself misbehaving is a real failure, never retried.
    [ $rc = 0 ] || fail "sprung play exited $rc: $(cat play.err)"
    grep -q "stopped after" play.err || fail "sprung play did not stop cleanly: $(cat play.err)"
    "$CHECK" "${CHECK_FLAGS[@]}" "$PRESET" rec.wav $MIN_CORRELATION $SETTLE $LOOP "${PHRASE[@]}"
    case $? in
    0) return 0 ;;
    3) # A match, but the phrase cannot tell: no recording would do better.
        fail "the phrase does not make each kind of expression heard (above)"
        return 0 ;;
    esac
    return 1
}

jack_test_attempts

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "jack ($MODE): sprung play under jackd matches the offline render"
