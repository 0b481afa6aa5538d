"""``speechtools asr``: decode audio with pocketsphinx (intelligibility of synthesised speech)."""

from __future__ import annotations

from pathlib import Path

import click

from speechtools.cli.options import OUTPUT_FILE


@click.group()
def asr() -> None:
    """Off-the-shelf English ASR (pocketsphinx; optional extra `asr`).

    \b
    Example:
      speechtools asr decode data/eval --out exp/asr_eval.txt
    """


@asr.command()
@click.argument("data_dir")
@click.option("--out", required=True, type=OUTPUT_FILE, help="Kaldi text file of hypotheses to write ('uttid words').")
def decode(data_dir: str, out: str) -> None:
    """Recognise every utterance of DATA_DIR (wav.scp, optional segments); audio is resampled to 16 kHz.

    \b
    Example:
      speechtools asr decode exp/fs2/decode_eval --out exp/fs2/decode_eval/asr.txt
    """
    from tqdm import tqdm

    from speechtools.asr.pocketsphinx_asr import SAMPLE_RATE, PocketsphinxRecognizer
    from speechtools.audio.io import load_audio
    from speechtools.data.kaldi import data_file, read_segments, read_table, write_table

    root = Path(data_dir)
    scp = read_table(root / "wav.scp")
    segments_path = data_file(root, "segments")
    segments = read_segments(segments_path) if segments_path is not None else None
    recognizer = PocketsphinxRecognizer()
    hyps = {}
    keys = sorted(segments) if segments else sorted(scp)
    for uttid in tqdm(keys, desc="asr decode", unit="utt"):
        if segments:
            seg = segments[uttid]
            wav = load_audio(scp[seg.wav_id], SAMPLE_RATE, (seg.start, seg.end), resample=True, utt_id=uttid)
        else:
            wav = load_audio(scp[uttid], SAMPLE_RATE, resample=True, utt_id=uttid)
        hyps[uttid] = recognizer.recognize(wav)
    write_table(out, hyps)
    click.echo(f"wrote {out} ({len(hyps)} utterances)")
