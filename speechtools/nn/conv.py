"""Convolutions on channel-last sequences ``(batch, time, channels)`` that respect padding.

Padded positions are zeroed before every convolution, so a padded batch computes exactly
what each item computes alone.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn


def masked_fill_padding(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Zero ``x`` ``(batch, time, ch)`` where ``mask`` ``(batch, time)`` is False (padding)."""
    if mask is None:
        return x
    return x * mask.unsqueeze(-1).to(x.dtype)


class Conv1dT(nn.Conv1d):
    """``nn.Conv1d`` on ``(batch, time, channels)`` with "same" padding and padding masking."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, groups: int = 1, bias: bool = True) -> None:
        super().__init__(in_ch, out_ch, kernel_size, padding=(kernel_size - 1) // 2, groups=groups, bias=bias)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:  # type: ignore[override]
        x = masked_fill_padding(x, mask)
        if self.kernel_size[0] == 1 and self.groups == 1:
            # A 1-wide convolution is a matrix product on channel-last input: no transposes, and
            # it avoids PyTorch's slow direct-convolution path on CPU.
            return nn.functional.linear(x, self.weight.squeeze(-1), self.bias)
        return super().forward(x.transpose(1, 2).contiguous()).transpose(1, 2)


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
        h = self.dropout(torch.relu(self.conv1(x, mask)))
        return self.conv2(h, mask)


class SeparableConv1d(nn.Module):
    """Depthwise (no bias) then pointwise convolution (LightSpeech, arXiv 2102.04040, Sec. 3.2)."""

    def __init__(self, dim: int, kernel_size: int) -> None:
        super().__init__()
        self.depthwise = Conv1dT(dim, dim, kernel_size, groups=dim, bias=False)
        self.pointwise = Conv1dT(dim, dim, 1)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.pointwise(self.depthwise(x, mask))
