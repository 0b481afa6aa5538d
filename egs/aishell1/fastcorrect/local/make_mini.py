#!/usr/bin/env python3
"""Mini Mandarin correction data: shipped Tang-poem lines with synthetic homophone "ASR" errors.

Splits ``corpus/tang300_lines.txt`` (600 lines) into train (first 500), dev (next 50) and test
(last 50), writes Kaldi texts ``<out>/<set>/text`` (ids ``tang_NNNN``) and, as the recogniser's
output, ``<out>/<set>/hyp``: each line noised once with a fixed seed, mostly by homophone
substitution (ratio 0.12; substitute 0.9, delete 0.05, insert 0.025 + 0.025), using the same
pinyin table as ``speechtools correct noise``. The recogniser's n-best lists (``<out>/<set>/nbest.tsv``,
the ``asr_hyp.tsv`` format that ``correct-asr --n-best`` reads, written by ``format_nbest_tsv``):
``hyp``'s line as the 1-best, then ``--n-best`` − 1 further candidates, each an independent draw
of the same noise from a second seeded generator (``noisy_candidates``, as ``correct noise
--n-best``), repeats dropped. Independent draws are less alike than a real recogniser's beam,
so these lists hold more of the answer than real n-best lists do. ``hyp`` does not depend on
``--n-best``. Deterministic: the same files on every machine.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from speechtools.correction.multi_alignment import format_nbest_tsv, noisy_candidates
from speechtools.correction.noising import NoiseConfig, Noiser
from speechtools.correction.similar_pronunciation import mandarin_table
from speechtools.correction.tokenizer import join_words, split_words
from speechtools.errors import UserError
from speechtools.fileio import read_lines, write_lines

SPLITS = (("train", 0, 500), ("dev", 500, 550), ("test", 550, 600))
HYP_NOISE = NoiseConfig(ratio=0.12, p_sub=0.9, p_ins_left=0.025, p_ins_right=0.025, p_del=0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--text", default="corpus/tang300_lines.txt")
    parser.add_argument("--out", default="data")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--n-best", type=int, default=4, help="Candidates per n-best list (the 1-best included).")
    args = parser.parse_args()
    if args.n_best < 1:
        parser.error(f"--n-best must be at least 1, got {args.n_best}")
    lines = [line.strip() for _, line in read_lines(args.text) if line.strip()]
    units = [split_words(line, "zh") for line in lines]
    counts = Counter(u for s in units for u in s)
    noiser = Noiser(mandarin_table(counts), counts, HYP_NOISE)
    rng = np.random.default_rng(args.seed)
    hyps = [join_words(noiser.noise(u, rng), "zh") for u in units]
    beam_rng = np.random.default_rng(args.seed + 1)  # hyp above stays as it was before the n-best lists
    nbest = [[h] + [join_words(c, "zh") for c in noisy_candidates(u, noiser, beam_rng, args.n_best - 1)] if args.n_best > 1 else [h]
             for h, u in zip(hyps, units)]
    for name, start, end in SPLITS:
        keys = [f"tang_{k:04d}" for k in range(start, min(end, len(lines)))]
        out = Path(args.out) / name
        out.mkdir(parents=True, exist_ok=True)
        write_lines(out / "text", [f"{k} {lines[i]}" for k, i in zip(keys, range(start, end))])
        write_lines(out / "hyp", [f"{k} {hyps[i]}".rstrip() for k, i in zip(keys, range(start, end))])
        write_lines(out / "nbest.tsv", [format_nbest_tsv(k, nbest[i]) for k, i in zip(keys, range(start, end))])
        print(f"{name}: {len(keys)} sentences -> {out}")


if __name__ == "__main__":
    try:
        main()
    except UserError as exc:  # a bad input file: one line naming it (and its line), no traceback
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
