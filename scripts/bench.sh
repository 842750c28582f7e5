#!/usr/bin/env bash
# Benchmarks against peers. Usage: scripts/bench.sh <benchmark> [--quick]
#   allreduce  Cadre's ring vs MPI_Allreduce (OpenMPI), 2 and 4 ranks, 4 KiB..64 MiB
#   training   cadre-train vs the same model in PyTorch, 1 and 2 threads
#   scheduler  a real coordinator: 1,000 simulated agents, 10,000 Jobs; plus a real
#              local job's submit-to-Running ($CADRE_BIN_DIR overrides $build/bin)
#   serving    cadre-serve (mlp, cnn; batching off/on; HTTP JSON, HTTP binary, gRPC)
#              vs the model in process, the pytorch backend and a FastAPI+PyTorch server
#   tuning     Cadre experiments (random, ASHA with resume, TPE+ASHA) vs Optuna (random,
#              TPE + SuccessiveHalvingPruner) over the same cadre-train trials; further
#              flags go to bench/tuning_bench.py (--lr-range, --target, --budget)
#   ingress    one InferenceService replica, loaded directly and through cadre-ingress:
#              throughput at concurrency 64 and the p50 the ingress adds
#   pipelines  a KFP-compiled ParallelFor of 200 steps (--quick: 50): run time, a step's
#              trigger-to-running p50, a fully cached re-run, and the same steps as
#              plain Jobs
#   dashboard  the HTTP API and the web dashboard with 10,000 jobs and a 200-trial
#              experiment (--quick: 2,000 and 50): a page's p50 and p95, the pages drawn
#              in headless Chromium; vs the whole list as the CLI reads it
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

# Writes a model folder: DIR/NAME/1/FILE and a config.pbtxt with the given body.
serving_model() {
  local repo=$1 name=$2 file=$3 config=$4
  mkdir -p "$repo/$name/1"
  cp "$file" "$repo/$name/1/model.${file##*.}"
  printf '%s\n' "$config" >"$repo/$name/config.pbtxt"
}

bench_serving() {
  local quick=0
  [ "${1:-}" = "--quick" ] && quick=1
  ensure_built cadre-serve cadre-train serving_loadgen
  local work pids=()
  work="$(mktemp -d)"
  trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' RETURN
  local limit=2000 levels="1,2,4,8,16,32,64,128" window=1000
  [ "$quick" = 1 ] && levels="1,16,64" && window=500
  # Trained briefly: throughput does not depend on the weights.
  for m in mlp cnn; do
    "$build/bin/cadre-train" --model "$m" --epochs 1 --train-limit "$limit" \
      --export "$work/$m.cadre" >&2
    $python "$root/bench/serving_peers.py" torchscript "$m" "$work/$m.pt"
  done
  local repo="$work/repo" io
  io='input [{name: "input" data_type: TYPE_FP32 dims: [1, 28, 28]}]
output [{name: "logits" data_type: TYPE_FP32 dims: [10]}]'
  local group='instance_group [{count: 2 kind: KIND_CPU}]'
  for m in mlp cnn; do
    serving_model "$repo" "$m" "$work/$m.cadre" "backend: \"cadre\" max_batch_size: 64
$io
dynamic_batching {}
$group"
    serving_model "$repo" "${m}_nobatch" "$work/$m.cadre" "backend: \"cadre\" max_batch_size: 64
$io
$group"
  done
  local tio='input [{name: "INPUT__0" data_type: TYPE_FP32 dims: [1, 28, 28]}]
output [{name: "OUTPUT__0" data_type: TYPE_FP32 dims: [10]}]'
  serving_model "$repo" cnn_torch "$work/cnn.pt" "platform: \"pytorch_libtorch\" max_batch_size: 64
$tio
dynamic_batching {}
instance_group [{count: 1 kind: KIND_CPU}]"
  serving_model "$repo" cnn_torch_nobatch "$work/cnn.pt" "platform: \"pytorch_libtorch\"
max_batch_size: 64
$tio
instance_group [{count: 1 kind: KIND_CPU}]"

  "$build/bin/cadre-serve" --model-repository "$repo" --http-port 0 --grpc-port 0 \
    --metrics-port -1 --cpu-threads-per-instance 1 --ports-file "$work/ports.json" \
    --log-level warn >&2 &
  pids+=($!)
  $python "$root/bench/serving_peers.py" fastapi cnn "$work/fastapi.port" >&2 &
  pids+=($!)
  for _ in $(seq 200); do [ -s "$work/ports.json" ] && [ -s "$work/fastapi.port" ] && break; sleep 0.1; done
  local http grpc fastapi
  http=$($python -c "import json,sys; print(json.load(open(sys.argv[1]))['http'])" "$work/ports.json")
  grpc=$($python -c "import json,sys; print(json.load(open(sys.argv[1]))['grpc'])" "$work/ports.json")
  fastapi=$(cat "$work/fastapi.port")
  local rows="$work/rows.jsonl" lg="$build/bin/serving_loadgen"
  # run MODEL SERVER BATCHING PROTOCOL PORT [loadgen flags...]: rows tagged for the summary
  run() {
    local model=$1 server=$2 batching=$3 protocol=$4 port=$5
    shift 5
    "$lg" --port "$port" --protocol "$protocol" --window-ms "$window" "$@" |
      $python -c "import json,sys
for l in sys.stdin:
    r = json.loads(l); r.update(model=sys.argv[1], server=sys.argv[2], batching=sys.argv[3] == 'on')
    print(json.dumps(r))" "$model" "$server" "$batching" | tee -a "$rows" >&2
  }
  for proto in http-json http-binary grpc; do
    local port=$http flags=()
    # gRPC clients use the asynchronous API (perf_analyzer --async): one thread
    # keeps all calls outstanding, leaving the shared cores to the server.
    [ "$proto" = grpc ] && port=$grpc && flags=(--grpc-async)
    run cnn cadre-serve on "$proto" "$port" --model cnn --concurrency "$levels" "${flags[@]}"
    run cnn cadre-serve off "$proto" "$port" --model cnn_nobatch --concurrency "$levels" \
      "${flags[@]}"
    run mlp cadre-serve on "$proto" "$port" --model mlp --concurrency 1,64 "${flags[@]}"
    run mlp cadre-serve off "$proto" "$port" --model mlp_nobatch --concurrency 64 "${flags[@]}"
  done
  run cnn cadre-serve-pytorch on http-binary "$http" --model cnn_torch --input INPUT__0 \
    --output OUTPUT__0 --concurrency 1,64
  run cnn cadre-serve-pytorch off http-binary "$http" --model cnn_torch_nobatch --input INPUT__0 \
    --output OUTPUT__0 --concurrency 1,64
  run cnn cadre-serve-pytorch on http-json "$http" --model cnn_torch --input INPUT__0 \
    --output OUTPUT__0 --concurrency 1,64
  run cnn fastapi off http-json "$fastapi" --model cnn --concurrency 1,64
  # One open-loop point: gRPC at half the batched closed-loop rate at 64 clients.
  local target
  target=$($python -c "import json,sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(int(next(r['rps'] for r in rows if r['model'] == 'cnn' and r['protocol'] == 'grpc' and r['batching'] and r.get('concurrency') == 64) / 2))" "$rows")
  run cnn cadre-serve on grpc "$grpc" --model cnn --concurrency 1 --open-loop-rps "$target" \
    --open-loop-seconds 5 --max-windows 1
  # The model's own limit on this machine: 2 instances running full batches.
  "$lg" --in-process-limit "$work/cnn.cadre" --limit-instances 2 --limit-batch 64 \
    --limit-seconds 3 >"$work/limit.json"
  # ... and at batch 1: the most batching could gain inside the model on this CPU.
  "$lg" --in-process-limit "$work/cnn.cadre" --limit-instances 2 --limit-batch 1 \
    --limit-seconds 3 >"$work/limit1.json"
  # A cross-check with a client nobody here wrote: wrk, HTTP JSON at 64 connections.
  local wrk_rps=null
  if command -v wrk >/dev/null; then
    $python - "$work/body.json" <<'PY'
import json, random, sys
random.seed(42)
json.dump({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 1, 28, 28],
                       "data": [float(random.randint(0, 255)) for _ in range(784)]}],
           "outputs": [{"name": "logits"}]}, open(sys.argv[1], "w"))
PY
    cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/body.json", "r"); wrk.body = f:read("*a"); f:close()
LUA
    wrk_rps=$(wrk -t2 -c64 -d5s -s "$work/post.lua" "http://127.0.0.1:$http/v2/models/cnn/infer" |
      awk '/Requests\/sec/ {print $2}')
  fi
  $python - "$rows" "$work/limit.json" "$(machine_json)" "$quick" "$wrk_rps" \
    "$work/limit1.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
limit = json.load(open(sys.argv[2]))["in_process_rps"]
limit1 = json.load(open(sys.argv[6]))["in_process_rps"]
def row(model, server, protocol, batching, c):
    return next(r for r in rows if r["model"] == model and r["server"] == server and
                r["protocol"] == protocol and r["batching"] == batching and
                r.get("concurrency") == c and "open_loop_target_rps" not in r)
on = row("cnn", "cadre-serve", "grpc", True, 64)
off = row("cnn", "cadre-serve", "grpc", False, 64)
fa = row("cnn", "fastapi", "http-json", False, 64)
json_on = row("cnn", "cadre-serve", "http-json", True, 64)
binary_on = row("cnn", "cadre-serve", "http-binary", True, 64)
torch_b = row("cnn", "cadre-serve-pytorch", "http-json", True, 64)
torch_1 = row("cnn", "cadre-serve-pytorch", "http-json", True, 1)
fa_1 = row("cnn", "fastapi", "http-json", False, 1)
mlp1 = [row("mlp", "cadre-serve", p, True, 1) for p in ("http-binary", "grpc")]
wrk = float(sys.argv[5]) if sys.argv[5] not in ("", "null") else None
print(json.dumps({
    "benchmark": "serving", "quick": sys.argv[4] == "1", "machine": json.loads(sys.argv[3]),
    "rows": rows,
    "cnn_in_process_rps": round(limit, 1),
    "cnn_in_process_batch1_rps": round(limit1, 1),
    "cnn_in_process_batch64_over_batch1": round(limit / limit1, 2),
    "cnn_batching_speedup_c64": round(on["rps"] / off["rps"], 2),
    "cnn_grpc_c64_fraction_of_limit": round(on["rps"] / limit, 3),
    "cnn_http_binary_c64_fraction_of_limit": round(binary_on["rps"] / limit, 3),
    "cnn_vs_fastapi_c64": round(json_on["rps"] / fa["rps"], 2),
    "cnn_p99_ms_c64_cadre_json_vs_fastapi": [json_on["p99_ms"], fa["p99_ms"]],
    "pytorch_backend_vs_fastapi_c1_rps": round(torch_1["rps"] / fa_1["rps"], 2),
    "pytorch_backend_vs_fastapi_c64_rps": round(torch_b["rps"] / fa["rps"], 2),
    "mlp_c1_p50_us": round(min(r["p50_ms"] for r in mlp1) * 1000, 1),
    "mlp_c1_p50_us_by_protocol": {r["protocol"]: round(r["p50_ms"] * 1000, 1) for r in mlp1},
    "wrk_cnn_http_json_c64_rps": wrk,
    "loadgen_cnn_http_json_c64_rps": round(json_on["rps"], 1),
}))
PY
}

# Cadre's experiments (random, ASHA, TPE+ASHA) vs Optuna (random, TPE+SHA), the
# same cadre-train trials on a local cluster of one agent, 2 at a time.
bench_tuning() {
  local args=(--seeds 3 --budget 54)
  [ "${1:-}" = "--quick" ] && { args=(--seeds 1 --budget 27); shift; }
  args+=("$@")  # e.g. --lr-range 0.0001,1 --target 0.85
  ensure_built cadre cadre-coordinator cadre-agent cadre-train
  $python -c "import optuna" 2>/dev/null || {
    echo "bench tuning needs Optuna: apt-get install python3-optuna" >&2
    exit 1
  }
  local dir
  dir="$(mktemp -d /tmp/cadre-tuning-bench.XXXXXX)"
  chmod 755 "$dir"  # replicas run as cadre-run and must reach their folders
  # shellcheck disable=SC2064
  trap "'$build/bin/cadre' local down --dir '$dir' >/dev/null 2>&1; rm -rf '$dir'" RETURN
  "$build/bin/cadre" local up --dir "$dir" --agents 1 >&2
  PATH="$build/bin:$PATH" $python "$root/bench/tuning_bench.py" --cadre "$build/bin/cadre" \
    --config "$dir/config" --cadre-train "$build/bin/cadre-train" --machine "$(machine_json)" \
    --plot "${CADRE_BENCH_PLOT:-$root/bench/tuning.svg}" "${args[@]}"
}

bench_ingress() {
  # One InferenceService replica (the mlp) on a real local cluster, loaded by the
  # same closed-loop generator directly and through cadre-ingress, alternately:
  # what the ingress costs (throughput at concurrency 64, p50 added at 1 and 64).
  local quick=0
  [ "${1:-}" = "--quick" ] && quick=1
  ensure_built cadre cadre-coordinator cadre-agent cadre-ingress cadre-serve cadre-train \
    serving_loadgen
  local dir cadre="$build/bin/cadre"
  dir="$(mktemp -d /tmp/cadre-ingress-bench.XXXXXX)"
  chmod 755 "$dir"  # replicas run as cadre-run and must reach the model
  # shellcheck disable=SC2064
  trap "'$cadre' local down --dir '$dir' >/dev/null 2>&1; rm -rf '$dir'" RETURN
  "$cadre" local up --dir "$dir" --agents 1 >&2
  "$build/bin/cadre-train" --model mlp --epochs 1 --train-limit 6000 --threads 2 \
    --export "$dir/model.cadre" >&2
  chmod 644 "$dir/model.cadre"
  printf '%s\n' "apiVersion: cadre/v1" "kind: InferenceService" "metadata: {name: mlp}" \
    "spec:" "  predictor:" \
    "    model: {modelFormat: {name: cadre}, storageUri: \"file://$dir/model.cadre\"}" \
    "    resources: {cpu: 1, memory: 512Mi}" >"$dir/isvc.yaml"
  local applied_ms ready_ms
  applied_ms=$(date +%s%3N)
  "$cadre" --config "$dir/config" apply -f "$dir/isvc.yaml" >&2
  "$cadre" --config "$dir/config" wait isvc/mlp --for Ready --timeout 120 >&2
  ready_ms=$(date +%s%3N)
  local json replica_port ingress_url ingress_port token replica_token
  json=$("$cadre" --config "$dir/config" get isvc mlp -o json)
  replica_port=$($python -c "import json,sys; print(json.loads(sys.argv[1])['replicas'][0]['port'])" "$json")
  ingress_url=$(grep '^ingress:' "$dir/config" | cut -d' ' -f2)
  ingress_port=${ingress_url##*:}
  token=$(cat "$dir/keys/token")
  # The replica's own token, as the ingress gets it (the bench reads the store; users never do).
  replica_token=$($python -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(
      'select token from services where name=?', ('mlp',)).fetchone()[0])" "$dir/state/cadre.db")
  local window=1000 rounds=2 rows="$dir/rows.jsonl"
  [ "$quick" = 1 ] && window=400 && rounds=1
  # Rounds of the load generator directly and through the ingress, alternately;
  # $1 is what the rows' targets end with, the rest runs the generator (taskset).
  load_rounds() {
    local suffix=$1 round target port auth
    shift
    for round in $(seq "$rounds"); do
      for target in direct ingress; do
        port=$replica_port auth=$replica_token
        [ "$target" = ingress ] && port=$ingress_port && auth=$token
        "$@" "$build/bin/serving_loadgen" --port "$port" --model mlp --protocol http-json \
          --output label --concurrency 1,64 --window-ms "$window" \
          --header "Authorization: Bearer $auth" |
          $python -c "import json,sys
for l in sys.stdin:
    r = json.loads(l); r.update(target=sys.argv[1], round=int(sys.argv[2])); print(json.dumps(r))" \
            "$target$suffix" "$round" | tee -a "$rows" >&2
      done
    done
  }
  load_rounds "" env
  # gRPC through the ingress (the replica serves HTTP behind it): the same model
  # and images, a client of the published proto, the user's token as metadata.
  local grpc_port
  grpc_port=$(grep '^ingress_grpc:' "$dir/config" | cut -d: -f3)
  for round in $(seq "$rounds"); do
    "$build/bin/serving_loadgen" --port "$grpc_port" --model mlp --protocol grpc --grpc-async \
      --output label --concurrency 1,64 --window-ms "$window" \
      --header "Authorization: Bearer $token" |
      $python -c "import json,sys
for l in sys.stdin:
    r = json.loads(l); r.update(target='ingress-grpc', round=int(sys.argv[1])); print(json.dumps(r))" \
        "$round" | tee -a "$rows" >&2
  done
  # Again with the ingress on a core of its own, as on a head node apart from the
  # GPU nodes: the replica and the load generator share CPU 0 in both runs and the
  # ingress has CPU 1, so what it costs shows as latency and lost throughput, not as
  # CPU taken from the replica (which the shared-core rows above also count).
  local ingress_pid serve_pid
  ingress_pid=$(cat "$dir/pids/ingress.pid")
  serve_pid=$(ss -Hltnp "sport = :$replica_port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
  if [ "$(nproc)" -ge 2 ] && [ -n "$serve_pid" ]; then
    taskset -a -p -c 1 "$ingress_pid" >/dev/null
    taskset -a -p -c 0 "$serve_pid" >/dev/null
    load_rounds -own-core taskset -c 0
    # Once more through a second ingress like the first (its flags, other ports)
    # whose event loops poll 1 ms before they sleep (--idle-poll-us): with a core
    # of its own, it is not woken from sleep for each packet.
    local polling_args=() arg skip=0 polling_pid
    while IFS= read -r -d '' arg; do
      if [ "$skip" = 1 ]; then skip=0 && continue; fi
      case "$arg" in
        --http-port | --grpc-port | --ports-file) skip=1 && continue ;;
      esac
      polling_args+=("$arg")
    done < <(tail -z -n +2 "/proc/$ingress_pid/cmdline")
    taskset -c 1 "$build/bin/cadre-ingress" "${polling_args[@]}" --http-port 0 --grpc-port -1 \
      --ports-file "$dir/polling.json" --idle-poll-us 1000 --log-level warn 2>"$dir/polling.log" &
    polling_pid=$!
    local waited=0
    until [ -s "$dir/polling.json" ]; do
      sleep 0.1
      waited=$((waited + 1))
      if [ "$waited" -ge 100 ]; then
        echo "bench ingress: the polling ingress never started: $(cat "$dir/polling.log")" >&2
        kill "$polling_pid" 2>/dev/null
        exit 1
      fi
    done
    local first_port=$ingress_port
    ingress_port=$($python -c "import json,sys; print(json.load(open(sys.argv[1]))['http'])" \
      "$dir/polling.json")
    sleep 1  # its first route poll
    load_rounds -own-core-polling taskset -c 0
    ingress_port=$first_port
    kill "$polling_pid" && wait "$polling_pid" || true
    taskset -a -p -c "0-$(($(nproc) - 1))" "$ingress_pid" >/dev/null
    taskset -a -p -c "0-$(($(nproc) - 1))" "$serve_pid" >/dev/null
  fi
  # The autoscaler under a load step (skipped with --quick: it takes two minutes).
  local autoscale="{}"
  if [ "$quick" = 0 ]; then
    # Its CPU back first: 8 replicas of 200m must fit beside nothing else.
    "$cadre" --config "$dir/config" delete isvc/mlp >&2
    printf '%s\n' "apiVersion: cadre/v1" "kind: InferenceService" "metadata: {name: auto}" \
      "spec:" "  predictor:" \
      "    model: {modelFormat: {name: cadre}, storageUri: \"file://$dir/model.cadre\"}" \
      "    minReplicas: 1" "    maxReplicas: 8" "    scaleTarget: 4" \
      "    resources: {cpu: 200m, memory: 256Mi}" >"$dir/auto.yaml"
    "$cadre" --config "$dir/config" apply -f "$dir/auto.yaml" >&2
    "$cadre" --config "$dir/config" wait isvc/auto --for Ready --timeout 120 >&2
    autoscale=$($python "$root/bench/autoscale_bench.py" --cadre "$cadre" --config "$dir/config" \
      --token-file "$dir/keys/token" --plot "${CADRE_BENCH_PLOT:-$root/bench/autoscale.svg}" |
      tail -1)
  fi
  # Scale to zero and back (skipped with --quick: each run idles a stable window,
  # 60 s): a service at minReplicas 0 goes to zero, then one request's whole wait
  # through the ingress is the cold start.
  local cold="[]"
  if [ "$quick" = 0 ]; then
    "$cadre" --config "$dir/config" delete isvc/auto >&2
    printf '%s\n' "apiVersion: cadre/v1" "kind: InferenceService" "metadata: {name: cold}" \
      "spec:" "  predictor:" \
      "    model: {modelFormat: {name: cadre}, storageUri: \"file://$dir/model.cadre\"}" \
      "    minReplicas: 0" "    maxReplicas: 1" "    resources: {cpu: 1, memory: 512Mi}" \
      >"$dir/cold.yaml"
    "$cadre" --config "$dir/config" apply -f "$dir/cold.yaml" >&2
    "$cadre" --config "$dir/config" wait isvc/cold --for Ready --timeout 120 >&2
    $python -c "import json; json.dump({'inputs': [{'name': 'input', 'datatype': 'FP32',
      'shape': [1, 1, 28, 28], 'data': [0.5] * 784}]}, open('$dir/cold.json', 'w'))"
    local runs=()
    for _ in 1 2 3; do
      local waited=0
      until "$cadre" --config "$dir/config" get isvc cold -o json |
        $python -c "import json,sys; sys.exit(0 if not json.load(sys.stdin)['replicas'] else 1)"; do
        sleep 1
        waited=$((waited + 1))
        [ "$waited" -lt 240 ] || { echo "bench ingress: cold never reached zero" >&2; exit 1; }
      done
      local answer
      answer=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 60 \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        --data-binary @"$dir/cold.json" "$ingress_url/v2/models/cold/infer")
      [ "${answer%% *}" = 200 ] || { echo "bench ingress: cold start answered $answer" >&2; exit 1; }
      runs+=("$($python -c "print(round(float('${answer#* }') * 1000))")")
      echo "cold start: ${runs[-1]} ms" >&2
    done
    cold="[$(IFS=,; echo "${runs[*]}")]"
  fi
  $python - "$rows" "$(machine_json)" "$quick" "$((ready_ms - applied_ms))" "$autoscale" \
    "$cold" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cold = json.loads(sys.argv[6])
def best(target, c, key):
    vals = [r[key] for r in rows if r.get("target") == target and r.get("concurrency") == c and key in r]
    return max(vals) if key == "rps" else min(vals)
d64, i64 = best("direct", 64, "rps"), best("ingress", 64, "rps")
def own_core(measure, compare, suffix="-own-core"):
    if not any(r.get("target") == "ingress" + suffix for r in rows):
        return None
    return compare(measure("ingress" + suffix), measure("direct" + suffix))
print(json.dumps({
    "benchmark": "ingress", "quick": sys.argv[3] == "1", "machine": json.loads(sys.argv[2]),
    "direct_c64_rps": round(d64, 1), "ingress_c64_rps": round(i64, 1),
    "ingress_c64_fraction": round(i64 / d64, 3),
    "ingress_grpc_c64_rps": round(best("ingress-grpc", 64, "rps"), 1),
    # The ingress on a core apart from the replica's and the load's (None: fewer than 2 cores).
    "ingress_c64_fraction_own_core": own_core(lambda t: best(t, 64, "rps"), lambda i, d: round(i / d, 3)),
    "ingress_p50_added_us_c1_own_core": own_core(lambda t: best(t, 1, "p50_ms"), lambda i, d: round((i - d) * 1000)),
    # The same with a second ingress whose loops poll before they sleep (--idle-poll-us 1000).
    "ingress_c64_fraction_own_core_polling": own_core(lambda t: best(t, 64, "rps"), lambda i, d: round(i / d, 3), "-own-core-polling"),
    "ingress_p50_added_us_c1_own_core_polling": own_core(lambda t: best(t, 1, "p50_ms"), lambda i, d: round((i - d) * 1000), "-own-core-polling"),
    "ingress_p50_added_us_c1": round((best("ingress", 1, "p50_ms") - best("direct", 1, "p50_ms")) * 1000),
    "ingress_p50_added_us": round((best("ingress", 64, "p50_ms") - best("direct", 64, "p50_ms")) * 1000),
    "apply_to_ready_ms": int(sys.argv[4]),
    "cold_start_ms": statistics.median(cold) if cold else None,  # a request at zero replicas
    "cold_start_runs_ms": cold,
    "autoscale": json.loads(sys.argv[5]),
}))
PY
}

bench_pipelines() {
  local steps=200
  [ "${1:-}" = "--quick" ] && steps=50
  ensure_built cadre cadre-coordinator cadre-agent cadre-ingress
  local dir cadre="$build/bin/cadre"
  dir="$(mktemp -d /tmp/cadre-pipeline-bench.XXXXXX)"
  # shellcheck disable=SC2064
  # EXIT too: a failing step ends the script (errexit), which skips RETURN traps.
  trap "'$cadre' local down --dir '$dir' >/dev/null 2>&1; rm -rf '$dir'" RETURN EXIT
  "$cadre" local up --dir "$dir" --agents 2 >&2
  $python "$root/bench/pipeline_bench.py" --cadre "$cadre" --config "$dir/config" --dir "$dir" \
    --steps "$steps" | tee "$dir/rows.jsonl" >&2
  local summary
  summary=$(tail -1 "$dir/rows.jsonl")
  $python -c "import json,sys; s=json.loads(sys.argv[1]); s['machine']=json.loads(sys.argv[2]); print(json.dumps(s))" \
    "$summary" "$(machine_json)"
}

bench_dashboard() {
  local jobs=10000 trials=200
  [ "${1:-}" = "--quick" ] && jobs=2000 && trials=50
  ensure_built cadre cadre-coordinator cadre-agent cadre-ingress
  [ -f "$build/share/cadre/web/index.html" ] || cmake --build "$build" --target web >&2
  local dir cadre="$build/bin/cadre"
  dir="$(mktemp -d /tmp/cadre-dashboard-bench.XXXXXX)"
  # shellcheck disable=SC2064
  trap "'$cadre' local down --dir '$dir' >/dev/null 2>&1; rm -rf '$dir'" RETURN EXIT
  "$cadre" local up --dir "$dir" --agents 2 >&2
  $python "$root/bench/dashboard_bench.py" --cadre "$cadre" --dir "$dir" --jobs "$jobs" \
    --trials "$trials" | tee "$dir/rows.jsonl" >&2
  local summary
  summary=$(tail -1 "$dir/rows.jsonl")
  $python -c "import json,sys; s=json.loads(sys.argv[1]); s['machine']=json.loads(sys.argv[2]); print(json.dumps(s))" \
    "$summary" "$(machine_json)"
}

case "${1:-}" in
  dashboard) shift; bench_dashboard "$@" ;;
  allreduce) shift; bench_allreduce "$@" ;;
  training) shift; bench_training "$@" ;;
  scheduler) shift; bench_scheduler "$@" ;;
  serving) shift; bench_serving "$@" ;;
  tuning) shift; bench_tuning "$@" ;;
  ingress) shift; bench_ingress "$@" ;;
  pipelines) shift; bench_pipelines "$@" ;;
  *) echo "usage: $0 allreduce|training|scheduler|serving|tuning|ingress|pipelines|dashboard [--quick]" >&2
     exit 2 ;;
esac
