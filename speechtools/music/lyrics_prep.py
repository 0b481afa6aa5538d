"""``music prepare-lyrics``: a lyrics corpus → a data folder for DeepRapper training.

Inputs: the user's beat-aligned lyrics files (the text format of :mod:`speechtools.music.lyrics`)
or chinese-poetry's ``ci.song.*.json`` files (Song ci, no beats). The songs are split into
training, validation and test songs by a seeded shuffle (a fixed held-out split: the same seed
and input give the same split), and the folder gets::

    train.txt valid.txt test.txt     the songs in the lyrics text format (reading order)
    tokens.txt rhymes.txt            the vocabulary and rhyme classes of the training songs

written all at once (:func:`~speechtools.fileio.atomic_dir`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import List, Literal, Sequence

from speechtools.errors import UserError
from speechtools.fileio import atomic_dir
from speechtools.music.lyrics import Song, build_vocab, read_ci_json, read_lyrics, write_lyrics
from speechtools.music.rhyme import get_rhyme_scheme

InputFormat = Literal["lyrics", "ci"]


@dataclass
class PrepareCounts:
    """Songs and lines per split, and the vocabulary sizes."""

    train: int
    valid: int
    test: int
    lines: int
    tokens: int
    rhymes: int


def input_files(inputs: Sequence[str], fmt: InputFormat) -> List[Path]:
    """The files of ``inputs`` (files, or folders: their ``*.txt`` for ``lyrics``, ``ci.song.*.json`` for ``ci``, in name order)."""
    pattern = "ci.song.*.json" if fmt == "ci" else "*.txt"
    files: List[Path] = []
    for name in inputs:
        p = Path(name)
        if p.is_dir():
            found = sorted(p.glob(pattern))
            if not found:
                raise UserError(f"no {pattern} files in this folder", p)
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise UserError("no such file or folder", p)
    if not files:
        raise UserError("no input files given")
    return files


def split_songs(songs: List[Song], valid: int, test: int, seed: int) -> List[List[Song]]:
    """``[train, valid, test]``: the songs shuffled with ``seed`` then cut; at least one training song must remain."""
    if valid + test >= len(songs):
        raise UserError(f"{len(songs)} songs cannot give {valid} validation and {test} test songs and still train")
    order = list(range(len(songs)))
    random.Random(seed).shuffle(order)
    picked = [songs[i] for i in order]
    return [picked[valid + test:], picked[:valid], picked[valid: valid + test]]


def prepare_lyrics(inputs: Sequence[str], out_dir: str, fmt: InputFormat, lang: str, valid: int, test: int, seed: int,
                   max_tokens: int = 0, max_rhymes: int = 0, min_lines: int = 5) -> PrepareCounts:
    """Read, split and write a lyrics data folder (module docstring); returns the counts."""
    if fmt == "ci" and lang != "zh":
        raise UserError("--format ci holds Chinese lyrics: use --lang zh")
    scheme = get_rhyme_scheme(lang)
    files = input_files(inputs, fmt)
    if fmt == "ci":
        songs = read_ci_json(files, min_lines)
    else:
        songs = [song for path in files for song in read_lyrics(path, lang)]
    train, valid_songs, test_songs = split_songs(songs, valid, test, seed)
    vocab = build_vocab(train, scheme, max_tokens, max_rhymes)
    with atomic_dir(out_dir) as tmp:
        for name, part in (("train", train), ("valid", valid_songs), ("test", test_songs)):
            write_lyrics(tmp / f"{name}.txt", part, lang)
        vocab.save(tmp / "tokens.txt", tmp / "rhymes.txt")
    return PrepareCounts(len(train), len(valid_songs), len(test_songs), sum(len(s.lines) for s in songs),
                         len(vocab.tokens), len(vocab.rhymes))
