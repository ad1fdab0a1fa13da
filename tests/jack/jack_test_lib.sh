# Sourced by tests/jack/test_jack.sh and tests/lv2/test_jalv.sh, which play
# notes into a client under a dummy jackd, record it and compare the
# recording with the offline render. What they share: failures, the clean-up
# of every process they start, the server, waiting for a port, and the
# attempts. The sourcing script sets JACK_DEFAULT_SERVER, WORK (its
# working folder, current when this is sourced), MIDI_LOOP (the
# jack_midi_loop sender), LOOP and PHRASE (its events, "FRAME:HEX"), and
# defines attempt N.
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pids=()   # every process started: killed and reaped on exit
jack_test_cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
}
trap jack_test_cleanup EXIT

# jackd -d dummy -r 48000 -p $JACK_TEST_PERIOD, logging to $WORK/jackd.log.
# If it cannot start, says why and exits 1: a test never passes without
# having played. The period is 1024 frames (21 ms) unless the environment
# sets it: these tests check what is played, not how late, and on a shared
# virtual machine short periods see xruns from scheduling alone (seen on
# 2026-11-22: at 64 frames 350-1,200 in 9 s, every attempt spoiled, our
# callback at 6-10 % of the period at p99; at 256 frames, on a busy day,
# 18-680 per attempt and up to five attempts a test; at 1024, 0-8).
# Latency is the runner's tests' and docs/runner.md's measurements' business.
JACK_TEST_PERIOD=${JACK_TEST_PERIOD:-1024}
jack_test_start_server() {
    jackd -d dummy -r 48000 -p "$JACK_TEST_PERIOD" >"$WORK/jackd.log" 2>&1 &
    local jackd=$!
    pids+=($jackd)
    if ! timeout 10 jack_wait -w -t 10 >/dev/null 2>&1 || ! kill -0 $jackd 2>/dev/null; then
        echo "FAIL: jackd did not start here, so nothing was played: $(tail -n 5 "$WORK/jackd.log")" >&2
        exit 1
    fi
}

# jack_test_stop PID...: stops and reaps these processes (empty words are
# skipped). Never a bare `wait`: it would wait for jackd too.
jack_test_stop() {
    local pid
    for pid in "$@"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
}

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

# Loops the test's phrase (jack_midi_loop: LOOP frames, PHRASE as
# "FRAME:HEX" raw MIDI messages) into PORT and its looped audio into each
# AUDIO_PORT; SEQ is its pid. Returns 1 with $why set when the sender does
# not come up or cannot be connected.
jack_test_loop_phrase() { # jack_test_loop_phrase PORT [AUDIO_PORT...]
    local port=$1 audio_port
    shift
    "$MIDI_LOOP" seq $LOOP "${PHRASE[@]}" >seq.log 2>&1 &
    SEQ=$!
    pids+=($SEQ)
    wait_port seq:out || { why="jack_midi_loop did not start: $(cat seq.log)"; return 1; }
    timeout 5 jack_connect seq:out "$port" || { why="cannot connect seq:out to $port"; return 1; }
    for audio_port in "$@"; do
        timeout 5 jack_connect seq:audio "$audio_port" ||
            { why="cannot connect seq:audio to $audio_port"; return 1; }
    done
}

# Runs `attempt N` (N = 1, 2, 3), which returns 0 on a match, 1 on a clean
# recording that does not match, 2 when the attempt itself went wrong
# (JACK xruns: the dummy driver's or a client's thread was not scheduled
# in time; a client that did not come up; a JACK tool that hung), with $why
# saying what, and 3 when it has already failed the test (the client under
# test died). A clean mismatch fails at once; a spoiled attempt is no
# evidence either way and is repeated, up to JACK_TEST_ATTEMPTS in all
# (5), so a real fault fails every one. Sets attempts_made.
JACK_TEST_ATTEMPTS=${JACK_TEST_ATTEMPTS:-5}
jack_test_attempts() {
    local result
    for ((attempts_made = 1; attempts_made <= JACK_TEST_ATTEMPTS; attempts_made++)); do
        attempt $attempts_made
        result=$?
        cd "$WORK" || exit 1
        if [ $result = 0 ] || [ $result = 3 ]; then
            return
        elif [ $result = 1 ]; then
            fail "the recording does not match the offline render (no xruns: a real mismatch)"
            return
        elif [ $attempts_made = "$JACK_TEST_ATTEMPTS" ]; then
            fail "all $attempts_made attempts went wrong; the last: $why"
            return
        else
            echo "attempt $attempts_made went wrong ($why); trying again" >&2
        fi
    done
}
