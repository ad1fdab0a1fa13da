#!/usr/bin/env bash
# jalv hosts the instrument plugin headless against `jackd -d dummy -r 48000
# -p 64` (a server name of its own); jalv's stdin is a fifo this script
# keeps open (jalv's console quits at end of input). Notes come from
# jack_midiseq into the plugin's atom control port (a JACK MIDI port under
# jalv), jack_rec records the two outputs, and lv2_jack_check compares with
# the offline render of the same notes (default preset, presets/demo.json):
# not silent, normalised cross-correlation above 0.99 at the best lag.
# Fails (never passes without having played) when jackd cannot start.
#   test_jalv.sh CHECK PRESET WORK_DIR   (LV2_PATH set by ctest)
set -u
CHECK=$1 PRESET=$2 WORK=$3
URI=https://sprung.example/lv2/instrument
for tool in jalv jackd jack_wait jack_midiseq jack_rec jack_lsp jack_connect; do
    command -v $tool >/dev/null || { echo "SKIP: $tool is not installed (jalv, jackd2)"; exit 77; }
done
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1
# A fixed server name (the test runs alone: RUN_SERIAL). jackd2 has 8
# server slots in its shared registry and reclaims a dead server's slot only
# for a server of the same name, so a name per run would leak a slot each
# time a run is killed, until no server can start on this machine.
export JACK_DEFAULT_SERVER=sprung-lv2-test
export JACK_NO_AUDIO_RESERVATION=1
CLIENT=sprung-lv2
LOOP=24000                        # 0.5 s at 48 kHz
NOTES=(0 60 6000 12000 67 6000)   # C4 at 0, G4 at 0.25 s, 0.125 s each
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pids=()
cleanup() {
    local pid
    exec 3>&- 2>/dev/null
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
}
trap cleanup EXIT

jackd -d dummy -r 48000 -p 64 >jackd.log 2>&1 &
JACKD=$!
pids+=($JACKD)
if ! timeout 10 jack_wait -w -t 10 >/dev/null 2>&1 || ! kill -0 $JACKD 2>/dev/null; then
    echo "FAIL: jackd did not start here, so nothing was played: $(tail -5 jackd.log)" >&2
    exit 1
fi
# Every JACK client tool runs under `timeout`: on a busy machine a client
# can block connecting to the server, and a hung tool must fail the test,
# not stall it until ctest's limit.
wait_port() { # wait_port NAME: up to 10 s
    local deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ]; do
        timeout 3 jack_lsp 2>/dev/null | grep -qx "$1" && return 0
        sleep 0.1
    done
    return 1
}
mkfifo jalv.in
exec 3<>jalv.in   # held open: jalv reads commands until end of input
jalv -n $CLIENT -x $URI <jalv.in >jalv.out 2>jalv.err &
JALV=$!
pids+=($JALV)
wait_port $CLIENT:out_left || { fail "jalv never registered the plugin's ports: $(cat jalv.out jalv.err)"; exit 1; }
timeout 5 jack_lsp 2>/dev/null | grep "^$CLIENT:" | tr '\n' ' '; echo
jack_midiseq seq $LOOP "${NOTES[@]}" >seq.log 2>&1 &
SEQ=$!
pids+=($SEQ)
wait_port seq:out || { fail "jack_midiseq did not start: $(cat seq.log)"; exit 1; }
timeout 5 jack_connect seq:out $CLIENT:control || fail "cannot connect seq:out to $CLIENT:control"
sleep 4   # let the loop's sound settle (the checker renders 4 s of history)
timeout 15 jack_rec -f rec.wav -d 2 $CLIENT:out_left $CLIENT:out_right >rec.log 2>&1 ||
    fail "jack_rec failed: $(tail -3 rec.log)"
kill $SEQ 2>/dev/null
kill -0 $JALV 2>/dev/null || fail "jalv died: $(tail -5 jalv.err)"
grep -i "error" jalv.err && fail "jalv or the plugin logged an error"

if [ -s rec.wav ]; then
    "$CHECK" "$PRESET" rec.wav $LOOP 0.99 "${NOTES[@]}" || fail "the recording does not match"
else
    fail "no recording"
fi
if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s); jalv said: $(tail -20 jalv.out jalv.err)" >&2
    exit 1
fi
echo "jalv: the instrument plugin under jackd matches the offline render"
