"""GGUF (llama.cpp) checkpoints in Hugging Face form: config.json, tensors under HF names with
llama.cpp's conventions undone, and the tokenizer, all from one parse of the file."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from safetensors.numpy import save_file
from tokenizers import Tokenizer

from zett.checkpoint.atomic import atomic_path, write_atomic
from zett.checkpoint.errors import CheckpointError
from zett.checkpoint.gguf_file import GGUFFile
from zett.checkpoint.hf_dir import CONFIG_FILE, SINGLE_FILE
from zett.checkpoint.index import TAGS
from zett.checkpoint.sources import TensorSource
from zett.tokenization import GGUFTokenizer, LoadedTokenizer, tokenizer_from_gguf

SUPPORTED_ARCHITECTURES = ("llama", "gemma3")

# GGUF tensor name (after "blk.N.") → HF name (after "model.layers.N."), per architecture
_LAYER_NAMES = {
    "llama": {
        "attn_norm": "input_layernorm",
        "ffn_norm": "post_attention_layernorm",
        "attn_q": "self_attn.q_proj",
        "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj",
        "ffn_gate": "mlp.gate_proj",
        "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj",
    },
    "gemma3": {
        "attn_norm": "input_layernorm",
        "post_attention_norm": "post_attention_layernorm",
        "ffn_norm": "pre_feedforward_layernorm",
        "post_ffw_norm": "post_feedforward_layernorm",
        "attn_q_norm": "self_attn.q_norm",
        "attn_k_norm": "self_attn.k_norm",
        "attn_q": "self_attn.q_proj",
        "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj",
        "ffn_gate": "mlp.gate_proj",
        "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj",
    },
}
_GLOBAL_NAMES = {
    "token_embd": "model.embed_tokens",
    "output_norm": "model.norm",
    "output": "lm_head",
}
_BLOCK = re.compile(r"blk\.(\d+)\.(\w+)\.(weight|bias)")


def _f32(x: Any) -> float:
    """GGUF stores float32; print the shortest decimal that round-trips (9.99e-06 → 1e-05)."""
    return float(str(np.float32(x)))


def hf_tensor_name(gguf_name: str, arch: str) -> str | None:
    """HF safetensors name for a GGUF tensor name, or None when there is none."""
    if m := _BLOCK.fullmatch(gguf_name):
        layer, base, kind = m.groups()
        hf = _LAYER_NAMES[arch].get(base)
        return None if hf is None else f"model.layers.{layer}.{hf}.{kind}"
    base, _, kind = gguf_name.rpartition(".")
    hf = _GLOBAL_NAMES.get(base)
    return None if hf is None else f"{hf}.{kind}"


def unpermute_rotary(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undoes llama.cpp's q/k row permutation: [n_heads·head_dim, ...] rows per head go from
    interleaved (x0, x1, x2, ...) pairs back to HF's rotate-half halves."""
    half = w.shape[0] // n_heads // 2
    return w.reshape(n_heads, half, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


@dataclass
class GGUFCheckpoint:
    """A GGUF file read into Hugging Face form.

    hf_config: config.json dict; tensors: HF name → float32 array (HF layout [out, in]), as many as
    `read_gguf` was asked for; tokenizer: `tokenizers.Tokenizer`; metadata: the GGUF key/values
    other than the vocabulary; file: the open file, to read further tensors from (`load`)."""

    path: Path
    architecture: str
    hf_config: dict[str, Any]
    tensors: dict[str, np.ndarray]
    gguf_tokenizer: GGUFTokenizer
    metadata: dict[str, Any] = field(default_factory=dict)
    file: GGUFFile | None = field(default=None, repr=False, compare=False)

    @property
    def tokenizer(self) -> Tokenizer:
        return self.gguf_tokenizer.tokenizer

    @property
    def tokenizer_config(self) -> dict[str, Any]:
        return self.gguf_tokenizer.tokenizer_config

    def loaded_tokenizer(self) -> LoadedTokenizer:
        """The tokenizer with the special roles (ids) the GGUF declares, as `load_tokenizer` gives
        it for this file, without reading the file again."""
        roles = {}
        for key, role in (("bos", "bos"), ("eos", "eos"), ("unknown", "unk"), ("padding", "pad")):
            tid = self.metadata.get(f"tokenizer.ggml.{key}_token_id")
            if tid is not None:
                roles[role] = int(tid)
        return LoadedTokenizer(self.tokenizer, roles, str(self.path))

    def save_tokenizer(self, out_dir: str | os.PathLike) -> list[Path]:
        """tokenizer.json, tokenizer_config.json, special_tokens_map.json (+ SentencePiece
        tokenizer.model)."""
        return self.gguf_tokenizer.save(out_dir)

    def hf_names(self) -> dict[str, str]:
        """GGUF tensor name → HF name, every tensor in file order; raises for one without an HF
        counterpart."""
        out = {}
        for name in self._file().tensors:
            hf = hf_tensor_name(name, self.architecture)
            if hf is None:
                raise CheckpointError(
                    f"{self.path}: tensor {name!r} has no Hugging Face counterpart for "
                    f"{self.architecture}"
                )
            out[name] = hf
        return out

    def load(self, gguf_name: str) -> np.ndarray:
        """One tensor dequantised to float32 in HF layout, llama.cpp's conventions undone: llama
        q/k rotary row permutation; Gemma norm weights stored as 1 + w."""
        w = _dequantize(self._file(), gguf_name)
        arch, cfg = self.architecture, self.hf_config
        if arch == "llama" and ".attn_q." in gguf_name:
            w = unpermute_rotary(w, cfg["num_attention_heads"])
        elif arch == "llama" and ".attn_k." in gguf_name:
            w = unpermute_rotary(w, cfg["num_key_value_heads"])
        elif arch == "gemma3" and gguf_name.endswith("norm.weight"):
            w = w - 1.0  # every Gemma 3 RMSNorm (incl. q/k norms) computes x·(1 + w)
        return w

    def _file(self) -> GGUFFile:
        if self.file is None:
            raise ValueError(f"{self.path}: built without its file; no tensors to read")
        return self.file

    def save_pretrained(self, out_dir: str | os.PathLike) -> Path:
        """A Hugging Face checkpoint directory (config.json, model.safetensors, tokenizer files)."""
        if not self.tensors:
            raise ValueError(f"{self.path}: read without tensors; nothing to save")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(out / SINGLE_FILE) as tmp:
            arrays = {k: np.ascontiguousarray(v) for k, v in self.tensors.items()}
            save_file(arrays, str(tmp), metadata={"format": "pt"})
        write_atomic(out / CONFIG_FILE, json.dumps(self.hf_config, indent=2))
        self.save_tokenizer(out)
        return out


def _require(meta: dict[str, Any], key: str, path: Path) -> Any:
    if key not in meta:
        raise CheckpointError(f"{path}: GGUF metadata lacks {key!r}")
    return meta[key]


def _token_id(meta: dict[str, Any], key: str) -> int | None:
    v = meta.get(f"tokenizer.ggml.{key}_token_id")
    return None if v is None else int(v)


def _hf_config(
    meta: dict[str, Any], arch: str, tensor_names: set[str], path: Path
) -> dict[str, Any]:
    a = arch
    n_layers = int(_require(meta, f"{a}.block_count", path))
    hidden = int(_require(meta, f"{a}.embedding_length", path))
    heads = int(_require(meta, f"{a}.attention.head_count", path))
    kv_heads = int(meta.get(f"{a}.attention.head_count_kv", heads))
    head_dim = int(
        meta.get(f"{a}.attention.key_length")
        or meta.get(f"{a}.rope.dimension_count")
        or hidden // heads
    )
    n_tokens = len(meta.get("tokenizer.ggml.tokens", []))
    vocab = int(meta.get(f"{a}.vocab_size") or n_tokens)
    tied = "output.weight" not in tensor_names
    cfg: dict[str, Any] = {
        "vocab_size": vocab,
        "hidden_size": hidden,
        "intermediate_size": int(_require(meta, f"{a}.feed_forward_length", path)),
        "num_hidden_layers": n_layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "max_position_embeddings": int(meta.get(f"{a}.context_length", 2048)),
        "rms_norm_eps": _f32(_require(meta, f"{a}.attention.layer_norm_rms_epsilon", path)),
        "rope_theta": _f32(meta.get(f"{a}.rope.freq_base", 10000.0)),
        "rope_scaling": None,
        "attention_bias": any(n.endswith("attn_q.bias") for n in tensor_names),
        "tie_word_embeddings": tied,
        "bos_token_id": _token_id(meta, "bos"),
        "eos_token_id": _token_id(meta, "eos"),
        "pad_token_id": _token_id(meta, "padding"),
        "torch_dtype": "float32",
    }
    scaling = meta.get(f"{a}.rope.scaling.type")
    if scaling not in (None, "none"):
        cfg["rope_scaling"] = {
            "rope_type": scaling,
            "factor": _f32(meta[f"{a}.rope.scaling.factor"]),
        }
        if f"{a}.rope.scaling.original_context_length" in meta:
            cfg["rope_scaling"]["original_max_position_embeddings"] = int(
                meta[f"{a}.rope.scaling.original_context_length"]
            )
    if "rope_freqs.weight" in tensor_names:
        raise CheckpointError(
            f"{path}: tensor 'rope_freqs.weight' (llama3-style rope frequencies) is not supported"
        )
    if arch == "llama":
        return {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            **cfg,
            "hidden_act": "silu",
            "mlp_bias": False,
            "attention_dropout": 0.0,
        }
    # gemma3: llama.cpp hard-codes what the GGUF does not store; values as transformers'
    # Gemma3TextConfig
    pattern = meta.get(f"{a}.attention.sliding_window_pattern", 6)
    if np.ndim(pattern):  # per-layer booleans: True = sliding
        layer_types = [
            "sliding_attention" if p else "full_attention" for p in np.asarray(pattern).tolist()
        ]
    else:
        layer_types = [
            "sliding_attention" if (i + 1) % int(pattern) else "full_attention"
            for i in range(n_layers)
        ]
    # llama.cpp: Gemma 3 27B scales queries by 1/sqrt(hidden/heads), all others by 1/sqrt(head_dim)
    query_scalar = hidden // heads if n_layers == 62 else head_dim
    return {
        "architectures": ["Gemma3ForCausalLM"],
        "model_type": "gemma3_text",
        **cfg,
        "hidden_activation": "gelu_pytorch_tanh",
        "sliding_window": int(meta.get(f"{a}.attention.sliding_window", 4096)),
        "layer_types": layer_types,
        "rope_local_base_freq": 10000.0,
        "query_pre_attn_scalar": query_scalar,
        "attn_logit_softcapping": meta.get(f"{a}.attn_logit_softcapping"),
        "final_logit_softcapping": meta.get(f"{a}.final_logit_softcapping"),
        "attention_dropout": 0.0,
    }


def _dequantize(f: GGUFFile, name: str) -> np.ndarray:
    info = f.tensors[name]
    qtype = gguf.GGMLQuantizationType(info.qtype)
    try:
        w = gguf.quants.dequantize(f.raw(name), qtype)
    except (NotImplementedError, ValueError, AssertionError) as e:
        raise CheckpointError(
            f"{f.path}: cannot dequantise tensor {name!r} ({qtype.name}): {e}"
        ) from None
    # copy: detach from the memory map
    w = np.array(w, dtype=np.float32, copy=True).reshape(info.shape)
    if not np.isfinite(w).all():
        raise CheckpointError(f"{f.path}: tensor {name!r} contains NaN/inf values (corrupt file?)")
    return w


def read_gguf(
    path: str | os.PathLike, tensors: bool | Callable[[str], bool] = True
) -> GGUFCheckpoint:
    """Reads a GGUF file: config, tokenizer and (all, none, or the HF names `tensors(name)` accepts)
    float32 tensors in Hugging Face naming and conventions.

    Conventions undone: llama q/k rotary row permutation; Gemma norm weights stored as 1 + w."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such GGUF file")
    f = GGUFFile(path)
    meta = f.metadata
    arch = meta.get("general.architecture")
    if arch not in SUPPORTED_ARCHITECTURES:
        raise CheckpointError(
            f"{path}: GGUF architecture {arch!r} is not supported (zett reads "
            f"{', '.join(SUPPORTED_ARCHITECTURES)})"
        )
    names = set(f.tensors)
    hf_config = _hf_config(meta, arch, names, path)
    tok_meta = {k: v for k, v in meta.items() if k.startswith("tokenizer.")}
    tok_meta["context_length"] = hf_config["max_position_embeddings"]
    try:
        tok = tokenizer_from_gguf(tok_meta, source=str(path))
    except ValueError as e:
        raise CheckpointError(str(e)) from None
    if tok.tokenizer.get_vocab_size() != hf_config["vocab_size"]:
        raise CheckpointError(
            f"{path}: tokenizer has {tok.tokenizer.get_vocab_size()} tokens, config says "
            f"{hf_config['vocab_size']}"
        )

    vocab_keys = (
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.scores",
        "tokenizer.ggml.token_type",
        "tokenizer.ggml.merges",
    )
    small_meta = {k: v for k, v in meta.items() if k not in vocab_keys}
    g = GGUFCheckpoint(path, arch, hf_config, {}, tok, small_meta, f)
    if tensors:
        accept = tensors if callable(tensors) else (lambda _: True)
        g.tensors = {hf: g.load(name) for name, hf in g.hf_names().items() if accept(hf)}
        emb = g.tensors.get("model.embed_tokens.weight")
        if emb is not None and emb.shape != (hf_config["vocab_size"], hf_config["hidden_size"]):
            raise CheckpointError(
                f"{path}: tensor 'token_embd.weight' has shape {emb.shape}, the config implies "
                f"{(hf_config['vocab_size'], hf_config['hidden_size'])}"
            )
    return g


def gguf_sources(g: GGUFCheckpoint, dtype: np.dtype) -> list[TensorSource]:
    """Every tensor of an open GGUF under its HF name, dequantised (to float `dtype`) only when
    written."""
    names = g.hf_names()
    return [
        TensorSource(hf, TAGS[dtype], g.file.tensors[name].shape, _loader(g, name, dtype))
        for name, hf in names.items()
    ]


def _loader(g: GGUFCheckpoint, name: str, dtype: np.dtype) -> Callable[[], np.ndarray]:
    return lambda: g.load(name).astype(dtype, copy=False)
