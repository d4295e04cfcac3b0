"""Hypernetwork architecture config."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class HypernetConfig:
    """Sizes of the hypernetwork; reference: H=768..4096, FFN 2H, 3 layers, H/64 heads, maxlen 7."""

    hidden_size: int = 256
    intermediate_size: int = 512
    num_layers: int = 3
    num_heads: int | None = None  # default hidden_size // 64 (at least 1)
    surface_maxlen: int = 7
    n_fallback: int = 256  # one learned embedding per byte the source vocabulary cannot express
    predict_output_embeddings: bool = False  # untied base models: a second head for E_out
    predict_bias: bool = False  # MLM heads with a per-token logit bias
    target_std: float = 0.02  # the frozen input rescaler maps source rows to mean 0 / this std
    layer_norm_eps: float = 1e-5
    dtype: str = "float32"  # compute dtype; parameters stay float32
    seed: int = 0
    # the reference's sizing: hidden_size = the base model's width, intermediate_size twice that
    # (replaces both when training builds the hypernet; the export records the resolved sizes)
    width_from_model: bool = False
    # zett v1 optimised the fitted output rescalers (a bug: the reference freezes them); kept only to
    # measure what it cost (experiments/hypernet-v2/ablation.py)
    train_rescalers: bool = False
    # the reference's `hn_embed_lang_id`: one learned vector per training language, appended to every
    # surface form as one more position that all its pieces attend to, so the prediction can depend
    # on the language of the text (needs one language per batch: collator.lang_sampling
    # one_per_batch; computed in the padded layout)
    lang_embedding: bool = False
    # the languages of the embedding's rows, in row order: the training corpus's, fixed when training
    # starts (a non-empty value must equal them) and recorded in hypernet.json
    languages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        heads = self.resolved_num_heads
        if self.hidden_size % heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not divisible by num_heads={heads}"
            )
        if self.surface_maxlen < 1:
            raise ValueError("surface_maxlen must be >= 1")
        if self.languages and not self.lang_embedding:
            raise ValueError(
                f"hypernet.languages {list(self.languages)} given without hypernet.lang_embedding"
            )
        if len(set(self.languages)) != len(self.languages):
            raise ValueError(f"hypernet.languages has duplicates: {list(self.languages)}")

    def language_index(self, lang: str | None, where: str = "hypernet") -> int | None:
        """The embedding row of `lang` (None for a hypernet without language embeddings). One clear
        error when a language-conditioned hypernet gets no language or one it was not trained on,
        and when a hypernet without language embeddings is given one: silently ignoring it would
        let the caller believe the prediction is specific to that language."""
        known = ", ".join(self.languages)
        if not self.lang_embedding:
            if lang is not None:
                raise ValueError(
                    f"{where}: was trained without language embeddings, so a language "
                    f"({lang!r}) cannot condition it; leave the language out"
                )
            return None
        if lang is None:
            raise ValueError(
                f"{where}: was trained with language embeddings; give the language of the target "
                f"text (--lang), one of: {known}"
            )
        if lang not in self.languages:
            raise ValueError(f"{where}: has no embedding for language {lang!r}; it knows: {known}")
        return self.languages.index(lang)

    def for_model(self, model_width: int) -> HypernetConfig:
        """This config with `width_from_model` resolved against the base model's width."""
        if not self.width_from_model:
            return self
        return replace(self, hidden_size=model_width, intermediate_size=2 * model_width)

    @property
    def resolved_num_heads(self) -> int:
        return self.num_heads or max(1, self.hidden_size // 64)
