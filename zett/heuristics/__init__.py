"""Embedding-initialisation baselines behind one interface: `HEURISTICS[name](source, target,
seed=...)`."""

from zett.heuristics.base import Heuristic, SourceEmbeddings, TargetEmbeddings, assemble, copy_plan
from zett.heuristics.fvt import fvt_init, lexical_init
from zett.heuristics.statistical import mean_init, mean_noise_init, mvn_init, random_init

HEURISTICS: dict[str, Heuristic] = {
    "fvt": fvt_init,
    "lexical": lexical_init,
    "mean": mean_init,
    "mean_noise": mean_noise_init,
    "mvn": mvn_init,
    "random": random_init,
}


def get_heuristic(name: str) -> Heuristic:
    if name == "focus":
        from zett.heuristics.focus import focus_init

        return focus_init
    try:
        return HEURISTICS[name]
    except KeyError:
        raise ValueError(
            f"unknown method {name!r}; available: {sorted(HEURISTICS) + ['focus']}"
        ) from None


__all__ = [
    "HEURISTICS",
    "Heuristic",
    "SourceEmbeddings",
    "TargetEmbeddings",
    "assemble",
    "copy_plan",
    "fvt_init",
    "get_heuristic",
    "lexical_init",
    "mean_init",
    "mean_noise_init",
    "mvn_init",
    "random_init",
]
