"""A residual convolutional noise predictor for mel-domain diffusion, conditioned on a hidden sequence.

The DiffWave-style network (Kong et al., ICLR 2021, Sec. 3 / Fig. 2) moved to mel frames, as
PriorGrad's acoustic decoder uses it (Lee et al., ICLR 2022: 12 residual layers, 128 channels,
dilation 1): ``ε̂ = f(x_t, t, c)`` for noised mel frames ``x_t`` ``(batch, frames, n_mels)``, a
diffusion step ``t`` ``(batch,)`` (float: fast schedules condition on fractional training steps)
and a frame-rate condition ``c`` ``(batch, frames, cond_dim)`` (e.g. a TTS decoder's hidden states).

* input: 1-wide conv ``n_mels → C`` (linear: DiffWave's ReLU after its 1-channel waveform input
  would discard the sign of about half of ``n_mels`` signed inputs when ``C < 2·n_mels``; without
  it a tiny model overfitting one clip reached a given loss in about half the steps);
* step: sinusoidal embedding of ``t`` (:func:`step_embedding`) → Linear → SiLU → Linear → SiLU,
  projected per layer to ``C`` and added to the layer's input;
* each residual layer: conv (kernel ``kernel_size``, ``C → 2C``) of ``x + step`` plus a 1-wide
  projection of ``c`` to ``2C``, gated ``tanh ⊙ sigmoid``, 1-wide conv ``C → 2C`` split into a
  residual (``(x + r)/√2``) and a skip output;
* output: the skips summed and scaled by ``1/√layers`` → 1-wide conv + ReLU → 1-wide conv to
  ``n_mels``, initialised to zero (DiffWave), so training starts from ``ε̂ = 0``.

Channel-last sequences with padding masks throughout (:class:`~speechtools.nn.conv.Conv1dT` zeroes
padded frames before every convolution), so a padded batch computes what each item computes alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import nn

from speechtools.config import check_ranges
from speechtools.nn.conv import Conv1dT, masked_fill_padding


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
        if self.step_dim % 2:
            raise ValueError(f"step_dim must be even, got {self.step_dim}")


def step_embedding(step: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) diffusion steps: ``(batch,)`` → ``(batch, dim)``.

    ``[sin(t·10^(4i/(h−1))), cos(t·10^(4i/(h−1)))]`` for ``i = 0..h−1``, ``h = dim/2`` (DiffWave's
    frequencies, 1 to 10⁴ per step); a fractional ``t`` interpolates smoothly between steps.
    """
    half = dim // 2
    exponents = torch.arange(half, device=step.device, dtype=torch.float64) * (4.0 / max(half - 1, 1))
    angles = step.double().unsqueeze(1) * (10.0 ** exponents).unsqueeze(0)  # float64: t·10⁴ reaches 4·10⁶
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1).float()


class _ResidualLayer(nn.Module):
    """One gated residual layer of :class:`MelDenoiser`."""

    def __init__(self, channels: int, cond_dim: int, kernel_size: int, step_hidden: int) -> None:
        super().__init__()
        self.step_proj = nn.Linear(step_hidden, channels)
        self.conv = Conv1dT(channels, 2 * channels, kernel_size)
        self.cond_proj = Conv1dT(cond_dim, 2 * channels, 1)
        self.out_proj = Conv1dT(channels, 2 * channels, 1)

    def forward(self, x: torch.Tensor, step: torch.Tensor, cond: torch.Tensor,
                mask: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(x + self.step_proj(step).unsqueeze(1), mask) + self.cond_proj(cond)
        gate, filt = y.chunk(2, dim=-1)
        residual, skip = self.out_proj(torch.sigmoid(gate) * torch.tanh(filt)).chunk(2, dim=-1)
        return (x + residual) / math.sqrt(2.0), skip


class MelDenoiser(nn.Module):
    """``ε̂ = f(x_t, t, c)`` on mel frames (see the module docstring).

    Args:
        n_mels: mel bins of ``x_t`` and of the output. cond_dim: size of the condition ``c``.
        conf: :class:`MelDenoiserConfig`.
    """

    def __init__(self, n_mels: int, cond_dim: int, conf: Optional[MelDenoiserConfig] = None) -> None:
        super().__init__()
        conf = conf or MelDenoiserConfig()
        self.conf = conf
        self.input_proj = Conv1dT(n_mels, conf.channels, 1)
        self.step_mlp = nn.Sequential(
            nn.Linear(conf.step_dim, conf.step_hidden), nn.SiLU(), nn.Linear(conf.step_hidden, conf.step_hidden), nn.SiLU()
        )
        self.layers = nn.ModuleList(
            _ResidualLayer(conf.channels, cond_dim, conf.kernel_size, conf.step_hidden) for _ in range(conf.layers)
        )
        self.skip_proj = Conv1dT(conf.channels, conf.channels, 1)
        self.output_proj = Conv1dT(conf.channels, n_mels, 1)
        nn.init.zeros_(self.output_proj.weight)
        nn.init.zeros_(self.output_proj.bias)

    def forward(self, x_t: torch.Tensor, step: torch.Tensor, cond: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Predicted noise ``(batch, frames, n_mels)``; 0 at padded frames (``mask`` False)."""
        x = masked_fill_padding(self.input_proj(x_t, mask), mask)
        cond = masked_fill_padding(cond, mask)
        emb = self.step_mlp(step_embedding(step.to(x.device), self.conf.step_dim).to(x.dtype))
        skips = torch.zeros_like(x)
        for layer in self.layers:
            x, skip = layer(x, emb, cond, mask)
            skips = skips + skip
        out = self.skip_proj(skips / math.sqrt(len(self.layers)), mask, relu=True)
        return masked_fill_padding(self.output_proj(out, mask), mask)
