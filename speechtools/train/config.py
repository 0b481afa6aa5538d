"""Dataclasses for the ``optim:``, ``scheduler:`` and ``trainer:`` blocks of an experiment config.

Each is validated with :func:`speechtools.config.from_dict`, so an unknown key is an error
naming the key and the file. Defaults live here; recipe configs override what they need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Literal, Optional, Tuple


@dataclass
class OptimConfig:
    """Optimiser (Kingma & Ba 2015 Adam; Loshchilov & Hutter 2019 AdamW).

    ``lr`` is the peak learning rate the scheduler scales (for ``noam`` it is the
    multiplier of Vaswani et al.'s formula, see :mod:`speechtools.train.schedulers`).
    """

    name: Literal["adam", "adamw"] = "adam"
    lr: float = 1e-3
    betas: Tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-9
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.eps <= 0:
            raise ValueError(f"eps must be positive, got {self.eps}")
        if not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas must lie in [0, 1), got {self.betas}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")


@dataclass
class SchedulerConfig:
    """Learning-rate schedule; formulas in :mod:`speechtools.train.schedulers`.

    Attributes:
        name: ``constant`` (optional linear warmup), ``noam``, ``rsqrt`` or ``cosine``.
        warmup_steps: linear warmup length in optimiser steps.
        model_dim: ``noam`` only: the model width ``d_model`` of the formula.
        min_lr: ``cosine`` only: the floor the cosine decays to.
        decay_steps: ``cosine`` only: step at which ``min_lr`` is reached (default ``trainer.max_steps``).
    """

    name: Literal["constant", "noam", "rsqrt", "cosine"] = "constant"
    warmup_steps: int = 0
    model_dim: Optional[int] = None
    min_lr: float = 0.0
    decay_steps: Optional[int] = None

    def __post_init__(self) -> None:
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.name in ("noam", "rsqrt") and self.warmup_steps == 0:
            raise ValueError(f"the {self.name} schedule needs warmup_steps > 0")
        if self.name == "noam" and (self.model_dim is None or self.model_dim <= 0):
            raise ValueError("the noam schedule needs model_dim (the model width d_model)")
        if self.min_lr < 0:
            raise ValueError(f"min_lr must be >= 0, got {self.min_lr}")


@dataclass
class InitFromConfig:
    """``trainer.init_from``: start from (part of) another model's weights (fine-tuning, adaptation).

    Attributes:
        path: a model directory (its ``model.pt``), a ``model.pt`` or a training checkpoint
            (``checkpoints/step_N.pt``); empty = start from the random initialisation.
        include: parameter/buffer name patterns (``fnmatch``: ``encoder.*``) to load; default all.
        exclude: patterns not to load even if included (e.g. a new output head).
        strict: every included name of the model must be in the source with the same shape,
            and every included name of the source in the model; ``false`` loads what fits and
            reports the rest (missing, unexpected, shape-mismatched) in one line.
    """

    path: str = ""
    include: List[str] = field(default_factory=lambda: ["*"])
    exclude: List[str] = field(default_factory=list)
    strict: bool = True


@dataclass
class TrainerConfig:
    """Everything the generic trainer does that is not task-specific.

    Attributes:
        max_steps: optimiser updates to run.
        accum_grad: micro-batches accumulated per update.
        grad_clip: clip the global gradient L2 norm to this value (0 disables).
        batch_bins: a batch's padded size (batch size x longest item, in the task's length
            unit: frames or tokens) may not exceed this; see :mod:`speechtools.data.sampler`.
        max_batch_size: cap on items per batch (None = no cap).
        min_batch_size: floor on items per batch; must be >= the number of processes in DDP.
        valid_batch_bins: ``batch_bins`` for validation (default: ``batch_bins``).
        shuffle: shuffle the batch order each epoch (deterministic given seed and epoch).
        num_workers: DataLoader worker processes (0 = load in the training process).
        log_interval: write a ``train_log.jsonl`` record every this many steps.
        valid_interval: validate every this many steps (0 = only at the end).
        save_interval: write ``checkpoints/step_N.pt`` every this many steps (the last step is always saved).
        keep_last: checkpoints kept on disk (0 = keep all); must be >= ``average_last``.
        average_last: ``model.pt`` is the average of this many last checkpoints.
        amp: mixed precision on CUDA (``bf16`` or ``fp16`` with a GradScaler); ignored on CPU.
        seed: seed for Python, NumPy and torch RNGs and for the batch order.
        find_unused_parameters: passed to DistributedDataParallel.
        init_from: initial weights from another model (:class:`InitFromConfig`); not applied on ``--resume``.
        freeze: parameter name patterns (``fnmatch``) that are not trained.
        trainable: if given, only parameters matching one of these patterns are trained (then
            ``freeze`` removes more). AdaSpeech fine-tunes ``["*.cond_norm*", "speaker_embedding.*"]``.
        ema_decay: keep an exponential moving average of the weights, ``ema = d·ema + (1 − d)·w``
            after every update (0 = off); saved in checkpoints and used for ``model.pt``.
    """

    max_steps: int = 1000
    accum_grad: int = 1
    grad_clip: float = 1.0
    batch_bins: int = 10000
    max_batch_size: Optional[int] = None
    min_batch_size: int = 1
    valid_batch_bins: Optional[int] = None
    shuffle: bool = True
    num_workers: int = 0
    log_interval: int = 10
    valid_interval: int = 500
    save_interval: int = 500
    keep_last: int = 5
    average_last: int = 1
    amp: Literal["none", "bf16", "fp16"] = "none"
    seed: int = 1
    find_unused_parameters: bool = False
    init_from: InitFromConfig = field(default_factory=InitFromConfig)
    freeze: List[str] = field(default_factory=list)
    trainable: List[str] = field(default_factory=list)
    ema_decay: float = 0.0

    def __post_init__(self) -> None:
        positive = {
            "max_steps": self.max_steps,
            "accum_grad": self.accum_grad,
            "batch_bins": self.batch_bins,
            "min_batch_size": self.min_batch_size,
            "log_interval": self.log_interval,
            "save_interval": self.save_interval,
            "average_last": self.average_last,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if self.max_batch_size is not None and self.max_batch_size < self.min_batch_size:
            raise ValueError(f"max_batch_size ({self.max_batch_size}) < min_batch_size ({self.min_batch_size})")
        if self.grad_clip < 0 or self.num_workers < 0 or self.valid_interval < 0 or self.keep_last < 0:
            raise ValueError("grad_clip, num_workers, valid_interval and keep_last must be >= 0")
        if self.keep_last and self.keep_last < self.average_last:
            raise ValueError(f"keep_last ({self.keep_last}) must be >= average_last ({self.average_last})")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1) (0 = off), got {self.ema_decay}")
