"""Input cleaning shared by the text front-ends: terminal control sequences and invisible
characters, vulgar fractions, and the report of characters a front-end cannot speak.

- ANSI/VT100 escape sequences (``ESC [ 31 m``, ``ESC ] ... BEL``, two-character ``ESC x``, C1
  ``CSI``) are removed *whole*, so their parameters never leak into the text as digits or
  letters; other control characters (C0/C1, DEL) and invisible format characters (zero-width
  space, soft hyphen, byte-order mark, bidirectional marks) are removed; tabs and other
  whitespace controls become spaces.
- A vulgar fraction character (``½``, ``¾``, ``⅜``) is recognised by its Unicode
  ``<fraction>`` decomposition, not by a hand-made table.
- :func:`unspeakable` lists the characters of a line that a front-end would drop silently,
  with where they are, for the ``text`` commands' report and ``--strict``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple

# CSI (ESC [ or the C1 byte U+009B) with parameter, intermediate and final bytes; OSC/DCS/PM/APC
# strings up to BEL or ST (an unterminated one loses only its introducer, never the rest of the
# line); any other two-character escape.
_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -~]?"
)


def _is_invisible(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf") and not char.isspace()


def strip_controls(text: str) -> str:
    """``text`` without escape sequences, control characters and invisible format characters
    (whitespace controls such as tab are kept: the normalisers collapse whitespace). Linear time."""
    return "".join(c for c in _ANSI.sub("", text) if not _is_invisible(c))


def vulgar_fraction(char: str) -> Optional[Tuple[int, int]]:
    """``(numerator, denominator)`` of a vulgar fraction character (``½`` -> (1, 2)), else ``None``."""
    decomposition = unicodedata.decomposition(char)
    if not decomposition.startswith("<fraction>"):
        return None
    numerator, slash, denominator = "".join(chr(int(code, 16)) for code in decomposition.split()[1:]).partition("\u2044")
    if not (slash and numerator.isdecimal() and denominator.isdecimal()):
        return None
    return int(numerator), int(denominator)


@dataclass(frozen=True)
class Unspeakable:
    """A character a front-end cannot speak: the character, how often it occurs in the line and
    the 1-based column of its first occurrence in the input (``None`` when normalisation changed
    it beyond recognition)."""

    char: str
    count: int
    column: Optional[int]

    def describe(self) -> str:
        where = f"column {self.column}" if self.column is not None else "column unknown"
        times = f" x{self.count}" if self.count > 1 else ""
        return f"{self.char!r} U+{ord(self.char):04X}{times} ({where})"


def unspeakable(raw: str, dropped: Iterable[str]) -> List[Unspeakable]:
    """Group the characters ``dropped`` from the normalised form of ``raw`` by character, in
    order of first appearance, each located in ``raw`` (directly or through its NFKC form)."""
    counts: dict = {}
    for char in dropped:
        counts[char] = counts.get(char, 0) + 1
    if not counts:
        return []
    first: dict = {}
    for column, char in enumerate(raw, start=1):
        for c in char + (unicodedata.normalize("NFKC", char) if not char.isascii() else ""):
            if c in counts and c not in first:
                first[c] = column
        if len(first) == len(counts):
            break
    order = sorted(counts, key=lambda c: first.get(c, len(raw) + 1))
    return [Unspeakable(c, counts[c], first.get(c)) for c in order]


def describe_unspeakable(found: List[Unspeakable], frontend: str, note: str = "", limit: int = 5) -> str:
    """One line naming the characters (the first ``limit`` distinct ones):
    ``the en_phone front-end cannot speak 2 character(s){note}: 'Ж' U+0416 (column 3), ...``."""
    total = sum(u.count for u in found)
    shown = ", ".join(u.describe() for u in found[:limit])
    more = f" and {len(found) - limit} other character(s)" if len(found) > limit else ""
    return f"the {frontend} front-end cannot speak {total} character(s){note}: {shown}{more}"
