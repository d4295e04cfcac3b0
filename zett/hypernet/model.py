"""The hypernetwork: composes a token's surface form (source ids) into its input/output embeddings."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.hypernet.config import HypernetConfig
from zett.hypernet.packing import pack_surfaces
from zett.models.api import param
from zett.models.layers import Dense, LayerNorm, attention_mask, dot_product_attention


class Frozen(nnx.Variable):
    """State that belongs to the base model (source tables, input rescalers): never optimised, never
    exported."""


class Rescaler(nnx.Variable):
    """The output affine maps, fit once on anchor tokens before training (`fit_output_rescalers`):
    exported with the weights but never optimised (the reference freezes them; trained, they drift
    with the optimiser's weight-decay-free updates)."""


def _rescaler(value: jax.Array, trained: bool) -> nnx.Variable:
    # `trained` only reproduces zett v1's bug for the ablation (HypernetConfig.train_rescalers)
    if trained:
        return param(value, ("embed",))
    return Rescaler(value, out_sharding=("embed",), eager_sharding=False)


@jax.tree_util.register_dataclass
@dataclass
class HypernetOutput:
    """input_embeddings / output_embeddings: [n_tokens, embed]; bias: [n_tokens]."""

    input_embeddings: jax.Array
    output_embeddings: jax.Array | None = None
    bias: jax.Array | None = None


def _normal(rngs: nnx.Rngs, shape: tuple[int, ...], std: float = 0.02) -> jax.Array:
    return std * jax.random.normal(rngs.params(), shape, jnp.float32)


def _layer_norm(cfg: HypernetConfig) -> LayerNorm:
    return LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps, axis_name="hyper_embed")


class Block(nnx.Module):
    """Pre-LN bidirectional transformer layer over the surface positions, with pad masking."""

    def __init__(self, cfg: HypernetConfig, *, rngs: nnx.Rngs):
        e, f = cfg.hidden_size, cfg.intermediate_size
        self.num_heads = cfg.resolved_num_heads
        self.ln_attn = _layer_norm(cfg)
        self.qkv = Dense(e, 3 * e, ("hyper_embed", "hyper_qkv"), rngs=rngs)
        self.attn_out = Dense(e, e, ("hyper_qkv", "hyper_embed"), rngs=rngs)
        self.ln_mlp = _layer_norm(cfg)
        self.mlp_in = Dense(e, f, ("hyper_embed", "hyper_mlp"), rngs=rngs)
        self.mlp_out = Dense(f, e, ("hyper_mlp", "hyper_embed"), rngs=rngs)

    def __call__(self, x: jax.Array, allowed: jax.Array) -> jax.Array:
        """x [b, s, e] (b: tokens or packed rows, s: surface positions); allowed [b, 1, 1, s, s] bool
        (`attention_mask`: query may attend key)."""
        b, s, e = x.shape
        q, k, v = jnp.split(self.qkv(self.ln_attn(x)), 3, axis=-1)
        q, k, v = (t.reshape(b, s, self.num_heads, e // self.num_heads) for t in (q, k, v))
        attn = dot_product_attention(q, k, v, allowed, hypernet_scores=True).reshape(b, s, e)
        x = x + self.attn_out(attn)
        return x + self.mlp_out(jax.nn.gelu(self.mlp_in(self.ln_mlp(x)), approximate=False))


class Hypernet(nnx.Module):
    """Surface forms [tokens, maxlen] of source ids → embeddings for those tokens.

    Source rows ([E_in ‖ E_out] for untied models; the logit bias for MLM heads) are looked up
    frozen, rescaled per dimension to mean 0 / std `target_std`; ids ≥ source vocab use learned
    fallback rows. Then an input projection with a residual GELU block, `num_layers` transformer
    layers, pooling at position 0 (the first piece), and heads whose affine output rescalers are fit
    on anchor tokens (`fit_output_rescalers`)."""

    def __init__(
        self,
        cfg: HypernetConfig,
        source_input_embeddings: np.ndarray,
        source_output_embeddings: np.ndarray | None = None,
        source_output_bias: np.ndarray | None = None,
        *,
        rngs: nnx.Rngs,
    ):
        self.cfg = cfg
        # jnp (not np) so the module can be built abstractly under `nnx.eval_shape` (zett plan)
        src = jnp.asarray(source_input_embeddings, jnp.float32)
        if cfg.predict_output_embeddings:
            if source_output_embeddings is None:
                raise ValueError("predict_output_embeddings needs the source output embeddings")
            src = jnp.concatenate([src, jnp.asarray(source_output_embeddings, jnp.float32)], axis=1)
        self.source_vocab_size, self.source_dim = (int(n) for n in src.shape)
        self.embed_dim = int(source_input_embeddings.shape[1])
        self.source_table = Frozen(
            src, out_sharding=("source_vocab", "source_embed"), eager_sharding=False
        )
        self.in_shift = Frozen(src.mean(0))
        self.in_scale = Frozen(cfg.target_std / (src.std(0) + 1e-8))
        h = cfg.hidden_size
        self.fallback = param(
            _normal(rngs, (cfg.n_fallback, self.source_dim), cfg.target_std),
            ("fallback", "source_embed"),
        )
        self.in_proj = Dense(self.source_dim, h, ("source_embed", "hyper_embed"), rngs=rngs)
        self.in_mlp_in = Dense(h, cfg.intermediate_size, ("hyper_embed", "hyper_mlp"), rngs=rngs)
        self.in_mlp_out = Dense(cfg.intermediate_size, h, ("hyper_mlp", "hyper_embed"), rngs=rngs)
        self.in_norm = _layer_norm(cfg)
        self.positions = param(_normal(rngs, (cfg.surface_maxlen, h)), ("surface", "hyper_embed"))
        if cfg.lang_embedding:
            if not cfg.languages:
                raise ValueError(
                    "hypernet.lang_embedding needs its languages (filled from the training corpus)"
                )
            # [languages, hidden]; initialised like the reference's (normal, std 0.02)
            self.lang_embeddings = param(
                _normal(rngs, (len(cfg.languages), h)), (None, "hyper_embed")
            )
        self.blocks = nnx.List([Block(cfg, rngs=rngs) for _ in range(cfg.num_layers)])
        self.final_norm = _layer_norm(cfg)
        d = self.embed_dim
        self.head_in = Dense(h, d, ("hyper_embed", "embed"), rngs=rngs)
        self.out_scale_in = _rescaler(jnp.ones((d,), jnp.float32), cfg.train_rescalers)
        self.out_shift_in = _rescaler(jnp.zeros((d,), jnp.float32), cfg.train_rescalers)
        if cfg.predict_output_embeddings:
            self.head_out = Dense(h, d, ("hyper_embed", "embed"), rngs=rngs)
            self.out_scale_out = _rescaler(jnp.ones((d,), jnp.float32), cfg.train_rescalers)
            self.out_shift_out = _rescaler(jnp.zeros((d,), jnp.float32), cfg.train_rescalers)
        if cfg.predict_bias:
            self.head_bias = Dense(h, 1, ("hyper_embed", None), rngs=rngs)
            # the source model's per-token logit bias: special tokens copy theirs (never predicted);
            # zeros when the caller has none to give
            bias = (
                jnp.zeros((self.source_vocab_size,), jnp.float32)
                if source_output_bias is None
                else source_output_bias
            )
            self.source_bias = Frozen(
                jnp.asarray(bias, jnp.float32).reshape(self.source_vocab_size),
                out_sharding=("source_vocab",),
                eager_sharding=False,
            )

    def embed_pieces(self, surface_ids: jax.Array) -> jax.Array:
        """[tokens, maxlen] ids → [tokens, maxlen, source_dim] rescaled source / fallback rows."""
        is_fallback = surface_ids >= self.source_vocab_size
        src_ids = jnp.where(is_fallback, 0, surface_ids)
        rows = (self.source_table[...][src_ids] - self.in_shift[...]) * self.in_scale[...]
        fb_ids = jnp.clip(surface_ids - self.source_vocab_size, 0, self.cfg.n_fallback - 1)
        return jnp.where(is_fallback[..., None], self.fallback[...][fb_ids], rows)

    def __call__(
        self,
        surface_ids: jax.Array,
        lengths: jax.Array,
        pack: tuple[int, int] | None = None,
        language: jax.Array | int | None = None,
    ) -> HypernetOutput:
        """surface_ids: [tokens, maxlen] int; lengths: [tokens] (≥1 for every predicted token);
        language: [] int, the row of `cfg.languages` the text is in (required exactly when
        `cfg.lang_embedding`, ignored otherwise; `HypernetConfig.language_index` maps a name to it).

        `pack` = (rows, width) computes on the packed layout (`zett.hypernet.packing`: tokens side by
        side in `rows` rows of `width` positions, FLOPs only for real pieces) instead of tokens ×
        maxlen positions; the same function up to float reassociation. `rows` must be at least
        `zett.sampling.packing.rows_needed(lengths, maxlen, width)` (checked on the host)."""
        dtype = jnp.dtype(self.cfg.dtype)
        maxlen = surface_ids.shape[1]
        if self.cfg.lang_embedding:
            if language is None:
                raise ValueError("this hypernet has language embeddings: pass `language`")
            if pack is not None:
                raise ValueError(
                    "language embeddings are computed in the padded layout (pack=None)"
                )
            return self._heads(self._encode_with_language(surface_ids, lengths, language))
        if pack is None:
            mask = (
                jnp.arange(maxlen)[None, :] < jnp.maximum(lengths, 1)[:, None]
            )  # [tokens, maxlen]
            ids, allowed = surface_ids, attention_mask(mask, maxlen, causal=False)
            positions = self.positions[...][:maxlen]
        else:
            packed = pack_surfaces(surface_ids, lengths, *pack)
            ids, allowed = packed.ids, packed.allowed
            positions = self.positions[...][packed.position]  # [rows, width, hidden]
        x = self._embed_surfaces(ids) + positions.astype(dtype)
        for block in self.blocks:
            x = block(x, allowed)
        first = x[:, 0] if pack is None else x.reshape(-1, x.shape[-1])[packed.first]
        return self._heads(first)

    def _embed_surfaces(self, ids: jax.Array) -> jax.Array:
        """[..., positions] source ids → [..., positions, hidden]: rescaled rows, projected."""
        x = self.in_proj(self.embed_pieces(ids).astype(jnp.dtype(self.cfg.dtype)))
        return self.in_norm(x + self.in_mlp_out(jax.nn.gelu(self.in_mlp_in(x), approximate=False)))

    def _encode_with_language(
        self, surface_ids: jax.Array, lengths: jax.Array, language: jax.Array | int
    ) -> jax.Array:
        """The padded layout with the language's vector appended to every surface form as position
        `maxlen`, which every piece attends to and which attends to them (the reference appends it
        after the embedding sum and normalises it with the pieces; here it passes the same
        `in_norm` as the pieces, so it enters at their scale) → [tokens, hidden] at position 0."""
        dtype = jnp.dtype(self.cfg.dtype)
        tokens, maxlen = surface_ids.shape
        x = self._embed_surfaces(surface_ids) + self.positions[...][:maxlen].astype(dtype)
        row = self.lang_embeddings[...][jnp.clip(language, 0, len(self.cfg.languages) - 1)]
        lang = self.in_norm(row.astype(dtype))  # [hidden]
        x = jnp.concatenate([x, jnp.broadcast_to(lang, (tokens, 1, x.shape[-1]))], axis=1)
        mask = jnp.arange(maxlen + 1)[None, :] < jnp.maximum(lengths, 1)[:, None]
        mask = mask.at[:, maxlen].set(True)  # [tokens, maxlen + 1]
        allowed = attention_mask(mask, maxlen + 1, causal=False)
        for block in self.blocks:
            x = block(x, allowed)
        return x[:, 0]

    def _heads(self, first: jax.Array) -> HypernetOutput:
        """[tokens, hidden] states at each token's first piece → the predicted rows."""
        pooled = self.final_norm(first)  # [tokens, hidden]
        e_in = (
            self.head_in(pooled).astype(jnp.float32) * self.out_scale_in[...]
            + self.out_shift_in[...]
        )
        e_out = bias = None
        if self.cfg.predict_output_embeddings:
            e_out = (
                self.head_out(pooled).astype(jnp.float32) * self.out_scale_out[...]
                + self.out_shift_out[...]
            )
        if self.cfg.predict_bias:
            bias = self.head_bias(pooled)[:, 0].astype(jnp.float32)
        return HypernetOutput(e_in, e_out, bias)


def fit_output_rescalers(
    hypernet: Hypernet,
    anchor_ids: np.ndarray,
    anchor_lengths: np.ndarray,
    true_input: np.ndarray,
    true_output: np.ndarray | None = None,
) -> None:
    """Sets the output affine maps so predictions on anchor tokens have the per-dimension mean/std
    of their true embeddings ([anchors, embed]); done once, before training. A language-conditioned
    hypernet is fit on its predictions under every language together (one map serves them all)."""
    for name in ("in", "out") if true_output is not None else ("in",):
        getattr(hypernet, f"out_scale_{name}").set_value(
            jnp.ones_like(getattr(hypernet, f"out_scale_{name}")[...])
        )
        getattr(hypernet, f"out_shift_{name}").set_value(
            jnp.zeros_like(getattr(hypernet, f"out_shift_{name}")[...])
        )
    ids, lengths = jnp.asarray(anchor_ids), jnp.asarray(anchor_lengths)
    if hypernet.cfg.lang_embedding:
        preds = [hypernet(ids, lengths, language=i) for i in range(len(hypernet.cfg.languages))]
    else:
        preds = [hypernet(ids, lengths)]
    repeat = len(preds)
    pairs = [
        (
            "in",
            np.concatenate([p.input_embeddings for p in preds]),
            np.tile(true_input, (repeat, 1)),
        )
    ]
    if true_output is not None and preds[0].output_embeddings is not None:
        pairs.append(
            (
                "out",
                np.concatenate([p.output_embeddings for p in preds]),
                np.tile(true_output, (repeat, 1)),
            )
        )
    for name, p, t in pairs:
        p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
        scale = t.std(0) / (p.std(0) + 1e-8)
        shift = t.mean(0) - p.mean(0) * scale
        getattr(hypernet, f"out_scale_{name}").set_value(jnp.asarray(scale, jnp.float32))
        getattr(hypernet, f"out_shift_{name}").set_value(jnp.asarray(shift, jnp.float32))
