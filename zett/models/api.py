"""The contract every zett base model implements: forward, embedding get/set, vocabulary resize."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from zett.models.config import ModelConfig
from zett.models.resize import resize_table

# Logical axis names used on parameters and activations; `zett.parallel` maps them to mesh axes.
# vocab: token rows; embed: model width; heads / kv_heads: attention heads; head_dim; mlp: FFN
# width; layers: stacked layers; batch / seq: activations.
Axes = tuple[str | None, ...]


def param(value: jax.Array, axes: Axes) -> nnx.Param:
    """An `nnx.Param` annotated with logical axis names (sharding is applied later, not eagerly)."""
    if len(axes) != value.ndim:
        raise ValueError(f"axes {axes} do not match parameter shape {value.shape}")
    return nnx.Param(value, out_sharding=axes, eager_sharding=False)


def dtype_of(name: str) -> jnp.dtype:
    return jnp.dtype(name)


@jax.tree_util.register_dataclass
@dataclass
class ModelOutput:
    """logits: [batch, seq, vocab]; hidden_states: per layer [batch, seq, embed] (embeddings first)."""

    logits: jax.Array
    last_hidden_state: jax.Array
    hidden_states: tuple[jax.Array, ...] | None = None


class LanguageModel(nnx.Module):
    """Base class: families implement `embed`, `encode` and `logits_from_hidden`; the rest is shared.

    Conventions (same as Hugging Face, so `inputs_embeds` mean the same thing in both):
      - `embed(ids)` returns what HF calls `inputs_embeds` (Gemma: already scaled by sqrt(d);
        BERT: word embeddings only, positions/token types are added inside `encode`).
      - `attention_mask` [batch, seq] is 1 for real tokens, 0 for padding.
      - `output_embeddings` / `output_bias` let a caller (the hypernetwork) supply the LM head
        [vocab, embed] / [vocab] instead of the model's own, without mutating the model."""

    config: ModelConfig

    # --- to implement per family -------------------------------------------------------------
    def embed(self, input_ids: jax.Array, input_embeddings: jax.Array | None = None) -> jax.Array:
        """[batch, seq] ids → [batch, seq, embed]; `input_embeddings` [vocab, embed] overrides the
        table."""
        raise NotImplementedError

    def encode(
        self,
        inputs_embeds: jax.Array,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        output_hidden_states: bool = False,
    ) -> tuple[jax.Array, tuple[jax.Array, ...] | None]:
        """[batch, seq, embed] → final (normed) hidden states [batch, seq, embed] (+ all layers)."""
        raise NotImplementedError

    def logits_from_hidden(
        self,
        hidden: jax.Array,
        output_embeddings: jax.Array | None = None,
        output_bias: jax.Array | None = None,
    ) -> jax.Array:
        """[batch, seq, embed] → [batch, seq, vocab] through the LM head (or the one supplied)."""
        raise NotImplementedError

    def get_input_embeddings(self) -> jax.Array:
        raise NotImplementedError

    def set_input_embeddings(self, table: jax.Array) -> None:
        raise NotImplementedError

    def get_output_embeddings(self) -> jax.Array:
        """[vocab, embed]; the input table itself when embeddings are tied."""
        raise NotImplementedError

    def set_output_embeddings(self, table: jax.Array) -> None:
        """Sets the LM head; for tied models this raises unless the table equals the input one."""
        raise NotImplementedError

    def get_output_bias(self) -> jax.Array | None:
        return None

    def set_output_bias(self, bias: jax.Array) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no output bias")

    # --- shared --------------------------------------------------------------------------------
    def __call__(
        self,
        input_ids: jax.Array | None = None,
        *,
        inputs_embeds: jax.Array | None = None,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        output_hidden_states: bool = False,
        input_embeddings: jax.Array | None = None,
        output_embeddings: jax.Array | None = None,
        output_bias: jax.Array | None = None,
    ) -> ModelOutput:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        if inputs_embeds is None:
            inputs_embeds = self.embed(input_ids, input_embeddings)
        hidden, all_hidden = self.encode(
            inputs_embeds, attention_mask, position_ids, output_hidden_states
        )
        logits = self.logits_from_hidden(hidden, output_embeddings, output_bias)
        return ModelOutput(logits=logits, last_hidden_state=hidden, hidden_states=all_hidden)

    @property
    def vocab_size(self) -> int:
        return int(self.get_input_embeddings().shape[0])

    @property
    def tied(self) -> bool:
        return self.config.tie_word_embeddings

    def resize_vocab(
        self,
        new_size: int,
        init: Callable[[np.ndarray, int], np.ndarray] | None = None,
        seed: int = 0,
    ) -> None:
        """Grows or shrinks the embedding (and untied head) rows; new rows from `init(old, n_new)`.

        Default init is the multivariate normal of the old rows (as `transformers`' resize)."""
        old_in = np.asarray(self.get_input_embeddings())
        self.set_input_embeddings(jnp.asarray(resize_table(old_in, new_size, init, seed)))
        if not self.tied:
            old_out = np.asarray(self.get_output_embeddings())
            self.set_output_embeddings(jnp.asarray(resize_table(old_out, new_size, init, seed + 1)))
        bias = self.get_output_bias()
        if bias is not None:
            b = np.asarray(bias)
            nb = np.zeros((new_size,), b.dtype)
            nb[: min(new_size, b.shape[0])] = b[: min(new_size, b.shape[0])]
            self.set_output_bias(jnp.asarray(nb))
        object.__setattr__(self, "config", self.config.replace(vocab_size=new_size))
