"""Where paired songs and unpaired melodies come from: music21 scores and the Lakh-derived ``.npy`` files.

**Scores** (:func:`song_from_part`, any file music21 parses; the corpus inside the music21 wheel):
the part with the most lyric-bearing notes is the sung part. A chord sings its top note; grace notes (no duration) are dropped. A note's
lyric is the lowest-numbered verse on it whose text has a letter (figured-bass digits are not
lyrics); a note without one continues the current syllable (melisma); a note tied from the
previous one of the same pitch lengthens it (its fermata counts). music21's ``syllabic``
(begin/middle/end/single) joins hyphenated syllables into words; a word ends a sentence when
its text ends in ``. , ; : ! ?`` or one of its notes carries a fermata. Rests become the
``rest`` of the next note; rests before the first sung note (a pickup) are dropped.

**Lakh ``.npy``** (:func:`song_from_lmd`, yy1lab "Lyrics-Conditioned Neural Melody Generation",
as ``generate_lmd_dataset.py`` reads it): ``np.load(f, allow_pickle=True)[0]`` holds
``[.., melody, lyric]`` with ``melody[s][w]`` = the notes ``[pitch, duration, rest]`` of word
``w`` of sentence ``s`` and ``lyric[s][w][0]`` its text. The dataset has one note per syllable but
stores text per word, so a word is one token aligned to all its notes (the reference's lyric
tokens are words too, before BPE). Sentences with no note or no word are dropped, as there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np

from speechtools.errors import UserError, import_optional
from speechtools.fileio import NPY_ERRORS
from speechtools.music.lyric_melody import Note, Song, Syllable, Word, clean_syllable

SENTENCE_PUNCTUATION = ".,;:!?"


def load_score(path: Path) -> Any:
    """A music21 score (the first of an opus); an unparsable file is a :class:`UserError`."""
    music21 = import_optional("music21", "music")
    try:
        score = music21.converter.parse(str(path))
    except Exception as exc:  # music21 raises many unrelated types for a bad file
        raise UserError(f"music21 cannot parse the score ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})", path) from None
    if isinstance(score, music21.stream.Opus):
        score = score.scores[0]
    return score


def lyric_of(element: Any) -> Optional[Tuple[str, str, Optional[str]]]:
    """``(clean text, raw text, syllabic)`` of the lowest-numbered lyric with a letter, or ``None``."""
    for lyric in sorted(element.lyrics, key=lambda l: l.number or 0):
        text = clean_syllable(lyric.text or "")
        if text:
            return text, (lyric.text or "").strip(), lyric.syllabic
    return None


def lyric_count(part: Any) -> int:
    """Notes of ``part`` carrying a lyric with a letter."""
    return sum(1 for n in part.recurse().notes if lyric_of(n) is not None)


def top_pitch(element: Any) -> int:
    """MIDI pitch of a note, or of a chord's top note."""
    return max(p.midi for p in element.pitches)


def ties_into(element: Any, last: Optional[Note]) -> bool:
    """Whether ``element`` continues a tie from ``last`` (same pitch), so it lengthens that note."""
    tie = element.tie
    return last is not None and tie is not None and tie.type in ("stop", "continue") and top_pitch(element) == last.pitch


def lengthened(notes: List[Note], beats: float) -> None:
    """Add ``beats`` to the last of ``notes`` (a tied continuation)."""
    last = notes[-1]
    notes[-1] = Note(last.pitch, last.duration + beats, last.rest)


def has_fermata(element: Any) -> bool:
    """Whether a note carries a fermata (a phrase end in chorales)."""
    return any("Fermata" in e.classes for e in element.expressions)


def melody_part(score: Any) -> Any:
    """The part named Soprano, else the part with the highest mean pitch (as ``midi prepare``'s melody rule)."""
    parts = list(score.parts)
    for part in parts:
        if (part.partName or "").strip().lower() == "soprano":
            return part
    def mean_pitch(part: Any) -> float:
        pitches = [top_pitch(n) for n in part.recurse().notes]
        return float(np.mean(pitches)) if pitches else -1.0
    return max(parts, key=mean_pitch)


class _SongBuilder:
    """Accumulates syllables into words and sentences while walking a part."""

    def __init__(self) -> None:
        self.sentences: List[List[Word]] = []
        self.sentence: List[Word] = []
        self.word: Word = []
        self.word_open = False
        self.end_sentence = False

    def close_word(self) -> None:
        if self.word:
            self.sentence.append(self.word)
        self.word, self.word_open = [], False

    def close_sentence(self) -> None:
        self.close_word()
        if self.sentence:
            self.sentences.append(self.sentence)
        self.sentence, self.end_sentence = [], False

    def syllable(self, text: str, raw: str, syllabic: Optional[str], note: Note) -> Syllable:
        starts_word = syllabic in ("begin", "single", None) or not self.word_open
        if starts_word:
            if self.end_sentence:
                self.close_sentence()
            self.close_word()
        syl = Syllable(text, [note])
        self.word.append(syl)
        self.word_open = syllabic in ("begin", "middle")
        if raw.rstrip("-_ ").endswith(tuple(SENTENCE_PUNCTUATION)):
            self.end_sentence = True
        if not self.word_open:
            self.close_word()
        return syl


def song_from_part(part: Any, name: str) -> Song:
    """The sung syllables of one music21 part (rules in the module docstring); no syllable → empty song."""
    builder = _SongBuilder()
    current: Optional[Syllable] = None
    rest = 0.0
    for element in part.recurse().notesAndRests:
        beats = float(element.quarterLength)
        if beats <= 0:
            continue
        if element.isRest:
            if current is not None:
                rest += beats
            continue
        if current is not None and not rest and ties_into(element, current.notes[-1]):
            lengthened(current.notes, beats)
            builder.end_sentence = builder.end_sentence or has_fermata(element)
            continue
        note = Note(top_pitch(element), beats, rest)
        lyric = lyric_of(element)
        if lyric is None:
            if current is None:
                continue  # notes before the first sung syllable (instrumental lead-in)
            current.notes.append(note)
        else:
            current = builder.syllable(*lyric, note)
        rest = 0.0
        if has_fermata(element):
            builder.end_sentence = True
    builder.close_sentence()
    return Song(name, builder.sentences)


def melody_from_part(part: Any, name: str) -> Song:
    """An unpaired melody: the part's notes, one text-less syllable per note, sentences split at fermatas."""
    sentences: List[List[Word]] = []
    words: List[Word] = []
    rest = 0.0
    for element in part.recurse().notesAndRests:
        beats = float(element.quarterLength)
        if beats <= 0:
            continue
        if element.isRest:
            rest += beats if words or sentences else 0.0
            continue
        if words and not rest and ties_into(element, words[-1][0].notes[-1]):
            lengthened(words[-1][0].notes, beats)
        else:
            words.append([Syllable("", [Note(top_pitch(element), beats, rest)])])
        rest = 0.0
        if has_fermata(element):
            sentences.append(words)
            words = []
    if words:
        sentences.append(words)
    return Song(name, sentences)


def songs_from_score(path: Path, name: str) -> Tuple[Optional[Song], Optional[Song]]:
    """``(paired song, None)`` from the most-lyricked part, or ``(None, melody)`` for a score without lyrics."""
    score = load_score(path)
    parts = list(score.parts)
    if not parts:
        raise UserError("the score has no parts", path)
    counts = [lyric_count(p) for p in parts]
    best = int(np.argmax(counts))
    if counts[best] == 0:
        return None, melody_from_part(melody_part(score), name)
    return song_from_part(parts[best], name), None


def load_pickled_npy(path: Path) -> Any:
    """``np.load(path, allow_pickle=True)[0]``: the Lakh files hold pickled lists (trusted dataset files only)."""
    try:
        return np.load(path, allow_pickle=True)[0]
    except (*NPY_ERRORS, IndexError, TypeError) as exc:
        raise UserError(f"cannot read a Lakh lyric/melody .npy ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})", path) from None


def song_from_lmd(path: Path, name: str) -> Song:
    """One Lakh-derived song (format in the module docstring); a malformed file is a :class:`UserError`."""
    data = load_pickled_npy(path)
    try:
        melody, lyric = data[1], data[2]
        sentences = []
        for sent_notes, sent_words in zip(melody, lyric):
            if len(sent_notes) == 0 or len(sent_words) == 0:
                continue
            if len(sent_notes) != len(sent_words):
                raise UserError(f"sentence {len(sentences) + 1} has {len(sent_words)} words but notes for {len(sent_notes)}", path)
            words = []
            for notes, word in zip(sent_notes, sent_words):
                text = "_".join(str(word[0]).lower().split())
                if not text or not len(notes):
                    raise UserError(f"sentence {len(sentences) + 1}: a word without text or notes", path)
                words.append([Syllable(text, [Note(int(round(float(n[0]))), float(n[1]), float(n[2])) for n in notes])])
            sentences.append(words)
    except (IndexError, TypeError, ValueError) as exc:
        raise UserError(f"not a Lakh lyric/melody file: expected data[1] = notes per word, data[2] = words per sentence ({exc})", path) from None
    return Song(name, sentences)
