"""The language-id embedding (`hypernet.lang_embedding`, the reference's `hn_embed_lang_id`): config
checks, the prediction depends on the language through its embedding row only, a train step updates
that row, the language list survives the export, and callers get one clear error for a missing or
unknown language."""

import json
from dataclasses import replace

import jax
import numpy as np
import pytest
from flax import nnx

from zett.bench.cells import Cell, table_language
from zett.bench.config import BenchConfig
from zett.bench.config import validate as validate_bench
from zett.cli.main import main
from zett.config import ConfigError, load_config
from zett.hypernet import HypernetConfig, TrainConfig, load_hypernet, save_hypernet
from zett.hypernet.data import TrainBatches
from zett.hypernet.global_batch import DataParts, global_batch
from zett.hypernet.model import Hypernet
from zett.hypernet.optim import OptimConfig, make_optimizer
from zett.hypernet.predict import predict_surface
from zett.hypernet.step import _loss, train_step
from zett.methods import MethodInputs
from zett.models import decoder
from zett.parallel import make_mesh
from zett.parallel.mesh import MeshConfig
from zett.sampling import BibleTexts, Collator, CollatorConfig, SamplerConfig
from zett.sampling.batch import Batch
from zett.sampling.pipeline import make_batch
from zett.transfer import TransferConfig

SRC_VOCAB, SUBSET, MAXLEN = 128, 24, 3
LANGS = ("de", "en", "zh")


def _hcfg(**kw) -> HypernetConfig:
    return HypernetConfig(
        hidden_size=32,
        intermediate_size=64,
        num_layers=1,
        surface_maxlen=MAXLEN,
        lang_embedding=True,
        languages=LANGS,
        **kw,
    )


def _setup():
    base = decoder.MODEL_CLASS(decoder.tiny_config(vocab_size=SRC_VOCAB), rngs=nnx.Rngs(0))
    hn = Hypernet(_hcfg(), np.asarray(base.get_input_embeddings()), rngs=nnx.Rngs(1))
    return base, hn


def _surfaces(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, SRC_VOCAB, size=(SUBSET, MAXLEN)).astype(np.int32)
    lengths = rng.integers(1, MAXLEN + 1, size=(SUBSET,)).astype(np.int32)
    return ids, lengths


# -- config ---------------------------------------------------------------------------------------


def test_lang_embedding_needs_one_language_per_batch_and_the_padded_layout():
    hcfg = HypernetConfig(lang_embedding=True)
    with pytest.raises(ValueError, match="one_per_batch.*mixed batch"):
        TrainConfig(hypernet=hcfg)
    with pytest.raises(ValueError, match="surface_pack_width: 0"):
        TrainConfig(
            hypernet=hcfg,
            collator=CollatorConfig(lang_sampling="one_per_batch", surface_pack_width=28),
        )
    TrainConfig(hypernet=hcfg, collator=CollatorConfig(lang_sampling="one_per_batch"))
    assert TrainConfig().hypernet.lang_embedding is False  # off by default
    with pytest.raises(ValueError, match="without hypernet.lang_embedding"):
        HypernetConfig(languages=("de",))
    with pytest.raises(ValueError, match="duplicates"):
        HypernetConfig(lang_embedding=True, languages=("de", "de"))


def test_config_file_error_names_the_fields(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("hypernet:\n  lang_embedding: true\n")
    with pytest.raises((ValueError, ConfigError), match="collator.lang_sampling"):
        load_config(TrainConfig, path)
    cfg = load_config(TrainConfig, path, ["collator.lang_sampling=one_per_batch"])
    assert cfg.hypernet.lang_embedding and cfg.collator.lang_sampling == "one_per_batch"


def test_language_index_errors_list_the_known_languages():
    cfg = _hcfg()
    assert [cfg.language_index(x) for x in LANGS] == [0, 1, 2]
    with pytest.raises(ValueError, match="--lang.*one of: de, en, zh"):
        cfg.language_index(None)
    with pytest.raises(ValueError, match="no embedding for language 'fr'; it knows: de, en, zh"):
        cfg.language_index("fr")
    plain = HypernetConfig()
    assert plain.language_index(None) is None
    with pytest.raises(ValueError, match="without language embeddings"):
        plain.language_index("de")


# -- model ----------------------------------------------------------------------------------------


def test_output_depends_on_the_language_through_its_row_only():
    _, hn = _setup()
    ids, lengths = _surfaces()
    outs = [np.asarray(hn(ids, lengths, language=i).input_embeddings) for i in range(3)]
    for a in range(3):
        for b in range(a + 1, 3):
            assert np.abs(outs[a] - outs[b]).max() > 1e-4, (a, b)
    # the same output twice for one language (deterministic), and under a copy of its row
    np.testing.assert_array_equal(
        np.asarray(hn(ids, lengths, language=1).input_embeddings), outs[1]
    )
    table = hn.lang_embeddings[...]
    hn.lang_embeddings.set_value(table.at[2].set(table[0]))
    np.testing.assert_array_equal(
        np.asarray(hn(ids, lengths, language=2).input_embeddings), outs[0]
    )
    with pytest.raises(ValueError, match="pass `language`"):
        hn(ids, lengths)


def test_pieces_beyond_a_tokens_length_are_still_masked():
    _, hn = _setup()
    ids, lengths = _surfaces()
    other = ids.copy()
    beyond = np.arange(MAXLEN)[None, :] >= lengths[:, None]
    other[beyond] = (other[beyond] + 7) % SRC_VOCAB
    assert beyond.any()
    a = np.asarray(hn(ids, lengths, language=1).input_embeddings)
    b = np.asarray(hn(other, lengths, language=1).input_embeddings)
    np.testing.assert_array_equal(a, b)


def test_train_step_updates_the_batch_languages_row_only():
    base, hn = _setup()
    opt = nnx.Optimizer(
        hn,
        make_optimizer(OptimConfig(identity_steps=0, lr=1e-2, warmup_steps=1, total_steps=10)),
        wrt=nnx.Param,
    )
    ids, lengths = _surfaces()
    source_ids = np.where(lengths == 1, ids[:, 0], -1).astype(np.int32)
    text = np.random.default_rng(1).integers(1, SUBSET, size=(2, 8)).astype(np.int32)
    batch = Batch(
        text,
        np.ones_like(text),
        text.copy(),
        ids,
        lengths,
        np.full((SUBSET,), -1, np.int32),
        source_ids,
        np.ones(SUBSET, bool),
        np.full((2,), 30, np.int32),
        language=np.asarray(2, np.int32),
    )
    grads = nnx.grad(lambda m: _loss(m, base, batch, 0.5, False)[0])(hn)
    g = np.asarray(grads["lang_embeddings"][...])
    assert np.abs(g[2]).max() > 0
    np.testing.assert_array_equal(g[:2], 0.0)  # languages not in the batch get no gradient
    before = np.asarray(hn.lang_embeddings[...]).copy()
    for _ in range(2):  # the first step's learning rate is 0 (warm-up)
        train_step(hn, opt, base, batch)
    after = np.asarray(hn.lang_embeddings[...])
    assert np.abs(after[2] - before[2]).max() > 1e-4


# -- export and prediction --------------------------------------------------------------------------


def _export(tmp_path, hn):
    return save_hypernet(tmp_path / "hn", hn, base_model="tiny", source_tokenizer="tiny")


def test_export_round_trip_keeps_the_languages(tmp_path):
    _, hn = _setup()
    out = _export(tmp_path, hn)
    loaded = load_hypernet(out, np.asarray(hn.source_table[...]))
    assert loaded.cfg.languages == LANGS and loaded.cfg.lang_embedding
    np.testing.assert_array_equal(
        np.asarray(loaded.lang_embeddings[...]), np.asarray(hn.lang_embeddings[...])
    )
    ids, lengths = _surfaces()
    a = predict_surface(hn, ids, lengths, chunk=8, progress=False, lang="zh")[0]
    b = predict_surface(loaded, ids, lengths, chunk=8, progress=False, lang="zh")[0]
    np.testing.assert_array_equal(a, b)
    direct = np.asarray(hn(ids, lengths, language=2).input_embeddings)
    np.testing.assert_allclose(a, direct, rtol=1e-5, atol=1e-6)  # chunking pads, nothing else
    with pytest.raises(ValueError, match="it knows: de, en, zh"):
        predict_surface(loaded, ids, lengths, progress=False, lang="fr")


def test_resumed_run_on_other_languages_fails():
    cfg = TrainConfig(
        hypernet=HypernetConfig(lang_embedding=True),
        collator=CollatorConfig(lang_sampling="one_per_batch"),
    )
    state = {"pipeline": {"step": 0}, "languages": ["de", "en"]}
    with pytest.raises(ValueError, match=r"started with languages \['de', 'en'\]"):
        TrainBatches(cfg, None, SRC_VOCAB, np.array([0]), None, None, 5, state, ("de", "fr"))
    batches = TrainBatches(cfg, None, SRC_VOCAB, np.array([0]), None, None, 5, state, ("de", "en"))
    assert batches.state()["languages"] == ["de", "en"]


def test_transfer_and_bench_errors(tmp_path, capsys):
    _, hn = _setup()
    lang_dir = str(_export(tmp_path / "a", hn))
    plain = Hypernet(
        replace(_hcfg(), lang_embedding=False, languages=()),
        np.asarray(hn.source_table[...]),
        rngs=nnx.Rngs(0),
    )
    plain_dir = str(_export(tmp_path / "b", plain))
    common = dict(model="no-such-model", tokenizer="t.json", out=str(tmp_path / "out"))
    # checked when the config is made, before the model is read
    with pytest.raises(ValueError, match="give the language.*--lang.*one of: de, en, zh"):
        TransferConfig(**common, hypernet=lang_dir)
    with pytest.raises(ValueError, match="no embedding for language 'fr'; it knows: de, en, zh"):
        TransferConfig(**common, hypernet=lang_dir, lang="fr")
    with pytest.raises(ValueError, match="without language embeddings"):
        TransferConfig(**common, hypernet=plain_dir, lang="de")
    with pytest.raises(ValueError, match="method 'fvt' takes no language"):
        TransferConfig(**common, method="fvt", lang="de")
    cfg = TransferConfig(**common, hypernet=lang_dir, lang="en")
    assert cfg.spec.options.lang == "en"
    # the CLI: one line naming the problem, exit status 2
    argv = ["transfer", "--model", "smollm2", "--tokenizer", "t.json", "--out", common["out"]]
    assert main([*argv, "--hypernet", lang_dir]) == 2
    assert "one of: de, en, zh" in capsys.readouterr().err
    assert main([*argv, "--hypernet", lang_dir, "--lang", "fr"]) == 2
    assert "it knows: de, en, zh" in capsys.readouterr().err
    # the bench gives each cell's language; a hypernet without embeddings ignores it
    opts = cfg.spec.options
    assert replace(opts, lang=None).language(MethodInputs(lang="zh")) == "zh"
    assert opts.language(MethodInputs(lang="zh")) == "en"  # its own option wins
    plain_opts = replace(opts, path=plain_dir, lang=None)
    assert plain_opts.language(MethodInputs(lang="zh")) is None


def test_mixed_batches_carry_no_language_leaf():
    # default (mixed) batches keep today's pytree: no language leaf, the same jitted signature
    ids, lengths = _surfaces()
    batch = Batch(
        ids, ids, ids, ids, lengths, lengths, lengths, np.ones(SUBSET, bool), lengths
    )  # fmt: skip
    assert len(jax.tree.leaves(batch)) == 9
    assert len(jax.tree.leaves(replace(batch, language=np.asarray(0, np.int32)))) == 10


@pytest.mark.slow  # ≈ 45 s on the shared machine: a whole tiny run with per-language validation
def test_zett_train_fixes_the_corpus_languages(tmp_path, corpus):
    work = tmp_path / "run"
    args = [
        "train",
        "tiny",
        f"workdir={work}",
        f"data.train={corpus}",
        "optim.identity_steps=2",
        "optim.identity_warmup_steps=1",
        "optim.warmup_steps=1",
        "optim.total_steps=4",
        "save_every=4",
        "tensorboard=false",
        "hypernet.lang_embedding=true",
        "collator.lang_sampling=one_per_batch",
        f"data.validation={corpus}",
        "data.validation_texts=2",
        "data.identity_tokens=20",
        "monolingual_validation=[{lang: l, path: minilm}]",
    ]
    assert main(args) == 0
    rows = [json.loads(line) for line in (work / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in rows if "val/l/minilm/bits_per_byte" in r]
    assert [r["step"] for r in val] == [4] and val[0]["identity/n"] == 3 * 20  # every language
    assert (work / "validation.png").is_file()
    saved = json.loads((work / "hypernet" / "hypernet.json").read_text())
    assert saved["config"]["languages"] == ["k", "l", "v"]  # the fixture corpus's, sorted
    assert saved["config"]["lang_embedding"] is True
    assert main([*args, "hypernet.languages=k,v"]) == 2  # differs from the corpus: refused


def test_bench_conditions_each_cell_on_its_language(tmp_path):
    _, hn = _setup()
    method = f"hypernet:{_export(tmp_path, hn)}"
    cell = Cell("smollm2", "bytes", "zh", method, "in-domain")
    assert table_language(cell) == "zh"
    assert table_language(replace(cell, method=f"{method},lang=en")) is None  # fixed by option
    assert table_language(replace(cell, method="fvt")) is None
    with pytest.raises(ValueError, match="no embedding for language 'fr'; it knows: de, en, zh"):
        validate_bench(BenchConfig(languages=("de", "fr"), methods=("original", method)))


def test_parts_of_a_global_batch_keep_its_language():
    config = CollatorConfig(
        batch_size=4,
        max_chars=128,
        block_size=16,
        n_subsample=256,
        surface_maxlen=4,
        num_workers=0,
        lang_sampling="one_per_batch",
        sampler=SamplerConfig(vocab_size=1024, window=1),
    )
    texts = BibleTexts(("k", "l"))
    parts = [make_batch(Collator(config, "smollm2"), texts, 1, part=(i, 2)) for i in range(2)]
    language = int(parts[0].language)
    assert {int(p.language) for p in parts} == {language}
    assert set(np.concatenate([p.lang_ids for p in parts]).tolist()) == {language}
    merged = global_batch(parts, DataParts(2, (0, 1)), make_mesh(MeshConfig()))
    assert int(merged.language) == language
