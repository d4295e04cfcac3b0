"""`zett bench`: bits per byte of models × target tokenizers × languages × embedding methods,
resumable."""

from __future__ import annotations

import inspect
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

METHOD_NAMES = ("original", "fvt", "lexical", "mean", "mean_noise", "mvn", "random", "focus")


@dataclass(frozen=True)
class BenchConfig:
    """models: aliases/paths; tokenizers: `original`, aliases/paths, `unigram:<lang>:<size>`, `bytes`;
    methods: `original`, heuristic names, `hypernet:<dir>`. A `unigram:<lang>` tokenizer is scored
    only on its own language when `unigram_own_language` (a German tokenizer says nothing about
    Hindi)."""

    models: tuple[str, ...] = ("smollm2",)
    tokenizers: tuple[str, ...] = ("bytes",)
    languages: tuple[str, ...] = ("en",)
    methods: tuple[str, ...] = ("original", "fvt", "mean")
    texts_per_language: int = 24
    max_len: int = 256
    batch_size: int = 8
    corpus: str = "data/corpus"
    output: str = "experiments/bench/results"
    unigram_train_texts: int = 3000
    unigram_own_language: bool = True
    hypernet_maxlen: int = 7
    seed: int = 0
    plots: bool = True


@dataclass(frozen=True)
class Cell:
    model: str
    tokenizer: str
    language: str
    method: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.model, self.tokenizer, self.language, self.method)


def validate(config: BenchConfig) -> None:
    """Fails before any work on names that cannot mean anything."""
    for m in config.methods:
        if m not in METHOD_NAMES and not m.startswith("hypernet:"):
            raise ValueError(
                f"unknown method {m!r}; expected one of {list(METHOD_NAMES)} or 'hypernet:<dir>'"
            )
        if m.startswith("hypernet:") and not Path(m.split(":", 1)[1]).is_dir():
            raise FileNotFoundError(
                f"method {m!r}: hypernetwork directory {m.split(':', 1)[1]} not found"
            )
    for t in config.tokenizers:
        if t.startswith("unigram:"):
            parts = t.split(":")
            if len(parts) != 3 or not parts[2].isdigit():
                raise ValueError(f"tokenizer {t!r}: expected 'unigram:<lang>:<vocab_size>'")
        elif t not in ("original", "bytes"):
            from zett import assets

            if not Path(assets.resolve(t)).exists():
                raise FileNotFoundError(
                    f"unknown tokenizer {t!r}: neither an alias nor an existing path"
                )
    from zett import assets

    for m in config.models:
        if not Path(assets.resolve(m)).exists():
            raise FileNotFoundError(
                f"unknown model {m!r}: neither an alias (smollm2, gemma3) nor an existing path"
            )


def _same_checkpoint(a: str, b: str) -> bool:
    from zett import assets

    return a == b or Path(assets.resolve(a)).resolve() == Path(assets.resolve(b)).resolve()


def hypernet_base_model(method: str) -> str:
    """The base model a `hypernet:<dir>` method was trained for (its hypernet.json)."""
    meta = json.loads((Path(method.split(":", 1)[1]) / "hypernet.json").read_text())
    return str(meta["base_model"])


def plan_cells(config: BenchConfig) -> list[Cell]:
    """Order: model → tokenizer → method → language, so one embedding table at a time is alive.

    A model's own tokenizer in `tokenizers` is its `original` row, not a transfer, and a
    hypernetwork only runs on the base model it was trained for, so several models can share one
    config."""
    cells = []
    for model in config.models:
        for lang in config.languages:
            if "original" in config.methods:
                cells.append(Cell(model, "original", lang, "original"))
        for tok in config.tokenizers:
            if tok == "original" or (
                tok not in ("bytes",)
                and not tok.startswith("unigram:")
                and _same_checkpoint(tok, model)
            ):
                continue
            langs = config.languages
            if tok.startswith("unigram:") and config.unigram_own_language:
                langs = tuple(lang for lang in langs if lang == tok.split(":")[1])
            for method in config.methods:
                if method == "original":
                    continue
                if method.startswith("hypernet:") and not _same_checkpoint(
                    hypernet_base_model(method), model
                ):
                    continue
                cells.extend(Cell(model, tok, lang, method) for lang in langs)
    return cells


def make_bytes_tokenizer():
    """A byte-level tokenizer: one token per UTF-8 byte, ids = byte values, plus an `<|endoftext|>`
    special."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    # GPT-2's byte → printable-unicode map, the same one ByteLevel pre-tokenisation emits
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    vocab = {chr(c): b for b, c in zip(bs, cs)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    return tok


def train_unigram(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=["<unk>", "<s>", "</s>"],
        unk_token="<unk>",
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return tok


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class Bench:
    """Runs the cells of a config into `config.output`; every finished cell is a line of
    cells.jsonl."""

    def __init__(self, config: BenchConfig, log: Callable[[str], None] = print) -> None:
        validate(config)
        self.config = config
        self.out = Path(config.output)
        self.out.mkdir(parents=True, exist_ok=True)
        self.log = log
        self._texts: dict[tuple[str, str], list[str]] = {}
        self._tokenizers: dict[str, Any] = {}
        self._model_name: str | None = None
        self._tables_key: tuple | None = None
        self._tables: Any = None

    # -- inputs --------------------------------------------------------------------------------
    def texts(self, lang: str, split: str = "heldout") -> list[str]:
        from zett.data import load_texts

        if (lang, split) not in self._texts:
            n = (
                self.config.texts_per_language
                if split == "heldout"
                else self.config.unigram_train_texts
            )
            texts = list(load_texts(self.config.corpus, split, [lang])["text"][:n])
            if not texts:
                raise ValueError(
                    f"corpus {self.config.corpus} has no {split} texts for language {lang!r}"
                )
            self._texts[(lang, split)] = texts
        return self._texts[(lang, split)]

    def tokenizer(self, spec: str):
        """spec → LoadedTokenizer (Unigram ones trained once and cached under <output>/tokenizers/)."""
        from tokenizers import Tokenizer

        from zett import assets
        from zett.tokenization import load_tokenizer

        if spec in self._tokenizers:
            return self._tokenizers[spec]
        if spec == "bytes":
            loaded = load_tokenizer(make_bytes_tokenizer())
        elif spec.startswith("unigram:"):
            _, lang, size = spec.split(":")
            path = self.out / "tokenizers" / f"unigram-{lang}-{size}.json"
            if path.exists():
                tok = Tokenizer.from_file(str(path))
            else:
                self.log(f"training {spec} on {self.config.unigram_train_texts} {lang} train texts")
                tok = train_unigram(self.texts(lang, "train"), int(size))
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tok.save(str(tmp))
                os.replace(tmp, path)
            loaded = load_tokenizer(tok)
        else:
            loaded = load_tokenizer(assets.resolve(spec))
        self._tokenizers[spec] = loaded
        return loaded

    def model(self, name: str):
        from zett import assets
        from zett.models import load_pretrained
        from zett.tokenization import canonicalize

        if self._model_name != name:
            self._model_name = name
            self._model = load_pretrained(assets.resolve(name))
            self._src = self.tokenizer(name)
            self._src_vocab = canonicalize(self._src)
            prefix = self._src_vocab.special("bos") or self._src_vocab.special("eos")
            if prefix is None:
                raise ValueError(
                    f"model {name!r}: its tokenizer declares neither BOS nor EOS to condition on"
                )
            self._prefix = prefix.id
            self._tables_key = None
        return self._model

    def tables(self, model_name: str, tok_spec: str, method: str):
        """TargetEmbeddings for (model, tokenizer, method), kept until the next combination is asked
        for."""
        key = (model_name, tok_spec, method)
        if self._tables_key == key:
            return self._tables
        self._tables, self._tables_key = None, None
        from zett.heuristics import SourceEmbeddings, get_heuristic
        from zett.tokenization import Decomposer, canonicalize

        model = self.model(model_name)
        target = canonicalize(self.tokenizer(tok_spec))
        e_in = np.asarray(model.get_input_embeddings())
        e_out = None if model.tied else np.asarray(model.get_output_embeddings())
        t0 = time.time()
        if method.startswith("hypernet:"):
            from zett.hypernet.checkpoint import load_hypernet
            from zett.hypernet.predict import predict_embeddings

            hn = load_hypernet(method.split(":", 1)[1], e_in, e_out)
            tables = predict_embeddings(
                hn,
                Decomposer(self._src, maxlen=self.config.hypernet_maxlen),
                target,
                progress=False,
            )
        else:
            fn = get_heuristic(method)  # ImportError for focus while it is not there
            opts: dict[str, Any] = {}
            params = inspect.signature(fn).parameters
            if "texts" in params:
                opts["texts"] = self._train_texts_for(tok_spec)
            if "tokenizer" in params:
                opts["tokenizer"] = self.tokenizer(tok_spec).tokenizer
            source = SourceEmbeddings(self._src_vocab, e_in, e_out)
            tables = fn(source, target, seed=self.config.seed, **opts)
        self.log(f"{model_name} × {tok_spec} × {method}: tables in {time.time() - t0:.1f}s")
        self._tables, self._tables_key = (tables, target), key
        return self._tables

    def _train_texts_for(self, tok_spec: str) -> list[str]:
        if tok_spec.startswith("unigram:"):
            return self.texts(tok_spec.split(":")[1], "train")
        per = max(1, self.config.unigram_train_texts // max(len(self.config.languages), 1))
        return [t for lang in self.config.languages for t in self.texts(lang, "train")[:per]]

    # -- running -------------------------------------------------------------------------------
    def done(self) -> dict[tuple, dict]:
        path = self.out / "cells.jsonl"
        if not path.exists():
            return {}
        out = {}
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                out[(rec["model"], rec["tokenizer"], rec["language"], rec["method"])] = rec
        return out

    def run_cell(self, cell: Cell) -> dict:
        from zett.eval.model_bpb import evaluate_bpb

        model = self.model(cell.model)
        texts = self.texts(cell.language)
        rec: dict[str, Any] = asdict(cell)
        t0 = time.time()
        common = dict(
            max_len=self.config.max_len, batch_size=self.config.batch_size, progress=False
        )
        if cell.method == "original":
            r = evaluate_bpb(
                model,
                self._src.tokenizer,
                texts,
                prefix_row=self._prefix,
                special_ids=self._src_vocab.special_ids,
                **common,
            )
        else:
            try:
                tables, target = self.tables(cell.model, cell.tokenizer, cell.method)
            except ImportError as e:
                rec.update(skipped=f"{cell.method} unavailable: {e}")
                return rec
            r = evaluate_bpb(
                model,
                self.tokenizer(cell.tokenizer).tokenizer,
                texts,
                prefix_row=self._prefix,
                input_embeddings=tables.input_embeddings,
                output_embeddings=tables.output_embeddings,
                special_ids=target.special_ids,
                **common,
            )
        rec.update(
            bits_per_byte=r.bits_per_byte,
            bytes_per_token=r.bytes_per_token,
            nll_bits=r.nll_bits,
            n_bytes=r.n_bytes,
            n_tokens=r.n_tokens,
            n_texts=len(texts),
            seconds=round(time.time() - t0, 2),
        )
        return rec

    def run(self, progress: bool = True) -> list[dict]:
        from tqdm.auto import tqdm

        cells = plan_cells(self.config)
        done = self.done()
        todo = [c for c in cells if c.key not in done]
        self.log(f"{len(cells)} cells, {len(cells) - len(todo)} already done")
        with open(self.out / "cells.jsonl", "a") as f:
            for cell in tqdm(todo, desc="bench", disable=not progress):
                rec = self.run_cell(cell)
                f.write(json.dumps(rec) + "\n")
                f.flush()
                done[cell.key] = rec
        self._tables = None
        records = [done[c.key] for c in cells]
        from zett.eval.report import write_report

        write_report(records, self.out, self.config, plots=self.config.plots)
        return records


def report_only(config: BenchConfig) -> list[dict]:
    """Writes the tables and plots from the cells finished so far (e.g. while a long run is still
    going)."""
    from zett.eval.report import write_report

    done = Bench(config, log=lambda s: None).done()
    records = [done[c.key] for c in plan_cells(config) if c.key in done]
    write_report(records, config.output, config, plots=config.plots)
    return records


def run_bench(
    config: BenchConfig, progress: bool = True, log: Callable[[str], None] = print
) -> list[dict]:
    return Bench(config, log=log).run(progress=progress)
