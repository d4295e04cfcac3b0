"""`zett extend --check`: is a checkpoint directory consistent — its layout with its tokenizer, every
table indexed by token id with the range of ids it serves, and does transformers accept its shapes?"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from zett.checkpoint import tensor_shapes, vocab_tensors
from zett.extend.hf_config import read_layout, segment_tables
from zett.extend.tokenizer import load_tokenizer, verify_tokenizer


@dataclass
class CheckReport:
    """`lines`: what was found; `problems`: what is wrong; `notes`: checks that could not run."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_model_dir(src: Path, tokens: list[str], load_test: bool = True) -> CheckReport:
    """Checks `src` (an HF model directory or a tokenizer.json) and, when given, that `tokens`
    encode as single ids."""
    from zett.extend.pipeline import load_config, load_declared_layout, tokenizer_size

    report = CheckReport()
    tok = load_tokenizer(src)
    config = load_config(src) if src.is_dir() else None
    if config is not None:
        layout = read_layout(
            config,
            tokenizer_size=tokenizer_size(tok),
            where=str(src / "config.json"),
            declared=load_declared_layout(src),
        )
        report.lines.append(layout.describe())
        if any(src.glob("*.safetensors")):
            shapes = tensor_shapes(src)
            _check_tables(config, layout, shapes, report)
            if load_test:
                _load_test(src, shapes, report)
    if tokens:
        ids = [tok.token_to_id(t) for t in tokens]
        missing = [t for t, i in zip(tokens, ids) if i is None]
        if missing:
            report.problems.append(
                f"{len(missing)} token(s) not in the tokenizer, e.g. {missing[0]!r}"
            )
        else:
            tok_dir = src if src.is_dir() else src.parent
            report.problems += verify_tokenizer(tok_dir, tokens, ids).problems
    return report


def _check_tables(config: dict, layout, shapes: dict, report: CheckReport) -> None:
    found = vocab_tensors(shapes, layout.size)
    if not any(k == "input" for k in found.values()):
        emb = {n: s for n, s in shapes.items() if "emb" in n or "lm_head" in n}
        report.problems.append(f"size mismatch: no embedding tensor has {layout.size} rows: {emb}")
    else:
        report.lines.append(
            "vocabulary tensors: " + ", ".join(f"{n} {list(shapes[n])}" for n in found)
        )
    for name, seg in segment_tables(config, shapes).items():
        rows, want = shapes[name][0], layout[seg]
        if rows != want.size:
            report.problems.append(
                f"size mismatch: tensor {name!r} has {rows} rows but segment {want} has "
                f"{want.size} ids"
            )
        else:
            report.lines.append(f"segment table {name} {list(shapes[name])}: the ids of {want}")


def _load_test(src: Path, shapes: dict, report: CheckReport) -> None:
    """Builds the config's architecture in transformers on the meta device (no memory, no weights)
    and compares every tensor shape it expects with the checkpoint's: what `from_pretrained` would
    refuse as a size mismatch."""
    try:
        import torch
        import transformers
    except ImportError:
        report.notes.append("transformers load test skipped: transformers/torch not installed")
        return
    missing: list[str] = []
    try:
        config = transformers.AutoConfig.from_pretrained(str(src))
        arch = (getattr(config, "architectures", None) or [None])[0]
        cls = getattr(transformers, arch, None) if arch else None
        with torch.device("meta"), _towers_optional(missing):
            model = cls(config) if cls else transformers.AutoModelForCausalLM.from_config(config)
    except Exception as e:  # the table checks above still hold
        report.notes.append(
            f"transformers load test skipped: the architecture cannot be built here "
            f"({type(e).__name__}: {str(e).splitlines()[0][:160]})"
        )
        return
    for m in missing:
        report.notes.append(f"transformers load test: {m}; its weights are not checked")
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    common = [k for k in shapes if k in expected]
    wrong = [k for k in common if expected[k] != tuple(shapes[k])]
    for k in wrong[:10]:
        report.problems.append(
            f"transformers expects {k} of shape {list(expected[k])}, the checkpoint has "
            f"{list(shapes[k])}"
        )
    if len(common) < len(shapes) // 2:
        report.notes.append(
            f"transformers load test: only {len(common)} of {len(shapes)} tensor names match "
            f"{type(model).__name__}'s"
        )
    else:
        report.lines.append(
            f"transformers {type(model).__name__}: {len(common)} tensors checked, "
            f"{len(wrong)} of the wrong shape"
        )


@contextmanager
def _towers_optional(missing: list[str]) -> Iterator[None]:
    """A sub-model that needs a package not installed here (Gemma-3n's vision tower needs timm) is
    built as an empty module, so the rest of the architecture is still checked; each is listed in
    `missing`."""
    import torch
    from transformers import AutoModel

    real = AutoModel.from_config

    def from_config(config, *args, **kwargs):
        try:
            return real(config, *args, **kwargs)
        except ImportError as e:
            name = getattr(config, "model_type", type(config).__name__)
            missing.append(
                f"the {name} sub-model cannot be built ({str(e).strip()[:120] or 'ImportError'})"
            )
            return torch.nn.Module()

    with mock.patch.object(AutoModel, "from_config", from_config):
        yield
