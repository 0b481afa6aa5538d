"""Objective TTS metrics against held-out recordings: MCD with DTW and log-F0 RMSE.

* Mel-cepstrum: ``c_n = (1/M) Σ_k ln S_k cos(π n (k + ½) / M)`` of the natural-log mel amplitude
  spectrum ``S`` (``M`` bands, the features of :mod:`speechtools.audio.features`), ``n = 1..order``
  (``c_0``, the loudness, is left out as usual).
* Mel cepstral distortion (Kubichek, 1993): ``MCD = (10 / ln 10) · sqrt(2 Σ_n (c_n − ĉ_n)²)`` dB
  per frame pair, averaged over the dynamic-time-warping path between reference and synthesis
  (ESPnet2 ``evaluate_mcd.py`` also aligns with DTW; its WORLD mel-cepstra differ from these
  mel-filterbank cepstra, so absolute values are not interchangeable).
* log-F0 RMSE: ``sqrt(mean (ln f0 − ln f̂0)²)`` over the frames of the same DTW path voiced in
  both signals (Praat F0), as ESPnet2's ``evaluate_f0.py``.

DTW (Sakoe & Chiba, 1978; symmetric steps (1,0), (0,1), (1,1)) is vectorised over each row:
the left-neighbour recursion ``D[i, j] = min(m[i, j], D[i, j−1] + c[i, j])`` is solved with a
prefix sum and a running minimum instead of a loop over ``j``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

DB_FACTOR = 10.0 / math.log(10.0) * math.sqrt(2.0)


def mel_cepstrum(log_mel: np.ndarray, order: int = 24) -> np.ndarray:
    """Cepstral coefficients ``1..order`` of natural-log mel frames ``(frames, M)`` → ``(frames, order)``."""
    m = log_mel.shape[1]
    n = np.arange(1, order + 1)[:, None]
    k = np.arange(m)[None, :]
    basis = np.cos(np.pi * n * (k + 0.5) / m) / m
    return log_mel.astype(np.float64) @ basis.T


def dtw_path(cost: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Minimum-cost monotonic path through ``cost`` ``(N, M)`` from (0, 0) to (N−1, M−1).

    Returns index arrays ``(i, j)`` of equal length.
    """
    n, m = cost.shape
    acc = np.empty((n, m))
    acc[0] = np.cumsum(cost[0])
    for i in range(1, n):
        prev = acc[i - 1]
        via = np.minimum(prev, np.concatenate([[np.inf], prev[:-1]])) + cost[i]
        prefix = np.cumsum(cost[i])
        # acc[i, j] = min_{k <= j} (via[k] + prefix[j] - prefix[k])
        acc[i] = prefix + np.minimum.accumulate(via - prefix)
    i, j = n - 1, m - 1
    path_i, path_j = [i], [j]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            options = (acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
            step = int(np.argmin(options))
            if step == 0:
                i, j = i - 1, j - 1
            elif step == 1:
                i -= 1
            else:
                j -= 1
        path_i.append(i)
        path_j.append(j)
    return np.asarray(path_i[::-1]), np.asarray(path_j[::-1])


@dataclass
class UtteranceScores:
    """MCD (dB) and log-F0 RMSE of one utterance, and the number of frames each used."""

    mcd: float
    log_f0_rmse: float
    path_frames: int
    voiced_frames: int


def mcd_dtw(ref_log_mel: np.ndarray, hyp_log_mel: np.ndarray, order: int = 24) -> Tuple[float, np.ndarray, np.ndarray]:
    """MCD (dB) averaged over the DTW path of the mel-cepstra, and the path ``(i, j)``."""
    ref_c, hyp_c = mel_cepstrum(ref_log_mel, order), mel_cepstrum(hyp_log_mel, order)
    diff_sq = (ref_c ** 2).sum(1)[:, None] + (hyp_c ** 2).sum(1)[None, :] - 2 * ref_c @ hyp_c.T
    cost = np.sqrt(np.maximum(diff_sq, 0.0))
    pi, pj = dtw_path(cost)
    return float(DB_FACTOR * cost[pi, pj].mean()), pi, pj


def score_pair(
    ref_log_mel: np.ndarray, hyp_log_mel: np.ndarray, ref_f0: np.ndarray, hyp_f0: np.ndarray, order: int = 24
) -> UtteranceScores:
    """MCD on the DTW path of the mel-cepstra, and log-F0 RMSE on its frames voiced in both (F0 > 0)."""
    mcd, pi, pj = mcd_dtw(ref_log_mel, hyp_log_mel, order)
    fi = np.minimum(pi, len(ref_f0) - 1)
    fj = np.minimum(pj, len(hyp_f0) - 1)
    a, b = ref_f0[fi], hyp_f0[fj]
    voiced = (a > 0) & (b > 0)
    rmse = float(np.sqrt(np.mean((np.log(a[voiced]) - np.log(b[voiced])) ** 2))) if voiced.any() else float("nan")
    return UtteranceScores(mcd, rmse, int(len(pi)), int(voiced.sum()))


def summarise(scores: List[UtteranceScores]) -> Tuple[float, float]:
    """Mean MCD over utterances and log-F0 RMSE pooled over all voiced path frames."""
    mcd = float(np.mean([s.mcd for s in scores])) if scores else float("nan")
    voiced = [s for s in scores if s.voiced_frames > 0]
    if not voiced:
        return mcd, float("nan")
    total = sum(s.voiced_frames for s in voiced)
    pooled = math.sqrt(sum(s.log_f0_rmse ** 2 * s.voiced_frames for s in voiced) / total)
    return mcd, pooled
