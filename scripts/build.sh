#!/usr/bin/env bash
# Configures and builds Cadre (Release) into build/; binaries land in build/bin/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="${CADRE_BUILD_JOBS:-$(nproc)}"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" "$@"
cmake --build "$root/build" -j "$jobs"
