"""Multi-head attention (Vaswani et al. 2017, Eq. 1 and Sec. 3.2.2): the blocks every model shares.

:class:`MultiHeadAttention` projects keys/values separately from queries, so a memory is
projected once and a decoder caches its keys/values (Transformer correctors, Transformer
TTS; the next ASR, SongMASS and DeepRapper decoders). :func:`attend_heads` runs
``F.scaled_dot_product_attention`` on split heads with padding and causal masks.

:class:`SelfAttention` is ``torch.nn.MultiheadAttention`` (same parameters, same state-dict
keys, same results) whose inference on CPU in float32 computes the projections and the two
attention products ``softmax(Q K^T / sqrt(d)) V`` with oneDNN GEMMs
(:mod:`speechtools.nn.cpu_gemm`), about 2x faster than PyTorch's MKL-based path on the
project's AMD CPUs. Training, GPU and anything the fast path does not cover (attention
weights, attention masks, cross-attention) run ``torch.nn.MultiheadAttention.forward``.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from speechtools.nn.cpu_gemm import Linear, bucket_length, linear, onednn_gemm_active


class SelfAttention(nn.MultiheadAttention):
    """``nn.MultiheadAttention`` (``batch_first``) with the oneDNN CPU inference path for self-attention."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__(dim, heads, dropout=dropout, bias=bias, batch_first=True)

    def forward(  # type: ignore[override]
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
        key_padding_mask: Optional[torch.Tensor] = None, need_weights: bool = True,
        attn_mask: Optional[torch.Tensor] = None, average_attn_weights: bool = True, is_causal: bool = False,
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """As ``nn.MultiheadAttention.forward``; ``key_padding_mask`` True at padded positions."""
        fast = (query is key and key is value and not need_weights and attn_mask is None and not is_causal
                and not self.training and onednn_gemm_active(query))
        if not fast:
            return super().forward(query, key, value, key_padding_mask=key_padding_mask, need_weights=need_weights,
                                   attn_mask=attn_mask, average_attn_weights=average_attn_weights, is_causal=is_causal)
        return self._onednn_self_attention(query, key_padding_mask), None

    def _onednn_self_attention(self, x: torch.Tensor, key_padding_mask: Optional[torch.Tensor]) -> torch.Tensor:
        batch, time, dim = x.shape
        d = self.head_dim
        # Pad the time axis to a bucketed length so oneDNN reuses its compiled kernels; the extra
        # keys are masked out of the softmax and the extra queries dropped at the end.
        padded = bucket_length(time)
        if padded > time:
            x = F.pad(x, (0, 0, 0, padded - time))
        qkv = linear(x, self.in_proj_weight, self.in_proj_bias)
        # (3, batch, heads, time, d), contiguous: oneDNN's fast kernels want dense operands.
        q, k, v = qkv.view(batch, padded, 3, self.num_heads, d).permute(2, 0, 3, 1, 4).contiguous()
        q = q * d ** -0.5
        v_t = v.transpose(-1, -2).contiguous()
        masked = None if key_padding_mask is None else F.pad(key_padding_mask, (0, padded - time), value=True)
        heads = []
        for b in range(batch):
            per_head = []
            for h in range(self.num_heads):
                scores = linear(q[b, h], k[b, h])
                if masked is not None:
                    scores = scores.masked_fill(masked[b].unsqueeze(0), float("-inf"))
                elif padded > time:
                    scores[:, time:] = float("-inf")
                per_head.append(linear(torch.softmax(scores, dim=-1), v_t[b, h]))
            heads.append(torch.cat(per_head, dim=-1))
        return linear(torch.stack(heads), self.out_proj.weight, self.out_proj.bias)[:, :time]


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
    :class:`speechtools.nn.cpu_gemm.Linear`. Project a memory once with :meth:`keys_values`
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
        self.q = Linear(dim, dim)
        self.kv = Linear(dim, 2 * dim)
        self.out = Linear(dim, dim)
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
