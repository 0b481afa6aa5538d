"""``speechtools teacher``: FastSpeech's teacher stage — attention durations and knowledge distillation."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List, Optional

import click

from speechtools.cli.options import FiniteRange, OUTPUT_DIR, OUTPUT_FILE, device_option
from speechtools.fileio import atomic_paths, id_file


@click.group()
def teacher() -> None:
    """Durations and distillation targets from an autoregressive Transformer TTS teacher (FastSpeech).

    Train the teacher with the generic trainer, then read durations from its attention.

    \b
    Examples:
      speechtools train --config conf/tts/transformer_tts.yaml --out-dir exp/teacher --set task_conf.train_data=data/train ...
      speechtools teacher durations --model-dir exp/teacher --data data/train --feats dump/train
      speechtools teacher distill --model-dir exp/teacher --data data/train --feats dump/train --out-data data/train_kd --out-feats dump/train_kd
    """


def _load(model_dir: str, device: str):
    from speechtools.tasks.tts_ar import TTSARTask
    from speechtools.train.model_dir import load_model_dir

    loaded = load_model_dir(model_dir, device, cpu_fast_path=True)
    if not isinstance(loaded.task, TTSARTask):
        raise click.UsageError(f"{model_dir} is not a teacher model directory (task {loaded.config.task!r}, expected tts_ar)")
    return loaded


def _plot(plot_dir: Optional[str], plotted: int, plot_n: int, a) -> int:
    if not plot_dir or plotted >= plot_n:
        return plotted
    from speechtools.align.plot import plot_alignment

    title = f"{a.uttid}  layer {a.layer} head {a.head}  F={a.focus_rate:.3f}"
    Path(plot_dir).mkdir(parents=True, exist_ok=True)
    plot_alignment(id_file(plot_dir, a.uttid, ".png", "utterance id"), a.attention, a.durations, a.tokens, title)
    return plotted + 1


def _report(rates: Dict[str, float], skipped: Dict[str, int], threshold: float) -> None:
    low = sum(1 for f in rates.values() if f < threshold)
    mean = sum(rates.values()) / max(len(rates), 1)
    click.echo(f"mean focus rate {mean:.3f}; {low} utterance(s) below {threshold}; "
               f"{sum(1 for n in skipped.values() if n)} with skipped tokens (0 frames)")


@teacher.command("durations")
@click.option("--model-dir", required=True, help="Trained teacher (task: tts_ar) model directory.")
@click.option("--data", "data_dir", required=True, help="Data directory (text) to align.")
@click.option("--feats", required=True, help="Feature store of that set (dump/<set>).")
@click.option("--out", default=None, type=OUTPUT_FILE, help="Durations file [default: DATA/durations].")
@click.option("--focus-rates", "rates_out", default=None, type=OUTPUT_FILE, help="Focus-rate table [default: DATA/focus_rates].")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--plot-dir", default=None, type=OUTPUT_DIR, help="Also write attention PNGs (chosen head, duration path) here.")
@click.option("--plot-n", type=click.IntRange(min=0), default=4, show_default=True)
@device_option
def durations(model_dir: str, data_dir: str, feats: str, out: Optional[str], rates_out: Optional[str], batch_size: int,
              plot_dir: Optional[str], plot_n: int, device: str) -> None:
    """Teacher-forced decoding of real mels; durations from the max-focus-rate attention head.

    d_i = number of frames whose attention peaks at token i (FastSpeech Sec. 3.3), so each
    utterance's durations sum to its frame count.

    \b
    Example:
      speechtools teacher durations --model-dir exp/teacher --data data/train --feats dump/train --plot-dir exp/teacher/att
    """
    from speechtools.align.attention_durations import DEFAULT_MIN_FOCUS_RATE, format_focus_rates
    from speechtools.data.kaldi import write_durations, write_table
    from speechtools.tasks.tts_ar import teacher_alignments

    loaded = _load(model_dir, device)
    result: Dict[str, List[int]] = {}
    rates: Dict[str, float] = {}
    skipped: Dict[str, int] = {}
    plotted = 0
    for a in teacher_alignments(loaded.task, loaded.model, loaded.device, data_dir, feats, batch_size):
        result[a.uttid] = a.durations
        rates[a.uttid] = a.focus_rate
        skipped[a.uttid] = sum(1 for d in a.durations if d == 0)
        plotted = _plot(plot_dir, plotted, plot_n, a)
    target = Path(out) if out else Path(data_dir) / "durations"
    rates_path = Path(rates_out) if rates_out else Path(data_dir) / "focus_rates"
    with atomic_paths(target, rates_path) as (durations_tmp, rates_tmp):  # both files or neither
        write_durations(durations_tmp, result)
        write_table(rates_tmp, format_focus_rates(rates))
    click.echo(f"wrote {target} ({len(result)} utterances)")
    _report(rates, skipped, DEFAULT_MIN_FOCUS_RATE)


@teacher.command("distill")
@click.option("--model-dir", required=True, help="Trained teacher (task: tts_ar) model directory.")
@click.option("--data", "data_dir", required=True, help="Data directory (text) whose sentences the teacher speaks.")
@click.option("--feats", required=True, help="Feature store of that set (only its index is read, for the utterance list).")
@click.option("--out-data", required=True, type=OUTPUT_DIR, help="New data directory: kept utterances + teacher durations.")
@click.option("--out-feats", required=True, type=OUTPUT_DIR, help="New feature store: the teacher's mels (and a copy of stats.npz).")
@click.option("--stats", default=None, help="stats.npz to copy into --out-feats [default: FEATS/stats.npz if present].")
@click.option("--min-focus-rate", type=FiniteRange(0, 1), default=0.65, show_default=True,
              help="Drop utterances whose best focus rate is lower (ESPnet's KD filter; 0 keeps all).")
@click.option("--stop-threshold", type=FiniteRange(0, 1), default=0.5, show_default=True)
@click.option("--max-ratio", type=FiniteRange(1), default=10.0, show_default=True, help="At most this many frames per token.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--plot-dir", default=None, type=OUTPUT_DIR, help="Also write attention PNGs of the generations here.")
@click.option("--plot-n", type=click.IntRange(min=0), default=4, show_default=True)
@device_option
def distill(model_dir: str, data_dir: str, feats: str, out_data: str, out_feats: str, stats: Optional[str],
            min_focus_rate: float, stop_threshold: float, max_ratio: float, batch_size: int,
            plot_dir: Optional[str], plot_n: int, device: str) -> None:
    """Sequence-level knowledge distillation: the teacher's generated mels become the targets.

    The teacher speaks every sentence autoregressively; its mels go to --out-feats and the
    durations of its own attention to --out-data/durations (they sum to the generated frame
    counts). Utterances with a focus rate below --min-focus-rate are left out.

    \b
    Example:
      speechtools teacher distill --model-dir exp/teacher --data data/train --feats dump/train \\
        --out-data data/train_kd --out-feats dump/train_kd
    """
    from speechtools.align.attention_durations import filter_by_focus_rate, format_focus_rates
    from speechtools.audio.store import FeatureStore
    from speechtools.data.kaldi import DataDir, write_table
    from speechtools.errors import UserError
    from speechtools.tasks.tts_ar import teacher_alignments

    loaded = _load(model_dir, device)
    source = DataDir.load(data_dir)
    store = FeatureStore(out_feats)
    result: Dict[str, List[int]] = {}
    rates: Dict[str, float] = {}
    skipped: Dict[str, int] = {}
    plotted = 0
    for a in teacher_alignments(loaded.task, loaded.model, loaded.device, data_dir, feats, batch_size,
                                generate=True, stop_threshold=stop_threshold, max_ratio=max_ratio):
        assert a.mel is not None
        store.write("mel", a.uttid, a.mel.astype("float32"))
        result[a.uttid] = a.durations
        rates[a.uttid] = a.focus_rate
        skipped[a.uttid] = sum(1 for d in a.durations if d == 0)
        plotted = _plot(plot_dir, plotted, plot_n, a)
    kept, dropped = filter_by_focus_rate(rates, min_focus_rate)
    if not kept:
        raise UserError(f"every utterance has a focus rate below {min_focus_rate} (an undertrained teacher?); lower --min-focus-rate")
    store.write_index("mel", kept)
    stats_src = Path(stats) if stats else Path(feats) / "stats.npz"
    if stats_src.is_file():
        shutil.copyfile(stats_src, Path(out_feats) / "stats.npz")
    subset = source.select(kept)
    subset.durations = {u: result[u] for u in kept}
    subset.save(out_data)
    write_table(Path(out_data) / "focus_rates", format_focus_rates({u: rates[u] for u in kept}))
    click.echo(f"wrote {out_data} and {out_feats}: {len(kept)} utterance(s) kept, {len(dropped)} below focus rate {min_focus_rate}")
    _report(rates, skipped, min_focus_rate)
