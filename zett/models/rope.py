"""Rotary position embeddings with the Hugging Face scaling variants: default, linear, dynamic, yarn,
llama3, longrope; and the one translation of HF's rope config keys to `RopeScaling` and back.

Frequencies follow `transformers.modeling_rope_utils` exactly. What only depends on the config is
computed once in numpy (float64, cast to float32); `dynamic` and `longrope` also depend on the
sequence length, which HF takes as `max(position_ids) + 1` at run time, so that part is traced.

Layout: `cos`/`sin` are [batch, seq, head_dim] with the half-frequencies repeated (`cat(f, f)`), and
`apply_rotary` rotates halves (`rotate_half`), i.e. HF's non-interleaved layout."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from zett.models.config import RopeScaling, UnsupportedModelError

ROPE_TYPES = ("default", "linear", "dynamic", "yarn", "llama3", "longrope")


def check_rope_scaling(scaling: RopeScaling | None, head_dim: int) -> None:
    """Raises `UnsupportedModelError` for a rope type or setting zett does not implement."""
    if scaling is None:
        return
    if scaling.rope_type not in ROPE_TYPES:
        raise UnsupportedModelError(
            f"rope type {scaling.rope_type!r} is not supported; zett implements {ROPE_TYPES}"
        )
    if scaling.rope_type == "llama3" and (
        scaling.low_freq_factor is None or scaling.high_freq_factor is None
    ):
        raise UnsupportedModelError(
            "llama3 rope scaling needs low_freq_factor and high_freq_factor"
        )
    if (
        scaling.rope_type in ("yarn", "llama3", "longrope")
        and scaling.original_max_position_embeddings is None
    ):
        raise UnsupportedModelError(
            f"{scaling.rope_type} rope scaling needs original_max_position_embeddings"
        )
    if scaling.rope_type == "longrope":
        for name in ("short_factor", "long_factor"):
            f = getattr(scaling, name)
            if f is None or len(f) != head_dim // 2:
                raise UnsupportedModelError(
                    f"longrope {name} must have head_dim // 2 = {head_dim // 2} entries, "
                    f"got {None if f is None else len(f)}"
                )


# Keys of one HF rope dict (`rope_parameters`, or legacy `rope_scaling`) that zett understands.
HF_ROPE_KEYS = {
    "rope_type", "type", "rope_theta", "factor", "original_max_position_embeddings", "low_freq_factor",
    "high_freq_factor", "beta_fast", "beta_slow", "mscale", "mscale_all_dim", "truncate", "attention_factor",
    "short_factor", "long_factor", "partial_rotary_factor",
}  # fmt: skip
_SCALING_KEYS = (
    "factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor", "beta_fast",
    "beta_slow", "mscale", "mscale_all_dim", "truncate", "attention_factor",
)  # fmt: skip


def rope_from_hf(
    rope: Mapping[str, Any],
    top: Mapping[str, Any],
    *,
    theta: float,
    max_position_embeddings: int,
    what: str,
) -> tuple[float, RopeScaling | None]:
    """(theta, scaling) from one flat HF rope dict: transformers 5 `rope_parameters` or legacy
    `rope_scaling` (`type` or `rope_type`; default, linear, dynamic, yarn, llama3, longrope).

    `top` is the config's top level, where older configs keep `partial_rotary_factor` and
    `original_max_position_embeddings`; `theta` is used when the dict has no `rope_theta`. Raises
    `UnsupportedModelError` naming `what` for nested (per-layer-type) dicts, unknown keys and partial
    rotary. A missing `original_max_position_embeddings` for llama3/yarn/longrope defaults to
    `max_position_embeddings`, as HF's standardisation does."""
    if not isinstance(rope, Mapping):
        raise UnsupportedModelError(f"{what}: rope parameters must be a mapping, got {rope!r}")
    if any(isinstance(v, Mapping) for v in rope.values()):
        raise UnsupportedModelError(
            f"{what}: per-layer-type rope parameters are not supported: {sorted(rope)}"
        )
    unknown = set(rope) - HF_ROPE_KEYS
    if unknown:
        raise UnsupportedModelError(f"{what}: unsupported rope parameter(s) {sorted(unknown)}")
    partial = rope.get("partial_rotary_factor", top.get("partial_rotary_factor", 1.0))
    if partial not in (None, 1, 1.0):
        raise UnsupportedModelError(f"{what}: partial_rotary_factor={partial} is not supported")
    theta = float(rope.get("rope_theta", theta))
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind == "default":
        return theta, None

    def opt(key: str, cast: Any = float) -> Any:
        value = rope.get(key)
        return None if value is None else cast(value)

    orig = top.get("original_max_position_embeddings", rope.get("original_max_position_embeddings"))
    if orig is None and kind in ("llama3", "yarn", "longrope"):
        orig = max_position_embeddings
    scaling = RopeScaling(
        rope_type=kind,
        factor=opt("factor") if kind in ("yarn", "longrope") else float(rope.get("factor", 1.0)),
        original_max_position_embeddings=None if orig is None else int(orig),
        low_freq_factor=opt("low_freq_factor"),
        high_freq_factor=opt("high_freq_factor"),
        beta_fast=opt("beta_fast"),
        beta_slow=opt("beta_slow"),
        mscale=opt("mscale"),
        mscale_all_dim=opt("mscale_all_dim"),
        truncate=opt("truncate", bool),
        attention_factor=opt("attention_factor"),
        short_factor=opt("short_factor", lambda v: tuple(float(x) for x in v)),
        long_factor=opt("long_factor", lambda v: tuple(float(x) for x in v)),
    )
    return theta, scaling


def rope_to_hf(theta: float, scaling: RopeScaling | None) -> dict[str, Any]:
    """The inverse of `rope_from_hf`: one flat transformers 5 `rope_parameters` dict."""
    out: dict[str, Any] = {"rope_type": "default", "rope_theta": theta}
    if scaling is None or scaling.rope_type == "default":
        return out
    out["rope_type"] = scaling.rope_type
    for key in _SCALING_KEYS:
        value = getattr(scaling, key)
        if value is not None:
            out[key] = value
    for key in ("short_factor", "long_factor"):
        if getattr(scaling, key) is not None:
            out[key] = list(getattr(scaling, key))
    return out


def _base_inv_freq(head_dim: int, theta: float) -> np.ndarray:
    """[head_dim // 2] float64: theta ** (-2i / head_dim)."""
    return 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))


def _yarn_mscale(scale: float, mscale: float = 1.0) -> float:
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def _yarn(
    head_dim: int, theta: float, s: RopeScaling, max_position_embeddings: int
) -> tuple[np.ndarray, float]:
    orig = s.original_max_position_embeddings
    factor = s.factor if s.factor is not None else max_position_embeddings / orig
    attention_factor = s.attention_factor
    if attention_factor is None:
        if s.mscale and s.mscale_all_dim:
            attention_factor = _yarn_mscale(factor, s.mscale) / _yarn_mscale(
                factor, s.mscale_all_dim
            )
        else:
            attention_factor = _yarn_mscale(factor)
    beta_fast = s.beta_fast or 32
    beta_slow = s.beta_slow or 1

    def correction_dim(rotations: float) -> float:
        return (head_dim * math.log(orig / (rotations * 2 * math.pi))) / (2 * math.log(theta))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if s.truncate is None or s.truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, head_dim - 1)
    if low == high:
        high += 0.001  # HF: avoids a zero-width ramp
    ramp = np.clip((np.arange(head_dim // 2, dtype=np.float32) - low) / (high - low), 0, 1)
    extrapolation = (
        1.0 - ramp
    )  # 1 → keep the original frequency, 0 → interpolate (divide by factor)
    pos_freqs = theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    inv = (1.0 / (factor * pos_freqs)) * (1 - extrapolation) + (1.0 / pos_freqs) * extrapolation
    return inv, float(attention_factor)


def _llama3(head_dim: int, theta: float, s: RopeScaling) -> np.ndarray:
    inv = _base_inv_freq(head_dim, theta)
    orig = s.original_max_position_embeddings
    low_wavelen = orig / s.low_freq_factor
    high_wavelen = orig / s.high_freq_factor
    wavelen = 2 * math.pi / inv
    scaled = np.where(wavelen > low_wavelen, inv / s.factor, inv)
    smooth = (orig / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor)
    smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return np.where(medium, smoothed, scaled)


def _longrope_attention_factor(s: RopeScaling, max_position_embeddings: int) -> float:
    orig = s.original_max_position_embeddings
    factor = s.factor if s.factor is not None else max_position_embeddings / orig
    if s.attention_factor is not None:
        return float(s.attention_factor)
    if factor <= 1.0:
        return 1.0
    return math.sqrt(1 + math.log(factor) / math.log(orig))


def rope_frequencies(
    head_dim: int,
    theta: float,
    scaling: RopeScaling | None = None,
    max_position_embeddings: int = 2048,
) -> tuple[np.ndarray, float]:
    """Static inverse frequencies [head_dim // 2] (float32) and the cos/sin scale ("attention factor").

    For `dynamic` this is the frequency set for sequences within `max_position_embeddings`, for
    `longrope` the `short_factor` set; `rotary_cos_sin` switches at run time."""
    kind = "default" if scaling is None else scaling.rope_type
    check_rope_scaling(scaling, head_dim)
    attention_factor = 1.0
    if kind in ("default", "dynamic"):
        inv = _base_inv_freq(head_dim, theta)
    elif kind == "linear":
        inv = _base_inv_freq(head_dim, theta) / scaling.factor
    elif kind == "yarn":
        inv, attention_factor = _yarn(head_dim, theta, scaling, max_position_embeddings)
    elif kind == "llama3":
        inv = _llama3(head_dim, theta, scaling)
    else:  # longrope
        inv = _base_inv_freq(head_dim, theta) / np.asarray(scaling.short_factor, np.float64)
        attention_factor = _longrope_attention_factor(scaling, max_position_embeddings)
    return inv.astype(np.float32), attention_factor


def _runtime_inv_freq(
    position_ids: jax.Array,
    head_dim: int,
    theta: float,
    scaling: RopeScaling | None,
    max_position_embeddings: int,
) -> tuple[jax.Array, float]:
    """Inverse frequencies [head_dim // 2] that may depend on `max(position_ids) + 1` (dynamic,
    longrope)."""
    inv, attention_factor = rope_frequencies(head_dim, theta, scaling, max_position_embeddings)
    kind = "default" if scaling is None else scaling.rope_type
    seq_len = jnp.max(position_ids).astype(jnp.float32) + 1
    if kind == "dynamic":
        # NTK-aware base growth beyond the trained length (HF keeps the original frequencies below
        # it).
        seq = jnp.maximum(seq_len, float(max_position_embeddings))
        f = scaling.factor
        base = theta * ((f * seq / max_position_embeddings) - (f - 1)) ** (
            head_dim / (head_dim - 2)
        )
        exponents = jnp.arange(0, head_dim, 2, dtype=jnp.float32) / head_dim
        return 1.0 / (base**exponents), attention_factor
    if kind == "longrope":
        long = (
            _base_inv_freq(head_dim, theta) / np.asarray(scaling.long_factor, np.float64)
        ).astype(np.float32)
        use_long = seq_len > scaling.original_max_position_embeddings
        return jnp.where(use_long, jnp.asarray(long), jnp.asarray(inv)), attention_factor
    return jnp.asarray(inv), attention_factor


def rotary_cos_sin(
    position_ids: jax.Array,
    head_dim: int,
    theta: float,
    scaling: RopeScaling | None = None,
    max_position_embeddings: int = 2048,
) -> tuple[jax.Array, jax.Array]:
    """position_ids [batch, seq] (int) → (cos, sin), each [batch, seq, head_dim] float32."""
    inv_freq, attention_factor = _runtime_inv_freq(
        position_ids, head_dim, theta, scaling, max_position_embeddings
    )
    freqs = position_ids.astype(jnp.float32)[..., None] * inv_freq  # [batch, seq, head_dim // 2]
    angles = jnp.concatenate([freqs, freqs], axis=-1)
    return jnp.cos(angles) * attention_factor, jnp.sin(angles) * attention_factor


def rotate_half(x: jax.Array) -> jax.Array:
    half = x.shape[-1] // 2
    return jnp.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def apply_rotary(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """x [batch, seq, heads, head_dim] rotated by cos/sin [batch, seq, head_dim] (computed in x's
    dtype)."""
    cos = cos[:, :, None, :].astype(x.dtype)
    sin = sin[:, :, None, :].astype(x.dtype)
    return x * cos + rotate_half(x) * sin
