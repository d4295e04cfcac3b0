"""Embedding-initialisation baselines, each a function `fn(source, target, *, seed, **options)`.

Choosing one by name (with typed options, `hypernet:DIR` alongside) is `zett.methods`' job."""

from zett.heuristics.base import Heuristic, SourceEmbeddings, TargetEmbeddings, assemble, copy_plan
from zett.heuristics.calibrated import fvt_calibrated_init
from zett.heuristics.clp import clp_init
from zett.heuristics.donor import Donor, load_donor
from zett.heuristics.focus import focus_init
from zett.heuristics.fvt import fvt_init, lexical_init
from zett.heuristics.omp import omp_init
from zett.heuristics.statistical import mean_init, mean_noise_init, mvn_init, random_init

__all__ = [
    "Donor",
    "Heuristic",
    "SourceEmbeddings",
    "TargetEmbeddings",
    "assemble",
    "clp_init",
    "copy_plan",
    "focus_init",
    "fvt_calibrated_init",
    "fvt_init",
    "lexical_init",
    "load_donor",
    "mean_init",
    "mean_noise_init",
    "mvn_init",
    "omp_init",
    "random_init",
]
