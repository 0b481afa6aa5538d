"""Multi-head attention (Vaswani et al. 2017, Eq. 1 and Sec. 3.2.2): the blocks every model shares.

:class:`MultiHeadAttention` projects keys/values separately from queries, so a memory is
projected once and a decoder caches its keys/values (Transformer correctors, Transformer
TTS; the next ASR, SongMASS and DeepRapper decoders). :func:`attend_heads` runs
``F.scaled_dot_product_attention`` on split heads with padding and causal masks.

:class:`SelfAttention` is ``torch.nn.MultiheadAttention`` with ``batch_first`` (same parameters,
same state-dict keys). Both are plain PyTorch; the faster CPU inference variants (oneDNN GEMMs
for the projections and attention products) are applied on request by
:func:`speechtools.nn.cpu_fast_path.enable_cpu_fast_path`.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F


class SelfAttention(nn.MultiheadAttention):
    """``nn.MultiheadAttention`` with ``batch_first``; ``key_padding_mask`` True at padded positions."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__(dim, heads, dropout=dropout, bias=bias, batch_first=True)


KV = Tuple[torch.Tensor, torch.Tensor]


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``(B, T, d)`` → ``(B, heads, T, d / heads)``."""
    b, t, d = x.shape
    return x.view(b, t, heads, d // heads).transpose(1, 2)


def key_mask(pad: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` padding mask (True = pad) → ``(B, 1, 1, T)`` attention mask (True = attend)."""
    return (~pad)[:, None, None, :]


def causal_mask(queries: int, keys: int, device: torch.device) -> torch.Tensor:
    """``(Tq, Tk)`` True where query ``i`` may attend key ``j``: ``j <= i + Tk - Tq``.

    The last query sees every key, so ``Tq < Tk`` is a chunk of new positions decoded after
    ``Tk - Tq`` cached ones.
    """
    return torch.ones(queries, keys, dtype=torch.bool, device=device).tril(keys - queries)


def merge_heads(y: torch.Tensor) -> torch.Tensor:
    """``(B, heads, T, d / heads)`` → ``(B, T, d)``; the inverse of :func:`split_heads`."""
    b, h, t, dh = y.shape
    return y.transpose(1, 2).reshape(b, t, h * dh)


def with_causal(mask: Optional[torch.Tensor], queries: int, keys: int, device: torch.device) -> torch.Tensor:
    """``mask`` (True = attend, or ``None``) restricted by :func:`causal_mask`."""
    future = causal_mask(queries, keys, device)
    return future if mask is None else mask & future


def attend_heads(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor], causal: bool,
                 dropout: float = 0.0) -> torch.Tensor:
    """Scaled dot-product attention of split heads (Vaswani et al. 2017, Eq. 1), heads merged: ``(B, T, d)``.

    ``mask``: broadcastable to ``(B, heads, Tq, Tk)``, True where attending is allowed (e.g.
    :func:`key_mask`); ``causal`` adds :func:`causal_mask`.
    """
    causal = causal and q.size(2) > 1  # a single (last) query sees every key
    plain_causal = causal and mask is None and q.size(2) == k.size(2)
    if causal and not plain_causal:
        mask = with_causal(mask, q.size(2), k.size(2), q.device)
    return merge_heads(F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=plain_causal))


class MultiHeadAttention(nn.Module):
    """Multi-head attention (Vaswani et al. 2017, Eq. 1 and Sec. 3.2.2) whose keys/values can be cached.

    Parameters ``q`` (d → d), ``kv`` (d → 2d: keys, then values) and ``out`` (d → d), all
    ``nn.Linear``. Project a memory once with :meth:`keys_values`
    (cross-attention, or a self-attention cache) and attend to it with :meth:`attend`.
    The shared attention of the Transformer correctors and Transformer TTS; state dicts with
    separate ``k``/``v``/``o`` projections (Transformer TTS models trained before the two
    were unified) load unchanged.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = dropout

    def keys_values(self, x: torch.Tensor) -> KV:
        """Projected keys and values, each ``(B, heads, T, d / heads)``."""
        k, v = self.kv(x).chunk(2, dim=-1)
        return split_heads(k, self.heads), split_heads(v, self.heads)

    def attend(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor] = None,
               causal: bool = False) -> torch.Tensor:
        """Queries from ``x`` ``(B, Tq, d)`` attend to projected ``k``/``v``; ``mask`` as in :func:`attend_heads`."""
        drop = self.dropout if self.training else 0.0
        return self.out(attend_heads(split_heads(self.q(x), self.heads), k, v, mask, causal, drop))

    def attend_with_weights(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Optional[torch.Tensor] = None,
                            causal: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        """:meth:`attend` that also returns the attention weights ``(B, heads, Tq, Tk)`` (before dropout)."""
        q = split_heads(self.q(x), self.heads)
        scores = q @ k.transpose(-1, -2) * q.size(-1) ** -0.5
        if causal:
            mask = with_causal(mask, q.size(2), k.size(2), q.device)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return self.out(merge_heads(F.dropout(weights, self.dropout, self.training) @ v)), weights

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Accept the older layout with separate ``k``, ``v`` and ``o`` projections."""
        if prefix + "k.weight" in state_dict:
            for suffix in ("weight", "bias"):
                k, v = state_dict.pop(f"{prefix}k.{suffix}"), state_dict.pop(f"{prefix}v.{suffix}")
                state_dict[f"{prefix}kv.{suffix}"] = torch.cat([k, v], dim=0)
                state_dict[f"{prefix}out.{suffix}"] = state_dict.pop(f"{prefix}o.{suffix}")
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
