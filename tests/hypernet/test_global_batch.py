"""Per-host parts of a global batch: same tokenizer as one whole batch, and a merged subset without
duplicates."""

import numpy as np
import pytest

from zett.hypernet.global_batch import DataParts, first_occurrence, merge_parts
from zett.sampling import BibleTexts, Collator, CollatorConfig, SamplerConfig
from zett.sampling.pipeline import make_batch, part_rows

CONFIG = CollatorConfig(
    batch_size=8,
    max_chars=256,
    block_size=32,
    n_subsample=512,
    surface_maxlen=4,
    num_workers=0,
    sampler=SamplerConfig(vocab_size=2048, window=2),
)


def test_first_occurrence_keeps_the_first_real_row_of_each_token():
    ids = np.array([[5, 9, 0, 0], [9, 7, 5, 0]])
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    assert first_occurrence(ids, mask).tolist() == [0, 1, 2, 3, 1, 5, 0, 7]


@pytest.mark.parametrize("step", [0, 3])
def test_parts_reassemble_the_whole_batch(step):
    texts = BibleTexts(("k", "l"))
    whole_collator = Collator(CONFIG, "smollm2")
    part_config = CollatorConfig(**{**CONFIG.__dict__, "n_subsample": 256})
    part_collators = [Collator(part_config, "smollm2") for _ in range(2)]
    for past in range(
        step + 1
    ):  # consecutive steps: the sampler windows must hold the same batches
        whole = make_batch(whole_collator, texts, past)
        parts = [make_batch(c, texts, past, part=(i, 2)) for i, c in enumerate(part_collators)]
    assert {p.vocab_size for p in parts} == {
        whole.vocab_size
    }  # one sampled tokenizer for every host
    # each part encodes its own texts exactly as the whole batch does (ids in sampled-vocabulary
    # space)
    for i, p in enumerate(parts):
        rows = part_rows(8, (i, 2))
        np.testing.assert_array_equal(
            p.vocab_ids[p.input_ids], whole.vocab_ids[whole.input_ids][rows]
        )
        np.testing.assert_array_equal(p.attention_mask, whole.attention_mask[rows])
        np.testing.assert_array_equal(p.n_bytes, whole.n_bytes[rows])
    merged = merge_parts(parts, DataParts(2, (0, 1)), full_vocab=False)
    assert merged["surface_ids"].shape == (512, 4) and merged["input_ids"].shape == (8, 32)
    concat_ids = np.concatenate([p.vocab_ids for p in parts])
    real = merged["vocab_mask"]
    assert len(np.unique(concat_ids[real])) == real.sum()  # no token holds two logits
    assert real.sum() < sum(
        p.vocab_mask.sum() for p in parts
    )  # specials at least were chosen by both parts
    # the merged ids still name the same tokens, and only real rows
    np.testing.assert_array_equal(concat_ids[merged["input_ids"]], whole.vocab_ids[whole.input_ids])
    labelled = merged["labels"] >= 0
    assert real[merged["input_ids"]].all() and real[merged["labels"][labelled]].all()
    # a kept row's surface form is its part's
    kept = np.flatnonzero(real)
    surfaces = np.concatenate([p.surface_ids for p in parts])
    np.testing.assert_array_equal(merged["surface_ids"][kept], surfaces[kept])
    assert (merged["surface_lengths"][~real] == 0).all() and (
        merged["special_source_ids"][~real] == -1
    ).all()
