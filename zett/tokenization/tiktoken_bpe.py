"""A tiktoken BPE (`.tiktoken` ranks file + split regex + specials) → an equivalent
`tokenizers.Tokenizer`."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path

from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

from .byte_alphabet import BYTE_TO_CHAR, TokenizerError


def read_tiktoken_ranks(path: Path) -> dict[bytes, int]:
    """`<base64 token> <rank>` lines (tiktoken's file format; read here so building needs no
    tiktoken)."""
    ranks: dict[bytes, int] = {}
    for n, line in enumerate(Path(path).read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except ValueError as e:
            raise TokenizerError(f"{path}:{n}: not a '<base64> <rank>' line ({e})") from None
    return ranks


def ranks_to_vocab_merges(
    ranks: Mapping[bytes, int],
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary (byte-level strings → rank) and merges, as transformers' `TikTokenConverter` derives
    them.

    tiktoken merges the adjacent pair whose concatenation has the lowest rank; a merge list ordered
    by the rank of the merged token reproduces that. A token reachable by several splits lists each
    of them at its rank."""
    ids = sorted(ranks.values())
    if ids != list(range(len(ids))):
        raise TokenizerError("tiktoken ranks are not the dense range 0..n-1")
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise TokenizerError(
            f"tiktoken ranks lack {len(missing)} single bytes (first: {missing[:5]}); not a "
            f"byte-level BPE"
        )

    def spell(b: bytes) -> str:
        return "".join(BYTE_TO_CHAR[x] for x in b)

    vocab = {spell(t): r for t, r in ranks.items()}
    merges: list[tuple[int, int, int, bytes, bytes]] = []
    for token, rank in ranks.items():
        for i in range(1, len(token)):
            left, right = token[:i], token[i:]
            if left in ranks and right in ranks:
                merges.append((rank, ranks[left], ranks[right], left, right))
    merges.sort(key=lambda m: m[:3])
    return vocab, [(spell(m[3]), spell(m[4])) for m in merges]


def tokenizer_from_tiktoken(
    ranks: Mapping[bytes, int], pattern: str, specials: Sequence[tuple[int, str]], nfc: bool = False
) -> Tokenizer:
    """BPE over byte-level strings, split by `pattern` first; `specials` = (id, text) matched before
    anything else.

    `ignore_merges`: tiktoken takes a whole split piece that is itself a token without merging; so
    does this."""
    vocab, merges = ranks_to_vocab_merges(ranks)
    taken = [i for i, _ in specials if i < len(vocab)]
    if taken:
        raise TokenizerError(f"special ids {taken} collide with BPE ranks (0..{len(vocab) - 1})")
    tok = Tokenizer(
        models.BPE(vocab, merges, fuse_unk=False, byte_fallback=False, ignore_merges=True)
    )
    if nfc:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(
        trim_offsets=False
    )  # offsets only; as HF's Qwen2 tokenizer.json
    # added in id order so each lands on its own id (add_special_tokens appends after the
    # vocabulary)
    for i, text in sorted(specials):
        if tok.get_vocab_size(with_added_tokens=True) != i:
            raise TokenizerError(
                f"special {text!r} wants id {i}, next free id is {tok.get_vocab_size(True)}"
            )
        tok.add_special_tokens([AddedToken(text, special=True, normalized=False)])
    return tok
