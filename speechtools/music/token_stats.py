"""Tokens per song for OctupleMIDI, CP-like and REMI-like encodings (MusicBERT Table 1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List

import numpy as np
from tqdm import tqdm

from speechtools.errors import PathLike, UserError
from speechtools.music.cp import cp_length
from speechtools.music.octuple import encode
from speechtools.music.remi import remi_length

MIDI_SUFFIXES = (".mid", ".midi")


def find_midi_files(directory: PathLike) -> List[Path]:
    """All ``*.mid``/``*.midi`` files below ``directory``, sorted."""
    d = Path(directory)
    if not d.is_dir():
        raise UserError("not a directory", d)
    return sorted(p for p in d.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES)


def song_lengths(encoding: np.ndarray) -> Dict[str, int]:
    """Sequence lengths of one song: octuple = notes, cp = compound rows, remi = tokens."""
    return {"octuple": int(len(encoding)), "cp": cp_length(encoding), "remi": remi_length(encoding)}


@dataclass
class CorpusStats:
    """Per-song token counts of a MIDI collection and their means and ratios."""

    files: List[str] = field(default_factory=list)
    lengths: List[Dict[str, int]] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)

    def mean(self, kind: str) -> float:
        """Mean tokens per song of encoding ``kind``."""
        return float(np.mean([x[kind] for x in self.lengths])) if self.lengths else 0.0

    def summary(self) -> Dict[str, float]:
        """Songs, mean tokens per song of each encoding, and CP/REMI ratios to OctupleMIDI."""
        octuple = self.mean("octuple")
        return {
            "songs": len(self.lengths),
            "skipped": len(self.skipped),
            "octuple": octuple,
            "cp": self.mean("cp"),
            "remi": self.mean("remi"),
            "cp_ratio": self.mean("cp") / octuple if octuple else 0.0,
            "remi_ratio": self.mean("remi") / octuple if octuple else 0.0,
        }


def corpus_stats(paths: Iterable[Path], skip_errors: bool = False, progress: bool = True) -> CorpusStats:
    """Encode every file and count tokens; files without notes are counted as skipped.

    Raises:
        UserError: the first unreadable file, unless ``skip_errors``.
    """
    stats = CorpusStats()
    paths = list(paths)
    for path in tqdm(paths, desc="midi stats", unit="file", disable=not progress):
        try:
            encoding = encode(path)
        except UserError as exc:
            if not skip_errors:
                raise
            stats.skipped.append(f"{path}: {exc.message}")
            continue
        if len(encoding) == 0:
            stats.skipped.append(f"{path}: no notes")
            continue
        stats.files.append(str(path))
        stats.lengths.append(song_lengths(encoding))
    return stats
