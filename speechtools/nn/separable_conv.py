"""LightSpeech's separable-convolution layer (Luo et al., ICASSP 2021, arXiv 2102.04040, Sec. 3.2).

One layer of the searched encoder/decoder: pre-LayerNorm, then twice
[depthwise conv (no bias) + pointwise conv → ReLU → dropout], then the residual connection.
The parameters live in :class:`speechtools.nn.conv.SeparableConv1d` (shared with the
separable variance predictors, same state-dict names); padding positions are zeroed before
each convolution so a padded batch computes what each item computes alone.

Speed: activations stay ``(batch, time, channels)`` throughout; the depthwise convolution runs
on their channels-last view and the pointwise one is a matrix product
(:func:`speechtools.nn.conv.conv1d_btc`, :class:`~speechtools.nn.conv.SeparableConv1d`).
Masking is skipped when the batch has no padding.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from speechtools.nn.conv import SeparableConv1d, masked_fill_padding


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
        h = self.dropout(self.conv1(h, relu=True))
        h = self.dropout(self.conv2(h, mask, relu=True))
        return masked_fill_padding(x + h, mask)
