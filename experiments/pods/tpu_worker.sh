#!/usr/bin/env bash
# One TPU VM worker of a pod slice: every worker runs this same command (tpu_pod.sh sends it to all of
# them). JAX finds the coordinator, the process count and this worker's id in the TPU VM environment
# (TPU_WORKER_HOSTNAMES, TPU_WORKER_ID), so nothing here names a host.
#
#   experiments/pods/tpu_worker.sh CONFIG [key=value ...]
#
# Environment:
#   WORKDIR   run directory on storage every worker mounts at the same path (Filestore/NFS or a
#             gcsfuse mount): orbax writes each worker's parameter shards there and reads them back
#             on resume, metrics.jsonl and the exported hypernet land there too (required)
#   CORPUS    training text (a `zett data build` directory) at the same path on every worker
#   MESH      mesh overrides (default: fsdp over every chip: mesh.data=1 mesh.fsdp=-1 mesh.model=1)
#   DRY_RUN=1 print where this worker sits (devices, mesh coordinates, data part) and exit;
#             LOCAL_DEVICES (chips per worker, 4 on v4/v5p) skips asking the TPU
set -euo pipefail
config=${1:?usage: tpu_worker.sh CONFIG [key=value ...]}
shift
: "${WORKDIR:?set WORKDIR to shared storage, the same path on every worker}"
CORPUS=${CORPUS:-data/corpus}
read -r -a mesh <<< "${MESH:-mesh.data=1 mesh.fsdp=-1 mesh.model=1}"
args=(train "$config" "workdir=$WORKDIR" "data.train=$CORPUS" "${mesh[@]}" "$@")
if [[ "${DRY_RUN:-0}" == 1 ]]; then
  args+=(--dry-run)
  [[ -n "${LOCAL_DEVICES:-}" ]] && args+=(--local-devices "$LOCAL_DEVICES")
  [[ -n "${TPU_WORKER_ID:-}" ]] && args+=(--process-id "$TPU_WORKER_ID")
fi
# the same command on every worker; a killed run resumes from WORKDIR/checkpoints when rerun
exec python -m zett.cli.main "${args[@]}"
