"""Evaluation text that is held out at the level of the corpus' split units (a Bible chapter in every
translation, a documentation page in every package, a stdlib subpackage), chosen so that a sample
of n passages always spans min(n, available) units.

Every evaluation path takes its text from here: `zett bench` (a built corpus' held-out split),
`zett demo`, the notebook and `experiments/smollm2/eval_hypernet.py` (the packaged Bibles, split
with the corpus builder's own `is_heldout`, so no built corpus is needed)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from zett.data.build import CorpusConfig, is_heldout
from zett.data.clean import chunk_passages, unit_hash
from zett.data.sources import bible


def record_unit(record: dict) -> str:
    """The split unit of a corpus record {text, lang, source, doc[, unit]}."""
    if record.get("unit"):
        return str(record["unit"])
    doc, source = str(record["doc"]), record.get("source") or str(record["doc"]).split("/")[0]
    parts = doc.split("/")
    if source == "bible" and len(parts) == 4:  # bible/<translation>/<book>/<chapter>
        return "/".join((parts[0], parts[2], parts[3]))
    if source == "debian-docs" and len(parts) >= 3:  # debian-docs/<package>/<page path>
        return "/".join([parts[0], *parts[2:]])
    if source == "python-code" and len(parts) >= 2:  # python-code/<top>/<second>/...
        return "/".join(parts[:3])
    return doc  # an unknown source: every document is its own unit


def select_passages(
    records: Sequence[dict], n: int, min_units: int = 1, seed: int = 0, where: str = "texts"
) -> list[dict]:
    """n records by a seeded round-robin over units: the first passage of every unit (units in
    seeded order) before any unit's second, so n passages span min(n, units) units. Fewer than
    `min_units` units available is an error naming `where`."""
    by_unit: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_unit[record_unit(r)].append(r)
    if len(by_unit) < min_units:
        raise ValueError(
            f"{where}: {len(by_unit)} units (chapters/documents) available, need at least "
            f"{min_units}"
        )
    units = sorted(by_unit, key=lambda u: unit_hash(seed, "eval-unit", u))
    queues = [
        sorted(by_unit[u], key=lambda r: unit_hash(seed, "eval-passage", r["doc"], r["text"]))
        for u in units
    ]
    picked: list[dict] = []
    depth = 0
    while len(picked) < n and any(depth < len(q) for q in queues):
        picked += [q[depth] for q in queues if depth < len(q)][: n - len(picked)]
        depth += 1
    return picked


@dataclass(frozen=True)
class BibleSplit:
    """The packaged Bible of one language split like the corpus: `train` = every chapter of every
    translation whose unit is a train unit; `heldout` = selected passages (records with unit) of
    held-out chapters."""

    train: list[str]
    heldout: list[dict]

    @property
    def heldout_texts(self) -> list[str]:
        return [r["text"] for r in self.heldout]


def bible_split(
    lang: str, n_heldout: int, min_units: int = 8, seed: int = 0, config: CorpusConfig | None = None
) -> BibleSplit:
    """Train chapters and `n_heldout` held-out passages of the packaged Bibles in `lang`, split by
    the corpus builder's own unit split (`is_heldout(unit, CorpusConfig())`) and chunked into
    passages as the builder does."""
    config = config or CorpusConfig()
    docs = list(bible.iter_documents(lang))
    if not docs:
        raise ValueError(
            f"no packaged Bible text for language {lang!r}; have {sorted(bible.bible_languages())}"
        )
    train, held = [], []
    for d in docs:
        if not is_heldout(d.unit, config):
            train.append(d.joiner.join(d.segments))
            continue
        for text in chunk_passages(
            d.segments,
            d.joiner,
            config.target_passage_chars,
            config.max_passage_chars,
            config.min_passage_chars,
        ):
            held.append({"text": text, "lang": lang, "source": d.source, "doc": d.doc_id})
    picked = select_passages(held, n_heldout, min(min_units, n_heldout), seed, f"Bible {lang}")
    return BibleSplit(train, [{**r, "unit": record_unit(r)} for r in picked])
