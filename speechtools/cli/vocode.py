"""``speechtools vocode``: natural-log mel spectrograms to wav files with a trained vocoder model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_DIR, device_option, seed_option
from speechtools.fileio import id_file


@click.command()
@click.option("--vocoder-dir", required=True, help="Trained vocoder model directory (speechtools train, task: vocoder).")
@click.option("--feats-scp", default=None, metavar="SCP",
              help="mel.scp of a feature store (speechtools extract-feats): 'uttid path.npy' lines; one wav per line.")
@click.option("--mel-npy", "mel_npys", multiple=True, metavar="FILE.npy",
              help="A natural-log mel (frames, n_mels) .npy; the wav takes the file's name (repeatable).")
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Where <uttid>.wav and wav.scp go.")
@click.option("--steps", type=click.Choice(["6", "12", "50"]), default="6", show_default=True,
              help="Reverse diffusion steps: the fast 6- or 12-step schedules, or the 50 training steps.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4, show_default=True, help="Mels vocoded together.")
@seed_option
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
@device_option
def vocode(vocoder_dir: str, feats_scp: Optional[str], mel_npys: Tuple[str, ...], out_dir: str, steps: str, batch_size: int,
           seed: int, progress: bool, device: str) -> None:
    """Turn log-mel spectrograms into waveforms with a PriorGrad (or DiffWave) vocoder.

    Inputs are natural-log mels as extract-feats writes them; a feature store whose
    feats_config.yaml differs from the vocoder's, or a mel of another bin count, is refused
    before anything is written. Writes OUT_DIR/<uttid>.wav (each atomically) and wav.scp last.

    \b
    Examples:
      speechtools vocode --vocoder-dir exp/priorgrad --feats-scp dump/eval/mel.scp --out-dir exp/priorgrad/vocode_eval
      speechtools vocode --vocoder-dir exp/priorgrad --mel-npy mel/utt1.npy --out-dir out/ --steps 50 --device cuda
    """
    from speechtools.audio.io import save_audio
    from speechtools.data.kaldi import write_table
    from speechtools.tts.vocode import npy_inputs, scp_inputs, vocode_inputs
    from speechtools.tts.vocoder_plugins.priorgrad import PriorGrad, PriorGradConfig

    if bool(feats_scp) == bool(mel_npys):
        raise click.UsageError("give --feats-scp or --mel-npy (exactly one of them)")
    vocoder = PriorGrad(None, vocoder_dir, device, PriorGradConfig(steps=int(steps), seed=seed))
    inputs = scp_inputs(feats_scp, vocoder.cfg) if feats_scp else npy_inputs(mel_npys, vocoder.cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scp = {}
    for item, wav in vocode_inputs(vocoder, inputs, batch_size, progress):
        path = id_file(out, item.uttid, ".wav", "utterance id")
        save_audio(path, wav, vocoder.cfg.sample_rate)
        scp[item.uttid] = str(path.resolve())
    write_table(out / "wav.scp", scp)
    seconds = sum(item.frames for item in inputs) * vocoder.cfg.hop_length / vocoder.cfg.sample_rate
    click.echo(f"wrote {len(scp)} wav file(s) ({seconds:.1f} s of audio) to {out}")
