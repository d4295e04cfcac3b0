"""The main job end to end: a model moved onto a new tokenizer zero-shot, compared with heuristics."""

from __future__ import annotations

import time
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zett.bench.tokenizers import train_unigram
from zett.eval.heldout import bible_split

if TYPE_CHECKING:
    from zett.methods import MethodSpec

SHIPPED_HYPERNET = Path(__file__).resolve().parent.parent / "experiments" / "smollm2" / "hypernet"
PROMPTS = {
    "de": "Am Anfang schuf Gott Himmel und Erde. Und die Erde war",
    "fr": "Au commencement, Dieu créa les cieux et la terre. La terre",
    "es": "En el principio creó Dios los cielos y la tierra. Y la tierra",
    "en": "In the beginning God created the heaven and the earth. And the earth",
}


@dataclass
class DemoConfig:
    model: str = "smollm2"
    lang: str = "de"
    tokenizer: str | None = None  # a tokenizer path; default: Unigram trained on `lang` text
    vocab_size: int = 16000
    # zett.methods specs; a bare "hypernet" (no ":DIR") is the one in `hypernet`
    methods: tuple[str, ...] = ("hypernet", "fvt", "focus")
    hypernet: str = str(SHIPPED_HYPERNET)
    text_file: str | None = None  # plain text (one document per line); default: the packaged Bibles
    heldout_texts: int = 24
    max_new_tokens: int = 24
    seed: int = 0


@dataclass
class DemoRow:
    method: str
    tokenizer: str
    bits_per_byte: float
    bytes_per_token: float
    seconds: float
    unk_bytes: int = 0


@dataclass
class DemoResult:
    model_name: str = ""
    n_texts: int = 0
    n_bytes: int = 0
    rows: list[DemoRow] = field(default_factory=list)
    generations: dict[str, str] = field(default_factory=dict)


def split_texts(cfg: DemoConfig) -> tuple[list[str], list[str]]:
    """(train, held-out) texts. The packaged Bibles are split like the corpus (`zett.eval.heldout`):
    train = the chapters of train units (every translation), held-out = `heldout_texts` passages
    of held-out chapters from at least 8 of them; never a chapter the shipped hypernet or the
    corpus trained on. A `text_file` (one document per line, NFC-normalised) is split by a hash
    of each line."""
    if cfg.text_file:
        lines = [
            unicodedata.normalize("NFC", ln.strip())
            for ln in Path(cfg.text_file).read_text(encoding="utf-8").splitlines()
            if ln.strip()
        ]
        if len(lines) < 20:
            raise ValueError(
                f"{cfg.text_file}: need at least 20 non-empty lines (documents), got {len(lines)}"
            )
        held = [d for d in lines if zlib.crc32(d.encode()) % 10 == 0]
        train = [d for d in lines if zlib.crc32(d.encode()) % 10 != 0]
        return train, held[: cfg.heldout_texts]
    split = bible_split(cfg.lang, cfg.heldout_texts, min_units=8, seed=cfg.seed)
    return split.train, split.heldout_texts


def method_specs(cfg: DemoConfig) -> dict[str, MethodSpec]:
    """Label → MethodSpec for `cfg.methods`; a hypernet without ":DIR" is `cfg.hypernet`. An
    unknown method or option (or none at all) is an error here, before any model is loaded."""
    from zett.methods import parse_method

    if not cfg.methods:
        raise ValueError("no method given (--methods)")
    return {m: parse_method(m, defaults={"path": cfg.hypernet}) for m in cfg.methods}


def run_demo(cfg: DemoConfig, log: Callable[[str], None] = print) -> DemoResult:
    from zett.assets import checkpoint_name, resolve
    from zett.bench.tables import same_special_rows
    from zett.eval.model_bpb import evaluate_bpb
    from zett.heuristics import SourceEmbeddings
    from zett.methods import MethodInputs, Target
    from zett.models import load_pretrained
    from zett.tokenization import canonicalize, load_tokenizer

    specs = method_specs(cfg)  # bad names fail before the model loads
    t0 = time.perf_counter()
    model = load_pretrained(resolve(cfg.model))
    source = load_tokenizer(resolve(cfg.model))
    source_vocab = canonicalize(source)
    log(
        f"loaded {checkpoint_name(cfg.model)}: {model.config.family}, vocab {model.vocab_size} "
        f"({time.perf_counter() - t0:.0f}s)"
    )
    train, held = split_texts(cfg)
    if cfg.tokenizer:
        target = load_tokenizer(resolve(cfg.tokenizer))
        target_name = Path(cfg.tokenizer).name
    else:
        target = load_tokenizer(train_unigram(train, cfg.vocab_size))
        target_name = f"unigram-{cfg.lang}-{cfg.vocab_size // 1000}k"
    target_vocab = canonicalize(target)
    log(f"target tokenizer {target_name}: {target_vocab.size} tokens; {len(held)} held-out texts")
    prefix = source_vocab.special("bos") or source_vocab.special("eos")
    if prefix is None:
        raise ValueError(
            f"{cfg.model}'s tokenizer has neither a BOS nor an EOS token to condition texts on"
        )
    result = DemoResult(
        checkpoint_name(cfg.model), len(held), sum(len(h.encode("utf-8")) for h in held)
    )
    e_in = np.asarray(model.get_input_embeddings())
    e_out = None if model.tied else np.asarray(model.get_output_embeddings())
    source_tables = SourceEmbeddings(source_vocab, e_in, e_out)

    def score(method: str, tok, tables=None) -> None:
        t = time.perf_counter()
        vocab = source_vocab if tables is None else target_vocab
        if tables is not None:  # every method: the same special-token rows
            tables = same_special_rows(tables, source_tables, target_vocab)
        unk = vocab.special("unk")
        r = evaluate_bpb(
            model,
            tok,
            held,
            prefix_row=prefix.id,
            input_embeddings=None if tables is None else tables.input_embeddings,
            output_embeddings=None if tables is None or model.tied else tables.output_embeddings,
            special_ids=vocab.special_ids,
            unk_id=None if unk is None else unk.id,
            progress=False,
        )
        result.rows.append(
            DemoRow(
                method,
                cfg.model if tables is None else target_name,
                r.bits_per_byte,
                r.bytes_per_token,
                time.perf_counter() - t,
                r.unk_bytes,
            )
        )
        log(f"  {method:<10} {r.bits_per_byte:.3f} bits/byte, {r.bytes_per_token:.2f} bytes/token")

    score("original", source.tokenizer)
    tables_by_method = {}
    inputs = MethodInputs(texts=train, seed=cfg.seed, lang=cfg.lang)
    for method, spec in specs.items():
        t = time.perf_counter()
        tables = spec.run(
            SourceEmbeddings(source_vocab, e_in, e_out, tokenizer=source),
            Target(target, target_vocab),
            inputs,
        )
        log(
            f"{method}: embeddings for {target_vocab.size} tokens in {time.perf_counter() - t:.1f}s"
        )
        tables_by_method[method] = tables
        score(method, target.tokenizer, tables)
    best = "hypernet" if "hypernet" in tables_by_method else next(iter(tables_by_method), None)
    if best is not None and cfg.max_new_tokens > 0:
        result.generations[best] = generate(
            model,
            target.tokenizer,
            tables_by_method[best],
            prefix.id,
            PROMPTS.get(cfg.lang, held[0][:80]),
            cfg.max_new_tokens,
        )
    return result


def generate(model, tokenizer, tables, prefix_row: int, prompt: str, max_new_tokens: int) -> str:
    """Greedy continuation by the transferred model (tables swapped in, ids in the new tokenizer)."""
    import jax.numpy as jnp

    from zett.models.generate import generate_greedy

    e_in = np.concatenate(
        [tables.input_embeddings, np.asarray(model.get_input_embeddings())[prefix_row][None]]
    )
    old_in = model.get_input_embeddings()
    old_out = None if model.tied else model.get_output_embeddings()
    try:
        model.set_input_embeddings(jnp.asarray(e_in, old_in.dtype))
        if old_out is not None:
            e_out = np.concatenate(
                [tables.output_embeddings, np.asarray(old_out)[prefix_row][None]]
            )
            model.set_output_embeddings(jnp.asarray(e_out, old_out.dtype))
        ids = [e_in.shape[0] - 1] + tokenizer.encode(prompt, add_special_tokens=False).ids
        out = generate_greedy(model, jnp.asarray([ids], jnp.int32), max_new_tokens)
        new = [
            int(i)
            for i in np.asarray(out)[0, len(ids) :]
            if int(i) < tables.input_embeddings.shape[0]
        ]
        return prompt + " ▸ " + tokenizer.decode(new)
    finally:
        model.set_input_embeddings(old_in)
        if old_out is not None:
            model.set_output_embeddings(old_out)
