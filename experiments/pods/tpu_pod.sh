#!/usr/bin/env bash
# Launches a zett training run on every worker of a TPU VM pod slice, from a workstation with gcloud.
#
#   TPU=my-v4-32 ZONE=us-central2-b WORKDIR=/mnt/shared/runs/mistral \
#     experiments/pods/tpu_pod.sh mistral-7b [key=value ...]
#
# Every worker runs experiments/pods/tpu_worker.sh with the same arguments (zett checked out at
# ~/zett on each worker, installed with ./install.sh). First check memory and layout:
#   zett plan mistral-7b --mesh data=1,fsdp=16,model=1 --device-memory-gib 32   (v4-32: 16 chips)
#   DRY_RUN=1 experiments/pods/tpu_pod.sh mistral-7b   (each worker prints its devices and data part)
set -euo pipefail
: "${TPU:?set TPU to the TPU VM name}" "${ZONE:?set ZONE}" "${WORKDIR:?set WORKDIR (shared storage)}"
quoted=$(printf ' %q' "$@")
env_vars="WORKDIR=$(printf %q "$WORKDIR") CORPUS=$(printf %q "${CORPUS:-data/corpus}") DRY_RUN=${DRY_RUN:-0}"
[[ -n "${MESH:-}" ]] && env_vars+=" MESH=$(printf %q "$MESH")"
exec gcloud compute tpus tpu-vm ssh "$TPU" --zone "$ZONE" --worker=all \
  --command "cd ~/zett && $env_vars experiments/pods/tpu_worker.sh$quoted"
