"""Multi-host start-up: joining the processes of one run with `jax.distributed.initialize`."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import jax


@dataclass(frozen=True)
class DistributedConfig:
    """Where the processes of a multi-host run meet. Unset fields fall back to ZETT_COORDINATOR,
    ZETT_NUM_PROCESSES and ZETT_PROCESS_ID; on TPU pods JAX discovers everything itself. One process
    (no coordinator, no TPU pod) is a no-op."""

    coordinator_address: str | None = None  # host:port of process 0
    num_processes: int | None = None
    process_id: int | None = None
    # CPU processes exchange collectives through gloo (JAX's default in 0.10, set explicitly so an
    # environment default of "none" cannot leave multi-process CPU runs without collectives)
    cpu_collectives: str = "gloo"
    initialization_timeout_s: int = 300
    # a process that sends no heartbeat for this long is declared dead and every process aborts:
    # raise it where hosts can stall (a loaded machine, long compiles on starved CPUs)
    heartbeat_timeout_s: int = 100


def resolve(cfg: DistributedConfig) -> DistributedConfig:
    """`cfg` with the environment filling what it leaves unset."""
    env = os.environ
    return replace(
        cfg,
        coordinator_address=cfg.coordinator_address or env.get("ZETT_COORDINATOR") or None,
        num_processes=cfg.num_processes
        if cfg.num_processes is not None
        else _int(env.get("ZETT_NUM_PROCESSES")),
        process_id=cfg.process_id
        if cfg.process_id is not None
        else _int(env.get("ZETT_PROCESS_ID")),
    )


def _int(value: str | None) -> int | None:
    return None if value in (None, "") else int(value)


def initialize_distributed(cfg: DistributedConfig = DistributedConfig()) -> bool:
    """Joins this process to its run (before any other JAX call touches a device); True when it did.

    Idempotent: a second call in a process that is already joined does nothing."""
    cfg = resolve(cfg)
    on_tpu_pod = bool(os.environ.get("TPU_WORKER_HOSTNAMES") or os.environ.get("CLOUD_TPU_TASK_ID"))
    if cfg.coordinator_address is None and not on_tpu_pod:
        if cfg.num_processes not in (None, 1):
            raise ValueError(
                f"num_processes={cfg.num_processes} needs a coordinator address (host:port of "
                f"process 0)"
            )
        return False
    if jax.distributed.is_initialized():
        return True
    if cfg.coordinator_address is None:  # a TPU pod: JAX reads the topology from the environment
        jax.distributed.initialize()
        return True
    if cfg.num_processes is None or cfg.process_id is None:
        raise ValueError("a coordinator address needs num_processes and process_id as well")
    if not 0 <= cfg.process_id < cfg.num_processes:
        raise ValueError(f"process_id {cfg.process_id} is outside 0..{cfg.num_processes - 1}")
    jax.config.update("jax_cpu_collectives_implementation", cfg.cpu_collectives)
    jax.distributed.initialize(
        coordinator_address=cfg.coordinator_address,
        num_processes=cfg.num_processes,
        process_id=cfg.process_id,
        initialization_timeout=cfg.initialization_timeout_s,
        heartbeat_timeout_seconds=cfg.heartbeat_timeout_s,
    )
    return True
