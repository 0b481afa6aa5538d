"""``speechtools midi``: OctupleMIDI encode / decode / token statistics."""

from __future__ import annotations

import json
from pathlib import Path

import click

from speechtools.errors import UserError
from speechtools.fileio import atomic_write, read_lines, write_lines


@click.group()
def midi() -> None:
    """OctupleMIDI (MusicBERT) tools.

    \b
    Examples:
      speechtools midi encode song.mid song.oct.txt
      speechtools midi decode song.oct.txt song_rt.mid
      speechtools midi stats egs/bach/musicbert/midi --json stats.json
    """


@midi.command()
@click.argument("midi_in", type=click.Path(dir_okay=False))
@click.argument("text_out", type=click.Path(dir_okay=False))
def encode(midi_in: str, text_out: str) -> None:
    """Encode MIDI_IN to OctupleMIDI text, one octuple per line.

    Each line is ``<0-bar> <1-pos> <2-program> <3-pitch> <4-dur> <5-vel> <6-ts> <7-tempo>``.

    Example: speechtools midi encode bwv1.6.mid bwv1.6.oct.txt
    """
    from speechtools.music.octuple import encode as encode_midi
    from speechtools.music.octuple import encoding_to_lines

    encoding = encode_midi(midi_in)
    if len(encoding) == 0:
        raise UserError("MIDI file has no notes", midi_in)
    write_lines(text_out, encoding_to_lines(encoding))
    click.echo(f"{midi_in}: {len(encoding)} octuples -> {text_out}", err=True)


@midi.command()
@click.argument("text_in", type=click.Path(dir_okay=False))
@click.argument("midi_out", type=click.Path(dir_okay=False))
@click.option("--ticks-per-beat", type=click.IntRange(min=16), default=480, show_default=True, help="Resolution of the written MIDI.")
def decode(text_in: str, midi_out: str, ticks_per_beat: int) -> None:
    """Decode OctupleMIDI text (as written by `encode`) to a MIDI file.

    Example: speechtools midi decode bwv1.6.oct.txt bwv1.6_rt.mid
    """
    from speechtools.music.octuple import decode as decode_encoding
    from speechtools.music.octuple import lines_to_encoding, write_midi

    encoding = lines_to_encoding(read_lines(text_in), text_in)
    if len(encoding) == 0:
        raise UserError("no octuples in file", text_in)
    write_midi(decode_encoding(encoding, ticks_per_beat=ticks_per_beat), midi_out)
    click.echo(f"{text_in}: {len(encoding)} notes -> {midi_out}", err=True)


@midi.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None, help="Also write the summary and per-song counts as JSON.")
@click.option("--skip-errors", is_flag=True, help="Skip unreadable files (listed at the end) instead of stopping.")
def stats(directory: str, json_out: str, skip_errors: bool) -> None:
    """Tokens per song for OctupleMIDI, CP-like and REMI-like encodings of all MIDI files in DIRECTORY.

    Reproduces MusicBERT's Table 1 comparison (3,607 / 6,906 / 15,679 tokens per song on
    LMD) as ratios on your corpus.

    Example: speechtools midi stats egs/bach/musicbert/midi
    """
    from speechtools.music.token_stats import corpus_stats, find_midi_files

    files = find_midi_files(directory)
    if not files:
        raise UserError("no .mid/.midi files found", directory)
    result = corpus_stats(files, skip_errors=skip_errors)
    s = result.summary()
    click.echo(f"| encoding | tokens/song | ratio to OctupleMIDI |")
    click.echo(f"|---|---:|---:|")
    click.echo(f"| OctupleMIDI | {s['octuple']:.1f} | 1.00 |")
    click.echo(f"| CP-like | {s['cp']:.1f} | {s['cp_ratio']:.2f} |")
    click.echo(f"| REMI-like | {s['remi']:.1f} | {s['remi_ratio']:.2f} |")
    click.echo(f"songs: {s['songs']}, skipped: {s['skipped']}")
    for line in result.skipped:
        click.echo(f"skipped {line}", err=True)
    if json_out:
        with atomic_write(json_out) as handle:
            json.dump({"summary": s, "songs": dict(zip(result.files, result.lengths)), "skipped": result.skipped}, handle, indent=1)
