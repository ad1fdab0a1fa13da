#!/usr/bin/env bash
# jalv hosts the instrument plugin headless against `jackd -d dummy -r 48000`
# (a server name of its own; period and attempts as tests/jack/jack_test_lib.sh
# sets them); jalv's stdin is a fifo this script keeps open (jalv's console
# quits at end of input). Notes come from jack_midi_loop (tests/jack) into
# the plugin's atom control port (a JACK MIDI port under jalv),
# jack_freewheel_rec records the two outputs with the server freewheeling
# (jack_test_lib.sh says why), and lv2_jack_check compares with the offline
# render of the same notes (default preset, presets/demo.json): not silent,
# normalised cross-correlation above 0.9999 at the best lag. A mismatch
# fails at once; an attempt in which a client did not come up or a tool
# failed is played again, up to three in all.
# Fails (never passes without having played) when jackd cannot start.
# By hand, SPRUNG_TEST_STALL_JALV=1 stops jalv for 50 ms during every
# recording, as a host that does not schedule it would: the recording must
# still match (freewheeling waits for it), where in real time it was
# spoiled every time.
#   test_jalv.sh CHECK MIDI_LOOP RECORDER PRESET WORK_DIR   (LV2_PATH set by ctest)
set -u
LIB=$(dirname "$(readlink -f "$0")")/../jack/jack_test_lib.sh   # before the cd below
CHECK=$(readlink -f "$1") MIDI_LOOP=$(readlink -f "$2")   # absolute: attempts cd
RECORDER=$(readlink -f "$3") PRESET=$(readlink -f "$4") WORK=$5
URI=https://sprung.example/lv2/instrument
for tool in jalv jackd jack_wait jack_lsp jack_connect; do
    command -v $tool >/dev/null || { echo "SKIP: $tool is not installed (jalv, jackd2)"; exit 77; }
done
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
WORK=$PWD   # absolute: attempts cd back to it
# A fixed server name (the test runs alone: RUN_SERIAL). jackd2 has 8
# server slots in its shared registry and reclaims a dead server's slot only
# for a server of the same name, so a name per run would leak a slot each
# time a run is killed, until no server can start on this machine.
export JACK_DEFAULT_SERVER=sprung-lv2-test
export JACK_NO_AUDIO_RESERVATION=1
CLIENT=sprung-lv2
LOOP=24000   # 0.5 s at 48 kHz
PHRASE=(0:903c40 6000:803c40 12000:904340 18000:804340)   # C4, G4: 0.125 s each, velocity 64
source "$LIB" || exit 1
jack_test_start_server

# One attempt: host the plugin, loop the notes into it, record, check.
# Returns 0 on a match, 1 on a mismatch, 2 when the attempt itself went
# wrong (a client that did not come up, a tool that hung or failed); $why
# says what. Leaves no client of its own running; its files stay in
# attempt-N/.
JALV= SEQ= why=
stop_attempt() {
    exec 3>&-   # jalv reads end of input and quits
    jack_test_stop $SEQ $JALV
    SEQ= JALV=
}
attempt() {
    mkdir -p "$WORK/attempt-$1" && cd "$WORK/attempt-$1" || return 2
    mkfifo jalv.in
    exec 3<>jalv.in   # held open: jalv reads commands until end of input
    jalv -n $CLIENT -x $URI <jalv.in >jalv.out 2>jalv.err &
    JALV=$!
    pids+=($JALV)
    wait_port $CLIENT:out_left ||
        { why="jalv never registered the plugin's ports: $(cat jalv.out jalv.err)"; stop_attempt; return 2; }
    timeout 5 jack_lsp 2>/dev/null | grep "^$CLIENT:" | tr '\n' ' '; echo
    jack_test_start_sender $CLIENT:control || { stop_attempt; return 2; }
    [ "${SPRUNG_TEST_STALL_JALV:-0}" = 1 ] &&
        ( sleep 0.2; kill -STOP $JALV; sleep 0.05; kill -CONT $JALV ) &
    jack_test_record $CLIENT:out_left $CLIENT:out_right || { stop_attempt; return 2; }
    # jalv or the plugin misbehaving is a real failure, never retried.
    kill -0 $JALV 2>/dev/null || fail "jalv died: $(tail -n 5 jalv.err)"
    grep -i "error" jalv.err && fail "jalv or the plugin logged an error"
    stop_attempt
    "$CHECK" "$PRESET" rec.wav $MIN_CORRELATION $SETTLE $LOOP "${PHRASE[@]}" && return 0
    return 1
}

jack_test_attempts

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s); jalv said: $(tail -n 20 "$WORK/attempt-$attempts_made/jalv.out" "$WORK/attempt-$attempts_made/jalv.err")" >&2
    exit 1
fi
echo "jalv: the instrument plugin under jackd matches the offline render"
