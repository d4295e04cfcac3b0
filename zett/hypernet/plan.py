"""Per-device memory of a training run on a mesh, by abstract evaluation (no weights, no devices):
parameters and optimizer state from the shapes and logical axes of the abstract modules, activations
from the traced train step itself (`zett.parallel.memory.peak_bytes`: every intermediate of the
forward, backward and update, live from where it is made to its last use).

`compiled_memory` compiles the very same step for a real mesh (e.g. 8 CPU devices) without
allocating it, and reads XLA's own figures: benchmarks/plan_vs_compiled.py and tests/hypernet/
test_plan.py hold the two side by side."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh

from zett.hypernet.batch import Batch
from zett.hypernet.config import HypernetConfig
from zett.hypernet.model import Frozen, Hypernet
from zett.hypernet.optim import make_optimizer
from zett.hypernet.train_config import TrainConfig
from zett.parallel.memory import peak_bytes
from zett.parallel.mesh import MESH_AXES, batch_field_sharding, logical_to_spec, state_shardings
from zett.sampling.batch import STEP_FIELDS, TEXT_FIELDS

GiB = 1024**3

# what the train step reads: [batch, block] text rows, [k, ...] subset rows
_FIELD_SHAPES = {
    "input_ids": ("text", jnp.int32),
    "attention_mask": ("text", jnp.int32),
    "labels": ("text", jnp.int32),
    "n_bytes": ("rows", jnp.int32),
    "surface_ids": ("surface", jnp.int32),
    "surface_lengths": ("subset", jnp.int32),
    "special_source_ids": ("subset", jnp.int32),
    "source_ids": ("subset", jnp.int32),
    "vocab_mask": ("subset", jnp.bool_),
}


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

    def row(self, component: str) -> PlanRow:
        return next(r for r in self.rows if r.component == component)

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


@dataclass(frozen=True)
class AbstractRun:
    """The modules and batch of a run as shapes only (`jax.ShapeDtypeStruct` values)."""

    base: nnx.Module
    hypernet: Hypernet
    optimizer: nnx.Optimizer
    batch: Batch


def resolved_hypernet(cfg: TrainConfig) -> HypernetConfig:
    """The hypernet config training builds (`zett.hypernet.train.build_hypernet`) for `cfg.model`."""
    mcfg = _model(cfg)
    hcfg = replace(
        cfg.hypernet.for_model(mcfg.hidden_size),
        predict_output_embeddings=not mcfg.tie_word_embeddings,
        surface_maxlen=cfg.collator.surface_maxlen,
        predict_bias=mcfg.is_encoder,
    )
    if hcfg.lang_embedding and not hcfg.languages:
        # training fills them from the corpus; the plan only needs a table of about that size
        hcfg = replace(hcfg, languages=cfg.data.langs or ("lang",))
    return hcfg


def abstract_run(cfg: TrainConfig) -> AbstractRun:
    """Base model, hypernet, optimizer and a batch of `cfg`, evaluated abstractly (no memory)."""
    from zett.models.registry import model_class

    mcfg, hcfg = _model(cfg), resolved_hypernet(cfg)

    def build():
        base = model_class(mcfg)(mcfg, rngs=nnx.Rngs(0))
        rows = (mcfg.vocab_size, mcfg.hidden_size)
        out = None if mcfg.tie_word_embeddings else jnp.zeros(rows)
        bias = jnp.zeros(rows[0]) if hcfg.predict_bias else None
        hyper = Hypernet(hcfg, jnp.zeros(rows), out, bias, rngs=nnx.Rngs(0))
        return base, hyper, nnx.Optimizer(hyper, make_optimizer(cfg.optim), wrt=nnx.Param)

    base, hyper, optimizer = nnx.eval_shape(build)
    return AbstractRun(base, hyper, optimizer, _abstract_batch(cfg))


def _model(cfg: TrainConfig):
    if cfg.model is None:
        raise ValueError("zett plan needs `model:` (the base model's architecture) in the config")
    return cfg.model


def with_model(cfg: TrainConfig) -> TrainConfig:
    """`cfg` with its base model's architecture filled in where training derives it: the "tiny"
    random decoder takes its vocabulary from the source tokenizer."""
    if cfg.model is not None or cfg.base_model != "tiny" or cfg.source_tokenizer is None:
        return cfg
    from zett.assets import resolve
    from zett.models.decoder import tiny_config
    from zett.tokenization import load_tokenizer

    tok = load_tokenizer(resolve(cfg.source_tokenizer))
    return replace(
        cfg, model=tiny_config(vocab_size=tok.tokenizer.get_vocab_size(with_added_tokens=True))
    )


def _subset_size(cfg: TrainConfig) -> int:
    c = cfg.collator
    if c.n_subsample is not None:
        return c.n_subsample
    s = c.sampler
    return s.vocab_size if s.vocab_size_dist == "fixed" else s.vocab_size_max


def _abstract_batch(cfg: TrainConfig) -> Batch:
    c = cfg.collator
    dims = {
        "text": (c.batch_size, c.block_size),
        "rows": (c.batch_size,),
        "surface": (_subset_size(cfg), c.surface_maxlen),
        "subset": (_subset_size(cfg),),
    }
    fields = {n: jax.ShapeDtypeStruct(dims[kind], dt) for n, (kind, dt) in _FIELD_SHAPES.items()}
    language = jax.ShapeDtypeStruct((), np.int32) if cfg.hypernet.lang_embedding else None
    return Batch(**{n: fields[n] for n in STEP_FIELDS}, language=language)


def _step(graphs, states, batch: Batch, aux_weight: float):
    """The train step as a function of the modules' states (what tracing and lowering see)."""
    from zett.hypernet.step import train_step

    hyper, optimizer, base = (nnx.merge(g, s) for g, s in zip(graphs, states))
    metrics = train_step.fun(hyper, optimizer, base, batch, aux_weight, identity=False)
    return metrics, nnx.state(hyper), nnx.state(optimizer)


def activation_bytes(
    cfg: TrainConfig, mesh: dict[str, int], run: AbstractRun
) -> tuple[float, float]:
    """Per-device peak of the train step's intermediates (activations kept for the backward pass,
    gradients, the update's temporaries), with and without whole copies of gathered weights: the
    traced step walked in program order. A value whose leading axis is the batch is split over
    data × fsdp, one whose leading axis is the vocabulary subset over every device (the "batch" /
    "hyper_tokens" rules), one shaped like a parameter (its gradient, its update, a cast of it)
    like that parameter, and is gathered whole where a matmul reads it (fsdp; XLA keeps the
    forward pass's whole copy for the backward pass, a scheduler that gathers again instead saves
    up to the difference of the two figures); the rest is whole on every device."""
    c, mcfg = cfg.collator, _model(cfg)
    rules = cfg.mesh.rules
    like_param = {
        shape: _shard_factor(shape, axes, rules, mesh)
        for module in (run.base, run.hypernet, run.optimizer)
        for shape, _, axes in _variables(module, nnx.Variable)
    }
    k = _subset_size(cfg)
    n_dev = int(np.prod(list(mesh.values())))
    data_par = _divisor(c.batch_size, mesh["data"] * mesh["fsdp"])
    model_dims = {mcfg.intermediate_size, mcfg.num_attention_heads, k}

    def size(shape: tuple[int, ...], dtype) -> float:
        n = float(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
        if not shape:
            return n
        if shape[0] == k:
            return n / _divisor(k, n_dev)
        if shape[0] == c.batch_size:
            split = data_par
            if mesh["model"] > 1 and any(d in model_dims for d in shape[1:]):
                split *= mesh["model"]
            return n / split
        return n / like_param.get(shape, 1)

    def gathered(shape: tuple[int, ...], dtype) -> float:
        """A sharded parameter read by a matmul is gathered whole on every device."""
        factor = like_param.get(shape, 1) if shape and shape[0] not in (k, c.batch_size) else 1
        return float(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize * (1 - 1 / factor)

    graphs, states = zip(*(nnx.split(m) for m in (run.hypernet, run.optimizer, run.base)))
    jaxpr = jax.make_jaxpr(lambda s, b: _step(graphs, s, b, cfg.aux_weight))(states, run.batch)
    return peak_bytes(jaxpr.jaxpr, size, gathered), peak_bytes(jaxpr.jaxpr, size)


def _divisor(n: int, parts: int) -> int:
    """`parts` when it divides `n` (the dimension is sharded), else 1 (it stays replicated)."""
    return parts if parts > 1 and n % parts == 0 else 1


def _shard_factor(shape: tuple[int, ...], axes, rules, mesh: dict[str, int]) -> int:
    spec = logical_to_spec(axes, rules)
    factor = 1
    for dim, entry in zip(shape, tuple(spec)):
        names = (entry,) if isinstance(entry, str) else tuple(entry or ())
        size = int(np.prod([mesh[n] for n in names])) if names else 1
        if size > 1 and dim % size == 0:
            factor *= size
    return factor


def _variables(module: nnx.Module, var_type) -> list[tuple[tuple[int, ...], jnp.dtype, tuple]]:
    out = []
    for _, var in nnx.state(module, var_type).flat_state():
        value = var.get_value()
        out.append(
            (tuple(value.shape), jnp.dtype(value.dtype), var.get_metadata().get("out_sharding"))
        )
    return out


def _row(name: str, variables, rules, mesh, copies: int = 1, note: str = "") -> PlanRow:
    n = sum(int(np.prod(s)) for s, _, _ in variables)
    total = per_dev = 0.0
    for shape, dtype, axes in variables:
        nbytes = int(np.prod(shape)) * dtype.itemsize * copies
        total += nbytes
        per_dev += nbytes / _shard_factor(shape, axes, rules, mesh)
    return PlanRow(name, n, int(total), per_dev, note)


def plan_memory(cfg: TrainConfig, mesh: dict[str, int], activations: bool = True) -> MemoryPlan:
    """Frozen base model (its parameter dtype, no optimizer), hypernet (fp32 parameters + AdamW
    moments), its frozen source tables, the batch, and the step's activations (`activation_bytes`;
    `activations=False` skips tracing the step)."""
    cfg = with_model(cfg)
    mcfg = _model(cfg)
    rules = cfg.mesh.rules
    run = abstract_run(cfg)
    plan = MemoryPlan(mesh=mesh)
    plan.rows.append(
        _row(
            "base model (frozen)",
            _variables(run.base, nnx.Param),
            rules,
            mesh,
            note=f"{mcfg.param_dtype}, no gradients or optimizer state",
        )
    )
    hvars = _variables(run.hypernet, nnx.Param)
    plan.rows.append(_row("hypernet params", hvars, rules, mesh, note="fp32"))
    opt_vars = [v for v in _variables(run.optimizer, nnx.Variable) if len(v[0])]
    plan.rows.append(
        _row("optimizer state", opt_vars, rules, mesh, note="AdamW mu + nu, fp32 (+ step count)")
    )
    plan.rows.append(
        _row(
            "source tables (frozen)",
            _variables(run.hypernet, Frozen),
            rules,
            mesh,
            note="fp32, rows over fsdp",
        )
    )
    n_dev = int(np.prod(list(mesh.values())))
    batch_dev = 0.0
    for name in STEP_FIELDS:
        value = getattr(run.batch, name)
        nbytes = int(np.prod(value.shape)) * np.dtype(value.dtype).itemsize
        split = mesh["data"] * mesh["fsdp"] if name in TEXT_FIELDS else n_dev
        batch_dev += nbytes / _divisor(value.shape[0], split)
    c = cfg.collator
    k = _subset_size(cfg)
    plan.rows.append(
        PlanRow("batch", 0, 0, batch_dev, f"{c.batch_size} × {c.block_size} tokens, subset k={k}")
    )
    if activations:
        peak, without_gathers = activation_bytes(cfg, mesh, run)
        note = "peak of the traced step (saved for backward, gradients, update)"
        if peak > without_gathers:
            note += f"; {(peak - without_gathers) / GiB:.2f} GiB of it whole gathered weights"
        plan.rows.append(PlanRow("activations", 0, 0, peak, note))
    return plan


@dataclass(frozen=True)
class CompiledMemory:
    """XLA's per-device figures for the compiled train step (bytes): `arguments` (parameters,
    optimizer state, batch), `temp` (everything the step allocates beyond its arguments and
    results), and the arguments of the same step without the optimizer (`arguments_no_optimizer`:
    the forward/eval step's), which splits the arguments into parameters and optimizer state."""

    arguments: int
    outputs: int
    aliased: int
    temp: int
    arguments_no_optimizer: int


def compiled_memory(cfg: TrainConfig, mesh: Mesh) -> CompiledMemory:
    """Compiles the train step of `cfg` for `mesh` (devices must exist; nothing is allocated) and
    reads `memory_analysis()`."""
    from zett.hypernet.step import eval_step, train_step

    cfg = with_model(cfg)
    run = abstract_run(cfg)
    rules = cfg.mesh.rules
    for module in (run.base, run.hypernet, run.optimizer):
        _place_abstract(module, mesh, rules)
    batch = Batch(
        **{
            n: jax.ShapeDtypeStruct(
                getattr(run.batch, n).shape,
                getattr(run.batch, n).dtype,
                sharding=batch_field_sharding(n, getattr(run.batch, n).shape, mesh, rules),
            )
            for n in STEP_FIELDS
        },
        language=run.batch.language,
    )
    train = train_step.lower(run.hypernet, run.optimizer, run.base, batch, cfg.aux_weight)
    stats = train.compile().memory_analysis()
    forward = eval_step.lower(run.hypernet, run.base, batch).compile().memory_analysis()
    return CompiledMemory(
        arguments=int(stats.argument_size_in_bytes),
        outputs=int(stats.output_size_in_bytes),
        aliased=int(stats.alias_size_in_bytes),
        temp=int(stats.temp_size_in_bytes),
        arguments_no_optimizer=int(forward.argument_size_in_bytes),
    )


def _place_abstract(module: nnx.Module, mesh: Mesh, rules) -> None:
    """Gives every abstract variable of `module` the sharding its logical axes ask for on `mesh`."""
    state = nnx.state(module)
    shardings = state_shardings(state, mesh, rules)

    def place(var, sharding):
        value = var.get_value()
        var.set_value(jax.ShapeDtypeStruct(value.shape, value.dtype, sharding=sharding))
        return var

    jax.tree.map(place, state, shardings, is_leaf=lambda x: isinstance(x, nnx.Variable))
    nnx.update(module, state)
