"""``speechtools synth``: text to wav files with a trained TTS model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import click

from speechtools.cli.options import FiniteRange, OUTPUT_DIR, device_option
from speechtools.cli.text import report_unspeakable
from speechtools.fileio import id_file
from speechtools.tts.controls import ENERGY_SCALE_RANGE, PITCH_SHIFT_RANGE, SPEED_RANGE


@click.command()
@click.option("--model-dir", required=True, help="Trained TTS model directory (exp/<tag>).")
@click.option("--text", "texts", multiple=True, help="Text to speak (repeatable; one wav each).")
@click.option("--text-file", default=None, help="File of texts, one per line (or 'uttid text' with --ids).")
@click.option("--ids", is_flag=True, help="--text-file lines start with an utterance id (Kaldi 'text' file).")
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Where <id>.wav and wav.scp go.")
@click.option("--speed", type=FiniteRange(*SPEED_RANGE), default=1.0, show_default=True,
              help="Speaking rate in [0.25, 4]; 2 = twice as fast (α = 1/speed).")
@click.option("--pitch-shift", type=FiniteRange(*PITCH_SHIFT_RANGE), default=0.0, show_default=True,
              help="Pitch shift in semitones, in [-24, 24] (+12 = one octave up).")
@click.option("--energy-scale", type=FiniteRange(*ENERGY_SCALE_RANGE), default=1.0, show_default=True,
              help="Multiply the predicted energy, in [0.1, 10].")
@click.option("--speaker", default=None, help="Speaker name (multi-speaker models).")
@click.option("--speaker-vector", default=None, metavar="FILE.npy",
              help="External speaker vector (x-/d-vector, 1-D float .npy) for every line; models with speaker_vector_dim > 0.")
@click.option("--reference-audio", default=None, metavar="FILE",
              help="Reference recording for every line (models with an utterance-level acoustic encoder, e.g. AdaSpeech).")
@click.option("--speaker-params", default=None, metavar="FILE",
              help="A speaker_<name>.pt of `speechtools adapt`, loaded on top of --model-dir (its source model); then --speaker NAME.")
@click.option("--filled-pauses", type=click.Choice(["off", "auto"]), default="off", show_default=True,
              help="auto: insert the filled pauses (um, uh) --filled-pause-model predicts into each text (AdaSpeech 3).")
@click.option("--filled-pause-model", default=None, metavar="DIR", help="Trained filled-pause model directory (task: filled_pause).")
@click.option("--filled-pause-threshold", type=FiniteRange(0.0, 1.0), default=0.5, show_default=True,
              help="Insert a filled pause where its probability reaches this, in [0, 1].")
@click.option("--vocoder", default="griffin-lim", show_default=True,
              help="Vocoder name: griffin-lim, or priorgrad with --vocoder-model (a trained vocoder model directory).")
@click.option("--vocoder-model", default=None, help="Trained vocoder model directory (neural vocoders: priorgrad).")
@click.option("--vocoder-set", "vocoder_overrides", multiple=True, metavar="KEY=VALUE",
              help="Vocoder setting, validated against its config (griffin-lim: n_iter, momentum; priorgrad: steps=6|12|50, seed); repeatable.")
@click.option("--strict", is_flag=True, help="Refuse text with characters the model's front-end cannot speak (default: report them and leave them out).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--plot", is_flag=True, help="Also write <id>.png: mel with token durations.")
@click.option("--write-durations", is_flag=True, help="Also write OUT_DIR/durations (frames per token).")
@device_option
def synth(model_dir: str, texts: Tuple[str, ...], text_file: Optional[str], ids: bool, out_dir: str, speed: float,
          pitch_shift: float, energy_scale: float, speaker: Optional[str], speaker_vector: Optional[str], reference_audio: Optional[str],
          speaker_params: Optional[str], filled_pauses: str, filled_pause_model: Optional[str], filled_pause_threshold: float, vocoder: str,
          vocoder_model: Optional[str], vocoder_overrides: Tuple[str, ...], strict: bool, batch_size: int, plot: bool, write_durations: bool,
          device: str) -> None:
    """Synthesise speech from text; long input is split at sentence boundaries and joined.

    \b
    Examples:
      speechtools synth --model-dir exp/fastspeech2 --text "Hello world." --out-dir out/
      speechtools synth --model-dir exp/fastspeech2 --text-file lines.txt --out-dir out/ --speed 1.2 --pitch-shift 2
      speechtools synth --model-dir exp/fastspeech2 --text-file data/eval/text --ids --out-dir exp/fastspeech2/decode_eval --plot
      speechtools synth --model-dir exp/lightspeech_xvec --text "Hello world." --speaker-vector xvec/spk1.npy --out-dir out/
      speechtools synth --model-dir exp/fastspeech2 --text "Hello world." --vocoder priorgrad --vocoder-model exp/priorgrad --out-dir out/
    """
    from speechtools.audio.io import save_audio
    from speechtools.data.kaldi import write_durations as write_durations_file, write_table
    from speechtools.tts.synthesizer import SynthesisInput, Synthesizer, read_text_inputs

    if bool(texts) == bool(text_file):
        raise click.UsageError("give --text or --text-file (exactly one)")
    if ids and not text_file:
        raise click.UsageError("--ids needs --text-file")
    if text_file:
        inputs = read_text_inputs(text_file, ids)
    else:
        inputs = [SynthesisInput(f"utt{i + 1:04d}", t, "--text", None) for i, t in enumerate(texts)]
    if (filled_pauses == "auto") != bool(filled_pause_model):
        raise click.UsageError("--filled-pauses auto needs --filled-pause-model (and the model needs --filled-pauses auto)")
    if filled_pauses == "auto":
        from dataclasses import replace

        from speechtools.tts.filled_pauses import FilledPauseInserter

        inserter = FilledPauseInserter(filled_pause_model, device=device, threshold=filled_pause_threshold)
        inputs = [replace(item, text=text) for item, text in zip(inputs, inserter.insert([item.text for item in inputs]))]
    synthesizer = Synthesizer(model_dir, device=device, vocoder=vocoder, vocoder_model=vocoder_model, vocoder_overrides=vocoder_overrides,
                              speaker_params=speaker_params)
    source = text_file or "--text"  # --text items are numbered in order
    report_unspeakable(synthesizer.task.frontend, [(item.line or k + 1, item.text) for k, item in enumerate(inputs)], source, strict)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sr = synthesizer.feature_config.sample_rate
    scp = {}
    durations = {}
    results = synthesizer.synthesize(inputs, speed, pitch_shift, energy_scale, speaker, batch_size, speaker_vector=speaker_vector,
                                     reference_audio=reference_audio)
    for result in results:
        wav_path = id_file(out, result.uttid, ".wav", "utterance id")
        save_audio(wav_path, result.wav, sr)
        scp[result.uttid] = str(wav_path.resolve())
        durations[result.uttid] = result.durations
        if plot:
            from speechtools.align.plot import plot_mel_durations

            plot_mel_durations(id_file(out, result.uttid, ".png", "utterance id"), result.mel, result.durations, result.tokens, result.uttid)
    write_table(out / "wav.scp", scp)
    if write_durations:
        write_durations_file(out / "durations", durations)
    click.echo(f"wrote {len(scp)} wav file(s) to {out}")
