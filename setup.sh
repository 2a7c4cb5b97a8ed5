#!/usr/bin/env bash
# dtsim set-up: installs what a fresh Debian 12 machine lacks, builds, and then
#   ./setup.sh           runs scenarios/quickstart.yaml and says where the results are
#   ./setup.sh test      builds and runs the whole test suite (ctest)
#   ./setup.sh build     only installs and builds
# Works as root or through sudo, and is safe to run again (nothing is redone that is already done).
set -euo pipefail
cd "$(dirname "$0")"

action="${1:-quickstart}"
build_dir="${DTSIM_BUILD_DIR:-build}"
packages=(cmake g++ make pkg-config ccache libsimgrid-dev libeigen3-dev libyaml-cpp-dev libcli11-dev libfmt-dev
          doctest-dev zlib1g-dev libssl-dev dataset-fashion-mnist python3 python3-pandas python3-matplotlib)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    as_root=()
  elif command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release ${DTSIM_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$jobs"

case "$action" in
  quickstart)
    "$build_dir/dtsim" run scenarios/quickstart.yaml --force  # --force: a second set-up replaces the first run
    ;;
  test)
    ctest --test-dir "$build_dir" --output-on-failure -j"$jobs"
    ;;
  build) ;;
  *)
    echo "usage: $0 [quickstart|test|build]" >&2
    exit 2
    ;;
esac
