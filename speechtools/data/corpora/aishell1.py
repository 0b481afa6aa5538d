"""Prepare AISHELL-1 (Bu et al. 2017, Apache-2.0, openslr.org/33) as Kaldi data directories.

Layout read (as released): ``<corpus>/transcript/aishell_transcript_v0.8.txt`` (``uttid`` then
the sentence as space-separated words) and ``<corpus>/wav/{train,dev,test}/<spk>/<uttid>.wav``.
As Kaldi's ``egs/aishell/s5/local/aishell_data_prep.sh``: only utterances with both audio and a
transcript are kept (the counts of dropped ones are printed, never silent), the speaker is
``uttid[6:11]`` and ``text`` holds the characters without spaces (ESPnet2 style; the
correction and scoring tools split CJK characters themselves).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import click
from tqdm import tqdm

from speechtools.data.corpora import write_data_dir
from speechtools.data.kaldi import DataDir
from speechtools.errors import PathLike, UserError
from speechtools.fileio import check_output_dir, read_lines

SETS = ("train", "dev", "test")
TRANSCRIPT = Path("transcript") / "aishell_transcript_v0.8.txt"


def read_transcripts(path: PathLike) -> Dict[str, str]:
    """``uttid → sentence`` (spaces between words removed)."""
    out: Dict[str, str] = {}
    for number, line in read_lines(path):
        parts = line.split(maxsplit=1)
        if not parts:
            continue
        if len(parts) < 2:
            raise UserError(f"no transcript for {parts[0]}", path, number)
        if parts[0] in out:
            raise UserError(f"duplicate utterance id {parts[0]}", path, number)
        out[parts[0]] = "".join(parts[1].split())
    if not out:
        raise UserError("no transcripts in file", path)
    return out


def prepare_aishell1(corpus: PathLike, out: PathLike) -> Dict[str, int]:
    """Write ``<out>/{train,dev,test}`` from the AISHELL-1 release at ``corpus``; returns counts."""
    check_output_dir(out)  # before reading the corpus: a file in the way fails now
    root = Path(corpus)
    if not (root / TRANSCRIPT).is_file():
        raise UserError(f"not an AISHELL-1 directory: {TRANSCRIPT} is missing", root)
    texts = read_transcripts(root / TRANSCRIPT)
    counts: Dict[str, int] = {}
    for name in SETS:
        wav_dir = root / "wav" / name
        if not wav_dir.is_dir():
            raise UserError(f"missing audio folder wav/{name}", root)
        wavs = {p.stem: p.resolve() for p in tqdm(sorted(wav_dir.rglob("*.wav")), desc=f"aishell1 {name}", unit="wav", leave=False)}
        keys = sorted(k for k in wavs if k in texts)
        if len(keys) < len(wavs):
            click.echo(f"aishell1 {name}: {len(wavs) - len(keys)} audio files without a transcript skipped", err=True)
        if not keys:
            raise UserError(f"no transcribed audio in wav/{name}", root)
        data = DataDir(
            wav_scp={k: str(wavs[k]) for k in keys},
            text={k: texts[k] for k in keys},
            utt2spk={k: k[6:11] for k in keys},
        )
        write_data_dir(data, Path(out) / name)
        counts[name] = len(keys)
    return counts


@click.command(name="aishell1")
@click.option("--corpus", required=True, metavar="DIR", help="AISHELL-1 data_aishell directory (transcript/, wav/).")
@click.option("--out", default="data", show_default=True, metavar="DIR", help="Write DIR/train, DIR/dev, DIR/test.")
def command(corpus: str, out: str) -> None:
    """AISHELL-1 Mandarin read speech (transcripts + audio) → Kaldi data directories.

    \b
    Example:
      speechtools data prepare aishell1 --corpus /data/aishell/data_aishell --out data
    """
    for name, count in prepare_aishell1(corpus, out).items():
        click.echo(f"{name}: {count} utterances -> {Path(out) / name}")
