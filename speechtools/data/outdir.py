"""Which existing folders a data command may replace (the writing itself is :func:`speechtools.fileio.atomic_dir`).

A reader never sees a half-written data directory or split: either the old one or the new one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from speechtools.data.kaldi import DATA_FILES
from speechtools.errors import PathLike, UserError


def check_replaceable(path: PathLike, allowed: Iterable[str] = DATA_FILES) -> None:
    """Refuse to replace an existing directory that holds anything but ``allowed`` names.

    Protects users from ``data subset SRC some/important/dir``: only a data directory (its
    Kaldi files, ``split*`` folders and the ``.backup`` of ``data fix``) may be overwritten.
    """
    root = Path(path)
    if not root.exists():
        return
    if not root.is_dir():
        raise UserError("output exists and is not a directory", root)
    names = set(allowed)
    others = sorted(
        p.name for p in root.iterdir() if p.name not in names and not p.name.startswith("split") and p.name != ".backup"
    )
    if others:
        shown = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
        raise UserError(f"output directory holds other files ({shown}); remove it or choose another", root)
