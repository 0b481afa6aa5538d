"""Optimiser construction from :class:`~speechtools.train.config.OptimConfig`."""

from __future__ import annotations

from typing import Iterable

import torch

from speechtools.train.config import OptimConfig


def build_optimizer(parameters: Iterable[torch.nn.Parameter], conf: OptimConfig) -> torch.optim.Optimizer:
    """Adam (Kingma & Ba 2015, L2 penalty added to the gradient) or AdamW (decoupled weight decay, Loshchilov & Hutter 2019)."""
    params = [p for p in parameters if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    cls = torch.optim.AdamW if conf.name == "adamw" else torch.optim.Adam
    return cls(params, lr=conf.lr, betas=tuple(conf.betas), eps=conf.eps, weight_decay=conf.weight_decay)
