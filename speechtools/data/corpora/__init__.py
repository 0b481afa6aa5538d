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
from typing import Dict, List, Optional

from speechtools.data.kaldi import DataDir
from speechtools.fileio import atomic_dir, checked_id, read_lines
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


def speaker_prefixed(speaker: str, utt_id: str, path: Optional[PathLike] = None, line: Optional[int] = None) -> str:
    """``<speaker>_<utt_id>``, checked with :func:`~speechtools.fileio.checked_id`.

    The Kaldi convention: an id that starts with its speaker sorts by speaker, and two corpora
    that reuse the same utterance names (Philipp reads LJSpeech's sentences under LJSpeech's
    ids) never collide once combined.
    """
    return checked_id(f"{speaker}_{utt_id}", "utterance id", path, line)


def audio_entry(path: Path) -> str:
    """The ``wav.scp`` value of an audio file: its absolute path (one without whitespace)."""
    resolved = path.resolve()
    if any(c.isspace() for c in str(resolved)):
        raise UserError("audio path contains whitespace, which wav.scp cannot hold", resolved)
    return str(resolved)


def read_sentence_file(path: PathLike) -> str:
    """The transcript of a one-sentence text file (LibriTTS ``.normalized.txt``, VCTK ``txt/``),
    whitespace collapsed to single spaces.

    Raises:
        UserError: a missing, unreadable or empty file, naming it.
    """
    text = " ".join(" ".join(line for _, line in read_lines(path)).split())
    if not text:
        raise UserError("empty transcript file", path)
    return text


def write_sets(sets: Dict[str, DataDir], out: PathLike) -> Dict[str, int]:
    """Write every ``<out>/<set>`` with :func:`write_data_dir`; returns utterances per set."""
    counts: Dict[str, int] = {}
    for name, data in sets.items():
        write_data_dir(data, Path(out) / name)
        counts[name] = len(data.wav_scp)
    return counts
