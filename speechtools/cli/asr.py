"""``speechtools asr``: train and run our recogniser; decode with pocketsphinx (intelligibility scoring)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional, TypeVar

import click

from speechtools.cli.options import OUTPUT_FILE, FiniteRange, device_option, nj_option
from speechtools.cli.train import train
from speechtools.errors import UserError

F = TypeVar("F", bound=Callable)


@click.group()
def asr() -> None:
    """Speech recognition: train a CTC/attention recogniser, decode with it or with pocketsphinx.

    \b
    Examples:
      speechtools asr train --config conf/asr/ctc_attention_small.yaml --out-dir exp/asr
      speechtools asr decode data/test --model-dir exp/asr --beam-size 10 --out exp/asr/decode_test/text
      speechtools asr decode data/eval --out exp/asr_eval.txt     # pocketsphinx (extra `asr`)
    """


asr.add_command(train, name="train")


def _jobs(data_dir: Optional[str], wav_scp: Optional[str]) -> List["Job"]:  # noqa: F821 (lazy import below)
    """The utterances of a data directory (``wav.scp``, optional ``segments``) or of a bare ``wav.scp`` file."""
    from speechtools.audio.extract import Job, plan_jobs
    from speechtools.data.kaldi import DataDir, read_records
    from speechtools.fileio import checked_id

    if (data_dir is None) == (wav_scp is None):
        raise UserError("give a data directory or --wav-scp (one of them)")
    if data_dir is not None:
        return plan_jobs(DataDir.load(data_dir, files=["wav.scp", "segments"]))
    jobs: List[Job] = []
    for record in read_records(str(wav_scp)):
        checked_id(record.key, "utterance id", wav_scp, record.line)
        jobs.append(Job(record.key, record.value, where=(str(wav_scp), record.line)))
    if not jobs:
        raise UserError("no utterances", wav_scp)
    return jobs


def search_options(f: F) -> F:
    """The search options of our recogniser (``asr decode``, ``pseudo-pairs transcribe``), read by :func:`decode_options`."""
    for option in reversed((
        click.option("--beam-size", type=click.IntRange(min=1), default=1, show_default=True,
                     help="1 with --ctc-weight 1: greedy CTC; otherwise joint CTC/attention beam search."),
        click.option("--ctc-weight", type=FiniteRange(0.0, 1.0), default=None, help="CTC weight of the search [default: the training weight]."),
        click.option("--lm-dir", default=None, help="Language-model directory (same tokens.txt) for shallow fusion."),
        click.option("--lm-weight", type=FiniteRange(0.0, None), default=0.0, show_default=True, help="Weight of the language model."),
        click.option("--length-bonus", type=FiniteRange(), default=0.0, show_default=True, help="Score added per output token."),
        click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True, help="Utterances per batch (greedy CTC)."),
    )):
        f = option(f)
    return f


def decode_options(beam_size: int, ctc_weight: Optional[float], lm_dir: Optional[str], lm_weight: float, length_bonus: float,
                   batch_size: int) -> "DecodeOptions":  # noqa: F821 (lazy import below)
    """The :class:`DecodeOptions` of :func:`search_options`: beam 1 without LM or CTC weight is greedy CTC."""
    from speechtools.asr.recognizer import DecodeOptions

    return DecodeOptions(beam_size=beam_size, ctc_weight=1.0 if beam_size == 1 and ctc_weight is None and lm_dir is None else ctc_weight,
                         lm_dir=lm_dir, lm_weight=lm_weight, length_bonus=length_bonus, batch_size=batch_size)


@asr.command()
@click.argument("data_dir", required=False)
@click.option("--wav-scp", default=None, help="A wav.scp file to decode instead of DATA_DIR.")
@click.option("--out", required=True, type=OUTPUT_FILE, help="Kaldi text file of hypotheses to write ('uttid words').")
@click.option("--model-dir", default=None, help="Our recogniser's model directory (speechtools asr train); without it, pocketsphinx.")
@click.option("--n-best", type=click.IntRange(min=1), default=None,
              help="pocketsphinx only: write `id<TAB>1-best<TAB>cand1 ||| cand2 ...` (asr_hyp.tsv's format) with the "
                   "first N entries of its n-best list, for `correct-asr --n-best` and FastCorrect 2.")
@search_options
@nj_option
@device_option
def decode(data_dir: Optional[str], wav_scp: Optional[str], out: str, model_dir: Optional[str], n_best: Optional[int],
           beam_size: int, ctc_weight: Optional[float], lm_dir: Optional[str], lm_weight: float, length_bonus: float,
           batch_size: int, nj: int, device: str) -> None:
    """Recognise every utterance of DATA_DIR (wav.scp, optional segments) or of --wav-scp.

    Audio at any sample rate is resampled to the model's. With --model-dir, an unreadable, empty
    or too short recording is reported on one line and the others are still decoded (then the
    command exits with status 1). Without --model-dir, pocketsphinx decodes (16 kHz).

    \b
    Examples:
      speechtools asr decode data/test --model-dir exp/asr --out exp/asr/decode_test/text
      speechtools asr decode --wav-scp my/wav.scp --model-dir exp/asr --beam-size 10 --ctc-weight 0.3 --out hyp.txt
      speechtools asr decode exp/fs2/decode_eval --out exp/fs2/decode_eval/asr.txt
      speechtools asr decode data/train --n-best 4 --out data/train/asr_hyp.tsv   # pocketsphinx 4-best
    """
    from speechtools.data.kaldi import write_table

    if model_dir is None:
        if wav_scp is not None or data_dir is None:
            raise UserError("pocketsphinx decoding takes a data directory (give --model-dir to decode a wav.scp)")
        _pocketsphinx(data_dir, out, n_best)
        return
    if n_best is not None:
        raise UserError("--n-best is for pocketsphinx decoding (leave out --model-dir)")
    from speechtools.asr.recognizer import decode_jobs

    options = decode_options(beam_size, ctc_weight, lm_dir, lm_weight, length_bonus, batch_size)
    jobs = _jobs(data_dir, wav_scp)
    hyps, failures = decode_jobs(model_dir, jobs, options, device=device, nj=nj)
    if hyps:
        write_table(out, hyps)
    for _, reason in failures:
        click.echo(f"error: {reason}", err=True)
    click.echo(f"wrote {out} ({len(hyps)} utterances)" if hyps else "no utterance could be decoded")
    if failures:
        raise UserError(f"{len(failures)} of {len(jobs)} utterance(s) could not be decoded (listed above)")


def _pocketsphinx(data_dir: str, out: str, n_best: Optional[int] = None) -> None:
    """Recognise every utterance of ``data_dir`` with pocketsphinx at 16 kHz: a Kaldi text of
    1-best hypotheses, or with ``n_best`` the n-best lines of
    :func:`~speechtools.correction.multi_alignment.format_nbest_tsv`."""
    from tqdm import tqdm

    from speechtools.asr.pocketsphinx_asr import SAMPLE_RATE, PocketsphinxRecognizer
    from speechtools.audio.io import load_audio
    from speechtools.correction.multi_alignment import format_nbest_tsv
    from speechtools.data.kaldi import data_file, read_segments, read_table, write_table
    from speechtools.fileio import write_lines

    root = Path(data_dir)
    scp = read_table(root / "wav.scp")
    segments_path = data_file(root, "segments")
    segments = read_segments(segments_path) if segments_path is not None else None
    recognizer = PocketsphinxRecognizer()
    hyps: Dict[str, List[str]] = {}
    keys = sorted(segments) if segments else sorted(scp)
    for uttid in tqdm(keys, desc="asr decode", unit="utt"):
        if segments:
            seg = segments[uttid]
            wav = load_audio(scp[seg.wav_id], SAMPLE_RATE, (seg.start, seg.end), resample=True, utt_id=uttid)
        else:
            wav = load_audio(scp[uttid], SAMPLE_RATE, resample=True, utt_id=uttid)
        hyps[uttid] = recognizer.recognize_nbest(wav, n_best or 0)
    if n_best is None:
        write_table(out, {u: cands[0] for u, cands in hyps.items()})
    else:
        write_lines(out, [format_nbest_tsv(u, hyps[u]) for u in keys])
    click.echo(f"wrote {out} ({len(hyps)} utterances)")
