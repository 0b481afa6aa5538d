"""``speechtools train`` and ``speechtools average-checkpoints``: thin wrappers over :mod:`speechtools.train`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import click

from speechtools.cli.options import OUTPUT_DIR, OUTPUT_FILE, check_resume_options, device_option, resume_options, set_option
from speechtools.errors import UserError


def _import_modules(modules: Tuple[str, ...]) -> None:
    from speechtools.registry import import_plugin

    for name in modules:
        import_plugin(name)


def _child_argv(
    config: str,
    out_dir: str,
    overrides: Tuple[str, ...],
    mode: Tuple[bool, bool, bool],
    device: str,
    seed: Optional[int],
    imports: Tuple[str, ...],
) -> List[str]:
    """Arguments for each torchrun worker: the device replaces --ngpu/--nproc, which torchrun's
    own parser would take for an abbreviation of its --nproc-per-node."""
    argv = ["train", "--config", config, "--out-dir", out_dir, "--device", device]
    for item in overrides:
        argv += ["--set", item]
    argv += [flag for flag, on in zip(("--resume", "--auto-resume", "--overwrite"), mode) if on]
    if seed is not None:
        argv += ["--seed", str(seed)]
    for module in imports:
        argv += ["--import", module]
    return argv


@click.command("train")
@click.option("--config", required=True, help="Experiment YAML (task, task_conf, model, model_conf, optim, scheduler, trainer).")
@click.option("--out-dir", required=True, type=OUTPUT_DIR, help="Model directory to write (config.yaml, checkpoints/, model.pt, train_log.jsonl).")
@set_option
@resume_options
@device_option
@click.option("--seed", type=int, default=None, help="Override trainer.seed.")
@click.option("--ngpu", type=click.IntRange(min=0), default=None, help="GPUs per node (0 = CPU); >1 launches DDP via torchrun.")
@click.option("--nproc", type=click.IntRange(min=1), default=None, help="CPU processes (gloo DDP) per node; >1 launches torchrun.")
@click.option("--nnodes", type=click.IntRange(min=1), default=1, show_default=True, help="Number of nodes (multi-node DDP).")
@click.option("--node-rank", type=click.IntRange(min=0), default=None, help="This node's rank (static rendezvous, e.g. $SLURM_NODEID).")
@click.option("--rdzv-endpoint", default=None, metavar="HOST:PORT", help="Rendezvous address of the first node (multi-node).")
@click.option("--import", "imports", multiple=True, metavar="MODULE",
              help="Import a plugin registering extra tasks/models: a module name, a .py file or a package folder.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.argument("more_overrides", nargs=-1, metavar="[KEY=VALUE]...")
def train(
    config: str,
    out_dir: str,
    overrides: Tuple[str, ...],
    resume: bool,
    auto_resume: bool,
    overwrite: bool,
    device: str,
    seed: Optional[int],
    ngpu: Optional[int],
    nproc: Optional[int],
    nnodes: int,
    node_rank: Optional[int],
    rdzv_endpoint: Optional[str],
    imports: Tuple[str, ...],
    quiet: bool,
    more_overrides: Tuple[str, ...],
) -> None:
    """Train a registered task/model from a YAML config into a model directory.

    \b
    Examples:
      speechtools train --config conf/tts/fastspeech2.yaml --out-dir exp/fs2 --set task_conf.train_data=data/train ...
      speechtools train --import examples/toy_regression/toy_regression.py --config examples/toy_regression/toy_regression.yaml --out-dir exp/toy
      speechtools train --config conf.yaml --out-dir exp/toy --resume
      speechtools train --config conf.yaml --out-dir exp/toy --auto-resume     # what recipe stages do
      speechtools train --config conf.yaml --out-dir exp/toy --set optim.lr=5e-4 trainer.max_steps=2000
      speechtools train --config conf.yaml --out-dir exp/fs2 --ngpu 4
      speechtools train --config conf.yaml --out-dir exp/fs2 --ngpu 8 --nnodes 2 --rdzv-endpoint node1:29500
    """
    from speechtools.train.distributed import launched_by_torchrun, torchrun_command

    for item in more_overrides:
        if "=" not in item:
            raise click.UsageError(f"unexpected argument {item!r} (overrides are KEY=VALUE, after --set)")
    overrides = tuple(overrides) + tuple(more_overrides)
    check_resume_options(resume, auto_resume, overwrite)
    if ngpu is not None and nproc is not None:
        raise click.UsageError("give either --ngpu (GPUs) or --nproc (CPU processes), not both")
    if ngpu == 0 or nproc:
        device = "cpu"
    elif ngpu:
        device = "cuda"
    from speechtools.train.experiment import load_experiment
    from speechtools.train.trainer import Trainer

    _import_modules(imports)
    sets = list(overrides) + ([f"trainer.seed={seed}"] if seed is not None else [])
    experiment = load_experiment(config, sets)
    per_node = ngpu if ngpu else (nproc or 1)
    if (per_node > 1 or nnodes > 1) and not launched_by_torchrun():
        # Report user errors here, once, rather than from every worker through torchrun.
        Trainer(experiment, out_dir, device=device, resume=resume, auto_resume=auto_resume, overwrite=overwrite).check_out_dir()
        argv = _child_argv(config, out_dir, overrides, (resume, auto_resume, overwrite), device, seed, imports)
        if quiet:
            argv.append("--quiet")
        cmd = torchrun_command(argv, per_node, nnodes, node_rank, rdzv_endpoint)
        click.echo("launching: " + " ".join(cmd), err=True)
        code = subprocess.call(cmd)
        if code != 0:
            sys.exit(code)
        return

    model_dir = Trainer(experiment, out_dir, device=device, resume=resume, auto_resume=auto_resume, overwrite=overwrite,
                        show_progress=not quiet).run()
    if int(os.environ.get("RANK", "0")) == 0:
        click.echo(f"model directory: {model_dir}")


@click.command("average-checkpoints")
@click.option("--model-dir", required=True, help="Training output directory holding checkpoints/.")
@click.option("--last", type=click.IntRange(min=1), default=None, help="Average the newest N checkpoints [default: 5].")
@click.option("--out", default=None, type=OUTPUT_FILE, help="Output file [default: MODEL_DIR/model.pt].")
@click.option("--out-dir", default=None, type=OUTPUT_DIR,
              help="Write a self-contained model directory here instead (config.yaml, the assets, model.pt): a snapshot to evaluate.")
@click.option("--ema", is_flag=True, help="Average the checkpoints' moving averages (trainer.ema_decay) instead of their raw weights.")
@click.argument("checkpoints", nargs=-1)
def average_checkpoints(model_dir: str, last: Optional[int], out: Optional[str], out_dir: Optional[str], ema: bool,
                        checkpoints: Tuple[str, ...]) -> None:
    """Average model weights of checkpoints (the newest N, or the CKPT files given) into model.pt.

    \b
    Examples:
      speechtools average-checkpoints --model-dir exp/fs2 --last 5
      speechtools average-checkpoints --model-dir exp/fs2 exp/fs2/checkpoints/step_9000.pt exp/fs2/checkpoints/step_10000.pt
      speechtools average-checkpoints --model-dir exp/voc --ema --out-dir exp/voc_step2000 exp/voc/checkpoints/step_2000.pt
    """
    from speechtools.train.checkpoint import CHECKPOINT_DIR, average_checkpoints as average, list_checkpoints

    if out and out_dir:
        raise click.UsageError("give either --out or --out-dir, not both")
    if checkpoints and last is not None:
        raise click.UsageError("give either --last N or checkpoint files, not both")
    root = Path(model_dir)
    if not root.is_dir():
        raise UserError("model directory not found", root)
    if checkpoints:
        paths = [Path(p) for p in checkpoints]
    else:
        available = list_checkpoints(root)
        if not available:
            raise UserError("no checkpoints (step_N.pt) to average", root / CHECKPOINT_DIR)
        paths = available[-(last or 5) :]
    key = "ema" if ema else "model"
    if out_dir:
        from speechtools.train.model_dir import snapshot_model_dir

        target = snapshot_model_dir(root, paths, out_dir, key)
    else:
        target = Path(out) if out else root / "model.pt"
        average(paths, target, key=key)
    click.echo(f"averaged {len(paths)} checkpoint(s) ({', '.join(p.name for p in paths)}) -> {target}")
