"""Peak memory of a traced program by abstract evaluation: walk its jaxpr in program order, each value
live from the equation that makes it to its last use, and take the largest total.

It models what XLA's buffer assignment does with the program, minus its freedom to reorder and
rematerialise:
- fusion: an element-wise result read only by a reduction is computed inside the reduction and never
  stored (the norms and means over whole tables); every other result gets a buffer;
- sharding: sizes are per device through the caller's rule (how a value of a given shape is split);
- gathered weights: a sharded parameter (or a cast of one) read by a matmul is gathered whole, and
  the whole copy stays from its first matmul to its last (the forward pass's copy serves the
  backward pass): `gathered(shape, dtype)` gives the bytes a whole copy adds.
benchmarks/plan_vs_compiled.py compares the result with the compiled program's own figure."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from jax.extend import core as jcore

Size = Callable[[tuple[int, ...], np.dtype], float]  # (shape, dtype) → bytes on one device

ELEMENTWISE = frozenset(
    """abs add and broadcast_in_dim convert_element_type cos div eq erf exp exp2 expm1 ge gt
    integer_pow is_finite le log log1p logistic lt max min mul ne neg not or pow reduce_precision
    rsqrt select_n sign sin sqrt square sub tanh xor""".split()
)
REDUCTIONS = frozenset("reduce_sum reduce_max reduce_min reduce_prod argmax argmin".split())
# calls whose body's inputs are the equation's inputs, one for one
_CALLS = frozenset("pjit closed_call core_call remat checkpoint custom_jvp_call".split())


def global_bytes(shape: tuple[int, ...], dtype) -> float:
    return float(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize


def no_gather(shape: tuple[int, ...], dtype) -> float:
    return 0.0


def peak_bytes(jaxpr: jcore.Jaxpr, size: Size = global_bytes, gathered: Size = no_gather) -> float:
    """Largest total size of the intermediates live at once (the program's inputs and results are
    not counted: they are its arguments and outputs). A call's body counts as its own peak at the
    point of the call."""
    last_use: dict[jcore.Var, int] = {}
    readers: dict[jcore.Var, list[str]] = {}
    matmul_reads: dict[jcore.Var, list[int]] = {}
    for i, eqn in enumerate(jaxpr.eqns):
        for v in _vars(eqn.invars):
            last_use[v] = i
            readers.setdefault(v, []).append(eqn.primitive.name)
        for v in _matmul_operands(eqn):
            matmul_reads.setdefault(v, []).append(i)
    results = set(_vars(jaxpr.outvars))
    fused = {
        v
        for eqn in jaxpr.eqns
        if eqn.primitive.name in ELEMENTWISE
        for v in eqn.outvars
        if len(readers.get(v, ())) == 1 and readers[v][0] in REDUCTIONS
    }
    # whole copies of gathered weights: made at the first matmul reading them, freed after the last
    gather_at: dict[int, list[float]] = {}
    release_at: dict[int, list[float]] = {}
    for v, reads in matmul_reads.items():
        extra = _size(v, gathered)
        if extra:
            gather_at.setdefault(reads[0], []).append(extra)
            release_at.setdefault(reads[-1], []).append(extra)

    live, best = 0.0, 0.0
    held: dict[jcore.Var, float] = {}
    for i, eqn in enumerate(jaxpr.eqns):
        live += sum(gather_at.get(i, ()))
        made = sum(_size(v, size) for v in eqn.outvars if v not in fused)
        inner = max((peak_bytes(j, size) for j in _bodies(eqn)), default=0.0)
        best = max(best, live + max(made, inner))
        for v in eqn.outvars:
            if v in last_use and v not in results and v not in fused:
                held[v] = _size(v, size)
                live += held[v]
        for v in set(_vars(eqn.invars)):
            if last_use.get(v) == i and v in held:
                live -= held.pop(v)
        live -= sum(release_at.get(i, ()))
        best = max(best, live)
    return best


def _vars(atoms) -> Iterator[jcore.Var]:
    return (v for v in atoms if isinstance(v, jcore.Var))


def _matmul_operands(eqn) -> Iterator[jcore.Var]:
    """The inputs of `eqn` that a matmul reads: its operands, or those a call's body multiplies."""
    if eqn.primitive.name == "dot_general":
        yield from _vars(eqn.invars)
    elif eqn.primitive.name in _CALLS:
        for body in _bodies(eqn):
            if len(body.invars) != len(eqn.invars):
                continue
            read = _read_by_matmul(body)
            yield from (
                outer
                for outer, inner in zip(eqn.invars, body.invars)
                if inner in read and isinstance(outer, jcore.Var)
            )


def _read_by_matmul(jaxpr: jcore.Jaxpr) -> set[jcore.Var]:
    return {v for eqn in jaxpr.eqns for v in _matmul_operands(eqn)}


def _size(v, size: Size) -> float:
    aval = getattr(v, "aval", None)
    shape, dtype = getattr(aval, "shape", None), getattr(aval, "dtype", None)
    if shape is None or dtype is None:  # tokens, references
        return 0.0
    return size(tuple(shape), dtype)


def _bodies(eqn) -> Iterator[jcore.Jaxpr]:
    for value in eqn.params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, jcore.ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, jcore.Jaxpr):
                yield item
