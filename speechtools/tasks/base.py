"""The contract between a task and the generic :class:`~speechtools.train.trainer.Trainer`.

A *task* owns everything that depends on the kind of data: which files it reads, how items
are batched, how the loss is computed and which assets (token list, stats) make a model
directory self-contained. The trainer owns everything else (steps, accumulation, clipping,
schedules, AMP, checkpoints, resume, DDP, logging). A model knows nothing of files.

An experiment config (one YAML file, ``base:`` inheritance allowed) has these blocks::

    task: tts                 # name in speechtools.tasks.TASKS
    task_conf: {...}          # validated into the task's ``config_class``
    model: fastspeech2        # name in speechtools.models.MODELS
    model_conf: {...}         # validated into the model's registered config dataclass
    optim: {...}              # speechtools.train.config.OptimConfig
    scheduler: {...}          # speechtools.train.config.SchedulerConfig
    trainer: {...}            # speechtools.train.config.TrainerConfig

To add a task: subclass :class:`Task`, register it with
``@TASKS.register("name", config=YourTaskConfig)`` in ``speechtools/tasks/name.py``.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Tuple

import torch
from torch.utils.data import Dataset


class Task(abc.ABC):
    """Data, loss and assets of one task family.

    Args:
        conf: the validated ``task_conf`` dataclass.
        model_name: the registered model name chosen in the config.
        model_conf: the validated ``model_conf`` dataclass of that model.
    """

    config_class: ClassVar[type]

    def __init__(self, conf: Any, model_name: str, model_conf: Any) -> None:
        self.conf = conf
        self.model_name = model_name
        self.model_conf = model_conf

    @abc.abstractmethod
    def build_model(self) -> torch.nn.Module:
        """Instantiate the model (vocabulary size, stats etc. taken from the task's data)."""

    @abc.abstractmethod
    def train_dataset(self) -> Dataset:
        """The training set; items are whatever :meth:`collate` accepts."""

    def valid_dataset(self) -> Optional[Dataset]:
        """The validation set, or ``None`` to skip validation."""
        return None

    @abc.abstractmethod
    def lengths(self, dataset: Dataset) -> Sequence[int]:
        """Per-item size (frames or tokens) used to bucket batches by ``batch_bins``."""

    @abc.abstractmethod
    def collate(self, items: List[Any]) -> Dict[str, Any]:
        """Pad a list of items into a batch of tensors."""

    @abc.abstractmethod
    def compute_loss(self, model: torch.nn.Module, batch: Dict[str, Any]) -> Tuple[torch.Tensor, Dict[str, float]]:
        """Return the scalar loss to minimise and named float statistics to log."""

    def validation_stats(self, model: torch.nn.Module, batch: Dict[str, Any]) -> Dict[str, float]:
        """Statistics on one validation batch (default: those of :meth:`compute_loss`)."""
        loss, stats = self.compute_loss(model, batch)
        return {"loss": float(loss), **stats}

    def export_assets(self, model_dir: Path) -> None:
        """Copy what inference needs (``tokens.txt``, ``stats.npz``...) into ``model_dir``."""

    def load_assets(self, model_dir: Path) -> None:
        """Read back what :meth:`export_assets` wrote (``load_model_dir`` calls it before :meth:`build_model`)."""
