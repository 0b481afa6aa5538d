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
from pathlib import Path
from typing import IO, Iterator, List, Optional, Tuple

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


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to the destination of ``path``; move it there on success.

    Use for libraries that want a filename (``torch.save``, ``soundfile.write``, ``np.save``).
    On an exception the temporary file is removed and the destination is untouched. For a
    device or FIFO destination the finished file is copied to it.

    Raises:
        UserError: see the module docstring (destination, parent folder, failed write).
    """
    target = _destination(path)
    stream = _is_stream(target)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix,
                                        dir=None if stream else target.parent)
    except OSError as exc:
        raise write_error(exc, path) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        try:
            if stream:
                with open(tmp, "rb") as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                return
            mode = stat.S_IMODE(os.stat(target).st_mode) if target.exists() else 0o666 & ~_umask()
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except OSError as exc:
            raise write_error(exc, path) from None
    finally:
        if tmp.exists():
            tmp.unlink()


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
    and new files. The parent folder must exist.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UserError("exists and is not a folder", target)
    if not target.parent.is_dir():
        raise UserError(f"cannot write: folder {str(target.parent)!r} does not exist", target)
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


def write_lines(path: PathLike, lines: List[str]) -> None:
    """Write ``lines`` (without newlines) atomically, one per line, UTF-8."""
    with atomic_write(path) as handle:
        for line in lines:
            handle.write(line + "\n")
