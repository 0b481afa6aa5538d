"""Sequence windows of OctupleMIDI for MusicBERT, with the reference's lengths.

Pre-training (muzic ``preprocess.py``, function ``F``): windows of at most 1,000 notes with
step 250 (overlap rate 4), the first starting a random 0..999 notes before the song; each
window's bars are shifted by a random offset so they spread over [0, 256), and the window
is cut at the first note whose shifted bar would reach 256. Inference / fine-tuning
evaluation (muzic issue #58): the first 1,000 notes, no random offset; here the bars are
rebased so the window's first bar is 0 (the reference keeps absolute bars and drops notes
beyond bar 255, which empties windows that start late in a song).

A model sequence is ``<s>`` octuple + window + ``</s>`` octuple (dictionary ids, (L+2, 8)).
"""

from __future__ import annotations

from typing import List

import numpy as np

from speechtools.music import vocab as V

WINDOW_NOTES = 1000
WINDOW_STEP = 250


def pretrain_windows(encoding: np.ndarray, rng: np.random.Generator, length: int = WINDOW_NOTES, step: int = WINDOW_STEP) -> List[np.ndarray]:
    """Random-start, random-bar-offset windows of one song (field values, bars in [0, 256))."""
    e = np.asarray(encoding, dtype=np.int64).reshape(-1, 8)
    windows: List[np.ndarray] = []
    if len(e) == 0:
        return windows
    for p in range(-int(rng.integers(0, length)), len(e), step):
        lo, hi = max(p, 0), min(p + length, len(e))
        if hi <= lo:
            continue
        segment = e[lo:hi].copy()
        bar_min, bar_max = int(segment[:, V.BAR].min()), int(segment[:, V.BAR].max())
        low, high = -bar_min, V.BAR_MAX - 1 - bar_max
        offset = int(rng.integers(low, high + 1)) if low <= high else low
        segment[:, V.BAR] += offset
        overflow = np.nonzero(segment[:, V.BAR] >= V.BAR_MAX)[0]
        if len(overflow):
            segment = segment[: overflow[0]]
        if len(segment):
            windows.append(segment)
    return windows


def first_window(encoding: np.ndarray, length: int = WINDOW_NOTES) -> np.ndarray:
    """The first ``length`` notes, bars rebased to start at 0, notes from bar 256 on dropped."""
    segment = np.asarray(encoding, dtype=np.int64).reshape(-1, 8)[:length].copy()
    if len(segment):
        segment[:, V.BAR] -= segment[:, V.BAR].min()
        segment = segment[segment[:, V.BAR] < V.BAR_MAX]
    return segment


def rebase_bars(segment: np.ndarray, first_bar: int = 0) -> np.ndarray:
    """Shift bars so the segment's earliest bar becomes ``first_bar``."""
    out = np.asarray(segment, dtype=np.int64).reshape(-1, 8).copy()
    if len(out):
        out[:, V.BAR] += first_bar - out[:, V.BAR].min()
    return out


def to_model_sequence(window: np.ndarray) -> np.ndarray:
    """Field values (L, 8) → dictionary ids (L + 2, 8) framed by ``<s>`` and ``</s>`` octuples."""
    ids = V.octuples_to_ids(window)
    bos = np.full((1, 8), V.BOS_ID, dtype=np.int64)
    eos = np.full((1, 8), V.EOS_ID, dtype=np.int64)
    return np.concatenate([bos, ids, eos], axis=0)


def to_pair_sequence(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``<s>`` + first + ``</s>`` separator + second + ``</s>`` (the reference's sentence-pair input)."""
    sep = np.full((1, 8), V.EOS_ID, dtype=np.int64)
    return np.concatenate([to_model_sequence(first), V.octuples_to_ids(second), sep], axis=0)
