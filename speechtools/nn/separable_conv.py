"""LightSpeech's separable-convolution layer (Luo et al., ICASSP 2021, arXiv 2102.04040, Sec. 3.2).

One layer of the searched encoder/decoder: pre-LayerNorm, then twice
[depthwise conv (no bias) + pointwise conv → ReLU → dropout], then the residual connection.
The parameters live in :class:`speechtools.nn.conv.SeparableConv1d` (shared with the
separable variance predictors, same state-dict names); padding positions are zeroed before
each convolution so a padded batch computes what each item computes alone.

Speed (CPU, batch 1, 1 thread): activations stay ``(batch, time, channels)`` throughout. The
depthwise convolution runs as a 2-D convolution on the free ``(batch, C, 1, time)`` view of that
tensor, which is channels-last in memory, so oneDNN takes its vectorised depthwise kernel
(for 256 channels × 360 frames at 1 thread: 0.05–0.09 ms instead of 1.3–2.0 ms for
``nn.Conv1d`` on a channel-first copy at kernels 17–25; see ``docs/tts-efficient.md``); the
pointwise convolution is a matrix product. Masking is skipped when the batch has no padding.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torch.nn import functional as F

from speechtools.nn.conv import SeparableConv1d, masked_fill_padding


def depthwise_conv_btc(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Depthwise "same" convolution of ``x`` ``(B, T, C)`` with ``weight`` ``(C, 1, K)``, K odd, no bias.

    Equals ``F.conv1d(x.transpose(1, 2), weight, padding=K // 2, groups=C).transpose(1, 2)``
    (LightSpeech Sec. 3.2's depthwise step), computed on the channels-last view without copies.
    """
    channels, _, kernel = weight.shape
    view = x.transpose(1, 2).unsqueeze(2)  # (B, C, 1, T) with channels-last strides
    if not view.is_contiguous(memory_format=torch.channels_last):
        view = view.contiguous(memory_format=torch.channels_last)
    out = F.conv2d(view, weight.unsqueeze(2), padding=(0, kernel // 2), groups=channels)
    return out.squeeze(2).transpose(1, 2)


def separable_conv_btc(x: torch.Tensor, conv: SeparableConv1d) -> torch.Tensor:
    """Depthwise then pointwise convolution of ``x`` ``(B, T, C)`` with ``conv``'s parameters."""
    h = depthwise_conv_btc(x, conv.depthwise.weight)
    return F.linear(h, conv.pointwise.weight.squeeze(-1), conv.pointwise.bias)


class SepConvLayer(nn.Module):
    """``x + drop(relu(sep2(drop(relu(sep1(LN(x)))))))`` on ``(batch, time, dim)`` (LightSpeech ops 1–7)."""

    def __init__(self, dim: int, kernel_size: int, dropout: float = 0.2) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")
        self.norm = nn.LayerNorm(dim)
        self.conv1 = SeparableConv1d(dim, kernel_size)
        self.conv2 = SeparableConv1d(dim, kernel_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if mask is not None and bool(mask.all()):
            mask = None
        h = masked_fill_padding(self.norm(x), mask)
        h = self.dropout(torch.relu(separable_conv_btc(h, self.conv1)))
        h = self.dropout(torch.relu(separable_conv_btc(masked_fill_padding(h, mask), self.conv2)))
        return masked_fill_padding(x + h, mask)
