"""Parallel correction data: ``source<TAB>target`` lines (ASR hypothesis or noised text, then reference).

Both sides are plain sentences (English words separated by spaces, Mandarin characters with
or without spaces). This is what ``speechtools correct noise`` writes and what the
``correction`` task trains on; ``speechtools correct align`` adds the edit alignment.
"""

from __future__ import annotations

from typing import List, Tuple

from speechtools.errors import PathLike, UserError
from speechtools.fileio import read_lines


def read_pairs(path: PathLike) -> List[Tuple[str, str]]:
    """Read ``source<TAB>target`` lines; a line without exactly one tab is a :class:`UserError`."""
    pairs: List[Tuple[str, str]] = []
    for number, line in read_lines(path):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise UserError(f"expected 'source<TAB>target', found {len(parts) - 1} tab(s)", path, number)
        pairs.append((parts[0].strip(), parts[1].strip()))
    if not pairs:
        raise UserError("no sentence pairs in file", path)
    return pairs
