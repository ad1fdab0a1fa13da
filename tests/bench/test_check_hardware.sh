#!/bin/bash
# scripts/check-hardware.sh refuses bad arguments with a clear error (exit
# 2, the argument named) and its `machine` part runs on a build and writes
# machine.txt. Its other parts run the GPU and AVX-512 checks and benchmarks
# themselves, which is not a test's job. Checked by hand: a script that
# skips an unknown argument instead of refusing it fails the first check.
# usage: test_check_hardware.sh SCRIPT BUILD_DIR WORK_DIR
set -u
script=$1 build=$2
mkdir -p "$3" && work=$(cd "$3" && pwd) || exit 1
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# expect_refusal TEXT ARGS...: exit 2 and TEXT in the message.
expect_refusal() {
    local text=$1
    shift
    local message
    message=$("$script" "$@" 2>&1)
    local rc=$?
    [ $rc -eq 2 ] || fail "'$*' exited $rc, not 2"
    [[ "$message" == *"$text"* ]] || fail "'$*' said '$message', not '$text'"
}
expect_refusal "unknown argument 'benchmarks'" --build "$build" benchmarks
expect_refusal "--jobs: 'x' is not a positive number" --build "$build" --jobs x tests
expect_refusal "--jobs needs a value" --build "$build" --jobs
expect_refusal "--build: no folder '$work/none'" --build "$work/none" machine
expect_refusal "no build at $work" --build "$work" machine

rm -rf "$work/out"
"$script" --build "$build" --out "$work/out" machine >"$work/machine.log" 2>&1 ||
    fail "machine part exited $? ($work/machine.log)"
grep -q '^cores: [0-9]' "$work/out/machine.txt" 2>/dev/null || fail "machine.txt has no core count"
grep -q 'cpu:0' "$work/out/machine.txt" 2>/dev/null || fail "machine.txt does not list the backends"

[ $failures -eq 0 ] && echo "PASS check-hardware.sh: refusals and the machine part"
exit $((failures > 0))
