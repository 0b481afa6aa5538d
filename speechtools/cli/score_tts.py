"""``speechtools score tts``: MCD (with DTW) and log-F0 RMSE of synthesised speech against references."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--ref", "ref_dir", required=True, help="Data directory of the real recordings (wav.scp).")
@click.option("--hyp", "hyp_dir", required=True, help="Directory with wav.scp of the synthesised utterances.")
@click.option("--feats-conf", default=None, help="Feature YAML (mel analysis and F0 range) [default: built-in 22.05 kHz].")
@click.option("--order", type=click.IntRange(min=1), default=24, show_default=True, help="Mel-cepstrum order (c1..cN).")
@click.option("--out-dir", default=None, help="Write summary.txt, per_utt.tsv and results.md here.")
def tts(ref_dir: str, hyp_dir: str, feats_conf: str | None, order: int, out_dir: str | None) -> None:
    """Mel cepstral distortion (DTW-aligned) and log-F0 RMSE of HYP against REF, per utterance and overall.

    \b
    Example:
      speechtools score tts --ref data/eval --hyp exp/fs2/decode_eval --out-dir exp/fs2/decode_eval/scoring
    """
    from tqdm import tqdm

    from speechtools.audio.features import FeatureConfig, f0, log_mel
    from speechtools.audio.io import load_audio
    from speechtools.data.kaldi import read_segments, read_table
    from speechtools.errors import UserError
    from speechtools.fileio import atomic_dir, write_lines
    from speechtools.scoring.tts_metrics import score_pair, summarise
    from speechtools.datasets.tts import load_feature_config

    cfg = load_feature_config(Path(feats_conf)) if feats_conf else FeatureConfig()
    ref_scp = read_table(Path(ref_dir) / "wav.scp")
    segments = read_segments(Path(ref_dir) / "segments") if (Path(ref_dir) / "segments").exists() else {}
    hyp_scp = read_table(Path(hyp_dir) / "wav.scp")
    common = sorted(set(hyp_scp) & (set(segments) if segments else set(ref_scp)))
    if not common:
        raise UserError("no utterance of the hypotheses has a reference", Path(hyp_dir) / "wav.scp")
    rows = ["uttid\tmcd_db\tlog_f0_rmse\tpath_frames\tvoiced_frames"]
    scores = []
    for uttid in tqdm(common, desc="score tts", unit="utt"):
        if segments:
            seg = segments[uttid]
            ref_wav = load_audio(ref_scp[seg.wav_id], cfg.sample_rate, (seg.start, seg.end), resample=True, utt_id=uttid)
        else:
            ref_wav = load_audio(ref_scp[uttid], cfg.sample_rate, resample=True, utt_id=uttid)
        hyp_wav = load_audio(hyp_scp[uttid], cfg.sample_rate, resample=True, utt_id=uttid)
        s = score_pair(log_mel(ref_wav, cfg).numpy(), log_mel(hyp_wav, cfg).numpy(), f0(ref_wav, cfg)[0], f0(hyp_wav, cfg)[0], order)
        scores.append(s)
        rows.append(f"{uttid}\t{s.mcd:.3f}\t{s.log_f0_rmse:.4f}\t{s.path_frames}\t{s.voiced_frames}")
    mcd, rmse = summarise(scores)
    summary = [
        f"MCD {mcd:.3f} dB (mel-cepstrum c1..c{order}, DTW) over {len(scores)} utterances",
        f"LOGF0_RMSE {rmse:.4f} (natural log; frames voiced in both) over {sum(s.voiced_frames for s in scores)} frames",
    ]
    missing = len(hyp_scp) - len(common)
    if missing:
        summary.append(f"{missing} hypothesis utterance(s) without a reference were skipped")
    for line in summary:
        click.echo(line)
    if out_dir:
        Path(out_dir).parent.mkdir(parents=True, exist_ok=True)
        with atomic_dir(out_dir) as out:  # the three files appear together or not at all
            write_lines(out / "summary.txt", summary)
            write_lines(out / "per_utt.tsv", rows)
            write_lines(out / "results.md", ["| metric | value |", "|---|---|", f"| MCD (dB, DTW) | {mcd:.2f} |", f"| log-F0 RMSE | {rmse:.3f} |"])
