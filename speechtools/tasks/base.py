"""The contract between a task and the generic :class:`~speechtools.train.trainer.Trainer`.

A *task* owns everything that depends on the kind of data: which files it reads, how items
are batched, how the loss is computed and which assets (token list, stats) make a model
directory self-contained. The trainer owns everything else (steps, accumulation, clipping,
schedules, AMP, partial initialisation, freezing, EMA, checkpoints, resume, DDP, logging). A
model knows nothing of files.

An experiment config (one YAML file, ``base:`` inheritance allowed) has these blocks::

    task: tts                 # name in speechtools.tasks.TASKS
    task_conf: {...}          # validated into the task's ``config_class``
    model: fastspeech2        # name in speechtools.models.MODELS
    model_conf: {...}         # validated into the model's registered config dataclass
    optim: {...}              # speechtools.train.config.OptimConfig (one per optimiser, see below)
    scheduler: {...}          # speechtools.train.config.SchedulerConfig
    trainer: {...}            # speechtools.train.config.TrainerConfig

The three rules every task and model follow (``docs/architecture.md``):

* **Construction.** :meth:`Task.build_model` is ``MODELS.build(model, model_conf, task)``, i.e.
  the registered class's ``build_model(conf, task)`` classmethod, which reads the sizes the data
  decides from the task (:mod:`speechtools.models.task_info`). Tasks do not override it.
* **Loss.** :meth:`Task.compute_loss` returns ``(loss, stats)``: the scalar loss to minimise and
  named statistics as 0-dim tensors (the trainer sums them on the device and reads them back
  only on logging steps). By default it is ``model(**batch)`` then ``model.loss(out, **batch)``,
  whose dict holds ``loss`` and the named terms.
* **Optimisers.** A task that trains with several optimisers (a GAN-style generator and
  discriminator) lists their names in :attr:`Task.optimizers`, splits the parameters in
  :meth:`Task.parameter_groups` and computes each one's loss in ``compute_loss(model, batch,
  optimizer=name)``; ``optim:`` then holds one block per name.

To add a task: subclass :class:`Task`, register it with
``@TASKS.register("name", config=YourTaskConfig)`` in ``speechtools/tasks/name.py``.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch.utils.data import Dataset

from speechtools.models import MODELS

LossStats = Dict[str, torch.Tensor]
"""Named 0-dim tensor statistics of one batch (means over its items)."""


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    return getattr(model, "module", model)


def split_loss_terms(terms: Mapping[str, torch.Tensor]) -> Tuple[torch.Tensor, LossStats]:
    """``{"loss": L, name: term, ...}`` → ``(L, {name: term.detach()})``: the loss contract's shape."""
    if "loss" not in terms:
        raise KeyError(f"a model's loss() must return a dict with a 'loss' entry, got {sorted(terms)}")
    return terms["loss"], {k: v.detach() for k, v in terms.items() if k != "loss"}


class Task(abc.ABC):
    """Data, loss and assets of one task family.

    Args:
        conf: the validated ``task_conf`` dataclass.
        model_name: the registered model name chosen in the config.
        model_conf: the validated ``model_conf`` dataclass of that model.
    """

    config_class: ClassVar[type]

    optimizers: ClassVar[Tuple[str, ...]] = ()
    """Names of the optimisers, in the order they step within one update (empty = one optimiser
    over every trainable parameter, configured by a plain ``optim:`` block)."""

    def __init__(self, conf: Any, model_name: str, model_conf: Any) -> None:
        self.conf = conf
        self.model_name = model_name
        self.model_conf = model_conf
        self.num_updates = 0

    def build_model(self) -> torch.nn.Module:
        """The construction rule: ``MODELS.build(model_name, model_conf, self)`` (the class's ``build_model``)."""
        return MODELS.build(self.model_name, self.model_conf, self)

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

    def compute_loss(self, model: torch.nn.Module, batch: Dict[str, Any]) -> Tuple[torch.Tensor, LossStats]:
        """The scalar loss to minimise and named 0-dim tensor statistics.

        Default: ``out = model(**batch)`` (through the DDP wrapper, so gradients synchronise),
        then ``model.loss(out, **batch)`` split by :func:`split_loss_terms`. Tasks with several
        :attr:`optimizers` override it with an extra ``optimizer: str`` keyword.
        """
        out = model(**batch)
        return split_loss_terms(unwrap(model).loss(out, **batch))

    def validation_stats(self, model: torch.nn.Module, batch: Dict[str, Any]) -> LossStats:
        """Statistics of one validation batch (0-dim tensors): those of :meth:`compute_loss` and ``loss``.

        With several optimisers: each one's statistics prefixed ``<name>_``, its loss as
        ``<name>_loss``, and ``loss`` their sum.
        """
        if not self.optimizers:
            loss, stats = self.compute_loss(model, batch)
            return {"loss": loss.detach(), **stats}
        out: LossStats = {}
        total = None
        for name in self.optimizers:
            loss, stats = self.compute_loss(model, batch, optimizer=name)  # type: ignore[call-arg]
            out.update(prefixed_stats(name, loss, stats))
            total = loss.detach() if total is None else total + loss.detach()
        out["loss"] = total  # type: ignore[assignment]
        return out

    def parameter_groups(self, model: torch.nn.Module) -> Dict[str, List[torch.nn.Parameter]]:
        """Parameters of each of :attr:`optimizers` (only called when there are several)."""
        raise NotImplementedError(f"{type(self).__name__} declares optimizers {self.optimizers} but no parameter_groups()")

    def set_num_updates(self, num_updates: int) -> None:
        """Optimiser updates done so far; the trainer calls it before every update (fairseq's ``set_num_updates``)."""
        self.num_updates = num_updates

    def check_init_source(self, model_dir: Path) -> None:
        """Refuse a model directory ``trainer.init_from`` would load from (e.g. another token list); default: accept."""

    def export_assets(self, model_dir: Path) -> Sequence[str]:
        """Copy what inference needs (``tokens.txt``, ``stats.npz``...) into ``model_dir``; return the file names.

        The trainer records their checksums in ``assets.sha256`` (:mod:`speechtools.train.assets`),
        so a model directory whose assets were replaced refuses to load.
        """
        return ()

    def load_assets(self, model_dir: Path) -> None:
        """Read back what :meth:`export_assets` wrote (``load_model_dir`` calls it before :meth:`build_model`)."""


def prefixed_stats(name: str, loss: torch.Tensor, stats: LossStats) -> LossStats:
    """One optimiser's loss and statistics under the names ``<name>_loss`` and ``<name>_<stat>``."""
    return {f"{name}_loss": loss.detach(), **{f"{name}_{k}": v for k, v in stats.items()}}
