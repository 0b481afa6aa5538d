"""Multi-head self-attention (Vaswani et al. 2017, Eq. 1 and Sec. 3.2.2) with a fast CPU inference path.

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

from speechtools.nn.cpu_gemm import bucket_length, linear, onednn_gemm_active


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
