"""Mixture-of-experts duration predictor of AdaSpeech 3 (Yan et al., arXiv 2107.02530, Sec. 3.2).

AdaSpeech 3 replaces FastSpeech 2's duration predictor by ``K`` (3) experts for slow, medium and
fast speech and a gate that weights them per utterance. Here:

* every expert is a :class:`~speechtools.nn.variance_predictor.VariancePredictor` of the plain
  duration predictor's shape (log-durations ``log(d + 1)`` per token);
* the **gate** is a linear layer and a softmax over the experts, read from the **mean over the
  valid tokens** of the predictor's input (the variance adaptor's input: encoder output plus the
  speaker representation and, in AdaSpeech, the utterance- and phoneme-level acoustic conditions),
  so one utterance gets one weight vector and the padding does not change it;
* the output is the gate-weighted sum of the experts' log-durations.

How the experts specialise (the paper mines its data by speaking rate; the exact gate is not in
the reference notes): by default the gate learns freely from the duration loss alone. With
``gate_boundaries`` (``K - 1`` ascending speaking rates in frames per token) the gate also gets a
cross-entropy to the utterance's rate class, expert ``k`` being the ``k``-th class from the
fastest (fewest frames per token: ``rate < boundaries[0]``) to the slowest (``rate >=
boundaries[-1]``); :func:`speaking_rate_classes` computes the class from the target durations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from speechtools.nn.variance_predictor import VariancePredictor


@dataclass
class MoEDurationOutput:
    """What :class:`MoEDurationPredictor` returns: the mixture, the gate and each expert's prediction."""

    log_duration: torch.Tensor  # (batch, T): gate-weighted sum, 0 at padding
    gate: torch.Tensor  # (batch, K): softmax weights, each row sums to 1
    experts: torch.Tensor  # (batch, K, T): each expert's log-durations


class MoEDurationPredictor(nn.Module):
    """``K`` duration experts and a softmax gate over the mean-pooled input (module docstring).

    Args: those of :class:`VariancePredictor` for every expert, and ``experts`` (K).
    """

    def __init__(
        self, in_dim: int, channels: int = 256, kernel_size: int = 3, layers: int = 2, dropout: float = 0.5,
        separable: bool = False, experts: int = 3,
    ) -> None:
        super().__init__()
        if experts < 2:
            raise ValueError(f"experts must be >= 2, got {experts}")
        self.experts = nn.ModuleList(
            VariancePredictor(in_dim, channels, kernel_size, layers, dropout, separable) for _ in range(experts)
        )
        self.gate = nn.Linear(in_dim, experts)

    def gate_weights(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Softmax gate ``(batch, K)`` of the mean of ``x`` ``(batch, T, in_dim)`` over its valid positions."""
        if mask is None:
            pooled = x.mean(dim=1)
        else:
            weights = mask.unsqueeze(-1).to(x.dtype)
            pooled = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return torch.softmax(self.gate(pooled), dim=-1)

    def forward(
        self, x: torch.Tensor, mask: Optional[torch.Tensor] = None, gate: Optional[torch.Tensor] = None,
    ) -> MoEDurationOutput:
        """Mixture of the experts' log-durations; ``gate`` ``(batch, K)`` replaces the learned one (tests, control)."""
        experts = torch.stack([expert(x, mask) for expert in self.experts], dim=1)
        weights = self.gate_weights(x, mask) if gate is None else gate.to(experts.dtype)
        if weights.shape != experts.shape[:2]:
            raise ValueError(f"gate must be (batch, {experts.size(1)}), got {tuple(weights.shape)}")
        mixed = (weights.unsqueeze(-1) * experts).sum(dim=1)
        return MoEDurationOutput(log_duration=mixed, gate=weights, experts=experts)


def speaking_rate_classes(durations: torch.Tensor, token_mask: torch.Tensor, boundaries: Sequence[float]) -> torch.Tensor:
    """Rate class ``(batch,)`` of each utterance: how many of ``boundaries`` (ascending, frames per
    token) its mean frames per valid token reaches; 0 = fastest, ``len(boundaries)`` = slowest."""
    frames = (durations * token_mask.long()).sum(dim=1).to(torch.float32)
    rate = frames / token_mask.sum(dim=1).clamp(min=1).to(torch.float32)
    edges = torch.tensor(list(boundaries), dtype=torch.float32, device=durations.device)
    return torch.bucketize(rate, edges, right=True)


def gate_loss(gate: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the gate's weights ``(batch, K)`` to the rate classes ``(batch,)`` (mean over the batch)."""
    return F.nll_loss(torch.log(gate.float().clamp(min=1e-8)), classes)
