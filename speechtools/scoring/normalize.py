"""Transcript normalisation applied before scoring: case, punctuation, tag filters, CER split."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

_TAG = re.compile(r"^(<[^<>]*>|\[[^\[\]]*\])$")


_APOSTROPHES = "'\u2019"


def _strip_punct(word: str) -> List[str]:
    """Delete apostrophes, turn other punctuation into word breaks (``wolf-dog.`` → wolf dog)."""
    chars = [" " if unicodedata.category(c).startswith("P") and c not in _APOSTROPHES else c
             for c in word if c not in _APOSTROPHES]
    return "".join(chars).split()


@dataclass(frozen=True)
class Normalizer:
    """Turns a transcript into scoring tokens.

    Order: drop filtered tokens (exact ``filter_tokens`` or full-match ``filter_regex``), fold
    case (``ignore_case``: ``str.casefold``), remove punctuation (``remove_punct``: apostrophes
    are deleted, other Unicode punctuation (category P*) splits the word, so ``don't`` → ``dont``
    and ``wolf-dog.`` → ``wolf dog``; tags such as ``<unk>``/``[noise]`` are kept whole), then for ``cer``
    join the words without spaces and split into characters — as AISHELL-1 scoring does —
    keeping ``<...>``/``[...]`` tags as single units like Kaldi's ``score_kaldi_cer.sh``.
    """

    ignore_case: bool = False
    remove_punct: bool = False
    cer: bool = False
    filter_tokens: Sequence[str] = field(default_factory=tuple)
    filter_regex: Optional[str] = None

    def __call__(self, text: str) -> List[str]:
        words = text.split()
        drop = set(self.filter_tokens)
        pattern = re.compile(self.filter_regex) if self.filter_regex else None
        if drop or pattern is not None:
            words = [w for w in words if w not in drop and not (pattern is not None and pattern.fullmatch(w))]
        if self.ignore_case:
            words = [w.casefold() for w in words]
        if self.remove_punct:
            words = [piece for w in words for piece in ([w] if _TAG.match(w) else _strip_punct(w))]
        if not self.cer:
            return words
        chars: List[str] = []
        for w in words:
            if _TAG.match(w):
                chars.append(w)
            else:
                chars.extend(w)
        return chars
