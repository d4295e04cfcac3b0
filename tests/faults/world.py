"""The inputs the fault cases spoil: a tiny Llama checkpoint and tokenizers, a hypernet for it and one
for another base model, text, training configs and broken copies of each. Built once per session."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extend"))
from extend_helpers import make_tiny_llama, train_bpe  # noqa: E402


@dataclass(frozen=True)
class World:
    root: Path
    model: Path  # tiny untied Llama, byte-level BPE tokenizer (HF files)
    target: Path  # tokenizer.json: Unigram trained on Bible verses
    empty_tok: Path  # tokenizer.json whose vocabulary is empty
    hypernet: Path  # a (untrained) zett hypernet for `model`
    hypernet_other: Path  # one for another base model of the same shape
    text: Path  # UTF-8 text, one verse a line
    corpus: Path  # JSONL training corpus {"text", "lang"}
    empty_corpus: Path  # JSONL of empty texts
    train_yaml: Path  # a valid tiny training config over `corpus` (workdir set per case)
    gguf: Path | None  # the packaged SmolLM2 GGUF (None when not installed)

    def copy(self, name: str, dest: Path) -> Path:
        """A private copy of one of the world's files or directories (cases spoil copies)."""
        src = getattr(self, name)
        out = dest / src.name
        if src.is_dir():
            shutil.copytree(src, out)
        else:
            shutil.copy2(src, out)
        return out


def _verses(n: int = 600) -> list[str]:
    from zett import assets

    con = sqlite3.connect(f"file:{assets.bible_db()}?mode=ro", uri=True)
    rows = con.execute(
        "select bbName, vText from bible where bbName in ('k','l') and (id % 41)=0 limit ?", (n,)
    ).fetchall()
    con.close()
    return rows


def _unigram(texts: list[str], path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(
        texts,
        trainers.UnigramTrainer(
            vocab_size=400,
            special_tokens=["<unk>", "<s>", "</s>"],
            unk_token="<unk>",
            show_progress=False,
        ),
    )
    tok.save(str(path))


def _empty_tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer, models

    Tokenizer(models.WordLevel({}, unk_token=None)).save(str(path))


def _hypernet(model: Path, out: Path, scale: float = 1.0) -> Path:
    from flax import nnx

    from zett.checkpoint import read_tensor
    from zett.hypernet.checkpoint import save_hypernet
    from zett.hypernet.config import HypernetConfig
    from zett.hypernet.model import Hypernet

    cfg = HypernetConfig(
        hidden_size=32, intermediate_size=64, num_layers=1, predict_output_embeddings=True
    )
    e_in = read_tensor(model, "model.embed_tokens.weight") * scale
    e_out = read_tensor(model, "lm_head.weight")
    return save_hypernet(out, Hypernet(cfg, e_in, e_out, rngs=nnx.Rngs(0)), str(model), "bpe")


def build_world(root: Path) -> World:
    from zett.assets import AssetMissingError, smollm2_gguf

    root.mkdir(parents=True, exist_ok=True)
    bpe = train_bpe()
    model = make_tiny_llama(root / "model", bpe)
    rows = _verses()
    texts = [t for _, t in rows]
    target = root / "target.json"
    _unigram(texts, target)
    empty_tok = root / "empty-tokenizer.json"
    _empty_tokenizer(empty_tok)
    text = root / "verses.txt"
    text.write_text("\n".join(texts) + "\n", encoding="utf-8")
    corpus = root / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t, "lang": b}) + "\n" for b, t in rows))
    empty_corpus = root / "empty.jsonl"
    empty_corpus.write_text("".join(json.dumps({"text": "", "lang": "k"}) + "\n" for _ in rows))
    train_yaml = root / "train.yaml"
    train_yaml.write_text(
        "\n".join(
            [
                "base_model: tiny",
                f"source_tokenizer: {model}",
                "tensorboard: false",
                f"data: {{train: {corpus}}}",
                "hypernet: {hidden_size: 32, intermediate_size: 64, num_layers: 1}",
                "optim: {identity_steps: 2, identity_warmup_steps: 1, warmup_steps: 1, "
                "total_steps: 6, lr: 1.0e-3, identity_lr: 1.0e-3}",
                "collator: {batch_size: 2, max_chars: 128, block_size: 16, n_subsample: 128, "
                "surface_maxlen: 3, num_workers: 0, sampler: {vocab_size: 512, window: 2}}",
                "log_every: 1",
                "save_every: 2",
                "eval_every: 100",
                "",
            ]
        )
    )
    hypernet = _hypernet(model, root / "hypernet")
    hypernet_other = _hypernet(model, root / "hypernet-other", scale=2.0)
    try:
        gguf = smollm2_gguf()
        gguf = gguf if gguf.is_file() else None
    except AssetMissingError:
        gguf = None
    return World(
        root,
        model,
        target,
        empty_tok,
        hypernet,
        hypernet_other,
        text,
        corpus,
        empty_corpus,
        train_yaml,
        gguf,
    )
