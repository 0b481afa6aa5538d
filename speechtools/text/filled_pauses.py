"""Filled pauses in transcripts: labels from marked text and insertion into plain text (AdaSpeech 3,
Yan et al., arXiv 2107.02530, Sec. 3.1).

AdaSpeech 3's filled-pause predictor decides, at each word boundary, whether a filled pause
(``um``, ``uh``) follows. Here a text is a sequence of **words**: its whitespace-separated
tokens (the Kaldi ``text`` convention; punctuation stays attached to its word). A text of ``n``
words has ``n + 1`` **slots**: slot 0 is before the first word, slot ``i`` after word ``i``.
A label per slot is 0 (no filled pause) or the 1-based index of a filler class.

* :func:`extract_labels`: a transcript whose filled pauses are written as tokens (``um``,
  ``<uh>``, ``[um]``... any spelling of :class:`FillerSpellings`; case and surrounding
  punctuation ``, . ? ! ; :`` are ignored, and that punctuation is removed with the filler)
  → the words without them and the label of every slot. Several fillers in one slot keep the
  first (:attr:`FilledPauseLabels.dropped` counts the others).
* :func:`insert_fillers`: words and slot labels → text with each class's first spelling
  inserted; all-zero labels return the text unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence

_EDGE_PUNCTUATION = ",.?!;:\"'"

DEFAULT_FILLERS: Dict[str, List[str]] = {
    "um": ["um", "umm", "uhm", "<um>", "[um]", "(um)"],
    "uh": ["uh", "uhh", "er", "<uh>", "[uh]", "(uh)"],
}
"""Filler classes in order (label 1, 2, ...) and their spellings; the first spelling is inserted."""


class FillerSpellings:
    """Lower-cased spelling → filler class (1-based) of a ``{class: [spellings]}`` mapping."""

    def __init__(self, fillers: Mapping[str, Sequence[str]] = DEFAULT_FILLERS) -> None:
        if not fillers:
            raise ValueError("fillers must name at least one filler class")
        self.names: List[str] = list(fillers)
        self.spellings: Dict[str, int] = {}
        for index, (name, spellings) in enumerate(fillers.items(), start=1):
            for spelling in [name, *spellings]:
                key = spelling.strip().lower()
                if not key or any(c.isspace() for c in key):
                    raise ValueError(f"filler spelling {spelling!r} of {name!r} must be one non-empty token")
                other = self.spellings.setdefault(key, index)
                if other != index:
                    raise ValueError(f"filler spelling {spelling!r} belongs to both {self.names[other - 1]!r} and {name!r}")

    def classify(self, token: str) -> int:
        """Filler class of a text token (0: a word)."""
        key = token.lower()
        if key in self.spellings:
            return self.spellings[key]
        return self.spellings.get(key.strip(_EDGE_PUNCTUATION), 0)

    def spoken(self, label: int) -> str:
        """What :func:`insert_fillers` writes for class ``label`` (its name: ``um``, ``uh``)."""
        return self.names[label - 1]


@dataclass
class FilledPauseLabels:
    """A transcript without its fillers: ``words`` and one label per slot (``len(words) + 1``)."""

    words: List[str]
    labels: List[int]
    dropped: int = 0


def extract_labels(text: str, fillers: FillerSpellings) -> FilledPauseLabels:
    """Words and slot labels of a transcript whose filled pauses are tokens (module docstring)."""
    words: List[str] = []
    labels = [0]
    dropped = 0
    for token in text.split():
        label = fillers.classify(token)
        if not label:
            words.append(token)
            labels.append(0)
        elif labels[-1]:
            dropped += 1
        else:
            labels[-1] = label
    return FilledPauseLabels(words, labels, dropped)


def insert_fillers(words: Sequence[str], labels: Sequence[int], fillers: FillerSpellings) -> str:
    """``words`` joined by spaces with the filler of each non-zero slot label inserted at its slot."""
    if len(labels) != len(words) + 1:
        raise ValueError(f"{len(words)} words need {len(words) + 1} slot labels, got {len(labels)}")
    out: List[str] = [fillers.spoken(labels[0])] if labels[0] else []
    for word, label in zip(words, labels[1:]):
        out.append(word)
        if label:
            out.append(fillers.spoken(label))
    return " ".join(out)


def word_key(word: str) -> str:
    """The vocabulary entry of a word: lower case without edge punctuation (the token itself if nothing is left)."""
    key = word.lower().strip(_EDGE_PUNCTUATION)
    return key or word
