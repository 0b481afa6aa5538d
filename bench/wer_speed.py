"""WER scoring speed: speechtools' batched numpy DP vs a plain-Python DP and editdistance (C).

Generates N synthetic utterance pairs of L words (seeded; ~10% of reference words substituted,
5% deleted, 5% words inserted), then times, side by side in one process on one core:

- ``speechtools``: :func:`speechtools.scoring.wer.score_corpus` from token lists (vocabulary
  encoding + batched Kaldi-tie-broken DP + S/D/I split), the path ``score wer`` uses;
- ``python-dp``: a plain-Python port of Kaldi's ``LevenshteinEditDistance`` (S/D/I split), run on
  a subset (``--python-subset``) and reported per pair, extrapolated to N;
- ``editdistance``: the C++ ``editdistance`` package, totals only (no S/D/I split), per-pair loop.

The fastest of ``--repeats`` interleaved runs is kept (the machine may be shared). It checks that the error totals agree with editdistance on every pair, prints a Markdown table
and writes JSON. Quote the ratios, not the absolute times.

    OMP_NUM_THREADS=1 python bench/wer_speed.py --pairs 100000 --words 20
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from typing import List, Tuple

import click

os.environ.setdefault("OMP_NUM_THREADS", "1")

import editdistance  # noqa: E402
import numpy as np  # noqa: E402

from speechtools.fileio import atomic_write  # noqa: E402
from speechtools.scoring.edit_distance import kaldi_edit_counts_python  # noqa: E402
from speechtools.scoring.wer import score_corpus  # noqa: E402


def make_pairs(n: int, words: int, seed: int) -> Tuple[List[List[str]], List[List[str]]]:
    """Reference/hypothesis token lists with ~10% sub, 5% del, 5% ins."""
    rng = random.Random(seed)
    vocab = [f"w{k}" for k in range(5000)]
    refs, hyps = [], []
    for _ in range(n):
        ref = [rng.choice(vocab) for _ in range(words)]
        hyp: List[str] = []
        for w in ref:
            x = rng.random()
            if x < 0.10:
                hyp.append(rng.choice(vocab))
            elif x < 0.15:
                continue
            else:
                hyp.append(w)
            if rng.random() < 0.05:
                hyp.append(rng.choice(vocab))
        refs.append(ref)
        hyps.append(hyp)
    return refs, hyps


@click.command()
@click.option("--pairs", type=int, default=100000, show_default=True, help="Number of utterance pairs.")
@click.option("--words", type=int, default=20, show_default=True, help="Reference words per utterance.")
@click.option("--python-subset", type=int, default=5000, show_default=True,
              help="Pairs timed with the plain-Python DP (its per-pair time is extrapolated to --pairs).")
@click.option("--repeats", type=int, default=3, show_default=True, help="Timed runs (interleaved); the fastest counts.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", default="bench/results/wer_speed.json", show_default=True, help="JSON result.")
def main(pairs: int, words: int, python_subset: int, repeats: int, seed: int, out: str) -> None:
    """Time WER scoring of PAIRS utterance pairs three ways and print a table."""
    refs, hyps = make_pairs(pairs, words, seed)
    ids = [f"utt{k:07d}" for k in range(pairs)]
    ref_map, hyp_map = dict(zip(ids, refs)), dict(zip(ids, hyps))

    t_ours = t_ed = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = score_corpus(ref_map, hyp_map)
        t_ours = min(t_ours, time.perf_counter() - start)
        start = time.perf_counter()
        totals = [editdistance.eval(r, h) for r, h in zip(refs, hyps)]
        t_ed = min(t_ed, time.perf_counter() - start)
    ours_totals = result.utt_counts[:, 1:].sum(axis=1)
    if not np.array_equal(ours_totals, np.asarray(totals)):
        raise SystemExit("error totals disagree with editdistance")

    subset = min(python_subset, pairs)
    start = time.perf_counter()
    py_counts = [kaldi_edit_counts_python(r, h) for r, h in zip(refs[:subset], hyps[:subset])]
    t_py_subset = time.perf_counter() - start
    if [c[1:] for c in py_counts] != [tuple(x) for x in result.utt_counts[:subset, 1:].tolist()]:
        raise SystemExit("S/D/I split disagrees with the plain-Python Kaldi port")
    t_py = t_py_subset * pairs / subset

    rows = [
        ("speechtools (numpy batched, S/D/I)", t_ours, "measured"),
        ("plain-Python Kaldi DP (S/D/I)", t_py, f"extrapolated from {subset} pairs"),
        ("editdistance C++ (total only)", t_ed, "measured"),
    ]
    click.echo(f"{pairs} pairs x {words} ref words, one core; {result.kaldi_lines()[0]}")
    click.echo("| method | seconds | pairs/s | time vs speechtools | note |")
    click.echo("|---|---:|---:|---:|---|")
    for name, sec, note in rows:
        click.echo(f"| {name} | {sec:.2f} | {pairs / sec:,.0f} | {sec / t_ours:.2f}x | {note} |")
    record = {
        "pairs": pairs,
        "words": words,
        "seed": seed,
        "repeats": repeats,
        "python_subset": subset,
        "seconds": {"speechtools": t_ours, "python_dp": t_py, "editdistance_total_only": t_ed},
        "speedup_vs_python_dp": t_py / t_ours,
        "kaldi_line": result.kaldi_lines()[0],
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    with atomic_write(out) as handle:
        json.dump(record, handle, indent=2)
        handle.write("\n")


if __name__ == "__main__":
    main()
    sys.exit(0)
