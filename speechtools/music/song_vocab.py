"""Token ids of SongMASS's two vocabularies (lyric syllables; melody pitches and durations).

Both start with the same specials, so the model uses one set of ids for both modalities:
``<s> <pad> </s> <unk> <mask> [sep] [align]`` (``[sep]`` = 5, as in the reference's
dictionaries). The melody vocabulary is fixed: pitches ``0``..``128`` (128 = rest), then the
duration tokens ``129``..``144`` (1/4 .. 4 beats, the extraction's cap). The lyric vocabulary is the
training syllables by decreasing count (ties alphabetical).

Sequences for the model (:func:`sentence_ids`): ``[align]`` is dropped (it only numbers words) and
``[sep]`` closes each sentence; every token gets its sentence index and word index (the reference's
``source_sent_ids`` / ``source_word_ids``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Sequence, Tuple

from speechtools.errors import PathLike, UserError
from speechtools.fileio import read_lines, write_lines
from speechtools.music.lyric_melody import ALIGN, DURATION_BASE, MAX_DURATION, DURATION_STEP, REST_PITCH, SEP

SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>", SEP, ALIGN)
BOS_ID, PAD_ID, EOS_ID, UNK_ID, MASK_ID, SEP_ID, ALIGN_ID = range(len(SPECIALS))
N_SPECIALS = len(SPECIALS)
MELODY_PITCHES = REST_PITCH + 1
MELODY_DURATIONS = int(MAX_DURATION / DURATION_STEP)


@dataclass
class SongVocab:
    """One modality's token list; id = position."""

    tokens: List[str]
    index: Dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        if tuple(self.tokens[:N_SPECIALS]) != SPECIALS:
            raise ValueError(f"a SongMASS vocabulary starts with {' '.join(SPECIALS)}")
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def ids(self, tokens: Iterable[str]) -> List[int]:
        """Ids of ``tokens`` (unknown → ``<unk>``)."""
        return [self.index.get(t, UNK_ID) for t in tokens]

    def strings(self, ids: Iterable[int]) -> List[str]:
        """Tokens of ``ids``."""
        return [self.tokens[i] for i in ids]

    def save(self, path: PathLike) -> None:
        """One token per line (atomic)."""
        write_lines(path, self.tokens)

    @classmethod
    def load(cls, path: PathLike) -> "SongVocab":
        """Read a list written by :meth:`save`; a wrong header is a :class:`UserError`."""
        tokens = [line for _, line in read_lines(path)]
        if tuple(tokens[:N_SPECIALS]) != SPECIALS:
            raise UserError(f"not a SongMASS token list: it must start with {' '.join(SPECIALS)}", path)
        return cls(tokens)


def melody_vocab() -> SongVocab:
    """The fixed melody vocabulary: specials, pitches 0..128, durations 129..144."""
    return SongVocab([*SPECIALS, *map(str, range(MELODY_PITCHES)), *(str(DURATION_BASE + i) for i in range(MELODY_DURATIONS))])


def lyric_vocab(lines: Iterable[Sequence[str]]) -> SongVocab:
    """Syllables of ``lines`` by decreasing count, ties alphabetical (specials and marks excluded)."""
    counts = Counter(t for line in lines for t in line if t not in SPECIALS)
    return SongVocab([*SPECIALS, *sorted(counts, key=lambda t: (-counts[t], t))])


@dataclass
class MarkedIds:
    """Token ids with, per token, its sentence index and word index."""

    ids: List[int]
    sentences: List[int]
    words: List[int]


def sentence_ids(ids: Sequence[int], keep_sep: bool = True) -> MarkedIds:
    """Drop ``[align]`` (it advances the word index), keep ``[sep]`` (in its sentence, as its own word).

    As the reference's ``MusicMtDataset``: the word index advances after each ``[align]`` and after
    each ``[sep]``; with ``keep_sep=False`` (MASS inputs) the ``[sep]`` tokens are dropped too.
    """
    out, sentences, words = [], [], []
    sentence = word = 0
    for token in ids:
        if token == ALIGN_ID:
            word += 1
        elif token == SEP_ID:
            if keep_sep:
                out.append(token)
                sentences.append(sentence)
                words.append(word)
            sentence += 1
            word += 1
        else:
            out.append(token)
            sentences.append(sentence)
            words.append(word)
    return MarkedIds(out, sentences, words)


def is_pitch(token_id: int) -> bool:
    """Whether a melody id is a pitch (or rest)."""
    return N_SPECIALS <= token_id < N_SPECIALS + MELODY_PITCHES


def is_duration(token_id: int) -> bool:
    """Whether a melody id is a duration."""
    return N_SPECIALS + MELODY_PITCHES <= token_id < N_SPECIALS + MELODY_PITCHES + MELODY_DURATIONS


def token_ranges(melody: bool, vocab_size: int) -> Tuple[Tuple[int, int], ...]:
    """Id ranges ``[lo, hi)`` random replacements are drawn from: (pitches, durations) for melody,
    every non-special token for lyrics."""
    if melody:
        first = N_SPECIALS + MELODY_PITCHES
        return (N_SPECIALS, first), (first, first + MELODY_DURATIONS)
    return ((N_SPECIALS, max(vocab_size, N_SPECIALS + 1)),)
