"""Feature-store shape files: ``<name>_shape`` with one ``uttid T,D`` line per utterance.

A feature store is ``dump/<set>/<name>/<uttid>.npy`` plus ``<name>.scp`` (``uttid path``) and
``<name>_shape`` (``uttid T,D``: frames, then feature dimension). The data-dir validator uses
the frame count ``T`` to check that token durations sum to the number of frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

from speechtools.errors import PathLike, UserError
from speechtools.data.kaldi import read_records

Shape = Tuple[int, ...]


def read_shapes(path: PathLike) -> Dict[str, Tuple[int, Shape]]:
    """Read a ``<name>_shape`` file into ``{uttid: (line, (T, D, ...))}``.

    Raises:
        UserError: a line that is not ``uttid T,D`` with positive integers, naming the line.
    """
    out: Dict[str, Tuple[int, Shape]] = {}
    for record in read_records(path):
        try:
            dims = tuple(int(v) for v in record.value.split(","))
        except ValueError:
            raise UserError(f"expected 'uttid T,D' with integers, got {record.value!r}", path, record.line) from None
        if not dims or any(d < 0 for d in dims):
            raise UserError(f"shape must be non-negative integers, got {record.value!r}", path, record.line)
        out[record.key] = (record.line, dims)
    return out


def find_shape_file(feats: PathLike) -> Path:
    """Resolve ``--feats``: a ``*_shape`` file, or a feature-store directory holding one.

    In a directory, ``mel_shape`` is preferred; otherwise there must be exactly one ``*_shape``.
    """
    path = Path(feats)
    if path.is_file():
        return path
    if not path.is_dir():
        raise UserError("feature store not found (expected a directory or a <name>_shape file)", path)
    if (path / "mel_shape").is_file():
        return path / "mel_shape"
    candidates: List[Path] = sorted(p for p in path.glob("*_shape") if p.is_file())
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise UserError("no <name>_shape file in feature store", path)
    names = ", ".join(p.name for p in candidates)
    raise UserError(f"several shape files ({names}); pass the one to check, e.g. {candidates[0]}", path)
