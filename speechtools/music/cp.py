"""CP-like compound encoding derived from OctupleMIDI (MusicBERT's ablation adaptor).

MusicBERT (Zeng et al. 2021, Table 1 and Sec. 4.3) compares OctupleMIDI with CP
(Hsiao et al. 2021) and REMI (Huang & Yang 2020). Its released code converts an octuple
sequence with an adaptor (``OctupleTokenDataset.adaptor`` in muzic ``musicbert/__init__.py``)
that emits, in order: a *bar* row (bar, time signature) whenever the bar changes, a
*position* row (position, tempo) whenever the position changes, an *instrument* row when the
program changes (reset at each new position), and one *note* row (pitch, duration,
velocity) per note. A CP sequence is these rows (one compound token each, the other seven
slots empty); REMI (:mod:`speechtools.music.remi`) is the non-empty elements in row order.
"""

from __future__ import annotations

import numpy as np

from speechtools.music import vocab as V

EMPTY_SLOT = -1
"""Value of an unused slot in a CP row (the reference fills it with ``<unk>``)."""


def row_flags(encoding: np.ndarray) -> np.ndarray:
    """(N, 3) booleans: does note i open a new bar / position / instrument row."""
    e = np.asarray(encoding, dtype=np.int64).reshape(-1, 8)
    first = np.zeros(len(e), dtype=bool)
    if len(e):
        first[0] = True
    new_bar = first.copy()
    new_bar[1:] |= e[1:, V.BAR] != e[:-1, V.BAR]
    new_pos = new_bar.copy()
    new_pos[1:] |= e[1:, V.POSITION] != e[:-1, V.POSITION]
    new_prog = new_pos.copy()
    new_prog[1:] |= e[1:, V.PROGRAM] != e[:-1, V.PROGRAM]
    return np.stack([new_bar, new_pos, new_prog], axis=1)


def octuple_to_cp(encoding: np.ndarray) -> np.ndarray:
    """OctupleMIDI (N, 8) → CP rows (R, 8); unused slots hold :data:`EMPTY_SLOT`.

    Row kinds: (bar, ts), (position, tempo), (program), (pitch, duration, velocity), in
    the field columns they come from, exactly as the reference adaptor.
    """
    e = np.asarray(encoding, dtype=np.int64).reshape(-1, 8)
    flags = row_flags(e)
    per_note = flags.sum(axis=1) + 1
    ends = np.cumsum(per_note)
    starts = ends - per_note
    rows = np.full((int(ends[-1]) if len(e) else 0, 8), EMPTY_SLOT, dtype=np.int64)
    cursor = starts.copy()
    kinds = [((V.BAR, V.TIME_SIG), flags[:, 0]), ((V.POSITION, V.TEMPO), flags[:, 1]), ((V.PROGRAM,), flags[:, 2])]
    for fields, flag in kinds:
        idx = np.nonzero(flag)[0]
        for f in fields:
            rows[cursor[idx], f] = e[idx, f]
        cursor[idx] += 1
    for f in (V.PITCH, V.DURATION, V.VELOCITY):
        rows[cursor, f] = e[:, f]
    return rows


def cp_length(encoding: np.ndarray) -> int:
    """Number of CP compound tokens (rows) for an octuple sequence."""
    e = np.asarray(encoding).reshape(-1, 8)
    return int(row_flags(e).sum() + len(e))
