"""``speechtools adapt``: AdaSpeech custom-voice adaptation of a model directory (a thin wrapper over :mod:`speechtools.tts.adapt`)."""

from __future__ import annotations

from typing import Optional

import click

from speechtools.cli.options import OUTPUT_DIR, FiniteRange, device_option, nj_option


@click.command("adapt")
@click.option("--source-dir", required=True, help="Source AdaSpeech model directory (AdaSpeech 2, i.e. with the mel encoder, for --untranscribed).")
@click.option("--data-dir", required=True, help="The new speaker's data directory: wav.scp (+ utt2spk), and text + durations unless --untranscribed.")
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Adapted model directory to write (whole or not at all).")
@click.option("--feats", default=None, help="Feature store of --data-dir made with the source's feats.yaml [default: extracted here].")
@click.option("--untranscribed", is_flag=True, help="AdaSpeech 2: adapt on audio alone (mel encoder -> decoder reconstruction).")
@click.option("--adapt", "mode", type=click.Choice(["cln", "embedding", "decoder"]), default="cln", show_default=True,
              help="What trains: cln = AdaSpeech (CLN projections + speaker embedding), embedding = the speaker embedding only, "
                   "decoder = the whole decoder side (+ embedding).")
@click.option("--speaker", default=None, help="Name of the new speaker [default: the one speaker of utt2spk].")
@click.option("--steps", type=click.IntRange(min=1), default=300, show_default=True,
              help="Adaptation steps (the paper: 2000; the default is a CPU budget).")
@click.option("--num-utts", type=click.IntRange(min=1), default=20, show_default=True, help="Adapt on the first N utterances.")
@click.option("--lr", type=FiniteRange(1e-7, 1.0), default=1e-3, show_default=True, help="Adam learning rate (constant), in [1e-7, 1].")
@click.option("--seed", type=int, default=1, show_default=True)
@nj_option
@device_option
@click.option("--quiet", is_flag=True, help="No progress bars.")
def adapt(source_dir: str, data_dir: str, out_dir: str, feats: Optional[str], untranscribed: bool, mode: str,
          speaker: Optional[str], steps: int, num_utts: int, lr: float, seed: int, nj: int, device: str, quiet: bool) -> None:
    """Adapt an AdaSpeech model to a new speaker from a few utterances (AdaSpeech / AdaSpeech 2).

    The output is a model directory with the source's speakers plus the new one; `synth --speaker NAME`
    speaks in its voice (with its stored mean reference, or --reference-audio). It also holds
    speaker_NAME.pt: the few values this speaker needs on top of the source model
    (`synth --model-dir SOURCE --speaker-params speaker_NAME.pt`).

    \b
    Examples:
      speechtools adapt --source-dir exp/adaspeech --data-dir data/newspk --out-dir exp/adapted_newspk
      speechtools adapt --source-dir exp/adaspeech2 --data-dir data/newspk_audio --untranscribed --out-dir exp/adapted2
      speechtools synth --model-dir exp/adapted_newspk --speaker newspk --text "Hello." --out-dir out/
    """
    from speechtools.tts.adapt import adapt as run_adaptation

    result = run_adaptation(source_dir, data_dir, out_dir, feats_dir=feats, speaker=speaker, untranscribed=untranscribed,
                            mode=mode, steps=steps, num_utts=num_utts, lr=lr, seed=seed, device=device, nj=nj,
                            show_progress=not quiet)
    click.echo(f"adapted speaker {result.speaker!r} (row {result.speaker_id}) on {result.utterances} utterance(s), "
               f"{result.steps} steps, --adapt {result.mode} ({', '.join(result.patterns)}): "
               f"{result.trained:,} of {result.total:,} parameters trained")
    click.echo(f"per-speaker parameters: {result.stored:,} ({result.stored_parts}) in {result.speaker_file}")
    click.echo(f"model directory: {result.out_dir}")
