"""The protocol on the real SmolLM2: its own tokenizer scored through the transfer path (FVT onto its
own vocabulary) equals the original model's score bit for bit, `<|endoftext|>`-free text has no unk
bytes, and the bytes are the texts' UTF-8 bytes."""

from __future__ import annotations

import numpy as np
import pytest

from zett import assets
from zett.eval.model_bpb import evaluate_bpb
from zett.eval.protocol import ScoringProtocol
from zett.heuristics import SourceEmbeddings, fvt_init
from zett.models import load_pretrained
from zett.tokenization import canonicalize, load_tokenizer

TEXTS = [
    "In the beginning God created the heaven and the earth.",
    "Und die Erde war wüst und leer, und es war finster auf der Tiefe.",
    "आदि में परमेश्वर ने आकाश और पृथ्वी की सृष्टि की।",
]


@pytest.fixture(scope="module")
def smollm2():
    model = load_pretrained(assets.resolve("smollm2"))
    loaded = load_tokenizer(assets.resolve("smollm2"))
    return model, loaded, canonicalize(loaded)


def test_fvt_onto_smollm2s_own_vocabulary_equals_the_original(smollm2):
    model, loaded, vocab = smollm2
    tables = fvt_init(SourceEmbeddings(vocab, np.asarray(model.get_input_embeddings())), vocab)
    assert tables.copied.all()  # every row is a copy: the transfer path changes nothing
    bos = (vocab.special("bos") or vocab.special("eos")).id
    kw = dict(
        prefix_row=bos,
        special_ids=vocab.special_ids,
        protocol=ScoringProtocol(context_bytes=48, stride_bytes=32, batch_tokens=256),
        progress=False,
    )
    original = evaluate_bpb(model, loaded.tokenizer, TEXTS, **kw)
    transferred = evaluate_bpb(
        model, loaded.tokenizer, TEXTS, input_embeddings=tables.input_embeddings, **kw
    )
    assert transferred.doc_bits == original.doc_bits
    assert original.n_bytes == sum(len(t.encode()) for t in TEXTS)
    assert original.unk_bytes == 0 and original.special_bytes == 0
