#!/usr/bin/env python3
"""Paired bootstrap over test songs of each system against a baseline (PD, DD, MD).

    python local/paired_bootstrap.py EXP_DIR TAG BASELINE SYSTEM... [--reps 10000] [--seed 1]

Reads ``EXP_DIR/<system>_<TAG>/test_melody.json`` (``speechtools score melody --json``: corpus PD/DD/MD
are means over songs, ``per_song`` holds each song's figures in the test order). For each system
it prints a Markdown table of the mean per-song difference system − baseline, its 95 % percentile
interval over song resamples with replacement (the paired bootstrap, Koehn 2004, Sec. 4), and on
how many songs the system is strictly ahead (PD, DD higher; MD lower).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np

METRICS = {"pd": 1, "dd": 1, "md": -1}
"""Metric -> direction (+1: higher is better)."""


def per_song(path: Path) -> Dict[str, np.ndarray]:
    """Each metric's per-song values of one ``test_melody.json``."""
    songs = json.loads(path.read_text())["per_song"]
    return {m: np.array([s[m] for s in songs], dtype=np.float64) for m in METRICS}


def paired_bootstrap(diff: np.ndarray, reps: int, seed: int) -> tuple:
    """Mean of ``diff`` and the 2.5/97.5 percentiles of its mean over ``reps`` resamples of the songs (paired bootstrap)."""
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(reps, len(diff)))].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exp", type=Path)
    parser.add_argument("tag")
    parser.add_argument("baseline")
    parser.add_argument("systems", nargs="+")
    parser.add_argument("--reps", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    base = per_song(args.exp / f"{args.baseline}_{args.tag}" / "test_melody.json")
    rows = ["| system − baseline | metric | mean difference | 95 % interval | songs ahead |", "|---|---|---:|---|---:|"]
    for system in args.systems:
        if system == args.baseline:
            continue
        figures = per_song(args.exp / f"{system}_{args.tag}" / "test_melody.json")
        for metric, sign in METRICS.items():
            if len(figures[metric]) != len(base[metric]):
                sys.exit(f"{system}: {len(figures[metric])} test songs but {args.baseline}: {len(base[metric])}")
            diff = figures[metric] - base[metric]
            mean, low, high = paired_bootstrap(diff, args.reps, args.seed)
            ahead = int((sign * diff > 0).sum())
            rows.append(f"| {system} − {args.baseline} | {metric.upper()} | {mean:+.4f} | {low:+.4f} … {high:+.4f} | {ahead} of {len(diff)} |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
