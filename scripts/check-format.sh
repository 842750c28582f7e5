#!/usr/bin/env bash
# Fails, naming the files, when clang-format (the root .clang-format) would change
# any tracked C++ or CUDA source. Part of the README's test command, so CI is red
# on a formatting violation. Fix with: clang-format -i FILE...
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -d '' files < <(git ls-files -z -- '*.cc' '*.h' '*.cu' '*.cuh')
if ! out=$(clang-format --dry-run -Werror "${files[@]}" 2>&1); then
  echo "check-format: not formatted (run clang-format -i on them):" >&2
  printf '%s\n' "$out" | grep -E '^[^ ]+:[0-9]+:[0-9]+: error:' | cut -d: -f1 | sort -u |
    sed 's/^/  /' >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
