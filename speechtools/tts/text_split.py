"""Splitting long input into synthesis units: sentences, then (if still too long) clauses.

Sentences end at ``.``, ``!`` or ``?`` (optionally followed by closing quotes/brackets) before
whitespace; abbreviations ("Mr.", single initials, dotted forms such as "p.m.") are kept together. A sentence whose token sequence is
longer than ``max_tokens`` is cut at the last pause token (``, ; :``) or, failing that, the
last word boundary before the limit (a word longer than the limit is cut at the limit).

Both steps take time linear in the input, so a 5,000-word line without punctuation becomes
pieces of at most ``max_tokens`` tokens and synthesis costs about the sum of its pieces.
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
        # The word before the boundary, found without copying the (possibly long) pending text.
        word_start = max(start, text.rfind(" ", start, match.start()) + 1)
        last_word = text[word_start:match.start()].rstrip(".!?").lower()
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
    """Cut a token sequence into chunks of at most ``max_tokens`` at pauses, else word boundaries.

    A cut at a pause keeps the pause at the end of its chunk; a cut at a word boundary drops
    the boundary token, as do boundary tokens left at the start of a chunk.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    pause_set = set(pauses)
    # last_pause[i] / last_boundary[i]: index of the last pause / boundary at or before i (-1: none).
    last_pause: List[int] = []
    last_boundary: List[int] = []
    lp = lb = -1
    for i, token in enumerate(tokens):
        lp = i if token in pause_set else lp
        lb = i if token == boundary else lb
        last_pause.append(lp)
        last_boundary.append(lb)
    chunks: List[List[str]] = []
    start, n = 0, len(tokens)
    while n - start > max_tokens:
        last = start + max_tokens - 1
        if last_pause[last] > start:
            cut = last_pause[last]
            end = cut + 1
        elif last_boundary[last] > start:
            cut = end = last_boundary[last]
        else:
            cut, end = last, last + 1
        chunks.append(list(tokens[start:end]))
        start = cut + 1
        while start < n and tokens[start] == boundary:
            start += 1
    if start < n:
        chunks.append(list(tokens[start:]))
    return chunks
