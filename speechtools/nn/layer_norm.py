"""Layer normalisation over the channel axis, plain or conditional.

:class:`ConditionalLayerNorm` is AdaSpeech's conditional LayerNorm (Chen et al., 2021,
arXiv 2103.00993, Sec. 2.3): scale and bias are linear functions of a condition vector
(e.g. a speaker embedding), initialised to the identity (scale 1, bias 0). Both classes take
``forward(x, cond=None)`` so blocks can swap one for the other by name.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


class LayerNorm(nn.LayerNorm):
    """``torch.nn.LayerNorm`` over the last axis that ignores a condition argument."""

    def forward(self, x: torch.Tensor, cond: Optional[torch.Tensor] = None) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x)


class ConditionalLayerNorm(nn.Module):
    """LayerNorm whose gain and bias are predicted from ``cond`` ``(batch, cond_dim)`` (AdaSpeech Eq. 1)."""

    def __init__(self, dim: int, cond_dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.scale = nn.Linear(cond_dim, dim)
        self.bias = nn.Linear(cond_dim, dim)
        nn.init.zeros_(self.scale.weight)
        nn.init.ones_(self.scale.bias)
        nn.init.zeros_(self.bias.weight)
        nn.init.zeros_(self.bias.bias)

    def forward(self, x: torch.Tensor, cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        if cond is None:
            raise ValueError("ConditionalLayerNorm needs a condition vector")
        normed = nn.functional.layer_norm(x, x.shape[-1:], eps=self.eps)
        return normed * self.scale(cond).unsqueeze(1) + self.bias(cond).unsqueeze(1)


def build_norm(kind: str, dim: int, cond_dim: int = 0) -> nn.Module:
    """``"layer"`` → :class:`LayerNorm`; ``"conditional"`` → :class:`ConditionalLayerNorm`."""
    if kind == "layer":
        return LayerNorm(dim)
    if kind == "conditional":
        if cond_dim <= 0:
            raise ValueError("conditional layer norm needs cond_dim > 0")
        return ConditionalLayerNorm(dim, cond_dim)
    raise ValueError(f"unknown norm {kind!r}; choose 'layer' or 'conditional'")
