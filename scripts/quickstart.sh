#!/usr/bin/env bash
# Cadre in one command: installs dependencies, builds, starts a local cluster
# (a coordinator and two agents on 127.0.0.1, everything under ./.cadre/) and
# runs example jobs, tunes the model with an ASHA experiment, trains a cnn with
# two ring all-reduce workers, serves it as an InferenceService behind the ingress,
# classifies a test image, rolls a second model out as a 20% canary, runs the
# whole flow as one KFP pipeline (prepare -> train -> evaluate -> deploy), starts
# and stops a Jupyter notebook, and finally does it all from Python by executing
# the example notebook through the SDK.
# The cluster is left running for you to explore.
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

step "Distributed training: a TrainJob of 2 workers, ring all-reduce (cnn, 3 epochs)"
apply examples/train-fmnist-allreduce.yaml
run "$cadre" logs trainjob/fmnist-cnn --replica worker-0 -f
run "$cadre" wait trainjob/fmnist-cnn --for Succeeded --timeout 900
run "$cadre" get trainjobs
run "$cadre" describe trainjob fmnist-cnn

step "Serve the cnn: an InferenceService behind the ingress (Open Inference Protocol)"
apply examples/serve-fmnist.yaml
run "$cadre" wait isvc/fmnist --for Ready --timeout 120
run "$cadre" get isvc
# The first test image (an ankle boot) as a PGM file.
image="$root/.cadre/ankle-boot.pgm"
/usr/bin/python3 - "$image" <<'PY'
import gzip, sys
images = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read()
open(sys.argv[1], "wb").write(b"P5\n28 28\n255\n" + images[16:16 + 784])
PY
run "$cadre" predict isvc/fmnist --image "$image"
# The same through curl: the ingress asks the token `cadre local up` made.
url=$("$cadre" get isvc fmnist -o json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['url'])")
printf '$ curl -H "Authorization: Bearer $(cat .cadre/keys/token)" %s\n' "$url"
curl -sf -H "Authorization: Bearer $(cat "$root/.cadre/keys/token")" "$url"
echo
# The HTTP API at the same front door, with the same token (docs/api.md).
api="${url%/v2/models/*}/api/v1"
printf '$ curl -H "Authorization: Bearer $(cat .cadre/keys/token)" "%s"\n' "$api/trainjobs?phase=Succeeded"
curl -sf -H "Authorization: Bearer $(cat "$root/.cadre/keys/token")" "$api/trainjobs?phase=Succeeded" |
  /usr/bin/python3 -c "import json,sys; [print(j['name'], j['phase'], 'accuracy', j['metrics'].get('accuracy')) for j in json.load(sys.stdin)['items']]"

step "A canary: the mlp takes 20% of the requests, the cnn the rest"
apply examples/serve-fmnist-canary.yaml
run "$cadre" wait isvc/fmnist --for Ready --timeout 120
for _ in $(seq 50); do
  "$cadre" get isvc fmnist -o json | grep -q '"percent": 20' && break
  sleep 0.2
done
run "$cadre" describe isvc fmnist

step "The whole flow as one pipeline (KFP v2): prepare -> TrainJob (2 ring workers) -> evaluate -> deploy if accuracy >= 0.88, run twice"
# The canary ends (the cnn takes all traffic again): its replicas' CPU goes to the
# pipeline's TrainJob on these two small nodes.
apply examples/serve-fmnist.yaml
run "$cadre" wait isvc/fmnist --for Ready --timeout 120
apply examples/fmnist-pipeline.yaml
# Runs keep their names; those of an earlier quickstart go first.
for r in fmnist-pipeline-1 fmnist-pipeline-2; do "$cadre" delete "run/$r" >/dev/null 2>&1 || true; done
# Its deploy step makes the service again; an earlier one would hold the CPU its
# TrainJob needs on these two small nodes (as would the service an earlier
# quickstart's example notebook left, made again below).
"$cadre" delete isvc/fmnist-pipeline >/dev/null 2>&1 || true
"$cadre" delete isvc/nb-fmnist >/dev/null 2>&1 || true
run "$cadre" run pipeline/fmnist-pipeline --name fmnist-pipeline-1
run "$cadre" wait run/fmnist-pipeline-1 --for Succeeded --timeout 300
run "$cadre" describe run fmnist-pipeline-1
if "$cadre" get isvc fmnist-pipeline >/dev/null 2>&1; then
  run "$cadre" predict isvc/fmnist-pipeline --image "$image"
  # Where the served model came from: its training step, parameters and data.
  run "$cadre" lineage isvc/fmnist-pipeline
else
  echo "the model missed the 0.88 threshold: the deploy step was skipped"
fi
# The same run again: every job is reused from the cache; the deploy applies
# its unchanged service again.
run "$cadre" run pipeline/fmnist-pipeline --name fmnist-pipeline-2
run "$cadre" wait run/fmnist-pipeline-2 --for Succeeded --timeout 60
run "$cadre" get runs

step "A notebook: Jupyter on a node behind the ingress, its workspace kept across stop and start"
apply examples/notebook.yaml
run "$cadre" wait notebook/alice --for Running --timeout 120
run "$cadre" get notebooks
# Through the ingress: a browser opens the login link; a script sends a token.
run "$cadre" notebook open alice
nb_url=$("$cadre" get notebook alice -o json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['url'])")
printf '$ curl -H "Authorization: Bearer $(cat .cadre/keys/token)" %sapi/status\n' "$nb_url"
for _ in $(seq 20); do  # the ingress hears the server answers within a route poll
  curl -sf -H "Authorization: Bearer $(cat "$root/.cadre/keys/token")" "${nb_url}api/status" && break
  sleep 0.5
done
echo
run "$cadre" notebook stop alice
run "$cadre" wait notebook/alice --for Stopped --timeout 60
run "$cadre" describe notebook alice

step "From Python: the example notebook trains, tunes, serves and predicts through the SDK"
# Executed with Debian's jupyter-nbconvert against this cluster: an mlp, and half a
# CPU per worker and trial, so it fits beside the services the steps above left.
executed="$root/.cadre/fmnist-notebook.ipynb"
printf '$ PYTHONPATH=python jupyter-nbconvert --to notebook --execute examples/notebooks/fmnist.ipynb\n'
CADRE_CONFIG="$root/.cadre/config" PYTHONPATH="$root/python" FMNIST_MODEL=mlp FMNIST_EPOCHS=2 \
  FMNIST_TRAIN_LIMIT=20000 FMNIST_TRIALS=4 FMNIST_CPU=500m PYDEVD_DISABLE_FILE_VALIDATION=1 \
  jupyter-nbconvert --to notebook --execute examples/notebooks/fmnist.ipynb \
  --ExecutePreprocessor.timeout=900 --output "$executed" 2>/dev/null
# What its cells printed.
/usr/bin/python3 - "$executed" <<'PY'
import json, sys
for cell in json.load(open(sys.argv[1]))["cells"]:
    for out in cell.get("outputs", []):
        print("".join(out.get("text", "")), end="")
PY

step "The web dashboard: every job, trial, run and service above, in a browser"
$cadre dashboard

cat <<MSG

The cluster is still running (state, keys and logs in $root/.cadre/).
Try: $cadre dashboard                              # a new login link (60 s, once)
     $cadre describe job hello
     $cadre predict isvc/fmnist --image $image     # answered by the cnn
     $cadre apply -f examples/serve-fmnist-canary.yaml   # the mlp canary takes 20% again
     $cadre delete isvc/fmnist-pipeline && $cadre delete isvc/nb-fmnist   # CPU for the next two
     $cadre apply -f examples/train-fmnist-ps.yaml && $cadre get trainjobs -o wide
     $cadre apply -f examples/mpi-allreduce.yaml
     $cadre apply -f examples/failing-job.yaml && $cadre get jobs -o json
     $cadre run pipeline/fmnist-pipeline -p threshold=0.99 && $cadre get runs   # deploy skipped
     $cadre apply -f examples/pipeline-fmnist-mlp.yaml && $cadre run pipeline/fmnist-mlp   # plain KFP container steps
     $cadre notebook start alice && $cadre notebook open alice   # Jupyter in your browser
Stop it with: $cadre local down
MSG
