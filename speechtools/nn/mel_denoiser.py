"""The noise predictor of PriorGrad's diffusion mel decoder: DiffWave's network on mel frames.

PriorGrad's acoustic decoder (Lee et al., ICLR 2022, Sec. 3.2: 12 residual layers, 128 channels,
dilation 1) is DiffWave's residual network (Kong et al., ICLR 2021, Fig. 2;
:class:`speechtools.nn.diffwave.DiffWave`) with the noisy mel as its ``n_mels``-channel input and
the TTS decoder's hidden states as its frame-rate condition: ``ε̂ = f(x_t, t, c)`` for noised mel
frames ``x_t`` ``(batch, frames, n_mels)``, a (possibly fractional, for fast schedules) training
step ``t`` ``(batch,)`` and ``c`` ``(batch, frames, cond_dim)``. Differences from the vocoder's use:
no ReLU after the input projection (it would discard the sign of about half of the signed mel
inputs; without it a tiny model overfitting one clip reached a given loss in about half the steps)
and a padding mask, so a padded batch computes what each item computes alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from speechtools.config import check_ranges
from speechtools.nn.diffwave import DiffWave


@dataclass
class MelDenoiserConfig:
    """Sizes of :class:`MelDenoiser` (defaults: PriorGrad's acoustic decoder, 12 layers × 128 channels, kernel 3).

    Attributes:
        layers: residual layers. channels: residual channels C. kernel_size: odd temporal kernel
            (dilation 1, as the reference). step_dim: sinusoidal step-embedding size (even).
            step_hidden: width of the step MLP.
    """

    layers: int = 12
    channels: int = 128
    kernel_size: int = 3
    step_dim: int = 128
    step_hidden: int = 512

    def __post_init__(self) -> None:
        check_ranges(self, positive=("layers", "channels", "kernel_size", "step_dim", "step_hidden"))
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        if self.step_dim < 4 or self.step_dim % 2:
            raise ValueError(f"step_dim must be even and >= 4, got {self.step_dim}")


class MelDenoiser(nn.Module):
    """``ε̂ = f(x_t, t, c)`` on channel-last mel frames (see the module docstring).

    Args:
        n_mels: mel bins of ``x_t`` and of the output. cond_dim: size of the condition ``c``.
        num_steps: steps of the training schedule (the step embedding's table).
        conf: :class:`MelDenoiserConfig`.
    """

    def __init__(self, n_mels: int, cond_dim: int, num_steps: int, conf: Optional[MelDenoiserConfig] = None) -> None:
        super().__init__()
        conf = conf or MelDenoiserConfig()
        self.net = DiffWave(cond_dim, conf.layers, conf.channels, dilation_cycle=1, num_steps=num_steps,
                            step_dim=conf.step_dim, step_hidden=conf.step_hidden, kernel_size=conf.kernel_size,
                            in_channels=n_mels, input_relu=False)

    def forward(self, x_t: torch.Tensor, step: torch.Tensor, cond: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Predicted noise ``(batch, frames, n_mels)``; 0 at padded frames (``mask`` False)."""
        out = self.net(x_t.transpose(1, 2), step, cond.transpose(1, 2), mask)
        return out.transpose(1, 2)
