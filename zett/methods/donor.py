"""A donor model (one that already uses the target tokenizer) for donor methods: its vocabulary
and embedding tables only (`zett.heuristics.donor`)."""

from zett.heuristics.donor import Donor, load_donor

__all__ = ["Donor", "load_donor"]
