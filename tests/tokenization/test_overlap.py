"""Overlap (exact canonical matches) and special-token mapping by role between real tokenizers."""

from __future__ import annotations

from zett.tokenization import CanonicalVocab, SpecialToken, canonicalize, map_specials, overlap


def regular_tokens(v: CanonicalVocab) -> dict[str, int]:
    """Canonical token → id for every id that is neither special nor shadowed, from the public
    fields alone."""
    skip = set(v.special_ids) | set(v.shadowed)
    out: dict[str, int] = {}
    for i, t in enumerate(v.tokens):
        if i not in skip:
            assert t not in out, f"{t!r} at ids {out[t]} and {i} but neither is shadowed"
            out[t] = i
    return out


def test_overlap_smollm2_gemma(smollm2, gemma3):
    s, g = canonicalize(smollm2), canonicalize(gemma3)
    ov = overlap(g, s)
    gt, st = regular_tokens(g), regular_tokens(s)
    want = sorted((i, st[t]) for t, i in gt.items() if t in st)
    assert list(zip(ov.target_ids.tolist(), ov.source_ids.tolist())) == want
    assert ov.target_fraction == len(want) / len(gt)
    for t, u in list(zip(ov.target_ids.tolist(), ov.source_ids.tolist()))[::997]:
        assert g.tokens[t] == s.tokens[u] and g.bytes_of(t) == s.bytes_of(u)
    assert g.id_of("Ġthe") in set(ov.target_ids.tolist())
    # symmetric in size; specials and shadowed ids never take part
    assert overlap(s, g).size == ov.size
    assert not set(ov.target_ids.tolist()) & (set(g.special_ids) | g.shadowed)


def test_wordpiece_overlap_respects_word_starts(minilm, smollm2):
    m, s = canonicalize(minilm), canonicalize(smollm2)
    ov = overlap(m, s)
    pairs = dict(zip(ov.target_ids.tolist(), ov.source_ids.tolist()))
    vocab = minilm.tokenizer.get_vocab()
    assert s.tokens[pairs[vocab["the"]]] == "Ġthe"  # BERT word-start "the" ↔ SmolLM2 " the"
    assert s.tokens[pairs[vocab["##ing"]]] == "ing"


def test_special_mapping_by_role(gemma3, smollm2, minilm):
    g, s, m = canonicalize(gemma3), canonicalize(smollm2), canonicalize(minilm)
    gs = map_specials(g, s)
    by = {t.role: t.id for t in g.specials}
    names = {t.id: t.token for t in s.specials}
    assert names[gs[by["bos"]]] == "<|im_start|>" and names[gs[by["eos"]]] == "<|im_end|>"
    assert names[gs[by["unk"]]] == "<|endoftext|>" and by["mask"] not in gs
    mg = map_specials(m, g)  # BERT → Gemma: pad/unk/mask by role; [CLS]/[SEP] have no counterpart
    mby = {t.role: t.id for t in m.specials}
    gnames = {t.id: t.token for t in g.specials}
    assert [gnames[mg[mby[r]]] for r in ("pad", "unk", "mask")] == ["<pad>", "<unk>", "<mask>"]
    assert mby["cls"] not in mg and mby["sep"] not in mg


def test_control_tokens_match_by_text_only():
    a = CanonicalVocab.from_tokens(
        ["", "", "Ġa"], [SpecialToken("control", "<x>", 0), SpecialToken("control", "<y>", 1)]
    )
    b = CanonicalVocab.from_tokens(
        ["Ġa", "", ""], [SpecialToken("control", "<y>", 1), SpecialToken("eos", "<x>", 2)]
    )
    assert map_specials(a, b) == {0: 2, 1: 1}
