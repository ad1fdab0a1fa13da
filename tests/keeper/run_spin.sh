#!/usr/bin/env bash
# Model-checks tests/keeper/keeper.pml with spin. spin's pan exits 0 even
# when it finds an error, so this reads its output.
#   run_spin.sh SPIN CC MODEL WORKDIR                 must verify: "errors: 0", full search
#   run_spin.sh SPIN CC MODEL WORKDIR SABOTAGE TEXT   -DSABOTAGE_<SABOTAGE> must report
#                                                     an assertion violation containing TEXT
set -u
spin=$1 cc=$2 model=$3 work=$4 sabotage=${5:-} expect=${6:-}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
defines=()
[ -n "$sabotage" ] && defines=("-DSABOTAGE_$sabotage")
"$spin" -a "${defines[@]}" "$model" > spin.log 2>&1 || { cat spin.log; echo "FAIL: spin -a"; exit 1; }
"$cc" -O2 -w -DSAFETY -o pan pan.c > cc.log 2>&1 || { cat cc.log; echo "FAIL: cc pan.c"; exit 1; }
if [ -z "$sabotage" ]; then
    ./pan -m300000 > pan.log 2>&1
    cat pan.log
    grep -q "errors: 0" pan.log || { echo "FAIL: pan found errors in $model"; exit 1; }
    grep -q "Search not completed" pan.log && { echo "FAIL: search not completed (raise -m)"; exit 1; }
    grep -q "assertion violated" pan.log && { echo "FAIL: assertion violated"; exit 1; }
    echo "PASS: $(grep -E 'states, stored' pan.log | tr -s ' '), errors: 0"
    exit 0
fi
# pan stops at the first violation (depth-first, deterministic): it must be
# the one this sabotage is about.
./pan -m300000 > pan.log 2>&1
grep -E "errors:" pan.log
grep -E "assertion violated" pan.log | sed 's/ (at depth.*//; s/^pan:[0-9]*: //' | sort -u | head -5
grep -q "errors: 0" pan.log && { echo "FAIL: sabotage $sabotage went unnoticed (errors: 0)"; exit 1; }
grep -F "assertion violated" pan.log | grep -qF -- "$expect" ||
    { echo "FAIL: sabotage $sabotage found errors, but not the expected violation: $expect"; exit 1; }
echo "PASS: sabotage $sabotage caught: assertion violated ($expect...)"
exit 0
