"""Where every process of a multi-host run sits, computed without devices (`zett train --dry-run`):
its devices, their coordinates on the (data, fsdp, model) mesh, the data parts it builds and the
text rows its devices hold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zett.parallel.mesh import DEFAULT_RULES, MESH_AXES, MeshConfig, device_grid, logical_to_spec


@dataclass(frozen=True)
class PlannedDevice:
    """A stand-in for a `jax.Device` (what `device_grid` reads)."""

    id: int
    process_index: int
    platform: str = "cpu"
    device_kind: str = "cpu"


@dataclass(frozen=True)
class ProcessLayout:
    process: int
    devices: tuple[int, ...]  # global device ids, this process's
    coordinates: tuple[tuple[int, int, int], ...]  # (data, fsdp, model) of each of them
    parts: tuple[int, ...]  # data parts of every global batch this process builds
    built_rows: tuple[int, int]  # [start, stop) of the global batch's text rows it builds
    held_rows: tuple[int, ...]  # text rows its devices hold

    @property
    def gathers_rows(self) -> bool:
        return not set(self.held_rows) <= set(range(*self.built_rows))


def process_layouts(
    mesh: MeshConfig,
    n_processes: int,
    local_devices: int,
    batch_size: int,
    data_parts: int = 0,
    rules=DEFAULT_RULES,
) -> list[ProcessLayout]:
    """The layout of every process: `local_devices` each, numbered process by process (as on CPU
    and GPU hosts; a TPU pod numbers them by topology, the mesh is the same up to that order)."""
    devices = [
        PlannedDevice(p * local_devices + i, p)
        for p in range(n_processes)
        for i in range(local_devices)
    ]
    grid = device_grid(mesh, devices)
    count = data_parts or n_processes
    if count % n_processes or batch_size % count:
        raise ValueError(
            f"{count} data parts must be a multiple of the {n_processes} processes and divide "
            f"batch_size {batch_size}"
        )
    shape = dict(zip(MESH_AXES, grid.shape))
    spec = logical_to_spec(("batch",), rules, _SizedMesh(shape))[0]
    row_axes = (spec,) if isinstance(spec, str) else tuple(spec or ())
    blocks = int(np.prod([shape[a] for a in row_axes])) if row_axes else 1
    if batch_size % blocks:
        row_axes, blocks = (), 1  # the batch is not divisible: replicated (as `_spec_fits` does)
    per_block = batch_size // blocks
    out = []
    per_process = count // n_processes
    for p in range(n_processes):
        coords, ids, held = [], [], set()
        for index in np.ndindex(grid.shape):
            device = grid[index]
            if device.process_index != p:
                continue
            ids.append(device.id)
            coords.append(tuple(int(i) for i in index))
            block = 0
            for axis in row_axes:  # row-major over the batch's mesh axes
                block = block * shape[axis] + index[MESH_AXES.index(axis)]
            held.update(range(block * per_block, (block + 1) * per_block))
        order = np.argsort(ids)
        rows = batch_size // n_processes
        out.append(
            ProcessLayout(
                process=p,
                devices=tuple(ids[i] for i in order),
                coordinates=tuple(coords[i] for i in order),
                parts=tuple(range(p * per_process, (p + 1) * per_process)),
                built_rows=(p * rows, (p + 1) * rows),
                held_rows=tuple(sorted(held)),
            )
        )
    return out


class _SizedMesh:
    """Just enough of a `jax.sharding.Mesh` for `logical_to_spec` (axis sizes)."""

    def __init__(self, shape: dict[str, int]):
        self.shape = shape


def describe(layout: ProcessLayout, n_processes: int, mesh_shape: dict[str, int]) -> str:
    """Lines a person reads before launching: this process's devices, coordinates and data."""
    lines = [f"process {layout.process} of {n_processes}"]
    lines.append(
        f"  devices {_ranges(layout.devices)} on mesh "
        + " × ".join(f"{a}={n}" for a, n in mesh_shape.items())
    )
    for axis_index, axis in enumerate(MESH_AXES):
        values = sorted({c[axis_index] for c in layout.coordinates})
        lines.append(f"    {axis:5s} coordinates {_ranges(values)}")
    lines.append(
        "    device → (data, fsdp, model): "
        + " ".join(f"{d}→{c}".replace(" ", "") for d, c in zip(layout.devices, layout.coordinates))
    )
    start, stop = layout.built_rows
    lines.append(
        f"  data: builds part(s) {_ranges(layout.parts)} = text rows {start}..{stop - 1} of every "
        f"global batch"
    )
    held = _ranges(layout.held_rows)
    if layout.gathers_rows:
        lines.append(f"    its devices hold rows {held}: text rows are gathered across processes")
    else:
        lines.append(f"    its devices hold rows {held}: its own rows, nothing is gathered")
    return "\n".join(lines)


def _ranges(values) -> str:
    """(0, 1, 2, 5, 6) → "0-2,5-6"."""
    values = sorted(values)
    if not values:
        return "-"
    out, start, prev = [], values[0], values[0]
    for v in values[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return ",".join(out)
