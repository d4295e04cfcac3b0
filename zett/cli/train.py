"""Train a hypernetwork (resumes automatically from the work directory's last checkpoint)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "config",
        help="YAML path or preset: tiny, smollm2-135m, gemma3-270m, mistral-7b, llama3-8b, "
        "xlm-r-base",
    )
    p.add_argument(
        "overrides", nargs="*", help="dotted overrides, e.g. optim.total_steps=1000 workdir=runs/x"
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="stop after this step (the schedule is unchanged)",
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="checkpoint and stop after this much wall time",
    )
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print where this process sits in the run (devices, mesh coordinates, data parts, "
        "checkpoints) and exit without joining it; without a process id, every process",
    )
    g = p.add_argument_group(
        "multi-host (every process runs the same command; one process needs none of these)"
    )
    g.add_argument(
        "--coordinator",
        default=None,
        help="host:port of process 0 (or distributed.coordinator_address)",
    )
    g.add_argument(
        "--num-processes",
        type=int,
        default=None,
        help="processes in the run (distributed.num_processes)",
    )
    g.add_argument(
        "--process-id",
        type=int,
        default=None,
        help="this process, 0..num_processes-1 (distributed.process_id)",
    )
    g.add_argument(
        "--local-devices",
        type=int,
        default=None,
        help="accelerators per process, for --dry-run (default: this machine's)",
    )


def run(args: argparse.Namespace) -> int:
    import jax
    import yaml

    from zett.config import load_config, to_dict
    from zett.hypernet import TrainConfig, train
    from zett.parallel import initialize_distributed

    if args.max_steps is not None and args.max_steps < 1:
        raise ValueError(f"--max-steps must be at least 1, got {args.max_steps}")
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise ValueError(f"--max-minutes must be positive, got {args.max_minutes}")
    cfg = load_config(TrainConfig, args.config, args.overrides)
    flags = {
        "coordinator_address": args.coordinator,
        "num_processes": args.num_processes,
        "process_id": args.process_id,
    }
    cfg = replace(
        cfg,
        distributed=replace(cfg.distributed, **{k: v for k, v in flags.items() if v is not None}),
    )
    if args.print_config:
        print(yaml.safe_dump(to_dict(cfg), sort_keys=False))
        return 0
    if args.dry_run:
        print(dry_run(cfg, args.local_devices))
        return 0
    initialize_distributed(
        cfg.distributed
    )  # before anything touches a device; a no-op for one process
    preflight(cfg, args.max_steps)
    last = train(
        cfg,
        max_steps=args.max_steps,
        max_seconds=None if args.max_minutes is None else 60 * args.max_minutes,
    )
    if jax.process_index() == 0 and not last:
        print(
            f"zett train: warning: no step was trained: the run in {cfg.workdir} is already at or "
            f"beyond step {args.max_steps or cfg.total_steps}; the hypernetwork is exported as it is",
            file=sys.stderr,
        )
    if jax.process_index() == 0:
        print({k: round(v, 4) if isinstance(v, float) else v for k, v in last.items()})
        print(f"hypernetwork saved to {cfg.workdir}/hypernet")
    return 0


def preflight(cfg, max_steps: int | None) -> None:
    """Every input the run reads later, checked before the model loads and the identity phase runs:
    the step counts, the base model and tokenizers, the training text (present and not empty) and
    the validation text and tokenizers."""
    from zett.assets import resolve
    from zett.checkpoint import resolve as resolve_model
    from zett.sampling import CorpusTexts
    from zett.tokenization import load_tokenizer

    if cfg.optim.total_steps < 1:
        raise ValueError(f"optim.total_steps must be at least 1, got {cfg.optim.total_steps}")
    for name in ("log_every", "eval_every", "save_every", "keep_checkpoints"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    if cfg.base_model != "tiny":
        resolve_model(cfg.base_model)  # a missing path fails here, not after the data opens
    if cfg.source_tokenizer is not None:
        _tokenizer(load_tokenizer, resolve(cfg.source_tokenizer), "source_tokenizer")
    _texts(CorpusTexts, cfg.data.train, "train", cfg.data.langs, "data.train")
    if cfg.validation_tokenizers:
        where = "data.validation" if cfg.data.validation else "data.train (held-out split)"
        split = "train" if cfg.data.validation else "heldout"
        _texts(CorpusTexts, cfg.data.validation or cfg.data.train, split, cfg.data.langs, where)
        for i, path in enumerate(cfg.validation_tokenizers):
            _tokenizer(load_tokenizer, resolve(path), f"validation_tokenizers[{i}]")


def _tokenizer(load, path: str, field: str) -> None:
    try:
        load(path)
    except Exception as e:  # a wrong path and a corrupt file mean the same: fix this field
        raise ValueError(
            f"{field}: tokenizer {path} cannot be loaded ({type(e).__name__}: {e})"
        ) from None


def _texts(corpus, path: str, split: str, langs, field: str) -> None:
    """Loads the text (a cached `datasets` read, so the run's own load is cheap) and refuses one with
    no characters to train on: every step would have no targets."""
    import pyarrow.compute as pc

    try:
        texts = corpus.load(path, split, langs)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{field}: {e}") from None
    except (OSError, ValueError) as e:
        raise ValueError(f"{field}: {e}") from None
    column = texts.dataset.data.column("text")
    chars = pc.sum(pc.utf8_length(pc.utf8_trim_whitespace(column))).as_py() or 0
    if chars == 0:
        raise ValueError(
            f"{field}: {path} ({split}) has {len(texts)} texts but all of them are empty; "
            f"nothing to train or validate on"
        )


def dry_run(cfg, local_devices: int | None = None) -> str:
    """Where the processes of `cfg`'s run sit (the one named by the config / environment, or all of
    them), without joining the run or touching an accelerator unless `local_devices` is unknown."""
    import os
    from pathlib import Path

    from zett.parallel.distributed import resolve
    from zett.parallel.layout import describe, process_layouts

    dist = resolve(cfg.distributed)
    n, me = dist.num_processes, dist.process_id
    tpu_hosts = os.environ.get("TPU_WORKER_HOSTNAMES")
    if n is None and tpu_hosts:  # a TPU VM pod: JAX discovers the rest itself
        n = len(tpu_hosts.split(","))
        me = int(os.environ.get("TPU_WORKER_ID", "0")) if me is None else me
    n = n or 1
    if local_devices is None:
        import jax

        local_devices = jax.local_device_count()
    layouts = process_layouts(
        cfg.mesh, n, local_devices, cfg.collator.batch_size, cfg.data_parts, cfg.mesh.rules
    )
    shape = dict(zip(("data", "fsdp", "model"), cfg.mesh.shape(n * local_devices)))
    dcn = {a: d for a, d in zip(("data", "fsdp", "model"), cfg.mesh.dcn) if d > 1}
    coordinator = dist.coordinator_address or ("TPU pod: discovered by JAX" if tpu_hosts else "-")
    head = [
        f"run: {n} process(es) × {local_devices} device(s), coordinator {coordinator}",
        f"mesh: {shape}" + (f", across processes {dcn}" if dcn else ", processes outermost"),
        f"global batch: {cfg.collator.batch_size} texts in {cfg.data_parts or n} data part(s); "
        f"substring counts shared between processes each step"
        if n > 1
        else f"global batch: {cfg.collator.batch_size} texts",
        f"checkpoints: {Path(cfg.workdir).absolute() / 'checkpoints'} (every process writes its "
        f"shards there: storage all hosts mount at the same path)",
    ]
    chosen = layouts if me is None else [layouts[me]]
    return "\n".join(head + [describe(layout, n, shape) for layout in chosen])
