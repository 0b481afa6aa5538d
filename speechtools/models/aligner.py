"""The alignment-learning model (``model: aligner``): unsupervised alignment learning of "One TTS Alignment To Rule Them All"
(Badlani et al., ICASSP 2022, arXiv 2108.10447) for non-autoregressive TTS.

* Text encoder: embedding → Conv(k3) → ReLU → Conv(k1) (keys); mel encoder:
  Conv(k3) → ReLU → Conv(k1) → ReLU → Conv(k1) (queries) (Sec. 2.1, as in NeMo/RAD-TTS).
* Soft attention from the pairwise L2 distance, ``D[t, n] = -temperature·||q_t − k_n||²``
  (temperature 0.01 on z-normalised mels; NeMo uses 0.0005 on raw log-mels),
  log-softmax over tokens, plus a static beta-binomial prior (Sec. 2.3, Eq. 7):
  frame ``i`` of ``M`` (1-based) over ``P`` tokens, ``BetaBinom(P − 1, a = s·i, b = s·(M + 1 − i))``.
* Forward-sum loss (Eq. 4): the probability of all monotonic paths, computed with
  ``F.ctc_loss`` with token ``n`` as label ``n + 1`` and a blank of fixed log-probability −1.
* Bin loss (Eq. 10): ``−Σ log A_soft[A_hard = 1] / Σ A_hard`` pulls the soft alignment
  towards the hard one found by monotonic alignment search (:mod:`speechtools.align.mas`).

Hard durations of an utterance are those of :func:`maximum_path` on the soft log-attention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

import torch
from torch import nn
from torch.nn import functional as F

from speechtools.align.mas import durations_from_path, maximum_path
from speechtools.align.prior import beta_binomial_log_prior
from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.nn.conv import Conv1dT, masked_fill_padding
from speechtools.models.task_info import TextToMelInfo
from speechtools.nn.masks import lengths_to_mask

NEG_LARGE = -1e4


@dataclass
class AlignerConfig:
    """``model_conf`` of ``model: aligner``."""

    embed_dim: int = 256
    attention_dim: int = 80
    temperature: float = 0.01
    prior_scale: float = 1.0
    blank_logprob: float = -1.0
    bin_loss_weight: float = 1.0
    bin_loss_warmup_steps: int = 1000

    def __post_init__(self) -> None:
        check_ranges(self, positive=("embed_dim", "attention_dim"), non_negative=("prior_scale", "bin_loss_weight", "bin_loss_warmup_steps"))
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")


@MODELS.register("aligner", config=AlignerConfig)
class Aligner(nn.Module):
    """Text/mel conv encoders with L2 soft attention (arXiv 2108.10447 Sec. 2)."""

    def __init__(self, conf: AlignerConfig, vocab_size: int, n_mels: int = 80) -> None:
        super().__init__()
        self.conf = conf
        d = conf.attention_dim
        self.embedding = nn.Embedding(vocab_size, conf.embed_dim, padding_idx=0)
        self.key_conv1 = Conv1dT(conf.embed_dim, 2 * conf.embed_dim, 3)
        self.key_conv2 = Conv1dT(2 * conf.embed_dim, d, 1)
        self.query_conv1 = Conv1dT(n_mels, 2 * n_mels, 3)
        self.query_conv2 = Conv1dT(2 * n_mels, n_mels, 1)
        self.query_conv3 = Conv1dT(n_mels, d, 1)
        self.num_updates = 0  # optimiser updates done (the trainer's set_num_updates): drives the bin-loss ramp

    @classmethod
    def build_model(cls, conf: AlignerConfig, task: TextToMelInfo) -> "Aligner":
        """The construction rule: vocabulary and mel bins from the task."""
        return cls(conf, vocab_size=task.vocab_size, n_mels=task.n_mels)

    def set_num_updates(self, num_updates: int) -> None:
        """Called by the trainer before every update (fairseq's ``set_num_updates``)."""
        self.num_updates = num_updates

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Accept model directories written when the aligner counted its own micro-batches (``batches_seen``)."""
        state_dict.pop(prefix + "batches_seen", None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(
        self, tokens: torch.Tensor, token_lengths: torch.Tensor, mel: torch.Tensor, mel_lengths: torch.Tensor, **unused: Any
    ) -> Dict[str, torch.Tensor]:
        """Takes a task's batch as ``model(**batch)``. Return ``log_attn`` ``(batch, T_mel, T_text)`` (log-softmax + log prior; padded tokens −1e4)."""
        token_mask = lengths_to_mask(token_lengths, tokens.size(1))
        mel_mask = lengths_to_mask(mel_lengths, mel.size(1))
        keys = masked_fill_padding(self.embedding(tokens), token_mask)
        keys = self.key_conv2(torch.relu(self.key_conv1(keys, token_mask)), token_mask)
        queries = self.query_conv1(mel, mel_mask)
        queries = self.query_conv3(torch.relu(self.query_conv2(torch.relu(queries), mel_mask)), mel_mask)
        distance = (
            queries.pow(2).sum(-1, keepdim=True) - 2 * queries @ keys.transpose(1, 2) + keys.pow(2).sum(-1).unsqueeze(1)
        ).clamp(min=0)
        logits = -self.conf.temperature * distance
        logits = logits.masked_fill(~token_mask.unsqueeze(1), float("-inf"))
        log_attn = torch.log_softmax(logits, dim=-1)
        prior = beta_binomial_log_prior(token_lengths, mel_lengths, self.conf.prior_scale)
        log_attn = torch.log_softmax(log_attn + prior.clamp(min=-1e4), dim=-1)
        log_attn = log_attn.masked_fill(~token_mask.unsqueeze(1), NEG_LARGE)
        return {"log_attn": log_attn, "logits": logits, "token_mask": token_mask, "mel_mask": mel_mask}

    def forward_sum_loss(self, log_attn: torch.Tensor, token_lengths: torch.Tensor, mel_lengths: torch.Tensor) -> torch.Tensor:
        """Forward-sum loss (arXiv 2108.10447 Eq. 4) as a CTC loss, mean over utterances."""
        batch, t_mel, t_text = log_attn.shape
        blank = torch.full((batch, t_mel, 1), self.conf.blank_logprob, dtype=log_attn.dtype, device=log_attn.device)
        scores = torch.cat([blank, log_attn], dim=-1)
        log_probs = torch.log_softmax(scores, dim=-1).transpose(0, 1)
        targets = torch.arange(1, t_text + 1, device=log_attn.device).unsqueeze(0).expand(batch, -1)
        targets = targets * lengths_to_mask(token_lengths, t_text)
        loss = F.ctc_loss(log_probs, targets, mel_lengths, token_lengths, blank=0, reduction="none", zero_infinity=True)
        return (loss / token_lengths.to(loss.dtype)).mean()

    @staticmethod
    def bin_loss(log_attn: torch.Tensor, hard: torch.Tensor) -> torch.Tensor:
        """Bin loss (arXiv 2108.10447 Eq. 10); ``hard`` is ``(batch, T_mel, T_text)`` 0/1."""
        picked = torch.where(hard.bool(), log_attn, torch.zeros_like(log_attn))
        return -picked.sum() / hard.sum().clamp(min=1)

    def hard_alignment(self, log_attn: torch.Tensor, token_lengths: torch.Tensor, mel_lengths: torch.Tensor) -> torch.Tensor:
        """MAS path on the soft attention, ``(batch, T_mel, T_text)``."""
        return maximum_path(log_attn.transpose(1, 2), token_lengths, mel_lengths).transpose(1, 2)

    def durations(self, log_attn: torch.Tensor, token_lengths: torch.Tensor, mel_lengths: torch.Tensor) -> torch.Tensor:
        """Frames per token ``(batch, T_text)``; each row sums to its mel length."""
        return durations_from_path(self.hard_alignment(log_attn, token_lengths, mel_lengths).transpose(1, 2))

    def loss(
        self, out: Dict[str, torch.Tensor], token_lengths: torch.Tensor, mel_lengths: torch.Tensor, step: Optional[int] = None,
        **unused: Any,
    ) -> Dict[str, torch.Tensor]:
        """Forward-sum loss + bin loss, its weight ramped in linearly over ``bin_loss_warmup_steps``
        (``step`` defaults to :attr:`num_updates`, the optimiser updates done before this batch)."""
        if step is None:
            step = self.num_updates
        ctc = self.forward_sum_loss(out["log_attn"], token_lengths, mel_lengths)
        hard = self.hard_alignment(out["log_attn"], token_lengths, mel_lengths)
        weight = self.conf.bin_loss_weight * min(1.0, step / max(self.conf.bin_loss_warmup_steps, 1))
        binl = self.bin_loss(out["log_attn"], hard)
        return {"forward_sum_loss": ctc, "bin_loss": binl, "loss": ctc + weight * binl}
