"""Per-device memory of a training run on a mesh, by abstract evaluation (no weights, no devices)."""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.hypernet.model import Hypernet
from zett.hypernet.train_config import TrainConfig
from zett.parallel.mesh import MESH_AXES, logical_to_spec

GiB = 1024**3


@dataclass
class PlanRow:
    component: str
    n_params: int
    total_bytes: int
    per_device_bytes: float
    note: str = ""


@dataclass
class MemoryPlan:
    mesh: dict[str, int]
    rows: list[PlanRow] = field(default_factory=list)

    @property
    def per_device_bytes(self) -> float:
        return sum(r.per_device_bytes for r in self.rows)

    def to_dict(self) -> dict:
        return {
            "mesh": self.mesh,
            "per_device_GiB": self.per_device_bytes / GiB,
            "rows": [r.__dict__ | {"per_device_GiB": r.per_device_bytes / GiB} for r in self.rows],
        }


def parse_mesh(text: str) -> dict[str, int]:
    """ "data=2,fsdp=16,model=1" or "2x16x1" → {"data": 2, "fsdp": 16, "model": 1}."""
    try:
        if "=" in text:
            sizes = {k.strip(): int(v) for k, v in (p.split("=") for p in text.split(",") if p)}
        else:
            sizes = dict(zip(MESH_AXES, (int(v) for v in text.lower().split("x"))))
    except ValueError:
        raise ValueError(
            f"mesh {text!r}: expected sizes like 'data=1,fsdp=32,model=1' or '1x32x1'"
        ) from None
    if any(v < 1 for v in sizes.values()):
        raise ValueError(f"mesh {text!r}: every axis size must be at least 1")
    unknown = set(sizes) - set(MESH_AXES)
    if unknown:
        raise ValueError(f"unknown mesh axes {sorted(unknown)}; use {MESH_AXES}")
    return {a: sizes.get(a, 1) for a in MESH_AXES}


def _shard_factor(shape: tuple[int, ...], axes, rules, mesh: dict[str, int]) -> int:
    spec = logical_to_spec(axes, rules)
    factor = 1
    for dim, entry in zip(shape, tuple(spec)):
        names = (entry,) if isinstance(entry, str) else tuple(entry or ())
        size = int(np.prod([mesh[n] for n in names])) if names else 1
        if size > 1 and dim % size == 0:
            factor *= size
    return factor


def _variables(
    abstract: nnx.Module, var_type
) -> list[tuple[tuple[int, ...], jnp.dtype, tuple | None]]:
    out = []
    for _, var in nnx.state(abstract, var_type).flat_state():
        value = var.get_value()
        out.append(
            (tuple(value.shape), jnp.dtype(value.dtype), var.get_metadata().get("out_sharding"))
        )
    return out


def _row(
    name: str, variables, rules, mesh, bytes_per: int | None = None, copies: int = 1, note: str = ""
) -> PlanRow:
    n = sum(int(np.prod(s)) for s, _, _ in variables)
    total = per_dev = 0.0
    for shape, dtype, axes in variables:
        nbytes = int(np.prod(shape)) * (bytes_per or dtype.itemsize) * copies
        total += nbytes
        per_dev += nbytes / _shard_factor(shape, axes, rules, mesh)
    return PlanRow(name, n, int(total), per_dev, note)


def plan_memory(cfg: TrainConfig, mesh: dict[str, int]) -> MemoryPlan:
    """Frozen base model (compute dtype, no optimizer), hypernet (fp32 + AdamW moments), and an
    analytic estimate of activations for one step (base forward+backward, logits, hypernet)."""
    if cfg.model is None:
        raise ValueError("zett plan needs `model:` (the base model's architecture) in the config")
    from zett.models.registry import abstract_model

    mcfg = cfg.model
    base = abstract_model(mcfg)
    rules = cfg.mesh.rules
    plan = MemoryPlan(mesh=mesh)
    compute_bytes = jnp.dtype(mcfg.dtype).itemsize
    plan.rows.append(
        _row(
            "base model (frozen)",
            _variables(base, nnx.Param),
            rules,
            mesh,
            compute_bytes,
            note=f"{mcfg.dtype}, no gradients or optimizer state",
        )
    )
    d = mcfg.hidden_size
    hcfg = cfg.hypernet
    untied = hcfg.predict_output_embeddings
    src = jax.ShapeDtypeStruct((mcfg.vocab_size, d), jnp.float32)
    hyper = nnx.eval_shape(
        lambda s: Hypernet(
            hcfg, jnp.zeros(s.shape), jnp.zeros(s.shape) if untied else None, rngs=nnx.Rngs(0)
        ),
        src,
    )
    hvars = _variables(hyper, nnx.Param)
    plan.rows.append(_row("hypernet params", hvars, rules, mesh, 4, note="fp32"))
    plan.rows.append(
        _row("optimizer state", hvars, rules, mesh, 4, copies=2, note="AdamW mu + nu, fp32")
    )
    from zett.hypernet.model import Frozen

    plan.rows.append(
        _row(
            "source tables (frozen)",
            _variables(hyper, Frozen),
            rules,
            mesh,
            4,
            note="fp32, rows over fsdp",
        )
    )
    col = cfg.collator
    data_par = mesh["data"] * mesh["fsdp"]
    b = max(col.batch_size // data_par, 1)
    t = col.block_size
    k = col.n_subsample or cfg.collator.sampler.vocab_size
    h_heads = mcfg.num_attention_heads
    per_layer = (
        b * t * (8 * d + 3 * mcfg.intermediate_size) * compute_bytes
        + b * h_heads * t * t * compute_bytes
    )
    act_base = per_layer * mcfg.num_hidden_layers / max(mesh["model"], 1)
    act_logits = b * t * k * 4 * 3 / max(mesh["model"], 1)
    hh = hcfg.hidden_size
    # the subset's tokens are independent rows: they shard over every device ("hyper_tokens" rule)
    hyper_bytes = jnp.dtype(hcfg.dtype).itemsize
    act_hyper = (
        k
        * hcfg.surface_maxlen
        * (12 * hh + 2 * hcfg.intermediate_size)
        * hyper_bytes
        * (hcfg.num_layers + 1)
    )
    act_hyper /= int(np.prod(list(mesh.values())))
    plan.rows.append(
        PlanRow(
            "activations: base model", 0, 0, act_base, f"estimate, batch {b}/device × {t} tokens"
        )
    )
    plan.rows.append(
        PlanRow("activations: logits", 0, 0, act_logits, f"estimate, fp32 over subset k={k}")
    )
    plan.rows.append(
        PlanRow(
            "activations: hypernet",
            0,
            0,
            act_hyper,
            f"estimate, {k} tokens × {hcfg.surface_maxlen} pieces",
        )
    )
    return plan
