"""Plans and runs a vocabulary extension: layout → tokenizer → checkpoint → config, then verifies."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from zett.checkpoint import (
    PROVENANCE_FILE,
    read_hf_config,
    read_json_object,
    tensor_entries,
    tensor_shapes,
    vocab_tensors,
    write_atomic,
)
from zett.extend.checkpoint import extend_checkpoint, new_row_ids
from zett.extend.hf_config import read_layout, segment_tables, update_config
from zett.extend.init import InitSpec, decompose_texts
from zett.extend.layout import IdMapping, LayoutError, VocabLayout
from zett.extend.tokenizer import add_tokens, load_tokenizer, save_tokenizer, verify_tokenizer

LAYOUT_FILE = "vocab_layout.json"


def tokenizer_size(tokenizer: Tokenizer) -> int:
    """1 + the largest id of the tokenizer (model vocabulary and added tokens)."""
    return max(tokenizer.get_vocab(with_added_tokens=True).values()) + 1


@dataclass(frozen=True)
class ExtensionPlan:
    """Everything decided before any file is written (what `--dry-run` prints)."""

    old_layout: VocabLayout
    new_layout: VocabLayout
    mapping: IdMapping
    segment: str
    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    special: bool
    config: dict | None = None  # updated config.json (None in tokenizer-only mode)
    tensors: dict = field(default_factory=dict)  # {name: kind} of the vocabulary tensors
    # {name: segment} of the tables whose rows are one segment's ids (Gemma-3n's per-layer and
    # modality embeddings): they grow with that segment
    segment_tensors: dict = field(default_factory=dict)

    def describe(self) -> str:
        moved = int((self.mapping.old_to_new != np.arange(self.mapping.old_size)).sum())
        lines = [
            "old layout:",
            self.old_layout.describe(),
            "",
            "new layout:",
            self.new_layout.describe(),
            "",
            f"{len(self.tokens)} {'special' if self.special else 'regular'} tokens into segment "
            f"{self.segment!r}: ids [{self.token_ids[0]}, {self.token_ids[-1] + 1})"
            f"  first {self.tokens[0]!r}, last {self.tokens[-1]!r}",
            f"old ids moved by the re-layout: {moved}",
        ]
        if self.tensors:
            lines.append("tensors: " + ", ".join(f"{n} ({k})" for n, k in self.tensors.items()))
        for n, seg in self.segment_tensors.items():
            old, new = self.old_layout[seg], self.new_layout[seg]
            lines.append(f"tensor {n}: the ids of segment {seg!r}, {old.size} -> {new.size} rows")
        return "\n".join(lines)


def plan_extension(
    tokenizer: Tokenizer,
    tokens: Sequence[str],
    config: dict | None = None,
    segment: str = "text",
    special: bool = False,
    pad_to_multiple: int | None = None,
    checkpoint_rows: int | None = None,
    tensors: dict | None = None,
    declared: VocabLayout | None = None,
    segment_tensors: dict[str, tuple[str, int]] | None = None,
) -> ExtensionPlan:
    """Where `tokens` go: grows `segment` (or adds it as a new one), shifts later segments, pads.

    `segment_tensors` {name: (segment, rows)}: tables over one segment's ids, whose row count must
    be that segment's size. Raises `LayoutError` for inconsistent sizes (tokenizer > config, config ≠
    checkpoint rows) and for layouts the config cannot express."""
    if not tokens:
        raise ValueError("no tokens to add")
    n_tok = tokenizer_size(tokenizer)
    if config is not None:
        old = read_layout(config, tokenizer_size=n_tok, declared=declared)
    elif declared is not None:
        if declared.without_reserved_tail().size != n_tok:
            raise LayoutError(
                f"size mismatch: tokenizer has {n_tok} tokens, the saved layout {declared.size} ids"
            )
        old = declared
    else:
        old = VocabLayout.of(text=n_tok)
    if checkpoint_rows is not None and checkpoint_rows != old.size:
        raise LayoutError(
            f"size mismatch: the checkpoint's embedding has {checkpoint_rows} rows but "
            f"config/tokenizer "
            f"describe {old.size} ids (tokenizer: {n_tok})"
        )
    for name, (seg, rows) in (segment_tensors or {}).items():
        if seg not in old or old[seg].size != rows:
            have = f"{old[seg]} has {old[seg].size} ids" if seg in old else "is not in the layout"
            raise LayoutError(
                f"size mismatch: tensor {name!r} has {rows} rows but segment {seg!r} {have}"
            )
    if segment in old:
        if old[segment].reserved:
            raise LayoutError(
                f"segment {segment!r} is reserved padding; add tokens to a modality segment"
            )
        new, mapping = old.grow(segment, len(tokens))
    else:
        new, mapping = old.add_segment(segment, len(tokens))
    token_ids = tuple(int(i) for i in mapping.new_ids[segment])
    if pad_to_multiple is not None:  # 0 or below is refused there, not read as "no padding"
        new, pad = new.pad_to_multiple(pad_to_multiple)
        mapping = mapping.compose(pad)
        token_ids = tuple(int(pad(i)) for i in token_ids)
    new_config = update_config(config, new, mapping) if config is not None else None
    return ExtensionPlan(
        old,
        new,
        mapping,
        segment,
        tuple(tokens),
        token_ids,
        special,
        new_config,
        dict(tensors or {}),
        {n: seg for n, (seg, _) in (segment_tensors or {}).items()},
    )


def fvt_decompositions(plan: ExtensionPlan, original: Tokenizer) -> tuple[tuple[int, ...], ...]:
    """Per new row (in `new_row_ids` order): old-tokenizer ids of its text; special tokens and
    padding rows have no textual form (empty → mean of the old rows)."""
    texts = {i: (None if plan.special else t) for t, i in zip(plan.tokens, plan.token_ids)}
    rows = new_row_ids(plan.mapping)
    # ids of the original tokenizer index the old tables, which is what the initialiser sees
    return decompose_texts([texts.get(int(r)) for r in rows], original)


def load_config(model_dir: Path) -> dict | None:
    """config.json of a model directory (None for a tokenizer alone); bad JSON names the file."""
    return read_hf_config(model_dir) if (model_dir / "config.json").is_file() else None


def load_declared_layout(model_dir: Path) -> VocabLayout | None:
    """The layout an earlier `zett extend` saved next to the checkpoint (segment names survive)."""
    f = model_dir / LAYOUT_FILE
    if not f.is_file():
        return None
    try:
        return VocabLayout.from_dict(json.loads(f.read_text()))
    except (LayoutError, KeyError, TypeError, json.JSONDecodeError) as e:
        raise LayoutError(f"{f}: invalid layout: {e}") from None


def plan_for_dir(
    model_dir: str | Path,
    tokens: Sequence[str],
    segment: str = "text",
    special: bool = False,
    pad_to_multiple: int | None = None,
    tokenizer_only: bool = False,
) -> tuple[ExtensionPlan, Tokenizer]:
    """Reads tokenizer, config and checkpoint shapes of an HF directory and plans the extension."""
    model_dir = Path(model_dir)
    tok = load_tokenizer(model_dir)
    config = None if tokenizer_only else load_config(model_dir)
    declared = load_declared_layout(model_dir) if model_dir.is_dir() else None
    rows, tensors, seg_tensors = None, None, None
    if config is not None and not tokenizer_only:
        shapes = tensor_shapes(model_dir)  # a clear error when there are no weights
        total = read_layout(config, declared=declared).size
        tensors = vocab_tensors(shapes, total)
        inputs = [n for n, k in tensors.items() if k == "input"]
        if not inputs:
            emb = {n: s for n, s in shapes.items() if "emb" in n or "lm_head" in n}
            raise LayoutError(
                f"size mismatch: config.json declares {total} ids but no embedding tensor has that "
                f"many rows: {emb}"
            )
        rows = shapes[inputs[0]][0]
        seg_tensors = {n: (s, shapes[n][0]) for n, s in segment_tables(config, shapes).items()}
    plan = plan_extension(
        tok, tokens, config, segment, special, pad_to_multiple, rows, tensors, declared, seg_tensors
    )
    return plan, tok


def run_extension(
    model_dir: str | Path,
    out_dir: str | Path,
    plan: ExtensionPlan,
    original: Tokenizer,
    spec: InitSpec,
    overwrite: bool = False,
    verify: bool = True,
    mass: bool = True,
    progress: bool = True,
    calibrate_padding: bool = True,
) -> dict:
    """Writes the extended tokenizer (and checkpoint when the plan has a config) to `out_dir`.

    Padding rows get `zett.extend.padding`'s row (calibrated on the source model; the mean row
    when the source cannot run in zett, or without `calibrate_padding`, which skips running the
    source model: for models too big to run here). With `mass`, the written model is run on held-out
    passages and the probability on the new ids and on padding is reported
    (`zett.extend.mass`). Returns a summary dict (also what the CLI prints as JSON)."""
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    new_tok = add_tokens(original, plan.tokens, plan.token_ids, plan.special, plan.mapping)
    summary: dict = {
        "out_dir": str(out_dir),
        "tokens": len(plan.tokens),
        "layout": plan.new_layout.to_dict(),
    }
    if plan.config is None:
        save_tokenizer(
            new_tok,
            out_dir,
            model_dir if model_dir.is_dir() else None,
            plan.tokens,
            plan.token_ids,
            plan.special,
            plan.mapping,
        )
        write_atomic(out_dir / LAYOUT_FILE, json.dumps(plan.new_layout.to_dict(), indent=2))
    else:
        if spec.method == "fvt":
            spec = replace(spec, decompositions=fvt_decompositions(plan, original))
        elif spec.method == "hypernet":
            from zett.extend.hypernet_init import hypernet_rows

            if spec.hypernet is None:
                raise ValueError(
                    "init 'hypernet' needs the hypernetwork directory (--hypernet DIR)"
                )
            spec = replace(spec, predicted=hypernet_rows(plan, original, model_dir, spec.hypernet))
        with tempfile.TemporaryDirectory() as tmp:
            save_tokenizer(
                new_tok, tmp, model_dir, plan.tokens, plan.token_ids, plan.special, plan.mapping
            )
            extra = {p.name: p.read_bytes() for p in Path(tmp).iterdir()}
        extra[LAYOUT_FILE] = json.dumps(plan.new_layout.to_dict(), indent=2)
        provenance = _provenance(model_dir, plan, spec)
        if provenance is not None:
            extra[PROVENANCE_FILE] = provenance
        padding_ids = new_padding_ids(plan)
        row = None
        if len(padding_ids):
            if calibrate_padding:
                row, summary["padding"] = _padding_row(model_dir, original, plan)
            else:
                summary["padding"] = {"calibrated": False, "reason": "--no-padding-calibration"}
            extra["generation_config.json"] = _generation_config(model_dir, plan)
        changed = extend_checkpoint(
            model_dir,
            out_dir,
            plan.mapping,
            spec,
            plan.config,
            padding_ids=padding_ids,
            padding_row=row,
            token_rows=~reserved_mask(plan.old_layout),
            tensors=plan.tensors or None,
            segment_tensors={
                n: (plan.old_layout[seg], plan.new_layout[seg])
                for n, seg in plan.segment_tensors.items()
            },
            extra_files=extra,
            overwrite=overwrite,
        )
        summary["tensors"] = {n: {"old": list(a), "new": list(b)} for n, (a, b) in changed.items()}
        if mass:
            summary["mass"], summary["mass_line"] = _mass(out_dir, plan, progress)
    if verify:
        report = verify_tokenizer(out_dir, plan.tokens, plan.token_ids, original, plan.mapping)
        summary["verify"] = {
            "ok": report.ok,
            "backends": list(report.backends),
            "problems": list(report.problems),
        }
    return summary


def reserved_mask(layout: VocabLayout) -> np.ndarray:
    """Bool [layout.size]: True on the ids of reserved (padding) segments."""
    out = np.zeros(layout.size, bool)
    for r in layout.ranges:
        out[r.lo : r.hi] = r.reserved
    return out


def new_padding_ids(plan: ExtensionPlan) -> np.ndarray:
    """The new ids of `plan` that are padding (in a reserved segment of the new layout)."""
    ids = new_row_ids(plan.mapping)
    return ids[reserved_mask(plan.new_layout)[ids]]


def causal_lm(model_dir: Path):
    """(zett model, None) for a causal LM checkpoint, or (None, why not): an architecture zett
    does not implement, or an encoder (no next-token distribution)."""
    from zett.models import UnsupportedModelError, load_pretrained

    try:
        model = load_pretrained(str(model_dir))
    except UnsupportedModelError as e:
        return None, f"does not run in zett: {e}"
    if not model.config.is_causal:
        return None, f"{model.config.family} is an encoder (no next-token probability)"
    return model, None


def _padding_row(
    model_dir: Path, original: Tokenizer, plan: ExtensionPlan
) -> tuple[np.ndarray | None, dict]:
    """The calibrated padding row of the source model, or (None, reason) when it cannot run in
    zett (an architecture zett does not implement) or no direction separates its states."""
    from zett.checkpoint.index import DTYPES
    from zett.extend.padding import PaddingCalibrationError, padding_row

    entries = tensor_entries(model_dir)
    heads = [n for n, k in plan.tensors.items() if k != "bias"] or list(entries)
    dtype = DTYPES[entries[heads[0]].dtype]
    model, reason = causal_lm(model_dir)
    if model is None:
        return None, {"calibrated": False, "reason": reason}
    try:
        pad = padding_row(model, original, dtype=dtype)
    except PaddingCalibrationError as e:
        return None, {"calibrated": False, "reason": str(e)}
    return pad.row, {"calibrated": True, **pad.to_dict()}


def _mass(out_dir: Path, plan: ExtensionPlan, progress: bool) -> tuple[dict, str]:
    """`zett.extend.mass` of the written model: (report dict, line), or a note when the
    architecture does not run in zett."""
    from zett.extend.mass import new_id_mass

    model, reason = causal_lm(out_dir)
    if model is None:
        return {"skipped": reason}, f"not measured ({reason})"
    report = new_id_mass(
        model, load_tokenizer(out_dir), None, plan.new_layout, plan.token_ids, progress=progress
    )
    return report.to_dict(), report.line()


def _generation_config(model_dir: Path, plan: ExtensionPlan) -> str:
    """The source's generation_config.json (or one with the config's bos/eos/pad ids) with every
    padding id in `suppress_tokens`, which transformers' `generate` masks to -inf."""
    path = model_dir / "generation_config.json"
    if path.is_file():
        gen = read_json_object(path)
    else:
        cfg = plan.config or {}
        gen = {k: cfg[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id") if k in cfg}
    pad = np.flatnonzero(reserved_mask(plan.new_layout)).tolist()
    gen["suppress_tokens"] = sorted(set(gen.get("suppress_tokens") or []) | set(pad))
    return json.dumps(gen, indent=2)


def _provenance(model_dir: Path, plan: ExtensionPlan, spec: InitSpec) -> str | None:
    """The source's zett_provenance.json with this extension appended to its "extensions" list
    (None when the source has none)."""
    path = model_dir / PROVENANCE_FILE
    if not path.is_file():
        return None
    record = read_json_object(path)
    record.setdefault("extensions", []).append(
        {
            "tokens": len(plan.tokens),
            "segment": plan.segment,
            "special": plan.special,
            "init": spec.method,
            "vocab_size": [plan.old_layout.size, plan.new_layout.size],
        }
    )
    return json.dumps(record, indent=2)
