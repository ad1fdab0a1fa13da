# Sourced by tests/jack/test_jack.sh and tests/lv2/test_jalv.sh, which play
# notes into a client under a dummy jackd, record it and compare the
# recording with the offline render. What they share: failures, the clean-up
# of every process they start, the server, waiting for a port, the sender,
# the recording and the attempts. The sourcing script sets
# JACK_DEFAULT_SERVER, WORK (its working folder, current when this is
# sourced), MIDI_LOOP (the jack_midi_loop sender), RECORDER
# (jack_freewheel_rec), LOOP and PHRASE (the sender's events, "FRAME:HEX"),
# and defines attempt N.
#
# The recording is made with the server freewheeling (jack_freewheel_rec
# says why): it depends only on what the clients compute, never on how the
# host scheduled them, so the recording must match the offline render to
# within rounding, and a mismatch is always a fault. Before freewheeling
# came in (2026-11-22), recordings made in real time on this shared virtual
# machine were spoiled by xruns in most attempts on a busy day, and CI
# failed three tests after five attempts each.
#
# A match: normalised cross-correlation with the render above this (1 - 1e-4,
# an error of about 1.4 % RMS). Measured on 2026-11-22: 1 - 0.0, the same
# samples; events at the wrong frame in their period gave 0.29.
MIN_CORRELATION=0.9999
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
# sets it: only the clients' start-up runs in real time, and its xruns no
# longer reach the recording, but they were fewest at 1024 (seen on
# 2026-11-22: 0-8 in 9 s where 256 frames saw 18-680). Latency is the
# runner's tests' and docs/runner.md's measurements' business.
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

# Starts the sender, jack_midi_loop (as "seq"), and connects seq:out to
# PORT and seq:audio to each AUDIO_PORT; SEQ is its pid. It sends nothing
# until the recorder starts freewheeling (jack_test_record), then loops the
# test's phrase (LOOP frames, PHRASE as "FRAME:HEX" raw MIDI messages) and
# its audio: the client under test hears the whole loop from rest. Returns
# 1 with $why set when the sender does not come up or cannot be connected.
jack_test_start_sender() { # jack_test_start_sender PORT [AUDIO_PORT...]
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

# Records PORT... into rec.wav with jack_freewheel_rec ($RECORDER): SETTLE
# frames of the looped phrase first (the checker is told, and renders the
# same history), then 2 s. Returns 1 with $why set when the recording could
# not be made.
SETTLE=192000   # 4 s: the phrase heard eight times
jack_test_record() { # jack_test_record PORT...
    timeout 90 "$RECORDER" rec.wav $SETTLE 96000 "$@" >rec.log 2>&1 ||
        { why="jack_freewheel_rec failed: $(tail -n 3 rec.log)"; return 1; }
    cat rec.log
}

# Runs `attempt N` (N = 1, 2, ...), which returns 0 on a match, 1 on a
# recording that does not match, 2 when the attempt itself went wrong (a
# client that did not come up, a JACK tool that hung or failed), with $why
# saying what, and 3 when it has already failed the test (the client under
# test died). A mismatch fails at once; an attempt that went wrong is no
# evidence either way and is repeated, up to JACK_TEST_ATTEMPTS in all
# (3). Sets attempts_made.
JACK_TEST_ATTEMPTS=${JACK_TEST_ATTEMPTS:-3}
jack_test_attempts() {
    local result
    for ((attempts_made = 1; attempts_made <= JACK_TEST_ATTEMPTS; attempts_made++)); do
        attempt $attempts_made
        result=$?
        cd "$WORK" || exit 1
        if [ $result = 0 ] || [ $result = 3 ]; then
            return
        elif [ $result = 1 ]; then
            fail "the recording does not match the offline render"
            return
        elif [ $attempts_made = "$JACK_TEST_ATTEMPTS" ]; then
            fail "all $attempts_made attempts went wrong; the last: $why"
            return
        else
            echo "attempt $attempts_made went wrong ($why); trying again" >&2
        fi
    done
}
