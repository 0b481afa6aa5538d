"""``speechtools extract-feats`` and ``speechtools compute-stats``: the feature store of a data directory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import click

from speechtools.audio.extract import compute_store_stats, extract_to_store, parse_features
from speechtools.audio.features import FeatureConfig
from speechtools.audio.stats import save_stats
from speechtools.cli.options import OUTPUT_DIR, OUTPUT_FILE, nj_option, set_option
from speechtools.config import Config, apply_overrides, from_dict, load_config
from speechtools.errors import UserError


def _feature_config(conf: Optional[str], overrides: Tuple[str, ...]) -> FeatureConfig:
    if conf is not None:
        return from_dict(FeatureConfig, load_config(conf, overrides))
    config = Config({}, {"": "<defaults>"})
    apply_overrides(config, overrides)
    return from_dict(FeatureConfig, config)


@click.command("extract-feats")
@click.argument("data_dir", metavar="DATA_DIR")
@click.argument("dump_dir", metavar="DUMP_DIR", type=OUTPUT_DIR)
@click.option("--conf", metavar="YAML", default=None, help="Feature config (e.g. conf/feats/mel22k.yaml); built-in defaults if omitted.")
@set_option
@nj_option
@click.option(
    "--features",
    default="mel,energy,pitch",
    show_default=True,
    help="Comma-separated: mel (log-mel), energy (frame L2 norm), pitch (continuous log-F0 + voiced flags).",
)
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def extract_feats(data_dir: str, dump_dir: str, conf: Optional[str], overrides: Tuple[str, ...], nj: int, features: str, progress: bool) -> None:
    """Extract features of DATA_DIR (wav.scp, segments) into the feature store DUMP_DIR.

    Writes DUMP_DIR/<name>/<uttid>.npy, <name>.scp and <name>_shape for mel, energy,
    pitch and voiced. Resumable: rerun after an interruption and finished utterances
    are skipped.

    \b
    Example:
      speechtools extract-feats data/train dump/train --conf conf/feats/mel22k.yaml --nj 4
      speechtools extract-feats data/dev dump/dev --set resample=true --features mel
    """
    try:
        names = parse_features(features)
    except UserError as exc:
        raise click.BadParameter(exc.message, param_hint="--features") from None
    cfg = _feature_config(conf, overrides)
    summary = extract_to_store(data_dir, dump_dir, cfg, names, nj=nj, progress=progress)
    click.echo(summary.line())


@click.command("compute-stats")
@click.argument("dump_dir", metavar="DUMP_DIR")
@click.option("--out", metavar="PATH", default=None, type=OUTPUT_FILE, help="Output stats.npz (default: DUMP_DIR/stats.npz).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def compute_stats(dump_dir: str, out: Optional[str], progress: bool) -> None:
    """Global mean/std of the training set's features → stats.npz.

    mel per mel bin over all frames, energy over all frames, pitch (log-F0) over voiced
    frames only. Compute it on the training set only and reuse it for dev/eval and inference.

    \b
    Example:
      speechtools compute-stats dump/train --out dump/train/stats.npz
    """
    stats = compute_store_stats(dump_dir, progress=progress)
    target = Path(out) if out is not None else Path(dump_dir) / "stats.npz"
    save_stats(target, stats)
    counts = ", ".join(f"{name}: {count} frames" for name, count in stats.count.items())
    click.echo(f"wrote {target} ({counts})")


@click.command("combine-feats")
@click.argument("dst", metavar="DST_DUMP", type=OUTPUT_DIR)
@click.argument("srcs", metavar="SRC_DUMP...", nargs=-1, required=True)
@click.option("--features", "names", default=None, help="Comma-separated features to index [default: those every source has].")
def combine_feats(dst: str, srcs: Tuple[str, ...], names: Optional[str]) -> None:
    """Index several feature stores as one (the stores of a `data combine`); nothing is copied.

    DST_DUMP/<name>.scp lists each source's files by a path relative to DST_DUMP, so the stores
    move together. An utterance in two sources is an error. stats.npz is not combined: compute
    it with compute-stats or point the config at the training set's.

    \b
    Example:
      speechtools data combine data/train_dt data/target50 data/dt1_speech
      speechtools combine-feats dump/train_dt dump/target50 dump/dt1_speech
    """
    from speechtools.audio.store import combine_stores

    chosen, count = combine_stores(dst, list(srcs), names.split(",") if names else None)
    click.echo(f"{dst}: {count} utterances of {', '.join(chosen)} from {len(srcs)} store(s)")
