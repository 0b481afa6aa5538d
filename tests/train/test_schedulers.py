"""Learning-rate schedules checked against their formulas at hand-picked steps, through a real optimiser."""

from __future__ import annotations

import math
from typing import List

import pytest
import torch

from speechtools.train.config import SchedulerConfig
from speechtools.train.schedulers import build_scheduler


def lrs(conf: SchedulerConfig, base_lr: float, steps: int, max_steps: int = 100) -> List[float]:
    """Learning rate used by optimiser steps 1..steps."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base_lr)
    sched = build_scheduler(opt, conf, max_steps)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_noam_matches_vaswani_eq3() -> None:
    # lr = d^-0.5 * min(s^-0.5, s * w^-1.5) with the paper's d=512, w=4000 and scale 1.
    got = lrs(SchedulerConfig(name="noam", warmup_steps=4000, model_dim=512), 1.0, 8000)
    assert got[0] == pytest.approx(512**-0.5 * 4000**-1.5)
    assert got[3999] == pytest.approx(512**-0.5 * 4000**-0.5)  # peak ~7.0e-4 at s = w
    assert got[3999] == pytest.approx(6.9877e-4, rel=1e-4)
    assert got[7999] == pytest.approx(512**-0.5 * 8000**-0.5)
    assert max(got) == got[3999]


def test_rsqrt_peaks_at_lr_then_decays_as_inverse_sqrt() -> None:
    got = lrs(SchedulerConfig(name="rsqrt", warmup_steps=10), 2e-3, 40)
    assert got[0] == pytest.approx(2e-4)
    assert got[9] == pytest.approx(2e-3)
    assert got[39] == pytest.approx(2e-3 * math.sqrt(10 / 40))
    # rsqrt is noam rescaled to peak at lr: ratio constant
    noam = lrs(SchedulerConfig(name="noam", warmup_steps=10, model_dim=64), 1.0, 40)
    ratios = [a / b for a, b in zip(got, noam)]
    assert max(ratios) == pytest.approx(min(ratios))


def test_cosine_warmup_then_half_cosine_to_min_lr() -> None:
    conf = SchedulerConfig(name="cosine", warmup_steps=10, min_lr=1e-4)
    got = lrs(conf, 1e-3, 60, max_steps=50)
    assert got[4] == pytest.approx(5e-4)
    assert got[9] == pytest.approx(1e-3)
    assert got[29] == pytest.approx(1e-4 + 0.9e-3 * 0.5 * (1 + math.cos(math.pi * 0.5)))  # halfway: mean of ends
    assert got[49] == pytest.approx(1e-4)
    assert got[59] == pytest.approx(1e-4)  # stays at the floor past decay_steps


def test_constant_with_and_without_warmup() -> None:
    assert lrs(SchedulerConfig(name="constant"), 1e-3, 3) == [1e-3] * 3
    got = lrs(SchedulerConfig(name="constant", warmup_steps=4), 1e-3, 6)
    assert got == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])


@pytest.mark.parametrize("kwargs", [{"name": "noam", "warmup_steps": 10}, {"name": "rsqrt"}, {"warmup_steps": -1}])
def test_invalid_schedules_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        SchedulerConfig(**kwargs)
