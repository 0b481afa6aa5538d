"""REMI-like token sequence derived from OctupleMIDI (MusicBERT's ablation adaptor).

The reference (muzic ``musicbert/__init__.py``, ``convert_encoding=REMI``) flattens the CP
rows of :func:`speechtools.music.cp.octuple_to_cp` into their non-empty elements: a bar
change costs 2 tokens (bar, time signature), a position change 2 (position, tempo), an
instrument change 1 and each note 3 (pitch, duration, velocity).
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from speechtools.music.cp import EMPTY_SLOT, octuple_to_cp, row_flags


def octuple_to_remi(encoding: np.ndarray) -> List[Tuple[int, int]]:
    """OctupleMIDI (N, 8) → REMI-like tokens as (field, value) pairs in sequence order."""
    rows = octuple_to_cp(encoding)
    r, f = np.nonzero(rows != EMPTY_SLOT)
    return [(int(j), int(rows[i, j])) for i, j in zip(r, f)]


def remi_length(encoding: np.ndarray) -> int:
    """Number of REMI-like tokens: 2 per bar row, 2 per position row, 1 per instrument row, 3 per note."""
    e = np.asarray(encoding).reshape(-1, 8)
    flags = row_flags(e)
    return int(2 * flags[:, 0].sum() + 2 * flags[:, 1].sum() + flags[:, 2].sum() + 3 * len(e))
