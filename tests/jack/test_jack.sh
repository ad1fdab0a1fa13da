#!/usr/bin/env bash
# `sprung play` against a real JACK server: starts `jackd -d dummy -r 48000
# -p 64` under a server name of its own, runs `sprung play PRESET`, loops
# notes into it with jack_midiseq, records it with jack_rec, and checks the
# recording with jack_check (not silent; normalised cross-correlation with
# the offline render of the same notes above 0.99 at the best lag). Also
# checks the message when no server runs. If jackd cannot start, this says
# why and FAILS: it never passes without having played.
#   test_jack.sh SPRUNG JACK_CHECK PRESET WORK_DIR
set -u
LIB=$(dirname "$(readlink -f "$0")")/jack_test_lib.sh   # before the cd below
SPRUNG=$(readlink -f "$1") CHECK=$(readlink -f "$2") PRESET=$(readlink -f "$3") WORK=$4
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
WORK=$PWD   # absolute: attempts cd back to it
# A fixed server name (the test runs alone: RUN_SERIAL). jackd2 has 8
# server slots in its shared registry and reclaims a dead server's slot only
# for a server of the same name, so a name per run would leak a slot each
# time a run is killed, until no server can start on this machine.
export JACK_DEFAULT_SERVER=sprung-jack-test   # not the client name: the two clash
export JACK_NO_AUDIO_RESERVATION=1
CLIENT=sprung-test
LOOP=24000                        # 0.5 s at 48 kHz
NOTES=(0 60 6000 12000 67 6000)   # C4 at 0, G4 at 0.25 s, 0.125 s each
source "$LIB" || exit 1

for tool in jackd jack_wait jack_midiseq jack_rec jack_lsp jack_connect; do
    command -v $tool >/dev/null || { echo "FAIL: $tool is not installed (jackd2)" >&2; exit 1; }
done

# No server yet: a clear message, exit 1.
"$SPRUNG" play "$PRESET" --duration 1 >noserver.out 2>noserver.err
rc=$?
[ $rc = 1 ] || fail "without a server sprung play exited $rc (expected 1)"
grep -q "no JACK server is running" noserver.err || fail "without a server: $(cat noserver.err)"

jack_test_start_server

# One attempt: play, record, check. Returns 0 on a match, 1 on a mismatch
# of a clean recording, 2 when the attempt itself went wrong (a client that
# did not come up, a tool that hung, a recording the server broke); $why
# says what. Leaves no client of its own running.
PLAY= SEQ= why=
stop_attempt() {
    [ -n "$SEQ" ] && kill $SEQ 2>/dev/null
    [ -n "$PLAY" ] && kill $PLAY 2>/dev/null
    wait $SEQ $PLAY 2>/dev/null
    SEQ= PLAY=
}
attempt() {
    "$SPRUNG" play "$PRESET" --name $CLIENT --duration 9 >play.out 2>play.err &
    PLAY=$!
    pids+=($PLAY)
    wait_port $CLIENT:out_left ||
        { why="sprung play never registered its ports: $(cat play.err)"; stop_attempt; return 2; }
    jack_test_loop_notes $CLIENT:midi_in || { stop_attempt; return 2; }
    sleep 4   # let the loop's sound settle (the checker renders 4 s of history)
    rm -f rec.wav
    timeout 15 jack_rec -f rec.wav -d 2 $CLIENT:out_left $CLIENT:out_right >rec.log 2>&1 ||
        { why="jack_rec failed: $(tail -3 rec.log)"; stop_attempt; return 2; }
    kill $SEQ 2>/dev/null
    wait $SEQ 2>/dev/null
    SEQ=
    wait $PLAY
    local rc=$?
    PLAY=
    cat play.err
    # sprung play itself misbehaving is a real failure, never retried.
    [ $rc = 0 ] || fail "sprung play exited $rc: $(cat play.err)"
    grep -q "stopped after" play.err || fail "sprung play did not stop cleanly: $(cat play.err)"
    [ -s rec.wav ] || { why="no recording"; return 2; }
    "$CHECK" "$PRESET" rec.wav $LOOP 0.99 "${NOTES[@]}" && return 0
    local xruns
    xruns=$(sed -n 's/.*xruns \([0-9]*\) (JACK).*/\1/p' play.err | tail -1)
    if [ "${xruns:-0}" != 0 ]; then
        why="$xruns JACK xruns spoiled the recording"
        return 2
    fi
    return 1
}

jack_test_attempts

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "jack: sprung play under jackd matches the offline render"
