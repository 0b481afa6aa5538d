"""Windows with the reference lengths: 1,000 notes, step 250, random bar offset in [0, 256)."""

from __future__ import annotations

import numpy as np

from speechtools.music import vocab as V
from speechtools.music.windowing import first_window, pretrain_windows, to_model_sequence, to_pair_sequence


def _song(n_notes: int, notes_per_bar: int = 4) -> np.ndarray:
    """Note i has pitch i % 128 and velocity i // 128, so a window's rows name their note index."""
    i = np.arange(n_notes)
    return np.stack([i // notes_per_bar, (i % notes_per_bar) * 4, np.zeros(n_notes), i % 128, np.full(n_notes, 8), i // 128, np.full(n_notes, 9), np.full(n_notes, 35)], axis=1).astype(np.int64)


def _index(rows: np.ndarray) -> np.ndarray:
    return rows[:, V.VELOCITY] * 128 + rows[:, V.PITCH]


def test_pretrain_windows_lengths_step_and_bar_range():
    song = _song(2600, notes_per_bar=16)  # 163 bars: every window fits in 256 bars
    windows = pretrain_windows(song, np.random.default_rng(0))
    starts = []
    for w in windows:
        idx = _index(w)
        assert (np.diff(idx) == 1).all()  # a contiguous slice of the song
        assert len(w) == min(1000, len(song) - idx[0]) or idx[0] == 0
        offset = w[0, V.BAR] - song[idx[0], V.BAR]
        assert (w[:, V.BAR] == song[idx, V.BAR] + offset).all()  # one bar offset per window
        assert w[:, V.BAR].min() >= 0 and w[:, V.BAR].max() < 256
        starts.append(int(idx[0]))
    later = [x for x in starts if x > 0]
    assert starts[0] == 0 and 0 < later[0] <= 250  # the first window starts a random 0..999 notes early
    assert all(b - a == 250 for a, b in zip(later, later[1:]))  # step 250
    assert sum(len(w) for w in windows) / len(song) > 3.0  # overlap rate 4


def test_pretrain_windows_cut_at_bar_256():
    song = _song(1000, notes_per_bar=1)  # 1000 bars: a window cannot fit, it is cut at bar 256
    for w in pretrain_windows(song, np.random.default_rng(1)):
        assert w[:, V.BAR].max() < 256 and len(w) <= 256


def test_first_window_rebases_and_frames():
    song = _song(1500)
    song[:, V.BAR] += 7
    w = first_window(song)
    assert len(w) == 1000  # 250 bars of 4 notes
    assert w[0, V.BAR] == 0 and w[:, V.BAR].max() < 256
    seq = to_model_sequence(w)
    assert seq.shape == (len(w) + 2, 8)
    assert (seq[0] == V.BOS_ID).all() and (seq[-1] == V.EOS_ID).all()
    assert (seq[1:-1] == V.octuples_to_ids(w)).all()
    pair = to_pair_sequence(w[:3], w[3:5])
    assert pair.shape == (3 + 2 + 3, 8) and (pair[4] == V.EOS_ID).all() and (pair[-1] == V.EOS_ID).all()
