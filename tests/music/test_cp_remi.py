"""CP-like and REMI-like adaptors (MusicBERT ablation) on a hand-worked example."""

from __future__ import annotations

import numpy as np

from speechtools.music.cp import EMPTY_SLOT, cp_length, octuple_to_cp
from speechtools.music.remi import octuple_to_remi, remi_length

# bar pos prog pitch dur vel ts tempo
ENC = np.array(
    [
        [0, 0, 0, 60, 16, 25, 9, 35],
        [0, 0, 0, 64, 16, 25, 9, 35],  # same bar, position, program: note row only
        [0, 0, 33, 40, 8, 20, 9, 35],  # program change: instrument + note
        [0, 8, 0, 62, 4, 20, 9, 30],  # new position resets the program: position + instrument + note
        [1, 0, 0, 67, 2, 20, 8, 30],  # new bar: bar + position + instrument + note
    ]
)
_ = EMPTY_SLOT


def test_cp_rows_hand_worked():
    expected = [
        [0, _, _, _, _, _, 9, _],
        [_, 0, _, _, _, _, _, 35],
        [_, _, 0, _, _, _, _, _],
        [_, _, _, 60, 16, 25, _, _],
        [_, _, _, 64, 16, 25, _, _],
        [_, _, 33, _, _, _, _, _],
        [_, _, _, 40, 8, 20, _, _],
        [_, 8, _, _, _, _, _, 30],
        [_, _, 0, _, _, _, _, _],
        [_, _, _, 62, 4, 20, _, _],
        [1, _, _, _, _, _, 8, _],
        [_, 0, _, _, _, _, _, 30],
        [_, _, 0, _, _, _, _, _],
        [_, _, _, 67, 2, 20, _, _],
    ]
    assert octuple_to_cp(ENC).tolist() == expected
    assert cp_length(ENC) == 14


def test_remi_tokens_hand_worked():
    tokens = octuple_to_remi(ENC)
    assert tokens[:7] == [(0, 0), (6, 9), (1, 0), (7, 35), (2, 0), (3, 60), (4, 16)]
    # 2 bars x 2 + 3 positions x 2 + 4 instrument rows + 5 notes x 3
    assert len(tokens) == remi_length(ENC) == 4 + 6 + 4 + 15


def test_empty_sequence():
    empty = np.zeros((0, 8), dtype=np.int64)
    assert octuple_to_cp(empty).shape == (0, 8)
    assert cp_length(empty) == 0 and remi_length(empty) == 0
