#!/usr/bin/env bash
# Cadre in one command: installs dependencies, builds, starts a local cluster
# (a coordinator and two agents on 127.0.0.1, everything under ./.cadre/) and
# runs example jobs, tunes the model with an ASHA experiment, then serves the
# trained model with cadre-serve and queries it with curl. The cluster is left running for you to explore.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cadre="$root/build/bin/cadre"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# Jobs are immutable: when an example changed since an earlier run left its job in
# this cluster, the old job is deleted and the example applied again.
apply() {
  local out
  printf '$ %s apply -f %s\n' "$cadre" "$1"
  if out="$("$cadre" apply -f "$1" 2>&1)"; then echo "$out"; return; fi
  echo "$out"
  case "$out" in
    *"different spec"*) run "$cadre" delete -f "$1" && run "$cadre" apply -f "$1" ;;
    *) return 1 ;;
  esac
}

step "Dependencies and build (incremental)"
"$root/scripts/setup-deps.sh"
"$root/scripts/build.sh"

step "Local cluster: a coordinator and 2 agents"
run "$cadre" local up --agents 2
run "$cadre" get nodes

step "A one-replica job"
# On a second run the job is already there and `apply` reports it unchanged.
apply examples/hello-job.yaml
run "$cadre" wait job/hello --for Succeeded --timeout 60
run "$cadre" logs job/hello
run "$cadre" get jobs

step "Train Fashion-MNIST (MLP, 5 epochs) as a job"
apply examples/train-fmnist-job.yaml
run "$cadre" logs job/fmnist-mlp -f
run "$cadre" wait job/fmnist-mlp --for Succeeded --timeout 600
run "$cadre" get jobs

step "Tune it: an ASHA experiment over learning rate and batch size (epochs are the budget)"
apply examples/tune-fmnist-asha.yaml
run "$cadre" wait experiment/fmnist-asha --for Succeeded --timeout 900
run "$cadre" describe experiment fmnist-asha
run "$cadre" get trials -l experiment=fmnist-asha

step "Serve the trained model: cadre-serve, queried with curl (Open Inference Protocol)"
models="$root/.cadre/models"
mkdir -p "$models/fmnist/1"
run cp "$root/.cadre/state/checkpoints/default/fmnist-mlp/model.cadre" "$models/fmnist/1/model.cadre"
rm -f "$models/ports.json"
"$root/build/bin/cadre-serve" --model-repository "$models" --http-port 0 --grpc-port 0 \
  --metrics-port 0 --ports-file "$models/ports.json" --log-level warn &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$models/ports.json" ] && break; sleep 0.1; done
port=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['http'])" \
  "$models/ports.json")
run curl -sf "http://127.0.0.1:$port/v2/models/fmnist"
echo
# The first test image (an ankle boot) as a V2 request: 784 raw pixel values.
/usr/bin/python3 - "$models/request.json" <<'PY'
import gzip, json, sys
images = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read()
pixels = list(images[16:16 + 784])
json.dump({"id": "first-test-image", "inputs": [{"name": "input", "datatype": "FP32",
           "shape": [1, 1, 28, 28], "data": pixels}],
           "outputs": [{"name": "label"}, {"name": "probabilities"}]}, open(sys.argv[1], "w"))
PY
run curl -sf -X POST "http://127.0.0.1:$port/v2/models/fmnist/infer" \
  -H 'Content-Type: application/json' --data-binary "@$models/request.json"
echo
kill "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
trap - EXIT

step "Distributed training: a TrainJob of 2 workers, ring all-reduce (cnn, 3 epochs)"
apply examples/train-fmnist-allreduce.yaml
run "$cadre" logs trainjob/fmnist-cnn --replica worker-0 -f
run "$cadre" wait trainjob/fmnist-cnn --for Succeeded --timeout 900
run "$cadre" get trainjobs
run "$cadre" describe trainjob fmnist-cnn

cat <<MSG

The cluster is still running (state, keys and logs in $root/.cadre/).
Try: $cadre describe job hello
     $cadre apply -f examples/train-fmnist-ps.yaml && $cadre get trainjobs -o wide
     $cadre apply -f examples/mpi-allreduce.yaml
     $cadre apply -f examples/failing-job.yaml && $cadre get jobs -o json
Stop it with: $cadre local down
MSG
