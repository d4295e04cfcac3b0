#!/usr/bin/env bash
# One process of a multi-node GPU run under SLURM (srun starts one per node, see slurm_gpu.sbatch):
# the coordinator is the first node of the allocation, the process id is the SLURM rank, and each
# process drives every GPU of its node.
#
#   srun experiments/pods/gpu_task.sh CONFIG [key=value ...]
#
# Environment (besides SLURM's own SLURM_JOB_NODELIST, SLURM_NTASKS, SLURM_PROCID):
#   WORKDIR   run directory on the cluster's shared filesystem (every node, same path): orbax writes
#             each process's parameter shards there and restores them on resume (required)
#   CORPUS    training text (a `zett data build` directory), same path on every node
#   MESH      mesh overrides (default: fsdp over the GPUs of a node, data parallel across nodes:
#             mesh.data=-1 mesh.fsdp=$GPUS_PER_NODE mesh.model=1)
#   PORT      coordinator port on the first node (default 12355)
#   COORDINATOR_HOST  overrides the first node's name (default: from scontrol)
#   DRY_RUN=1 print where this process sits (devices, mesh coordinates, data part) and exit
set -euo pipefail
config=${1:?usage: gpu_task.sh CONFIG [key=value ...]}
shift
: "${WORKDIR:?set WORKDIR to the shared filesystem}"
: "${SLURM_NTASKS:?run under srun (SLURM_NTASKS unset)}" "${SLURM_PROCID:?run under srun}"
if [[ -n "${COORDINATOR_HOST:-}" ]]; then
  host=$COORDINATOR_HOST
else  # not `| head -n 1`: under pipefail, scontrol killed by SIGPIPE (exit 141) would end the job
  nodes=$(scontrol show hostnames "${SLURM_JOB_NODELIST:?}")
  host=${nodes%%$'\n'*}
fi
gpus=${GPUS_PER_NODE:-${SLURM_GPUS_ON_NODE:-8}}
export ZETT_COORDINATOR="$host:${PORT:-12355}"
export ZETT_NUM_PROCESSES="$SLURM_NTASKS"
export ZETT_PROCESS_ID="$SLURM_PROCID"
read -r -a mesh <<< "${MESH:-mesh.data=-1 mesh.fsdp=$gpus mesh.model=1}"
args=(train "$config" "workdir=$WORKDIR" "data.train=${CORPUS:-data/corpus}" "${mesh[@]}" "$@")
[[ "${DRY_RUN:-0}" == 1 ]] && args+=(--dry-run --local-devices "$gpus")
exec python -m zett.cli.main "${args[@]}"
