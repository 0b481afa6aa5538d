"""FastCorrect: non-autoregressive ASR error correction (Leng et al., NeurIPS 2021, arXiv 2105.03842).

Sec. 3.2 of the paper / reference ``fastcorrect_model.py``:

* Transformer encoder over the source (ASR output) tokens (shared with the AR baseline);
* length predictor on the encoder output: 5 × [Conv1d k3, ReLU, LayerNorm, dropout], then a
  duration head and an "is edited" head (Linear d→256, ReLU, dropout, Linear 256→1 each);
* the decoder input is the source token *embeddings* repeated by the durations (ground truth
  in training, ``round(clamp(pred, 0))`` at inference);
* a non-autoregressive decoder (non-causal self-attention + cross-attention), one pass, argmax;
* loss = CE with label smoothing 0.1 + 0.5 · MSE(duration, clamp(d, 0, max_duration))
  + 0.5 · BCE(edit logit, token was edited).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Dict, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.task_info import VocabularyInfo
from speechtools.models.transformer_corrector import CorrectorEncoder, Corrections, CorrectorSizes, with_vocabulary
from speechtools.nn.attention import key_mask
from speechtools.nn.conv import Conv1dT
from speechtools.nn.masks import lengths_to_padding_mask
from speechtools.nn.positional import SinusoidalPositionalEncoding
from speechtools.nn.transformer_layers import DecoderLayer


@dataclass
class FastCorrectConfig(CorrectorSizes):
    """``model_conf`` of FastCorrect: the shared sizes plus the length predictor and loss weights."""

    predictor_layers: int = 5
    predictor_kernel: int = 3
    predictor_dropout: float = 0.1
    head_hidden: int = 256
    max_duration: float = 3.0
    duration_loss_weight: float = 0.5
    edit_loss_weight: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        check_ranges(self, positive=("predictor_layers", "predictor_kernel", "head_hidden"),
                     non_negative=("max_duration", "duration_loss_weight", "edit_loss_weight"), probability=("predictor_dropout",))


def predictor_head(dim: int, hidden: int, dropout: float) -> nn.Sequential:
    """A scalar head of the length predictor: Linear d→hidden, ReLU, dropout, Linear hidden→1."""
    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))


class LengthPredictor(nn.Module):
    """Conv stack + duration and edit heads of FastCorrect (reference ``fastcorrect_model.py``)."""

    def __init__(self, dim: int, layers: int, kernel: int, dropout: float, hidden: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(Conv1dT(dim, dim, kernel) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(dim, eps=1e-5) for _ in range(layers))
        self.drop = nn.Dropout(dropout)
        self.duration = predictor_head(dim, hidden, dropout)
        self.edit = predictor_head(dim, hidden, dropout)

    def features(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """The conv stack's output ``(B, S, d)`` (what the heads read)."""
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        for conv, norm in zip(self.convs, self.norms):
            x = x * keep
            x = self.drop(norm(conv(x, relu=True)))
        return x

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Predicted durations and edit logits, both ``(B, S)``, 0 at padding."""
        return self.heads(self.features(x, pad), pad)

    def heads(self, x: torch.Tensor, pad: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Durations and edit logits of conv features ``x``, 0 at padding."""
        dur = self.duration(x).squeeze(-1).masked_fill(pad, 0.0)
        edit = self.edit(x).squeeze(-1).masked_fill(pad, 0.0)
        return dur, edit


def expansion_index(durations: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """For each output position the index of the source token it copies, and output lengths.

    Vectorised repeat-by-duration (``searchsorted`` on cumulative durations); padded source
    tokens must have duration 0. Returns ``(index (B, T), lengths (B,))``.
    """
    durations = durations.long().clamp(min=0)
    cumulative = durations.cumsum(dim=1)
    lengths = cumulative[:, -1] if durations.size(1) else torch.zeros(durations.size(0), dtype=torch.long, device=durations.device)
    total = max(int(lengths.max()) if lengths.numel() else 0, 1)
    steps = torch.arange(total, device=durations.device).expand(durations.size(0), total).contiguous()
    index = torch.searchsorted(cumulative.contiguous(), steps, right=True).clamp(max=max(durations.size(1) - 1, 0))
    return index, lengths


def inference_durations(pred_dur: torch.Tensor, edit_logits: torch.Tensor, pad: torch.Tensor, src_lengths: torch.Tensor,
                        edit_threshold: Optional[float] = None, frozen: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """FastCorrect's inference durations ``round(clamp(d, 0))`` ``(B, S)`` and the mask of source
    tokens kept unchanged (duration 1, copied): the optional edit gate (edit probability below
    ``edit_threshold``), ``frozen`` tokens, and every token of a non-empty sentence whose
    durations sum to 0."""
    durations = pred_dur.round().clamp(min=0).long().masked_fill(pad, 0)
    keep = torch.zeros_like(pad)
    if edit_threshold is not None:
        keep = (torch.sigmoid(edit_logits) < edit_threshold) & ~pad
    if frozen is not None:
        keep = keep | (frozen & ~pad)
    durations = torch.where(keep, torch.ones_like(durations), durations)
    empty = (durations.sum(dim=1) == 0) & (src_lengths > 0)
    if bool(empty.any()):
        durations = torch.where(empty[:, None] & ~pad, torch.ones_like(durations), durations)
        keep = keep | (empty[:, None] & ~pad)
    return durations, keep


def copy_kept(ids: torch.Tensor, source_index: torch.Tensor, src: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Output ids with every position expanded from a kept source token replaced by that token."""
    copied = torch.gather(keep, 1, source_index)
    return torch.where(copied, torch.gather(src, 1, source_index), ids)


class FastCorrectOutput(NamedTuple):
    logits: torch.Tensor
    durations: torch.Tensor
    edit_logits: torch.Tensor
    source_index: torch.Tensor
    lengths: torch.Tensor


@MODELS.register("fastcorrect", config=FastCorrectConfig)
class FastCorrect(nn.Module):
    """The FastCorrect non-autoregressive corrector (see the module docstring)."""

    has_edit_gate: ClassVar[bool] = True
    """:meth:`correct` honours ``edit_threshold`` and ``frozen`` (see :meth:`infer`)."""
    reads_n_best: ClassVar[bool] = False
    """Whether ``src`` holds several aligned candidates per sentence (FastCorrect 2)."""

    def __init__(self, conf: FastCorrectConfig) -> None:
        super().__init__()
        if conf.vocab_size <= 0:
            raise ValueError("vocab_size must be set")
        self.conf = conf
        self.encoder = CorrectorEncoder(conf.vocab_size, conf.d_model, conf.n_heads, conf.ffn_dim, conf.encoder_layers, conf.dropout, conf.pad_id)
        self.predictor = LengthPredictor(conf.d_model, conf.predictor_layers, conf.predictor_kernel, conf.predictor_dropout, conf.head_hidden)
        self.pos = SinusoidalPositionalEncoding(conf.d_model, scale_input=True)
        self.drop = nn.Dropout(conf.dropout)
        self.layers = nn.ModuleList(DecoderLayer(conf.d_model, conf.n_heads, conf.ffn_dim, conf.dropout) for _ in range(conf.decoder_layers))

    @classmethod
    def build_model(cls, conf: FastCorrectConfig, task: VocabularyInfo) -> "FastCorrect":
        """The construction rule: vocabulary size and pad id from the task."""
        return cls(with_vocabulary(conf, task))

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, durations: Optional[torch.Tensor] = None,
                **unused: Any) -> FastCorrectOutput:
        """Correct ``src``; with ``durations`` (training) the decoder length is given, else predicted.

        Takes a task's batch as ``model(**batch)``; keys it does not use land in ``unused``."""
        enc, pad = self.encoder(src, src_lengths)
        pred_dur, edit_logits = self.predictor(enc, pad)
        if durations is None:
            durations = pred_dur.round().clamp(min=0).long()
        return self._decode(src, enc, pad, durations, pred_dur, edit_logits)

    def _decode(self, src: torch.Tensor, enc: torch.Tensor, pad: torch.Tensor, durations: torch.Tensor,
                pred_dur: torch.Tensor, edit_logits: torch.Tensor) -> FastCorrectOutput:
        index, lengths = expansion_index(durations.masked_fill(pad, 0))
        dec_in = torch.gather(src, 1, index)
        x = self.drop(self.pos(self.encoder.embed(dec_in)))
        # A single sentence expands to exactly index.size(1) tokens: no decoder padding to mask.
        self_mask = None if src.size(0) == 1 else key_mask(lengths_to_padding_mask(lengths, index.size(1)))
        mem_mask = key_mask(pad)
        for layer in self.layers:
            x = layer(x, layer.cross_attn.keys_values(enc), mem_mask, self_mask, False)
        logits = self.encoder.logits(x)
        return FastCorrectOutput(logits, pred_dur, edit_logits, index, lengths)

    def infer(self, src: torch.Tensor, src_lengths: torch.Tensor, edit_threshold: Optional[float] = None,
              frozen: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, FastCorrectOutput]:
        """One-pass inference (Sec. 3.2): ``round(clamp(d, 0))`` durations, argmax tokens.

        With ``edit_threshold`` (an optional conservative rule, not in the paper), a source
        token whose "is edited" probability is below the threshold keeps duration 1 and is
        copied unchanged; so is every source token where the boolean mask ``frozen`` (B, S) is
        True. A non-empty sentence predicted to have length 0 is copied unchanged.
        Returns the output ids ``(B, T)`` and the raw outputs (lengths, source index, ...).
        """
        enc, pad = self.encoder(src, src_lengths)
        pred_dur, edit_logits = self.predictor(enc, pad)
        durations, keep = inference_durations(pred_dur, edit_logits, pad, src_lengths, edit_threshold, frozen)
        out = self._decode(src, enc, pad, durations, pred_dur, edit_logits)
        return copy_kept(out.logits.argmax(dim=-1), out.source_index, src, keep), out

    def correct(self, src: torch.Tensor, src_lengths: torch.Tensor, edit_threshold: Optional[float] = None,
                frozen: Optional[torch.Tensor] = None, **options: Any) -> Corrections:
        """:meth:`infer` as token-id lists cut to each output length, with their source indices (beam size is ignored)."""
        ids, out = self.infer(src, src_lengths, edit_threshold, frozen)
        lengths = out.lengths.tolist()
        rows, index = ids.tolist(), out.source_index.tolist()
        return Corrections([r[:n] for r, n in zip(rows, lengths)], [r[:n] for r, n in zip(index, lengths)])

    def loss(self, out: FastCorrectOutput, src_lengths: torch.Tensor, durations: torch.Tensor,
             edited: torch.Tensor, target: torch.Tensor, **unused: Any) -> Dict[str, torch.Tensor]:
        """Paper loss: token CE (label smoothing) + 0.5 duration MSE + 0.5 edit BCE.

        ``durations`` are the edit-alignment durations, ``edited`` 1 where the source token is
        not mapped to exactly one identical target token, ``target`` the reference ids (pad 0).
        """
        valid = ~lengths_to_padding_mask(src_lengths, durations.size(1))
        ce = F.cross_entropy(out.logits.transpose(1, 2), target, ignore_index=self.conf.pad_id, label_smoothing=self.conf.label_smoothing)
        dur_target = durations.float().clamp(0, self.conf.max_duration)
        mse = F.mse_loss(out.durations[valid], dur_target[valid])
        bce = F.binary_cross_entropy_with_logits(out.edit_logits[valid], edited.float()[valid])
        total = ce + self.conf.duration_loss_weight * mse + self.conf.edit_loss_weight * bce
        return {"loss": total, "ce": ce, "dur_mse": mse, "edit_bce": bce}
