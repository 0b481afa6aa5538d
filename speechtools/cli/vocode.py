"""``speechtools vocode``: natural-log mel spectrograms to wav files (copy-synthesis) with any registered vocoder."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_DIR, device_option, seed_option
from speechtools.fileio import id_file


@click.command()
@click.option("--vocoder", "vocoder_name", default="priorgrad", show_default=True,
              help="Vocoder name: priorgrad (a trained --vocoder-dir) or griffin-lim (no model; the mel settings of the "
                   "feature store's feats_config.yaml or --feats-conf).")
@click.option("--vocoder-dir", default=None, help="Trained vocoder model directory (speechtools train, task: vocoder).")
@click.option("--feats-scp", default=None, metavar="SCP",
              help="mel.scp of a feature store (speechtools extract-feats): 'uttid path.npy' lines; one wav per line.")
@click.option("--mel-npy", "mel_npys", multiple=True, metavar="FILE.npy",
              help="A natural-log mel (frames, n_mels) .npy; the wav takes the file's name (repeatable).")
@click.option("--feats-conf", default=None, help="Feature YAML of the mels, for a vocoder without a model directory "
              "[default: the feature store's feats_config.yaml].")
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Where <uttid>.wav and wav.scp go.")
@click.option("--steps", type=click.Choice(["6", "12", "50"]), default=None,
              help="Reverse diffusion steps of a diffusion vocoder: the fast 6- or 12-step schedules, or the 50 training "
                   "steps [default: 6] (= --vocoder-set steps=N).")
@click.option("--vocoder-set", "vocoder_overrides", multiple=True, metavar="KEY=VALUE",
              help="Vocoder setting, validated against its config (griffin-lim: n_iter, momentum; priorgrad: steps, seed); repeatable.")
@click.option("--batch-size", type=click.IntRange(min=1), default=4, show_default=True, help="Mels vocoded together.")
@seed_option
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
@device_option
def vocode(vocoder_name: str, vocoder_dir: Optional[str], feats_scp: Optional[str], mel_npys: Tuple[str, ...],
           feats_conf: Optional[str], out_dir: str, steps: Optional[str], vocoder_overrides: Tuple[str, ...], batch_size: int,
           seed: int, progress: bool, device: str) -> None:
    """Turn log-mel spectrograms into waveforms: a PriorGrad (or DiffWave) vocoder, or Griffin-Lim.

    Inputs are natural-log mels as extract-feats writes them; a feature store whose
    feats_config.yaml differs from the vocoder's, or a mel of another bin count, is refused
    before anything is written. Writes OUT_DIR/<uttid>.wav (each atomically) and wav.scp last.

    \b
    Examples:
      speechtools vocode --vocoder-dir exp/priorgrad --feats-scp dump/eval/mel.scp --out-dir exp/priorgrad/vocode_eval
      speechtools vocode --vocoder-dir exp/priorgrad --mel-npy mel/utt1.npy --out-dir out/ --steps 50 --device cuda
      speechtools vocode --vocoder griffin-lim --vocoder-set n_iter=60 --feats-scp dump/eval/mel.scp --out-dir exp/gl_eval
    """
    from speechtools.audio.extract import stored_feature_config
    from speechtools.audio.io import save_audio
    from speechtools.data.kaldi import write_table
    from speechtools.datasets.tts import load_feature_config
    from speechtools.tts.vocode import npy_inputs, scp_inputs, vocode_inputs
    from speechtools.tts.vocoders import VOCODERS, build_vocoder

    if bool(feats_scp) == bool(mel_npys):
        raise click.UsageError("give --feats-scp or --mel-npy (exactly one of them)")
    entry = VOCODERS.get(vocoder_name, source="--vocoder")
    needs_model = entry.cls.needs_model
    if needs_model and not vocoder_dir:
        raise click.UsageError(f"--vocoder {vocoder_name} needs a trained model: give --vocoder-dir")
    if not needs_model and vocoder_dir:
        raise click.UsageError(f"--vocoder {vocoder_name} takes no model directory: drop --vocoder-dir")
    feature_config = None
    if not needs_model:
        if feats_conf:
            feature_config = load_feature_config(Path(feats_conf))
        elif feats_scp:
            feature_config = stored_feature_config(Path(feats_scp).resolve().parent)
        if feature_config is None:
            raise click.UsageError(f"--vocoder {vocoder_name} needs the mels' feature settings: give --feats-conf")
    settings = {f.name for f in fields(entry.config)} if entry.config else set()
    overrides = [f"seed={seed}"] if "seed" in settings else []
    overrides += [f"steps={steps}"] if steps else []
    vocoder = build_vocoder(vocoder_name, feature_config, vocoder_dir, device, [*overrides, *vocoder_overrides])
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
