"""Paired lyric/melody songs in SongMASS's token format (Sheng et al. 2021, Sec. 4.1; muzic
``songmass/data/generate_lmd_dataset.py``).

A :class:`Song` is sentences of words of syllables; each syllable carries one or more
:class:`Note` triples ``(pitch, duration, rest)`` (beats; ``rest`` = silence before the note, as
the Lakh-derived ``.npy`` files store it). Several notes under one syllable are a melisma.

Token sequences (the reference's strings, so its files and ours are interchangeable):

* lyric: one token per syllable (lower-cased), ``[align]`` after each word, ``[sep]`` after each
  sentence;
* melody: per note ``128 <dur>`` for a preceding rest, then ``<pitch> <dur>``; ``[align]`` after
  each word's notes, ``[sep]`` after each sentence; ``<dur>`` = ``129 + i`` for ``(i + 1) / 4``
  beats (durations rounded to 1/4 beat, capped at 4 beats).

Normalisation (:func:`normalise_song`, the reference's ``normalize_song``): transpose by the
maximum-likelihood scale to C major / A minor, then shift whole octaves so the most common
octave is 5 (MIDI 60-71).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

REST_PITCH = 128
ALIGN = "[align]"
SEP = "[sep]"
DURATION_STEP = 0.25
MAX_DURATION = 4.0
DURATION_BASE = 129
N_DURATIONS = 132
"""Duration tokens of the reference's vocabulary: 129 .. 260 = 0.25 .. 33.0 beats."""
MAX_REPEAT = 6
"""A song with a run of this many identical consecutive pitches is dropped (reference ``check_length``)."""

SCALES: Dict[str, Tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "natural_minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic_minor": (0, 2, 3, 5, 7, 9, 11),
}


@dataclass(frozen=True)
class Note:
    """One sung note: MIDI ``pitch``, ``duration`` and the ``rest`` before it, in beats."""

    pitch: int
    duration: float
    rest: float = 0.0


@dataclass
class Syllable:
    """A syllable's text and its notes (more than one: a melisma)."""

    text: str
    notes: List[Note] = field(default_factory=list)


Word = List[Syllable]
Sentence = List[Word]


@dataclass
class Song:
    """A named song: sentences of words of syllables."""

    name: str
    sentences: List[Sentence]

    def notes(self) -> List[Note]:
        """Every note in order."""
        return [n for sentence in self.sentences for word in sentence for syl in word for n in syl.notes]

    def syllables(self) -> List[Syllable]:
        """Every syllable in order."""
        return [syl for sentence in self.sentences for word in sentence for syl in word]

    def with_notes(self, notes: Sequence[Note]) -> "Song":
        """The same structure with its notes replaced, in order, by ``notes``."""
        it = iter(notes)
        sentences = [[[Syllable(s.text, [next(it) for _ in s.notes]) for s in word] for word in sentence] for sentence in self.sentences]
        return Song(self.name, sentences)


def duration_token(beats: float) -> str:
    """The reference's duration token of ``beats`` (already a multiple of 1/4 beat, capped at 4)."""
    index = int(round(beats / DURATION_STEP)) - 1
    if not 0 <= index < N_DURATIONS:
        raise ValueError(f"duration {beats} beats has no token")
    return str(DURATION_BASE + index)


def token_duration(token: str) -> float:
    """Beats of a duration token (inverse of :func:`duration_token`)."""
    return (int(token) - DURATION_BASE + 1) * DURATION_STEP


def note_tokens(note: Note) -> List[str]:
    """``128 <rest>`` (when the note follows a rest) then ``<pitch> <duration>``."""
    out = [str(REST_PITCH), duration_token(note.rest)] if note.rest > 0 else []
    return out + [str(note.pitch), duration_token(note.duration)]


def melody_tokens(song: Song, align: bool = True) -> List[str]:
    """The song's melody in the reference's token format (``[align]`` per word when ``align``)."""
    out: List[str] = []
    for sentence in song.sentences:
        for word in sentence:
            for syl in word:
                for note in syl.notes:
                    out += note_tokens(note)
            if align:
                out.append(ALIGN)
        out.append(SEP)
    return out


def lyric_tokens(song: Song) -> List[str]:
    """The song's lyric: one token per syllable, ``[align]`` per word, ``[sep]`` per sentence."""
    out: List[str] = []
    for sentence in song.sentences:
        for word in sentence:
            out += [syl.text for syl in word]
            out.append(ALIGN)
        out.append(SEP)
    return out


def clean_syllable(text: str) -> str:
    """Lower-cased letters and apostrophes of a lyric syllable ('' if it has no letter)."""
    kept = "".join(ch for ch in text.lower() if ch.isalpha() or ch == "'")
    return kept if any(ch.isalpha() for ch in kept) else ""


def best_scale(pitches: Sequence[int]) -> Tuple[int, str]:
    """Tonic pitch class and scale with the most pitches inside it (reference ``maximum_likelihood_scale``).

    Ties go to the first tonic (C, C#, ...) and then the first scale in :data:`SCALES` order,
    as the reference's stable sort.
    """
    counts = Counter(p % 12 for p in pitches)
    best: Tuple[int, str] = (0, "major")
    best_count = -1
    for tonic in range(12):
        for name, steps in SCALES.items():
            inside = sum(c for pc, c in counts.items() if (pc - tonic) % 12 in steps)
            if inside > best_count:
                best, best_count = (tonic, name), inside
    return best


def quantise(beats: float) -> float:
    """``round(beats / 0.25) * 0.25`` (Python's round: halves to even, as the reference), capped at 4 beats."""
    return min(round(beats / DURATION_STEP) * DURATION_STEP, MAX_DURATION)


def normalise_notes(notes: Sequence[Note]) -> List[Note]:
    """Transpose to C major / A minor, fold the most common octave to 5, quantise durations and rests.

    A note shorter than 1/8 beat keeps the shortest duration (1/4 beat): the reference would
    produce a duration token that does not exist; a rest shorter than 1/8 beat disappears.
    """
    if not notes:
        return []
    tonic, scale = best_scale([n.pitch for n in notes])
    shift = tonic if scale == "major" else tonic - 9
    pitches = [n.pitch - shift for n in notes]
    octave = Counter(p // 12 for p in pitches).most_common(1)[0][0]
    pitches = [p - 12 * (octave - 5) for p in pitches]
    return [Note(p, max(quantise(n.duration), DURATION_STEP), quantise(n.rest)) for p, n in zip(pitches, notes)]


def normalise_song(song: Song) -> Song:
    """:func:`normalise_notes` over the whole song."""
    return song.with_notes(normalise_notes(song.notes()))


def longest_repeat(pitches: Iterable[int]) -> int:
    """Longest run of identical consecutive pitches."""
    best = run = 0
    last: Optional[int] = None
    for p in pitches:
        run = run + 1 if p == last else 1
        last = p
        best = max(best, run)
    return best


def rejection(song: Song, min_syllables: int = 1) -> Optional[str]:
    """Why a normalised song is not kept (``None`` = keep)."""
    notes = song.notes()
    if len(song.syllables()) < min_syllables:
        return f"only {len(song.syllables())} syllables"
    if not notes:
        return "no notes"
    low, high = min(n.pitch for n in notes), max(n.pitch for n in notes)
    if low < 0 or high > 127:
        return f"pitch {low if low < 0 else high} outside 0..127 after normalisation"
    run = longest_repeat(n.pitch for n in notes)
    if run >= MAX_REPEAT:
        return f"{run} identical consecutive pitches (reference filter: >= {MAX_REPEAT})"
    return None


def split_of(name: str, valid_percent: int = 10, test_percent: int = 10) -> str:
    """``train``/``valid``/``test`` from the MD5 of the song name: fixed per song, whatever else is in the corpus."""
    bucket = int(hashlib.md5(name.encode("utf-8")).hexdigest(), 16) % 100
    if bucket < test_percent:
        return "test"
    return "valid" if bucket < test_percent + valid_percent else "train"


def song_to_json(song: Song) -> Dict[str, object]:
    """``{"name", "sentences": [[[[text, [[pitch, duration, rest], ...]], ...], ...], ...]}``."""
    return {"name": song.name, "sentences": [[[[s.text, [[n.pitch, n.duration, n.rest] for n in s.notes]] for s in word] for word in sentence]
                                              for sentence in song.sentences]}


def song_from_json(data: Dict[str, object]) -> Song:
    """Inverse of :func:`song_to_json`."""
    sentences = [[[Syllable(str(text), [Note(int(p), float(d), float(r)) for p, d, r in notes]) for text, notes in word] for word in sentence]
                 for sentence in data["sentences"]]  # type: ignore[union-attr]
    return Song(str(data["name"]), sentences)

