"""Helpers shared by the hypernet tests (imported via tests/hypernet/conftest.py's path entry)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.hypernet.model import Rescaler


def set_rescalers(hn, seed: int) -> dict[str, np.ndarray]:
    """Non-trivial values (a scale of ones would survive many bugs); returns what was set."""
    rng = np.random.default_rng(seed)
    values = {}
    for path, var in nnx.state(hn, Rescaler).flat_state():
        name = ".".join(map(str, path))
        values[name] = rng.normal(1.0, 0.3, size=var.get_value().shape).astype(np.float32)
        var.set_value(jnp.asarray(values[name]))
    nnx.update(hn, nnx.state(hn, Rescaler))
    return values


def rescalers(hn) -> dict[str, np.ndarray]:
    return {
        ".".join(map(str, p)): np.asarray(v.get_value())
        for p, v in nnx.state(hn, Rescaler).flat_state()
    }
