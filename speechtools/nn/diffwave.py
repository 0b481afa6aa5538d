"""DiffWave's denoising network (Kong et al., ICLR 2021), the residual network of the PriorGrad vocoder.

A non-causal WaveNet that predicts the noise ``ε̂(x_t, t, c)`` of a noisy waveform ``x_t`` given
the diffusion step ``t`` and a conditioning signal ``c`` at the waveform's rate (the upsampled
mel spectrogram):

* step embedding (:class:`DiffusionStepEmbedding`): 64 sines and 64 cosines of ``t·10^(4i/63)``
  (128 values), ``Linear(128, 512)`` → SiLU → ``Linear(512, 512)`` → SiLU; a fractional step
  (fast sampling, :func:`speechtools.nn.diffusion.aligned_steps`) interpolates the sinusoids of
  its two neighbouring integer steps linearly;
* ``Conv1d(in_channels, C, 1)`` → ReLU, then ``layers`` residual blocks (:class:`DiffWaveResidualBlock`)
  with dilation ``2^(i mod dilation_cycle)``: ``y = DilatedConv_k3(x + Linear(step)) +
  Conv1x1(c)``, gated ``sigmoid(y₁)·tanh(y₂)``, ``Conv1x1`` into a residual half (added to
  ``x``, scaled by ``1/√2``) and a skip half;
* the skips summed and scaled by ``1/√layers`` → ``Conv1x1`` → ReLU → ``Conv1x1(C, 1)``
  initialised to zero (the reference zeroes the weight; we zero the bias too, so the network starts
  at exactly ε̂ = 0 and the first loss is E[z²] = 1).

:class:`FrameUpsampler` brings frame-rate conditioning (mel frames) to the waveform rate: one
``ConvTranspose2d(1, 1, (3, 2s), stride (1, s), padding (1, s/2))`` + LeakyReLU(0.4) per stride
``s`` over the (bins × frames) image, so ``T`` frames become ``T·Πs`` samples (DiffWave: two of
stride 16 for a hop of 256).

The same network denoises mel frames in PriorGrad's acoustic decoder
(:class:`speechtools.nn.mel_denoiser.MelDenoiser`: ``in_channels = n_mels``, dilation 1, no ReLU
after the input projection, and a padding mask: padded frames are zeroed before every temporal
convolution and in the output, so a padded batch computes what each item computes alone).

Convolutions are initialised with Kaiming-normal weights, as in the reference. Plain PyTorch;
the only Python loop is over the layers.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn


class FrameUpsampler(nn.Module):
    """``(B, bins, T)`` → ``(B, bins, T·Π strides)`` by transposed 2-D convolutions over (bins × time); even strides."""

    def __init__(self, strides: Sequence[int]) -> None:
        super().__init__()
        if not strides or any(s < 2 or s % 2 for s in strides):
            raise ValueError(f"upsampling strides must be even numbers >= 2, got {list(strides)}")
        self.convs = nn.ModuleList(nn.ConvTranspose2d(1, 1, (3, 2 * s), stride=(1, s), padding=(1, s // 2)) for s in strides)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.unsqueeze(1)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.4)
        return x.squeeze(1)


class DiffusionStepEmbedding(nn.Module):
    """``(B,)`` diffusion steps (integer or fractional, in ``[0, num_steps − 1]``) → ``(B, hidden)``."""

    def __init__(self, num_steps: int, dim: int = 128, hidden: int = 512) -> None:
        super().__init__()
        if dim < 4 or dim % 2:
            raise ValueError(f"the step embedding size must be even and >= 4, got {dim}")
        half = dim // 2
        steps = torch.arange(num_steps, dtype=torch.float64).unsqueeze(1)
        scales = 10.0 ** (torch.arange(half, dtype=torch.float64) * 4.0 / (half - 1))
        angles = steps * scales.unsqueeze(0)
        self.register_buffer("table", torch.cat([angles.sin(), angles.cos()], dim=1).float(), persistent=False)
        self.proj1 = nn.Linear(dim, hidden)
        self.proj2 = nn.Linear(hidden, hidden)

    def forward(self, step: torch.Tensor) -> torch.Tensor:
        step = step.to(self.table.device, torch.float32).clamp(0, self.table.size(0) - 1)
        low = step.floor().long()
        high = step.ceil().long()
        frac = (step - low.float()).unsqueeze(1)
        x = self.table[low] + (self.table[high] - self.table[low]) * frac
        return F.silu(self.proj2(F.silu(self.proj1(x))))


class DiffWaveResidualBlock(nn.Module):
    """One gated, dilated residual block: ``(x, cond, step) → ((x + residual)/√2, skip)``."""

    def __init__(self, cond_channels: int, channels: int, dilation: int, step_hidden: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.dilated = nn.Conv1d(channels, 2 * channels, kernel_size, padding=dilation * (kernel_size - 1) // 2, dilation=dilation)
        self.step_proj = nn.Linear(step_hidden, channels)
        self.cond_proj = nn.Conv1d(cond_channels, 2 * channels, 1)
        self.out_proj = nn.Conv1d(channels, 2 * channels, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, step: torch.Tensor,
                keep: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``keep`` ``(B, 1, L)``: 1 at valid positions, 0 at padding (zeroed before the dilated convolution)."""
        h = x + self.step_proj(step).unsqueeze(-1)
        y = self.dilated(h if keep is None else h * keep) + self.cond_proj(cond)
        gate, signal = y.chunk(2, dim=1)
        residual, skip = self.out_proj(torch.sigmoid(gate) * torch.tanh(signal)).chunk(2, dim=1)
        return (x + residual) * (1.0 / math.sqrt(2.0)), skip


class DiffWave(nn.Module):
    """The denoiser ``ε̂ = net(x_t (B, in_channels, L), step (B,), cond (B, cond_channels, L)) → (B, in_channels, L)``.

    Args:
        cond_channels: channels of the conditioning signal (mel bins for a vocoder).
        layers, channels: residual blocks and their width (reference vocoder: 30 × 64).
        dilation_cycle: dilations ``2^(i mod dilation_cycle)`` (reference: 10).
        num_steps: diffusion steps of the training schedule (the step embedding's table).
        step_dim, step_hidden: sinusoid size and MLP width of the step embedding (128, 512).
        kernel_size: of the dilated convolutions (odd; 3).
        in_channels: channels of ``x_t`` and of the output (1 for a waveform, mel bins for a mel decoder).
        input_relu: ReLU after the input projection (DiffWave; off for signed multi-channel input,
            where it would discard the sign of about half the inputs).
    """

    def __init__(self, cond_channels: int, layers: int = 30, channels: int = 64, dilation_cycle: int = 10, num_steps: int = 50,
                 step_dim: int = 128, step_hidden: int = 512, kernel_size: int = 3, in_channels: int = 1,
                 input_relu: bool = True) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.input_relu = input_relu
        self.input_proj = nn.Conv1d(in_channels, channels, 1)
        self.step_embedding = DiffusionStepEmbedding(num_steps, step_dim, step_hidden)
        self.blocks = nn.ModuleList(
            DiffWaveResidualBlock(cond_channels, channels, 2 ** (i % dilation_cycle), step_hidden, kernel_size) for i in range(layers)
        )
        self.skip_proj = nn.Conv1d(channels, channels, 1)
        self.output_proj = nn.Conv1d(channels, in_channels, 1)
        for module in self.modules():
            if isinstance(module, nn.Conv1d):
                nn.init.kaiming_normal_(module.weight)
        nn.init.zeros_(self.output_proj.weight)
        nn.init.zeros_(self.output_proj.bias)

    @property
    def receptive_field(self) -> int:
        """Samples of input that one output sample depends on."""
        return 1 + sum(block.dilated.dilation[0] * (block.dilated.kernel_size[0] - 1) for block in self.blocks)

    def forward(self, x: torch.Tensor, step: torch.Tensor, cond: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Predicted noise ``(B, in_channels, L)``; with ``mask`` ``(B, L)`` (True = valid) it is 0 at padding."""
        h = self.input_proj(x)
        if self.input_relu:
            h = F.relu(h)
        keep = None if mask is None else mask.unsqueeze(1).to(h.dtype)
        emb = self.step_embedding(step)
        skips = torch.zeros_like(h)
        for block in self.blocks:
            h, skip = block(h, cond, emb, keep)
            skips = skips + skip
        out = self.output_proj(F.relu(self.skip_proj(skips * (1.0 / math.sqrt(len(self.blocks))))))
        return out if keep is None else out * keep
