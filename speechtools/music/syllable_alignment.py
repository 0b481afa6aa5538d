"""Syllable-to-note alignment by dynamic programming (SongMASS, Sheng et al. 2021, Sec. 3.3, Algorithm 1).

Given an attention score ``A[n, s]`` of note ``n`` for syllable ``s`` (the decoder's cross-attention
of lyric-to-melody generation, summed over a note's tokens), find the assignment of notes to
syllables that is *monotonic* (notes of syllable ``s`` come before those of ``s + 1``), gives every
syllable **one or more consecutive notes**, and maximises ``sum_n A[n, a(n)]``. The recursion is

    D[0, 0] = A[0, 0];  D[n, s] = A[n, s] + max(D[n-1, s], D[n-1, s-1])

and the alignment is read back from ``D[N-1, S-1]``. The authors did not release their DP; this is
the recursion the constraints define (tested equal to brute force in ``tests/music``).
"""

from __future__ import annotations

import numpy as np


def align_syllables(scores: np.ndarray) -> np.ndarray:
    """Syllable index of each note, shape ``(N,)``, for ``scores`` ``(N notes, S syllables)`` with ``N >= S >= 1``.

    Ties are broken towards staying on the same syllable.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n_notes, n_syl = scores.shape
    if n_syl < 1 or n_notes < n_syl:
        raise ValueError(f"cannot give each of {n_syl} syllables at least one of {n_notes} notes")
    total = np.full((n_notes, n_syl), -np.inf)
    moved = np.zeros((n_notes, n_syl), dtype=bool)
    total[0, 0] = scores[0, 0]
    for n in range(1, n_notes):
        stay = total[n - 1]
        advance = np.concatenate([[-np.inf], total[n - 1, :-1]])
        moved[n] = advance > stay
        total[n] = scores[n] + np.maximum(stay, advance)
    out = np.empty(n_notes, dtype=np.int64)
    s = n_syl - 1
    for n in range(n_notes - 1, -1, -1):
        out[n] = s
        s -= int(moved[n, s])
    return out


def argmax_alignment(scores: np.ndarray) -> np.ndarray:
    """The baseline: each note goes to its highest-scoring syllable (may be non-monotonic or leave syllables out)."""
    return np.asarray(scores).argmax(axis=1)


def alignment_score(scores: np.ndarray, assignment: np.ndarray) -> float:
    """``sum_n scores[n, assignment[n]]``: the objective the DP maximises."""
    scores = np.asarray(scores)
    return float(scores[np.arange(len(assignment)), assignment].sum())


def alignment_accuracy(predicted: np.ndarray, reference: np.ndarray) -> float:
    """Share of notes assigned to their reference syllable."""
    predicted, reference = np.asarray(predicted), np.asarray(reference)
    if predicted.shape != reference.shape:
        raise ValueError(f"{predicted.shape} notes predicted, {reference.shape} in the reference")
    return float((predicted == reference).mean()) if len(reference) else 0.0
