"""Llama / Mistral / Qwen2 / Qwen3 in zett against transformers (PyTorch CPU, eager attention), fp32,
atol 1e-4."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from zett.models import decoder, llama_hf
from zett.models.config import ModelConfig, RopeScaling, UnsupportedModelError
from zett.models.generate import generate_greedy
from zett.models.weights import CheckpointError, assign_weights, export_weights

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

ATOL = 1e-4
CONFIG_CLASSES = {
    "llama": transformers.LlamaConfig,
    "mistral": transformers.MistralConfig,
    "qwen2": transformers.Qwen2Config,
    "qwen3": transformers.Qwen3Config,
}
COMMON = dict(
    vocab_size=96,
    hidden_size=32,
    intermediate_size=48,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
    rms_norm_eps=1e-5,
    rope_parameters={"rope_type": "default", "rope_theta": 1000.0},
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
)
# Per-family settings that exercise what sets each apart (qwen3: head_dim ≠ hidden / heads).
FAMILY_EXTRA = {
    "llama": {},
    "mistral": {"sliding_window": None},
    "qwen2": {},
    "qwen3": {"head_dim": 12},
}
FAMILIES = tuple(CONFIG_CLASSES)


def _randomize(model: torch.nn.Module) -> None:
    """HF init leaves biases at 0 and norms at 1, which would hide layout bugs: use O(1) random
    values."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
            elif "embed_tokens" in name:
                p.copy_(torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / p.shape[1] ** 0.5)


def make_pair(family: str, tied: bool = False, **overrides):
    """(torch model, zett model, hf config dict) with identical random weights."""
    torch.manual_seed(0)
    kwargs = {**COMMON, **FAMILY_EXTRA[family], "tie_word_embeddings": tied, **overrides}
    hf_cfg = CONFIG_CLASSES[family](**kwargs)
    ref = transformers.AutoModelForCausalLM.from_config(hf_cfg, attn_implementation="eager").eval()
    _randomize(ref)
    hf_dict = json.loads(hf_cfg.to_json_string())
    cfg = llama_hf.from_hf_config(hf_dict)
    # abstract init (no random numbers, nothing compiled): every parameter is then loaded
    model = nnx.eval_shape(lambda: decoder.DecoderLM(cfg, rngs=nnx.Rngs(1)))
    assign_weights(
        model, state_dict_np(ref, tied), llama_hf.weight_rules(cfg), source=f"{family} test model"
    )
    return ref, model, hf_dict


def state_dict_np(ref, tied: bool) -> dict[str, np.ndarray]:
    """The tensors a safetensors checkpoint holds (the tied head is stored once, as the embeddings)."""
    sd = {k: v.detach().numpy().copy() for k, v in ref.state_dict().items()}
    if tied:
        sd.pop("lm_head.weight")
    return sd


def hf_positions(mask: np.ndarray) -> np.ndarray:
    """What HF `generate` passes for padded batches; zett derives the same ids from the mask."""
    return np.where(mask == 1, np.cumsum(mask, -1) - 1, 1)


def run_ref(ref, ids=None, mask=None, embeds=None, hidden=False):
    kw = {}
    if mask is not None:
        kw = dict(attention_mask=torch.tensor(mask), position_ids=torch.tensor(hf_positions(mask)))
    with torch.no_grad():
        out = ref(
            input_ids=None if ids is None else torch.tensor(ids),
            inputs_embeds=None if embeds is None else torch.tensor(embeds),
            output_hidden_states=hidden,
            **kw,
        )
    return out


@nnx.jit(static_argnames=("hidden",))
def forward(model, ids=None, mask=None, embeds=None, hidden=False, tables=(None, None)):
    """The model's forward under jit: one compile per (config, shape) instead of one per eager op."""
    return model(
        ids,
        inputs_embeds=embeds,
        attention_mask=mask,
        output_hidden_states=hidden,
        input_embeddings=tables[0],
        output_embeddings=tables[1],
    )


def random_ids(shape, seed=0, vocab=96):
    return np.random.default_rng(seed).integers(3, vocab, shape)


@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
@pytest.mark.parametrize("family", FAMILIES)
def test_logits_hidden_states_and_export(family, tied):
    ref, model, _ = make_pair(family, tied)
    ids = random_ids((2, 12))
    expected = run_ref(ref, ids, hidden=True)
    out = forward(model, jnp.asarray(ids), hidden=True)
    np.testing.assert_allclose(np.asarray(out.logits), expected.logits.numpy(), atol=ATOL, rtol=0)
    assert len(out.hidden_states) == len(expected.hidden_states) == COMMON["num_hidden_layers"] + 1
    for ours, theirs in zip(out.hidden_states, expected.hidden_states, strict=True):
        np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), atol=ATOL, rtol=0)
    np.testing.assert_allclose(
        np.asarray(out.last_hidden_state), expected.hidden_states[-1].numpy(), atol=ATOL
    )

    # export is the exact inverse of loading: same names, shapes and values as the torch state_dict
    sd = state_dict_np(ref, tied)
    exported = export_weights(model, llama_hf.weight_rules(model.config))
    assert set(exported) == set(sd)
    for name, value in sd.items():
        assert exported[name].shape == value.shape, name
        np.testing.assert_array_equal(exported[name], value, err_msg=name)


def test_llama_with_attention_and_mlp_bias():
    ref, model, _ = make_pair("llama", attention_bias=True, mlp_bias=True, head_dim=16)
    assert any("o_proj.bias" in k for k in ref.state_dict())
    ids = random_ids((2, 9), seed=3)
    np.testing.assert_allclose(
        np.asarray(forward(model, jnp.asarray(ids)).logits),
        run_ref(ref, ids).logits.numpy(),
        atol=ATOL,
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_left_and_right_padding(family):
    ref, model, _ = make_pair(family)
    tokens = random_ids((10,), seed=1)
    pad = COMMON["pad_token_id"]
    ids = np.stack([tokens, np.r_[[pad] * 4, tokens[:6]], np.r_[tokens[:7], [pad] * 3]])
    mask = np.stack([np.ones(10), np.r_[[0] * 4, [1] * 6], np.r_[[1] * 7, [0] * 3]]).astype(
        np.int64
    )
    expected = run_ref(ref, ids, mask).logits.numpy()
    ours = np.asarray(forward(model, jnp.asarray(ids), jnp.asarray(mask)).logits)
    real = mask == 1
    np.testing.assert_allclose(ours[real], expected[real], atol=ATOL, rtol=0)
    # padding must not change a sequence's logits: row 0 holds the same prefixes unpadded (causal)
    np.testing.assert_allclose(ours[1, 4:], ours[0, :6], atol=ATOL, rtol=0)
    np.testing.assert_allclose(ours[2, :7], ours[0, :7], atol=ATOL, rtol=0)


@pytest.mark.parametrize("family", FAMILIES)
def test_inputs_embeds(family):
    ref, model, _ = make_pair(family, tied=family in ("llama", "qwen3"))
    embeds = np.random.default_rng(2).normal(size=(2, 7, COMMON["hidden_size"])).astype(np.float32)
    expected = run_ref(ref, embeds=embeds).logits.numpy()
    ours = forward(model, embeds=jnp.asarray(embeds)).logits
    np.testing.assert_allclose(np.asarray(ours), expected, atol=ATOL, rtol=0)
    # embed() is what HF calls inputs_embeds
    ids = random_ids((1, 5))
    np.testing.assert_allclose(
        np.asarray(model.embed(jnp.asarray(ids))),
        ref.get_input_embeddings()(torch.tensor(ids)).detach().numpy(),
    )


HEAD_DIM = COMMON["hidden_size"] // COMMON["num_attention_heads"]
ROPE_VARIANTS = {
    "linear": ({"rope_type": "linear", "factor": 3.0}, 20),
    "dynamic_short": ({"rope_type": "dynamic", "factor": 2.0}, 12),
    "dynamic_long": (
        {"rope_type": "dynamic", "factor": 2.0},
        24,
    ),  # beyond max_position_embeddings=16
    "yarn": ({"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 4}, 20),
    "yarn_mscale": (
        {
            "rope_type": "yarn",
            "factor": 4.0,
            "original_max_position_embeddings": 4,
            "mscale": 1.0,
            "mscale_all_dim": 0.5,
            "beta_fast": 8.0,
            "beta_slow": 2.0,
            "truncate": False,
        },
        20,
    ),  # fmt: skip
    "llama3": (
        {
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8,
        },
        20,
    ),  # fmt: skip
    "longrope_short": (
        {
            "rope_type": "longrope",
            "original_max_position_embeddings": 8,
            "factor": 2.0,
            "short_factor": [1.0 + 0.3 * i for i in range(HEAD_DIM // 2)],
            "long_factor": [1.5 + 2.0 * i for i in range(HEAD_DIM // 2)],
        },
        6,
    ),  # fmt: skip
    "longrope_long": (
        {
            "rope_type": "longrope",
            "original_max_position_embeddings": 8,
            "factor": 2.0,
            "short_factor": [1.0 + 0.3 * i for i in range(HEAD_DIM // 2)],
            "long_factor": [1.5 + 2.0 * i for i in range(HEAD_DIM // 2)],
        },
        12,
    ),  # fmt: skip
}


@pytest.mark.parametrize("variant", sorted(ROPE_VARIANTS))
def test_rope_scaling_variants(variant):
    params, seq = ROPE_VARIANTS[variant]
    family = (
        "qwen2" if variant.startswith("yarn") else "llama"
    )  # also covers rope on a second family
    # a small theta and long sequences make the frequency differences visible; one layer is enough
    # for rope
    ref, model, _ = make_pair(
        family,
        rope_parameters={**params, "rope_theta": 100.0},
        max_position_embeddings=16,
        num_hidden_layers=1,
    )
    assert (
        model.config.rope_scaling is not None
        and model.config.rope_scaling.rope_type == params["rope_type"]
    )
    ids = random_ids((2, seq), seed=4)
    mask = np.ones_like(ids)
    mask[1, :3] = 0
    expected = run_ref(ref, ids, mask).logits.numpy()
    ours = np.asarray(forward(model, jnp.asarray(ids), jnp.asarray(mask)).logits)
    np.testing.assert_allclose(ours[mask == 1], expected[mask == 1], atol=ATOL, rtol=0)
    # the variant must matter, or the test could not fail
    plain = nnx.eval_shape(
        lambda: decoder.DecoderLM(model.config.replace(rope_scaling=None), rngs=nnx.Rngs(0))
    )
    nnx.update(plain, nnx.state(model))
    if variant != "dynamic_short":  # within the trained length dynamic is exactly the default
        assert not np.allclose(
            np.asarray(forward(plain, jnp.asarray(ids), jnp.asarray(mask)).logits), ours
        )


@pytest.mark.parametrize(
    "family,kwargs",
    [
        ("mistral", {"sliding_window": 3}),
        ("qwen2", {"use_sliding_window": True, "sliding_window": 3, "max_window_layers": 1}),
        ("qwen3", {"use_sliding_window": True, "sliding_window": 2, "max_window_layers": 0}),
    ],
)
def test_sliding_window(family, kwargs):
    ref, model, _ = make_pair(family, **kwargs)
    windows = [layer.self_attn.sliding_window for layer in model.layers]
    assert any(w is not None for w in windows), windows
    ids = random_ids((2, 11), seed=5)
    mask = np.ones_like(ids)
    mask[0, :2] = 0
    expected = run_ref(ref, ids, mask).logits.numpy()
    ours = np.asarray(forward(model, jnp.asarray(ids), jnp.asarray(mask)).logits)
    np.testing.assert_allclose(ours[mask == 1], expected[mask == 1], atol=ATOL, rtol=0)


ROUNDTRIP_CONFIGS = [
    decoder.tiny_config(),
    decoder.tiny_config(
        family="llama", tie_word_embeddings=False, attention_bias=True, mlp_bias=True, head_dim=24
    ),
    decoder.tiny_config(family="mistral", sliding_window=7, bos_token_id=1, eos_token_id=2),
    decoder.tiny_config(
        family="qwen2", sliding_window=5, layer_types=("full_attention", "sliding_attention")
    ),
    decoder.tiny_config(family="qwen3", head_dim=32, pad_token_id=0),
    decoder.tiny_config(
        rope_scaling=RopeScaling("llama3", 8.0, 64, low_freq_factor=1.0, high_freq_factor=4.0)
    ),
    decoder.tiny_config(
        rope_scaling=RopeScaling(
            "yarn", 4.0, 32, beta_fast=16.0, mscale=1.0, mscale_all_dim=1.0, truncate=False
        )
    ),
    decoder.tiny_config(
        rope_scaling=RopeScaling(
            "longrope", None, 32, short_factor=(1.0,) * 8, long_factor=(2.0,) * 8
        )
    ),
    decoder.tiny_config(
        rope_scaling=RopeScaling("dynamic", 2.0), extra={"initializer_range": 0.01}
    ),
]


@pytest.mark.parametrize(
    "cfg",
    ROUNDTRIP_CONFIGS,
    ids=lambda c: f"{c.family}-{c.rope_scaling and c.rope_scaling.rope_type}",
)
def test_config_roundtrip(cfg):
    hf = llama_hf.to_hf_config(cfg)
    assert llama_hf.from_hf_config(hf) == cfg
    # transformers reads it back to the same architecture
    auto = transformers.AutoConfig.for_model(**json.loads(json.dumps(hf)))
    assert type(auto).__name__ == f"{hf['architectures'][0].replace('ForCausalLM', '')}Config"
    back = llama_hf.from_hf_config(json.loads(auto.to_json_string()))
    assert back.replace(extra={}) == cfg.replace(extra={})


def test_from_hf_config_legacy_and_defaults():
    legacy = {
        "model_type": "llama", "vocab_size": 10, "hidden_size": 16, "intermediate_size": 32,
        "num_hidden_layers": 1, "num_attention_heads": 2, "rope_theta": 5e5,
        "rope_scaling": {"type": "linear", "factor": 2.0}, "eos_token_id": [2, 7], "torch_dtype": "bfloat16",
    }  # fmt: skip
    cfg = llama_hf.from_hf_config(legacy)
    assert cfg.rope_theta == 5e5 and cfg.rope_scaling == RopeScaling("linear", 2.0)
    assert (
        cfg.num_key_value_heads == 2 and cfg.tie_word_embeddings is False and cfg.eos_token_id == 2
    )
    assert llama_hf.to_hf_config(cfg)["eos_token_id"] == [2, 7]
    assert llama_hf.to_hf_config(cfg)["torch_dtype"] == "bfloat16"
    qwen3 = llama_hf.from_hf_config({**legacy, "model_type": "qwen3", "rope_scaling": None})
    assert qwen3.resolved_head_dim == 128  # Qwen3Config's default head_dim


@pytest.mark.parametrize(
    "change,match",
    [
        ({"rope_parameters": {"rope_type": "mrope", "rope_theta": 1e4}}, "rope type 'mrope'"),
        ({"partial_rotary_factor": 0.5}, "partial_rotary_factor"),
        ({"hidden_act": "squared_relu"}, "activation"),
        ({"model_type": "gpt2"}, "model_type"),
        ({"attn_logit_softcapping": 30.0}, "attn_logit_softcapping"),
        (
            {"rope_parameters": {"rope_type": "yarn", "factor": 2.0, "rope_theta": 1e4, "foo": 1}},
            "foo",
        ),
    ],
)
def test_unsupported_options_raise(change, match):
    hf = llama_hf.to_hf_config(decoder.tiny_config())
    hf.update(change)
    with pytest.raises(UnsupportedModelError, match=match):
        llama_hf.from_hf_config(hf)


def test_checkpoint_errors_name_the_tensor():
    ref, model, _ = make_pair("qwen2")
    sd = state_dict_np(ref, False)
    bad = dict(sd, **{"model.layers.1.self_attn.k_proj.bias": np.zeros(3, np.float32)})
    with pytest.raises(CheckpointError, match=r"model\.layers\.1\.self_attn\.k_proj\.bias"):
        assign_weights(model, bad, llama_hf.weight_rules(model.config))
    missing = {k: v for k, v in sd.items() if k != "model.norm.weight"}
    with pytest.raises(CheckpointError, match=r"model\.norm\.weight"):
        assign_weights(model, missing, llama_hf.weight_rules(model.config))


def test_tied_checkpoint_with_head_copy_loads():
    """Some tied checkpoints also store lm_head.weight (= the embeddings): `ignored_tensors` drops
    it."""
    ref, model, _ = make_pair("qwen3", tied=True)
    full = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    assert "lm_head.weight" in full
    rules = llama_hf.weight_rules(model.config)
    with pytest.raises(CheckpointError, match="lm_head"):
        assign_weights(model, full, rules)
    assign_weights(model, full, rules, ignore=llama_hf.ignored_tensors(model.config))
    ids = random_ids((2, 12))
    np.testing.assert_allclose(
        np.asarray(forward(model, jnp.asarray(ids)).logits),
        run_ref(ref, ids).logits.numpy(),
        atol=ATOL,
    )


def test_jit_forward_and_greedy_generation_match_transformers():
    ref, model, _ = make_pair("llama", tied=True, eos_token_id=None)
    ids = random_ids((2, 6), seed=6)

    @nnx.jit
    def forward(m, x, mask):
        return m(x, attention_mask=mask).logits

    mask = jnp.ones(ids.shape, jnp.int32)
    np.testing.assert_allclose(
        np.asarray(forward(model, jnp.asarray(ids), mask)),
        run_ref(ref, ids).logits.numpy(),
        atol=ATOL,
    )
    with torch.no_grad():
        expected = ref.generate(
            torch.tensor(ids),
            attention_mask=torch.ones(ids.shape, dtype=torch.long),
            max_new_tokens=8,
            do_sample=False,
        ).numpy()
    ours = np.asarray(generate_greedy(model, jnp.asarray(ids), 8))
    np.testing.assert_array_equal(ours, expected)
    # eos: rows stop and are filled with eos afterwards
    eos = int(ours[0, 8])
    stopped = np.asarray(generate_greedy(model, jnp.asarray(ids), 8, eos_token_id=eos))
    np.testing.assert_array_equal(stopped[0, :9], ours[0, :9])
    assert np.all(stopped[0, 9:] == eos)


def test_embedding_accessors_and_resize():
    _, model, _ = make_pair("llama", tied=False)
    cfg = model.config
    ids = jnp.asarray(random_ids((1, 5), vocab=cfg.vocab_size))
    base = np.asarray(forward(model, ids).logits)
    # supplying the model's own tables explicitly changes nothing
    same = forward(model, ids, tables=(model.get_input_embeddings(), model.get_output_embeddings()))
    np.testing.assert_allclose(np.asarray(same.logits), base, atol=1e-6)
    model.resize_vocab(cfg.vocab_size + 8)
    assert (
        model.get_input_embeddings().shape
        == model.get_output_embeddings().shape
        == (cfg.vocab_size + 8, 32)
    )
    assert model.config.vocab_size == cfg.vocab_size + 8
    np.testing.assert_allclose(
        np.asarray(forward(model, ids).logits)[..., : cfg.vocab_size], base, atol=1e-6
    )
    tied = nnx.eval_shape(lambda: decoder.DecoderLM(decoder.tiny_config(), rngs=nnx.Rngs(0)))
    nnx.update(tied, jax.tree.map(jnp.zeros_like, nnx.state(tied)))
    with pytest.raises(ValueError, match="tied"):
        tied.set_output_embeddings(jnp.ones((256, 64)))


@pytest.mark.parametrize("family", FAMILIES)
def test_tiny_config_builds(family):
    cfg = decoder.tiny_config(family=family)
    assert isinstance(cfg, ModelConfig) and cfg.family == family
    abstract = nnx.eval_shape(lambda: decoder.MODEL_CLASS(cfg, rngs=nnx.Rngs(0)))
    shapes = {k: v.shape for k, v in export_weights_shapes(abstract, cfg).items()}
    assert shapes["model.embed_tokens.weight"] == (cfg.vocab_size, cfg.hidden_size)
    assert ("lm_head.weight" in shapes) == (not cfg.tie_word_embeddings)


def export_weights_shapes(model, cfg) -> dict:
    """HF names → abstract shapes, through the export rules (no arrays needed)."""
    from zett.models.weights import param_paths

    out = {}
    rules = llama_hf.weight_rules(cfg)
    for path, var in param_paths(model).items():
        name = next(n for r in rules if (n := r.hf_name(path)))
        out[name] = var.get_value()
    return out


@pytest.mark.parametrize("cfg", ROUNDTRIP_CONFIGS[1:5], ids=lambda c: c.family)
def test_zett_model_exports_to_transformers(cfg):
    """zett → HF direction: `to_hf_config` + `export_weights` give a transformers model with the
    same logits."""
    cfg = cfg.replace(
        vocab_size=96, hidden_size=32, intermediate_size=48, max_position_embeddings=64
    )
    model = nnx.eval_shape(lambda: decoder.DecoderLM(cfg, rngs=nnx.Rngs(0)))
    rng = np.random.default_rng(7)
    state = nnx.state(model)
    nnx.update(
        model, jax.tree.map(lambda x: jnp.asarray(rng.normal(0, 0.3, x.shape), jnp.float32), state)
    )
    hf_cfg = transformers.AutoConfig.for_model(**llama_hf.to_hf_config(cfg))
    ref = transformers.AutoModelForCausalLM.from_config(hf_cfg, attn_implementation="eager").eval()
    tensors = {
        k: torch.tensor(v) for k, v in export_weights(model, llama_hf.weight_rules(cfg)).items()
    }
    missing, unexpected = ref.load_state_dict(tensors, strict=False)
    assert not unexpected and set(missing) <= (
        {"lm_head.weight"} if cfg.tie_word_embeddings else set()
    )
    ids = random_ids((2, 12), seed=8)
    np.testing.assert_allclose(
        np.asarray(forward(model, jnp.asarray(ids)).logits),
        run_ref(ref, ids).logits.numpy(),
        atol=ATOL,
        rtol=0,
    )


def test_bfloat16_compute_tracks_float32():
    """dtype=bfloat16 computes in bf16 with float32 parameters; logits stay close to the fp32 ones."""
    ref, model, _ = make_pair("qwen3")
    ids = jnp.asarray(random_ids((2, 12), seed=9))
    fp32 = np.asarray(forward(model, ids).logits)
    low = nnx.eval_shape(
        lambda: decoder.DecoderLM(model.config.replace(dtype="bfloat16"), rngs=nnx.Rngs(0))
    )
    nnx.update(low, nnx.state(model))
    assert low.embed_tokens.get_value().dtype == jnp.float32
    out = forward(low, ids).logits
    assert out.dtype == jnp.bfloat16
    err = np.abs(np.asarray(out, np.float32) - fp32)
    assert err.max() < 0.1 * np.abs(fp32).max(), (err.max(), np.abs(fp32).max())
    assert (np.asarray(out, np.float32).argmax(-1) == fp32.argmax(-1)).mean() > 0.9
