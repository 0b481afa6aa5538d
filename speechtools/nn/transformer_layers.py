"""Post-LN Transformer decoder layers (Vaswani et al. 2017, Sec. 3.1) with cached decoding.

:class:`DecoderLayer` is the decoder layer of the Transformer correctors (FastCorrect's
non-autoregressive decoder and the AR baseline; the shape fairseq's ``transformer`` uses):
self-attention, cross-attention to precomputed memory keys/values, ReLU FFN, each followed by
a residual and LayerNorm. Incremental decoding appends each step's keys/values to a cache,
so a step costs one position. Plain PyTorch (its linear layers are ``nn.Linear``; the CPU
inference variants come from :func:`speechtools.nn.cpu_fast_path.enable_cpu_fast_path`).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import torch
from torch import nn

from speechtools.nn.attention import KV, MultiHeadAttention
from speechtools.nn.conformer import FeedForward

Cache = Dict[str, torch.Tensor]


class DecoderLayer(nn.Module):
    """Post-LN decoder layer: self-attention (causal or not), cross-attention, ReLU FFN."""

    def __init__(self, dim: int, heads: int, ffn: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(dim, heads, 0.0)
        self.cross_attn = MultiHeadAttention(dim, heads, 0.0)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ffn, dim))
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
        return self.norms[2](x + self.drop(self.ffn(x)))



def reorder_decoder_state(state: Dict[str, Any], index: torch.Tensor) -> None:
    """Keep hypotheses ``index`` of an incremental decoder's search state in place.

    The state of the Transformer decoders' beam searches: ``memory`` (per-layer cross-attention
    keys/values), ``mask`` (memory mask) and ``caches`` (per-layer self-attention caches).
    """
    state["memory"] = [(k.index_select(0, index), v.index_select(0, index)) for k, v in state["memory"]]
    state["mask"] = state["mask"].index_select(0, index)
    for cache in state["caches"]:
        for key in list(cache):
            cache[key] = cache[key].index_select(0, index)


class CausalBlock(nn.Module):
    """Pre-LN causal Transformer block of GPT-2 (Radford et al. 2019, Sec. 2.3):
    ``x' = x + MHSA(LN(x))`` with a causal mask, ``y = x' + FFN(LN(x'))``, GELU FFN (Eq. 2 of
    Vaswani et al. 2017 with GELU). With right-padded batches no valid position ever attends a
    pad (pads come after it), so no key mask is needed."""

    def __init__(self, dim: int, heads: int, ffn: int, dropout: float) -> None:
        super().__init__()
        self.norm_attn = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads, dropout)
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, ffn, dropout, nn.GELU())
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cache: Optional[Cache] = None) -> torch.Tensor:
        """``x`` ``(B, T, d)`` → ``(B, T, d)``. With ``cache`` (a dict, empty before the first
        call) the new positions attend to the cached keys/values and are appended to them."""
        h = self.norm_attn(x)
        k, v = self.attn.keys_values(h)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        x = x + self.drop(self.attn.attend(h, k, v, None, causal=True))
        return x + self.drop(self.ff(self.norm_ff(x)))
