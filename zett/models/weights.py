"""Regex rules that map Hugging Face tensor names onto NNX parameter paths, both directions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.checkpoint.errors import CheckpointError

Transform = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class WeightRule:
    """`pattern` matches a whole HF tensor name; `target` is the NNX path with `{0}`, `{1}` for groups.

    `to_zett` converts the HF array into the NNX layout; `to_hf` is its inverse (for export)."""

    pattern: str
    target: str
    to_zett: Transform | None = None
    to_hf: Transform | None = None

    def match(self, name: str) -> re.Match[str] | None:
        return re.fullmatch(self.pattern, name)

    def hf_name(self, path: str) -> str | None:
        """Inverse of the rule: NNX path → HF name, or None when the path is not this rule's."""
        regex = re.escape(self.target)
        for i in range(self.pattern.count("(")):
            regex = regex.replace(re.escape(f"{{{i}}}"), r"(\d+)")
        m = re.fullmatch(regex, path)
        if m is None:
            return None
        name = self.pattern
        for g in m.groups():
            name = re.sub(r"\([^)]*\)", g, name, count=1)
        return name.replace("\\.", ".")


def transpose(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.T)


def param_paths(model: nnx.Module) -> dict[str, nnx.Variable]:
    """Dotted path → Param variable for every parameter of `model`."""
    out: dict[str, nnx.Variable] = {}
    for path, var in nnx.iter_graph(model):
        if isinstance(var, nnx.Param):
            out[".".join(str(p) for p in path)] = var
    return out


def assign_weights(
    model: nnx.Module,
    tensors: dict[str, np.ndarray],
    rules: list[WeightRule],
    source: str = "checkpoint",
    ignore: tuple[str, ...] = (),
) -> None:
    """Loads every HF tensor into `model` through `rules`.

    Raises `CheckpointError` naming `source` and the tensor on: a tensor no rule matches (unless it
    matches an `ignore` regex), a shape that disagrees with the config, a parameter left unassigned.
    """
    params = param_paths(model)
    assigned: set[str] = set()
    for name, array in tensors.items():
        hits = [(r, m) for r in rules if (m := r.match(name))]
        if not hits:
            if any(re.fullmatch(p, name) for p in ignore):
                continue
            raise CheckpointError(
                f"{source}: unexpected tensor {name!r} (no weight rule matches it)"
            )
        if len(hits) > 1:
            raise CheckpointError(
                f"{source}: tensor {name!r} matches several rules: {[r.pattern for r, _ in hits]}"
            )
        rule, m = hits[0]
        path = rule.target.format(*m.groups())
        if path not in params:
            raise CheckpointError(
                f"{source}: tensor {name!r} maps to {path!r}, which the model does not have"
            )
        value = np.asarray(array)
        if rule.to_zett is not None:
            try:
                value = rule.to_zett(value)
            except ValueError as e:  # e.g. a reshape that the tensor's shape cannot satisfy
                raise CheckpointError(
                    f"{source}: tensor {name!r} has shape {tuple(value.shape)}, which does not fit "
                    f"{path} "
                    f"under the config ({e})"
                ) from None
        var = params[path]
        if tuple(value.shape) != tuple(var.get_value().shape):
            raise CheckpointError(
                f"{source}: tensor {name!r} has shape {tuple(np.shape(array))}, but the config "
                f"implies "
                f"{tuple(var.get_value().shape)} for {path}"
            )
        var.set_value(jnp.asarray(value, dtype=var.get_value().dtype))
        assigned.add(path)
    missing = sorted(set(params) - assigned)
    if missing:
        names = [next((n for r in rules if (n := r.hf_name(p))), p) for p in missing]
        raise CheckpointError(
            f"{source}: missing tensor(s) {names[:8]}{' ...' if len(names) > 8 else ''}"
        )


def export_weights(
    model: nnx.Module, rules: list[WeightRule], skip: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """NNX parameters → HF-named numpy arrays; raises on a parameter no rule maps back."""
    out: dict[str, np.ndarray] = {}
    for path, var in param_paths(model).items():
        if any(re.fullmatch(p, path) for p in skip):
            continue
        for rule in rules:
            name = rule.hf_name(path)
            if name is not None:
                value = np.asarray(var.get_value())
                out[name] = rule.to_hf(value) if rule.to_hf is not None else value
                break
        else:
            raise CheckpointError(f"parameter {path!r} has no export rule")
    return out
