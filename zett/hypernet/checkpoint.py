"""The exported hypernet directory: `hypernet.json` + `hypernet.safetensors` (training checkpoints:
`zett.training.TrainCheckpointer`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx
from safetensors.numpy import load_file, save_file

from zett.checkpoint import CheckpointError, atomic_dir, read_json_object
from zett.config import from_dict
from zett.hypernet.config import HypernetConfig
from zett.hypernet.model import Hypernet, Rescaler

HYPERNET_WEIGHTS = "hypernet.safetensors"
HYPERNET_META = "hypernet.json"
# what an export holds: the trained weights and the fitted (frozen) output rescalers; v1 exports stored
# the rescalers as parameters under the same names, so they load unchanged
EXPORTED = nnx.Any(nnx.Param, Rescaler)


def embeddings_fingerprint(table: np.ndarray) -> str:
    """A short hash of the source embeddings, to refuse a hypernet trained for another base model."""
    arr = np.ascontiguousarray(np.asarray(table, np.float32))
    h = hashlib.sha256(str(arr.shape).encode())
    h.update(arr[:: max(1, arr.shape[0] // 512)].tobytes())
    return h.hexdigest()[:16]


def save_hypernet(
    out_dir: str | Path,
    hypernet: Hypernet,
    base_model: str,
    source_tokenizer: str,
    extra: dict[str, Any] | None = None,
) -> Path:
    """A self-describing directory: `hypernet.json` (config, base model, source tokenizer, fingerprint)
    + `hypernet.safetensors` (trained weights and fitted output rescalers; source tables stay with
    the model)."""
    out = Path(out_dir)
    with atomic_dir(out, overwrite=True) as tmp:
        flat = {
            ".".join(str(k) for k in path): np.asarray(jax.device_get(v.get_value()), np.float32)
            for path, v in nnx.state(hypernet, EXPORTED).flat_state()
        }
        save_file(flat, str(tmp / HYPERNET_WEIGHTS))
        d = hypernet.embed_dim
        meta = {
            "format": "zett-hypernet/1",
            "config": asdict(hypernet.cfg),
            "base_model": base_model,
            "source_tokenizer": source_tokenizer,
            "source_vocab_size": hypernet.source_vocab_size,
            "embed_dim": d,
            "source_fingerprint": embeddings_fingerprint(
                np.asarray(hypernet.source_table[...])[:, :d]
            ),
            "zett_version": __import__("zett").__version__,
            **(extra or {}),
        }
        (tmp / HYPERNET_META).write_text(json.dumps(meta, indent=2))
    return out


def read_hypernet_meta(path: str | Path) -> dict[str, Any]:
    meta_path = Path(path) / HYPERNET_META
    if not meta_path.exists():
        raise FileNotFoundError(f"{path} is not a zett hypernet directory (no {HYPERNET_META})")
    return read_json_object(meta_path)


def load_hypernet(
    path: str | Path,
    source_input_embeddings: np.ndarray,
    source_output_embeddings: np.ndarray | None = None,
    check_fingerprint: bool = True,
    source_output_bias: np.ndarray | None = None,
) -> Hypernet:
    """Rebuilds a saved hypernet around the base model's source embeddings (and logit bias, which
    special tokens copy, for hypernets that predict one)."""
    meta = read_hypernet_meta(path)
    required = ("config", "source_vocab_size", "embed_dim", "source_fingerprint", "base_model")
    missing = [k for k in required if k not in meta]
    if missing:
        raise CheckpointError(f"{Path(path) / HYPERNET_META}: lacks {missing}")
    cfg = from_dict(HypernetConfig, meta["config"], where=f"{Path(path) / HYPERNET_META}: config")
    src = np.asarray(source_input_embeddings, np.float32)
    if src.shape != (meta["source_vocab_size"], meta["embed_dim"]):
        raise ValueError(
            f"{path}: hypernet expects source embeddings "
            f"{(meta['source_vocab_size'], meta['embed_dim'])}, "
            f"got {src.shape} — it was trained for {meta['base_model']!r}"
        )
    if check_fingerprint and embeddings_fingerprint(src) != meta["source_fingerprint"]:
        raise ValueError(
            f"{path}: source embeddings differ from those of {meta['base_model']!r} it was trained "
            f"on"
        )
    hn = Hypernet(cfg, src, source_output_embeddings, source_output_bias, rngs=nnx.Rngs(cfg.seed))
    weights_path = Path(path) / HYPERNET_WEIGHTS
    if not weights_path.is_file():
        raise FileNotFoundError(f"{weights_path}: missing; the hypernet directory is incomplete")
    try:
        weights = load_file(str(weights_path))
    except Exception as e:  # safetensors (Rust) reports truncation/corruption as SafetensorError
        raise CheckpointError(
            f"{weights_path}: cannot be read, truncated or corrupt ({type(e).__name__}: {e})"
        ) from None
    state = nnx.state(hn, EXPORTED)
    expected = {".".join(str(k) for k in p): v for p, v in state.flat_state()}
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights do not match the config (missing {missing[:5]}, unexpected "
            f"{unexpected[:5]})"
        )
    for name, var in expected.items():
        if weights[name].shape != var.get_value().shape:
            raise ValueError(
                f"{path}: {name} has shape {weights[name].shape}, expected {var.get_value().shape}"
            )
        var.set_value(
            jax.numpy.asarray(weights[name], dtype=var.get_value().dtype)
        )  # bf16 exports load as fp32
    nnx.update(hn, state)
    return hn
