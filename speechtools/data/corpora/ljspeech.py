"""Prepare LJSpeech-1.1 (or the bundled 32-clip mini corpus) as Kaldi data directories.

LJSpeech (Ito & Johnson 2017, public domain): ``metadata.csv`` with ``id|raw|normalised``
lines and ``wavs/<id>.wav``. Split as ESPnet's ``egs2/ljspeech/tts1/local/data.sh``: the last
500 utterances (file order) give 250 ``dev`` then 250 ``eval``, the rest ``train``. The bundled
mini corpus (``egs/ljspeech/mini_corpus``: LJ001-0001 ... LJ001-0032, FLAC) is split the same
way scaled down: the last 6 give 3 ``dev`` then 3 ``eval``, the first 26 ``train``.
``text`` is the normalised column; every utterance's speaker is ``LJ``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import click
from tqdm import tqdm

from speechtools.data.corpora import audio_entry, speaker_prefixed, write_data_dir
from speechtools.data.kaldi import DataDir
from speechtools.errors import PathLike, UserError
from speechtools.fileio import check_output_dir, read_lines

SPEAKER = "LJ"
FULL_HELD_OUT = (250, 250)
MINI_HELD_OUT = (3, 3)
SETS = ("train", "dev", "eval")


@dataclass(frozen=True)
class Utterance:
    """One line of ``metadata.csv`` with its audio file."""

    utt_id: str
    audio: Path
    text: str


def bundled_mini_corpus() -> Path:
    """``egs/ljspeech/mini_corpus`` of the source tree this package runs from."""
    return Path(__file__).resolve().parents[3] / "egs" / "ljspeech" / "mini_corpus"


def read_metadata(corpus: PathLike) -> List[Utterance]:
    """Read ``<corpus>/metadata.csv`` and find each utterance's audio (``wavs/<id>.wav``,
    else ``.flac``), in file order.

    Raises:
        UserError: missing corpus/metadata, a line without three ``|`` fields, an empty
            normalised text, a duplicate id or a missing audio file (naming the line).
    """
    root = Path(corpus)
    if not root.is_dir():
        raise UserError("LJSpeech corpus directory not found", root)
    metadata = root / "metadata.csv"
    wavs = root / "wavs"
    utterances: List[Utterance] = []
    seen: Dict[str, int] = {}
    for number, line in tqdm(read_lines(metadata), desc="ljspeech metadata", unit="utt", leave=False):
        fields = line.split("|")
        if len(fields) != 3:
            raise UserError(f"expected 'id|raw text|normalised text', got {len(fields)} field(s)", metadata, number)
        utt_id, _, normalised = (f.strip() for f in fields)
        if not utt_id or any(c.isspace() for c in utt_id):
            raise UserError(f"bad utterance id {utt_id!r}", metadata, number)
        if not normalised:
            raise UserError(f"empty normalised text for {utt_id}", metadata, number)
        if utt_id in seen:
            raise UserError(f"duplicate id {utt_id} (first on line {seen[utt_id]})", metadata, number)
        seen[utt_id] = number
        audio = next((p for p in (wavs / f"{utt_id}.wav", wavs / f"{utt_id}.flac") if p.is_file()), None)
        if audio is None:
            raise UserError(f"no audio for {utt_id} (looked for {wavs / utt_id}.wav and .flac)", metadata, number)
        utterances.append(Utterance(utt_id, audio.resolve(), " ".join(normalised.split())))
    if not utterances:
        raise UserError("metadata.csv lists no utterances", metadata)
    return utterances


def split_espnet(utterances: List[Utterance], held_out: Tuple[int, int]) -> Dict[str, List[Utterance]]:
    """ESPnet's LJSpeech split: the last ``dev + eval`` utterances in file order become
    ``dev`` (first part) and ``eval`` (last part); the rest ``train``."""
    n_dev, n_eval = held_out
    if len(utterances) <= n_dev + n_eval:
        raise UserError(
            f"need more than {n_dev + n_eval} utterances to hold out {n_dev} dev + {n_eval} eval, got {len(utterances)}"
            " (see --dev-size/--eval-size)"
        )
    cut = len(utterances) - n_dev - n_eval
    return {
        "train": utterances[:cut],
        "dev": utterances[cut : cut + n_dev],
        "eval": utterances[cut + n_dev :],
    }


def to_data_dir(utterances: List[Utterance], speaker: str = SPEAKER) -> DataDir:
    """A Kaldi data directory: ``wav.scp`` (absolute paths), ``text`` (normalised), one speaker."""
    return DataDir(
        wav_scp={u.utt_id: audio_entry(u.audio) for u in utterances},
        text={u.utt_id: u.text for u in utterances},
        utt2spk={u.utt_id: speaker for u in utterances},
    )


def with_speaker_prefix(utterances: List[Utterance], speaker: str) -> List[Utterance]:
    """The same utterances with ids ``<speaker>_<id>`` (:func:`speaker_prefixed`)."""
    return [replace(u, utt_id=speaker_prefixed(speaker, u.utt_id)) for u in utterances]


def prepare_ljspeech(
    out: PathLike, corpus: Optional[PathLike] = None, held_out: Optional[Tuple[int, int]] = None, speaker_prefix: bool = False
) -> Dict[str, int]:
    """Write ``<out>/train``, ``<out>/dev``, ``<out>/eval`` from LJSpeech-1.1 at ``corpus``
    (ESPnet split, 250/250 held out) or, when ``corpus`` is None, the bundled mini corpus (3/3).
    ``held_out`` = (dev, eval) sizes overrides those defaults; ``speaker_prefix`` writes ids
    ``LJ_LJ001-0001`` (for combining with other corpora that reuse LJSpeech's ids).

    Returns:
        utterances per set.
    """
    check_output_dir(out)  # before reading the corpus: a file in the way fails now
    root = Path(corpus) if corpus is not None else bundled_mini_corpus()
    if corpus is None and not root.is_dir():
        raise UserError("bundled mini corpus not found (run from a source checkout or pass --corpus)", root)
    utterances = read_metadata(root)
    if speaker_prefix:
        utterances = with_speaker_prefix(utterances, SPEAKER)
    if held_out is None:
        held_out = FULL_HELD_OUT if corpus is not None else MINI_HELD_OUT
    sets = split_espnet(utterances, held_out)
    counts: Dict[str, int] = {}
    for name in SETS:
        write_data_dir(to_data_dir(sets[name]), Path(out) / name)
        counts[name] = len(sets[name])
    return counts


@click.command(name="ljspeech")
@click.option("--out", "out", default="data", show_default=True, metavar="DIR", help="Write DIR/train, DIR/dev, DIR/eval.")
@click.option(
    "--corpus", default=None, metavar="DIR",
    help="LJSpeech-1.1 directory (metadata.csv, wavs/). Default: the bundled 32-clip mini corpus.",
)
@click.option("--dev-size", type=click.IntRange(min=1), default=None, help="Utterances in dev [250; mini: 3].")
@click.option("--eval-size", type=click.IntRange(min=1), default=None, help="Utterances in eval [250; mini: 3].")
@click.option("--speaker-prefix", is_flag=True, help="Utterance ids LJ_<id> (ids of other corpora reading LJSpeech's sentences never collide).")
def command(out: str, corpus: Optional[str], dev_size: Optional[int], eval_size: Optional[int], speaker_prefix: bool) -> None:
    """LJSpeech-1.1 (ESPnet split: last 500 -> 250 dev + 250 eval) or the bundled mini corpus.

    Without --corpus, the 32 bundled clips of egs/ljspeech/mini_corpus are split 26 train /
    3 dev / 3 eval. text holds the normalised column of metadata.csv; the speaker is LJ.

    \b
    Examples:
      speechtools data prepare ljspeech --out data
      speechtools data prepare ljspeech --out data --corpus /data/LJSpeech-1.1
    """
    default = FULL_HELD_OUT if corpus is not None else MINI_HELD_OUT
    held_out = (dev_size or default[0], eval_size or default[1])
    counts = prepare_ljspeech(out, corpus, held_out, speaker_prefix)
    for name in SETS:
        click.echo(f"{Path(out) / name}: {counts[name]} utterances")
