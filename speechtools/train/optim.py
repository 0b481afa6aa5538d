"""Optimisers, their schedules and grad scalers: one per optimiser a task declares.

A task with one optimiser (the usual case, :attr:`~speechtools.tasks.base.Task.optimizers`
empty) gets one :class:`Stepper` over every trainable parameter, configured by ``optim:`` and
``scheduler:``. A task that declares several (a GAN-style ``("discriminator", "generator")``)
gets one stepper per name, over the parameters its :meth:`~speechtools.tasks.base.Task.parameter_groups`
gives that name, each configured by ``optim.<name>`` / ``scheduler.<name>``; they step in the
declared order within every update, each with its own learning-rate schedule and AMP grad scaler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Union

import torch

from speechtools.errors import UserError
from speechtools.train.config import OptimConfig, SchedulerConfig
from speechtools.train.schedulers import build_scheduler


def build_optimizer(parameters: Iterable[torch.nn.Parameter], conf: OptimConfig) -> torch.optim.Optimizer:
    """Adam (Kingma & Ba 2015, L2 penalty added to the gradient) or AdamW (decoupled weight decay, Loshchilov & Hutter 2019)."""
    params = [p for p in parameters if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    cls = torch.optim.AdamW if conf.name == "adamw" else torch.optim.Adam
    return cls(params, lr=conf.lr, betas=tuple(conf.betas), eps=conf.eps, weight_decay=conf.weight_decay)


@dataclass
class Stepper:
    """One optimiser with its schedule, grad scaler and parameters (``name`` is ``""`` for the single-optimiser case)."""

    name: str
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    params: List[torch.nn.Parameter]

    def state_dict(self) -> Dict[str, Any]:
        """Optimiser, schedule (without its lambdas: the schedule comes from the config) and scaler states."""
        sched_state = self.scheduler.state_dict()
        sched_state["lr_lambdas"] = [None] * len(sched_state.get("lr_lambdas", []))
        return {"optimizer": self.optimizer.state_dict(), "scheduler": sched_state, "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Inverse of :meth:`state_dict`."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])


OptimBlock = Union[OptimConfig, Dict[str, OptimConfig]]
SchedulerBlock = Union[SchedulerConfig, Dict[str, SchedulerConfig]]


def build_steppers(
    groups: Mapping[str, List[torch.nn.Parameter]], optim: OptimBlock, scheduler: SchedulerBlock,
    max_steps: int, scaler_enabled: bool,
) -> List[Stepper]:
    """One :class:`Stepper` per parameter group, in the groups' order.

    ``groups`` is ``{"": all parameters}`` for a single optimiser (then ``optim``/``scheduler``
    are single configs) or ``{name: parameters}`` with ``optim``/``scheduler`` mappings by name.
    """
    steppers: List[Stepper] = []
    for name, params in groups.items():
        trainable = [p for p in params if p.requires_grad]
        if not trainable:
            raise UserError(f"optimiser {name or 'optim'!r} has no trainable parameters (check trainer.freeze/trainable)")
        o = optim[name] if isinstance(optim, dict) else optim
        s = scheduler[name] if isinstance(scheduler, dict) else scheduler
        opt = build_optimizer(trainable, o)
        steppers.append(Stepper(name, opt, build_scheduler(opt, s, max_steps), torch.amp.GradScaler("cuda", enabled=scaler_enabled), trainable))
    return steppers


def steppers_state(steppers: List[Stepper]) -> Dict[str, Any]:
    """Checkpoint entries: ``optimizer``/``scheduler``/``scaler`` for one optimiser (the historical layout), else ``optimizers: {name: ...}``."""
    if len(steppers) == 1 and not steppers[0].name:
        return steppers[0].state_dict()
    return {"optimizers": {s.name: s.state_dict() for s in steppers}}


def load_steppers_state(steppers: List[Stepper], payload: Mapping[str, Any]) -> None:
    """Inverse of :func:`steppers_state`."""
    if len(steppers) == 1 and not steppers[0].name:
        steppers[0].load_state_dict(payload)
        return
    states = payload["optimizers"]
    for stepper in steppers:
        stepper.load_state_dict(states[stepper.name])
