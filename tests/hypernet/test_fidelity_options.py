"""The reference's (bminixhofer/zett) settings as typed options: one language per batch, hidden size =
the model's width, surface forms up to 15 pieces; the v2 config selects them."""

import numpy as np
import pytest
from flax import nnx

from zett.config import load_config
from zett.hypernet import HypernetConfig, TrainConfig, build_hypernet
from zett.hypernet.plan import resolved_hypernet
from zett.models import decoder
from zett.sampling import CollatorConfig, InMemoryTexts, batch_texts
from zett.sampling.texts import documents_by_language

LANGS = ("en", "de", "zh")


def _texts() -> InMemoryTexts:
    texts = tuple(f"{lang} text {i} " * 3 for i in range(7) for lang in LANGS)
    return InMemoryTexts(texts, tuple(i % 3 for i in range(len(texts))), LANGS)


def test_one_language_per_batch():
    source = _texts()
    seen = set()
    for step in range(30):
        texts, langs = batch_texts(source, step, 5, 100, seed=1, one_language=True)
        assert len(set(langs.tolist())) == 1, (step, langs)
        lang = int(langs[0])
        # each text is a document of that language (its prefix names it)
        assert all(t.startswith(LANGS[lang]) for t in texts)
        seen.add(lang)
        again = batch_texts(source, step, 5, 100, seed=1, one_language=True)
        assert again[0] == texts and np.array_equal(again[1], langs)
    assert seen == {0, 1, 2}
    # mixed (v1): the same source gives batches of several languages
    _, mixed = batch_texts(source, 0, 9, 100, seed=1)
    assert len(set(mixed.tolist())) > 1
    groups = documents_by_language(source)
    assert [g.tolist() for g in groups] == [list(range(k, 21, 3)) for k in range(3)]


def test_lang_sampling_is_checked():
    with pytest.raises(ValueError, match="lang_sampling"):
        CollatorConfig(lang_sampling="per_text")


def test_width_from_model_and_surface_maxlen_15():
    base = decoder.MODEL_CLASS(decoder.tiny_config(vocab_size=96), rngs=nnx.Rngs(0))
    width = int(np.asarray(base.get_input_embeddings()).shape[1])
    cfg = TrainConfig(
        base_model="tiny",
        model=decoder.tiny_config(vocab_size=96),
        hypernet=HypernetConfig(hidden_size=32, intermediate_size=64, num_layers=1,
                                width_from_model=True),
        collator=CollatorConfig(surface_maxlen=15),
    )  # fmt: skip
    hn = build_hypernet(cfg, base, np.array([0]))
    assert (hn.cfg.hidden_size, hn.cfg.intermediate_size) == (width, 2 * width)
    assert hn.positions[...].shape == (15, width)
    assert resolved_hypernet(cfg) == hn.cfg
    # all 15 pieces are read: the last one changes a 15-piece token, not a 10-piece one
    ids = np.arange(1, 16, dtype=np.int32)[None].repeat(2, 0)
    other = ids.copy()
    other[:, 14] = 40
    lengths = np.array([15, 10], np.int32)
    a, b = hn(ids, lengths).input_embeddings, hn(other, lengths).input_embeddings
    assert np.abs(np.asarray(a[0] - b[0])).max() > 0
    np.testing.assert_array_equal(np.asarray(a[1]), np.asarray(b[1]))


def test_v2_config_selects_the_reference_settings():
    cfg = load_config(TrainConfig, "experiments/hypernet-v2/v2.yaml")
    assert cfg.collator.lang_sampling == "one_per_batch"
    assert cfg.collator.surface_maxlen == 15
    assert cfg.hypernet.width_from_model
    assert cfg.optim.identity_steps == 10_000
    assert cfg.collator.n_subsample is None  # full-vocabulary softmax
    assert cfg.data.ood == "data/corpus-ood" and cfg.monolingual_validation
    assert cfg.data.build_command.startswith(
        "zett data build --config experiments/data/hypernet-v2"
    )
