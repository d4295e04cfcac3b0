"""Why CLP scores like `mean` on Gemma-3's tokenizer: how uniform its weights are.

CLP (zett.heuristics.clp, as in the authors' code) gives a new token the average of the shared
tokens' base rows weighted by cos / Σ cos in the donor's embedding space, over every shared token.
This samples new tokens and reports the weights' effective number of tokens (Σ cos)² / Σ cos², the
share of negative cosines, and how far each CLP row lies from the plain mean of the shared rows
(relative to the shared rows' mean distance from it).

    python experiments/bench/clp_weights.py                      # → experiments/bench/clp_weights.json
    python experiments/bench/clp_weights.py --source smollm2 --donor gemma3 --sample 2000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from zett.heuristics.base import SourceEmbeddings
from zett.heuristics.clp import _unit as unit  # CLP's own normalisation, so the cosines are its
from zett.heuristics.donor import donor_rows, load_donor
from zett.heuristics.omp import anchors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="smollm2", help="base model (alias or checkpoint)")
    parser.add_argument(
        "--donor", default="gemma3", help="donor model: its tokenizer is the target"
    )
    parser.add_argument("--sample", type=int, default=2000, help="new tokens to sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "clp_weights.json"))
    args = parser.parse_args()

    donor, base_model = load_donor(args.donor), load_donor(args.source)
    base_table = base_model.table("input")
    t_ids, s_ids = anchors(SourceEmbeddings(base_model.vocab, base_table), donor.vocab)
    rows = donor_rows(donor.vocab, donor)
    d_table = donor.table("input").astype(np.float32)
    shared = unit(d_table[rows[t_ids]])  # [n_shared, donor_embed]
    new = np.setdiff1d(np.arange(donor.vocab.size), t_ids)
    new = new[rows[new] >= 0]
    pick = np.random.default_rng(args.seed).choice(new, min(args.sample, new.size), replace=False)
    cos = unit(d_table[rows[pick]]) @ shared.T  # [sample, n_shared]
    total = cos.sum(1, dtype=np.float64)
    positive = total > 0
    ess = total[positive] ** 2 / (cos[positive].astype(np.float64) ** 2).sum(1)
    base = base_table[s_ids].astype(np.float64)
    mean = base.mean(0)
    clp_rows = (cos[positive] / total[positive, None]) @ base
    spread = np.linalg.norm(base - mean, axis=1).mean()
    offset = np.linalg.norm(clp_rows - mean, axis=1) / spread
    result = {
        "source": args.source,
        "donor": args.donor,
        "shared_tokens": int(t_ids.size),
        "sampled_new_tokens": int(pick.size),
        "share_with_positive_sum": float(positive.mean()),
        "effective_tokens_median": float(np.median(ess)),
        "effective_tokens_p10_p90": [float(np.percentile(ess, 10)), float(np.percentile(ess, 90))],
        "share_negative_cosines": float((cos < 0).mean()),
        "offset_from_mean_median": float(np.median(offset)),
        "offset_from_mean_p90": float(np.percentile(offset, 90)),
        "seed": args.seed,
    }
    tmp = Path(args.out).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(args.out)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
