"""Test helpers: a byte-level BPE trained on real text (stdlib sources) and tiny transformers Llama
checkpoints."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def stdlib_text(n_files: int = 6) -> list[str]:
    lib = Path(sysconfig.get_paths()["stdlib"])
    names = ["textwrap.py", "argparse.py", "csv.py", "difflib.py", "heapq.py", "fractions.py"][
        :n_files
    ]
    return [(lib / n).read_text() for n in names]


def train_bpe(vocab_size: int = 700) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(stdlib_text(), trainer)
    return tok


def save_hf_tokenizer(tok: Tokenizer, out: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|im_start|>"
    )
    fast.save_pretrained(str(out))


def make_tiny_llama(
    out: Path,
    tok: Tokenizer,
    tie: bool = False,
    dtype: str = "float32",
    vocab: int | None = None,
    shard: str | None = None,
) -> Path:
    """A randomly initialised 2-layer Llama with the tokenizer's vocabulary, in HF layout."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    n = vocab or tok.get_vocab_size()
    cfg = LlamaConfig(
        vocab_size=n,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=tie,
        bos_token_id=tok.token_to_id("<|im_start|>"),
        eos_token_id=tok.token_to_id("<|endoftext|>"),
    )
    model = LlamaForCausalLM(cfg).to(getattr(torch, dtype)).eval()
    kwargs = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(str(out), **kwargs)
    save_hf_tokenizer(tok, out)
    return out


def read_json(p: Path) -> dict:
    return json.loads(p.read_text())
