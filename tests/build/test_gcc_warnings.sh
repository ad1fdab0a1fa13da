#!/usr/bin/env bash
# build_gcc_warnings: configures SOURCE in BUILD with GCC and -Werror and
# builds everything (library, command, plugins, tests) on one core, so the
# rest of the suite keeps the other; prints the first diagnostics on failure.
#   test_gcc_warnings.sh SOURCE BUILD GCC
set -u
source_dir=$1
build_dir=$2
gcc=${3:-}
if [ -z "$gcc" ] || ! command -v "$gcc" > /dev/null; then
    echo "SKIP: no gcc on this machine"
    exit 77
fi
mkdir -p "$build_dir"
log=$build_dir/build.log
if ! cmake -S "$source_dir" -B "$build_dir" -DCMAKE_C_COMPILER="$gcc" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPRUNG_WERROR=ON > "$log" 2>&1; then
    tail -n 30 "$log"
    echo "FAIL: cmake could not configure a $gcc build (log: $log)"
    exit 1
fi
if ! cmake --build "$build_dir" -j 1 >> "$log" 2>&1; then
    grep -E -A3 'warning:|error:' "$log" | head -n 40
    echo "FAIL: the $gcc build with -Werror failed (log: $log)"
    exit 1
fi
echo "PASS: everything builds with $("$gcc" -dumpfullversion) and -Werror"
