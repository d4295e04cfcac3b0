"""The packed layout of surface forms, built inside the jitted step from their lengths.

Tokens of length L (1..maxlen) are grouped, width // L of them side by side in a row of `width`
positions; rows of length 1 come first, then length 2, and so on. Attention stays within a token
(segment ids), position embeddings count from each token's first piece, and a token's embedding is
read at its first piece, so every token sees exactly the inputs of the padded layout: the results
differ from it only by float reassociation (matmuls of other shapes, softmax over more masked keys)."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from zett.sampling.packing import per_row


@jax.tree_util.register_dataclass
@dataclass
class PackedSurfaces:
    """ids / segment / position: [rows, width] int32 (segment = the token's row in the subset, −1 on
    empty slots); first: [k] int32, flat index (row · width + column) of each token's first piece."""

    ids: jax.Array
    segment: jax.Array
    position: jax.Array
    first: jax.Array

    @property
    def allowed(self) -> jax.Array:
        """[rows, 1, 1, width, width] bool: query and key are pieces of the same token (shaped like
        `attention_mask`)."""
        s = self.segment
        same = (s[:, :, None] == s[:, None, :]) & (s[:, None, :] >= 0)
        return same[:, None, None]


def pack_surfaces(
    surface_ids: jax.Array, lengths: jax.Array, rows: int, width: int
) -> PackedSurfaces:
    """surface_ids [k, maxlen], lengths [k] (0 is read as 1) → the packed layout of `rows` × `width`
    positions. `rows` must be at least `zett.sampling.packing.rows_needed(lengths, …)`: the caller
    computes it on the host, where the lengths are known; pieces beyond it would be dropped."""
    k, maxlen = surface_ids.shape
    n = jnp.clip(lengths, 1, maxlen)  # [k]
    per = jnp.asarray(per_row(maxlen, width), jnp.int32)[n - 1]  # [k] tokens per row at this length
    counts = jnp.zeros((maxlen + 1,), jnp.int32).at[n].add(1)[1:]  # [maxlen]
    group_rows = -(-counts // jnp.asarray(per_row(maxlen, width), jnp.int32))
    row0 = jnp.cumsum(group_rows) - group_rows  # [maxlen] first row of each length
    order = jnp.argsort(n, stable=True)
    group0 = jnp.cumsum(counts) - counts  # [maxlen] first sorted index of each length
    rank = (
        jnp.zeros((k,), jnp.int32)
        .at[order]
        .set(jnp.arange(k, dtype=jnp.int32) - group0[n[order] - 1])
    )
    first = (row0[n - 1] + rank // per) * width + (rank % per) * n  # [k]
    j = jnp.arange(maxlen, dtype=jnp.int32)
    real = j[None, :] < n[:, None]  # [k, maxlen]
    slot = jnp.where(real, first[:, None] + j[None, :], rows * width)  # out of range: dropped
    size = rows * width

    def scatter(values, fill):
        flat = jnp.full((size,), fill, jnp.int32).at[slot].set(values, mode="drop")
        return flat.reshape(rows, width)

    token = jnp.broadcast_to(jnp.arange(k, dtype=jnp.int32)[:, None], (k, maxlen))
    return PackedSurfaces(
        ids=scatter(surface_ids.astype(jnp.int32), 0),
        segment=scatter(token, -1),
        position=scatter(jnp.broadcast_to(j[None, :], (k, maxlen)), 0),
        first=first.astype(jnp.int32),
    )
