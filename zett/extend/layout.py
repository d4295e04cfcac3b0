"""Named, half-open id ranges per modality whose offsets are derived from their sizes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


class LayoutError(ValueError):
    """A vocabulary layout is inconsistent: overlapping ranges, undeclared gaps, wrong sizes."""


class IdOutOfRangeError(LayoutError):
    """A token id lies outside the range it was required to be in."""


@dataclass(frozen=True)
class IdRange:
    """The ids `lo <= id < hi` of one segment (half-open, never an open upper end)."""

    name: str
    lo: int
    hi: int
    reserved: bool = False

    @property
    def size(self) -> int:
        return self.hi - self.lo

    def __contains__(self, token_id: object) -> bool:
        return isinstance(token_id, (int, np.integer)) and self.lo <= int(token_id) < self.hi

    def mask(self, ids: np.ndarray) -> np.ndarray:
        """Bool mask of `ids` (any shape) that fall in this range."""
        ids = np.asarray(ids)
        return (ids >= self.lo) & (ids < self.hi)

    def __str__(self) -> str:
        return f"{self.name}[{self.lo}, {self.hi})"


@dataclass(frozen=True)
class Segment:
    """One entry of a layout: a modality (text, audio, ...) or a declared reserved gap (padding)."""

    name: str
    size: int
    reserved: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            raise LayoutError("segment names must be non-empty")
        if not isinstance(self.size, (int, np.integer)) or self.size < 0:
            raise LayoutError(
                f"segment {self.name!r}: size must be a non-negative int, got {self.size!r}"
            )


@dataclass(frozen=True)
class IdMapping:
    """Old id → new id after a re-layout. `old_to_new` [old_size] int64; every old id is kept."""

    old_to_new: np.ndarray
    new_size: int
    new_ids: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def old_size(self) -> int:
        return int(self.old_to_new.shape[0])

    @property
    def is_identity_prefix(self) -> bool:
        """True when old ids keep their values (only appended ids are new)."""
        return bool(np.array_equal(self.old_to_new, np.arange(self.old_size)))

    def __call__(self, ids: np.ndarray | int) -> np.ndarray | int:
        """Maps old ids (any shape) to new ids; raises on ids outside the old vocabulary."""
        arr = np.asarray(ids)
        bad = (arr < 0) | (arr >= self.old_size)
        if bad.any():
            raise IdOutOfRangeError(
                f"id {int(arr[bad].flat[0])} is outside the old vocabulary [0, {self.old_size})"
            )
        out = self.old_to_new[arr]
        return int(out) if np.ndim(ids) == 0 else out

    def restrict(self, old: IdRange, new: IdRange) -> IdMapping:
        """The mapping of a table whose rows are the ids of one range: row r is id `old.lo + r`
        before and `new.lo + r'` after (Gemma-3n's per-layer and modality embedding tables)."""
        ids = self.old_to_new[old.lo : old.hi]
        if ((ids < new.lo) | (ids >= new.hi)).any():
            raise LayoutError(f"ids of {old} do not all map into {new}")
        return IdMapping(ids - new.lo, new.size, {})

    def compose(self, later: IdMapping) -> IdMapping:
        """This mapping followed by `later` (whose old size must equal this one's new size)."""
        if later.old_size != self.new_size:
            raise LayoutError(
                f"cannot compose mappings: sizes {self.new_size} and {later.old_size} differ"
            )
        new_ids = {k: later.old_to_new[v] for k, v in self.new_ids.items()}
        new_ids.update(later.new_ids)
        return IdMapping(later.old_to_new[self.old_to_new], later.new_size, new_ids)


@dataclass(frozen=True)
class VocabLayout:
    """Consecutive segments covering ids [0, size); each range's offset is the sum of earlier sizes.

    Offsets are never typed by hand: build with `VocabLayout.of(text=..., audio=...)` or
    `from_ranges(...)` (which validates typed offsets read from a config)."""

    segments: tuple[Segment, ...]

    def __post_init__(self) -> None:
        names = [s.name for s in self.segments]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise LayoutError(f"duplicate segment names: {sorted(dup)}")

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def of(cls, **sizes: int) -> VocabLayout:
        """`VocabLayout.of(text=262144, vision=128, audio=128)`; keyword order is id order."""
        return cls(tuple(Segment(k, int(v)) for k, v in sizes.items()))

    @classmethod
    def from_sizes(cls, sizes: Iterable[tuple[str, int] | Segment]) -> VocabLayout:
        return cls(tuple(s if isinstance(s, Segment) else Segment(s[0], int(s[1])) for s in sizes))

    @classmethod
    def from_ranges(
        cls,
        ranges: Mapping[str, tuple[int, int]],
        total: int | None = None,
        allow_gaps: bool = False,
        gap_name: str = "reserved",
    ) -> VocabLayout:
        """Validates hand-typed half-open ranges {name: (lo, hi)} and returns the layout they imply.

        Raises `LayoutError` on empty/negative/overlapping ranges, on gaps (unless `allow_gaps`, in
        which case they become reserved segments) and when the end does not equal `total`."""
        items = sorted(ranges.items(), key=lambda kv: (kv[1][0], kv[1][1]))
        for name, (lo, hi) in items:
            if lo < 0 or hi < lo:
                raise LayoutError(f"range {name}[{lo}, {hi}) is invalid (need 0 <= lo <= hi)")
        segments: list[Segment] = []
        pos, prev = 0, None
        for name, (lo, hi) in items:
            if lo < pos:
                raise LayoutError(f"range {name}[{lo}, {hi}) overlaps {prev}[..., {pos})")
            if lo > pos:
                if not allow_gaps:
                    raise LayoutError(
                        f"gap of {lo - pos} ids [{pos}, {lo}) before range {name} is not declared"
                    )
                segments.append(Segment(f"{gap_name}_{pos}", lo - pos, reserved=True))
            segments.append(Segment(name, hi - lo))
            pos, prev = hi, name
        if total is not None:
            if pos > total:
                raise LayoutError(f"ranges end at {pos} but the vocabulary has only {total} ids")
            if pos < total:
                if not allow_gaps:
                    raise LayoutError(
                        f"ids [{pos}, {total}) are not covered by any range (vocabulary size "
                        f"{total})"
                    )
                segments.append(Segment(f"{gap_name}_{pos}", total - pos, reserved=True))
        return cls(tuple(segments))

    # --- queries -----------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return sum(s.size for s in self.segments)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.segments)

    @property
    def ranges(self) -> tuple[IdRange, ...]:
        out, lo = [], 0
        for s in self.segments:
            out.append(IdRange(s.name, lo, lo + s.size, s.reserved))
            lo += s.size
        return tuple(out)

    def __getitem__(self, name: str) -> IdRange:
        for r in self.ranges:
            if r.name == name:
                return r
        raise KeyError(f"no segment {name!r} in layout (have {list(self.names)})")

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def offset(self, name: str) -> int:
        return self[name].lo

    def segment_of(self, token_id: int) -> IdRange:
        """The range holding `token_id`; `IdOutOfRangeError` if it is outside [0, size)."""
        for r in self.ranges:
            if token_id in r:
                return r
        raise IdOutOfRangeError(f"id {token_id} is outside the vocabulary [0, {self.size})")

    def segment_index(self, ids: np.ndarray) -> np.ndarray:
        """Per-id index into `segments` (any shape); -1 for ids outside [0, size)."""
        ids = np.asarray(ids)
        out = np.full(ids.shape, -1, np.int32)
        for i, r in enumerate(self.ranges):
            out[r.mask(ids)] = i
        return out

    def check(self, ids: np.ndarray | int, name: str | None = None) -> None:
        """Raises `IdOutOfRangeError` naming the first id outside `name`'s range (or the
        vocabulary)."""
        arr = np.asarray(ids)
        r = self[name] if name is not None else IdRange("vocabulary", 0, self.size)
        bad = ~r.mask(arr)
        if bad.any():
            raise IdOutOfRangeError(
                f"id {int(arr[bad].flat[0])} is outside {r} ({int(bad.sum())} ids out of range)"
            )

    def to_global(self, name: str, local_ids: np.ndarray | int) -> np.ndarray:
        """Local ids [0, size) within segment `name` → vocabulary ids (strictly range-checked)."""
        r = self[name]
        local = np.asarray(local_ids)
        bad = (local < 0) | (local >= r.size)
        if bad.any():
            raise IdOutOfRangeError(
                f"local id {int(local[bad].flat[0])} is outside [0, {r.size}) of segment {name!r}"
            )
        return local + r.lo

    def to_local(self, name: str, ids: np.ndarray | int) -> np.ndarray:
        """Vocabulary ids inside segment `name` → local ids; raises for ids outside the segment."""
        self.check(ids, name)
        return np.asarray(ids) - self[name].lo

    # --- re-layout ---------------------------------------------------------------------------
    def grow(self, name: str, n: int) -> tuple[VocabLayout, IdMapping]:
        """Adds `n` ids at the end of segment `name`; all later offsets shift by `n`.

        Returns the new layout and the old→new id mapping; the added ids are
        `mapping.new_ids[name]`."""
        if n < 0:
            raise LayoutError(f"cannot grow {name!r} by a negative count {n}")
        r = self[name]
        segs = tuple(
            Segment(s.name, s.size + n, s.reserved) if s.name == name else s for s in self.segments
        )
        old = np.arange(self.size, dtype=np.int64)
        old_to_new = np.where(old >= r.hi, old + n, old)
        new = VocabLayout(segs)
        return new, IdMapping(
            old_to_new, new.size, {name: np.arange(r.hi, r.hi + n, dtype=np.int64)}
        )

    def append(self, name: str, size: int, reserved: bool = False) -> tuple[VocabLayout, IdMapping]:
        """A new segment after the last one; old ids are unchanged."""
        new = VocabLayout(self.segments + (Segment(name, size, reserved),))
        ids = np.arange(self.size, self.size + size, dtype=np.int64)
        return new, IdMapping(np.arange(self.size, dtype=np.int64), new.size, {name: ids})

    def add_segment(self, name: str, size: int) -> tuple[VocabLayout, IdMapping]:
        """A new segment after the last non-reserved one (trailing padding shifts behind it), so the
        ids of a tokenizer stay contiguous."""
        if name in self:
            raise LayoutError(f"segment {name!r} already exists; grow it instead")
        k = len(self.segments)
        while k > 0 and self.segments[k - 1].reserved:
            k -= 1
        lo = sum(s.size for s in self.segments[:k])
        segs = self.segments[:k] + (Segment(name, size),) + self.segments[k:]
        old = np.arange(self.size, dtype=np.int64)
        new = VocabLayout(segs)
        return new, IdMapping(
            np.where(old >= lo, old + size, old), new.size, {name: np.arange(lo, lo + size)}
        )

    def pad_to_multiple(
        self, multiple: int, name: str = "padding"
    ) -> tuple[VocabLayout, IdMapping]:
        """Appends (or enlarges a trailing reserved `name` segment) so that `size % multiple == 0`."""
        if multiple <= 0:
            raise LayoutError(
                f"--pad-to-multiple must be a positive integer (omit it for no padding), got "
                f"{multiple}"
            )
        extra = -self.size % multiple
        if name in self and self.segments[-1].name == name:
            return self.grow(name, extra)
        if extra == 0:
            return self, IdMapping(np.arange(self.size, dtype=np.int64), self.size, {})
        return self.append(name, extra, reserved=True)

    def without_reserved_tail(self) -> VocabLayout:
        segs = list(self.segments)
        while segs and segs[-1].reserved:
            segs.pop()
        return VocabLayout(tuple(segs))

    # --- display / serialisation -------------------------------------------------------------
    def describe(self) -> str:
        """A table of the segments, one per line: name, [lo, hi), size."""
        width = max([len(n) for n in self.names] + [7])
        lines = [f"{'segment':<{width}}  {'lo':>10}  {'hi':>10}  {'size':>10}"]
        for r in self.ranges:
            tag = "  (reserved)" if r.reserved else ""
            lines.append(f"{r.name:<{width}}  {r.lo:>10}  {r.hi:>10}  {r.size:>10}{tag}")
        lines.append(f"{'total':<{width}}  {0:>10}  {self.size:>10}  {self.size:>10}")
        return "\n".join(lines)

    def to_dict(self) -> list[dict]:
        return [
            {"name": r.name, "lo": r.lo, "hi": r.hi, "size": r.size, "reserved": r.reserved}
            for r in self.ranges
        ]

    @classmethod
    def from_dict(cls, items: Sequence[Mapping]) -> VocabLayout:
        ranges = {d["name"]: (int(d["lo"]), int(d["hi"])) for d in items}
        layout = cls.from_ranges(ranges)
        reserved = {d["name"] for d in items if d.get("reserved")}
        return cls(tuple(Segment(s.name, s.size, s.name in reserved) for s in layout.segments))
