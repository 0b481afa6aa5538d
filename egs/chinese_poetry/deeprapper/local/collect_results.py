#!/usr/bin/env python3
"""Markdown table of the recipe's scores: python local/collect_results.py EXP_DIR LANG TAG.

Rows: (a) DeepRapper with the rhyme constraint, (b) the same model without it, (c) the
left-to-right model without rhyme embeddings, (d) the real held-out lyrics (cut to the length of a
generated song). Perplexity is each model's on the held-out songs (d has none).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional


def read(path: Path) -> Optional[dict]:
    return json.loads(path.read_text()) if path.is_file() else None


def steps(model_dir: Path) -> str:
    log = model_dir / "train_log.jsonl"
    if not log.is_file():
        return ""
    return str(max((json.loads(l)["step"] for l in log.read_text().splitlines() if '"split": "train"' in l), default=0))


def main() -> int:
    exp, lang, tag = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    rows = ["| system | perplexity | rhyme acc. | rhyme density | Combo-2 | distinct-2 | train steps |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    systems = [("(a) DeepRapper + rhyme constraint", "full", "gen_rhyme"), ("(b) DeepRapper, no constraint", "full", "gen_free"),
               ("(c) left-to-right, no rhyme embedding", "l2r", "gen_free")]
    for name, system, gen in systems:
        model_dir = exp / f"{lang}_{system}_{tag}"
        scores, ppl = read(model_dir / f"{gen}.json"), read(model_dir / "test_ppl.json")
        if scores is None:
            continue
        perplexity = f"{ppl['perplexity']:.2f}" if ppl else ""
        rows.append(f"| {name} | {perplexity} | {scores['rhyme_accuracy']:.4f} | {scores['rhyme_density']:.4f} | "
                    f"{scores['combo_2']:.4f} | {scores['distinct_2']:.4f} | {steps(model_dir)} |")
    real = read(exp / f"{lang}_real_{tag}.json")
    if real:
        rows.append(f"| (d) real held-out lyrics | | {real['rhyme_accuracy']:.4f} | {real['rhyme_density']:.4f} | "
                    f"{real['combo_2']:.4f} | {real['distinct_2']:.4f} | |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
