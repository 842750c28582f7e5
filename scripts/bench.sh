#!/usr/bin/env bash
# Benchmarks against peers. Usage: scripts/bench.sh <benchmark> [--quick]
#   allreduce  Cadre's ring vs MPI_Allreduce (OpenMPI), 2 and 4 ranks, 4 KiB..64 MiB
#   training   cadre-train vs the same model in PyTorch, 1 and 2 threads
#   scheduler  a real coordinator: 1,000 simulated agents, 10,000 Jobs; plus a real
#              local job's submit-to-Running ($CADRE_BIN_DIR overrides $build/bin)
# Each prints JSON rows and, as its last line, a JSON summary. --quick finishes in
# under two minutes. Builds what it needs into $CADRE_BUILD_DIR (default build/).
# To add a benchmark: write bench_<name>() below and add it to the case at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${CADRE_BUILD_DIR:-$root/build}"
python=/usr/bin/python3

ensure_built() {
  local missing=()
  for t in "$@"; do [ -x "$build/bin/$t" ] || missing+=("$t"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    [ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >&2
    cmake --build "$build" -j "${CADRE_BUILD_JOBS:-2}" --target "${missing[@]}" >&2
  fi
}

machine_json() {
  $python - <<'PY'
import json, os, platform
info = open("/proc/cpuinfo").read().splitlines()
cpu = next((l.split(":", 1)[1].strip() for l in info if l.startswith("model name")), "?")
flags = next((l.split(":", 1)[1].split() for l in info if l.startswith("flags")), [])
# OPENBLAS_CORETYPE, when the environment sets it, decides which GEMM kernels
# OpenBLAS runs (and so the speed of dense layers and im2col convolutions).
print(json.dumps({"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
                  "avx512f": "avx512f" in flags,
                  "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "auto")}))
PY
}

bench_allreduce() {
  local quick=()
  [ "${1:-}" = "--quick" ] && quick=(--quick)
  ensure_built cadre_allreduce_bench
  local rows
  rows="$(mktemp)"
  trap 'rm -f "$rows"' RETURN
  for n in 2 4; do
    # As root, OpenMPI needs --allow-run-as-root; 4 ranks may exceed the cores.
    mpirun --allow-run-as-root --oversubscribe -np "$n" \
      "$build/bin/cadre_allreduce_bench" "${quick[@]}" | tee -a "$rows"
  done
  $python - "$rows" "$(machine_json)" "${quick[*]:-}" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
big = [r for r in rows if r["bytes"] >= 1 << 20]
def ratios(n):
    return [r["ring_busbw_gbs"] / r["mpi_busbw_gbs"] for r in big if r["ranks"] == n]
small2 = [r["ring_us"] / r["mpi_us"] for r in rows if r["ranks"] == 2 and r["bytes"] < 1 << 20]
print(json.dumps({
    "benchmark": "allreduce", "quick": sys.argv[3] == "--quick", "machine": json.loads(sys.argv[2]),
    "rows": rows,
    "min_ring_over_mpi_busbw_2ranks_from_1MiB": round(min(ratios(2)), 3),
    "min_ring_over_mpi_busbw_4ranks_from_1MiB": round(min(ratios(4)), 3),
    "max_ring_over_mpi_latency_2ranks_below_1MiB": round(max(small2), 3),
}))
PY
}

bench_training() {
  local quick=0 epochs=2 limit=0
  if [ "${1:-}" = "--quick" ]; then quick=1 epochs=1 limit=12000; fi
  ensure_built cadre-train
  local out
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' RETURN
  for threads in 1 2; do
    local common=(--model cnn --epochs "$epochs" --batch-size 64 --lr 0.001 --optimizer adam
      --threads "$threads" --seed 42 --train-limit "$limit")
    echo "cadre-train threads=$threads" >&2
    "$build/bin/cadre-train" "${common[@]}" | tee "$out/cadre-$threads.log" >&2
    echo "torch threads=$threads" >&2
    OMP_NUM_THREADS="$threads" $python "$root/bench/torch_train.py" "${common[@]}" \
      | tee "$out/torch-$threads.log" >&2
  done
  $python - "$out" "$(machine_json)" "$quick" "$epochs" "$limit" <<'PY'
import json, re, sys
out, machine, quick, epochs, limit = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4]), int(sys.argv[5])
def epochs_of(path):
    pat = re.compile(r"epoch=(\d+) loss=([0-9.]+) accuracy=([0-9.]+) images_per_sec=([0-9.]+)")
    return [dict(zip(("epoch", "loss", "accuracy", "images_per_sec"), map(float, m.groups())))
            for m in map(pat.match, open(path)) if m]
rows = []
for t in (1, 2):
    c, p = epochs_of(f"{out}/cadre-{t}.log"), epochs_of(f"{out}/torch-{t}.log")
    row = {"model": "cnn", "threads": t, "batch_size": 64, "epochs": epochs,
           "train_images": limit or 60000,
           "cadre_images_per_sec": c[0]["images_per_sec"], "torch_images_per_sec": p[0]["images_per_sec"],
           "cadre_accuracy": c[-1]["accuracy"], "torch_accuracy": p[-1]["accuracy"]}
    row["speedup"] = round(row["cadre_images_per_sec"] / row["torch_images_per_sec"], 3)
    print(json.dumps(row))
    rows.append(row)
print(json.dumps({"benchmark": "training", "quick": quick, "machine": machine, "rows": rows,
                  "min_speedup": min(r["speedup"] for r in rows)}))
PY
}

bench_scheduler() {
  # A real coordinator (CURVE on) with simulated agents speaking the real protocol,
  # then a real `cadre local up --agents 2` cluster. The binary kills what it starts.
  # Extra flags pass through (--agents, --jobs, --window, --skip-local, --keep, ...).
  local bin="${CADRE_BIN_DIR:-$build/bin}"
  if [ -z "${CADRE_BIN_DIR:-}" ]; then
    ensure_built scheduler_bench cadre-coordinator cadre-agent cadre
  fi
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  "$bin/scheduler_bench" --bin-dir "$bin" "$@"
}

case "${1:-}" in
  allreduce) shift; bench_allreduce "$@" ;;
  training) shift; bench_training "$@" ;;
  scheduler) shift; bench_scheduler "$@" ;;
  *) echo "usage: $0 allreduce|training|scheduler [--quick]" >&2; exit 2 ;;
esac
