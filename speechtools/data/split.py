"""Split a data directory into N parts for ``--nj`` jobs, like Kaldi's ``utils/split_data.sh``:
``DIR/split{N}/{1..N}/``, each a complete data directory.

By utterance, part sizes differ by at most one (the first parts are larger). By speaker
(``--per-spk``), each speaker's utterances stay in one part and the cut points are chosen so the
cumulative utterance count is as close as possible to ``k*U/N``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np

from speechtools.data.kaldi import DataDir
from speechtools.fileio import atomic_dir
from speechtools.errors import PathLike, UserError


def split_evenly(items: List[str], n: int) -> List[List[str]]:
    """Contiguous parts whose sizes differ by at most one (first ``len % n`` parts one longer)."""
    size, extra = divmod(len(items), n)
    bounds = np.cumsum([0] + [size + (1 if i < extra else 0) for i in range(n)])
    return [items[bounds[i] : bounds[i + 1]] for i in range(n)]


def split_by_speaker(counts: List[int], n: int) -> List[int]:
    """Cut points (speaker indices, length ``n+1``) for contiguous groups with balanced counts.

    Cut ``k`` is the speaker boundary whose cumulative count is nearest ``k*U/n``, while leaving
    at least one speaker for each remaining part.
    """
    cum = np.concatenate([[0], np.cumsum(counts)])
    total = cum[-1]
    cuts = [0]
    n_spk = len(counts)
    for k in range(1, n):
        lo, hi = cuts[-1] + 1, n_spk - (n - k)
        candidates = np.arange(lo, hi + 1)
        best = candidates[np.argmin(np.abs(cum[candidates] - k * total / n))]
        cuts.append(int(best))
    cuts.append(n_spk)
    return cuts


def split_data_dir(path: PathLike, n: int, per_spk: bool = False) -> Path:
    """Write ``path/split{n}/{1..n}/`` (replacing an older split atomically); return its folder.

    Raises:
        UserError: ``n`` < 1, more parts than utterances (or speakers), or ``--per-spk`` without utt2spk.
    """
    root = Path(path)
    if n < 1:
        raise UserError(f"number of parts must be >= 1, got {n}")
    data = DataDir.load(root)
    utts = data.utt_ids()
    if per_spk:
        if data.utt2spk is None:
            raise UserError("--per-spk needs utt2spk", root / "utt2spk")
        speakers = data.speakers()
        if n > len(speakers):
            raise UserError(f"cannot split {len(speakers)} speakers into {n} parts", root / "utt2spk")
        by_spk: Dict[str, List[str]] = {s: [] for s in speakers}
        for u in utts:
            by_spk[data.utt2spk[u]].append(u)
        cuts = split_by_speaker([len(by_spk[s]) for s in speakers], n)
        parts = [[u for s in speakers[cuts[i] : cuts[i + 1]] for u in by_spk[s]] for i in range(n)]
    else:
        if n > len(utts):
            raise UserError(f"cannot split {len(utts)} utterances into {n} parts", root)
        parts = split_evenly(utts, n)
    out = root / f"split{n}"
    with atomic_dir(out) as tmp:
        for i, part in enumerate(parts, start=1):
            data.select(part).save(tmp / str(i))
    return out
