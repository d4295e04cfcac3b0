"""One registry of embedding methods: (source tables, target tokenizer, method) → target tables.

Every method — the heuristics (fvt, focus, mean, …) and `hypernet:DIR` alike — is an entry with a
name, a typed frozen options dataclass, the inputs it needs ("texts", "donor") and one call that
returns `zett.heuristics.TargetEmbeddings`:

    from zett.methods import MethodInputs, Target, parse_method
    from zett.heuristics import SourceEmbeddings

    spec = parse_method("hypernet:experiments/smollm2/hypernet,copy_overlap=true")
    # or parse_method("focus", {"epochs": "5"}) / parse_method({"name": "fvt", "copy": False})
    inputs = MethodInputs(texts=None, donor=None, seed=0)
    spec.check(inputs)  # a missing input (texts for focus, a donor) fails here, before any work
    source = SourceEmbeddings(source_vocab, e_in, e_out, tokenizer=source_tokenizer)
    tables = spec.run(source, Target(target_tokenizer, target_vocab), inputs)

Spec strings: `NAME[:ARG][,key=value...]` (see `zett.methods.spec`); `str(spec)` writes one back.
`split_methods("hypernet:DIR,fvt")` splits a comma-separated list. `method_names()` lists the
methods; an unknown name or option is an error listing the valid ones.

Adding a method: an options dataclass and `register(heuristic_method(name, fn, Options,
needs=("donor",)))` (see `zett.methods.heuristic`), or `register(Method(...))` with its own
`compute(source, target, options, inputs)`.
"""

from zett.methods import heuristic, hypernet  # noqa: F401  (registers the built-in methods)
from zett.methods.donor import load_donor
from zett.methods.heuristic import CopyOptions, FocusOptions, FvtOptions, MeanNoiseOptions
from zett.methods.hypernet import HypernetOptions, copy_overlap, load_for_source
from zett.methods.registry import (
    METHODS,
    NEEDS,
    Method,
    MethodInputs,
    Need,
    Target,
    get_method,
    heuristic_method,
    method_names,
    register,
)
from zett.methods.spec import MethodSpec, parse_method, parse_option_pairs, split_methods

__all__ = [
    "METHODS",
    "NEEDS",
    "CopyOptions",
    "FocusOptions",
    "FvtOptions",
    "HypernetOptions",
    "MeanNoiseOptions",
    "Method",
    "MethodInputs",
    "MethodSpec",
    "Need",
    "Target",
    "copy_overlap",
    "get_method",
    "heuristic_method",
    "load_donor",
    "load_for_source",
    "method_names",
    "parse_method",
    "parse_option_pairs",
    "register",
    "split_methods",
]
