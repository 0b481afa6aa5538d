"""Variance predictor of FastSpeech 2 (arXiv 2006.04558, Sec. 2.3, Fig. 1c).

``layers`` × [Conv1D (kernel k) → ReLU → LayerNorm → dropout] then a linear layer to one
scalar per position. Used for duration (log domain), pitch and energy; with ``out_dim > 1`` the
same stack gives a small vector per position (AdaSpeech's phoneme-level acoustic encoder and
predictor, arXiv 2103.00993 Sec. 2.2).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from speechtools.nn.conv import Conv1dT, SeparableConv1d


class VariancePredictor(nn.Module):
    """Predict one value per position of ``(batch, time, in_dim)``; padded outputs are 0.

    Args:
        separable: use depthwise-separable convolutions (LightSpeech predictors).
        out_dim: values per position: 1 gives ``(batch, time)``, more ``(batch, time, out_dim)``.
    """

    def __init__(
        self, in_dim: int, channels: int = 256, kernel_size: int = 3, layers: int = 2,
        dropout: float = 0.5, separable: bool = False, out_dim: int = 1,
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for i in range(layers):
            ch_in = in_dim if i == 0 else channels
            if separable:
                if ch_in != channels:
                    raise ValueError("separable predictors need in_dim == channels")
                self.convs.append(SeparableConv1d(channels, kernel_size))
            else:
                self.convs.append(Conv1dT(ch_in, channels, kernel_size))
            self.norms.append(nn.LayerNorm(channels))
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(channels, out_dim)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        for conv, norm in zip(self.convs, self.norms):
            x = self.dropout(norm(torch.relu(conv(x, mask))))
        out = self.proj(x)
        if out.size(-1) == 1:
            out = out.squeeze(-1)
        if mask is not None:
            out = out * (mask if out.dim() == mask.dim() else mask.unsqueeze(-1)).to(out.dtype)
        return out
