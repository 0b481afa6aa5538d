"""Prepare LibriTTS (Zen et al. 2019, CC-BY-4.0, openslr.org/60) as Kaldi data directories.

Layout read (as released; verified on a fixture with real file names only, not on the corpus):
``<corpus>/<subset>/<speaker>/<chapter>/<speaker>_<chapter>_<paragraph>_<sentence>.wav``
(24 kHz), beside each wav its ``.normalized.txt`` and ``.original.txt`` (one sentence, often
without a final newline), and per chapter ``<speaker>_<chapter>.book.tsv`` and ``.trans.tsv``.
``text`` is the ``.normalized.txt`` sentence (numbers, abbreviations already spelled out); the
speaker is the speaker folder; the utterance id is the wav's name, already speaker-prefixed.

Sets, as ESPnet's ``egs2/libritts/tts1``: ``train`` = train-clean-100 + train-clean-360,
``dev`` = dev-clean, ``eval`` = test-clean; each chosen with ``--train-subsets`` etc. (e.g. add
train-other-500; an empty value writes no such set).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence

import click
from tqdm import tqdm

from speechtools.data.corpora import audio_entry, read_sentence_file, write_sets
from speechtools.data.kaldi import DataDir
from speechtools.errors import PathLike, UserError
from speechtools.fileio import check_output_dir, checked_id

SUBSETS = ("train-clean-100", "train-clean-360", "train-other-500", "dev-clean", "dev-other", "test-clean", "test-other")
DEFAULT_SETS = {"train": ("train-clean-100", "train-clean-360"), "dev": ("dev-clean",), "eval": ("test-clean",)}


def parse_subsets(value: str) -> List[str]:
    """``"train-clean-100,train-clean-360"`` → the names, each one of :data:`SUBSETS`."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    for name in names:
        if name not in SUBSETS:
            raise UserError(f"unknown LibriTTS subset {name!r}; known: {', '.join(SUBSETS)}")
    return names


def read_subset(corpus: PathLike, subset: str) -> DataDir:
    """Every utterance of ``<corpus>/<subset>`` as a data directory.

    Raises:
        UserError: a missing subset folder, a wav not named ``<speaker>_<chapter>_...``, a missing
            or empty ``.normalized.txt`` (named by path), or no wav at all.
    """
    folder = Path(corpus) / subset
    if not folder.is_dir():
        raise UserError(f"LibriTTS subset folder {subset} not found", folder)
    data = DataDir(wav_scp={}, text={}, utt2spk={})
    for wav in tqdm(sorted(folder.glob("*/*/*.wav")), desc=f"libritts {subset}", unit="wav", leave=False):
        speaker, chapter, utt = wav.parent.parent.name, wav.parent.name, wav.name[: -len(".wav")]
        if not utt.startswith(f"{speaker}_{chapter}_"):
            raise UserError(f"expected a file name {speaker}_{chapter}_*.wav in folder {speaker}/{chapter}", wav)
        checked_id(utt, "utterance id", wav)
        data.wav_scp[utt] = audio_entry(wav)
        data.text[utt] = read_sentence_file(wav.with_name(f"{utt}.normalized.txt"))  # type: ignore[index]
        data.utt2spk[utt] = checked_id(speaker, "speaker id", wav.parent.parent)  # type: ignore[index]
    if not data.wav_scp:
        raise UserError(f"no <speaker>/<chapter>/*.wav in subset {subset}", folder)
    return data


def merge_subsets(corpus: PathLike, subsets: Sequence[str]) -> DataDir:
    """The union of :func:`read_subset` over ``subsets`` (an id in two subsets is an error)."""
    merged = DataDir(wav_scp={}, text={}, utt2spk={})
    for subset in subsets:
        part = read_subset(corpus, subset)
        twice = sorted(set(part.wav_scp) & set(merged.wav_scp))
        if twice:
            raise UserError(f"utterance {twice[0]} appears in {subset} and an earlier subset", Path(corpus) / subset)
        for attr in ("wav_scp", "text", "utt2spk"):
            getattr(merged, attr).update(getattr(part, attr))
    return merged


def prepare_libritts(out: PathLike, corpus: PathLike, sets: Dict[str, Sequence[str]] = DEFAULT_SETS) -> Dict[str, int]:
    """Write ``<out>/<set>`` for each set with subsets (``{"train": [...], "dev": [...], ...}``).

    Returns:
        utterances per set written.
    """
    check_output_dir(out)  # before reading the corpus: a file in the way fails now
    if not Path(corpus).is_dir():
        raise UserError("LibriTTS corpus directory not found", corpus)
    chosen = {name: list(subsets) for name, subsets in sets.items() if subsets}
    if not chosen:
        raise UserError("no subsets chosen: give at least one of --train-subsets, --dev-subsets, --eval-subsets")
    data = {name: merge_subsets(corpus, subsets) for name, subsets in chosen.items()}
    return write_sets(data, out)


@click.command(name="libritts")
@click.option("--corpus", required=True, metavar="DIR", help="The LibriTTS folder holding train-clean-100/, dev-clean/, ...")
@click.option("--out", default="data", show_default=True, metavar="DIR", help="Write DIR/train, DIR/dev, DIR/eval.")
@click.option("--train-subsets", default=",".join(DEFAULT_SETS["train"]), show_default=True, help="Comma-separated subsets for train ('' for none).")
@click.option("--dev-subsets", default=",".join(DEFAULT_SETS["dev"]), show_default=True, help="Subsets for dev ('' for none).")
@click.option("--eval-subsets", default=",".join(DEFAULT_SETS["eval"]), show_default=True, help="Subsets for eval ('' for none).")
def command(corpus: str, out: str, train_subsets: str, dev_subsets: str, eval_subsets: str) -> None:
    """LibriTTS (ESPnet sets: train-clean-100+360 / dev-clean / test-clean).

    text is each wav's .normalized.txt; the speaker is its speaker folder; ids are the wav names.

    \b
    Example:
      speechtools data prepare libritts --corpus /data/LibriTTS --out data/libritts
      speechtools data prepare libritts --corpus /data/LibriTTS --train-subsets train-clean-100 --dev-subsets '' --eval-subsets ''
    """
    sets = {"train": parse_subsets(train_subsets), "dev": parse_subsets(dev_subsets), "eval": parse_subsets(eval_subsets)}
    for name, count in prepare_libritts(out, corpus, sets).items():
        click.echo(f"{Path(out) / name}: {count} utterances")
