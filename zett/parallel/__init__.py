"""Scale-out: device meshes, logical-axis sharding rules, multi-host start-up."""

from zett.parallel.collectives import allgather_bytes
from zett.parallel.distributed import DistributedConfig, initialize_distributed
from zett.parallel.mesh import (
    DEFAULT_RULES,
    TEXT_FIELDS,
    MeshConfig,
    batch_field_sharding,
    batch_sharding,
    logical_to_spec,
    make_mesh,
    replicated_copy,
    shard_batch,
    shard_state,
    state_shardings,
)

__all__ = [
    "DEFAULT_RULES",
    "TEXT_FIELDS",
    "DistributedConfig",
    "MeshConfig",
    "allgather_bytes",
    "batch_field_sharding",
    "batch_sharding",
    "initialize_distributed",
    "logical_to_spec",
    "make_mesh",
    "replicated_copy",
    "shard_batch",
    "shard_state",
    "state_shardings",
]
