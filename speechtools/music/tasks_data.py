"""Build MusicBERT pre-training and understanding-task sets from a folder of MIDI files.

Everything is derived from the corpus itself (MusicBERT Sec. 4; the paper's own sets come
from PiRhDy and LMD/TOP-MAGD/MASD, which we do not ship):

* **split**: songs deduplicated by the md5 of their (program, pitch) sequence (the
  reference's rule), shuffled with a seed and split into train / valid / test by song.
* **pre-training**: random-start, random-bar-offset 1,000-note windows with step 250 of the
  train (and valid) songs (:func:`speechtools.music.windowing.pretrain_windows`).
* **melody completion** and **accompaniment suggestion** (the reference's ``next`` / ``acc``
  tasks): the melody is the track named "Soprano" if any, else the non-drum track with the
  highest mean pitch; it is written with program 80, every other non-drum track with
  program 0 (as ``gen_nsp.py``); tempo is set to 120 BPM and velocity to 64 in these pairs
  (``gen_nsp.py`` also fixes them), so only the notes tell candidates apart. Songs are cut
  into phrases of ``phrase_bars`` bars. Completion: query = melody of bars [b, b+P), true
  candidate = melody of bars [b+P, b+2P). Accompaniment: query = melody of [b, b+P), true
  candidate = the other tracks in [b, b+P). Input = ``<s>`` query ``</s>`` candidate ``</s>``
  (candidate bars placed after / on top of the query's). Training pairs: each query with
  its true candidate (label 1) and one random false candidate (label 0). Evaluation: groups
  of 1 true + 49 false candidates (drawn from other songs of the same split, topped up from
  other splits when the split is too small), ranked by the model's P(true).
* **classification**: one label per song from ``labels.tsv`` (e.g. composer or mode); train
  items are 4 random 1,000-note windows per song (``gen_genre.py``), valid/test items the
  first window.

Each set is one ``.npz`` *sequence store*: ``tokens`` (sum of lengths, 8) int32 dictionary
ids, ``offsets`` (n + 1), ``labels`` (n, -1 if none), ``groups`` (n, -1 if none),
``names`` (n); optional ``classes``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import miditoolkit
import numpy as np
from tqdm import tqdm

from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_dir, atomic_path, read_lines, read_npz
from speechtools.music import octuple as O
from speechtools.music import vocab as V
from speechtools.music import windowing as W

MELODY_PROGRAM = 80
ACCOMPANIMENT_PROGRAM = 0
PAIR_TEMPO = V.tempo_to_code(120.0)
PAIR_VELOCITY = 64 // V.VELOCITY_QUANT
GROUP_SIZE = 50


# ---------------------------------------------------------------- sequence stores
@dataclass
class SequenceStore:
    """Variable-length (L, 8) id sequences with optional labels and groups."""

    sequences: List[np.ndarray] = field(default_factory=list)
    labels: List[int] = field(default_factory=list)
    groups: List[int] = field(default_factory=list)
    names: List[str] = field(default_factory=list)
    classes: List[str] = field(default_factory=list)

    def add(self, seq: np.ndarray, name: str, label: int = -1, group: int = -1) -> None:
        """Append one sequence."""
        self.sequences.append(np.asarray(seq, dtype=np.int64))
        self.names.append(name)
        self.labels.append(label)
        self.groups.append(group)

    def __len__(self) -> int:
        return len(self.sequences)

    def save(self, path: PathLike) -> None:
        """Write the ``.npz`` atomically."""
        lengths = np.asarray([len(s) for s in self.sequences], dtype=np.int64)
        tokens = np.concatenate(self.sequences).astype(np.int32) if self.sequences else np.zeros((0, 8), np.int32)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(
                    handle,
                    tokens=tokens,
                    offsets=np.concatenate([[0], np.cumsum(lengths)]),
                    labels=np.asarray(self.labels, dtype=np.int64),
                    groups=np.asarray(self.groups, dtype=np.int64),
                    names=np.asarray(self.names, dtype=str),
                    classes=np.asarray(self.classes, dtype=str),
                )

    @classmethod
    def load(cls, path: PathLike) -> "SequenceStore":
        """Read a store written by :meth:`save`; a missing or malformed file is a UserError."""
        p = Path(path)
        data = read_npz(p, "sequence store (.npz)")
        missing = [k for k in ("tokens", "offsets", "labels", "groups", "names", "classes") if k not in data]
        if missing:
            raise UserError(f"not a sequence store (no {', '.join(missing)})", p)
        tokens, offsets = data["tokens"].astype(np.int64), data["offsets"]
        store = cls(
            sequences=[tokens[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)],
            labels=data["labels"].tolist(),
            groups=data["groups"].tolist(),
            names=data["names"].tolist(),
            classes=data["classes"].tolist(),
        )
        if tokens.ndim != 2 or tokens.shape[1] != 8 or (len(tokens) and (tokens.min() < 0 or tokens.max() >= V.VOCAB_SIZE)):
            raise UserError("sequence store holds ids outside the OctupleMIDI dictionary", p)
        return store


# ---------------------------------------------------------------- songs
@dataclass
class Song:
    """One encoded MIDI file with its melody/accompaniment view and labels."""

    name: str
    encoding: np.ndarray
    parts: Optional[np.ndarray]
    labels: Dict[str, str]


def melody_track(midi: miditoolkit.MidiFile) -> Optional[int]:
    """Index of the track named "Soprano", else of the highest-mean-pitch non-drum track (None if < 2 tracks)."""
    candidates = [i for i, inst in enumerate(midi.instruments) if inst.notes and not inst.is_drum]
    if len(candidates) < 2:
        return None
    for i in candidates:
        if midi.instruments[i].name.strip().lower() == "soprano":
            return i
    return max(candidates, key=lambda i: np.mean([n.pitch for n in midi.instruments[i].notes]))


def encode_parts(midi: miditoolkit.MidiFile, name: str) -> Optional[np.ndarray]:
    """Encoding with the melody track as program 80 and the other non-drum tracks as program 0."""
    melody = melody_track(midi)
    if melody is None:
        return None
    saved = [inst.program for inst in midi.instruments]
    try:
        for i, inst in enumerate(midi.instruments):
            if not inst.is_drum:
                inst.program = MELODY_PROGRAM if i == melody else ACCOMPANIMENT_PROGRAM
        return O.encode(midi, name=name)
    finally:
        for inst, program in zip(midi.instruments, saved):
            inst.program = program


def read_labels(path: PathLike) -> Dict[str, Dict[str, str]]:
    """``labels.tsv`` (header ``song<TAB>col...``) → {song: {col: value}}."""
    lines = read_lines(path)
    if not lines:
        raise UserError("empty labels file", path)
    header = lines[0][1].split("\t")
    if header[0] != "song" or len(header) < 2:
        raise UserError("first line must be a header 'song<TAB>label column...'", path, 1)
    table: Dict[str, Dict[str, str]] = {}
    for number, text in lines[1:]:
        cols = text.split("\t")
        if len(cols) != len(header):
            raise UserError(f"expected {len(header)} tab-separated columns, got {len(cols)}", path, number)
        table[cols[0]] = dict(zip(header[1:], cols[1:]))
    return table


def load_songs(midi_dir: PathLike, labels: Optional[Dict[str, Dict[str, str]]] = None, skip_errors: bool = True) -> Tuple[List[Song], List[str]]:
    """Encode every MIDI file under ``midi_dir`` (name = relative path without suffix); dedup by md5.

    Returns the songs and a list of skipped files with reasons.
    """
    from speechtools.music.token_stats import find_midi_files

    root = Path(midi_dir)
    songs: List[Song] = []
    skipped: List[str] = []
    seen: Dict[str, str] = {}
    for path in tqdm(find_midi_files(root), desc="encode", unit="file"):
        name = path.relative_to(root).with_suffix("").as_posix()
        try:
            midi = O.load_midi(path)
            encoding = O.encode(midi, name=str(path))
            parts = encode_parts(midi, str(path))
        except UserError as exc:
            if not skip_errors:
                raise
            skipped.append(f"{path}: {exc.message}")
            continue
        if len(encoding) == 0:
            skipped.append(f"{path}: no notes")
            continue
        digest = hashlib.md5(str([(int(a), int(b)) for a, b in encoding[:, [V.PROGRAM, V.PITCH]]]).encode("ascii")).hexdigest()
        if digest in seen:
            skipped.append(f"{path}: duplicate of {seen[digest]}")
            continue
        seen[digest] = name
        songs.append(Song(name, encoding, parts, (labels or {}).get(name, {})))
    return songs, skipped


def split_songs(songs: Sequence[Song], seed: int, valid_fraction: float = 0.1, test_fraction: float = 0.1) -> Dict[str, List[Song]]:
    """Seeded song-level split; valid and test get at least one song each when there are >= 3."""
    order = np.random.default_rng(seed).permutation(len(songs))
    n = len(songs)
    n_test = max(1, int(round(n * test_fraction))) if n >= 3 else 0
    n_valid = max(1, int(round(n * valid_fraction))) if n >= 3 else 0
    shuffled = [songs[i] for i in order]
    return {"test": shuffled[:n_test], "valid": shuffled[n_test : n_test + n_valid], "train": shuffled[n_test + n_valid :]}


# ---------------------------------------------------------------- builders
def build_pretrain(songs: Sequence[Song], rng: np.random.Generator, length: int = W.WINDOW_NOTES, step: int = W.WINDOW_STEP) -> SequenceStore:
    """Pre-training windows of every song."""
    store = SequenceStore()
    for song in songs:
        for k, window in enumerate(W.pretrain_windows(song.encoding, rng, length, step)):
            store.add(W.to_model_sequence(window), f"{song.name}#{k}")
    return store


def build_classification(songs: Sequence[Song], column: str, classes: List[str], rng: np.random.Generator, train: bool, samples: int = 4, length: int = W.WINDOW_NOTES) -> SequenceStore:
    """Song-label items: ``samples`` random windows per song for training, the first window otherwise."""
    store = SequenceStore(classes=list(classes))
    for song in songs:
        if column not in song.labels:
            raise UserError(f"song {song.name!r} has no {column!r} label")
        label = classes.index(song.labels[column])
        n = len(song.encoding)
        if train:
            for k in range(samples):
                start = int(rng.integers(0, max(1, n - length + 1)))
                window = W.first_window(song.encoding[start:], length)
                store.add(W.to_model_sequence(window), f"{song.name}#{k}", label)
        else:
            store.add(W.to_model_sequence(W.first_window(song.encoding, length)), song.name, label)
    return store


@dataclass
class Phrase:
    """Query and the two kinds of true candidates of one phrase position."""

    song: str
    start_bar: int
    melody: np.ndarray
    continuation: np.ndarray
    accompaniment: np.ndarray


def _normalise(rows: np.ndarray, bar_shift: int) -> np.ndarray:
    out = rows.copy()
    out[:, V.BAR] += bar_shift
    out[:, V.TEMPO] = PAIR_TEMPO
    out[:, V.VELOCITY] = PAIR_VELOCITY
    return out


def song_phrases(song: Song, phrase_bars: int, max_notes: int = 500) -> List[Phrase]:
    """All phrase positions b = 0, P, 2P, ... with a non-empty melody, continuation and accompaniment."""
    if song.parts is None:
        return []
    e = song.parts
    melody = e[e[:, V.PROGRAM] == MELODY_PROGRAM]
    accomp = e[e[:, V.PROGRAM] != MELODY_PROGRAM]
    phrases = []
    last_bar = int(e[:, V.BAR].max())
    for b in range(0, last_bar + 1 - 2 * phrase_bars + 1, phrase_bars):
        q = melody[(melody[:, V.BAR] >= b) & (melody[:, V.BAR] < b + phrase_bars)]
        c = melody[(melody[:, V.BAR] >= b + phrase_bars) & (melody[:, V.BAR] < b + 2 * phrase_bars)]
        a = accomp[(accomp[:, V.BAR] >= b) & (accomp[:, V.BAR] < b + phrase_bars)]
        if len(q) and len(c) and len(a):
            phrases.append(Phrase(song.name, b, _normalise(q[:max_notes], -b), _normalise(c[:max_notes], -b), _normalise(a[:max_notes], -b)))
    return phrases


def _candidate(phrase: Phrase, task: str) -> np.ndarray:
    """A phrase's true candidate: its continuation (bars [P, 2P)) or accompaniment (bars [0, P))."""
    return phrase.continuation if task == "melody_completion" else phrase.accompaniment


def build_ranking(
    phrases: Sequence[Phrase],
    pool: Sequence[Phrase],
    task: str,
    rng: np.random.Generator,
    train: bool,
    group_size: int = GROUP_SIZE,
) -> SequenceStore:
    """Pair store for ``melody_completion`` or ``accompaniment``.

    Training: per query, (query, true) label 1 and (query, random false) label 0, group = query
    index. Evaluation: per query a group of 1 true + ``group_size - 1`` false candidates from
    other songs, preferring ``phrases`` (the same split) and topping up from ``pool``.
    """
    if task not in ("melody_completion", "accompaniment"):
        raise ValueError(f"unknown ranking task {task!r}")
    store = SequenceStore(classes=["false", "true"])
    for qi, phrase in enumerate(phrases):
        same_split = [p for p in phrases if p.song != phrase.song]
        negatives_needed = 1 if train else group_size - 1
        chosen: List[Phrase] = []
        if same_split:
            take = min(negatives_needed, len(same_split))
            chosen = [same_split[i] for i in rng.choice(len(same_split), size=take, replace=False)]
        if len(chosen) < negatives_needed:
            used = {(p.song, p.start_bar) for p in chosen}
            extra = [p for p in pool if p.song != phrase.song and (p.song, p.start_bar) not in used]
            take = min(negatives_needed - len(chosen), len(extra))
            if take < negatives_needed - len(chosen):
                raise UserError(f"not enough phrases for {task} groups of {group_size}: need {group_size} phrases from other songs")
            chosen += [extra[i] for i in rng.choice(len(extra), size=take, replace=False)]
        tag = f"{phrase.song}@{phrase.start_bar}"
        store.add(W.to_pair_sequence(phrase.melody, _candidate(phrase, task)), f"{tag}+{tag}", 1, qi)
        for other in chosen:
            store.add(W.to_pair_sequence(phrase.melody, _candidate(other, task)), f"{tag}+{other.song}@{other.start_bar}", 0, qi)
    return store


def prepare(
    midi_dir: PathLike,
    out_dir: PathLike,
    labels_path: Optional[PathLike] = None,
    label_column: Optional[str] = None,
    seed: int = 1,
    phrase_bars: int = 2,
    group_size: int = GROUP_SIZE,
    window_notes: int = W.WINDOW_NOTES,
    window_step: int = W.WINDOW_STEP,
) -> Dict[str, int]:
    """Write every store under ``out_dir`` (layout in docs/music.md); return item counts."""
    out = Path(out_dir)
    labels = read_labels(labels_path) if labels_path else None
    songs, skipped = load_songs(midi_dir, labels)
    if len(songs) < 3:
        raise UserError(f"need at least 3 distinct songs, found {len(songs)}", midi_dir)
    split = split_songs(songs, seed)
    rng = np.random.default_rng(seed)
    counts: Dict[str, int] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(out) as folder:
        _write_prepared(Path(folder), songs, skipped, split, labels, label_column, rng, counts, window_notes, window_step,
                        phrase_bars, group_size)

    counts["songs"] = len(songs)
    counts["skipped"] = len(skipped)
    return counts


def _write_prepared(out: Path, songs: List[Song], skipped: List[str], split: Dict[str, List[Song]], labels: Optional[Any],
                    label_column: Optional[str], rng: np.random.Generator, counts: Dict[str, int], window_notes: int,
                    window_step: int, phrase_bars: int, group_size: int) -> None:
    """The files of :func:`prepare`, written into the (temporary) folder ``out``."""

    def save(store: SequenceStore, name: str) -> None:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        store.save(out / f"{name}.npz")
        counts[name] = len(store)

    for part in ("train", "valid"):
        save(build_pretrain(split[part], rng, window_notes, window_step), f"pretrain/{part}")
    phrases = {part: [p for s in split[part] for p in song_phrases(s, phrase_bars)] for part in split}
    pool = [p for part in ("train", "valid", "test") for p in phrases[part]]
    for task in ("melody_completion", "accompaniment"):
        for part in ("train", "valid", "test"):
            save(build_ranking(phrases[part], pool, task, rng, train=part != "test", group_size=group_size), f"{task}/{part}")
    if labels is not None and label_column:
        classes = sorted({s.labels[label_column] for s in songs if label_column in s.labels})
        for part in ("train", "valid", "test"):
            save(build_classification(split[part], label_column, classes, rng, train=part == "train", length=window_notes), f"classification/{part}")
        with atomic_path(out / "classification" / "classes.txt") as tmp:
            tmp.write_text("".join(c + "\n" for c in classes), encoding="utf-8")
    with atomic_path(out / "split.tsv") as tmp:
        tmp.write_text("".join(f"{s.name}\t{part}\n" for part in ("train", "valid", "test") for s in split[part]), encoding="utf-8")
    with atomic_path(out / "skipped.txt") as tmp:
        tmp.write_text("".join(line + "\n" for line in skipped), encoding="utf-8")
