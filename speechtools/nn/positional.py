"""Position encodings shared by every Transformer-style model."""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_table(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Sinusoidal position table of Vaswani et al. (2017), Sec. 3.5: ``(length, dim)``.

    PE[pos, 2i] = sin(pos / 10000^(2i/dim)), PE[pos, 2i+1] = cos(pos / 10000^(2i/dim)).
    """
    position = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)[:, : dim // 2]
    return table


class SinusoidalPositionalEncoding(nn.Module):
    """Adds ``alpha * PE`` to a ``(batch, time, dim)`` input; the table grows on demand.

    Args:
        dim: model dimension.
        scale_input: multiply the input by sqrt(dim) first (Transformer convention).
        learnable_alpha: a learned scale on the encoding (ScaledPositionalEncoding of ESPnet).
    """

    def __init__(self, dim: int, scale_input: bool = False, learnable_alpha: bool = False, max_len: int = 2048) -> None:
        super().__init__()
        self.dim = dim
        self.input_scale = math.sqrt(dim) if scale_input else 1.0
        self.alpha = nn.Parameter(torch.ones(1)) if learnable_alpha else None
        self.register_buffer("table", sinusoidal_table(max_len, dim), persistent=False)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        needed = offset + x.size(1)
        if needed > self.table.size(0):
            self.table = sinusoidal_table(max(needed, 2 * self.table.size(0)), self.dim, x.device)
        pe = self.table[offset:needed].to(dtype=x.dtype, device=x.device).unsqueeze(0)
        if self.alpha is not None:
            pe = self.alpha * pe
        return x * self.input_scale + pe
