#!/usr/bin/env bash
# Runs cadre-train by hand as two ranks on this machine, the way the agent
# launches them: each rank gets CADRE_RANK and the same CADRE_PEERS list.
set -euo pipefail
bin="${CADRE_TRAIN:-$(dirname "$0")/../build/bin/cadre-train}"
peers=127.0.0.1:29511,127.0.0.1:29512
export CADRE_WORLD_SIZE=2 CADRE_PEERS=$peers
# The ranks prove this to each other, as a Cadre job's replicas do.
export CADRE_JOB_TOKEN="${CADRE_JOB_TOKEN:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n")}"
CADRE_RANK=1 "$bin" --model cnn --epochs "${EPOCHS:-2}" --batch-size 32 --threads 1 > /dev/null &
CADRE_RANK=0 "$bin" --model cnn --epochs "${EPOCHS:-2}" --batch-size 32 --threads 1 \
  --export "${EXPORT:-/tmp/fmnist-cnn.cadre}"
wait
