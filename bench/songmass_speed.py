"""SongMASS hot paths on CPU: the DP syllable alignment, the MD's DTW, and lyric-to-melody generation.

* ``align_syllables`` (vectorised over syllables, one NumPy step per note) against a plain-Python
  double loop of the same recursion (checked equal on every case);
* ``dtw_distance`` (anti-diagonals) against a plain-Python double loop (checked equal);
* generation of one 4-sentence, 32-syllable song (beam 5) with untrained tiny and paper-size models
  built through the construction rule (``FixedSizes``): the cost of the search, not of a trained model.

    OMP_NUM_THREADS=1 python bench/songmass_speed.py [--quick] [--json OUT]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List

import click
import numpy as np
import torch

from speechtools.fileio import atomic_write
from speechtools.models import MODELS
from speechtools.models.task_info import FixedSizes
from speechtools.music.lyric_melody import Song, Syllable
from speechtools.music.song_vocab import SongVocab, lyric_vocab, melody_vocab
from speechtools.music.syllable_alignment import align_syllables
from speechtools.scoring.melody_metrics import dtw_distance
from speechtools.songwriter.generate import generate_melody

sys.path.insert(0, str(Path(__file__).resolve().parent))
from octuple_speed import best_time  # noqa: E402  (the benchmarks' one timer)


def loop_align(scores: np.ndarray) -> float:
    """The DP recursion in plain Python (best total only)."""
    n_notes, n_syl = scores.shape
    total = [[-np.inf] * n_syl for _ in range(n_notes)]
    total[0][0] = scores[0, 0]
    for n in range(1, n_notes):
        for s in range(n_syl):
            best = max(total[n - 1][s], total[n - 1][s - 1] if s else -np.inf)
            total[n][s] = scores[n, s] + best
    return total[-1][-1]


def loop_dtw(x: np.ndarray, y: np.ndarray) -> float:
    total = np.full((len(x) + 1, len(y) + 1), np.inf)
    total[0, 0] = 0.0
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            total[i, j] = abs(x[i - 1] - y[j - 1]) + min(total[i - 1, j], total[i, j - 1], total[i - 1, j - 1])
    return float(total[-1, -1])


@click.command()
@click.option("--quick", is_flag=True, help="Smaller sizes, fewer repeats.")
@click.option("--json", "json_out", default=None, help="Write the table as JSON.")
def main(quick: bool, json_out: str) -> None:
    torch.set_num_threads(1)
    repeats = 2 if quick else 5
    rng = np.random.default_rng(0)
    rows: List[Dict[str, object]] = []
    for n_notes, n_syl in ([(40, 30), (200, 150)] if quick else [(40, 30), (200, 150), (800, 600)]):
        scores = rng.random((n_notes, n_syl))
        found = align_syllables(scores)
        assert abs(scores[np.arange(n_notes), found].sum() - loop_align(scores)) < 1e-9
        fast, slow = best_time(lambda: align_syllables(scores), repeats), best_time(lambda: loop_align(scores), repeats)
        rows.append({"what": f"DP alignment {n_notes} notes x {n_syl} syllables", "speechtools_ms": 1e3 * fast, "loop_ms": 1e3 * slow,
                     "speedup": slow / fast})
    for length in ([100, 400] if quick else [100, 400, 1000]):
        x, y = rng.normal(size=length), rng.normal(size=length)
        assert abs(dtw_distance(x, y) - loop_dtw(x, y)) < 1e-6
        fast, slow = best_time(lambda: dtw_distance(x, y), repeats), best_time(lambda: loop_dtw(x, y), max(1, repeats // 2))
        rows.append({"what": f"DTW {length} x {length} samples", "speechtools_ms": 1e3 * fast, "loop_ms": 1e3 * slow, "speedup": slow / fast})
    lyrics = Song("bench", [[[Syllable("la"), Syllable("li")] for _ in range(4)] for _ in range(4)])
    lyric = lyric_vocab([["la", "li"]])
    for size, conf in (("tiny", dict(d_model=128, n_heads=4, ffn_dim=256, encoder_layers=2, decoder_layers=2)), ("paper", {})):
        entry = MODELS.get("songmass")
        torch.manual_seed(0)
        model = MODELS.build("songmass", entry.config(**conf), FixedSizes(vocab_size=len(melody_vocab()))).eval()
        task = SimpleNamespace(lyric=SongVocab(lyric.tokens + [f"x{k}" for k in range(len(melody_vocab()) - len(lyric))]), melody=melody_vocab())
        loaded = SimpleNamespace(task=task, model=model, device=torch.device("cpu"))
        seconds = best_time(lambda: generate_melody(loaded, lyrics, beam=5), 1 if quick else 2)
        rows.append({"what": f"generate-melody, 32 syllables, beam 5, {size} model (untrained)", "speechtools_ms": 1e3 * seconds,
                     "loop_ms": None, "speedup": None})
    print("| what | speechtools (ms) | plain-Python loop (ms) | speed-up |")
    print("|---|---:|---:|---:|")
    for r in rows:
        loop = "" if r["loop_ms"] is None else f"{r['loop_ms']:.1f}"
        speedup = "" if r["speedup"] is None else f"{r['speedup']:.1f}x"
        print(f"| {r['what']} | {r['speechtools_ms']:.1f} | {loop} | {speedup} |")
    if json_out:
        with atomic_write(json_out) as handle:
            json.dump({"rows": rows, "threads": 1, "quick": quick}, handle, indent=1)


if __name__ == "__main__":
    main()
