"""Held-out bits per byte of SmolLM2-135M-Instruct under new tokenizers: hypernet at step 0 vs trained
vs FVT, under the scoring protocol of `zett.eval.protocol`, on passages of chapters held out of the
corpus in every translation (`zett.demo.split_texts`); the Unigram tokenizers train on train chapters.

    python experiments/smollm2/eval_hypernet.py [--langs de ru es] [--texts 24]

"step 0" is the same architecture freshly initialised with its output rescalers fit on anchor
tokens, i.e. what training starts from. Writes experiments/smollm2/eval_hypernet.json."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from flax import nnx

from zett.assets import checkpoint_name
from zett.demo import SHIPPED_HYPERNET, DemoConfig, split_texts, train_unigram
from zett.eval.model_bpb import evaluate_bpb
from zett.eval.protocol import DEFAULT_PROTOCOL
from zett.heuristics import SourceEmbeddings, fvt_init
from zett.hypernet.checkpoint import load_hypernet
from zett.hypernet.model import Hypernet, fit_output_rescalers
from zett.hypernet.predict import predict_embeddings
from zett.models import load_pretrained
from zett.tokenization import Decomposer, canonicalize, load_tokenizer


def step0_hypernet(trained: Hypernet, e_in: np.ndarray, specials: np.ndarray) -> Hypernet:
    fresh = Hypernet(trained.cfg, e_in, rngs=nnx.Rngs(trained.cfg.seed))
    regular = np.setdiff1d(np.arange(e_in.shape[0]), specials)
    anchors = np.random.default_rng(0).choice(regular, 4096, replace=False)
    fit_output_rescalers(
        fresh, anchors[:, None].astype(np.int32), np.ones(4096, np.int32), e_in[anchors]
    )
    return fresh


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--langs", nargs="+", default=["de", "ru", "es"])
    ap.add_argument("--texts", type=int, default=24)
    ap.add_argument("--vocab-size", type=int, default=16000)
    ap.add_argument("--out", default=str(Path(__file__).with_name("eval_hypernet.json")))
    args = ap.parse_args()
    model = load_pretrained("smollm2")
    source = load_tokenizer("smollm2")
    vocab = canonicalize(source)
    prefix = (vocab.special("bos") or vocab.special("eos")).id
    e_in = np.asarray(model.get_input_embeddings())
    trained = load_hypernet(SHIPPED_HYPERNET, e_in)
    fresh = step0_hypernet(trained, e_in, np.asarray(vocab.special_ids))
    decomposer = Decomposer(source, maxlen=trained.cfg.surface_maxlen)
    results = {}
    for lang in args.langs:
        train, held = split_texts(DemoConfig(lang=lang, heldout_texts=args.texts))
        target = load_tokenizer(train_unigram(train, args.vocab_size))
        tv = canonicalize(target)
        row = {}
        r = evaluate_bpb(
            model, source.tokenizer, held, prefix, special_ids=vocab.special_ids, progress=False
        )
        row["original"] = r.bits_per_byte
        tables = {
            "hypernet_step0": predict_embeddings(fresh, decomposer, tv, progress=False),
            "hypernet_trained": predict_embeddings(trained, decomposer, tv, progress=False),
            "fvt": fvt_init(SourceEmbeddings(vocab, e_in), tv),
        }
        for name, t in tables.items():
            r = evaluate_bpb(
                model,
                target.tokenizer,
                held,
                prefix,
                input_embeddings=t.input_embeddings,
                special_ids=tv.special_ids,
                progress=False,
            )
            row[name] = r.bits_per_byte
        row["bytes_per_token_new"] = r.bytes_per_token
        results[lang] = row
        print(lang, json.dumps({k: round(v, 3) for k, v in row.items()}))
    Path(args.out).write_text(
        json.dumps(
            {
                "trained_steps": json.loads((SHIPPED_HYPERNET / "hypernet.json").read_text())[
                    "trained_steps"
                ],
                "model": checkpoint_name("smollm2"),
                "protocol": asdict(DEFAULT_PROTOCOL),
                "held_out_texts": args.texts,
                "target": f"Unigram {args.vocab_size} per language",
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
