"""The one error a checkpoint reader or writer raises for bad input."""

from __future__ import annotations


class CheckpointError(ValueError):
    """A checkpoint cannot be read or written: missing/unexpected/ill-shaped tensor, corrupt file, ...

    The message names the file (and the tensor or field) at fault."""
