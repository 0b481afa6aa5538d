"""Prepare VCTK 0.92 (Yamagishi et al. 2019, CC-BY-4.0, doi:10.7488/ds/2645) as Kaldi data directories.

Layout read (as released; verified on a fixture with real file names only, not on the corpus):
``<corpus>/wav48_silence_trimmed/<spk>/<spk>_<nnn>_mic1.flac`` (and ``_mic2``; 48 kHz) and
``<corpus>/txt/<spk>/<spk>_<nnn>.txt`` (one sentence). The utterance id is ``<spk>_<nnn>``
(already speaker-prefixed), the speaker ``<spk>``; one microphone is used (``--mic``, default
mic1). ``text`` is the sentence through the English normaliser (numbers spelled out), as for
Kathleen. Audio without a transcript (all of p315 in 0.92) and transcripts without audio of the
chosen microphone are skipped and counted in one line on stderr.

Sets: ``all`` (every kept utterance) or, with ``--adapt-size N``, a fixed per-speaker split for
adaptation: ``adapt`` = each speaker's first N utterances in id order (in VCTK the first ones
are the shared Rainbow Passage / elicitation sentences), ``eval`` = the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import click
from tqdm import tqdm

from speechtools.data.corpora import audio_entry, read_sentence_file, write_sets
from speechtools.data.kaldi import DataDir
from speechtools.errors import PathLike, UserError
from speechtools.fileio import check_output_dir, checked_id

WAV_DIR = "wav48_silence_trimmed"
MICS = ("mic1", "mic2")


def read_vctk(corpus: PathLike, mic: str = "mic1", speakers: Optional[Sequence[str]] = None) -> Tuple[DataDir, List[str]]:
    """Every utterance with audio of ``mic`` and a transcript, and one-line notes on what was skipped.

    Raises:
        UserError: a missing corpus, ``wav48_silence_trimmed/`` or ``txt/`` folder, an unknown
            speaker in ``speakers``, an empty transcript file (named), or nothing left.
    """
    from speechtools.text.english_normalizer import normalize_english

    root = Path(corpus)
    if not root.is_dir():
        raise UserError("VCTK corpus directory not found", root)
    wav_root, txt_root = root / WAV_DIR, root / "txt"
    for folder in (wav_root, txt_root):
        if not folder.is_dir():
            raise UserError(f"not a VCTK 0.92 folder: {folder.name}/ is missing", root)
    present = sorted(d.name for d in wav_root.iterdir() if d.is_dir())
    unknown = [s for s in speakers or () if s not in present]
    if unknown:
        raise UserError(f"speaker(s) {', '.join(unknown)} not in the corpus", wav_root)
    data = DataDir(wav_scp={}, text={}, utt2spk={})
    no_text: Dict[str, int] = {}
    no_audio = 0
    for speaker in tqdm(list(speakers) if speakers else present, desc="vctk speakers", unit="spk", leave=False):
        checked_id(speaker, "speaker id", wav_root / speaker)
        suffix = f"_{mic}.flac"
        audio = {p.name[: -len(suffix)]: p for p in sorted((wav_root / speaker).glob(f"{speaker}_*{suffix}"))}
        texts = {p.stem: p for p in sorted((txt_root / speaker).glob(f"{speaker}_*.txt"))}
        no_audio += len(set(texts) - set(audio))
        for utt, wav in audio.items():
            if utt not in texts:
                no_text[speaker] = no_text.get(speaker, 0) + 1
                continue
            checked_id(utt, "utterance id", wav)
            data.wav_scp[utt] = audio_entry(wav)
            data.text[utt] = normalize_english(read_sentence_file(texts[utt]))  # type: ignore[index]
            data.utt2spk[utt] = speaker  # type: ignore[index]
    notes = []
    if no_text:
        notes.append(f"vctk: {sum(no_text.values())} {mic} clip(s) without a transcript skipped"
                     f" ({', '.join(f'{s}: {n}' for s, n in sorted(no_text.items()))})")
    if no_audio:
        notes.append(f"vctk: {no_audio} transcript(s) without a {mic} clip skipped")
    if not data.wav_scp:
        raise UserError(f"no transcribed {mic} audio found", wav_root)
    return data, notes


def split_per_speaker(data: DataDir, adapt_size: int) -> Dict[str, DataDir]:
    """``adapt``: each speaker's first ``adapt_size`` utterances (sorted ids); ``eval``: the rest.

    Raises:
        UserError: a speaker with no more than ``adapt_size`` utterances (its eval set would be empty).
    """
    assert data.utt2spk is not None
    adapt: List[str] = []
    for speaker in data.speakers():
        utts = sorted(u for u, s in data.utt2spk.items() if s == speaker)
        if len(utts) <= adapt_size:
            raise UserError(f"speaker {speaker} has {len(utts)} utterance(s): need more than --adapt-size {adapt_size}")
        adapt += utts[:adapt_size]
    held = set(adapt)
    return {"adapt": data.select(adapt), "eval": data.select(u for u in data.wav_scp if u not in held)}


def prepare_vctk(
    out: PathLike, corpus: PathLike, mic: str = "mic1", speakers: Optional[Sequence[str]] = None, adapt_size: Optional[int] = None
) -> Dict[str, int]:
    """Write ``<out>/all`` or, with ``adapt_size``, ``<out>/adapt`` and ``<out>/eval``; returns utterances per set."""
    check_output_dir(out)  # before reading the corpus: a file in the way fails now
    data, notes = read_vctk(corpus, mic, speakers)
    for note in notes:
        click.echo(note, err=True)
    sets = {"all": data} if adapt_size is None else split_per_speaker(data, adapt_size)
    return write_sets(sets, out)


@click.command(name="vctk")
@click.option("--corpus", required=True, metavar="DIR", help="VCTK-Corpus-0.92 folder (wav48_silence_trimmed/, txt/).")
@click.option("--out", default="data", show_default=True, metavar="DIR", help="Write DIR/all, or DIR/adapt and DIR/eval.")
@click.option("--mic", type=click.Choice(MICS), default="mic1", show_default=True, help="Which microphone's recordings.")
@click.option("--speakers", default=None, metavar="LIST", help="Keep only these speakers, e.g. p225,p226 [all].")
@click.option("--adapt-size", type=click.IntRange(min=1), default=None, help="Per speaker: the first N utterances -> adapt, the rest -> eval.")
def command(corpus: str, out: str, mic: str, speakers: Optional[str], adapt_size: Optional[int]) -> None:
    """VCTK 0.92 (mic1 or mic2; optional per-speaker adapt/eval split).

    \b
    Example:
      speechtools data prepare vctk --corpus /data/VCTK-Corpus-0.92 --out data/vctk
      speechtools data prepare vctk --corpus /data/VCTK-Corpus-0.92 --speakers p225 --adapt-size 20 --out data/p225
    """
    chosen = [s.strip() for s in speakers.split(",") if s.strip()] if speakers is not None else None
    if chosen is not None and not chosen:
        raise click.BadParameter("give at least one speaker", param_hint="--speakers")
    for name, count in prepare_vctk(out, corpus, mic, chosen, adapt_size).items():
        click.echo(f"{Path(out) / name}: {count} utterances")
