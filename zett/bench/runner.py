"""`zett bench`: bits per byte of models × target tokenizers × languages × embedding methods,
resumable."""

from __future__ import annotations

import inspect
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer
from tqdm.auto import tqdm

from zett import assets
from zett.bench.cells import Cell, plan_cells
from zett.bench.config import BenchConfig, validate
from zett.bench.report import write_report
from zett.bench.tokenizers import make_bytes_tokenizer, train_unigram
from zett.data import load_texts
from zett.eval.model_bpb import evaluate_bpb
from zett.heuristics import SourceEmbeddings, get_heuristic
from zett.hypernet.checkpoint import load_hypernet
from zett.hypernet.predict import predict_embeddings
from zett.models import load_pretrained
from zett.tokenization import Decomposer, canonicalize, load_tokenizer


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
        model = self.model(model_name)
        target = canonicalize(self.tokenizer(tok_spec))
        e_in = np.asarray(model.get_input_embeddings())
        e_out = None if model.tied else np.asarray(model.get_output_embeddings())
        t0 = time.time()
        if method.startswith("hypernet:"):
            hn = load_hypernet(method.split(":", 1)[1], e_in, e_out)
            tables = predict_embeddings(
                hn,
                Decomposer(self._src, maxlen=self.config.hypernet_maxlen),
                target,
                progress=False,
            )
        else:
            fn = get_heuristic(method)
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
            tables, target = self.tables(cell.model, cell.tokenizer, cell.method)
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
        write_report(records, self.out, self.config, plots=self.config.plots)
        return records


def report_only(config: BenchConfig) -> list[dict]:
    """Writes the tables and plots from the cells finished so far (e.g. while a long run is still
    going)."""
    done = Bench(config, log=lambda s: None).done()
    records = [done[c.key] for c in plan_cells(config) if c.key in done]
    write_report(records, config.output, config, plots=config.plots)
    return records


def run_bench(
    config: BenchConfig, progress: bool = True, log: Callable[[str], None] = print
) -> list[dict]:
    return Bench(config, log=log).run(progress=progress)
