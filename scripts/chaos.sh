#!/usr/bin/env bash
# Chaos test of a local cluster: jobs and trainjobs under random agent and
# coordinator kills, freezes and restarts, then the invariants (scripts/chaos.py).
#   scripts/chaos.sh [--minutes N] [--seed S] [--dir DIR] ...
# The last line is a JSON summary; exit 0 means no invariant was violated.
# Needs root (it reads replicas' /proc entries) and a build (scripts/build.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec /usr/bin/python3 "$here/chaos.py" --cadre "${CADRE_BIN:-$here/../build/bin}/cadre" "$@"
