"""Host-side collectives over the processes of a run, for data that is not an array of one shape."""

from __future__ import annotations

import jax
import numpy as np
from jax.experimental import multihost_utils

_MIN_BUCKET = 1 << 16


def allgather_bytes(payload: bytes) -> list[bytes]:
    """Every process's `payload`, in process order (a collective: every process calls it, in the same
    order relative to its other collectives).

    Two gathers: the lengths, then the payloads padded to the next power of two of the longest, so
    a run compiles a handful of gather programs, not one per step."""
    n = jax.process_count()
    if n == 1:
        return [payload]
    lengths = np.asarray(
        multihost_utils.process_allgather(np.asarray([len(payload)], np.int32))
    ).reshape(n)
    size = max(_MIN_BUCKET, 1 << int(lengths.max() - 1).bit_length())
    buffer = np.zeros(size, np.uint8)
    buffer[: len(payload)] = np.frombuffer(payload, np.uint8)
    gathered = np.asarray(multihost_utils.process_allgather(buffer)).reshape(n, size)
    return [gathered[i, : int(lengths[i])].tobytes() for i in range(n)]
