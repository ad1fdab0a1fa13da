#!/bin/bash
# The checks that need hardware the CI machine lacks (a CUDA GPU, an OpenCL
# GPU, a CPU with AVX-512), run on an existing build, every log and JSON
# result left in one folder. docs/gpu.md, docs/keeper.md and
# docs/benchmarks.md say what to record from them.
#
# usage: scripts/check-hardware.sh [--build DIR] [--out DIR] [--jobs N] [PART...]
#   DIR defaults: build/, and BUILD/hardware-check for the results
#   PART: machine (what the machine has); tests (ctest: the GPU, keeper
#   and simd tests; on an AVX-512 CPU the simd tests run its kernels
#   natively); bench-simd (the simd backend's best two instruction sets
#   against the reference, on the networks and bench/); bench-gpu (each
#   CUDA and OpenCL GPU alone, then against the reference on every model
#   and preset, and the keeper's latency on it); bench (both benches).
#   Default: all of them.
#
# A part that fails is reported and the next one still runs; the exit
# status is that of the last failure (0 when all passed). Tests that need
# a device the machine lacks skip as they do in CI.
set -u

usage_error() {
    echo "check-hardware: $*; usage: scripts/check-hardware.sh [--build DIR] [--out DIR]" \
        "[--jobs N] [machine|tests|bench-simd|bench-gpu|bench...]" >&2
    exit 2
}

here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build"
out=""
jobs=4
parts=()
while [ $# -gt 0 ]; do
    case "$1" in
    --build | --out | --jobs) [ $# -ge 2 ] || usage_error "$1 needs a value" ;;
    esac
    case "$1" in
    --build) build=$(cd "$2" 2>/dev/null && pwd) || usage_error "--build: no folder '$2'"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --jobs)
        [[ "$2" =~ ^[1-9][0-9]*$ ]] || usage_error "--jobs: '$2' is not a positive number"
        jobs="$2"
        shift 2
        ;;
    machine | tests | bench-simd | bench-gpu) parts+=("$1"); shift ;;
    bench) parts+=(bench-simd bench-gpu); shift ;;
    *) usage_error "unknown argument '$1'" ;;
    esac
done
[ ${#parts[@]} -gt 0 ] || parts=(machine tests bench-simd bench-gpu)
sprung="$build/apps/sprung/sprung"
if [ ! -x "$sprung" ]; then
    echo "check-hardware: no build at $build (missing $sprung); build first (make build)" >&2
    exit 2
fi
out=${out:-$build/hardware-check}
mkdir -p "$out" || exit 2
status=0

# step NAME COMMAND...: runs the command, its output to $out/NAME.log.
step() {
    local name=$1
    shift
    echo "== $name: $*"
    "$@" >"$out/$name.log" 2>&1
    local rc=$?
    echo "   exit $rc ($out/$name.log)"
    [ $rc -eq 0 ] || status=$rc
}

has_avx512() { grep -q -w avx512f /proc/cpuinfo; }
# The devices `sprung backends` lists for backend $1 that are GPUs.
gpu_devices() {
    "$sprung" backends 2>/dev/null | awk -v b="$1" '$1 ~ "^" b ":[0-9]+$" && !/\(CPU\)/ {print $1}'
}

machine() {
    {
        echo "date: $(date -u +%FT%TZ)"
        echo "commit: $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        grep -m1 'model name' /proc/cpuinfo
        echo "cores: $(nproc)"
        echo "avx512: $(grep -o -w 'avx512[a-z0-9_]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
        command -v nvidia-smi >/dev/null && nvidia-smi -L
        "$sprung" backends
    } >"$out/machine.txt" 2>&1
    cat "$out/machine.txt"
}

# Not the OpenCL C syntax checks nor the keeper's model check: they need
# clang-19 and spin, not hardware, and CI runs them.
tests() {
    step ctest ctest --test-dir "$build" -R 'cuda|opencl|gpu|keeper|simd' \
        -E 'kernel_opencl|keeper_model' -j "$jobs" --output-on-failure --timeout 600
    grep -E 'tests passed|Not Run|Skipped|Failed' "$out/ctest.log" | tail -20
}

bench_simd() {
    # simd:0 is the best instruction set here (AVX-512 on such a CPU), simd:1 the next;
    # the networks give the cost growth, bench/ the targets.
    step bench-simd "$sprung" bench --backend simd:0,simd:1,cpu --groups synthetic,bench \
        --no-voices --json "$out/bench-simd.json"
    has_avx512 || echo "   (no AVX-512 on this CPU: simd:0 is not the AVX-512 kernels)"
}

bench_gpu() {
    local device
    [ -n "$(gpu_devices cuda)$(gpu_devices opencl)" ] || echo "   (no CUDA or OpenCL GPU here)"
    for device in $(gpu_devices cuda) $(gpu_devices opencl); do
        local name=${device/:/-} # file names without ':' (cuda:0 -> cuda-0)
        step "bench-$name" "$sprung" bench --backend "$device" --json "$out/bench-$name.json"
        step "bench-$name-cpu" "$sprung" bench --backend "$device,cpu" --no-voices \
            --json "$out/bench-$name-cpu.json"
        step "keeper-latency-$name" "$build/tests/keeper/keeper_latency" \
            --preset "$here/presets/bells.json" --backend "$device" --work "${device%%:*}" \
            --blocks 10000 --frames 128 --json "$out/keeper-latency-$name.json"
    done
}

for part in "${parts[@]}"; do
    "${part//-/_}"
done
exit $status
