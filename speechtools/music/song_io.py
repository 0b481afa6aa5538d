"""Songs in and out of files for SongMASS generation: lyric text, melody tokens, MIDI with lyric events.

* **Lyric text** (:func:`read_lyric_songs`): songs separated by blank lines, one line per sentence,
  words separated by spaces, syllables of a word by ``-`` (``Hel-lo world``); each syllable is
  lower-cased to its letters and apostrophes as the training data (:func:`clean_syllable`).
* **Melody tokens** (:func:`notes_from_tokens`): the generated ``<pitch> <duration>`` pairs; a rest
  (pitch 128) becomes the ``rest`` of the next note; tokens that do not form a pair are dropped
  (as the metrics do); ``[sep]`` closes a sentence.
* **MIDI** (:func:`song_to_midi`): one piano track at 120 BPM, 480 ticks per beat, a lyric event at
  the onset of each syllable's first note; :func:`write_song_midi` saves it as one track so
  miditoolkit (``lyrics``) and music21 (note lyrics) both read the lyrics back. :func:`melody_from_midi` reads the top voice of a MIDI file (the highest note at
  each onset, cut where the next note starts) as beats.
"""

from __future__ import annotations

import io
from typing import List, Sequence, Tuple

import miditoolkit
import mido

from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_path, read_lines
from speechtools.music.lyric_melody import (DURATION_BASE, N_DURATIONS, REST_PITCH, SEP, Note, Song, Syllable, clean_syllable,
                                            token_duration)
from speechtools.music.octuple import load_midi

TICKS_PER_BEAT = 480
PHRASE_REST = 1.0
"""A rest of at least this many beats ends a sentence of a melody read from MIDI."""


def read_lyric_songs(path: PathLike) -> List[List[List[List[str]]]]:
    """Songs → sentences → words → syllables of a lyric text file (module docstring).

    Raises:
        UserError: a file without any syllable, or a line whose words have no letter.
    """
    songs: List[List[List[List[str]]]] = []
    current: List[List[List[str]]] = []
    for number, line in read_lines(path) + [(0, "")]:
        if not line.strip():
            if current:
                songs.append(current)
            current = []
            continue
        words = [[s for s in (clean_syllable(p) for p in word.split("-")) if s] for word in line.split()]
        words = [w for w in words if w]
        if not words:
            raise UserError(f"no syllable in line {line.strip()[:40]!r} (a syllable needs a letter)", path, number)
        current.append(words)
    if not songs:
        raise UserError("no lyrics: the file has no syllables", path)
    return songs


def lyric_song(name: str, sentences: Sequence[Sequence[Sequence[str]]]) -> Song:
    """A :class:`Song` of syllables without notes (the input of melody generation)."""
    return Song(name, [[[Syllable(s) for s in word] for word in sentence] for sentence in sentences])


def parse_melody(tokens: Sequence[str]) -> List[List[Tuple[Note, List[int]]]]:
    """Sentences of ``(note, positions of its pitch and duration tokens)`` from melody tokens (module docstring)."""
    sentences: List[List[Tuple[Note, List[int]]]] = [[]]
    rest = 0.0
    pending = pending_at = -1
    for position, token in enumerate(tokens):
        if token == SEP:
            sentences.append([])
            pending = -1
            continue
        if not token.isdigit():
            continue
        value = int(token)
        if value <= REST_PITCH:
            pending, pending_at = value, position
        elif DURATION_BASE <= value < DURATION_BASE + N_DURATIONS and pending >= 0:
            beats = token_duration(token)
            if pending == REST_PITCH:
                rest += beats
            else:
                sentences[-1].append((Note(pending, beats, rest), [pending_at, position]))
                rest = 0.0
            pending = -1
        else:
            pending = -1
    return sentences if sentences[-1] else sentences[:-1]


def notes_from_tokens(tokens: Sequence[str]) -> List[List[Note]]:
    """Sentences of notes of melody tokens (:func:`parse_melody` without positions)."""
    return [[note for note, _ in sentence] for sentence in parse_melody(tokens)]


def song_to_midi(song: Song, tempo: float = 120.0) -> miditoolkit.MidiFile:
    """One track with the song's notes and a lyric event at each syllable's first note."""
    midi = miditoolkit.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    midi.tempo_changes = [miditoolkit.TempoChange(tempo, 0)]
    midi.time_signature_changes = [miditoolkit.TimeSignature(4, 4, 0)]
    track = miditoolkit.Instrument(program=0, name="melody")
    beat = 0.0
    for syl in song.syllables():
        for k, note in enumerate(syl.notes):
            beat += note.rest
            start, end = round(beat * TICKS_PER_BEAT), round((beat + note.duration) * TICKS_PER_BEAT)
            track.notes.append(miditoolkit.Note(velocity=80, pitch=note.pitch, start=start, end=end))
            if k == 0 and syl.text:
                midi.lyrics.append(miditoolkit.Lyric(syl.text, start))
            beat += note.duration
    midi.instruments = [track]
    midi.max_tick = round(beat * TICKS_PER_BEAT)
    return midi


def song_midi_bytes(song: Song) -> bytes:
    """:func:`song_to_midi` as a type-0 file: one track holds notes and lyric events, so music21
    attaches the lyrics to the notes (it reads lyrics per track; miditoolkit writes them to the
    tempo track of a type-1 file)."""
    buffer = io.BytesIO()
    song_to_midi(song).dump(file=buffer)
    buffer.seek(0)
    source = mido.MidiFile(file=buffer)
    single = mido.MidiFile(type=0, ticks_per_beat=source.ticks_per_beat)
    single.tracks.append(mido.merge_tracks(source.tracks))
    out = io.BytesIO()
    single.save(file=out)
    return out.getvalue()


def write_song_midi(song: Song, path: PathLike) -> None:
    """:func:`song_midi_bytes` written atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(song_midi_bytes(song))


def melody_from_midi(path: PathLike) -> List[Note]:
    """The top voice of a MIDI file as notes in beats (rests between them); no note is a :class:`UserError`."""
    midi = load_midi(path)
    notes = sorted((n for inst in midi.instruments if not inst.is_drum for n in inst.notes), key=lambda n: (n.start, -n.pitch))
    top: List[Tuple[int, int, int]] = []
    for n in notes:
        if top and top[-1][0] == n.start:
            continue
        if top and top[-1][1] > n.start:
            top[-1] = (top[-1][0], n.start, top[-1][2])
        top.append((n.start, n.end, n.pitch))
    if not top:
        raise UserError("the MIDI file has no notes (outside drum tracks)", path)
    tpb = midi.ticks_per_beat
    out, end = [], top[0][0]
    for start, stop, pitch in top:
        out.append(Note(pitch, (stop - start) / tpb, max(start - end, 0) / tpb))
        end = stop
    return out


def phrases(notes: Sequence[Note], min_rest: float = PHRASE_REST) -> List[List[Note]]:
    """Sentences of a melody: a new one starts at a note after a rest of at least ``min_rest`` beats."""
    out: List[List[Note]] = []
    for note in notes:
        if not out or (note.rest >= min_rest and out[-1]):
            out.append([])
        out[-1].append(note)
    return out
