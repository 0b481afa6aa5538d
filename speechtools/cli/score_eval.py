"""``speechtools score vocoder``, ``naturalness`` and ``similarity``: judges of synthesised speech (the ``eval`` extra)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence

import click

from speechtools.cli.options import OUTPUT_DIR, OUTPUT_FILE

if TYPE_CHECKING:
    from speechtools.scoring.audio_sets import AudioSet
    from speechtools.scoring.judges.asr_wer import AsrWer
    from speechtools.scoring.judges.base import Judge, Utterance


def pocketsphinx_judge() -> "AsrWer":
    """The pocketsphinx WER judge (``--asr``), or one line naming the extra that installs pocketsphinx."""
    from speechtools.scoring.judges.asr_wer import AsrWer
    from speechtools.scoring.judges.base import require

    require("pocketsphinx")
    from speechtools.asr.pocketsphinx_asr import SAMPLE_RATE, PocketsphinxRecognizer

    return AsrWer(PocketsphinxRecognizer().recognize, SAMPLE_RATE)


def transcripts(ref: "AudioSet", ref_path: str, ids: Sequence[str]) -> Dict[str, str]:
    """The reference transcripts of ``ids`` (``--asr``); one line if the data directory has none or lacks one."""
    from speechtools.errors import UserError

    if ref.text is None:
        raise UserError("--asr needs the reference transcripts: give --ref as a data directory with a text file", ref_path)
    lacking = [u for u in ids if u not in ref.text]
    if lacking:
        raise UserError(f"no transcript for utterance {lacking[0]!r} (--asr)", Path(ref_path) / "text")
    return ref.text


def _judge(judges: Sequence["Judge"], utterances: Sequence["Utterance"], progress: str, notes: List[str], out_dir: Optional[str],
           json_out: Optional[str], files: Callable[[], Dict[str, List[str]]] = dict) -> None:
    """Score, print the per-utterance and summary tables, write ``--out-dir`` and ``--json`` (together or not at all)."""
    from speechtools.fileio import atomic_dir, write_lines
    from speechtools.scoring.judges.base import judge_all
    from speechtools.scoring.judges.summary import report_dict, summaries, summary_markdown, tsv_lines, utterance_markdown
    from speechtools.scoring.report import write_json

    table = judge_all(judges, utterances, lambda line: click.echo(f"warning: {line}", err=True), progress)
    sums = summaries(table)
    summary = [summary_markdown(table, sums), *notes]
    click.echo(utterance_markdown(table))
    click.echo()
    for line in summary:
        click.echo(line)
    with contextlib.ExitStack() as stack:
        if out_dir is not None:  # the folder is swapped in after the JSON file is written: both or neither
            out = stack.enter_context(atomic_dir(out_dir))
            write_lines(out / "per_utt.tsv", tsv_lines(table))
            write_lines(out / "summary.md", summary)
            for name, lines in files().items():
                write_lines(out / name, lines)
        if json_out is not None:
            write_json(json_out, {**report_dict(table, sums), "notes": notes})


@click.command()
@click.option("--ref", "ref_path", required=True, metavar="DATA_DIR|wav.scp",
              help="The real recordings: a data directory (wav.scp, optional segments; text for --asr) or a wav.scp file.")
@click.option("--hyp", "hyp_path", required=True, metavar="DIR|wav.scp",
              help="The vocoder's copy-synthesis of them: a directory with wav.scp (as synth writes) or a wav.scp file.")
@click.option("--asr", is_flag=True, help="Also the pocketsphinx WER of the output against REF's text (case-folded, no punctuation).")
@click.option("--mode", type=click.Choice(["strict", "present"]), default="strict", show_default=True,
              help="A reference utterance without an output: strict = an error; present = skip it (as score wer).")
@click.option("--feats-conf", default=None, help="Feature YAML of the MCD analysis [default: built-in 22.05 kHz log-mel].")
@click.option("--order", type=click.IntRange(min=1), default=24, show_default=True, help="Mel-cepstrum order of MCD (c1..cN).")
@click.option("--out-dir", default=None, type=OUTPUT_DIR, help="Write per_utt.tsv and summary.md (and asr_hyp.txt with --asr) here.")
@click.option("--json", "json_out", default=None, type=OUTPUT_FILE, help="Write the summary and per-utterance values as JSON.")
def vocoder(ref_path: str, hyp_path: str, asr: bool, mode: str, feats_conf: Optional[str], order: int,
            out_dir: Optional[str], json_out: Optional[str]) -> None:
    """Judge a vocoder's copy-synthesis against the real recordings it was made from.

    Per utterance and as a mean with its 95% interval: MCD (dB, re-analysed log-mels, DTW),
    wide-band PESQ and STOI (at 16 kHz, against the recording trimmed to the same length; a pair
    whose lengths differ by more than 0.05 s is not time-aligned and gets none), DNSMOS P.808 MOS
    and P.835 OVRL/SIG/BAK of the output, and with --asr the pocketsphinx WER of the output (the
    corpus WER with its bootstrap interval). Needs the extra: pip install 'speechtools[eval]'.

    \b
    Example:
      speechtools score vocoder --ref data/eval --hyp exp/hifigan/copy_eval --asr --out-dir exp/hifigan/copy_eval/scoring
    """
    from speechtools.audio.features import FeatureConfig
    from speechtools.config import from_dict, load_config
    from speechtools.scoring.audio_sets import pair_ids, read_audio_set
    from speechtools.scoring.judges.base import Audio, Judge, Utterance
    from speechtools.scoring.judges.mcd import MelCepstralDistortion
    from speechtools.scoring.judges.naturalness import Naturalness
    from speechtools.scoring.judges.speech_quality import SpeechQuality

    cfg = from_dict(FeatureConfig, load_config(feats_conf)) if feats_conf else FeatureConfig()
    judges: List[Judge] = [MelCepstralDistortion(cfg, order), SpeechQuality(), Naturalness()]
    asr_judge = pocketsphinx_judge() if asr else None
    if asr_judge is not None:
        judges.append(asr_judge)
    for judge in judges:
        judge.load()
    ref = read_audio_set(ref_path, text=asr)
    hyp = read_audio_set(hyp_path)
    pairing = pair_ids(ref, hyp, mode)
    texts = transcripts(ref, ref_path, pairing.ids) if asr else {}
    utterances = [Utterance(u, Audio(hyp.jobs[u]), Audio(ref.jobs[u]), texts.get(u)) for u in pairing.ids]

    def files() -> Dict[str, List[str]]:
        if asr_judge is None:
            return {}
        heard = asr_judge.transcripts
        return {"asr_hyp.txt": [f"{u} {heard[u]}".rstrip() for u in sorted(heard)]}

    _judge(judges, utterances, "score vocoder", pairing.skipped_lines(), out_dir, json_out, files)


@click.command()
@click.option("--hyp", "hyp_path", required=True, metavar="DIR|wav.scp",
              help="The speech to judge: a directory with wav.scp (optional segments) or a wav.scp file.")
@click.option("--json", "json_out", default=None, type=OUTPUT_FILE, help="Write the summary and per-utterance values as JSON.")
def naturalness(hyp_path: str, json_out: Optional[str]) -> None:
    """DNSMOS naturalness of speech without a reference: P.808 MOS and P.835 OVRL/SIG/BAK.

    Per utterance and as a mean with its 95% interval. Predictions of networks trained on
    listening tests of noisy and enhanced speech: they rank outputs of one corpus, they are not a
    listening test. Needs the extra: pip install 'speechtools[eval]'.

    \b
    Example:
      speechtools score naturalness --hyp exp/fs2/decode_eval --json exp/fs2/decode_eval/dnsmos.json
    """
    from speechtools.errors import UserError
    from speechtools.scoring.audio_sets import read_audio_set
    from speechtools.scoring.judges.base import Audio, Utterance
    from speechtools.scoring.judges.naturalness import Naturalness

    judge = Naturalness()
    judge.load()
    hyp = read_audio_set(hyp_path)
    if not hyp.jobs:
        raise UserError("no utterances in this file", hyp.listing)
    utterances = [Utterance(u, Audio(job)) for u, job in hyp.jobs.items()]
    _judge([judge], utterances, "score naturalness", [], None, json_out)


@click.command()
@click.option("--ref", "ref_path", required=True, metavar="DIR|wav.scp",
              help="Real speech of the speaker: a data directory (wav.scp, optional segments) or a wav.scp file.")
@click.option("--hyp", "hyp_path", required=True, metavar="DIR|wav.scp",
              help="The speech to judge: a directory with wav.scp (as synth writes) or a wav.scp file.")
@click.option("--against", type=click.Choice(["utterance", "centroid"]), default="utterance", show_default=True,
              help="utterance = the REF recording with the same id; centroid = the mean d-vector of all REF "
                   "utterances but the one with the same id (ids need not match).")
@click.option("--mode", type=click.Choice(["strict", "present"]), default="strict", show_default=True,
              help="--against utterance: a reference utterance without an output: strict = an error; present = skip it.")
@click.option("--out-dir", default=None, type=OUTPUT_DIR, help="Write per_utt.tsv and summary.md here.")
@click.option("--json", "json_out", default=None, type=OUTPUT_FILE, help="Write the summary and per-utterance values as JSON.")
def similarity(ref_path: str, hyp_path: str, against: str, mode: str, out_dir: Optional[str], json_out: Optional[str]) -> None:
    """Speaker similarity: cosine of resemblyzer d-vectors of HYP and of real speech of the speaker.

    Per utterance and as a mean with its 95% interval. --against utterance compares each output
    with the recording of the same id (as score vocoder pairs them); --against centroid with the
    re-normalised mean d-vector of the REF utterances, leaving out a REF utterance with the
    output's own id. Needs the extra: pip install 'speechtools[eval]'.

    \b
    Examples:
      speechtools score similarity --ref data/eval --hyp exp/fs2/decode_eval --json exp/fs2/decode_eval/sim.json
      speechtools score similarity --ref data/train --hyp exp/fs2/decode_eval --against centroid
    """
    from speechtools.errors import UserError
    from speechtools.scoring.audio_sets import pair_ids, read_audio_set
    from speechtools.scoring.judges.base import Audio, Utterance
    from speechtools.scoring.judges.speaker_similarity import CentroidSimilarity, SpeakerSimilarity

    judge = CentroidSimilarity() if against == "centroid" else SpeakerSimilarity()
    judge.load()
    ref = read_audio_set(ref_path)
    hyp = read_audio_set(hyp_path)
    if not isinstance(judge, CentroidSimilarity):
        pairing = pair_ids(ref, hyp, mode)
        utterances = [Utterance(u, Audio(hyp.jobs[u]), Audio(ref.jobs[u])) for u in pairing.ids]
        _judge([judge], utterances, "score similarity", pairing.skipped_lines(), out_dir, json_out)
        return
    for audio_set, role in ((ref, "reference"), (hyp, "output")):
        if not audio_set.jobs:
            raise UserError(f"no {role} utterances in this file", audio_set.listing)
    judge.enroll({u: Audio(job) for u, job in ref.jobs.items()}, lambda line: click.echo(f"warning: {line}", err=True))
    if not judge.members:
        raise UserError("no reference utterance has enough speech for a speaker embedding", ref.listing)
    shared = len(set(hyp.jobs) & set(judge.members))
    notes = [f"centroid of {len(judge.members)} reference utterance(s)"]
    if shared:
        notes.append(f"{shared} output(s) share an id with a reference utterance, left out of their centroid")
    utterances = [Utterance(u, Audio(job)) for u, job in hyp.jobs.items()]
    _judge([judge], utterances, "score similarity", notes, out_dir, json_out)
