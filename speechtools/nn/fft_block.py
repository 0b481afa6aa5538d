"""Feed-Forward Transformer (FFT) block of FastSpeech (arXiv 1905.09263, Sec. 3.1, Fig. 1b).

A block is multi-head self-attention followed by the 1D-convolutional feed-forward network,
each with a residual connection, dropout and post-layer normalisation as in the paper. The norm
is chosen by name (``norm: layer | conditional``) so AdaSpeech can use conditional LayerNorm in
the decoder, driven by the stack's condition vector (``cond_dim > 0``). Separable-convolution
blocks are LightSpeech's searched stack (:mod:`speechtools.nn.search_space`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import torch
from torch import nn

from speechtools.config import check_ranges
from speechtools.nn.attention import SelfAttention
from speechtools.nn.conv import ConvFFN, masked_fill_padding
from speechtools.nn.layer_norm import build_norm
from speechtools.nn.positional import SinusoidalPositionalEncoding


@dataclass
class FFTStackConfig:
    """One encoder or decoder stack of FFT blocks (FastSpeech 2 defaults: 4 layers, 256, 2 heads)."""

    layers: int = 4
    dim: int = 256
    heads: int = 2
    ffn_hidden: int = 1024
    ffn_kernels: List[int] = field(default_factory=lambda: [9, 1])
    norm: str = "layer"
    dropout: float = 0.2
    attention_dropout: float = 0.1

    def __post_init__(self) -> None:
        check_ranges(self, positive=("layers", "dim", "heads", "ffn_hidden"), probability=("dropout", "attention_dropout"))
        if any(k < 1 or k % 2 == 0 for k in self.ffn_kernels):
            raise ValueError(f"ffn_kernels must be odd and >= 1, got {self.ffn_kernels}")
        if self.norm not in ("layer", "conditional"):
            raise ValueError(f"norm must be 'layer' or 'conditional', got {self.norm!r}")
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        if len(self.ffn_kernels) != 2:
            raise ValueError("ffn_kernels must have two entries")


class FFTBlock(nn.Module):
    """One FFT block: self-attention + conv FFN, residuals, dropout, post (conditional) LayerNorm."""

    def __init__(self, conf: FFTStackConfig, cond_dim: int = 0) -> None:
        super().__init__()
        self.attention = SelfAttention(conf.dim, conf.heads, dropout=conf.attention_dropout)
        self.ffn = ConvFFN(conf.dim, conf.ffn_hidden, conf.ffn_kernels, conf.dropout)
        self.norm1 = build_norm(conf.norm, conf.dim, cond_dim)
        self.norm2 = build_norm(conf.norm, conf.dim, cond_dim)
        self.dropout = nn.Dropout(conf.dropout)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor], cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x`` ``(batch, time, dim)``, ``mask`` ``(batch, time)`` True at valid positions (``None``: no padding);
        ``cond`` ``(batch, cond_dim)`` drives a conditional LayerNorm (ignored by a plain one)."""
        mixed, _ = self.attention(x, x, x, key_padding_mask=None if mask is None else ~mask, need_weights=False)
        x = self.norm1(x + self.dropout(mixed), cond)
        x = self.norm2(x + self.dropout(self.ffn(x, mask)), cond)
        return masked_fill_padding(x, mask)


class FFTStack(nn.Module):
    """Sinusoidal positions + ``layers`` FFT blocks (the FastSpeech encoder/decoder)."""

    def __init__(self, conf: FFTStackConfig, cond_dim: int = 0) -> None:
        super().__init__()
        self.positions = SinusoidalPositionalEncoding(conf.dim)
        self.blocks = nn.ModuleList(FFTBlock(conf, cond_dim) for _ in range(conf.layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        # Without padding (e.g. batch-1 inference) masking is a no-op: skip it, and let attention
        # take its unmasked fast path.
        block_mask: Optional[torch.Tensor] = None if bool(mask.all()) else mask
        x = masked_fill_padding(self.positions(x), block_mask)
        for block in self.blocks:
            x = block(x, block_mask, cond)
        return x
