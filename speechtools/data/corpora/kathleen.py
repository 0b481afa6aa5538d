"""Prepare the Kathleen corpus (CC0; one US-English female speaker reading the CMU ARCTIC "a"
prompts) as Kaldi data directories for TTS.

Layout of ``--corpus``: ``wavs/arctic_aNNNN.flac`` (22.05 kHz mono) and ``text.psv``
(``id|text``). Held out, by a fixed list (not at random, so every run and every paper table
uses the same sentences):

* ``eval``: the last 50 prompts, ``arctic_a0544`` … ``arctic_a0593``;
* ``dev``: the 5 before them, ``arctic_a0539`` … ``arctic_a0543``;
* ``train``: every other prompt (538 of the 593).

``text`` holds the prompt through the English normaliser (numbers and abbreviations spelled
out), so it is both the TTS input and the WER reference; the speaker is ``kathleen``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

import click
from tqdm import tqdm

from speechtools.data.corpora import speaker_prefixed, write_data_dir
from speechtools.data.kaldi import DataDir
from speechtools.errors import PathLike, UserError
from speechtools.fileio import check_output_dir, read_lines

SPEAKER = "kathleen"
EVAL_IDS = tuple(f"arctic_a{n:04d}" for n in range(544, 594))
DEV_IDS = tuple(f"arctic_a{n:04d}" for n in range(539, 544))
SETS = ("train", "dev", "eval")


def read_prompts(corpus: PathLike) -> List[Tuple[str, Path, str]]:
    """``(id, audio, text)`` of every line of ``text.psv`` whose audio exists, in file order.

    Raises:
        UserError: missing corpus or ``text.psv``, a malformed or duplicate line, or a line
            without its ``wavs/<id>.flac`` (or ``.wav``).
    """
    root = Path(corpus)
    if not root.is_dir():
        raise UserError("Kathleen corpus directory not found", root)
    psv = root / "text.psv"
    out: List[Tuple[str, Path, str]] = []
    seen: Dict[str, int] = {}
    for number, line in tqdm(read_lines(psv), desc="kathleen prompts", unit="utt", leave=False):
        uttid, sep, text = line.partition("|")
        uttid, text = uttid.strip(), " ".join(text.split())
        if not sep or not uttid or not text or any(c.isspace() for c in uttid):
            raise UserError("expected 'id|text'", psv, number)
        if uttid in seen:
            raise UserError(f"duplicate id {uttid} (first on line {seen[uttid]})", psv, number)
        seen[uttid] = number
        audio = next((p for p in (root / "wavs" / f"{uttid}.flac", root / "wavs" / f"{uttid}.wav") if p.is_file()), None)
        if audio is None:
            raise UserError(f"no audio for {uttid} (looked for wavs/{uttid}.flac and .wav)", psv, number)
        out.append((uttid, audio.resolve(), text))
    if not out:
        raise UserError("text.psv lists no prompts", psv)
    return out


def split_kathleen(prompts: List[Tuple[str, Path, str]]) -> Dict[str, List[Tuple[str, Path, str]]]:
    """The fixed split of the module docstring (ids absent from the corpus are simply absent)."""
    eval_ids, dev_ids = set(EVAL_IDS), set(DEV_IDS)
    return {
        "train": [p for p in prompts if p[0] not in eval_ids and p[0] not in dev_ids],
        "dev": [p for p in prompts if p[0] in dev_ids],
        "eval": [p for p in prompts if p[0] in eval_ids],
    }


def prepare_kathleen(out: PathLike, corpus: PathLike, speaker_prefix: bool = False) -> Dict[str, int]:
    """Write ``<out>/{train,dev,eval}``; returns utterances per set. ``speaker_prefix`` writes ids
    ``kathleen_arctic_a0001`` (other CMU ARCTIC voices use the same prompt ids)."""
    check_output_dir(out)  # before reading the corpus: a file in the way fails now
    from speechtools.text.english_normalizer import normalize_english

    sets = split_kathleen(read_prompts(corpus))
    counts = {}
    for name in SETS:
        items = sets[name]
        if not items:
            raise UserError(f"the {name} set is empty (is this the Kathleen corpus?)", corpus)
        ids = [speaker_prefixed(SPEAKER, u) if speaker_prefix else u for u, _, _ in items]
        data = DataDir(
            wav_scp={k: str(a) for k, (_, a, _) in zip(ids, items)},
            text={k: normalize_english(t) for k, (_, _, t) in zip(ids, items)},
            utt2spk={k: SPEAKER for k in ids},
        )
        write_data_dir(data, Path(out) / name)
        counts[name] = len(items)
    return counts


@click.command(name="kathleen")
@click.option("--out", default="data", show_default=True, metavar="DIR", help="Write DIR/train, DIR/dev, DIR/eval.")
@click.option("--corpus", required=True, metavar="DIR", help="Folder with wavs/*.flac and text.psv.")
@click.option("--speaker-prefix", is_flag=True, help="Utterance ids kathleen_<id> (other CMU ARCTIC voices share the prompt ids).")
def command(out: str, corpus: str, speaker_prefix: bool) -> None:
    """Kathleen (CC0, CMU ARCTIC "a" prompts): fixed held-out 50 eval + 5 dev prompts.

    \b
    Example:
      speechtools data prepare kathleen --out data --corpus /data/kathleen
    """
    counts = prepare_kathleen(out, corpus, speaker_prefix)
    for name in SETS:
        click.echo(f"{Path(out) / name}: {counts[name]} utterances")
