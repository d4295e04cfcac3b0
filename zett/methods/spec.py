"""A method with its options: parsed from one string (CLI, YAML lists) or a YAML mapping.

String grammar (the `key=value` values are typed by the method's options dataclass):

    spec  := NAME [":" ARG] ("," KEY "=" VALUE)*      fvt | hypernet:DIR,copy_overlap=true
    list  := spec ("," spec)*                          key=value items belong to the spec before

ARG sets the method's one positional option (hypernet: `path`) and runs to the first ",". Mapping
form: `{name: hypernet, path: DIR, copy_overlap: true}`. Values: true/false/yes/no/1/0 for booleans,
numbers, `none`/`null` for optional fields; unknown option names are an error listing the valid
ones.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zett.config import ConfigError, coerce
from zett.heuristics.base import SourceEmbeddings, TargetEmbeddings
from zett.methods.registry import Method, MethodInputs, Need, Target, get_method


@dataclass(frozen=True)
class MethodSpec:
    """A registry entry and its typed options; `run` computes the target tables."""

    method: Method
    options: Any

    @property
    def name(self) -> str:
        return self.method.name

    @property
    def needs(self) -> frozenset[Need]:
        return self.method.needs

    def check(self, inputs: MethodInputs) -> None:
        """Fails before any work when an input the method needs is missing."""
        self.method.check(inputs)

    def run(
        self, source: SourceEmbeddings, target: Target, inputs: MethodInputs | None = None
    ) -> TargetEmbeddings:
        """Tables [target_vocab, embed] for `target` from the loaded source tables."""
        inputs = inputs or MethodInputs()
        self.check(inputs)
        return self.method.compute(source, target, self.options, inputs)

    def changed_options(self) -> dict[str, Any]:
        """Options that differ from their defaults (the argument and required ones included)."""
        out = {}
        for f in dataclasses.fields(self.options):
            value = getattr(self.options, f.name)
            default = f.default if f.default is not dataclasses.MISSING else dataclasses.MISSING
            if f.init and value != default:
                out[f.name] = value
        return out

    def __str__(self) -> str:
        """The canonical string form; `parse_method(str(spec)) == spec`."""
        changed = self.changed_options()
        head = self.name
        arg = self.method.argument
        if arg is not None and arg in changed:
            head += f":{changed.pop(arg)}"
        return ",".join([head] + [f"{k}={_show(v)}" for k, v in changed.items()])


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)


def split_methods(text: str) -> list[str]:
    """`"hypernet:DIR,copy_overlap=true,fvt"` → `["hypernet:DIR,copy_overlap=true", "fvt"]`."""
    out: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if "=" in piece.split(":", 1)[0]:
            if not out:
                raise ValueError(f"method list {text!r}: option {piece!r} before any method")
            out[-1] += "," + piece
        else:
            out.append(piece)
    return out


def _parse_string(text: str) -> tuple[str, dict[str, str]]:
    head, *items = text.strip().split(",")
    name, sep, arg = head.partition(":")
    name = name.strip()
    options: dict[str, str] = {}
    if sep:
        method = get_method(name)
        if method.argument is None:
            raise ValueError(f"method {name!r} takes no ':' argument (write {method.usage!r})")
        if not arg:
            raise ValueError(f"method {name!r}: empty argument; write {method.usage!r}")
        options[method.argument] = arg
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"method {text!r}: {item!r} is not key=value")
        key = key.strip()
        if key in options:
            raise ValueError(f"method {text!r}: option {key!r} given twice")
        options[key] = value.strip()
    return name, options


def _coerce_options(method: Method, given: Mapping[str, Any]) -> Any:
    valid = method.option_names()
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ConfigError(
            f"method {method.name!r}: unknown option(s) {unknown}; valid options: "
            f"{', '.join(valid) or 'none'}"
        )
    hints = typing.get_type_hints(method.options)
    values = {}
    for key, value in given.items():
        optional = type(None) in typing.get_args(hints[key])
        if optional and isinstance(value, str) and value.lower() in ("none", "null"):
            value = None
        values[key] = coerce(hints[key], value, f"method {method.name!r} option {key!r}")
    required = [
        f.name
        for f in dataclasses.fields(method.options)
        if f.init
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and f.name not in values
    ]
    if required:
        raise ConfigError(
            f"method {method.name!r} needs option(s) {required} (write {method.usage!r})"
        )
    return method.options(**values)


def parse_method(
    spec: str | Mapping[str, Any] | MethodSpec,
    options: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> MethodSpec:
    """A MethodSpec from `"fvt"`, `"hypernet:DIR,copy_overlap=true"` or `{name: ..., key: value}`.

    options: more options (e.g. from repeated `--method-opt key=value`); an option given twice is
    an error. defaults: a caller's defaults for options a string or mapping spec does not set
    (names the method does not have are ignored; a MethodSpec keeps its own values). Fails on
    unknown names, ill-typed values and missing required options; option dataclasses validate
    their values (e.g. the hypernet directory) too."""
    if isinstance(spec, MethodSpec):  # typed already: its options stand, caller defaults do not
        if not options:
            return spec
        spec, defaults = {"name": spec.name, **spec.changed_options()}, None
    if isinstance(spec, str):
        name, given = _parse_string(spec)
    elif isinstance(spec, Mapping):
        if "name" not in spec:
            raise ConfigError(f"method {dict(spec)!r}: a mapping needs 'name'")
        name, given = str(spec["name"]), {k: v for k, v in spec.items() if k != "name"}
    else:
        raise TypeError(f"a method is a string or a mapping, got {type(spec).__name__}")
    method = get_method(name)
    for key, value in (options or {}).items():
        if key in given:
            raise ConfigError(f"method {name!r}: option {key!r} given twice")
        given[key] = value
    names = set(method.option_names())
    for key, value in (defaults or {}).items():
        if key in names and key not in given:
            given[key] = value
    return MethodSpec(method, _coerce_options(method, given))


def parse_option_pairs(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`["epochs=5", "dim=50"]` (repeated `--method-opt`) → {"epochs": "5", "dim": "50"}."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"--method-opt {pair!r}: expected key=value")
        if key.strip() in out:
            raise ValueError(f"--method-opt {key.strip()!r} given twice")
        out[key.strip()] = value.strip()
    return out
