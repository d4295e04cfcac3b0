"""Typed, frozen dataclass configs from YAML files or presets, with dotted command-line overrides."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

PRESET_DIR = Path(__file__).parent / "presets"


class ConfigError(ValueError):
    """A config file or override does not fit the dataclass it is meant for."""


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def coerce(tp: Any, value: Any, where: str) -> Any:
    """Converts a YAML/CLI value into `tp`, recursing into dataclasses, tuples and dicts."""
    tp, optional = _strip_optional(tp)
    if value is None:
        if optional or tp is Any:
            return None
        raise ConfigError(f"{where}: null is not allowed for {tp}")
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, where)
    origin = typing.get_origin(tp)
    if origin is tuple:
        args = typing.get_args(tp)
        if isinstance(value, str):
            value = [v for v in value.split(",") if v != ""]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
        return tuple(coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict:
        kt, vt = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return {coerce(kt, k, where): coerce(vt, v, f"{where}.{k}") for k, v in value.items()}
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{where}: {value!r} is not one of {typing.get_args(tp)}")
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{where}: expected a boolean, got {value!r}")
    if tp in (int, float, str):
        try:
            if tp is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            if tp is int and isinstance(value, str):
                return int(float(value)) if "e" in value.lower() else int(value)
            return tp(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}") from None
    return value


def from_dict(cls: type[T], data: dict[str, Any], where: str = "") -> T:
    """Builds dataclass `cls` from a nested mapping; unknown keys are an error, not silently
    dropped."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = set(data) - set(fields)
    if unknown:
        raise ConfigError(
            f"{where or cls.__name__}: unknown field(s) {sorted(unknown)}; known: {sorted(fields)}"
        )
    kwargs = {k: coerce(hints[k], v, f"{where}.{k}" if where else k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"{where or cls.__name__}: {e}") from None


def to_dict(config: Any) -> dict[str, Any]:
    """A YAML-safe nested dict (tuples become lists)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(config)


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {key}: {p} is not a section")
    node[parts[-1]] = value


def parse_overrides(overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """`["a.b=3", "c=[1,2]"]` → nested dict; values are parsed as YAML scalars."""
    out: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.field=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: the value is not valid YAML") from None
        _set_dotted(out, key.strip(), value)
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict):
            merged[k] = _merge(merged[k], v)
        else:
            merged[k] = v
    return merged


def read_yaml(path_or_preset: str | Path) -> dict[str, Any]:
    """Reads a YAML file, or `zett/presets/<name>.yaml` when given a bare preset name."""
    path = Path(path_or_preset)
    if not path.exists():
        preset = PRESET_DIR / f"{path_or_preset}.yaml"
        if not preset.exists():
            known = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
            raise ConfigError(
                f"no config file or preset named {path_or_preset!r}; presets: {known}"
            )
        path = preset
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        what = " ".join(str(getattr(e, "problem", None) or e).split())
        raise ConfigError(f"{where}: invalid YAML: {what}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


def load_config(
    cls: type[T],
    source: str | Path | dict[str, Any] | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> T:
    """Loads `cls` from a YAML path, preset name or dict, then applies dotted overrides."""
    where = None
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, dict):
        data = source
    else:
        data = read_yaml(source)
        path = Path(source)
        where = str(path if path.exists() else PRESET_DIR / f"{source}.yaml")
    try:
        return from_dict(cls, _merge(data, parse_overrides(overrides)))
    except (ConfigError, ValueError) as e:
        if where is None or where in str(e):
            raise
        # the field's check (a dataclass __post_init__ included) names the field; add the file
        raise ConfigError(f"{where}: {e}") from None


def save_config(config: Any, path: str | Path) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
    tmp.replace(path)


# what a resumed run may change: how it logs, checkpoints and lays work out over devices and
# processes, and where it writes — not what it computes (dotted paths; a prefix covers its fields)
RESUMABLE_FIELDS = (
    "log_every",
    "eval_every",
    "save_every",
    "keep_checkpoints",
    "tensorboard",
    "wandb",
    "wandb_project",
    "workdir",
    "out",
    "mesh",
    "distributed",
    "data_parts",
    "collator.num_workers",
)


def config_changes(saved: Any, config: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted field, saved value, new value) for every leaf that differs, `saved` and `config` as
    plain dicts (YAML-read)."""
    if isinstance(saved, dict) and isinstance(config, dict):
        out = []
        for key in dict.fromkeys([*saved, *config]):
            out += config_changes(saved.get(key), config.get(key), f"{prefix}{key}.")
        return out
    return [] if saved == config else [(prefix.rstrip("."), saved, config)]


def check_resume(config: Any, workdir: str | Path) -> None:
    """Before a run starts in `workdir` (and before its expensive set-up): when the workdir holds
    checkpoints, `config` must be the run that wrote them, save for `RESUMABLE_FIELDS` (resume
    means the same run: a changed learning rate or step count would silently continue another
    schedule). Reads only; raises ValueError naming every changed field."""
    workdir = Path(workdir)
    path = workdir / "config.yaml"
    checkpoints = workdir / "checkpoints"
    resuming = checkpoints.is_dir() and any(checkpoints.iterdir())
    if resuming and path.exists():
        now = yaml.safe_load(yaml.safe_dump(to_dict(config), sort_keys=False))
        changed = [
            (name, old, new)
            for name, old, new in config_changes(yaml.safe_load(path.read_text()) or {}, now)
            if not any(name == f or name.startswith(f + ".") for f in RESUMABLE_FIELDS)
        ]
        if changed:
            what = "; ".join(f"{name}: {old!r} → {new!r}" for name, old, new in changed)
            raise ValueError(
                f"{workdir} holds checkpoints of a run with another config ({what}); resume with "
                f"the config in {path}, or use another workdir"
            )
