#!/usr/bin/env bash
# Installs the Debian packages Sprung needs to build, test and render.
# Idempotent: only missing packages are installed, and apt is not touched at
# all when everything is present. Needs root (or sudo) only when installing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libjansson-dev      # preset JSON with line:column errors
  libsndfile1-dev     # WAV output
  libsmf-dev          # MIDI files and tempo maps
  libcairo2-dev       # spectrograms
  libfftw3-dev        # spectrogram STFT and spectral analysis in tests
  liblapacke-dev      # dense eigendecomposition for mode analysis (sprung info)
  libglib2.0-dev      # libsmf's pkg-config depends on it
  clang-19 libclang-rt-19-dev  # RealtimeSanitizer runtime and libFuzzer
  jackd2 libjack-jackd2-dev    # `sprung play`; tests: jackd -d dummy, the sender and recorder
  ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo  # OpenCL backend, on the CPU via PoCL in CI
  spin                # model checking of the GPU clock keeper's protocol
  lv2-dev liblilv-dev lilv-utils jalv sordi  # LV2 plugins, their test hosts, Turtle validation
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# jackd2 asks whether to enable real-time scheduling for the audio group;
# answer before it asks, so the install never waits for a terminal.
echo 'jackd2 jackd/tweak_rt_limits boolean false' | $sudo debconf-set-selections
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
