"""Tiny GGUF files written with the `gguf` package as llama.cpp writes them."""

from __future__ import annotations

import numpy as np


def llama_cpp_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp convert_hf_to_gguf.py `LlamaModel.permute`, the operation read_gguf must undo."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def write_tiny_llama(path, arch="llama", rng=None):
    """A 1-layer llama GGUF written with the `gguf` package as llama.cpp would (permuted q/k)."""
    import gguf

    rng = rng or np.random.default_rng(0)
    tokens = ["a", "b", "c", "ab", "abc", "Ġ", "<s>", "</s>"]
    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_feed_forward_length(16)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types([1] * 6 + [3, 3])
    w.add_token_merges(["a b", "ab c"])
    w.add_bos_token_id(6)
    w.add_eos_token_id(7)
    hf = {
        "token_embd.weight": rng.normal(size=(8, 8)),
        "output_norm.weight": rng.normal(size=(8,)),
        "blk.0.attn_norm.weight": rng.normal(size=(8,)),
        "blk.0.ffn_norm.weight": rng.normal(size=(8,)),
        "blk.0.attn_q.weight": rng.normal(size=(8, 8)),
        "blk.0.attn_k.weight": rng.normal(size=(4, 8)),
        "blk.0.attn_v.weight": rng.normal(size=(4, 8)),
        "blk.0.attn_output.weight": rng.normal(size=(8, 8)),
        "blk.0.ffn_gate.weight": rng.normal(size=(16, 8)),
        "blk.0.ffn_up.weight": rng.normal(size=(16, 8)),
        "blk.0.ffn_down.weight": rng.normal(size=(8, 16)),
    }
    hf = {k: v.astype(np.float32) for k, v in hf.items()}
    for name, value in hf.items():
        stored = value
        if name == "blk.0.attn_q.weight":
            stored = llama_cpp_permute(value, 2)
        elif name == "blk.0.attn_k.weight":
            stored = llama_cpp_permute(value, 1)
        w.add_tensor(name, stored)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return hf
