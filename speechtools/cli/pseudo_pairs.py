"""``speechtools pseudo-pairs``: LRSpeech's dual transformation and knowledge-distillation data, on any data directories."""

from __future__ import annotations

from typing import Optional, Tuple

import click

from speechtools.cli.asr import decode_options, search_options
from speechtools.cli.options import OUTPUT_DIR, FiniteRange, device_option, nj_option
from speechtools.scoring.attention import DEFAULT_BAND, DEFAULT_MIN_BAND, WCR_REDUCTIONS


@click.group("pseudo-pairs")
def pseudo_pairs() -> None:
    """Synthetic training pairs one model makes for another (LRSpeech, KDD 2020).

    speak: a TTS model speaks unpaired text (synthetic speech, real text), optionally keeping only
    the sentences whose attention passes the WCR/ADR filter. transcribe: a recogniser transcribes
    unpaired speech (real speech, synthetic text). Both write ordinary Kaldi data directories with
    synthetic.yaml (which model made them) and dropped (what was left out, and why).

    \b
    Examples: one dual-transformation iteration,
      speechtools pseudo-pairs transcribe data/unpaired_speech --asr-model exp/asr --out-data data/dt1_asr2tts
      speechtools pseudo-pairs speak --tts-model exp/tts --text data/unpaired_text/text --out-data data/dt1_tts2asr \\
        --out-feats dump/dt1_tts2asr --speaker kathleen
    and knowledge distillation with the attention filter:
      speechtools pseudo-pairs speak --tts-model exp/teacher --text data/unpaired_text/text --out-data data/kd \\
        --out-feats dump/kd --min-wcr 0.7 --min-adr 0.7
    """


@pseudo_pairs.command()
@click.option("--tts-model", required=True, help="TTS model directory (Transformer TTS for the attention filter; any TTS model otherwise).")
@click.option("--text", "text_file", required=True, type=click.Path(dir_okay=False), help="Kaldi text file: 'uttid sentence' lines.")
@click.option("--out-data", required=True, type=OUTPUT_DIR, help="Synthetic data directory to write (wav/, wav.scp, text, ...).")
@click.option("--out-feats", required=True, type=OUTPUT_DIR, help="Feature store of the model's own mels (and its stats.npz).")
@click.option("--speaker", default=None, help="Speaker of a multi-speaker model (and the utt2spk name; default 'tts').")
@click.option("--min-wcr", type=FiniteRange(0, 1), default=0.0, show_default=True, help="Keep sentences with word coverage ratio at least this.")
@click.option("--min-adr", type=FiniteRange(0, 1), default=0.0, show_default=True, help="Keep sentences with attention diagonal ratio at least this.")
@click.option("--wcr-reduce", type=click.Choice(WCR_REDUCTIONS), default="mean", show_default=True, help="See `score attention --help`.")
@click.option("--band", type=FiniteRange(0, 1), default=DEFAULT_BAND, show_default=True, help="ADR band, share of the tokens.")
@click.option("--min-band", type=FiniteRange(0), default=DEFAULT_MIN_BAND, show_default=True, help="ADR band, at least this many tokens.")
@click.option("--attention-dir", default=None, type=OUTPUT_DIR, help="Also write each sentence's attention as <uttid>.npy (score attention reads them).")
@click.option("--vocoder", default="griffin-lim", show_default=True, help="Vocoder of the wavs (the mels in --out-feats are the model's).")
@click.option("--vocoder-model", default=None, help="Trained vocoder model directory (neural vocoders).")
@click.option("--vocoder-set", "vocoder_overrides", multiple=True, metavar="KEY=VALUE", help="Vocoder setting, as synth (e.g. n_iter=32).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@device_option
def speak(tts_model: str, text_file: str, out_data: str, out_feats: str, speaker: Optional[str], min_wcr: float, min_adr: float,
          wcr_reduce: str, band: float, min_band: float, attention_dir: Optional[str], vocoder: str, vocoder_model: Optional[str],
          vocoder_overrides: Tuple[str, ...], batch_size: int, device: str) -> None:
    """A TTS model speaks unpaired text: (synthetic speech, real text) pairs.

    Every sentence is checked before any audio is made. With an attention model each sentence's
    WCR and ADR (definitions: `speechtools score attention --help`) are written to
    OUT_DATA/attention_scores; sentences under --min-wcr or --min-adr are dropped (listed in
    OUT_DATA/dropped with their values).

    \b
    Example:
      speechtools pseudo-pairs speak --tts-model exp/teacher --text data/unpaired_text/text --out-data data/kd \\
        --out-feats dump/kd --min-wcr 0.7 --min-adr 0.7 --attention-dir exp/teacher/kd_attention
    """
    from speechtools.tts.pseudo_pairs import AttentionFilter, speak_unpaired_text
    from speechtools.tts.synthesizer import Synthesizer, read_text_inputs

    inputs = read_text_inputs(text_file, with_ids=True)
    synth = Synthesizer(tts_model, device=device, vocoder=vocoder, vocoder_model=vocoder_model, vocoder_overrides=vocoder_overrides)
    report = speak_unpaired_text(synth, inputs, out_data, out_feats, speaker, AttentionFilter(min_wcr, min_adr, band, min_band, wcr_reduce),
                                 attention_dir, batch_size, source=text_file)
    click.echo(f"wrote {out_data} and {out_feats}")
    for line in report.lines():
        click.echo(line)


@pseudo_pairs.command()
@click.argument("data_dir")
@click.option("--asr-model", required=True, help="Our recogniser's model directory (speechtools asr train).")
@click.option("--out-data", required=True, type=OUTPUT_DIR, help="Synthetic data directory to write (DATA_DIR's audio, text = hypotheses).")
@search_options
@nj_option
@device_option
def transcribe(data_dir: str, asr_model: str, out_data: str, beam_size: int, ctc_weight: Optional[float], lm_dir: Optional[str],
               lm_weight: float, length_bonus: float, batch_size: int, nj: int, device: str) -> None:
    """A recogniser transcribes the unpaired speech of DATA_DIR: (real speech, synthetic text) pairs.

    The search options are those of `asr decode`. Unreadable, empty or too short recordings and
    empty hypotheses are dropped, each listed in OUT_DATA/dropped (the unreadable ones also on
    stderr); the others are written (then the command exits with status 1 if any recording could
    not be read).

    \b
    Example:
      speechtools pseudo-pairs transcribe data/unpaired_speech --asr-model exp/asr --out-data data/asr_pseudo --beam-size 4
    """
    from speechtools.asr.pseudo_labels import EMPTY_HYPOTHESIS, transcribe_unpaired_speech
    from speechtools.errors import UserError

    options = decode_options(beam_size, ctc_weight, lm_dir, lm_weight, length_bonus, batch_size)
    report = transcribe_unpaired_speech(asr_model, data_dir, out_data, options, device=device, nj=nj)
    unreadable: Tuple[str, ...] = tuple(reason for reason in report.dropped.values() if reason != EMPTY_HYPOTHESIS)
    for reason in unreadable:
        click.echo(f"error: {reason}", err=True)
    click.echo(f"wrote {out_data}")
    for line in report.lines():
        click.echo(line)
    if not report.kept:
        click.echo(f"warning: no pseudo-pairs: every hypothesis was empty (reasons in {out_data}/dropped)", err=True)
    if unreadable:
        raise UserError(f"{len(unreadable)} utterance(s) could not be decoded (listed above; the others are in {out_data})")
