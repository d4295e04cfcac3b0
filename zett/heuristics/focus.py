"""FOCUS (Dobler & de Melo 2023): new tokens = sparsemax-weighted mixes of overlapping tokens' source
rows."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from tokenizers import Tokenizer

from zett.heuristics.base import SourceEmbeddings, TargetEmbeddings, assemble, copy_plan
from zett.tokenization import CanonicalVocab, load_tokenizer


@dataclass(frozen=True)
class TokenVectors:
    """Auxiliary (fastText) vectors for the target tokens that have one: ids [n] and vectors [n,
    dim]."""

    ids: np.ndarray
    vectors: np.ndarray

    def __post_init__(self) -> None:
        if self.ids.ndim != 1 or self.vectors.ndim != 2 or len(self.ids) != len(self.vectors):
            raise ValueError(
                f"TokenVectors: ids {self.ids.shape} and vectors {self.vectors.shape} do not line "
                f"up"
            )


def _as_tokenizer(tokenizer: Any):
    """A `tokenizers.Tokenizer` from a Tokenizer, a LoadedTokenizer, or anything `load_tokenizer`
    reads."""
    if isinstance(tokenizer, Tokenizer):
        return tokenizer
    if hasattr(tokenizer, "tokenizer") and isinstance(tokenizer.tokenizer, Tokenizer):
        return tokenizer.tokenizer
    return load_tokenizer(tokenizer).tokenizer


def fasttext_word(token: str) -> str:
    """A token string as one fastText word: whitespace, control characters and backslashes escaped as
    `\\<hex>;` (fastText splits words on them), and `</s>` (fastText's end-of-line word) prefixed.
    Injective, so every target token keeps its own word, and its characters stay visible to the
    n-grams."""
    w = "".join(f"\\{ord(c):x};" if c.isspace() or ord(c) < 32 or c == "\\" else c for c in token)
    return "\\" + w if w == "</s>" else w


def write_token_corpus(texts: Sequence[str], tokenizer: Any, path: str | os.PathLike) -> int:
    """Writes one line per text, the target token strings as fastText words (as deepfocus does, so the
    character n-grams see the pieces' spelling); returns the number of tokens written."""
    tok = _as_tokenizer(tokenizer)
    word = [
        fasttext_word(tok.id_to_token(i) or "")
        for i in range(tok.get_vocab_size(with_added_tokens=True))
    ]
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, len(texts), 1024):
            for enc in tok.encode_batch(
                list(texts[start : start + 1024]), add_special_tokens=False
            ):
                if enc.ids:
                    f.write(" ".join(word[i] for i in enc.ids) + "\n")
                    n += len(enc.ids)
    return n


def train_token_vectors(
    texts: Sequence[str],
    tokenizer: Any,
    *,
    dim: int = 100,
    epochs: int = 3,
    min_count: int = 10,
    threads: int | None = None,
    ngrams: tuple[int, int] = (3, 6),
    rare: str = "ngrams",
) -> TokenVectors:
    """fastText on target-tokenized text with deepfocus' settings: token strings as words, CBOW, neg
    10, dim 100, 3 epochs, min_count 10, fastText's default 3–6 character n-grams.

    `rare` decides the tokens seen fewer than `min_count` times. "random" is deepfocus' tokenlevel
    mode: they get no vector (FOCUS draws them at random). "ngrams" gives each the vector fastText
    composes for an out-of-vocabulary word from its character n-grams — what deepfocus' wordlevel
    mode does for every token — when at least one of those n-grams was trained; only tokens with
    none stay missing. On small texts most of a Unigram vocabulary is rare (German Bible, 16k
    pieces: 44% seen < 10 times), and random rows cost far more than a spelling-based guess.
    fastText 0.9.2 takes no seed, and more than one thread makes it nondeterministic."""
    import fasttext  # only FOCUS trains vectors: `import zett.heuristics` stays without it

    if rare not in ("ngrams", "random"):
        raise ValueError(f"rare must be 'ngrams' or 'random', got {rare!r}")
    if rare == "ngrams" and ngrams[1] <= 0:
        raise ValueError(
            "rare='ngrams' needs character n-grams (ngrams=(minn, maxn) with maxn > 0)"
        )
    if not texts:
        raise ValueError("FOCUS needs target-language texts to train fastText on; got none")
    tok = _as_tokenizer(tokenizer)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tokens.txt"
        if write_token_corpus(texts, tok, path) == 0:
            raise ValueError("FOCUS: the target tokenizer produced no tokens for the given texts")
        grams = (
            dict(minn=ngrams[0], maxn=ngrams[1])
            if ngrams[1] > 0
            else dict(minn=0, maxn=0, bucket=0)
        )
        model = fasttext.train_unsupervised(
            str(path),
            model="cbow",
            dim=dim,
            epoch=epochs,
            minCount=min_count,
            neg=10,
            thread=threads or os.cpu_count() or 1,
            verbose=0,
            **grams,
        )
    return vectors_from_fasttext(model, tok, rare=rare)


def vectors_from_fasttext(model: Any, tokenizer: Any, rare: str = "random") -> TokenVectors:
    """TokenVectors for the target tokens of a fastText model trained on `write_token_corpus` text: the
    in-vocabulary ones, and with rare="ngrams" also the others that share a trained character n-gram
    (all-zero vectors count as missing)."""
    tok = _as_tokenizer(tokenizer)
    id_of = {fasttext_word(t): i for t, i in tok.get_vocab(with_added_tokens=True).items() if t}
    vocab = [w for w in model.get_words() if w in id_of]
    words = list(vocab)
    if rare == "ngrams":
        # rows past the word rows are n-gram buckets; one is trained iff some in-vocabulary word
        # holds it
        all_words = model.get_words()
        trained = np.zeros(len(all_words) + model.f.getArgs().bucket, bool)
        for w in all_words:
            trained[model.get_subwords(w)[1]] = True
        trained[: len(all_words)] = False
        known = set(vocab)
        words += [w for w in id_of if w not in known and trained[model.get_subwords(w)[1]].any()]
    ids = np.fromiter((id_of[w] for w in words), np.int64, len(words))
    vecs = (
        np.stack([model.get_word_vector(w) for w in words])
        if words
        else np.zeros((0, model.get_dimension()), np.float32)
    )
    keep = np.abs(vecs).sum(1) > 0
    return TokenVectors(ids[keep], vecs[keep].astype(np.float32))


def sparsemax(z: np.ndarray) -> np.ndarray:
    """Row-wise sparsemax (Martins & Astudillo 2016) of [rows, n]: the Euclidean projection onto the
    simplex."""
    z = np.asarray(z, np.float64)
    zs = -np.sort(-z, axis=1)
    cs = np.cumsum(zs, axis=1)
    k = np.arange(1, z.shape[1] + 1, dtype=np.float64)
    # the support is a prefix of the sorted row, so its size is a count
    size = (1.0 + k * zs > cs).sum(1)
    tau = (cs[np.arange(z.shape[0]), size - 1] - 1.0) / size
    return np.maximum(z - tau[:, None], 0.0)


def focus_weights(new: np.ndarray, anchors: np.ndarray, chunk: int = 512) -> sp.csr_matrix:
    """[n_new, n_anchor] sparse convex weights: sparsemax of the cosine similarities of the rows of
    new [n_new, dim] to anchors [n_anchor, dim], `chunk` rows at a time."""

    def unit(x):
        x = np.asarray(x, np.float64)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)

    a = unit(anchors)
    parts = []
    for start in range(0, len(new), chunk):
        parts.append(sp.csr_matrix(sparsemax(unit(new[start : start + chunk]) @ a.T)))
    return sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, len(anchors)))


def focus_init(
    source: SourceEmbeddings,
    target: CanonicalVocab,
    *,
    seed: int = 0,
    copy: bool = True,
    texts: Sequence[str] | None = None,
    tokenizer: Any = None,
    vectors: TokenVectors | None = None,
    dim: int = 100,
    epochs: int = 3,
    min_count: int = 10,
    threads: int | None = None,
    ngrams: tuple[int, int] = (3, 6),
    rare: str = "ngrams",
    chunk: int = 512,
) -> TargetEmbeddings:
    """FOCUS: copy the overlap; a new token with a fastText vector = sparsemax(cosine to the
    overlapping tokens that have one) · their source rows; a new token without one ~ N(source mean,
    source std) per dim.

    The auxiliary vectors come from `vectors`, or are trained here on `texts` encoded by `tokenizer`
    (the target tokenizer whose ids `target` describes: a `tokenizers.Tokenizer`, a LoadedTokenizer,
    or a path; fastText options as in `train_token_vectors`). The same weights are applied to every
    table (input, output, bias)."""
    if not copy:
        raise ValueError(
            "FOCUS mixes the copied overlap's source rows; it cannot run with copy=False"
        )
    if vectors is None:
        if texts is None or tokenizer is None:
            raise ValueError(
                "focus_init needs `vectors`, or `texts` and the target `tokenizer` to train "
                "fastText"
            )
        tok = _as_tokenizer(tokenizer)
        if tok.get_vocab_size(with_added_tokens=True) != target.size:
            raise ValueError(
                f"target tokenizer has {tok.get_vocab_size(with_added_tokens=True)} ids, target "
                f"vocabulary {target.size}"
            )
        vectors = train_token_vectors(
            texts,
            tok,
            dim=dim,
            epochs=epochs,
            min_count=min_count,
            threads=threads,
            ngrams=ngrams,
            rare=rare,
        )
    if vectors.ids.size and (vectors.ids.min() < 0 or vectors.ids.max() >= max(target.size, 1)):
        raise ValueError(
            f"fastText vectors name target ids up to {int(vectors.ids.max())}, vocabulary has "
            f"{target.size}"
        )

    t_ids, s_ids = copy_plan(source, target)
    t_ids, first = np.unique(
        t_ids, return_index=True
    )  # a special may also match by text: one anchor per target id
    s_ids = s_ids[first]
    row_of = np.full(max(target.size, int(t_ids.max(initial=-1)) + 1), -1, np.int64)
    row_of[vectors.ids] = np.arange(len(vectors.ids))
    plan: dict[str, Any] = {}

    def fill(_key, table, missing):
        if not plan:
            vec_row = row_of[np.minimum(missing, len(row_of) - 1)]
            has = (vec_row >= 0) & (missing < len(row_of))
            anchor_row = row_of[t_ids]
            anchored = anchor_row >= 0
            if has.any() and not anchored.any():
                raise ValueError(
                    "FOCUS: no overlapping token has a fastText vector (texts too small or "
                    "min_count too high)"
                )
            plan["has"], plan["anchor_src"] = has, s_ids[anchored]
            plan["weights"] = focus_weights(
                vectors.vectors[vec_row[has]], vectors.vectors[anchor_row[anchored]], chunk
            )
            plan["rng"] = np.random.default_rng(seed)
        has = plan["has"]
        out = np.empty((missing.size, table.shape[1]), table.dtype)
        out[has] = plan["weights"] @ table[plan["anchor_src"]].astype(np.float64)
        mean, std = table.mean(0, dtype=np.float64), table.std(0, ddof=1, dtype=np.float64)
        out[~has] = plan["rng"].normal(mean, std, size=(int((~has).sum()), table.shape[1]))
        return out

    result = assemble(source, target, fill, copy, "focus")
    has = plan.get("has", np.zeros(0, bool))
    result.info.update(
        n_focus=int(has.sum()),
        n_random=int((~has).sum()),
        n_anchors=int(len(plan.get("anchor_src", ()))),
    )
    return result
