"""``speechtools music``: lyric/melody data for SongMASS."""

from __future__ import annotations

from typing import Tuple

import click

from speechtools.cli.options import OUTPUT_DIR


@click.group()
def music() -> None:
    """Lyric-melody data (SongMASS).

    \b
    Examples:
      speechtools music lyrics-melody --scores music21:bach --out-dir data/songs
      speechtools music lyrics-melody --lmd-dir lmd_npy/ --out-dir data/lmd
    """


@music.command("lyrics-melody")
@click.option("--scores", multiple=True, help="A folder of scores music21 reads (.mxl/.xml/.musicxml/.krn), or music21:COLLECTION "
                                              "for a collection of the corpus inside the music21 wheel. Repeatable.")
@click.option("--lmd-dir", multiple=True, type=click.Path(file_okay=False),
              help="A folder of Lakh-derived lyric/melody .npy files (the paper's paired data). Repeatable.")
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Data folder to write (replaced whole).")
@click.option("--max-files", type=click.IntRange(min=0), default=0, show_default=True, help="At most this many files per input (0 = all).")
@click.option("--min-syllables", type=click.IntRange(min=1), default=8, show_default=True, help="Skip paired songs with fewer syllables.")
def lyrics_melody(scores: Tuple[str, ...], lmd_dir: Tuple[str, ...], out_dir: str, max_files: int, min_syllables: int) -> None:
    """Extract paired (syllable, pitch, duration, rest) songs and unpaired melodies, split 8:1:1 by song.

    Lyric-bearing scores give paired songs ([align] word ends, [sep] phrase ends), scores without
    lyrics give unpaired melodies; everything is transposed to C major / A minor, folded to
    octave 5 and quantised to 1/4 beat (capped at 4). What was skipped and why: skipped.tsv.

    Example: speechtools music lyrics-melody --scores music21:bach --out-dir data/songs
    """
    from speechtools.music.lyric_dataset import collect, write_dataset

    if not scores and not lmd_dir:
        raise click.UsageError("give --scores and/or --lmd-dir")
    data = collect(scores, lmd_dir, max_files, min_syllables)
    summary = write_dataset(data, out_dir)
    paired = summary["paired"]
    click.echo(f"paired songs: train {paired['train']} valid {paired['valid']} test {paired['test']} "  # type: ignore[index]
               f"({summary['syllables']} syllables, {summary['notes']} notes); unpaired melodies: {summary['melodies']}; "
               f"skipped: {summary['skipped']} (see {out_dir}/skipped.tsv)")
