"""Transcript readers for scoring: Kaldi ``text`` (``uttid w1 w2 ...``) and sclite ``.trn``
(``w1 w2 ... (uttid)``), with format detection."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from speechtools.errors import PathLike, UserError
from speechtools.fileio import read_lines

FORMATS = ("auto", "kaldi", "trn")
_TRN_LINE = re.compile(r"^(.*?)\s*\(([^()\s]*)\)\s*$")


@dataclass
class Transcripts:
    """Utterance id → transcript string, in file order, with the line each came from."""

    path: str
    text: Dict[str, str]
    lines: Dict[str, int]

    def tokens(self) -> Dict[str, List[str]]:
        """Whitespace-split transcripts."""
        return {utt: words.split() for utt, words in self.text.items()}


def detect_format(path: PathLike, lines: List[Tuple[int, str]]) -> str:
    """``trn`` if the file ends in ``.trn`` or every non-blank line ends in ``(uttid)``; else ``kaldi``."""
    if Path(path).suffix.lower() == ".trn":
        return "trn"
    content = [line for _, line in lines if line.strip()]
    if content and all(_TRN_LINE.match(line) for line in content):
        return "trn"
    return "kaldi"


def read_transcripts(path: PathLike, fmt: str = "auto") -> Transcripts:
    """Read a Kaldi ``text`` or sclite ``.trn`` file (``fmt`` = auto|kaldi|trn).

    Blank lines are skipped; a Kaldi line with only an id is an empty transcript.

    Raises:
        UserError: missing file, a ``.trn`` line without ``(uttid)``, or a repeated id (with its line).
    """
    if fmt not in FORMATS:
        raise UserError(f"unknown transcript format {fmt!r} (expected one of {', '.join(FORMATS)})", path)
    lines = read_lines(path)
    if fmt == "auto":
        fmt = detect_format(path, lines)
    text: Dict[str, str] = {}
    where: Dict[str, int] = {}
    for number, line in lines:
        if not line.strip():
            continue
        if fmt == "trn":
            match = _TRN_LINE.match(line)
            if match is None:
                raise UserError("expected an sclite .trn line 'words ... (uttid)'", path, number)
            words, utt = match.group(1).strip(), match.group(2)
            if not utt:
                raise UserError("empty utterance id '()'", path, number)
        else:
            parts = line.strip().split(maxsplit=1)
            utt = parts[0]
            words = parts[1] if len(parts) > 1 else ""
        if utt in text:
            raise UserError(f"utterance id {utt!r} repeated (first on line {where[utt]})", path, number)
        text[utt] = " ".join(words.split())
        where[utt] = number
    return Transcripts(str(path), text, where)


def normalized_transcripts(path: PathLike, fmt: str, normalize: Callable[[str], List[str]],
                           expect: Optional[Mapping[str, object]] = None) -> Dict[str, List[str]]:
    """:func:`read_transcripts` of ``path``, each transcript turned into scoring tokens by ``normalize``.

    Raises:
        UserError: as :func:`read_transcripts`, or an utterance of ``expect`` (the references) without a line here.
    """
    table = {u: normalize(t) for u, t in read_transcripts(path, fmt).text.items()}
    missing = [u for u in (expect or {}) if u not in table]
    if missing:
        raise UserError(f"no line for reference utterance {missing[0]!r} ({len(missing)} missing)", path)
    return table
