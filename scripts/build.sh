#!/usr/bin/env bash
# Configures and builds Cadre (Release) into build/; binaries land in build/bin/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="${CADRE_BUILD_JOBS:-$(nproc)}"
# Ninja starts a target's compiles as soon as what they include exists, where
# Make waits for every target it links against: a fresh build on two cores is
# minutes shorter. A build folder keeps the generator it was made with.
generator=()
if [ ! -f "$root/build/CMakeCache.txt" ] && command -v ninja >/dev/null; then
  generator=(-G Ninja)
fi
cmake -S "$root" -B "$root/build" "${generator[@]}" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" "$@"
cmake --build "$root/build" -j "$jobs"
