"""Convolutions on channel-last sequences ``(batch, time, channels)`` that respect padding.

Padded positions are zeroed before every convolution, so a padded batch computes exactly
what each item computes alone.

Speed (CPU): activations stay ``(batch, time, channels)``. A depthwise convolution runs as a 2-D
convolution on the free ``(batch, C, 1, time)`` view of that tensor, which is channels-last in
memory, so PyTorch takes oneDNN's vectorised depthwise kernel without copies (0.05-0.09 ms instead
of 1.3-2.0 ms for ``nn.Conv1d`` on a channel-first copy, 256 channels x 360 frames at kernels
17-25, ``docs/tts-efficient.md``); a 1-wide convolution is a matrix product (``F.linear``);
other convolutions run ``F.conv1d`` on a channel-first copy. Plain PyTorch throughout: the
faster CPU inference variants (im2col GEMMs, bucketed lengths) are applied on request by
:func:`speechtools.nn.cpu_fast_path.enable_cpu_fast_path`.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F


def masked_fill_padding(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Zero ``x`` ``(batch, time, ch)`` where ``mask`` ``(batch, time)`` is False (padding)."""
    if mask is None:
        return x
    return x * mask.unsqueeze(-1).to(x.dtype)


def depthwise_conv1d_btc(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], groups: int) -> torch.Tensor:
    """"Same" depthwise convolution (``weight`` ``(C_out, 1, K)``) of ``x`` ``(B, T, C)`` on its channels-last 2-D view."""
    view = x.transpose(1, 2).unsqueeze(2)  # (B, C, 1, T) with channels-last strides
    if not view.is_contiguous(memory_format=torch.channels_last):
        view = view.contiguous(memory_format=torch.channels_last)
    return F.conv2d(view, weight.unsqueeze(2), bias, padding=(0, weight.shape[-1] // 2), groups=groups).squeeze(2).transpose(1, 2)


def conv1d_btc(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None, groups: int = 1) -> torch.Tensor:
    """"Same" 1-D convolution of ``x`` ``(B, T, C_in)`` with ``weight`` ``(C_out, C_in / groups, K)``, K odd.

    Equals ``F.conv1d(x.transpose(1, 2), weight, bias, padding=K // 2, groups=groups).transpose(1, 2)``,
    computed without transposed copies where it can (see the module docstring); returns ``(B, T, C_out)``.
    """
    kernel = weight.shape[-1]
    if groups == 1 and kernel == 1:
        return F.linear(x, weight.reshape(weight.size(0), -1), bias)
    if weight.shape[1] == 1:
        return depthwise_conv1d_btc(x, weight, bias, groups)
    return F.conv1d(x.transpose(1, 2).contiguous(), weight, bias, padding=kernel // 2, groups=groups).transpose(1, 2)


class Conv1dT(nn.Conv1d):
    """``nn.Conv1d`` on ``(batch, time, channels)`` with "same" padding and padding masking."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, groups: int = 1, bias: bool = True) -> None:
        super().__init__(in_ch, out_ch, kernel_size, padding=(kernel_size - 1) // 2, groups=groups, bias=bias)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, relu: bool = False) -> torch.Tensor:  # type: ignore[override]
        """Convolve ``x`` ``(batch, time, in_ch)`` (zeroed where ``mask`` is False), then ReLU if ``relu``."""
        out = conv1d_btc(masked_fill_padding(x, mask), self.weight, self.bias, self.groups)
        return torch.relu(out) if relu else out


class ConvFFN(nn.Module):
    """Position-wise feed-forward of FastSpeech's FFT block: conv(k1) → ReLU → dropout → conv(k2).

    FastSpeech 2 (arXiv 2006.04558, Sec. 3.1 / App. A) uses kernels (9, 1), 256 → 1024 → 256.
    """

    def __init__(self, dim: int, hidden: int, kernels: Sequence[int] = (9, 1), dropout: float = 0.1) -> None:
        super().__init__()
        self.conv1 = Conv1dT(dim, hidden, kernels[0])
        self.conv2 = Conv1dT(hidden, dim, kernels[1])
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.conv2(self.dropout(self.conv1(x, mask, relu=True)), mask)


class SeparableConv1d(nn.Module):
    """Depthwise (no bias) then pointwise convolution (LightSpeech, arXiv 2102.04040, Sec. 3.2)."""

    def __init__(self, dim: int, kernel_size: int) -> None:
        super().__init__()
        self.depthwise = Conv1dT(dim, dim, kernel_size, groups=dim, bias=False)
        self.pointwise = Conv1dT(dim, dim, 1)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, relu: bool = False) -> torch.Tensor:
        """``x`` ``(batch, time, dim)`` zeroed where ``mask`` is False, then depthwise, pointwise (and ReLU)."""
        return self.pointwise(self.depthwise(x, mask), relu=relu)
