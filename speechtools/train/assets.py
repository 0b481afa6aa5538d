"""The checksum manifest of a model directory's assets (``assets.sha256``).

When training ends, the trainer records the SHA-256 of every file the task exported
(``tokens.txt``, ``stats.npz``, ``feats.yaml``, ``speakers.txt``, ``classes.txt``...) in
``assets.sha256``, in the format of ``sha256sum`` (``sha256sum -c assets.sha256`` checks it by
hand). :func:`verify_assets` runs when a model directory is loaded: a missing asset, or one that
differs from what the model was trained with (a ``tokens.txt`` rebuilt from other text, a
truncated ``stats.npz``), is a one-line error naming the file, instead of a model silently
reading other symbols or statistics. Directories written before the manifest existed load unchecked.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, List

from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_write, read_lines

MANIFEST_NAME = "assets.sha256"


def sha256_file(path: PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(model_dir: PathLike, names: Iterable[str]) -> Path:
    """Record the SHA-256 of the files ``names`` of ``model_dir`` in ``assets.sha256``."""
    root = Path(model_dir)
    lines = [f"{sha256_file(root / name)}  {name}" for name in sorted(names)]
    with atomic_write(root / MANIFEST_NAME) as handle:
        handle.writelines(line + "\n" for line in lines)
    return root / MANIFEST_NAME


def verify_assets(model_dir: PathLike) -> List[str]:
    """Check every file listed in ``model_dir/assets.sha256``; return the names checked.

    Raises:
        UserError: a malformed manifest line, a missing asset, or an asset whose checksum differs
            (naming the asset: "differs from the file the model was trained with").
    """
    root = Path(model_dir)
    manifest = root / MANIFEST_NAME
    if not manifest.is_file():
        return []
    checked: List[str] = []
    for number, line in read_lines(manifest):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name or "/" in name:
            raise UserError("expected 'sha256  file name'", manifest, number)
        path = root / name
        if not path.is_file():
            raise UserError(f"asset {name} of this model directory is missing", path)
        if sha256_file(path) != digest:
            raise UserError(f"{name} differs from the file the model was trained with (checksum in {MANIFEST_NAME}); "
                            "restore the model directory's own copy", path)
        checked.append(name)
    return checked
