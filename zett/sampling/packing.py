"""Packed surface forms: how many rows of a fixed width the hypernetwork's packed layout needs (NumPy,
host side; the layout itself is built inside the jitted step by `zett.hypernet.packing`).

In the padded layout every token of the subset costs `maxlen` hypernetwork positions however short
its surface form is (at maxlen 7 about 43% of them are padding, at 15 most are). Packed, the tokens
of one length L share rows of `width` positions, width // L of them per row, so the positions
computed are the real pieces plus at most width % L per row and one partly filled row per length."""

from __future__ import annotations

import numpy as np

# rows are rounded up to a multiple of this many, so that the few totals a run's batches need map onto
# a few compiled shapes (each distinct row count compiles the step once)
ROW_QUANTUM = 16


def per_row(maxlen: int, width: int) -> np.ndarray:
    """[maxlen] tokens of length L = 1..maxlen that one packed row of `width` positions holds."""
    if width < maxlen:
        raise ValueError(f"surface_pack_width {width} is below surface_maxlen {maxlen}")
    return width // np.arange(1, maxlen + 1)


def rows_needed(lengths: np.ndarray, maxlen: int, width: int) -> int:
    """Packed rows for surface forms of these lengths ([k]; 0 counts as 1, as in the padded layout)."""
    counts = np.bincount(np.clip(lengths, 1, maxlen), minlength=maxlen + 1)[1:]
    return int((-(-counts // per_row(maxlen, width))).sum())


def pack_rows(lengths: np.ndarray, maxlen: int, width: int) -> int:
    """`rows_needed` rounded up to a multiple of `ROW_QUANTUM`."""
    n = rows_needed(lengths, maxlen, width)
    return -(-n // ROW_QUANTUM) * ROW_QUANTUM


def packing(lengths: np.ndarray, maxlen: int, width: int) -> dict[str, int]:
    """The batch's `pack_rows` / `pack_width` fields (both 0 when `width` is 0: padded layout)."""
    if not width:
        return {"pack_rows": 0, "pack_width": 0}
    return {"pack_rows": pack_rows(lengths, maxlen, width), "pack_width": width}
