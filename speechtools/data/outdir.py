"""Write a whole output directory atomically: build it in a temporary sibling, then swap it in.

A reader never sees a half-written data directory or split: either the old one or the new one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

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


@contextlib.contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """Yield an empty temporary directory next to ``path``; it replaces ``path`` on success.

    On an exception the temporary directory is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    old = None
    try:
        yield tmp
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.rmdir(old)
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
        if old is not None and old.exists():
            shutil.rmtree(old)
