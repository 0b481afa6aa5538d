"""Build a SongMASS data folder: paired songs with a fixed song-level split, unpaired melodies, a skip report.

Layout written by :func:`write_dataset` (one :func:`speechtools.fileio.atomic_dir`)::

    songs.jsonl                  paired songs (normalised), one JSON per line, with "split"
    para/{train,valid,test}.lyric / .melody / .names   one song per line, reference tokens
    mono/{train,valid}.lyric     lyrics for lyric MASS (the paired train / valid songs' lyrics)
    mono/{train,valid}.melody    melodies for melody MASS (lyric-less pieces + paired train/valid melodies)
    skipped.tsv                  file<TAB>reason for every input that gave no song
    summary.json                 counts

The split is the MD5 bucket of the song name (:func:`speechtools.music.lyric_melody.split_of`,
8:1:1): a song keeps its split when the corpus grows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from tqdm import tqdm

from speechtools.errors import UserError, import_optional
from speechtools.fileio import atomic_dir, checked_id, read_lines
from speechtools.music.lyric_melody import (Song, lyric_tokens, melody_tokens, normalise_song, rejection, song_from_json,
                                            song_to_json, split_of)
from speechtools.music.lyric_sources import song_from_lmd, songs_from_score

SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc")
SPLITS = ("train", "valid", "test")


@dataclass
class Collected:
    """Songs and melodies gathered from the inputs, and what was skipped."""

    songs: List[Song] = field(default_factory=list)
    melodies: List[Song] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)

    def keep(self, song: Song, paired: bool, source: str, min_syllables: int) -> None:
        """Normalise ``song`` and keep it, or record why not."""
        song = normalise_song(song)
        reason = rejection(song, min_syllables if paired else 0)
        if reason:
            self.skipped.append((source, reason))
        else:
            (self.songs if paired else self.melodies).append(song)


def song_name(root: Path, path: Path, prefix: str = "") -> str:
    """``<prefix><path below root, '/' and spaces as '_', no suffix>`` checked as an id."""
    rel = path.relative_to(root).with_suffix("")
    return checked_id(prefix + "_".join(rel.parts).replace(" ", "_"), "song name", path)


def score_files(spec: str) -> Tuple[Path, List[Path], str]:
    """``(root, files, name prefix)`` of a score folder or ``music21:COLLECTION`` (the corpus in the music21 wheel)."""
    if spec.startswith("music21:"):
        collection = spec.split(":", 1)[1]
        root = Path(import_optional("music21", "music").__file__).parent / "corpus" / collection
        prefix = collection + "_"
        if not collection or not root.is_dir():
            raise UserError(f"no collection {collection!r} in the music21 corpus", spec)
    else:
        root, prefix = Path(spec), ""
        if not root.is_dir():
            raise UserError("no such folder of scores", spec)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in SCORE_SUFFIXES and p.is_file())
    return root, files, prefix


def one_per_piece(files: Sequence[Path]) -> Tuple[List[Path], List[Tuple[str, str]]]:
    """One file per piece (same folder and stem, e.g. ``bwv277.mxl`` and ``bwv277.krn``), preferring
    :data:`SCORE_SUFFIXES` order; the others as ``(file, reason)``."""
    kept: Dict[Path, Path] = {}
    for path in sorted(files, key=lambda p: SCORE_SUFFIXES.index(p.suffix.lower())):
        kept.setdefault(path.with_suffix(""), path)
    chosen = set(kept.values())
    dropped = [(str(p), f"another encoding of {kept[p.with_suffix('')].name}") for p in files if p not in chosen]
    return sorted(chosen), dropped


def collect(score_specs: Sequence[str] = (), lmd_dirs: Sequence[str] = (), max_files: int = 0, min_syllables: int = 8) -> Collected:
    """Read every score (paired song or unpaired melody) and every Lakh ``.npy`` (paired song)."""
    out = Collected()
    jobs: List[Tuple[str, Path, str]] = []
    for spec in score_specs:
        root, files, prefix = score_files(spec)
        files, dropped = one_per_piece(files)
        out.skipped += dropped
        jobs += [("score", p, song_name(root, p, prefix)) for p in files[: max_files or None]]
    for folder in lmd_dirs:
        root = Path(folder)
        if not root.is_dir():
            raise UserError("no such folder of Lakh .npy files", folder)
        files = sorted(root.rglob("*.npy"))
        jobs += [("lmd", p, song_name(root, p, "lmd_")) for p in files[: max_files or None]]
    if not jobs:
        raise UserError("no score or .npy file found", ", ".join([*score_specs, *lmd_dirs]) or "(no input given)")
    for kind, path, name in tqdm(jobs, desc="lyrics-melody", unit="file"):
        try:
            if kind == "lmd":
                song, melody = song_from_lmd(path, name), None
            else:
                song, melody = songs_from_score(path, name)
        except UserError as exc:
            out.skipped.append((str(path), exc.message))
            continue
        if song is not None:
            out.keep(song, True, str(path), min_syllables)
        elif melody is not None:
            out.keep(melody, False, str(path), 0)
    return out


def split_songs(songs: Iterable[Song]) -> Dict[str, List[Song]]:
    """Songs by split (:func:`split_of`), in input order."""
    out: Dict[str, List[Song]] = {s: [] for s in SPLITS}
    for song in songs:
        out[split_of(song.name)].append(song)
    return out


def write_dataset(data: Collected, out_dir: str) -> Dict[str, object]:
    """Write the layout of the module docstring; returns the summary counts."""
    names = [s.name for s in data.songs + data.melodies]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UserError(f"two inputs give the song name {dup!r}", out_dir)
    paired = split_songs(data.songs)
    if not data.songs:
        first = f"; first skipped: {data.skipped[0][0]}: {data.skipped[0][1]}" if data.skipped else ""
        raise UserError(f"no paired song: no input has lyrics ({len(data.melodies)} melodies without lyrics, "
                        f"{len(data.skipped)} inputs skipped{first})", out_dir)
    mono_melody = {"train": [], "valid": []}  # type: Dict[str, List[List[str]]]
    for song in data.melodies:
        mono_melody["train" if split_of(song.name) == "train" else "valid"].append(melody_tokens(song, align=False))
    for split in ("train", "valid"):
        mono_melody[split] += [melody_tokens(s, align=False) for s in paired[split]]
    with atomic_dir(out_dir) as tmp:
        (tmp / "para").mkdir()
        (tmp / "mono").mkdir()
        with open(tmp / "songs.jsonl", "w", encoding="utf-8") as handle:
            for split in SPLITS:
                for song in paired[split]:
                    handle.write(json.dumps({"split": split, **song_to_json(song)}, ensure_ascii=False) + "\n")
        for split in SPLITS:
            write_token_lines(tmp / "para" / f"{split}.lyric", [lyric_tokens(s) for s in paired[split]])
            write_token_lines(tmp / "para" / f"{split}.melody", [melody_tokens(s) for s in paired[split]])
            write_token_lines(tmp / "para" / f"{split}.names", [[s.name] for s in paired[split]])
        for split in ("train", "valid"):
            write_token_lines(tmp / "mono" / f"{split}.lyric", [lyric_tokens(s) for s in paired[split]])
            write_token_lines(tmp / "mono" / f"{split}.melody", mono_melody[split])
        write_token_lines(tmp / "skipped.tsv", [[path, reason] for path, reason in data.skipped], sep="\t")
        summary = {"paired": {k: len(v) for k, v in paired.items()}, "melodies": len(data.melodies),
                   "syllables": sum(len(s.syllables()) for s in data.songs), "notes": sum(len(s.notes()) for s in data.songs),
                   "skipped": len(data.skipped)}
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary


def write_token_lines(path: Path, rows: Sequence[Sequence[str]], sep: str = " ") -> None:
    """One row per line, fields joined by ``sep`` (inside an :func:`atomic_dir` being built)."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(sep.join(row) + "\n" for row in rows)


def read_songs(path: str, split: Optional[str] = None) -> List[Song]:
    """Songs of ``songs.jsonl`` (only ``split`` when given); a malformed line is a :class:`UserError`."""
    songs = []
    for number, line in read_lines(path):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if split is None or data["split"] == split:
                songs.append(song_from_json(data))
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"not a song record ({exc})", path, number) from None
    return songs
