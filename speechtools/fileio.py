"""Small file helpers shared by every layer: atomic writes and line-numbered reading.

Outputs are never half-written: everything goes to a temporary file in the target
directory and is renamed into place only when complete (``os.replace`` is atomic on
POSIX within one filesystem).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator, List, Tuple

from speechtools.errors import PathLike, UserError


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    Use for libraries that want a filename (``torch.save``, ``soundfile.write``,
    ``np.save``). On an exception the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w", encoding: str = "utf-8") -> Iterator[IO]:
    """Open a temporary file for writing; it replaces ``path`` only if the block succeeds."""
    with atomic_path(path) as tmp:
        if "b" in mode:
            with open(tmp, mode) as handle:
                yield handle
        else:
            with open(tmp, mode, encoding=encoding, newline="\n") as handle:
                yield handle


def read_lines(path: PathLike) -> List[Tuple[int, str]]:
    """Read a UTF-8 text file as ``(line_number, line)`` pairs without the newline.

    Raises:
        UserError: if the file is missing, a directory, or not valid UTF-8 (naming the line).
    """
    p = Path(path)
    if not p.exists():
        raise UserError("no such file", p)
    if p.is_dir():
        raise UserError("is a directory, expected a file", p)
    data = p.read_bytes()
    lines: List[Tuple[int, str]] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(f"not valid UTF-8 (byte {exc.start})", p, number) from None
        lines.append((number, text))
    if lines and lines[-1][1] == "" and data.endswith(b"\n"):
        lines.pop()
    if data == b"":
        lines = []
    return lines


def write_lines(path: PathLike, lines: List[str]) -> None:
    """Write ``lines`` (without newlines) atomically, one per line, UTF-8."""
    with atomic_write(path) as handle:
        for line in lines:
            handle.write(line + "\n")
