"""The project's one writer, its one id check, and line-numbered reading; shared by every layer.

**Writing** (:func:`atomic_path`, :func:`atomic_write`, :func:`atomic_dir`). Outputs are never
half-written, and the writer respects what sits at the destination:

* a regular file (or a new name) is written to a temporary file beside it and renamed into
  place only when complete (``os.replace`` is atomic on POSIX within one filesystem); a new
  file gets ``0666 & ~umask``, a replaced one keeps its mode;
* a symbolic link is followed: its target is replaced atomically, beside the target, and the
  link stays a link;
* a character device, FIFO or socket (``/dev/null``, ``/dev/stdout``, a named pipe) is
  streamed to directly: there is nothing to rename;
* a directory, a parent folder that is a file or does not exist, or a write that fails (a full
  disk, no permission) is a :class:`~speechtools.errors.UserError` naming the path, and nothing
  is left behind. Folders a command owns (checkpoints, feature stores) are created by that
  command before it writes into them.

A multi-file output (a ``--details`` folder, a model directory's first files) is built in a
temporary folder by :func:`atomic_dir` and swapped in whole.

**Ids** (:func:`checked_id`, :func:`id_file`). An utterance, speaker or song id that becomes a
file name is checked by one function: not empty, not ``.`` or ``..``, no ``/``, no NUL or other
control character, at most 200 bytes of UTF-8. A bad id is a user error naming the file and
line it came from, raised before anything is written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from pathlib import Path
from typing import IO, Dict, Iterator, List, Optional, Tuple

import numpy as np

from speechtools.errors import PathLike, UserError

MAX_ID_BYTES = 200


def checked_id(value: str, what: str = "id", path: Optional[PathLike] = None, line: Optional[int] = None) -> str:
    """``value`` if it is safe as a file name (see the module docstring), else a :class:`UserError` at ``path``:``line``."""
    problem = None
    if not value:
        problem = "is empty"
    elif value in (".", ".."):
        problem = "is a path component ('.' or '..')"
    elif "/" in value:
        problem = "contains '/'"
    elif any(unicodedata.category(c) == "Cc" for c in value):
        problem = "contains a control character"
    elif len(value.encode("utf-8")) > MAX_ID_BYTES:
        problem = f"is longer than {MAX_ID_BYTES} bytes"
    if problem is not None:
        raise UserError(f"{what} {value[:80]!r} {problem}; ids become file names", path, line)
    return value


def id_file(folder: PathLike, value: str, suffix: str = "", what: str = "id") -> Path:
    """``folder/<value><suffix>`` for a checked id (never a path outside ``folder``)."""
    return Path(folder) / f"{checked_id(value, what)}{suffix}"


def check_output_file(path: PathLike) -> None:
    """Fail now, before any work, if :func:`atomic_path` could not write ``path`` (a folder there, a missing or non-folder parent)."""
    _destination(path)


def check_output_dir(path: PathLike) -> None:
    """Fail now, before any work, if ``path`` could not become a folder: something else is there, or an ancestor is a file."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UserError("exists and is not a folder", target)
    for ancestor in target.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise UserError(f"cannot create this folder: {str(ancestor)!r} is not a folder", target)
            return


def _is_stream(path: Path) -> bool:
    """Whether ``path`` (following links) is a character device, FIFO or socket."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _destination(path: PathLike) -> Path:
    """The file a write to ``path`` replaces: links followed; checks on it and on its parent folder."""
    given = Path(path)
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    if target.is_dir():
        raise UserError("is a directory, expected a file to write", given)
    parent = target.parent
    if not parent.exists():
        raise UserError(f"cannot write: folder {str(parent)!r} does not exist", given)
    if not parent.is_dir():
        raise UserError(f"cannot write: {str(parent)!r} is not a folder", given)
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_error(exc: OSError, path: PathLike) -> UserError:
    """A failed write as a one-line user error (``No space left on device``, ``Permission denied``...)."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return UserError(f"cannot write: {reason}", path)


class _PendingFile:
    """A temporary file waiting to become ``path``: :meth:`commit` moves (or streams) it there, :meth:`discard` removes it."""

    def __init__(self, path: PathLike) -> None:
        self.path = path
        self.target = _destination(path)
        self.stream = _is_stream(self.target)
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp" + self.target.suffix,
                                            dir=None if self.stream else self.target.parent)
        except OSError as exc:
            raise write_error(exc, path) from None
        os.close(fd)
        self.tmp = Path(tmp_name)

    def commit(self) -> None:
        try:
            if self.stream:
                with open(self.tmp, "rb") as src, open(self.target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                return
            mode = stat.S_IMODE(os.stat(self.target).st_mode) if self.target.exists() else 0o666 & ~_umask()
            os.chmod(self.tmp, mode)
            os.replace(self.tmp, self.target)
        except OSError as exc:
            raise write_error(exc, self.path) from None
        finally:
            self.discard()

    def discard(self) -> None:
        if self.tmp.exists():
            self.tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to the destination of ``path``; move it there on success.

    Use for libraries that want a filename (``torch.save``, ``soundfile.write``, ``np.save``).
    On an exception the temporary file is removed and the destination is untouched. For a
    device or FIFO destination the finished file is copied to it.

    Raises:
        UserError: see the module docstring (destination, parent folder, failed write).
    """
    with atomic_paths(path) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_paths(*paths: PathLike) -> Iterator[List[Path]]:
    """Temporary paths for several outputs that appear together or not at all.

    On success the device and FIFO destinations are streamed to first (the step that can still
    fail, e.g. ``/dev/full``), then the regular files are renamed into place; on any failure
    every temporary file is removed and no destination is touched.
    """
    pending: List[_PendingFile] = []
    try:
        for path in paths:
            pending.append(_PendingFile(path))
        yield [p.tmp for p in pending]
        for p in sorted(pending, key=lambda p: not p.stream):
            p.commit()
    finally:
        for p in pending:
            p.discard()


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w", encoding: str = "utf-8") -> Iterator[IO]:
    """Open ``path`` for writing through :func:`atomic_path`: it appears only if the block succeeds.

    Write errors (a full disk) are :class:`UserError` naming ``path``.
    """
    with atomic_path(path) as tmp:
        try:
            if "b" in mode:
                with open(tmp, mode) as handle:
                    yield handle
            else:
                with open(tmp, mode, encoding=encoding, newline="\n") as handle:
                    yield handle
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG, errno.EROFS):
                raise write_error(exc, path) from None
            raise


@contextlib.contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success it replaces ``path`` whole.

    A killed or failed run leaves the previous complete folder (or nothing), never a mix of old
    and new files. Missing parent folders are created (as ``mkdir -p``); a file in their place
    is a :class:`UserError` (:func:`check_output_dir`).
    """
    target = Path(path)
    check_output_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise write_error(exc, path) from None
    old = target.parent / f".{target.name}.old"
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def read_lines(path: PathLike) -> List[Tuple[int, str]]:
    """Read a UTF-8 text file as ``(line_number, line)`` pairs without the newline.

    A UTF-8 byte-order mark (BOM, as some Windows editors and spreadsheet exports write) at the
    start of the file is dropped with a one-line warning on stderr naming the file, so it never
    becomes part of the first id or header; a BOM at the start of any other line (files joined
    with ``cat``) is an error naming the line.

    Raises:
        UserError: if the file is missing, a directory, not valid UTF-8, or has a BOM inside
            (naming the line).
    """
    import sys

    p = Path(path)
    if not p.exists():
        raise UserError("no such file", p)
    if p.is_dir():
        raise UserError("is a directory, expected a file", p)
    data = p.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        print(f"warning: {p}:1: ignoring the UTF-8 byte-order mark (BOM) at the start of the file", file=sys.stderr)
    lines: List[Tuple[int, str]] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(f"not valid UTF-8 (byte {exc.start})", p, number) from None
        if text.startswith("\ufeff"):
            raise UserError("a UTF-8 byte-order mark (BOM) starts this line (files joined with cat?); remove it", p, number)
        lines.append((number, text))
    if lines and lines[-1][1] == "" and data.endswith(b"\n"):
        lines.pop()
    if data == b"":
        lines = []
    return lines


NPY_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)
"""What NumPy raises for a missing, truncated or corrupt ``.npy``/``.npz`` file."""


def read_npy(path: PathLike, what: str = "array") -> np.ndarray:
    """One array from a ``.npy`` file (no pickles); a missing, truncated or corrupt file is a :class:`UserError`."""
    try:
        return np.load(path, allow_pickle=False)
    except NPY_ERRORS as exc:
        raise UserError(f"cannot read {what} ({_first_line(exc)}): truncated or not a .npy file?", path) from None


def read_npz(path: PathLike, what: str = "arrays") -> Dict[str, np.ndarray]:
    """Every array of a ``.npz`` file (no pickles); a missing, truncated or corrupt file is a :class:`UserError`."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"no such {what} file", p)
    try:
        with np.load(p, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except NPY_ERRORS as exc:
        raise UserError(f"cannot read {what} ({_first_line(exc)}): truncated or not a .npz file?", p) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def copy_file(src: PathLike, dst: PathLike) -> None:
    """Copy ``src`` to ``dst`` through the writer (atomic; links, devices and folders handled as in :func:`atomic_path`)."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def write_lines(path: PathLike, lines: List[str]) -> None:
    """Write ``lines`` (without newlines) atomically, one per line, UTF-8."""
    with atomic_write(path) as handle:
        for line in lines:
            handle.write(line + "\n")
