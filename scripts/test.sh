#!/usr/bin/env bash
# Set-up, build and test on a fresh machine: installs what is missing, checks the
# formatting, builds with warnings as errors, runs ctest. Default run excludes tests
# labelled gpu, slow and browser; pass --all to include slow and browser ones (and
# install Chromium for them), or --labels REGEX to choose. Unit tests and fuzzers
# run CADRE_TEST_JOBS at a time (default: one per core); tests that start a cluster
# are marked RUN_SERIAL and run alone.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exclude='gpu|slow|browser'
setup=()
case "${1:-}" in
  --all) exclude='gpu'; setup=(--browser); shift ;;
  --labels)
    include="$2"
    case "$include" in *browser*) setup=(--browser) ;; esac
    shift 2
    ;;
esac
"$root/scripts/setup-deps.sh" "${setup[@]}"
"$root/scripts/check-format.sh"
"$root/scripts/build.sh" -DCADRE_WERROR=ON
cd "$root/build"
jobs="${CADRE_TEST_JOBS:-$(nproc)}"
if [ -n "${include:-}" ]; then
  ctest --output-on-failure -j "$jobs" -L "$include" "$@"
else
  ctest --output-on-failure -j "$jobs" -LE "$exclude" "$@"
fi
