"""Learning-rate schedules as multipliers of ``optim.lr``, per optimiser step ``s = 1, 2, ...``.

With ``w = warmup_steps``, ``d = model_dim``, ``T = decay_steps`` and peak rate ``lr``:

* ``constant``: ``lr * min(1, s / w)`` (no warmup when ``w = 0``).
* ``noam`` (Vaswani et al. 2017, "Attention is all you need", eq. 3):
  ``lr * d^-0.5 * min(s^-0.5, s * w^-1.5)``; here ``lr`` is the paper's scale factor
  (1.0 in the paper), so the peak rate reached at ``s = w`` is ``lr * (d * w)^-0.5``.
* ``rsqrt`` (inverse square root, fairseq ``inverse_sqrt``): linear warmup to ``lr``, then
  ``lr * sqrt(w / s)``, i.e. ``lr * min(s / w, sqrt(w / s))``. It is ``noam`` rescaled so that
  its peak is exactly ``lr``.
* ``cosine`` (Loshchilov & Hutter 2017, SGDR without restarts, with linear warmup):
  ``lr * s / w`` while ``s <= w``, then
  ``min_lr + (lr - min_lr) * 0.5 * (1 + cos(pi * min(1, (s - w) / (T - w))))``.

The schedules are :class:`torch.optim.lr_scheduler.LambdaLR` multipliers, so their state
(the step count) is saved and restored with the scheduler's ``state_dict``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from speechtools.train.config import SchedulerConfig


@dataclass(frozen=True)
class LRMultiplier:
    """``lr(s) / optim.lr`` for step ``s`` (1-based) of one of the schedules above."""

    name: str
    warmup_steps: int
    base_lr: float
    model_dim: int = 1
    min_lr: float = 0.0
    decay_steps: int = 1

    def __call__(self, step: int) -> float:
        s = max(int(step), 1)
        w = self.warmup_steps
        if self.name == "constant":
            return min(1.0, s / w) if w > 0 else 1.0
        if self.name == "noam":
            return self.model_dim**-0.5 * min(s**-0.5, s * w**-1.5)
        if self.name == "rsqrt":
            return min(s / w, math.sqrt(w / s))
        if self.name == "cosine":
            if w > 0 and s <= w:
                return s / w
            span = max(self.decay_steps - w, 1)
            progress = min(1.0, (s - w) / span)
            floor = self.min_lr / self.base_lr
            return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        raise ValueError(f"unknown schedule {self.name!r}")


class _ShiftedLambda:
    """LambdaLR calls its multiplier with the number of *completed* steps; shift to 1-based."""

    def __init__(self, multiplier: LRMultiplier) -> None:
        self.multiplier = multiplier

    def __call__(self, completed_steps: int) -> float:
        return self.multiplier(completed_steps + 1)


def build_multiplier(conf: SchedulerConfig, base_lr: float, max_steps: int) -> LRMultiplier:
    """The multiplier function of ``conf`` (``decay_steps`` defaults to ``max_steps``)."""
    return LRMultiplier(
        name=conf.name,
        warmup_steps=conf.warmup_steps,
        base_lr=base_lr,
        model_dim=conf.model_dim or 1,
        min_lr=conf.min_lr,
        decay_steps=conf.decay_steps or max_steps,
    )


def build_scheduler(
    optimizer: torch.optim.Optimizer, conf: SchedulerConfig, max_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR whose rate for the ``s``-th optimiser step is ``optim.lr * multiplier(s)``.

    Call ``scheduler.step()`` after each ``optimizer.step()``.
    """
    base_lr = optimizer.param_groups[0]["lr"]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, _ShiftedLambda(build_multiplier(conf, base_lr, max_steps)))
