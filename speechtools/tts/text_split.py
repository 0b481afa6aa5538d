"""Splitting long input into synthesis units: sentences, then (if still too long) clauses.

Sentences end at ``.``, ``!`` or ``?`` (optionally followed by closing quotes/brackets) before
whitespace; abbreviations ("Mr.", single initials, dotted forms such as "p.m.") are kept together. A sentence whose token sequence is
longer than ``max_tokens`` is cut at the last pause token (``, ; :``) or, failing that, the
last word boundary before the limit.
"""

from __future__ import annotations

import re
from typing import List, Sequence

_ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "vs", "etc", "no", "gen", "col", "lt", "capt", "rev")
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


def split_sentences(text: str) -> List[str]:
    """Sentences of ``text`` (whitespace-normalised); never returns empty strings."""
    text = " ".join(text.split())
    out: List[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        head = text[start:match.start()]
        last_word = head.rsplit(" ", 1)[-1].rstrip(".!?").lower()
        if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()) or "." in last_word:
            continue
        piece = text[start:match.end()].strip()
        if piece:
            out.append(piece)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def split_tokens(tokens: Sequence[str], max_tokens: int, pauses: Sequence[str] = (",", ";", ":"), boundary: str = "<space>") -> List[List[str]]:
    """Cut a token sequence into chunks of at most ``max_tokens`` at pauses, else word boundaries."""
    chunks: List[List[str]] = []
    rest = list(tokens)
    while len(rest) > max_tokens:
        window = rest[:max_tokens]
        cut = max((i for i, t in enumerate(window) if t in pauses), default=-1)
        end = cut + 1
        if cut <= 0:
            cut = max((i for i, t in enumerate(window) if t == boundary), default=-1)
            end = cut
        if cut <= 0:
            cut, end = max_tokens - 1, max_tokens
        chunks.append(rest[:end])
        rest = rest[cut + 1:]
        while rest and rest[0] == boundary:
            rest = rest[1:]
    if rest:
        chunks.append(rest)
    return chunks
