"""Scale-out: device meshes, logical-axis sharding rules, multi-host start-up."""

from zett.parallel.mesh import (
    DEFAULT_RULES,
    MeshConfig,
    batch_sharding,
    initialize_distributed,
    logical_to_spec,
    make_mesh,
    shard_batch,
    shard_state,
    state_shardings,
)

__all__ = [
    "DEFAULT_RULES",
    "MeshConfig",
    "batch_sharding",
    "initialize_distributed",
    "logical_to_spec",
    "make_mesh",
    "shard_batch",
    "shard_state",
    "state_shardings",
]
