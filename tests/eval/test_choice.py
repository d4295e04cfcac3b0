"""Log-likelihood multiple choice: a tiny model forced to the right answer, and SmolLM2 on easy English
items."""

from __future__ import annotations

import numpy as np
import pytest

from zett.eval.choice import Choice, choose, continuation_loglik


class _Tok:
    """One id per character (ord), enough for a forced-answer model."""

    def encode(self, text, add_special_tokens=False):
        return type("E", (), {"ids": [ord(c) for c in text]})()


def _forced_forward(next_of):
    """logits that put all mass on next_of[current id]: a model that 'knows' one sequence."""
    import jax.numpy as jnp

    def forward(ids, mask):
        ids = np.asarray(ids)
        logits = np.full(ids.shape + (128,), -20.0, np.float32)
        for j, t in enumerate(ids[0]):
            logits[0, j, next_of.get(int(t), 0)] = 20.0
        return jnp.asarray(logits)

    return forward


def test_forced_answer_wins_and_normalisation():
    text = "abcde"
    fwd = _forced_forward({ord(a): ord(b) for a, b in zip(text, text[1:])})
    c = choose(None, _Tok(), "abc", ["de", "dx", "q"], forward=fwd)
    assert c.best == 0 and c.best_normalised == 0
    assert c.scores[0] == pytest.approx(0.0, abs=1e-3)  # log p ≈ 0 for the forced path
    assert c.scores[1] < -30 and c.scores[2] < -30
    # total vs per-byte: a longer wrong answer loses more in total but can win once normalised
    ch = Choice(scores=np.array([-4.0, -6.0]), n_bytes=np.array([1, 6]))
    assert ch.best == 0 and ch.best_normalised == 1


def test_empty_inputs_are_errors():
    fwd = _forced_forward({})
    with pytest.raises(ValueError, match="empty continuation"):
        continuation_loglik(fwd, [], [1], [])
    with pytest.raises(ValueError, match="nothing to condition on"):
        choose(None, _Tok(), "", ["a"], forward=fwd)


ITEMS = [
    ("The capital of France is", [" Paris.", " a banana.", " seven."], 0),
    ("Water freezes at zero degrees", [" Celsius.", " purple.", " dog."], 0),
    ("One, two, three, four,", [" five", " apple", " blue"], 0),
    ("The opposite of hot is", [" cold.", " fast.", " window."], 0),
    ("Monday, Tuesday,", [" Wednesday", " January", " carrot"], 0),
]


@pytest.mark.slow
def test_smollm2_easy_items():
    from zett import assets
    from zett.models import load_pretrained
    from zett.tokenization import canonicalize, load_tokenizer

    model = load_pretrained(assets.smollm2_gguf())
    tok = load_tokenizer(assets.smollm2_gguf())
    bos = canonicalize(tok).special("bos") or canonicalize(tok).special("eos")
    right = sum(
        choose(model, tok.tokenizer, ctx, conts, prefix_ids=[bos.id]).best_normalised == ans
        for ctx, conts, ans in ITEMS
    )
    assert right >= 4, f"SmolLM2 got {right}/{len(ITEMS)} trivial items"
