"""Post-LN Transformer layers (Vaswani et al. 2017, Sec. 3.1) with cached decoding and the oneDNN CPU path.

:class:`DecoderLayer` is the decoder layer of the Transformer correctors (FastCorrect's
non-autoregressive decoder and the AR baseline; the shape fairseq's ``transformer`` uses):
self-attention, cross-attention to precomputed memory keys/values, ReLU FFN, each followed by
a residual and LayerNorm. Incremental decoding appends each step's keys/values to a cache,
so a step costs one position. :func:`encoder_layer_inference` runs a post-LN
``nn.TransformerEncoderLayer`` at inference with its GEMMs on :mod:`speechtools.nn.cpu_gemm`.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import nn

from speechtools.nn.attention import KV, MultiHeadAttention, attend_heads, split_heads
from speechtools.nn.cpu_gemm import Linear, linear

Cache = Dict[str, torch.Tensor]


class DecoderLayer(nn.Module):
    """Post-LN decoder layer: self-attention (causal or not), cross-attention, ReLU FFN."""

    def __init__(self, dim: int, heads: int, ffn: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(dim, heads, 0.0)
        self.cross_attn = MultiHeadAttention(dim, heads, 0.0)
        # Sequential for its state-dict keys (ffn.0, ffn.3); forward fuses the ReLU into the first GEMM.
        self.ffn = nn.Sequential(Linear(dim, ffn), nn.ReLU(), nn.Dropout(dropout), Linear(ffn, dim))
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(3)])
        self.drop = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, memory_kv: KV, memory_mask: torch.Tensor,
        self_mask: Optional[torch.Tensor], causal: bool, cache: Optional[Cache] = None,
    ) -> torch.Tensor:
        """Decode ``x`` ``(B, T, d)`` against ``memory_kv`` (from ``cross_attn.keys_values``).

        Masks are True where attending is allowed (:func:`speechtools.nn.attention.key_mask`).
        With ``cache`` (a dict, empty at the first step) this call's keys/values are appended
        to the cached ones and attend to all of them.
        """
        k, v = self.self_attn.keys_values(x)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        x = self.norms[0](x + self.drop(self.self_attn.attend(x, k, v, self_mask, causal)))
        x = self.norms[1](x + self.drop(self.cross_attn.attend(x, memory_kv[0], memory_kv[1], memory_mask, False)))
        hidden = self.ffn[2](self.ffn[0](x, relu=True))
        return self.norms[2](x + self.drop(self.ffn[3](hidden)))


def encoder_layer_inference(layer: nn.TransformerEncoderLayer, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """A post-LN ``nn.TransformerEncoderLayer`` (ReLU) at inference, its GEMMs through :func:`speechtools.nn.cpu_gemm.linear`.

    ``mask``: ``(B, 1, 1, S)`` True where attending is allowed, or ``None`` (no padding).
    The same function as the layer's own forward in eval mode (Vaswani et al. 2017, Sec. 3.1).
    """
    attn = layer.self_attn
    q, k, v = linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
    heads = attn.num_heads
    mixed = attend_heads(split_heads(q, heads), split_heads(k, heads), split_heads(v, heads), mask, False)
    x = layer.norm1(x + linear(mixed, attn.out_proj.weight, attn.out_proj.bias))
    hidden = linear(x, layer.linear1.weight, layer.linear1.bias, relu=True)
    return layer.norm2(x + linear(hidden, layer.linear2.weight, layer.linear2.bias))
