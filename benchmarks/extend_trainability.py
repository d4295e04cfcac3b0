"""Does the default init of new rows (`average`) train as well as `mvn`? Embedding-only training of
new text tokens on SmolLM2: loss curves on held-out text, default vs mvn.

SmolLM2 (fp32, tied head) gets the `--words` most frequent train-split English Bible words that its
tokenizer splits (`experiments/extend/new_row_mass.py`'s choice) as new tokens; only the new rows
train (Adam, same learning rate for both inits) on train-split chapters encoded with the extended
tokenizer (windows that hold at least one new token). Every `--eval-every` steps: mean
cross-entropy on held-out passages, over all positions and over the positions whose target is a new
token. The machine was shared (2 cores).

    PYTHONPATH=$PWD nice -n 10 python benchmarks/extend_trainability.py \
        --out benchmarks/results/extend_trainability.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments" / "extend"))
from new_row_mass import frequent_split_words  # noqa: E402

from zett.eval.heldout import bible_split  # noqa: E402
from zett.extend import InitSpec, plan_for_dir, run_extension  # noqa: E402
from zett.extend.mass import encode_batch  # noqa: E402
from zett.extend.tokenizer import load_tokenizer  # noqa: E402
from zett.models import load_pretrained  # noqa: E402


def curve(src: Path, out: Path, words, init: str, args) -> dict:
    plan, tok = plan_for_dir(src, words)
    run_extension(src, out, plan, tok, InitSpec(init), overwrite=True, verify=False, mass=False)
    model = load_pretrained(str(out))
    new_tok = load_tokenizer(out)
    new_ids = jnp.asarray(plan.token_ids)
    split = bible_split("en", args.eval_passages)
    held, held_len = encode_batch(new_tok, split.heldout_texts, args.seq)
    train_ids = [new_tok.encode(t).ids for t in split.train[:: max(len(split.train) // 400, 1)]]
    stream = np.concatenate([np.asarray(s) for s in train_ids])
    rng = np.random.default_rng(0)
    # windows that hold a new token: the rows get a signal at every step
    hits = np.flatnonzero(np.isin(stream[: len(stream) - args.seq], np.asarray(plan.token_ids)))
    graphdef, state = nnx.split(model)
    table = model.get_input_embeddings()

    def losses(rows, ids, n):
        m = nnx.merge(graphdef, state)
        emb = table.at[new_ids].set(rows)
        logits = m(ids, input_embeddings=emb, output_embeddings=emb).logits[:, :-1]
        labels = ids[:, 1:]
        ce = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), labels)
        valid = jnp.arange(labels.shape[1])[None] < (n[:, None] - 1)
        is_new = valid & jnp.isin(labels, new_ids)
        return (ce * valid).sum() / valid.sum(), (ce * is_new).sum() / jnp.maximum(is_new.sum(), 1)

    opt = optax.adam(args.lr)
    rows = table[new_ids]
    opt_state = opt.init(rows)

    @jax.jit
    def step(rows, opt_state, ids):
        n = jnp.full((ids.shape[0],), ids.shape[1])
        loss, grad = jax.value_and_grad(lambda r: losses(r, ids, n)[0])(rows)
        upd, opt_state = opt.update(grad, opt_state, rows)
        return optax.apply_updates(rows, upd), opt_state, loss

    evaluate = jax.jit(losses)
    points, train_loss = [], []
    t = time.time()
    for i in range(args.steps + 1):
        if i % args.eval_every == 0:
            a, b = evaluate(rows, jnp.asarray(held), jnp.asarray(held_len))
            points.append({"step": i, "heldout_ce": float(a), "heldout_ce_new_targets": float(b)})
            print(init, points[-1], flush=True)
        if i == args.steps:
            break
        starts = np.clip(
            rng.choice(hits, args.batch) - rng.integers(0, args.seq, args.batch), 0, None
        )
        batch = jnp.asarray(np.stack([stream[s : s + args.seq] for s in starts]))
        rows, opt_state, loss = step(rows, opt_state, batch)
        train_loss.append(float(loss))
    n_new = int(np.isin(held[:, 1:], np.asarray(plan.token_ids)).sum())
    return {
        "init": init,
        "eval": points,
        "train_loss": train_loss,
        "heldout_new_targets": n_new,
        "seconds": round(time.time() - t, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=64)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--eval-every", type=int, default=10)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--eval-passages", type=int, default=8)
    ap.add_argument("--inits", nargs="+", default=["average", "mvn"])
    ap.add_argument("--out", default="benchmarks/results/extend_trainability.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "smollm2"
        subprocess.run(
            [sys.executable, "-m", "zett.cli.main", "convert", "smollm2", str(src)],
            check=True,
            capture_output=True,
        )
        words = frequent_split_words(load_tokenizer(src), args.words, ("en",))
        runs = [curve(src, Path(tmp) / f"ext-{i}", words, i, args) for i in args.inits]
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    result = {
        "model": "SmolLM2-135M-Instruct (GGUF Q4_1, dequantised to fp32)",
        "words": words,
        "config": vars(args),
        "runs": runs,
        "loadavg": load,
    }
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
