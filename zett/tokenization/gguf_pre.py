"""llama.cpp's byte-level BPE pre-tokenizers, by `tokenizer.ggml.pre` name, as `tokenizers` pipelines.

The names, the split regexes and the per-name flags are those of llama.cpp's src/llama-vocab.cpp
(`llama_vocab::impl::load` maps a name to a pre-type, `llm_tokenizer_bpe` gives each pre-type its
regexes). llama.cpp applies the regexes one after the other, each splitting every piece the previous
ones left (matches and the gaps between them both become pieces): a `Sequence` of `Split(...,
"isolated")` does the same. The regexes run in llama.cpp's own engines, so they are rewritten here
to mean in Oniguruma what they mean there (see `onig_pattern`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tokenizers import Regex, pre_tokenizers

from .byte_alphabet import TokenizerError

# llama.cpp splits with this exact string by a hand-written matcher that also takes a lone `\s+`
# (the regex itself has no `|\s+` branch); other strings go to std::regex.
GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
_CONTRACTIONS = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
LLAMA3 = (
    _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)
QWEN2 = (
    _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)
_DIGITS_1_3 = r"\p{N}{1,3}"
_CJK_KANA = "[一-龥぀-ゟ゠-ヿ]+"
_PUNCT_WORD = r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+"
_BLOOM = " ?[^(\\s|.,!?…。，、।۔،)]+"
_UPPER_LOWER = (  # gpt-4o family: llama.cpp's stand-in for \p{Lu}...\p{Ll} runs
    r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+"
    r"|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*"
)

# pre-type → llama.cpp's regexes for it
REGEXES: dict[str, tuple[str, ...]] = {
    "default": (r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", "[0-9][0-9][0-9]"),
    "llama3": (LLAMA3,),
    "jais2": (
        _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
        r"|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)"
        r"|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}",
    ),
    "deepseek-llm": (
        "[\r\n]",
        "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1f7dᾀ-ᾴᾶ-ᾼ\u1fbeῂ-ῄῆ-ῌῐ-\u1fd3ῖ-\u1fdbῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212a-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",  # noqa: E501
        "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
        r"\s+$",
        "[一-龥ࠀ-一가-퟿]+",
        r"\p{N}+",
    ),
    "deepseek-v3": (
        _DIGITS_1_3,
        _CJK_KANA,
        _PUNCT_WORD + r"|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+"
        r"|\s+(?!\S)|\s+",
    ),
    "spark2_5": (
        _DIGITS_1_3,
        _CJK_KANA,
        _PUNCT_WORD + r"|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+|[\r\n]|\s+(?!\S)|\s+",
        r"\p{N}",
    ),
    "youtu": (
        "[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+",
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
        + _CONTRACTIONS
        + r"?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
        + _CONTRACTIONS
        + r"?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    ),
    "deepseek-coder": ("[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", "[一-龥ࠀ-一가-퟿]+", r"\p{N}"),
    "falcon": (r"[\p{P}\$\+<=>\^~\|`]+", GPT2, "[0-9][0-9][0-9]"),
    "starcoder": (r"\p{N}", GPT2),
    "gpt2": (GPT2,),
    "qwen2": (QWEN2,),
    "qwen35": (
        _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*"
        r"|\s*[\r\n]+|\s+(?!\S)|\s+",
    ),
    "bloom": (_BLOOM,),
    "viking": (_BLOOM, r"\p{N}"),
    "tekken": (_UPPER_LOWER + r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",),
    "chameleon": (
        "<sentinel:[0-9]+>",
        "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
        "([\\t\\n]|    |  )",
        r"\p{N}",
        r"[\p{P}!-/:-@\[-`{-~]",
        GPT2,
    ),
    "gpt-4o": (
        r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+"
        + _CONTRACTIONS
        + r"?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*"
        + _CONTRACTIONS
        + r"?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    ),
    "granite-emb-multi": (
        r"[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))*((?=[\p{L}\p{M}])([^A-Z]))+"
        + _CONTRACTIONS
        + r"?|[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))+((?=[\p{L}\p{M}])([^A-Z]))*"
        + _CONTRACTIONS
        + r"?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    ),
    "tiny_aya": (
        r"\d{1,3}(?=(?:\d{3})*\b)",
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
        + _CONTRACTIONS
        + r"?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
        + _CONTRACTIONS
        + r"?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    ),
    "superbpe": (r"\p{N}+", r"(?=(\d{3})+(?!\d))"),
    "bailingmoe": (
        r"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
        r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+",
    ),
    "seed-coder": (
        _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+"
        r"|\s+(?!\S)|\s+",
    ),
    "ufakzeka": (
        r"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    ),
    "laguna": ("[^\\n]+|[\\n]+", QWEN2),
    "kimi-k2": (r"\p{Han}+",),
    "afmoe": (
        r"\p{AFMoE_digits}",
        # as compiled: the source's U+F900 reads U+8C48 (its NFC form), so the range is wide
        "[\u4e00-\u9fff\u3400-\u4dbf\u8c48-\ufaff\u3040-\u309f\u30a0-\u30ff\uff65-\uff9f"
        "\u2f00-\u2fdf\u0e40-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f\uaa60-\uaa7f"
        "\ua9e0-\ua9ff\uac00-\ud7af\u1100-\u11ff]+",
        _PUNCT_WORD + r"|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+"
        r"|\s+(?!\S)|\s+",
    ),
    "exaone-moe": (
        _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}"
        r"| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+",
    ),
    "minicpm5": (
        _DIGITS_1_3,
        _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*"
        r"|\s*[\r\n]+|\s+(?!\S)|\s+",
    ),
}


@dataclass(frozen=True)
class PreSpec:
    """What llama.cpp does for one `tokenizer.ggml.pre` name: `regexes` (a key of REGEXES),
    `ignore_merges` (a piece that is itself a token is taken whole), `add_bos` (the default when the
    file has no tokenizer.ggml.add_bos_token), `no_bos` (the bos id is dropped)."""

    regexes: str
    ignore_merges: bool = False
    add_bos: bool = False
    no_bos: bool = False


_LLAMA3 = PreSpec("llama3", ignore_merges=True, add_bos=True)
# name → spec, in llama_vocab::impl::load's order
PRE: dict[str, PreSpec] = {
    "default": PreSpec("default"),
    "minicpm5": PreSpec("minicpm5", ignore_merges=True),
    **dict.fromkeys(
        (
            "llama3",
            "llama-v3",
            "llama-bpe",
            "falcon3",
            "falcon-h1",
            "pixtral",
            "midm-2.0",
            "lfm2",
            "jina-v5-nano",
        ),
        _LLAMA3,
    ),
    "deepseek-llm": PreSpec("deepseek-llm"),
    "deepseek-coder": PreSpec("deepseek-coder"),
    "deepseek-v3": PreSpec("deepseek-v3"),
    "spark2_5": PreSpec("spark2_5"),
    "youtu": PreSpec("youtu", ignore_merges=True),
    "falcon": PreSpec("falcon"),
    "mpt": PreSpec("gpt2"),
    "starcoder": PreSpec("starcoder"),
    **dict.fromkeys(
        (
            "gpt-2",
            "phi-2",
            "jina-es",
            "jina-de",
            "gigachat",
            "jina-v2-es",
            "jina-v2-de",
            "a.x-4.0",
            "mellum",
            "modern-bert",
            "jina-v1-en",
            "jina-v2-code",
            "roberta-bpe",
            "exaone4",
            "olmo",
            "jais",
            "trillion",
            "granite-docling",
        ),
        PreSpec("gpt2"),
    ),
    "jais-2": PreSpec("jais2"),
    **dict.fromkeys(("refact", "command-r", "smollm", "codeshell", "exaone"), PreSpec("starcoder")),
    **dict.fromkeys(("minerva-7b", "mellum2"), PreSpec("starcoder")),
    **dict.fromkeys(
        (
            "qwen2",
            "deepseek-r1-qwen",
            "kormo",
            "f2llmv2",
            "megrez",
            "stablelm2",
            "hunyuan",
            "solar-open",
            "grok-2",
        ),
        PreSpec("qwen2"),
    ),
    "qwen35": PreSpec("qwen35"),
    **dict.fromkeys(("dbrx", "smaug-bpe"), PreSpec("llama3")),
    **dict.fromkeys(("poro-chat", "bloom", "gpt3-finnish"), PreSpec("bloom")),
    "chatglm-bpe": PreSpec("llama3", no_bos=True),
    **dict.fromkeys(("glm4", "glm5"), PreSpec("llama3", ignore_merges=True, no_bos=True)),
    "viking": PreSpec("viking"),
    "tekken": PreSpec("tekken", ignore_merges=True, add_bos=True),
    "exaone-moe": PreSpec("exaone-moe"),
    "chameleon": PreSpec("chameleon", add_bos=True),
    **dict.fromkeys(("gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"), PreSpec("gpt-4o")),
    "granite-embed-multi-97m": PreSpec("granite-emb-multi", ignore_merges=True),
    **dict.fromkeys(("tiny_aya", "cohere2moe"), PreSpec("tiny_aya")),
    "superbpe": PreSpec("superbpe"),
    **dict.fromkeys(("bailingmoe", "bailingmoe2", "llada-moe"), PreSpec("bailingmoe")),
    "seed-coder": PreSpec("seed-coder"),
    **dict.fromkeys(("hunyuan-dense", "hy_v4", "joyai-llm"), PreSpec("deepseek-v3")),
    "ufakzeka": PreSpec("ufakzeka"),
    "laguna": PreSpec("laguna"),
    "kimi-k2": PreSpec("kimi-k2"),
    "afmoe": PreSpec("afmoe"),
}
# names llama.cpp knows that need its hand-written splitters or a non-byte-level BPE: refused
UNSUPPORTED: dict[str, str] = {
    "gemma4": "SentencePiece-style BPE without byte encoding",
    "granite-embed-multi-311m": "SentencePiece-style BPE without byte encoding",
    "sarvam-moe": "SentencePiece-style BPE without byte encoding",
    "whitespace": "whitespace-split BPE without byte encoding",
}


def pre_spec(name: str | None, source: str) -> PreSpec:
    """The spec for a `tokenizer.ggml.pre` value (missing → llama.cpp's "default")."""
    if not name:
        return PRE["default"]
    if name in PRE:
        return PRE[name]
    if name in UNSUPPORTED:
        raise TokenizerError(
            f"{source}: tokenizer.ggml.pre = {name!r} is not supported ({UNSUPPORTED[name]})"
        )
    raise TokenizerError(
        f"{source}: unknown tokenizer.ggml.pre = {name!r}; known: {', '.join(sorted(PRE))}"
    )


# std::regex sees \p{..} through llama.cpp's "collapsed" text, where each non-ASCII character is
# replaced by one byte per Unicode category: \p{Lu}, \p{Ll}, ... all mean \p{L} there. \d, \w, \b
# and $ are ECMAScript's (ASCII, end of the piece).
_ONIG_ESCAPES = {
    r"\p{Lu}": r"\p{L}",
    r"\p{Ll}": r"\p{L}",
    r"\p{Lt}": r"\p{L}",
    r"\p{Lm}": r"\p{L}",
    r"\p{Lo}": r"\p{L}",
    r"\d": "[0-9]",
    r"\D": "[^0-9]",
    r"\w": "[A-Za-z0-9_]",
    r"\W": "[^A-Za-z0-9_]",
    r"\b": "(?:(?<=[A-Za-z0-9_])(?![A-Za-z0-9_])|(?<![A-Za-z0-9_])(?=[A-Za-z0-9_]))",
}
# strings llama.cpp hands to hand-written matchers (unicode.cpp), and regexes that split the same
_HAN = (
    r"\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}\x{2B740}-\x{2B81F}"
    r"\x{2B820}-\x{2CEAF}\x{2CEB0}-\x{2EBEF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}"
)
# afmoe's digit matcher: a digit run in groups of three from the right, the first group taking
# whatever non-digits came before it
_AFMOE_DIGITS = r"\P{N}*\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N}))"
_CUSTOM = {
    GPT2: GPT2 + r"|\s+",  # the matcher also takes a lone \s+
    r"\p{AFMoE_digits}": _AFMOE_DIGITS,
    r"\d{1,3}(?=(?:\d{3})*\b)": _AFMOE_DIGITS,  # tiny_aya: llama.cpp runs afmoe's matcher
    # kimi-k2: Han runs, then letter runs without Han (no case classes, no marks), contractions
    r"\p{Han}+": f"[{_HAN}]+|[^\\r\\n\\p{{L}}\\p{{N}}]?[\\p{{L}}&&[^{_HAN}]]+{_CONTRACTIONS}?"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}
_TOKEN = re.compile(r"\\p\{\w+\}|\\.|\$|.", re.DOTALL)


# Regexes without \p{..} run on the text with non-ASCII whitespace replaced by \v, so a character
# class matches those characters exactly when it matches \v (whatever its ranges say).
_UCAT = (r"\p{N}", r"\p{L}", r"\p{P}", r"\p{M}", r"\p{S}")
_WIDE_SPACE = r"\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"


_WIDE_SPACE_CHARS = [chr(c) for c in (0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029)]
_WIDE_SPACE_CHARS += ["\u202f", "\u205f", "\u3000"]


def _wide_class(raw: str, mapped: str) -> str:
    vt = re.fullmatch(raw, "\v") is not None
    if all((re.fullmatch(raw, c) is not None) == vt for c in _WIDE_SPACE_CHARS):
        return mapped
    return f"[{mapped}{_WIDE_SPACE}]" if vt else f"[{mapped}&&[^{_WIDE_SPACE}]]"


def onig_pattern(expr: str) -> str:
    """A regex as llama.cpp runs it, rewritten for Oniguruma (what `tokenizers` runs)."""
    if expr in _CUSTOM:
        return _CUSTOM[expr]
    wide = not any(cat in expr for cat in _UCAT)
    out: list[str] = []
    raw: list[str] = []  # the character class being read, as written
    mapped: list[str] = []  # ... and rewritten
    for tok in _TOKEN.findall(expr):
        if raw:
            raw.append(tok)
            mapped.append(_ONIG_ESCAPES.get(tok, tok))
            if tok == "]":
                a, b = "".join(raw), "".join(mapped)
                out.append(_wide_class(a, b) if wide else b)
                raw, mapped = [], []
        elif tok == "[":
            raw, mapped = [tok], [tok]
        elif tok == "$":
            out.append(r"\z")
        else:
            out.append(_ONIG_ESCAPES.get(tok, tok))
    return "".join(out)


def pre_tokenizer(spec: PreSpec) -> pre_tokenizers.PreTokenizer:
    """Splits as llama.cpp does, then maps bytes to the GPT-2 alphabet."""
    steps: list[pre_tokenizers.PreTokenizer] = [
        pre_tokenizers.Split(Regex(onig_pattern(r)), behavior="isolated")
        for r in REGEXES[spec.regexes]
    ]
    steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False))
    return pre_tokenizers.Sequence(steps)
