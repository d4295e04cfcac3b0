"""The method registry: name → entry (options type, what it needs, how it computes the tables)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from zett.heuristics.base import Heuristic, SourceEmbeddings, TargetEmbeddings
from zett.heuristics.donor import Donor, load_donor
from zett.tokenization import CanonicalVocab, LoadedTokenizer, canonicalize

# What a method may need besides the source tables and the target tokenizer:
#   texts: target-language text (FOCUS trains fastText on it)
#   donor: a model that already uses the target tokenizer (OMP, CLP)
Need = Literal["texts", "donor"]
NEEDS: tuple[Need, ...] = ("texts", "donor")
_HOW_TO_GIVE = {
    "texts": "target-language texts (zett transfer: --texts FILE)",
    "donor": "a donor model that already uses the target tokenizer (zett transfer: --donor MODEL)",
}


@dataclass(frozen=True)
class Target:
    """The target side: the loaded tokenizer and its canonical vocabulary (ids line up)."""

    tokenizer: LoadedTokenizer
    vocab: CanonicalVocab

    @classmethod
    def of(cls, tokenizer: LoadedTokenizer) -> Target:
        return cls(tokenizer, canonicalize(tokenizer))


@dataclass(frozen=True)
class MethodInputs:
    """What the caller supplies besides the source and target: the optional inputs a method may
    declare in `Method.needs`, the seed and whether to show progress bars.

    donor: a path/alias (loaded on use by `load_donor`) or the donor's tables already loaded.
    lang: the language of the target text where the caller knows it (a bench cell's): a hypernet
    trained with language embeddings is conditioned on it unless its own `lang` option names one;
    every other method ignores it."""

    texts: Sequence[str] | None = None
    donor: str | SourceEmbeddings | Donor | None = None
    seed: int = 0
    progress: bool = False
    lang: str | None = None

    def donor_tables(self) -> SourceEmbeddings | Donor:
        """The donor's canonical vocabulary and tables (read now when given as a path/alias)."""
        if self.donor is None:
            raise ValueError("no donor model given")
        if not isinstance(self.donor, str):
            return self.donor
        return load_donor(self.donor)

    def check_donor(self) -> None:
        """A donor given as a path/alias must name a model that exists (before any work)."""
        if not isinstance(self.donor, str):
            return
        from zett.checkpoint import CheckpointError, resolve

        try:
            path = resolve(self.donor)
        except (FileNotFoundError, CheckpointError) as e:
            raise ValueError(f"donor model {self.donor!r}: {e}") from None
        if path.is_file() and path.suffix != ".gguf":
            raise ValueError(
                f"donor model {self.donor!r}: {path} is neither a .gguf file nor a model directory"
            )


# compute(source, target, options, inputs) -> tables
Compute = Callable[[SourceEmbeddings, Target, Any, MethodInputs], TargetEmbeddings]


@dataclass(frozen=True)
class Method:
    """One registry entry.

    options: a frozen dataclass type; its fields are the method's options (typed, with defaults).
    needs: inputs the method cannot run without (checked before any work).
    argument: the option that `name:ARG` sets (hypernet: its directory), if any; `metavar` names it
      in messages.
    heuristic: the plain heuristic function, for methods that are one (fvt_init, ...)."""

    name: str
    options: type
    compute: Compute
    needs: frozenset[Need] = frozenset()
    argument: str | None = None
    summary: str = ""
    heuristic: Heuristic | None = None
    metavar: str = "ARG"

    def __post_init__(self) -> None:
        if not dataclasses.is_dataclass(self.options):
            raise TypeError(f"method {self.name!r}: options must be a dataclass type")
        bad = set(self.needs) - set(NEEDS)
        if bad:
            raise ValueError(f"method {self.name!r}: unknown needs {sorted(bad)}; known: {NEEDS}")
        names = {f.name for f in dataclasses.fields(self.options)}
        if self.argument is not None and self.argument not in names:
            raise ValueError(f"method {self.name!r}: argument {self.argument!r} is not an option")

    @property
    def usage(self) -> str:
        """How the method is written: `fvt`, `hypernet:DIR`."""
        return f"{self.name}:{self.metavar}" if self.argument else self.name

    def option_names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self.options) if f.init]

    def missing(self, inputs: MethodInputs) -> list[Need]:
        have = {"texts": inputs.texts is not None, "donor": inputs.donor is not None}
        return [n for n in NEEDS if n in self.needs and not have[n]]

    def check(self, inputs: MethodInputs) -> None:
        """Raises before any work when an input the method needs is missing."""
        missing = self.missing(inputs)
        if missing:
            raise ValueError(
                f"method {self.name!r} needs " + " and ".join(_HOW_TO_GIVE[n] for n in missing)
            )
        if "donor" in self.needs:
            inputs.check_donor()


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Adds an entry; a name can be registered once."""
    if method.name in METHODS:
        raise ValueError(f"method {method.name!r} is already registered")
    if not method.name or not method.name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"method name {method.name!r}: use letters, digits, '_' and '-'")
    METHODS[method.name] = method
    return method


def method_names() -> list[str]:
    """Every registered method as it is written (`hypernet:DIR` for one with an argument)."""
    return sorted(m.usage for m in METHODS.values())


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(
            f"unknown method {name!r}; valid methods: {', '.join(method_names())}"
        ) from None


def heuristic_method(
    name: str,
    function: Heuristic,
    options: type,
    needs: Sequence[Need] = (),
    summary: str = "",
) -> Method:
    """An entry for a plain heuristic `function(source, target_vocab, *, seed, **options)`.

    Declared needs are passed as keyword arguments: "texts" → `texts=` and the target
    `tokenizer=` (to encode them), "donor" → `donor=` (the donor's SourceEmbeddings)."""

    def compute(
        source: SourceEmbeddings, target: Target, opts: Any, inputs: MethodInputs
    ) -> TargetEmbeddings:
        extra: dict[str, Any] = {}
        if "texts" in needs:
            extra.update(texts=inputs.texts, tokenizer=target.tokenizer.tokenizer)
        if "donor" in needs:
            extra["donor"] = inputs.donor_tables()
        kwargs = opts.kwargs() if hasattr(opts, "kwargs") else dataclasses.asdict(opts)
        return function(source, target.vocab, seed=inputs.seed, **kwargs, **extra)

    return Method(
        name,
        options,
        compute,
        frozenset(needs),
        summary=summary or (function.__doc__ or "").split("\n")[0],
        heuristic=function,
    )
