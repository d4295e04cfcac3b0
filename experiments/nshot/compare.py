"""n-shot hypernetwork training vs fine-tuning the zero-shot-transferred model's embeddings, for the
same training tokens (ZeTT's n-shot setting, on this CPU).

SmolLM2-135M → the bench's German Unigram tokenizer (16k, `experiments/bench/results/tokenizers`):
  zero-shot  `zett transfer` with the shipped hypernetwork (experiments/smollm2/hypernet);
  (a) n-shot `zett finetune mode=hypernet`: the hypernetwork keeps training on the one target
      tokenizer (aux loss toward its step-0 predictions), then transfers;
  (b) embeddings: `zett finetune` of the zero-shot checkpoint, embeddings phase only.
Both read the same batches (same tokenizer, text, block size, seed) of the corpus' German train
split; every checkpoint is scored the same way (`zett.eval.evaluate_bpb`, its own BOS as the
context token) on the first `--heldout` texts of the German held-out split. Usage:
    python experiments/nshot/compare.py [--steps 40] [--batch 4] [--block 128] --work DIR --out FILE
Runs resume from DIR (a killed run goes on); a DIR that holds another run's checkpoints is refused
(`zett.config.check_resume`), so each setting needs its own DIR. Writes FILE (default
experiments/nshot/results/compare.json) with the exact command line."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def score(model_dir: Path, texts: list[str]) -> dict[str, float]:
    """Held-out bits per byte of the checkpoint; cached next to it, keyed by the texts' hash (a rerun
    after a kill skips it)."""
    cache = model_dir / "heldout_score.json"
    key = hashlib.sha256("\0".join(texts).encode()).hexdigest()
    if cache.is_file() and json.loads(cache.read_text()).get("texts_sha256") == key:
        return json.loads(cache.read_text())["score"]
    from zett.eval import evaluate_bpb
    from zett.models import load_pretrained
    from zett.tokenization import canonicalize, load_tokenizer

    tok = load_tokenizer(model_dir)
    vocab = canonicalize(tok)
    prefix = vocab.special("bos") or vocab.special("eos")
    r = evaluate_bpb(
        load_pretrained(model_dir),
        tok.tokenizer,
        texts,
        prefix_row=prefix.id,
        special_ids=vocab.special_ids,
        progress=False,
    )
    result = {"bits_per_byte": r.bits_per_byte, "bytes_per_token": r.bytes_per_token}
    cache.write_text(json.dumps({"texts": len(texts), "texts_sha256": key, "score": result}))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--embeddings-lr", type=float, default=1e-3)
    parser.add_argument("--hypernet-lr", type=float, default=3e-5)
    parser.add_argument(
        "--n-subsample",
        type=lambda v: None if v == "full" else int(v),
        default=4096,
        help="vocabulary rows per n-shot batch, or `full` for the whole target vocabulary",
    )
    parser.add_argument("--heldout", type=int, default=24)
    parser.add_argument(
        "--save-every", type=int, default=4, help="checkpoints: a killed run resumes"
    )
    parser.add_argument("--corpus", default=str(ROOT / "data" / "corpus"))
    parser.add_argument("--lang", default="de")
    parser.add_argument(
        "--tokenizer",
        default=str(ROOT / "experiments/bench/results/tokenizers/unigram-de-16000.json"),
    )
    parser.add_argument("--hypernet", default=str(ROOT / "experiments/smollm2/hypernet"))
    parser.add_argument("--work", default=str(ROOT / "runs" / "nshot"))
    parser.add_argument("--out", default=str(HERE / "results" / "compare.json"))
    args = parser.parse_args()

    from zett.config import load_config
    from zett.data import load_texts
    from zett.finetune import FinetuneConfig, finetune
    from zett.transfer import TransferConfig, transfer

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    heldout = list(load_texts(args.corpus, "heldout", [args.lang])["text"][: args.heldout])
    common = {
        "data": {
            "train": args.corpus,
            "langs": [args.lang],
            "block_size": args.block,
            "batch_size": args.batch,
            "validation_texts": 0,  # scored below, the same way for every checkpoint
        },
        "log_every": 5,
        "save_every": args.save_every,
        "tensorboard": False,
    }
    rows: dict[str, dict] = {}

    t = time.time()
    zero_shot = work / "zero-shot"
    if not (zero_shot / "config.json").exists():
        transfer(
            TransferConfig(
                model="smollm2", tokenizer=args.tokenizer, out=str(zero_shot),
                hypernet=args.hypernet, overwrite=True,
            )
        )  # fmt: skip
    rows["zero_shot"] = {**score(zero_shot, heldout), "seconds": time.time() - t}
    print("zero-shot", rows["zero_shot"], flush=True)

    t = time.time()
    nshot_cfg = load_config(
        FinetuneConfig,
        {
            **common,
            "mode": "hypernet",
            "model": "smollm2",
            "tokenizer": args.tokenizer,
            "workdir": str(work / "nshot"),
            "nshot": {
                "hypernet": args.hypernet,
                "n_subsample": args.n_subsample,
                "phase": {"steps": args.steps, "lr": args.hypernet_lr, "warmup_steps": 5},
            },
        },
    )
    nshot = finetune(nshot_cfg)
    rows["nshot_hypernet"] = {
        **score(nshot.out, heldout),
        "seconds": time.time() - t,
        "lr": args.hypernet_lr,
        "last_train_row": nshot.metrics,
    }
    print("n-shot", rows["nshot_hypernet"], flush=True)

    t = time.time()
    emb_cfg = load_config(
        FinetuneConfig,
        {
            **common,
            "model": str(zero_shot),
            "workdir": str(work / "embeddings"),
            "embeddings": {"steps": args.steps, "lr": args.embeddings_lr, "warmup_steps": 5},
            "full": {"steps": 0},
        },
    )
    emb = finetune(emb_cfg)
    rows["finetune_embeddings"] = {
        **score(emb.out, heldout),
        "seconds": time.time() - t,
        "lr": args.embeddings_lr,
        "last_train_row": emb.metrics,
    }
    print("embeddings", rows["finetune_embeddings"], flush=True)

    result = {
        "what": __doc__.splitlines()[0],
        "model": "SmolLM2-135M-Instruct (Q4_1 GGUF → fp32)",
        "tokenizer": os.path.relpath(args.tokenizer, ROOT),
        "hypernet": os.path.relpath(args.hypernet, ROOT),
        "train": f"{args.corpus} train split, {args.lang}",
        "heldout": f"first {len(heldout)} texts of the {args.lang} held-out split",
        "steps": args.steps,
        "batch": args.batch,
        "block": args.block,
        "train_tokens_each": args.steps * args.batch * args.block,
        "n_subsample": args.n_subsample,
        "results": rows,
        "command": shlex.join(["python", "experiments/nshot/compare.py", *sys.argv[1:]]),
        "machine": f"{os.cpu_count()} CPU cores, load average at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({k: v["bits_per_byte"] for k, v in rows.items()}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
