#!/usr/bin/env python3
"""Markdown table of the recipe's test figures: python local/collect_results.py EXP_DIR TAG SYSTEM..."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml


def train_steps(model_dir: Path) -> int:
    """The last training step logged in ``model_dir/train_log.jsonl`` (0 if none)."""
    lines = (model_dir / "train_log.jsonl").read_text().splitlines()
    return max((json.loads(line)["step"] for line in lines if '"split": "train"' in line), default=0)


def pretrain_steps(model_dir: Path) -> int:
    """Updates of the model ``trainer.init_from`` started this one from (0 = trained from scratch)."""
    config = yaml.safe_load((model_dir / "config.yaml").read_text())
    source = ((config.get("trainer") or {}).get("init_from") or {}).get("path") or ""
    return train_steps(Path(source)) if source and Path(source).is_dir() else 0


def main() -> int:
    exp, tag, systems = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    rows = ["| system | PD | DD | MD | align acc. DP | align acc. argmax | L2M ppl | M2L ppl | syllables fit notes | syllable count rel. diff | pre-training steps | train steps |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for system in systems:
        d = exp / f"{system}_{tag}"
        if not (d / "test_melody.json").is_file() or not (d / "test_eval.json").is_file():
            continue
        m = json.loads((d / "test_melody.json").read_text())
        e = json.loads((d / "test_eval.json").read_text())
        rows.append(f"| {system} | {m['pd']:.4f} | {m['dd']:.4f} | {m['md']:.4f} | {e['alignment_accuracy_dp']:.4f} | "
                    f"{e['alignment_accuracy_argmax']:.4f} | {e['lyric_to_melody_ppl']:.2f} | {e['melody_to_lyric_ppl']:.2f} | "
                    f"{e['syllables_fit_notes']:.4f} | {e['syllable_count_rel_diff']:.4f} | {pretrain_steps(d)} | {train_steps(d)} |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
