#!/usr/bin/env python3
"""Mini Mandarin correction data: shipped Tang-poem lines with synthetic homophone "ASR" errors.

Splits ``corpus/tang300_lines.txt`` (600 lines) into train (first 500), dev (next 50) and test
(last 50), writes Kaldi texts ``<out>/<set>/text`` (ids ``tang_NNNN``) and, as the recogniser's
output, ``<out>/<set>/hyp``: each line noised once with a fixed seed, mostly by homophone
substitution (ratio 0.12; substitute 0.9, delete 0.05, insert 0.025 + 0.025), using the same
pinyin table as ``speechtools correct noise``. Deterministic: the same files on every machine.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from speechtools.correction.noising import NoiseConfig, Noiser
from speechtools.correction.similar_pronunciation import mandarin_table
from speechtools.correction.tokenizer import join_words, split_words
from speechtools.fileio import read_lines, write_lines

SPLITS = (("train", 0, 500), ("dev", 500, 550), ("test", 550, 600))
HYP_NOISE = NoiseConfig(ratio=0.12, p_sub=0.9, p_ins_left=0.025, p_ins_right=0.025, p_del=0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--text", default="corpus/tang300_lines.txt")
    parser.add_argument("--out", default="data")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args()
    lines = [line.strip() for _, line in read_lines(args.text) if line.strip()]
    units = [split_words(line, "zh") for line in lines]
    counts = Counter(u for s in units for u in s)
    noiser = Noiser(mandarin_table(counts), counts, HYP_NOISE)
    rng = np.random.default_rng(args.seed)
    hyps = [join_words(noiser.noise(u, rng), "zh") for u in units]
    for name, start, end in SPLITS:
        keys = [f"tang_{k:04d}" for k in range(start, min(end, len(lines)))]
        out = Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        write_lines(out / "text", [f"{k} {lines[i]}" for k, i in zip(keys, range(start, end))])
        write_lines(out / "hyp", [f"{k} {hyps[i]}".rstrip() for k, i in zip(keys, range(start, end))])
        print(f"{name}: {len(keys)} sentences -> {out}")


if __name__ == "__main__":
    main()
