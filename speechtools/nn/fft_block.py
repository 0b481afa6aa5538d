"""Feed-Forward Transformer (FFT) block of FastSpeech (arXiv 1905.09263, Sec. 3.1, Fig. 1b).

A block is a *mixer* (multi-head self-attention, or a separable convolution for
LightSpeech-style blocks) followed by the 1D-convolutional feed-forward network, each with a
residual connection, dropout and layer normalisation (post-norm as in the paper, or pre-norm).
The norm is chosen by name so AdaSpeech can use conditional LayerNorm in the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import torch
from torch import nn

from speechtools.nn.attention import SelfAttention
from speechtools.nn.conv import ConvFFN, SeparableConv1d, masked_fill_padding
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
    mixer: str = "attention"
    mixer_kernels: List[int] = field(default_factory=list)
    norm: str = "layer"
    pre_norm: bool = False
    dropout: float = 0.2
    attention_dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.mixer not in ("attention", "sepconv"):
            raise ValueError(f"mixer must be 'attention' or 'sepconv', got {self.mixer!r}")
        if self.mixer == "sepconv" and len(self.mixer_kernels) != self.layers:
            raise ValueError("mixer 'sepconv' needs one entry of mixer_kernels per layer")
        if self.mixer == "attention" and self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        if len(self.ffn_kernels) != 2:
            raise ValueError("ffn_kernels must have two entries")


class FFTBlock(nn.Module):
    """One FFT block: mixer + conv FFN, residuals, dropout, (conditional) LayerNorm."""

    def __init__(self, conf: FFTStackConfig, mixer_kernel: int = 0, cond_dim: int = 0) -> None:
        super().__init__()
        self.pre_norm = conf.pre_norm
        self.mixer_kind = conf.mixer
        if conf.mixer == "attention":
            self.attention = SelfAttention(conf.dim, conf.heads, dropout=conf.attention_dropout)
        else:
            self.sepconv = SeparableConv1d(conf.dim, mixer_kernel)
        self.ffn = ConvFFN(conf.dim, conf.ffn_hidden, conf.ffn_kernels, conf.dropout)
        self.norm1 = build_norm(conf.norm, conf.dim, cond_dim)
        self.norm2 = build_norm(conf.norm, conf.dim, cond_dim)
        self.dropout = nn.Dropout(conf.dropout)

    def _mix(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        if self.mixer_kind == "attention":
            out, _ = self.attention(x, x, x, key_padding_mask=None if mask is None else ~mask, need_weights=False)
            return out
        return self.sepconv(x, mask, relu=True)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor], cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x`` ``(batch, time, dim)``, ``mask`` ``(batch, time)`` True at valid positions (``None``: no padding)."""
        if self.pre_norm:
            x = x + self.dropout(self._mix(self.norm1(x, cond), mask))
            x = x + self.dropout(self.ffn(self.norm2(x, cond), mask))
        else:
            x = self.norm1(x + self.dropout(self._mix(x, mask)), cond)
            x = self.norm2(x + self.dropout(self.ffn(x, mask)), cond)
        return masked_fill_padding(x, mask)


class FFTStack(nn.Module):
    """Sinusoidal positions + ``layers`` FFT blocks (the FastSpeech encoder/decoder)."""

    def __init__(self, conf: FFTStackConfig, cond_dim: int = 0) -> None:
        super().__init__()
        self.positions = SinusoidalPositionalEncoding(conf.dim)
        kernels = conf.mixer_kernels if conf.mixer == "sepconv" else [0] * conf.layers
        self.blocks = nn.ModuleList(FFTBlock(conf, k, cond_dim) for k in kernels)
        self.final_norm = build_norm(conf.norm, conf.dim, cond_dim) if conf.pre_norm else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        # Without padding (e.g. batch-1 inference) masking is a no-op: skip it, and let attention
        # take its unmasked fast path.
        block_mask: Optional[torch.Tensor] = None if bool(mask.all()) else mask
        x = masked_fill_padding(self.positions(x), block_mask)
        for block in self.blocks:
            x = block(x, block_mask, cond)
        if self.final_norm is not None:
            x = masked_fill_padding(self.final_norm(x, cond), block_mask)
        return x
