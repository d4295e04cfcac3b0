"""Embedding-initialisation baselines, each a function `fn(source, target, *, seed, **options)`.

Choosing one by name (with typed options, `hypernet:DIR` alongside) is `zett.methods`' job."""

from zett.heuristics.base import Heuristic, SourceEmbeddings, TargetEmbeddings, assemble, copy_plan
from zett.heuristics.focus import focus_init
from zett.heuristics.fvt import fvt_init, lexical_init
from zett.heuristics.statistical import mean_init, mean_noise_init, mvn_init, random_init


def get_heuristic(name: str) -> Heuristic:
    """The heuristic function registered as `name` in `zett.methods` (for callers that want the
    bare function, not the registry's typed entry)."""
    from zett.methods import get_method  # zett.methods builds on this package: a cycle at the top

    method = get_method(name)
    if method.heuristic is None:
        raise ValueError(f"method {name!r} is not a plain heuristic; run it with zett.methods")
    return method.heuristic


__all__ = [
    "Heuristic",
    "SourceEmbeddings",
    "TargetEmbeddings",
    "assemble",
    "copy_plan",
    "focus_init",
    "fvt_init",
    "get_heuristic",
    "lexical_init",
    "mean_init",
    "mean_noise_init",
    "mvn_init",
    "random_init",
]
