"""One `tokenizers` pipeline per llama.cpp tokenizer model (`tokenizer.ggml.model`): gpt2 (byte-level
BPE), llama (SentencePiece BPE), bert (WordPiece), t5 (Unigram, llama.cpp's "UGM") and rwkv (greedy
longest match over bytes). Each mirrors the llama.cpp session of the same kind in
src/llama-vocab.cpp; where `tokenizers` cannot follow it the docstring says so."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

from .byte_alphabet import BYTE_TO_CHAR, TokenizerError
from .gguf_pre import pre_spec, pre_tokenizer
from .gguf_tokenizer import (
    BYTE,
    CONTROL,
    KEY,
    NORMAL,
    SPIECE_SPACE,
    UNKNOWN,
    UNUSED,
    USER_DEFINED,
    GGUFVocab,
)

Built = tuple[Tokenizer, bytes | None]


# ---- gpt2: byte-level BPE --------------------------------------------------------------------
def byte_level_bpe(v: GGUFVocab) -> Built:
    """llm_tokenizer_bpe_session: the pre-tokenizer's regex splits, GPT-2 byte encoding, merges by
    rank (leftmost first on ties); pre-tokenizers with `ignore_merges` take a piece that is a token
    whole."""
    spec = pre_spec(v.meta.get(KEY + "pre"), v.source)
    vocab = {t: i for i, t in enumerate(v.tokens)}
    merges = []
    for k, m in enumerate(v.meta.get(KEY + "merges") or []):
        cut = m.find(" ", 1)  # llama.cpp splits at the first space after the first character
        if cut < 0:
            raise TokenizerError(f"{v.source}: merge #{k} {m!r} has no space")
        left, right = m[:cut], m[cut + 1 :]
        for part in (left, right, left + right):
            if part not in vocab:
                raise TokenizerError(
                    f"{v.source}: merge #{k} {m!r} uses {part!r}, which is not in the vocabulary"
                )
        merges.append((left, right))
    if not merges:
        raise TokenizerError(f"{v.source}: byte-level BPE vocabulary without {KEY}merges")
    bpe = models.BPE(
        vocab, merges, fuse_unk=False, byte_fallback=False, ignore_merges=spec.ignore_merges
    )
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizer(spec)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(v.added_tokens())
    return tok, None


# ---- llama: SentencePiece BPE ----------------------------------------------------------------
# llama.cpp's SPM session merges into any token of the text; control, user-defined and unknown
# ones never occur in it (split out before), byte pieces only as literal "<0xXX>" text
_LLAMA_CPP_MERGEABLE = (NORMAL, UNUSED, 0)


def sentencepiece_merges(
    tokens: list[str], scores: np.ndarray, types: np.ndarray, mergeable=(NORMAL,)
) -> list[tuple[str, str]]:
    """BPE merges that make `tokenizers`' BPE reproduce SentencePiece BPE segmentation.

    SentencePiece (and llama.cpp's SPM session) merges the adjacent pair whose concatenation is the
    highest-scoring piece (leftmost on ties); every split of a piece into two pieces is such a pair,
    ranked by the merged piece's score. `mergeable`: the piece types that take part (SentencePiece
    itself: normal pieces only)."""
    normal = np.flatnonzero(np.isin(types, mergeable))
    ids = {tokens[i]: int(i) for i in normal}
    # ranks: higher score first, then lower id (stable)
    order = normal[np.lexsort((normal, -scores[normal]))]
    merges: list[tuple[str, str]] = []
    for i in order.tolist():
        piece = tokens[i]
        if len(piece) < 2:
            continue
        splits = [
            (piece[:k], piece[k:])
            for k in range(1, len(piece))
            if piece[:k] in ids and piece[k:] in ids
        ]
        # several splits give the same piece: the order among them cannot change the outcome
        splits.sort(key=lambda lr: (ids[lr[0]], ids[lr[1]]))
        merges.extend(splits)
    return merges


def sentencepiece_proto(v: GGUFVocab, tokens: list[str]) -> bytes:
    """A SentencePiece BPE ModelProto equivalent to the model llama.cpp converted from.

    llama.cpp's converter stored user-defined pieces with "▁" turned into spaces and retyped `<unk>`
    as a control token (from HF's added_tokens); both are undone here, else SentencePiece would not
    match multi-space pieces or would refuse a model without an unknown piece."""
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2

    unk_id = v.ids.get("unknown")
    proto = sp_pb2.ModelProto()
    for i, (piece, score, ty) in enumerate(zip(tokens, v.scores.tolist(), v.types.tolist())):
        sp = proto.pieces.add()
        sp.piece = piece
        sp.score = score
        sp.type = UNKNOWN if i == unk_id else (ty or NORMAL)
    trainer = proto.trainer_spec
    trainer.model_type = sp_pb2.TrainerSpec.BPE
    trainer.vocab_size = len(tokens)
    trainer.byte_fallback = bool((v.types == BYTE).any())
    trainer.split_digits = True
    trainer.allow_whitespace_only_pieces = True
    trainer.treat_whitespace_as_suffix = False
    for key, attr in (("unknown", "unk"), ("bos", "bos"), ("eos", "eos"), ("padding", "pad")):
        tid = v.ids.get(key)
        setattr(trainer, f"{attr}_id", -1 if tid is None else tid)
        if tid is not None:
            setattr(trainer, f"{attr}_piece", tokens[tid])
    norm = proto.normalizer_spec
    norm.name = "identity"
    norm.precompiled_charsmap = b""
    norm.add_dummy_prefix = v.flag("add_space_prefix", True)
    norm.remove_extra_whitespaces = False
    norm.escape_whitespaces = True
    return proto.SerializeToString()


def sentencepiece_bpe(v: GGUFVocab) -> Built:
    """llm_tokenizer_spm_session: each text piece between special tokens gets a space prefix
    (add_space_prefix), spaces become ▁, then score-ranked merges over the whole piece; characters
    no piece covers fall back to <0xXX> byte pieces. No normalisation (llama.cpp ignores the
    charsmap and remove_extra_whitespaces for this model)."""
    add_prefix = v.flag("add_space_prefix", True)
    user = np.flatnonzero(v.types == USER_DEFINED)
    # the converter stored user-defined pieces with spaces; SentencePiece spells them with ▁
    spm_tokens = list(v.tokens)
    for i in user:
        spm_tokens[i] = spm_tokens[i].replace(" ", SPIECE_SPACE)
    if len(set(spm_tokens)) != len(spm_tokens):
        raise TokenizerError(f"{v.source}: user-defined pieces collide once spaces become ▁")
    # Without a prefix a user-defined piece can be matched after normalisation (▁ form, as before);
    # with one, llama.cpp prefixes the text after it, which needs it split out of the raw text
    tokens = v.tokens if add_prefix else spm_tokens
    unk = v.token("unknown")
    bpe = models.BPE(
        {t: i for i, t in enumerate(tokens)},
        sentencepiece_merges(tokens, v.scores, v.types, _LLAMA_CPP_MERGEABLE),
        dropout=None,
        unk_token=unk,
        fuse_unk=True,
        byte_fallback=bool((v.types == BYTE).any()),
    )
    tok = Tokenizer(bpe)
    steps = [normalizers.Replace(" ", SPIECE_SPACE)]
    if add_prefix:
        steps.insert(0, normalizers.Prepend(SPIECE_SPACE))
    tok.normalizer = normalizers.Sequence(steps)
    dec = [decoders.Replace(SPIECE_SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if add_prefix:
        dec.append(decoders.Strip(" ", 1, 0))
    tok.decoder = decoders.Sequence(dec)
    if add_prefix:
        tok.add_special_tokens(v.added_tokens())
    else:
        added = v.added_tokens(user_defined=[])
        tok.add_special_tokens([a for a in added if a.special])
        tok.add_tokens([AddedToken(spm_tokens[i], normalized=True) for i in user])
    return tok, sentencepiece_proto(v, spm_tokens)


# ---- bert: WordPiece -------------------------------------------------------------------------
_HANGUL_BLOCK = 21 * 28  # syllables per leading consonant


def _nfd_first_normalizers() -> list[normalizers.Normalizer]:
    """llama.cpp "strips accents" by mapping each code point to the first code point of its NFD
    form and dropping every mark (\\p{M}, not only Mn). NFD + dropping marks equals that except for
    Hangul syllables, whose NFD tail is not marks: they keep only their leading consonant."""
    out: list[normalizers.Normalizer] = []
    for lead in range(19):
        first = chr(0xAC00 + lead * _HANGUL_BLOCK)
        last = chr(0xAC00 + (lead + 1) * _HANGUL_BLOCK - 1)
        out.append(normalizers.Replace(Regex(f"[{first}-{last}]"), chr(0x1100 + lead)))
    return out + [normalizers.NFD(), normalizers.Replace(Regex(r"\p{M}"), "")]


def wordpiece(v: GGUFVocab) -> Built:
    """llm_tokenizer_wpm_session: control characters dropped, words split at whitespace, at
    punctuation / ASCII symbols and around CJK ideographs, optional lowercasing and accent
    stripping (tokenizer.ggml.normalizer.*; llama.cpp's defaults: both on), then greedy longest
    match with no limit on the word length. The converter wrote word-initial pieces as "▁x" and
    continuations as "x"; they are turned back into "x" and "##x"."""
    tokens = []
    for t, ty in zip(v.tokens, v.types.tolist()):
        if ty in (CONTROL, UNKNOWN):
            tokens.append(t)
        elif t.startswith(SPIECE_SPACE) and len(t) > 1:
            tokens.append(t[1:])
        else:
            tokens.append("##" + t)
    vocab = {}
    for i, t in enumerate(tokens):
        if t in vocab:
            raise TokenizerError(
                f"{v.source}: WordPiece tokens {v.tokens[vocab[t]]!r} and {v.tokens[i]!r} are "
                f"both {t!r}"
            )
        vocab[t] = i
    unk = v.token("unknown")
    if unk is None:
        raise TokenizerError(f"{v.source}: WordPiece vocabulary without an unknown token")
    lowercase = v.meta.get(KEY + "normalizer.lowercase")
    lowercase = True if lowercase is None else bool(lowercase)
    strip = v.meta.get(KEY + "normalizer.strip_accents")
    strip = lowercase if strip is None else bool(strip)
    tok = Tokenizer(
        models.WordPiece(
            vocab, unk_token=tokens[v.ids["unknown"]], max_input_chars_per_word=1 << 30
        )
    )
    steps = _nfd_first_normalizers() if strip else []
    # control characters (not whitespace), NUL and U+FFFD are dropped; unassigned ones are kept
    steps.append(
        normalizers.Replace(
            Regex(r"[\x00\x{FFFD}]|[[\p{Cc}\p{Cf}\p{Co}\p{Cs}]&&[^\t\n\x{0B}\x{0C}\r\x{85}]]"), ""
        )
    )
    if lowercase:  # llama.cpp lowercases one code point to one; Rust turns İ into "i̇"
        steps.append(normalizers.Replace("\u0130", "i"))
    steps.append(
        normalizers.BertNormalizer(
            clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=lowercase
        )
    )
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    # user-defined pieces carry the ▁ prefix too: llama.cpp never finds them in raw text
    tok.add_special_tokens(v.added_tokens(user_defined=[]))
    return tok, None


# ---- t5: Unigram ("UGM") ---------------------------------------------------------------------
def unigram(v: GGUFVocab) -> Built:
    """llm_tokenizer_ugm_session: the precompiled charsmap, then spaces: with
    remove_extra_whitespaces every run of non-spaces gets one ▁ before it and spaces go (so the
    first word gets ▁ even without add_space_prefix); otherwise each space becomes ▁ and, with
    add_space_prefix, a ▁ goes in front. Viterbi over the whole text on normal, user-defined and
    unused pieces; an uncovered character is the unknown token at (lowest normal score - 10),
    consecutive unknowns fused; no byte fallback.

    `tokenizers` searches every piece and penalises unknowns below the lowest of all scores, so
    pieces llama.cpp leaves out get at least the lowest normal score here (ids and texts kept)."""
    unk_id = v.ids.get("unknown")
    if unk_id is None:
        raise TokenizerError(f"{v.source}: Unigram vocabulary without an unknown token")
    normal = v.types == NORMAL
    floor = float(v.scores[normal].min()) if normal.any() else 0.0
    scores = np.where(normal, v.scores, np.maximum(v.scores, floor)).astype(np.float64)
    tok = Tokenizer(
        models.Unigram(list(zip(v.tokens, scores.tolist())), unk_id=unk_id, byte_fallback=False)
    )
    steps: list[normalizers.Normalizer] = []
    charsmap = v.meta.get(KEY + "precompiled_charsmap")
    if charsmap is not None and len(charsmap):
        pre = normalizers.Precompiled(np.asarray(charsmap).astype(np.uint8).tobytes())
        # `Precompiled` maps a whole grapheme by its first character's entry, llama.cpp (like
        # SentencePiece) maps the longest prefix: they part on "\r\n", one grapheme of two mapped
        # characters. Other short graphemes led by a mapped character (a fullwidth letter with a
        # combining mark) still lose their tail here.
        crlf = pre.normalize_str("\r") + pre.normalize_str("\n")
        if pre.normalize_str("\r\n") != crlf:
            steps.append(normalizers.Replace("\r\n", crlf))
        steps.append(pre)
    add_prefix = v.flag("add_space_prefix", False)
    if v.flag("remove_extra_whitespaces", False):
        steps += [
            normalizers.Replace(Regex(" {2,}"), " "),
            normalizers.Replace(Regex(r"\A | \z"), ""),
        ]
        add_prefix = True
    steps.append(normalizers.Replace(" ", SPIECE_SPACE))
    if add_prefix:
        steps.append(normalizers.Prepend(SPIECE_SPACE))
    tok.normalizer = normalizers.Sequence(steps)
    dec = [decoders.Replace(SPIECE_SPACE, " ")]
    if add_prefix:
        dec.append(decoders.Strip(" ", 1, 0))
    tok.decoder = decoders.Sequence(dec)
    tok.add_special_tokens(v.added_tokens())
    return tok, None


# ---- rwkv: greedy longest match over bytes ---------------------------------------------------
def _rwkv_bytes(text: str) -> bytes:
    """llama_unescape_rwkv_token: the converter wrote each token as Python's bytes repr body."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            e = text[i + 1]
            if e == "x":
                out.append(int(text[i + 2 : i + 4], 16))
                i += 4
                continue
            out += {"t": b"\t", "n": b"\n", "r": b"\r"}.get(e, e.encode("utf-8"))
            i += 2
            continue
        out += c.encode("utf-8")
        i += 1
    return bytes(out)


def rwkv(v: GGUFVocab) -> Built:
    """llm_tokenizer_rwkv_session: the longest token matching at each byte, left to right: a
    WordPiece with an empty continuation prefix over the GPT-2 byte alphabet does exactly that."""
    vocab: dict[str, int] = {}
    for i, (t, ty) in enumerate(zip(v.tokens, v.types.tolist())):
        try:
            key = t if ty == CONTROL else "".join(BYTE_TO_CHAR[b] for b in _rwkv_bytes(t))
        except ValueError:
            raise TokenizerError(f"{v.source}: RWKV token {i} {t!r} has a bad escape") from None
        if key in vocab:
            raise TokenizerError(
                f"{v.source}: RWKV tokens {vocab[key]} and {i} stand for the same bytes"
            )
        vocab[key] = i
    missing = [b for b in range(256) if BYTE_TO_CHAR[b] not in vocab]
    if missing:
        raise TokenizerError(f"{v.source}: RWKV vocabulary lacks single-byte tokens {missing[:8]}")
    tok = Tokenizer(
        models.WordPiece(
            vocab,
            unk_token="\u2400",  # never used (every byte is a token); outside the byte alphabet
            continuing_subword_prefix="",
            max_input_chars_per_word=1 << 30,
        )
    )
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(v.added_tokens())
    return tok, None


BUILDERS: dict[str, Callable[[GGUFVocab], Built]] = {
    "gpt2": byte_level_bpe,
    "llama": sentencepiece_bpe,
    "bert": wordpiece,
    "t5": unigram,
    "rwkv": rwkv,
}
