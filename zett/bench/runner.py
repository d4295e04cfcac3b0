"""`zett bench`: bits per byte of models × target tokenizers × languages × embedding methods ×
evaluation domains, resumable."""

from __future__ import annotations

import hashlib
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
from zett.bench.cells import Cell, donor_for, plan_cells, skipped_donor_cells, table_language
from zett.bench.config import BenchConfig, method_spec, validate
from zett.bench.report import write_report
from zett.bench.tables import focus_vectors, method_tables
from zett.bench.texts import Passages, evaluation_passages, focus_languages, train_texts
from zett.bench.tokenizers import make_bytes_tokenizer, train_unigram
from zett.data.load import corpus_files
from zett.eval.arithmetic import ARITH, digit_split
from zett.eval.model_bpb import evaluate_bpb
from zett.heuristics import SourceEmbeddings, TargetEmbeddings, load_donor
from zett.methods import MethodInputs, Target
from zett.models import load_pretrained
from zett.tokenization import canonicalize, load_tokenizer


def settings(config: BenchConfig, probed: bool = False) -> dict[str, Any]:
    """What a finished cell's numbers depend on besides its key: a cell recorded under other
    settings is computed again, never mixed in. The probe's settings belong to probed cells only,
    so configuring the "after N steps" column keeps the zero-shot cells done."""
    current = {
        "context_bytes": config.protocol.context_bytes,
        "stride_bytes": config.protocol.stride_bytes,
        "texts_per_language": config.texts_per_language,
        "min_units": config.min_units,
        "seed": config.seed,
        "domains": [asdict(d) for d in config.domains],
    }
    if probed:  # which cells are probed (methods, tokenizers) is the plan's business, not theirs
        current["probe"] = {
            k: v for k, v in asdict(config.probe).items() if k not in ("methods", "tokenizers")
        }
    return json.loads(json.dumps(current))  # as read back from cells.jsonl (tuples → lists)


def recorded_settings(cell: dict) -> dict[str, Any]:
    """A finished cell's settings as `settings()` would write them now."""
    recorded = dict(cell.get("settings") or {})
    if not cell.get("steps"):  # zero-shot cells written before the probe left their settings
        recorded.pop("probe", None)
    return recorded


def method_options(method: str) -> dict[str, Any]:
    """Every option of a bench method, defaults resolved: a cell computed when a default was
    different (e.g. the hypernet's `copy_overlap`) is computed again, never mixed in."""
    if method == "original":
        return {}
    spec = method_spec(method)
    options = asdict(spec.options)
    if spec.name == "hypernet":  # new weights at the same path (v2 replacing v1) are another method
        from zett.hypernet.checkpoint import HYPERNET_META, HYPERNET_WEIGHTS

        h = hashlib.sha256()
        for name in (HYPERNET_META, HYPERNET_WEIGHTS):
            h.update((Path(spec.options.path) / name).read_bytes())
        options["sha256"] = h.hexdigest()
    return json.loads(json.dumps(options, default=str))  # as read back from cells.jsonl


class Bench:
    """Runs the cells of a config into `config.output`; every finished cell is a line of
    cells.jsonl."""

    def __init__(self, config: BenchConfig, log: Callable[[str], None] = print) -> None:
        validate(config)
        self.config = config
        # resolved once: what each finished cell's record must match to count as done
        self.method_options = {m: method_options(m) for m in config.methods}
        self.out = Path(config.output)
        self.out.mkdir(parents=True, exist_ok=True)
        self.log = log
        self._passages: dict[tuple[str, str], Passages] = {}
        self._tokenizers: dict[str, Any] = {}
        self._model_name: str | None = None
        self._tables_key: tuple | None = None
        self._tables: Any = None
        self._donors: dict[str, Any] = {}
        self._probed_key: tuple | None = None
        self._probed: Any = None

    # -- inputs --------------------------------------------------------------------------------
    def passages(self, domain: str, lang: str) -> Passages:
        if (domain, lang) not in self._passages:
            d = next(d for d in self.config.domains if d.name == domain)
            self._passages[(domain, lang)] = evaluation_passages(self.config, d, lang)
        return self._passages[(domain, lang)]

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
                texts = train_texts(self.config.corpus, [lang], self.config.unigram_train_texts)
                tok = train_unigram(texts, int(size))
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                tok.save(str(tmp))
                os.replace(tmp, path)
                tok = Tokenizer.from_file(str(path))  # as every later run will see it
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

    def donor(self, tok_spec: str):
        """The loaded donor of a target tokenizer (`BenchConfig.donors`), read once."""
        name = donor_for(self.config, tok_spec)
        if name is None:
            return None
        if name not in self._donors:
            self._donors[name] = load_donor(name)
        return self._donors[name]

    def tables(self, model_name: str, tok_spec: str, method: str, lang: str | None = None):
        """(TargetEmbeddings, target CanonicalVocab) for (model, tokenizer, method), kept until the
        next combination is asked for; `lang`: the language a language-conditioned hypernet predicts
        for (`table_language`), part of the combination."""
        key = (model_name, tok_spec, method, lang)
        if self._tables_key == key:
            return self._tables
        self._tables, self._tables_key = None, None
        model = self.model(model_name)
        target = Target.of(self.tokenizer(tok_spec))
        e_in = np.asarray(model.get_input_embeddings())
        e_out = None if model.tied else np.asarray(model.get_output_embeddings())
        t0 = time.time()
        spec = method_spec(method)
        inputs = MethodInputs(
            donor=self.donor(tok_spec) if "donor" in spec.needs else None,
            seed=self.config.seed,
            lang=lang,
        )
        tables = method_tables(
            spec,
            SourceEmbeddings(self._src_vocab, e_in, e_out, tokenizer=self._src),
            target,
            inputs,
            focus=lambda options: self.focus_vectors(tok_spec, options),
        )
        where = f" ({lang})" if lang is not None else ""
        self.log(f"{model_name} × {tok_spec} × {method}{where}: tables in {time.time() - t0:.1f}s")
        self._tables, self._tables_key = (tables, target.vocab), key
        return self._tables

    def probed_tables(self, cell: Cell):
        """The cell's zero-shot tables after `config.probe.steps` probe updates on train passages
        of its language (one probe per (model, tokenizer, method, language)), and the probe's
        record."""
        key = (cell.model, cell.tokenizer, cell.method, cell.language, cell.steps)
        if self._probed_key == key:
            return self._probed
        from zett.finetune.probe import ProbeConfig, probe

        p = self.config.probe
        tables, vocab = self.tables(cell.model, cell.tokenizer, cell.method, table_language(cell))
        texts = train_texts(self.config.corpus, [cell.language], p.train_texts)
        result = probe(
            self.model(cell.model),
            self.tokenizer(cell.tokenizer),
            tables,
            texts,
            ProbeConfig(
                steps=cell.steps,
                batch_size=p.batch_size,
                block_size=p.block_size,
                lr=p.lr,
                embeddings_only=p.embeddings_only,
                seed=p.seed,
            ),
        )
        tuned = TargetEmbeddings(
            result.input_embeddings, result.output_embeddings, result.output_bias
        )
        info = {
            "probe_loss_first": float(result.losses[0]),
            "probe_loss_last": float(result.losses[-1]),
            "probe_tokens": int(result.tokens),
            "probe_seconds": round(result.seconds, 1),
            "probe_data": result.data,
        }
        self.log(
            f"probe {cell.tokenizer} × {cell.method} × {cell.language}: loss "
            f"{info['probe_loss_first']:.3f} → {info['probe_loss_last']:.3f} in {result.seconds:.0f}s"
        )
        self._probed_key, self._probed = key, ((tuned, vocab), info)
        return self._probed

    def focus_vectors(self, tok_spec: str, options=None):
        """fastText vectors on all training text of the languages the tokenizer serves, fitted once
        (cached under <output>/focus/)."""
        langs = focus_languages(self.config, tok_spec)
        h = hashlib.sha1()
        for path in corpus_files(self.config.corpus, "train", langs):
            h.update(path.read_bytes())
        key = f"{','.join(langs)}:{h.hexdigest()}"
        return focus_vectors(
            self.out / "focus",
            tok_spec,
            self.tokenizer(tok_spec).tokenizer,
            lambda: train_texts(self.config.corpus, langs),
            key,
            options=options,
            log=self.log,
        )

    # -- running -------------------------------------------------------------------------------
    def done(self) -> dict[tuple, dict]:
        """Finished cells recorded under the current settings and their method's current options
        (cells of methods outside the config are not read)."""
        path = self.out / "cells.jsonl"
        if not path.exists():
            return {}
        out, current = {}, {False: settings(self.config), True: settings(self.config, True)}
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                options = self.method_options.get(rec["method"])  # None: a method not planned
                if (
                    recorded_settings(rec) == current[bool(rec.get("steps"))]
                    and options is not None
                    and rec.get("method_options") == options
                ):
                    key = (rec["model"], rec["tokenizer"], rec["language"], rec["method"])
                    out[(*key, rec["domain"], rec.get("steps", 0))] = rec
        return out

    def run_cell(self, cell: Cell) -> dict:
        rec: dict[str, Any] = {
            **asdict(cell),
            "model_name": assets.checkpoint_name(cell.model),
            "tokenizer_name": assets.checkpoint_name(cell.tokenizer),
            "settings": settings(self.config, cell.steps > 0),
            "method_options": self.method_options[cell.method],
        }
        passages = self.passages(cell.domain, cell.language)
        if passages.missing:
            rec["missing"] = passages.missing
            return rec
        model = self.model(cell.model)
        texts = passages.texts
        t0 = time.time()
        if cell.method == "original":
            vocab, tokenizer, tables = self._src_vocab, self._src.tokenizer, None
        elif cell.steps:
            (tables, vocab), info = self.probed_tables(cell)
            rec.update(info)
            tokenizer = self.tokenizer(cell.tokenizer).tokenizer
            t0 = time.time()  # the cell's seconds: scoring, as for zero-shot cells
        else:
            lang = table_language(cell)
            tables, vocab = self.tables(cell.model, cell.tokenizer, cell.method, lang)
            tokenizer = self.tokenizer(cell.tokenizer).tokenizer
        unk = vocab.special("unk")
        r = evaluate_bpb(
            model,
            tokenizer,
            texts,
            prefix_row=self._prefix,
            input_embeddings=None if tables is None else tables.input_embeddings,
            output_embeddings=None if tables is None else tables.output_embeddings,
            output_bias=None if tables is None else tables.output_bias,
            special_ids=vocab.special_ids,
            unk_id=None if unk is None else unk.id,
            protocol=self.config.protocol,
            progress=False,
        )
        if cell.language == ARITH:  # where digit splitting differs between tokenizers
            rec["digit_split"] = digit_split(tokenizer, texts)
        if tables is not None and "n_focus" in tables.info:
            rec.update(focus_vectors=tables.info["n_focus"], focus_fallback=tables.info["n_random"])
        rec.update(
            bits_per_byte=r.bits_per_byte,
            bytes_per_token=r.bytes_per_token,
            nll_bits=r.nll_bits,
            n_bytes=r.n_bytes,
            n_tokens=r.n_tokens,
            n_texts=len(texts),
            n_units=passages.n_units,
            unk_bytes=r.unk_bytes,
            special_bytes=r.special_bytes,
            dropped_bytes=r.dropped_bytes,
            docs=[p["doc"] for p in passages.records],
            doc_bits=list(r.doc_bits),
            doc_bytes=list(r.doc_bytes),
            seconds=round(time.time() - t0, 2),
        )
        return rec

    def run(self, progress: bool = True) -> list[dict]:
        cells = plan_cells(self.config)
        done = self.done()
        todo = [c for c in cells if c.key not in done]
        self.log(f"{len(cells)} cells, {len(cells) - len(todo)} already done")
        for tok, method in skipped_donor_cells(self.config):
            self.log(f"{tok} × {method}: no donor model uses this tokenizer (BenchConfig.donors)")
        for d in self.config.domains:
            for lang in self.config.languages:
                if self.passages(d.name, lang).missing:
                    self.log(f"{d.name} {lang}: missing — {self.passages(d.name, lang).missing}")
        with open(self.out / "cells.jsonl", "a") as f:
            for cell in tqdm(todo, desc="bench", disable=not progress):
                rec = self.run_cell(cell)
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                f.flush()
                done[cell.key] = rec
        self._tables = self._probed = None
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
