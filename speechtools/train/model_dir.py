"""Load a self-contained model directory (``config.yaml``, ``model.pt`` and the task's assets) for inference."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import torch

from speechtools.device import resolve_device
from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_dir, copy_file
from speechtools.tasks.base import Task
from speechtools.train.assets import MANIFEST_NAME, verify_assets
from speechtools.train.checkpoint import average_checkpoints, load_checkpoint, model_state
from speechtools.train.experiment import Experiment, load_experiment
from speechtools.train.trainer import CONFIG_NAME, MODEL_NAME


@dataclass
class LoadedModel:
    """A model directory brought back to life: its config, task (with assets loaded) and model in eval mode."""

    path: Path
    config: Experiment
    task: Task
    model: torch.nn.Module
    device: torch.device


def snapshot_model_dir(model_dir: PathLike, checkpoints: Sequence[PathLike], out_dir: PathLike, key: str = "model") -> Path:
    """A self-contained model directory at ``out_dir`` whose ``model.pt`` averages ``checkpoints``.

    ``config.yaml``, the assets listed in ``assets.sha256`` and the manifest itself are copied
    from ``model_dir``; ``key="ema"`` takes the checkpoints' moving averages. Written whole
    (:func:`speechtools.fileio.atomic_dir`), so it loads with :func:`load_model_dir`.

    Raises:
        UserError: a missing config or asset, or unreadable checkpoints.
    """
    root = Path(model_dir)
    if not (root / CONFIG_NAME).is_file():
        raise UserError(f"not a model directory: {CONFIG_NAME} is missing", root / CONFIG_NAME)
    names = [CONFIG_NAME] + ([MANIFEST_NAME] + verify_assets(root) if (root / MANIFEST_NAME).is_file() else [])
    with atomic_dir(out_dir) as tmp:
        for name in names:
            copy_file(root / name, tmp / name)
        average_checkpoints(checkpoints, tmp / MODEL_NAME, key=key)
    return Path(out_dir)


def load_model_dir(path: PathLike, device: Union[str, torch.device] = "auto", cpu_fast_path: bool = False,
                   prepare: Optional[Callable[["LoadedModel"], None]] = None) -> LoadedModel:
    """Rebuild the task and model of a model directory and load ``model.pt`` onto ``device``.

    Order: check the assets against ``assets.sha256`` (:mod:`speechtools.train.assets`), validate ``config.yaml``, build the task, ``task.load_assets(dir)`` (token list,
    stats...), ``task.build_model()``, load the weights, move to ``device``, ``eval()``.
    Then ``prepare(loaded)`` if given (a change of the weights before inference, e.g. an adapted
    speaker's parameters). With ``cpu_fast_path`` and a CPU ``device``, last,
    :func:`speechtools.nn.cpu_fast_path.enable_cpu_fast_path` (the inference commands ask for it;
    the model stays plain PyTorch otherwise).

    Raises:
        UserError: missing directory/files, an asset that differs from the one the model was
            trained with, a config that does not validate, or weights that do not fit the model
            the config describes.
    """
    root = Path(path)
    if not root.is_dir():
        raise UserError("model directory not found", root)
    for name in (CONFIG_NAME, MODEL_NAME):
        if not (root / name).is_file():
            raise UserError(f"not a model directory: {name} is missing", root / name)
    target = device if isinstance(device, torch.device) else resolve_device(device)
    verify_assets(root)
    experiment = load_experiment(root / CONFIG_NAME)
    task = experiment.build_task()
    task.load_assets(root)
    model = task.build_model()
    weights = model_state(load_checkpoint(root / MODEL_NAME, map_location="cpu", weights_only=True), root / MODEL_NAME)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise UserError(f"weights do not match the model in config.yaml ({str(exc).splitlines()[0]})", root / MODEL_NAME) from None
    model.to(target).eval()
    loaded = LoadedModel(path=root, config=experiment, task=task, model=model, device=target)
    if prepare is not None:
        prepare(loaded)
    if cpu_fast_path and target.type == "cpu":
        from speechtools.nn.cpu_fast_path import enable_cpu_fast_path

        enable_cpu_fast_path(model)
    return loaded
