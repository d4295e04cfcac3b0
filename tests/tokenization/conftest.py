"""Real tokenizers (SmolLM2, Gemma 3, MiniLM) and real multilingual text (Bible verses), loaded once
per session."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib: make this folder's helper modules (_scripts) importable
sys.path.insert(0, str(Path(__file__).resolve().parent))

from zett import assets
from zett.tokenization import load_tokenizer


def bible_verses(per_bible: int = 40, stride: int = 97, offset: int = 0) -> list[str]:
    """Verses from every Bible in the database (22 languages), every `stride`-th row."""
    try:
        db = assets.bible_db()
    except assets.AssetMissingError as e:
        pytest.skip(str(e))
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        names = [r[0] for r in con.execute("SELECT DISTINCT bbName FROM bible ORDER BY bbName")]
        out: list[str] = []
        for n in names:
            rows = con.execute(
                "SELECT vText FROM bible WHERE bbName=? AND (id % ?)=? LIMIT ?",
                (n, stride, offset, per_bible),
            )
            out += [r[0] for r in rows]
    return out


def _load(getter):
    try:
        path = getter()
        if not path.exists():
            pytest.skip(f"{path} missing")
    except assets.AssetMissingError as e:
        pytest.skip(str(e))
    return load_tokenizer(path)


@pytest.fixture(scope="session")
def verses() -> list[str]:
    return bible_verses()


@pytest.fixture(scope="session")
def smollm2():
    return _load(assets.smollm2_gguf)


@pytest.fixture(scope="session")
def gemma3():
    return _load(assets.gemma3_gguf)


@pytest.fixture(scope="session")
def minilm():
    return _load(lambda: assets.minilm_dir() / "tokenizer.json")


@pytest.fixture(scope="session")
def training_text() -> list[str]:
    return bible_verses(per_bible=25, stride=13, offset=5)


@pytest.fixture(scope="session")
def sp_models(tmp_path_factory, training_text) -> dict[str, object]:
    """SentencePiece Unigram and BPE models (byte fallback) trained here on real verses."""
    import sentencepiece as spm

    d = tmp_path_factory.mktemp("spm")
    corpus = d / "corpus.txt"
    corpus.write_text("\n".join(training_text), encoding="utf-8")
    out = {}
    for kind in ("unigram", "bpe"):
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(d / kind),
            vocab_size=1500,
            model_type=kind,
            byte_fallback=True,
            character_coverage=0.9995,
            num_threads=1,
            minloglevel=2,
            user_defined_symbols=["<sep_x>"],
        )
        out[kind] = d / f"{kind}.model"
    return out


@pytest.fixture(scope="session")
def hf_trained(training_text) -> dict[str, object]:
    """`tokenizers`-trained Unigram (Metaspace) and byte-level BPE on real verses."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    out = {}
    uni = Tokenizer(models.Unigram())
    uni.pre_tokenizer = pre_tokenizers.Metaspace()
    uni.decoder = decoders.Metaspace()
    uni.train_from_iterator(
        training_text,
        trainers.UnigramTrainer(
            vocab_size=1500,
            max_piece_length=12,
            special_tokens=["<unk>", "<s>", "</s>"],
            unk_token="<unk>",
            show_progress=False,
        ),
    )
    out["unigram"] = uni
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        training_text,
        trainers.BpeTrainer(
            vocab_size=1500,
            special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    out["bpe"] = bpe
    return out


@pytest.fixture(scope="session")
def decomposers(smollm2, gemma3, minilm):
    """Decomposers built once: building Gemma's (262k pieces, 514k merges) takes seconds."""
    from zett.tokenization import Decomposer

    return {
        "smollm2": Decomposer(smollm2),
        "gemma3": Decomposer(gemma3),
        "minilm": Decomposer(minilm),
    }
