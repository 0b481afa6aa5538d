"""``speechtools score tts``: MCD (with DTW) and log-F0 RMSE of synthesised speech against references."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, List

import click

from speechtools.cli.options import OUTPUT_DIR, OUTPUT_FILE

if TYPE_CHECKING:
    from speechtools.scoring.judges.base import Judge


def judges_of(dnsmos: bool, asr: bool) -> List["Judge"]:
    """The optional judges of ``score tts`` (DNSMOS, pocketsphinx WER), loaded; one line naming the extra if missing."""
    from speechtools.cli.score_eval import pocketsphinx_judge
    from speechtools.scoring.judges.naturalness import Naturalness

    judges: List["Judge"] = []
    if dnsmos:
        judges.append(Naturalness())
    if asr:
        judges.append(pocketsphinx_judge())
    for judge in judges:
        judge.load()
    return judges


@click.command()
@click.option("--ref", "ref_dir", required=True, help="Data directory of the real recordings (wav.scp).")
@click.option("--hyp", "hyp_dir", required=True, help="Directory with wav.scp of the synthesised utterances.")
@click.option("--feats-conf", default=None, help="Feature YAML (mel analysis and F0 range) [default: built-in 22.05 kHz].")
@click.option("--order", type=click.IntRange(min=1), default=24, show_default=True, help="Mel-cepstrum order (c1..cN).")
@click.option("--mode", type=click.Choice(["strict", "present"]), default="strict", show_default=True,
              help="A reference utterance without a hypothesis: strict = an error; present = skip it (as score wer).")
@click.option("--dnsmos", is_flag=True, help="Also DNSMOS P.808 / P.835 of the synthesised speech (extra eval).")
@click.option("--asr", is_flag=True, help="Also the pocketsphinx WER of the synthesised speech against REF's text (extra asr).")
@click.option("--out-dir", default=None, type=OUTPUT_DIR, help="Write summary.txt, per_utt.tsv and results.md here.")
@click.option("--json", "json_out", default=None, type=OUTPUT_FILE,
              help="Write every metric's corpus figure and per-utterance values as JSON (the shape of score vocoder --json).")
def tts(ref_dir: str, hyp_dir: str, feats_conf: str | None, order: int, mode: str, dnsmos: bool, asr: bool,
        out_dir: str | None, json_out: str | None) -> None:
    """Mel cepstral distortion (DTW-aligned) and log-F0 RMSE of HYP against REF, per utterance and overall.

    Every reference utterance needs a synthesised one (--mode present skips those without);
    synthesised utterances without a reference are skipped and counted. --dnsmos and --asr add
    the judges of score vocoder that need no time alignment (mean with the 95% interval; the
    corpus WER with its bootstrap interval).

    \b
    Example:
      speechtools score tts --ref data/eval --hyp exp/fs2/decode_eval --out-dir exp/fs2/decode_eval/scoring
      speechtools score tts --ref data/eval --hyp exp/fs2/decode_eval --dnsmos --asr --json exp/fs2/decode_eval/scores.json
    """
    from tqdm import tqdm

    from speechtools.audio.extract import check_long_enough
    from speechtools.audio.features import FeatureConfig, f0, log_mel
    from speechtools.audio.io import load_audio
    from speechtools.config import from_dict, load_config
    from speechtools.errors import UserError
    from speechtools.fileio import atomic_dir, write_lines
    from speechtools.cli.score_eval import transcripts
    from speechtools.scoring.audio_sets import pair_ids, read_audio_set
    from speechtools.scoring.judges.base import Audio, Utterance, judge_all
    from speechtools.scoring.judges.summary import Summary, mean_interval, report_dict, summaries, summary_markdown
    from speechtools.scoring.report import write_json
    from speechtools.scoring.tts_metrics import score_pair, summarise

    cfg = from_dict(FeatureConfig, load_config(feats_conf)) if feats_conf else FeatureConfig()
    judges = judges_of(dnsmos, asr)
    if out_dir:
        if Path(out_dir).exists() and not Path(out_dir).is_dir():
            raise UserError("--out-dir exists and is not a folder", out_dir)
        Path(out_dir).mkdir(parents=True, exist_ok=True)  # the command owns it: made before the scoring, not after
    ref = read_audio_set(ref_dir, text=asr)
    hyp = read_audio_set(hyp_dir, segments=False)
    pairing = pair_ids(ref, hyp, mode)
    texts = transcripts(ref, ref_dir, pairing.ids) if asr else {}
    rows = ["uttid\tmcd_db\tlog_f0_rmse\tpath_frames\tvoiced_frames"]
    scores = []
    for uttid in tqdm(pairing.ids, desc="score tts", unit="utt"):
        wavs = []
        for job in (ref.jobs[uttid], hyp.jobs[uttid]):
            wav = load_audio(job.entry, cfg.sample_rate, job.segment, resample=True, utt_id=uttid)
            check_long_enough(wav.size, cfg, uttid, job.where)
            wavs.append(wav)
        ref_wav, hyp_wav = wavs
        s = score_pair(log_mel(ref_wav, cfg).numpy(), log_mel(hyp_wav, cfg).numpy(), f0(ref_wav, cfg)[0], f0(hyp_wav, cfg)[0], order)
        scores.append(s)
        rows.append(f"{uttid}\t{s.mcd:.3f}\t{s.log_f0_rmse:.4f}\t{s.path_frames}\t{s.voiced_frames}")
    mcd, rmse = summarise(scores)
    summary = [
        f"MCD {mcd:.3f} dB (mel-cepstrum c1..c{order}, DTW) over {len(scores)} utterances",
        f"LOGF0_RMSE {rmse:.4f} (natural log; frames voiced in both) over {sum(s.voiced_frames for s in scores)} frames",
    ]
    summary += pairing.skipped_lines()
    report = {"summary": {"mcd_db": mean_interval([sc.mcd for sc in scores]).to_dict(),
                          "log_f0_rmse": {**Summary(rmse, math.nan, math.nan, len(scores)).to_dict(), "statistic": "pooled"}},
              "utterances": {u: {"mcd_db": sc.mcd, "log_f0_rmse": sc.log_f0_rmse} for u, sc in zip(pairing.ids, scores)}}
    if judges:
        table = judge_all(judges, [Utterance(u, Audio(hyp.jobs[u]), None, texts.get(u)) for u in pairing.ids],
                          lambda line: click.echo(f"warning: {line}", err=True), "score tts (judges)")
        sums = summaries(table)
        summary.append(summary_markdown(table, sums))
        extra = report_dict(table, sums)
        report["summary"].update(extra["summary"])
        for u, values in extra["utterances"].items():
            report["utterances"][u].update(values)
    for line in summary:
        click.echo(line)
    if json_out:
        write_json(json_out, {**report, "notes": pairing.skipped_lines()})
    if out_dir:
        Path(out_dir).parent.mkdir(parents=True, exist_ok=True)
        with atomic_dir(out_dir) as out:  # the three files appear together or not at all
            write_lines(out / "summary.txt", summary)
            write_lines(out / "per_utt.tsv", rows)
            write_lines(out / "results.md", ["| metric | value |", "|---|---|", f"| MCD (dB, DTW) | {mcd:.2f} |", f"| log-F0 RMSE | {rmse:.3f} |"])
