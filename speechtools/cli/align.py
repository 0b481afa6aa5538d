"""``speechtools align``: learn alignments, write token durations, import MFA TextGrids, plot."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_DIR, OUTPUT_FILE, check_resume_options, device_option, resume_options, set_option
from speechtools.fileio import id_file


@click.group()
def align() -> None:
    """Token durations for FastSpeech-style training, without an external aligner.

    \b
    Examples:
      speechtools align train --config conf/aligner.yaml --out-dir exp/aligner
      speechtools align durations --model-dir exp/aligner --data data/train --feats dump/train
      speechtools align import-textgrid --data data/train --feats dump/train --textgrids mfa_out/ --feats-conf conf/feats/mel22k.yaml
      speechtools align plot --model-dir exp/aligner --data data/dev --feats dump/dev --out-dir exp/aligner/plots
    """


@align.command("train")
@click.option("--config", required=True, type=click.Path(dir_okay=False), help="Experiment YAML (task: alignment, model: aligner).")
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Model directory to write.")
@set_option
@resume_options
@device_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(config: str, out_dir: str, overrides: Tuple[str, ...], resume: bool, auto_resume: bool, overwrite: bool,
          device: str, quiet: bool) -> None:
    """Train the aligner (forward-sum + bin loss, arXiv 2108.10447) into a model directory.

    \b
    Example:
      speechtools align train --config conf/aligner.yaml --out-dir exp/aligner --set trainer.max_steps=2000
    """
    from speechtools.train.experiment import load_experiment
    from speechtools.train.trainer import Trainer

    check_resume_options(resume, auto_resume, overwrite)
    experiment = load_experiment(config, list(overrides))
    if experiment.task != "alignment":
        raise click.UsageError(f"--config must have task: alignment (got {experiment.task!r})")
    model_dir = Trainer(experiment, out_dir, device=device, resume=resume, auto_resume=auto_resume, overwrite=overwrite,
                        show_progress=not quiet).run()
    click.echo(f"model directory: {model_dir}")


def _aligned_batches(model_dir: str, data: str, feats: str, device: str, batch_size: int, desc: str):
    """Yield ``(uttids, tokens, log_attn, durations, lengths)`` for every utterance of a set."""
    import torch
    from tqdm import tqdm

    from speechtools.tasks.alignment import AlignmentTask
    from speechtools.train.model_dir import load_model_dir

    loaded = load_model_dir(model_dir, device, cpu_fast_path=True)
    task = loaded.task
    if not isinstance(task, AlignmentTask):
        raise click.UsageError(f"{model_dir} is not an aligner model directory (task {loaded.config.task!r})")
    dataset = task.dataset(data, feats)
    order = sorted(range(len(dataset)), key=lambda i: dataset.items[i]["frames"])
    with torch.inference_mode(), tqdm(total=len(order), desc=desc, unit="utt") as bar:
        for start in range(0, len(order), batch_size):
            items = [dataset[i] for i in order[start:start + batch_size]]
            batch = task.collate(items)
            tl, ml = batch["token_lengths"].to(loaded.device), batch["mel_lengths"].to(loaded.device)
            short = (ml < tl).nonzero().flatten().tolist()
            if short:
                u = batch["uttids"][short[0]]
                raise click.ClickException(f"{u}: {int(ml[short[0]])} frames for {int(tl[short[0]])} tokens; every token needs a frame")
            out = loaded.model(batch["tokens"].to(loaded.device), tl, batch["mel"].to(loaded.device), ml)
            durations = loaded.model.durations(out["log_attn"], tl, ml)
            tokens = [task.tokens.decode(it["tokens"].tolist()) for it in items]
            yield batch["uttids"], tokens, out["log_attn"].exp().cpu(), durations.cpu(), tl.cpu(), ml.cpu()
            bar.update(len(items))


@align.command("durations")
@click.option("--model-dir", required=True, help="Trained aligner model directory.")
@click.option("--data", "data_dir", required=True, help="Data directory (text) to align.")
@click.option("--feats", required=True, help="Feature store of that set (dump/<set>).")
@click.option("--out", default=None, type=OUTPUT_FILE, help="Durations file [default: DATA/durations].")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--plot-dir", default=None, type=OUTPUT_DIR, help="Also write alignment PNGs of the first --plot-n utterances here.")
@click.option("--plot-n", type=click.IntRange(min=0), default=4, show_default=True)
@device_option
def durations(model_dir: str, data_dir: str, feats: str, out: Optional[str], batch_size: int,
              plot_dir: Optional[str], plot_n: int, device: str) -> None:
    """Write ``durations`` (frames per token, summing to each utterance's frame count) by MAS.

    \b
    Example:
      speechtools align durations --model-dir exp/aligner --data data/train --feats dump/train
    """
    from speechtools.align.plot import plot_alignment
    from speechtools.data.kaldi import write_durations

    result: Dict[str, List[int]] = {}
    to_plot = []  # plotted after the durations are written: a failed run leaves no plots either
    for uttids, tokens, soft, durs, tl, ml in _aligned_batches(model_dir, data_dir, feats, device, batch_size, "durations"):
        for b, uttid in enumerate(uttids):
            n, t = int(tl[b]), int(ml[b])
            d = durs[b, :n].tolist()
            if sum(d) != t or min(d) < 0:
                raise RuntimeError(f"{uttid}: MAS durations sum to {sum(d)} for {t} frames")
            result[uttid] = d
            if plot_dir and len(to_plot) < plot_n:
                to_plot.append((uttid, soft[b, :t, :n].numpy(), d, tokens[b]))
    target = Path(out) if out else Path(data_dir) / "durations"
    write_durations(target, result)
    if to_plot:
        Path(plot_dir).mkdir(parents=True, exist_ok=True)
    for uttid, attention, d, utt_tokens in to_plot:
        plot_alignment(id_file(plot_dir, uttid, ".png", "utterance id"), attention, d, utt_tokens, uttid)
    click.echo(f"wrote {target} ({len(result)} utterances)")


@align.command("plot")
@click.option("--model-dir", required=True, help="Trained aligner model directory.")
@click.option("--data", "data_dir", required=True, help="Data directory (text).")
@click.option("--feats", required=True, help="Feature store of that set.")
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Where to write <uttid>.png.")
@click.option("--utt", "utts", multiple=True, help="Utterance id(s) to plot [default: the first --n].")
@click.option("--n", "count", type=click.IntRange(min=1), default=4, show_default=True)
@device_option
def plot(model_dir: str, data_dir: str, feats: str, out_dir: str, utts: Tuple[str, ...], count: int, device: str) -> None:
    """Plot soft attention with the MAS path as PNGs.

    \b
    Example:
      speechtools align plot --model-dir exp/aligner --data data/dev --feats dump/dev --out-dir plots --utt LJ001-0001
    """
    from speechtools.align.plot import plot_alignment

    wanted = set(utts)
    written = 0
    for uttids, tokens, soft, durs, tl, ml in _aligned_batches(model_dir, data_dir, feats, device, 8, "plot"):
        for b, uttid in enumerate(uttids):
            if (wanted and uttid not in wanted) or (not wanted and written >= count):
                continue
            n, t = int(tl[b]), int(ml[b])
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            path = plot_alignment(id_file(out_dir, uttid, ".png", "utterance id"), soft[b, :t, :n].numpy(), durs[b, :n].tolist(), tokens[b], uttid)
            click.echo(str(path))
            written += 1
    if wanted and written < len(wanted):
        raise click.ClickException(f"utterance(s) not found in {data_dir}: {', '.join(sorted(wanted))}")


@align.command("import-textgrid")
@click.option("--data", "data_dir", required=True, help="Data directory (text) whose utterances the TextGrids cover.")
@click.option("--textgrids", required=True, help="Folder of <uttid>.TextGrid (searched recursively, as MFA writes them).")
@click.option("--feats", required=True, help="Feature store of that set (for exact frame counts).")
@click.option("--feats-conf", required=True, help="Feature YAML (sample rate and hop).")
@click.option("--token-list", default=None, help="tokens.txt to check tokens against (optional).")
@click.option("--frontend", "frontend_name", default="en_phone", show_default=True)
@click.option("--tier", default="phones", show_default=True)
@click.option("--out", default=None, type=OUTPUT_FILE, help="Durations file [default: DATA/durations].")
def import_textgrid(data_dir: str, textgrids: str, feats: str, feats_conf: str, token_list: Optional[str],
                    frontend_name: str, tier: str, out: Optional[str]) -> None:
    """Convert Montreal Forced Aligner TextGrids to a ``durations`` file (seconds → frames with the feature hop).

    \b
    Example:
      speechtools align import-textgrid --data data/train --textgrids mfa/ --feats dump/train --feats-conf conf/feats/mel22k.yaml
    """
    from tqdm import tqdm

    from speechtools.align.textgrid import read_textgrid_tier, textgrid_durations
    from speechtools.audio.store import FeatureStore
    from speechtools.data.kaldi import read_table, write_durations
    from speechtools.errors import UserError
    from speechtools.datasets.tts import load_feature_config
    from speechtools.text.frontend import get_frontend
    from speechtools.text.tokens import TokenList

    cfg = load_feature_config(Path(feats_conf))
    frontend = get_frontend(frontend_name)
    vocab = TokenList.load(token_list) if token_list else None
    text_path = Path(data_dir) / "text"
    texts = read_table(text_path, allow_empty_value=True)
    grids = {p.stem: p for p in Path(textgrids).rglob("*.TextGrid")}
    if not grids:
        raise UserError("no *.TextGrid files found", textgrids)
    shapes = FeatureStore(feats).shapes("mel")
    result: Dict[str, List[int]] = {}
    missing = []
    for uttid in tqdm(sorted(texts), desc="import-textgrid", unit="utt"):
        if uttid not in grids:
            missing.append(uttid)
            continue
        tokens = frontend.tokenize(texts[uttid])
        if vocab is not None:
            vocab.encode(tokens, unk="error", path=text_path)
        if uttid not in shapes:
            raise UserError(f"{uttid} has no mel features", feats)
        try:
            result[uttid] = textgrid_durations(read_textgrid_tier(grids[uttid], tier), tokens, int(shapes[uttid][0]),
                                               cfg.sample_rate, cfg.hop_length, uttid=uttid)
        except ValueError as exc:
            raise UserError(str(exc), grids[uttid]) from None
    if missing:
        click.echo(f"warning: {len(missing)} utterance(s) without a TextGrid skipped (e.g. {missing[0]})", err=True)
    target = Path(out) if out else Path(data_dir) / "durations"
    write_durations(target, result)
    click.echo(f"wrote {target} ({len(result)} utterances)")
