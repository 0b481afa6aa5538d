"""Objective melody metrics of SongMASS (Sheng et al. 2021, Sec. 4.2; muzic ``songmass/evaluate``).

Melodies are lines of the reference's tokens (``<pitch> <duration>`` pairs, pitch 128 = rest,
duration token ``129 + i`` = ``(i + 1) / 4`` beats; ``[align]``/``[sep]`` ignored). Per song:

* **PD** pitch-distribution similarity: ``sum_k min(p_k, q_k)`` over the 129-bin pitch histograms
  (rests included) of hypothesis and reference, normalised to sum 1 (``evaluate_histo.py``);
* **DD** the same over the 132 duration tokens;
* **MD** melody distance: each melody on a 1/4-beat grid (a rest repeats the previous pitch;
  leading rests dropped), every second sample kept (1/2 beat), mean-centred; the DTW distance
  (absolute difference, steps (1,0), (0,1), (1,1) of weight 1, as the ``dtw`` package's
  ``accelerated_dtw`` that ``evaluate_timeseries.py`` calls) divided by the hypothesis length.

PD and DD are averaged over songs, MD over songs where both melodies are non-empty.
A hypothesis is cut to the reference's number of ``[sep]`` sentences (``cut_exceed_sent``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

REST = 128
N_PITCH_BINS = 129
DURATION_BASE = 129
N_DURATION_BINS = 132
SEP = "[sep]"

Pair = Tuple[int, int]


def melody_pairs(tokens: Sequence[str], max_sentences: int = 0) -> List[Pair]:
    """``(pitch, duration token)`` pairs of a token sequence: a pitch (<= 128) directly followed by a
    duration (> 128) in the same sentence; other tokens are dropped first (``get_pitch_duration_sequence``). With
    ``max_sentences`` only the first that many ``[sep]`` sentences count."""
    pairs: List[Pair] = []
    values: List[int] = []
    sentences = 0
    for token in tokens:
        if token == SEP:
            sentences += 1
            if max_sentences and sentences >= max_sentences:
                break
            values.append(-1)  # a sentence end separates pairs
        elif token.isdigit():
            values.append(int(token))
    i = 0
    while i + 1 < len(values):
        if 0 <= values[i] <= REST and DURATION_BASE <= values[i + 1] < DURATION_BASE + N_DURATION_BINS:
            pairs.append((values[i], values[i + 1]))
            i += 2
        else:
            i += 1
    return pairs


def histogram(values: Sequence[int], bins: int, offset: int = 0) -> np.ndarray:
    """Normalised histogram (all zeros for no values, as the reference's ``x_sum = 1``)."""
    counts = np.bincount(np.asarray(values, dtype=np.int64) - offset, minlength=bins).astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def overlap(p: np.ndarray, q: np.ndarray) -> float:
    """``sum_k min(p_k, q_k)``: the histogram overlap of PD and DD."""
    return float(np.minimum(p, q).sum())


def time_series(pairs: Sequence[Pair]) -> np.ndarray:
    """Pitch every 1/4 beat (rests repeat the previous pitch, leading rests dropped), then every second sample."""
    samples: List[int] = []
    for pitch, token in pairs:
        steps = token - DURATION_BASE + 1
        if pitch == REST:
            if samples:
                samples += [samples[-1]] * steps
        else:
            samples += [pitch] * steps
    return np.asarray(samples[: len(samples) // 2 * 2:2], dtype=np.float64)


def dtw_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Cumulative ``|x_i - y_j|`` of the best monotonic warping path (unit-weight steps), by anti-diagonals."""
    n, m = len(x), len(y)
    cost = np.abs(np.asarray(x, dtype=np.float64)[:, None] - np.asarray(y, dtype=np.float64)[None, :])
    total = np.full((n + 1, m + 1), np.inf)
    total[0, 0] = 0.0
    for d in range(2, n + m + 1):
        i = np.arange(max(1, d - m), min(n, d - 1) + 1)
        j = d - i
        total[i, j] = cost[i - 1, j - 1] + np.minimum(np.minimum(total[i - 1, j], total[i, j - 1]), total[i - 1, j - 1])
    return float(total[n, m])


def melody_distance(ref: Sequence[Pair], hyp: Sequence[Pair]) -> float:
    """MD of one song (``nan`` when either melody is empty)."""
    a, b = time_series(ref), time_series(hyp)
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return dtw_distance(a - a.mean(), b - b.mean()) / len(b)


@dataclass
class MelodyScores:
    """Corpus PD, DD, MD (means) and the per-song values."""

    pd: float
    dd: float
    md: float
    songs: int
    per_song: List[Tuple[float, float, float]]

    @classmethod
    def of_songs(cls, per_song: Sequence[Tuple[float, float, float]]) -> "MelodyScores":
        """The corpus figures of per-song ``(PD, DD, MD)``: PD and DD averaged over songs, MD over songs that have one
        (NaN where no note was generated); NaN for an empty list."""
        values = np.asarray(per_song, dtype=np.float64).reshape(-1, 3)
        md = values[:, 2][~np.isnan(values[:, 2])]
        return cls(float(values[:, 0].mean()) if len(values) else float("nan"), float(values[:, 1].mean()) if len(values) else float("nan"),
                   float(md.mean()) if len(md) else float("nan"), len(values), list(per_song))

    def report(self) -> Dict[str, object]:
        """The ``score melody --json`` report: the corpus figures (also as ``summary``, the form ``score compare``
        reads) and each song's values under ``utterances`` (``song_00001`` = line 1), the form ``score paired``
        bootstraps. MD's corpus figure leaves out songs without an MD (no note generated), as their value does."""
        from speechtools.scoring.judges.metrics import MELODY_DD, MELODY_MD, MELODY_PD  # judges.base imports torch: only here

        keys = (MELODY_PD.key, MELODY_DD.key, MELODY_MD.key)
        summary = {key: {"value": value, "statistic": "mean"} for key, value in zip(keys, (self.pd, self.dd, self.md))}
        utterances = {f"song_{k:05d}": dict(zip(keys, values)) for k, values in enumerate(self.per_song, start=1)}
        return {"songs": self.songs, "pd": self.pd, "dd": self.dd, "md": self.md, "summary": summary, "utterances": utterances}


def score_melodies(refs: Sequence[Sequence[str]], hyps: Sequence[Sequence[str]]) -> MelodyScores:
    """PD, DD and MD of hypothesis melodies against references (token lists, one per song)."""
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} reference songs but {len(hyps)} hypotheses")
    per_song = []
    for ref_tokens, hyp_tokens in zip(refs, hyps):
        ref = melody_pairs(ref_tokens)
        hyp = melody_pairs(hyp_tokens, max_sentences=list(ref_tokens).count(SEP))
        pd = overlap(histogram([p for p, _ in hyp], N_PITCH_BINS), histogram([p for p, _ in ref], N_PITCH_BINS))
        dd = overlap(histogram([d for _, d in hyp], N_DURATION_BINS, DURATION_BASE), histogram([d for _, d in ref], N_DURATION_BINS, DURATION_BASE))
        per_song.append((pd, dd, melody_distance(ref, hyp)))
    return MelodyScores.of_songs(per_song)
