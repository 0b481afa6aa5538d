#!/usr/bin/env python3
"""Markdown table of the recipe's test metrics: python local/collect_results.py EXP_DIR TAG."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    exp, tag = Path(sys.argv[1]), sys.argv[2]
    rows = ["| task | init | MAP | HITS@1 | HITS@5 | HITS@10 | HITS@25 | accuracy | micro-F1 | macro-F1 | train steps |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for task in ("melody_completion", "accompaniment", "classification"):
        for init in ("pretrained", "scratch"):
            d = exp / f"{task}_{init}_{tag}"
            f = d / "test_metrics.json"
            if not f.is_file():
                continue
            m = json.loads(f.read_text())
            steps = max((json.loads(l)["step"] for l in (d / "train_log.jsonl").read_text().splitlines() if '"split": "train"' in l), default=0)
            if "map" in m:
                h = m["hits"]
                rows.append(f"| {task} | {init} | {m['map']:.3f} | {h['1']:.3f} | {h['5']:.3f} | {h['10']:.3f} | {h['25']:.3f} | | | | {steps} |")
            else:
                rows.append(f"| {task} | {init} | | | | | | {m['accuracy']:.3f} | {m['micro_f1']:.3f} | {m['macro_f1']:.3f} | {steps} |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
