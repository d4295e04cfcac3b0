"""Reads a `VocabLayout` from a Hugging Face config.json and writes a new layout back into it."""

from __future__ import annotations

import copy
from typing import Any

from zett.extend.layout import IdMapping, LayoutError, Segment, VocabLayout

# Gemma-3n: text ids, then the vision and audio "hard token" tables of its multimodal embedders;
# `vocab_size_per_layer_input` is the text part only (the per-layer embedding table).
GEMMA3N_SEGMENTS = ("text", "vision", "audio")


# Gemma-3n's tables whose rows are the ids of one segment (row = id - the segment's offset), besides
# the embedding/LM head over all ids: per-layer inputs (text only) and the modality embedders'
# "hard token" tables (transformers: Gemma3nTextModel.embed_tokens_per_layer,
# Gemma3nMultimodalEmbedder.embedding)
GEMMA3N_SEGMENT_TABLES = {
    "embed_tokens_per_layer.weight": "text",
    "embed_vision.embedding.weight": "vision",
    "embed_audio.embedding.weight": "audio",
}


def segment_tables(config: dict, names) -> dict[str, str]:
    """{tensor name: segment} for the tables of `names` indexed by the ids of one segment."""
    if not is_gemma3n(config):
        return {}
    return {
        n: seg
        for n in names
        for suffix, seg in GEMMA3N_SEGMENT_TABLES.items()
        if n.endswith(suffix)
    }


def _text_config(config: dict) -> dict:
    tc = config.get("text_config")
    return tc if isinstance(tc, dict) and "vocab_size" in tc else config


def _token_id_fields(cfg: dict) -> dict[str, Any]:
    return {
        k: v
        for k, v in cfg.items()
        if (k.endswith("_token_id") or k.endswith("_token_index") or k.endswith("_token_ids"))
        and (isinstance(v, int) or (isinstance(v, list) and all(isinstance(x, int) for x in v)))
    }


def is_gemma3n(config: dict) -> bool:
    return config.get("model_type") == "gemma3n" or (
        isinstance(config.get("audio_config"), dict) and "vocab_offset" in config["audio_config"]
    )


def read_layout(
    config: dict,
    tokenizer_size: int | None = None,
    where: str = "config.json",
    declared: VocabLayout | None = None,
) -> VocabLayout:
    """The id layout a config declares, validated (no overlap, no undeclared gap, sizes match).

    Text-only models: one `text` segment of `tokenizer_size` ids (or `vocab_size` when not given)
    plus a reserved `padding` segment for embedding rows beyond the tokenizer. `declared` is a
    layout saved by an earlier extension (vocab_layout.json); it wins when it agrees with the
    config."""
    if is_gemma3n(config):
        layout = _read_gemma3n(config, where)
        if declared is not None and [(r.lo, r.hi) for r in declared.ranges] != [
            (r.lo, r.hi) for r in layout.ranges
        ]:
            raise LayoutError(
                f"{where}: ranges {list(map(str, layout.ranges))} disagree with the saved layout "
                f"{list(map(str, declared.ranges))}"
            )
    elif declared is not None:
        total = _text_config(config).get("vocab_size")
        if total != declared.size:
            raise LayoutError(
                f"{where}: vocab_size={total} but the saved layout covers {declared.size} ids"
            )
        tail = declared.without_reserved_tail()
        if tokenizer_size is not None and tokenizer_size != tail.size:
            raise LayoutError(
                f"size mismatch: tokenizer has {tokenizer_size} tokens but the saved layout's "
                f"segments {tail.names} cover {tail.size}"
            )
        _check_token_ids(config, declared, where)
        return declared
    else:
        total = _text_config(config).get("vocab_size")
        if not isinstance(total, int):
            raise LayoutError(f"{where}: no integer vocab_size")
        layout = VocabLayout.of(text=total)
    if tokenizer_size is not None:
        text = layout["text"]
        if tokenizer_size > layout.size:
            raise LayoutError(
                f"tokenizer has {tokenizer_size} tokens but {where} declares only {layout.size} "
                f"ids; "
                "the checkpoint has no rows for the extra tokens"
            )
        if layout.names == ("text",) and tokenizer_size < text.size:
            layout = VocabLayout(
                (
                    Segment("text", tokenizer_size),
                    Segment("padding", text.size - tokenizer_size, True),
                )
            )
    _check_token_ids(config, layout, where)
    return layout


def _read_gemma3n(config: dict, where: str) -> VocabLayout:
    tc, vc, ac = (config.get(k) or {} for k in ("text_config", "vision_config", "audio_config"))
    try:
        total = int(tc["vocab_size"])
        text_size = int(tc["vocab_size_per_layer_input"])
        ranges = {
            "vision": (int(vc["vocab_offset"]), int(vc["vocab_offset"]) + int(vc["vocab_size"])),
            "audio": (int(ac["vocab_offset"]), int(ac["vocab_offset"]) + int(ac["vocab_size"])),
        }
    except KeyError as e:
        raise LayoutError(f"{where}: Gemma-3n config lacks {e.args[0]!r}") from None
    ranges["text"] = (0, min(r[0] for r in ranges.values()))
    layout = VocabLayout.from_ranges(ranges, total=total)
    if layout.names != GEMMA3N_SEGMENTS:
        raise LayoutError(f"{where}: expected ranges text < vision < audio, got {layout.names}")
    if layout["text"].size != text_size:
        raise LayoutError(
            f"{where}: text_config.vocab_size_per_layer_input={text_size} but the text range is "
            f"{layout['text']} (vision.vocab_offset={ranges['vision'][0]})"
        )
    return layout


def _check_token_ids(config: dict, layout: VocabLayout, where: str) -> None:
    for cfg in (config, _text_config(config)):
        for k, v in _token_id_fields(cfg).items():
            for x in v if isinstance(v, list) else [v]:
                if not 0 <= x < layout.size:
                    raise LayoutError(
                        f"{where}: {k}={x} is outside the vocabulary [0, {layout.size})"
                    )


def _map_ids(cfg: dict, mapping: IdMapping) -> None:
    for k, v in _token_id_fields(cfg).items():
        cfg[k] = [int(mapping(x)) for x in v] if isinstance(v, list) else int(mapping(v))


def update_config(config: dict, layout: VocabLayout, mapping: IdMapping | None = None) -> dict:
    """A copy of `config` describing `layout`: sizes, modality offsets and token ids (through
    `mapping`)."""
    if mapping is not None and mapping.new_size != layout.size:
        raise LayoutError(
            f"mapping ends at {mapping.new_size} ids but the layout has {layout.size}"
        )
    out = copy.deepcopy(config)
    tc = _text_config(out)
    if mapping is not None:
        _map_ids(out, mapping)
        if tc is not out:
            _map_ids(tc, mapping)
    if is_gemma3n(out):
        if layout.names != GEMMA3N_SEGMENTS:
            raise LayoutError(
                f"Gemma-3n configs can express only the segments {GEMMA3N_SEGMENTS}, not "
                f"{layout.names}: "
                "its audio embedder takes every id >= audio offset, so ids appended after audio "
                "would be "
                "embedded as audio; grow the 'text' segment instead"
            )
        tc["vocab_size"] = layout.size
        tc["vocab_size_per_layer_input"] = layout["text"].size
        for name in ("vision", "audio"):
            sub = out[f"{name}_config"]
            sub["vocab_offset"] = layout.offset(name)
            sub["vocab_size"] = layout[name].size
    else:
        tc["vocab_size"] = layout.size
    read_layout(out, where="updated config")  # re-validate what was written
    return out


def padded_size(n: int, multiple: int | None) -> int:
    return int(n if not multiple else -(-n // multiple) * multiple)


__all__ = [
    "GEMMA3N_SEGMENTS",
    "GEMMA3N_SEGMENT_TABLES",
    "is_gemma3n",
    "padded_size",
    "read_layout",
    "segment_tables",
    "update_config",
]
