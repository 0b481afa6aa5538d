"""Corpus preparation modules behind ``speechtools data prepare CORPUS``.

Convention: a module ``speechtools/data/corpora/<name>.py`` exposes a Click command named
``command``; ``speechtools data prepare <name> ...`` runs it (the subcommand name is the module
name; modules are found with :mod:`pkgutil`, so adding a corpus is adding one file). The command
reads the corpus from wherever the user keeps it and writes standard Kaldi data directories
``<out>/<set>/`` (``wav.scp``, ``text``, ``utt2spk``, ``spk2utt``, optionally ``segments``),
each written atomically -- :func:`write_data_dir` does that and validates the result -- so that
``speechtools data validate`` passes on what it wrote. Its docstring's first line is the
one-line description shown by ``speechtools data prepare --help``, and it shows an example.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import List

from speechtools.data.kaldi import DataDir
from speechtools.fileio import atomic_dir
from speechtools.data.validate import Summary, validate_data_dir
from speechtools.errors import PathLike, UserError


def corpus_names() -> List[str]:
    """Names of the corpus modules in this package, sorted (nothing is imported)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def import_corpus(name: str) -> ModuleType:
    """Import ``speechtools.data.corpora.<name>``.

    Raises:
        UserError: no such corpus module (naming the ones that exist).
    """
    names = corpus_names()
    if name not in names:
        raise UserError(f"unknown corpus {name!r}; known: {', '.join(names) or '(none)'}")
    return importlib.import_module(f"{__name__}.{name}")


def write_data_dir(data: DataDir, path: PathLike, check_files: bool = True) -> Summary:
    """Write ``data`` as the directory ``path`` in one atomic swap, after validating it.

    The directory is built in a temporary sibling, validated with
    :func:`~speechtools.data.validate.validate_data_dir` and only then renamed into place, so a
    failed preparation never leaves a half-written or invalid ``data/<set>/``.
    """
    target = Path(path)
    with atomic_dir(target) as tmp:
        data.save(tmp)
        summary = validate_data_dir(tmp, check_files=check_files)
    summary.path = target
    return summary
