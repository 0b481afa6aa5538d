"""Prepare the Philipp corpus (Apache-2.0, PhilippMatthes/dc_tts) for voice adaptation.

One non-native adult male English speaker reading 141 LJSpeech sentences on a home microphone
(other acoustic conditions than LJSpeech or Kathleen): the adaptation target of the AdaSpeech
recipe, a voice the source model never hears. Layout of ``--corpus``: LJSpeech's
(``metadata.csv`` with ``id|raw|normalised`` lines, ``wavs/<id>.flac``), read by the LJSpeech
preparation's own reader, so ``text`` is the normalised column exactly as there.

The ids are LJSpeech's (``LJ001-0001``...), so they would collide with LJSpeech's own clips:
every utterance id is prefixed with the speaker, ``philipp_LJ001-0001`` (Kaldi convention).

Fixed split, by the id lists below (not by folder or file order, not at random):

* ``adapt``: the first 20 sentences in metadata order, ``LJ001-0001`` ... ``LJ001-0136``
  (:data:`ADAPT_IDS`). Why these: they hold all four sentences (LJ001-0001/0009/0010/0012) whose
  text is also in the bundled 32-clip LJSpeech mini corpus that the source model trains on, so
  no held-out sentence's text was seen in source training; and "the first 20" is easy to state.
* ``eval``: the other 121 (:data:`EVAL_IDS`), ``LJ001-0138`` ... ``LJ003-0098``.

A clip outside both lists is left out (counted on stderr); a missing adaptation clip is an error
(the recipe adapts on exactly these 20); missing eval clips are counted on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import click

from speechtools.data.corpora import write_sets
from speechtools.data.corpora.ljspeech import read_metadata, to_data_dir, with_speaker_prefix
from speechtools.errors import PathLike, UserError
from speechtools.fileio import check_output_dir

SPEAKER = "philipp"
SETS = ("adapt", "eval")
ADAPT_IDS = tuple(
    f"LJ001-{n:04d}" for n in (1, 9, 10, 12, 35, 45, 49, 54, 58, 64, 66, 73, 74, 85, 92, 93, 107, 123, 125, 136)
)
EVAL_IDS = (
    tuple(f"LJ001-{n:04d}" for n in (138, 142, 143, 145, 147, 149, 152, 157, 159, 160, 163, 169, 174, 176))
    + tuple(f"LJ002-{n:04d}" for n in (7, 12, 25, 33, 39, 49, 53, 54, 73))
    + tuple(f"LJ003-{n:04d}" for n in range(1, 99))
)


def prepare_philipp(out: PathLike, corpus: PathLike) -> Dict[str, int]:
    """Write ``<out>/adapt`` and ``<out>/eval`` (the fixed split of the module docstring).

    Returns:
        utterances per set.

    Raises:
        UserError: as :func:`~speechtools.data.corpora.ljspeech.read_metadata`, a missing
            adaptation clip, or no eval clip at all.
    """
    check_output_dir(out)  # before reading the corpus: a file in the way fails now
    utterances = read_metadata(corpus)
    metadata = Path(corpus) / "metadata.csv"
    by_id = {u.utt_id: u for u in utterances}
    missing = [i for i in ADAPT_IDS if i not in by_id]
    if missing:
        raise UserError(f"{len(missing)} of the 20 adaptation clips missing ({', '.join(missing[:3])}...): is this the Philipp corpus?", metadata)
    listed = set(ADAPT_IDS) | set(EVAL_IDS)
    unlisted = [u.utt_id for u in utterances if u.utt_id not in listed]
    if unlisted:
        click.echo(f"philipp: {len(unlisted)} clip(s) outside the fixed split left out ({', '.join(unlisted[:3])}...)", err=True)
    eval_ids = [i for i in EVAL_IDS if i in by_id]
    if not eval_ids:
        raise UserError("none of the 121 eval clips found: is this the Philipp corpus?", metadata)
    if len(eval_ids) < len(EVAL_IDS):
        click.echo(f"philipp: {len(EVAL_IDS) - len(eval_ids)} of the {len(EVAL_IDS)} eval clips not in the corpus", err=True)
    sets = {"adapt": list(ADAPT_IDS), "eval": eval_ids}
    return write_sets(
        {name: to_data_dir(with_speaker_prefix([by_id[i] for i in ids], SPEAKER), SPEAKER) for name, ids in sets.items()}, out
    )


@click.command(name="philipp")
@click.option("--corpus", required=True, metavar="DIR", help="Philipp corpus folder (metadata.csv, wavs/*.flac).")
@click.option("--out", default="data", show_default=True, metavar="DIR", help="Write DIR/adapt, DIR/eval.")
def command(corpus: str, out: str) -> None:
    """Philipp (non-native male, home mic): fixed 20 adapt + 121 eval sentences.

    Utterance ids are philipp_<LJSpeech id>; text is the normalised column of metadata.csv.

    \b
    Example:
      speechtools data prepare philipp --corpus ../shared/corpora/philipp --out data/philipp
    """
    counts = prepare_philipp(out, corpus)
    for name in SETS:
        click.echo(f"{Path(out) / name}: {counts[name]} utterances")
