"""User-facing errors.

Every mistake a user can make (bad path, malformed line, bad option value, unknown
token, corrupt file) is raised as :class:`UserError`. The CLI prints it as one line
``error: <file>:<line>: <what>`` and exits with status 1; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


class UserError(Exception):
    """A mistake in the user's input, reported without a traceback.

    Args:
        message: what is wrong, in words a user understands.
        path: the file (or directory) at fault, if any.
        line: the 1-based line number inside ``path``, if known.
    """

    def __init__(self, message: str, path: Optional[PathLike] = None, line: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line

    def location(self) -> str:
        """``file:line`` (or ``file``, or empty) naming where the problem is."""
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class ConfigError(UserError):
    """A configuration file or ``--set`` override that does not validate."""


def import_optional(module: str, extra: str) -> ModuleType:
    """Import the optional package ``module``; if it cannot be imported, one line naming the extra that installs it.

    Raises:
        UserError: ``sentencepiece is not installed: pip install 'speechtools[asr]'`` (with the
            import error's own words when the package is there but fails to import).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        if exc.name is not None and exc.name.partition(".")[0] == top:
            raise UserError(f"{top} is not installed: pip install 'speechtools[{extra}]'") from None
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{top} cannot be imported ({reason}): pip install 'speechtools[{extra}]'") from None
