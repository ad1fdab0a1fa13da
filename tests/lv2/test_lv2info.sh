#!/usr/bin/env bash
# The bundle as hosts see it: lv2info on both plugin URIs (the manifest and
# sprung.ttl parse, the plugins and their ports are there with the right
# symbols, types and designations, the presets are listed), and, when
# sordi's sord_validate is installed, lv2_validate (lv2-dev) checks every
# Turtle file of the bundle against the LV2 specifications: 0 errors.
#   test_lv2info.sh BUNDLE_DIR   (LV2_PATH set by ctest)
set -u
BUNDLE=$1
command -v lv2info >/dev/null || { echo "SKIP: lv2info is not installed (lilv-utils)"; exit 77; }
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
COMMON="control notify out_left out_right gain enabled macro_1 macro_2 macro_3 macro_4 macro_5 macro_6 macro_7 macro_8 latency"
for plugin in instrument effect; do
    uri=https://sprung.example/lv2/$plugin
    out=$(lv2info "$uri" 2>&1)
    rc=$?
    [ $rc = 0 ] || { fail "lv2info $uri exited $rc: $out"; continue; }
    echo "$out" | grep -q "Binary:.*sprung.lv2/sprung.so" || fail "$plugin: no binary in the manifest"
    symbols=$COMMON
    [ $plugin = effect ] && symbols="$symbols in_left in_right"
    for symbol in $symbols; do
        echo "$out" | grep -q "Symbol: *$symbol\$" || fail "$plugin: no port '$symbol'"
    done
    count=$(echo "$out" | grep -c "Symbol:")
    want=$(echo $symbols | wc -w)
    [ "$count" = "$want" ] || fail "$plugin: $count ports, expected $want"
    echo "$out" | grep -q "Has latency: *yes, reported by port 14" || fail "$plugin: latency port not recognised"
    echo "$out" | grep -q "Designation: *http://lv2plug.in/ns/lv2core#enabled" || fail "$plugin: no lv2:enabled port"
    echo "$out" | grep -q "http://lv2plug.in/ns/lv2core#hardRTCapable" || fail "$plugin: not hardRTCapable"
    echo "$out" | grep -q "http://lv2plug.in/ns/ext/worker#interface" || fail "$plugin: no worker interface"
    echo "$out" | grep -q "http://lv2plug.in/ns/ext/state#interface" || fail "$plugin: no state interface"
    for preset in Marimba Kalimba Bells; do
        echo "$out" | grep -q "^[[:space:]]*$preset\$" || fail "$plugin: preset '$preset' not listed"
    done
    echo "lv2info $uri: $count ports, presets listed"
done
if command -v lv2_validate >/dev/null && command -v sord_validate >/dev/null; then
    out=$(lv2_validate "$BUNDLE"/manifest.ttl "$BUNDLE"/sprung.ttl "$BUNDLE"/presets/*.ttl 2>&1)
    rc=$?
    summary=$(echo "$out" | grep "^Found .* errors")
    echo "lv2_validate: $summary"
    if [ $rc != 0 ] || ! echo "$summary" | grep -q "^Found 0 errors"; then
        fail "lv2_validate: $(echo "$out" | grep -v '^Skipping' | tail -20)"
    fi
else
    echo "note: lv2_validate needs sord_validate (Debian package sordi): Turtle not validated"
fi
[ "$failures" = 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
