"""A (data, fsdp, model) device mesh and the rules mapping logical axis names onto it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import jax
import numpy as np
from flax import nnx
from jax.experimental import mesh_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from zett.sampling.batch import TEXT_FIELDS  # batch-major; the rest are vocabulary-subset rows

MESH_AXES = ("data", "fsdp", "model")

# logical axis → mesh axis (or axes). Anything unlisted is replicated. Parameters shard their
# large rows over fsdp and their width over model; activations shard batch over data+fsdp.
DEFAULT_RULES: tuple[tuple[str, tuple[str, ...] | str | None], ...] = (
    ("batch", ("data", "fsdp")),
    ("hyper_tokens", ("data", "fsdp", "model")),
    ("vocab", "model"),
    ("embed", "fsdp"),
    ("mlp", "model"),
    ("heads", "model"),
    ("kv_heads", "model"),
    ("hyper_mlp", "model"),
    ("hyper_qkv", "model"),
    ("hyper_embed", "fsdp"),
    ("source_vocab", "fsdp"),
    ("source_embed", None),
)


@dataclass(frozen=True)
class MeshConfig:
    """Mesh shape; -1 on one axis means "all remaining devices".

    `dcn_*`: over how many groups of processes (hosts) an axis is spread, the rest of it lying
    within each host (its size counts both: data=4, dcn_data=2 is 2 hosts × 2 devices). All 1 (the
    default): devices in `jax.devices()` order (topology-aware on TPU), so processes fill the
    outermost axes first — data, then fsdp. Set them to put an inner axis across hosts, e.g.
    fsdp × model with `dcn_model=2` shards the model axis over two hosts; their product must be
    the number of processes."""

    data: int = -1
    fsdp: int = 1
    model: int = 1
    rules: tuple[tuple[str, tuple[str, ...] | str | None], ...] = DEFAULT_RULES
    dcn_data: int = 1
    dcn_fsdp: int = 1
    dcn_model: int = 1

    @property
    def dcn(self) -> tuple[int, int, int]:
        return (self.dcn_data, self.dcn_fsdp, self.dcn_model)

    def shape(self, n_devices: int) -> tuple[int, int, int]:
        dims = [self.data, self.fsdp, self.model]
        if dims.count(-1) > 1:
            raise ValueError("at most one mesh axis may be -1")
        known = int(np.prod([d for d in dims if d != -1]))
        if -1 in dims:
            if n_devices % known:
                raise ValueError(f"{n_devices} devices cannot be split into mesh {dims}")
            dims[dims.index(-1)] = n_devices // known
        if int(np.prod(dims)) != n_devices:
            raise ValueError(
                f"mesh {dict(zip(MESH_AXES, dims))} needs {int(np.prod(dims))} devices, have "
                f"{n_devices}"
            )
        return tuple(dims)  # type: ignore[return-value]


def make_mesh(cfg: MeshConfig = MeshConfig(), devices: list | None = None) -> Mesh:
    return Mesh(device_grid(cfg, devices), MESH_AXES)


def device_grid(cfg: MeshConfig, devices: list | None = None) -> np.ndarray:
    """The [data, fsdp, model] array of devices `make_mesh` lays out (any objects with `id`,
    `process_index`, `platform` and `device_kind` do, so a launch can be planned without
    devices)."""
    devices = list(devices if devices is not None else jax.devices())
    shape = cfg.shape(len(devices))
    if cfg.dcn == (1, 1, 1):
        try:
            return mesh_utils.create_device_mesh(shape, devices)
        except (ValueError, NotImplementedError) as e:  # a shape the TPU topology cannot map
            warnings.warn(
                f"mesh {dict(zip(MESH_AXES, shape))} does not map onto the device topology "
                f"({e}); devices are laid out in jax.devices() order",
                stacklevel=2,
            )
            return np.asarray(devices).reshape(shape)
    n_proc = len({d.process_index for d in devices})
    if int(np.prod(cfg.dcn)) != n_proc or any(s % d for s, d in zip(shape, cfg.dcn)):
        raise ValueError(
            f"mesh.dcn_* {dict(zip(MESH_AXES, cfg.dcn))} must multiply to the {n_proc} processes "
            f"and divide the mesh {dict(zip(MESH_AXES, shape))}"
        )
    per_host = tuple(s // d for s, d in zip(shape, cfg.dcn))
    return mesh_utils.create_hybrid_device_mesh(per_host, cfg.dcn, devices, process_is_granule=True)


def logical_to_spec(
    axes: tuple[str | None, ...] | None, rules=DEFAULT_RULES, mesh: Mesh | None = None
) -> PartitionSpec:
    """Logical axis names → PartitionSpec; a mesh axis is used at most once, and size-1 axes drop."""
    if axes is None:
        return PartitionSpec()
    table = dict(rules)
    used: set[str] = set()
    out = []
    for name in axes:
        target = table.get(name) if name is not None else None
        names = (target,) if isinstance(target, str) else tuple(target or ())
        names = tuple(n for n in names if n not in used and (mesh is None or mesh.shape[n] > 1))
        used.update(names)
        out.append(None if not names else names[0] if len(names) == 1 else names)
    return PartitionSpec(*out)


def _spec_fits(shape: tuple[int, ...], spec: PartitionSpec, mesh: Mesh) -> PartitionSpec:
    """Drops sharding on dimensions the mesh does not divide (e.g. a 49,152 vocab on 7 devices)."""
    fixed = []
    for dim, entry in zip(shape, tuple(spec) + (None,) * (len(shape) - len(spec))):
        names = (entry,) if isinstance(entry, str) else tuple(entry or ())
        size = int(np.prod([mesh.shape[n] for n in names])) if names else 1
        fixed.append(entry if size and dim % size == 0 else None)
    return PartitionSpec(*fixed)


def state_shardings(state: nnx.State, mesh: Mesh, rules=DEFAULT_RULES) -> nnx.State:
    """A NamedSharding per variable from its `out_sharding` logical names (replicated if none)."""

    def one(var):
        axes = var.get_metadata().get("out_sharding") if isinstance(var, nnx.Variable) else None
        value = var.get_value() if isinstance(var, nnx.Variable) else var
        spec = _spec_fits(np.shape(value), logical_to_spec(axes, rules, mesh), mesh)
        return NamedSharding(mesh, spec)

    return jax.tree.map(one, state, is_leaf=lambda x: isinstance(x, nnx.Variable))


def shard_state(module: nnx.Module, mesh: Mesh, rules=DEFAULT_RULES) -> None:
    """Places every variable of `module` on `mesh` according to its logical axes, in place."""
    state = nnx.state(module)
    shardings = state_shardings(state, mesh, rules)
    nnx.update(module, jax.device_put(state, shardings))


def batch_sharding(mesh: Mesh, ndim: int, rules=DEFAULT_RULES) -> NamedSharding:
    """Batch-major arrays: first axis over the data-parallel axes, rest replicated."""
    return NamedSharding(mesh, logical_to_spec(("batch",) + (None,) * (ndim - 1), rules, mesh))


def shard_batch(batch, mesh: Mesh, rules=DEFAULT_RULES):
    """A batch (`zett.sampling.Batch`, a pytree once `zett.hypernet` is imported) on `mesh`: text
    rows over the data axes, vocabulary-subset rows over every device ("hyper_tokens"); dimensions
    the mesh does not divide stay replicated. With several processes every one must pass the same
    batch (per-host batches: `zett.hypernet.global_batch`)."""

    def place(path, value):
        value = np.asarray(value)
        sharding = batch_field_sharding(path[-1].name, value.shape, mesh, rules)
        if jax.process_count() == 1:
            return jax.device_put(value, sharding)
        # several processes: each holds the same whole batch and fills its own devices' shards
        return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])

    return jax.tree_util.tree_map_with_path(place, batch)


def batch_field_sharding(
    name: str, shape: tuple[int, ...], mesh: Mesh, rules=DEFAULT_RULES
) -> NamedSharding:
    """Where a batch field lives: text rows over the data axes, subset rows over every
    device."""
    axes = ("batch" if name in TEXT_FIELDS else "hyper_tokens",) + (None,) * (len(shape) - 1)
    return NamedSharding(mesh, _spec_fits(shape, logical_to_spec(axes, rules, mesh), mesh))


def replicated_copy(module: nnx.Module) -> nnx.Module:
    """A copy of `module` whose every array is whole on every device of the mesh it lives on (a
    gather; in a multi-host run every process must call it and can then read every value)."""
    graphdef, state = nnx.split(module)

    def whole(x):
        sharding = getattr(x, "sharding", None)
        if isinstance(sharding, NamedSharding):
            return jax.device_put(x, NamedSharding(sharding.mesh, PartitionSpec()))
        return x

    return nnx.merge(graphdef, jax.tree.map(whole, state))
