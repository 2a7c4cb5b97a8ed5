#!/usr/bin/env bash
# The one sanitized build that .ci/sanitizers.sh and .ci/fuzz.sh share: clang, ASan + UBSan and libFuzzer's
# coverage instrumentation on everything (DTSIM_FUZZ=ON; CUDA off), line tables for the reports' stack
# traces. One build, not a GCC ASan build and a clang fuzz build: compiling the project sanitized is most
# of CI's time (docs/design-notes.md, "CI budget"), and the coverage hooks change no behaviour.
#
#   .ci/sanitized_build.sh TARGET...    configures (once) and builds these targets; prints the build folder
#
# The folder is $DTSIM_SANITIZED_BUILD_DIR (default build-sanitized). Installs clang and its runtimes when
# missing (root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${DTSIM_SANITIZED_BUILD_DIR:-build-sanitized}"

if ! command -v clang++ >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "ok installed"; then
  as_root=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "sanitized build: need root (or sudo) to install clang libclang-rt-14-dev" >&2; exit 1; }
    as_root=(sudo)
  fi
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi

CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" -DDTSIM_CUDA=OFF -DDTSIM_FUZZ=ON \
  -DDTSIM_NATIVE=OFF -DDTSIM_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "$@" >&2
echo "$build"
