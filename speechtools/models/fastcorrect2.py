"""FastCorrect 2: non-autoregressive correction of several ASR candidates (Leng et al., Findings of
EMNLP 2021, arXiv 2109.14420; reference ``FastCorrect2/``).

Built from FastCorrect's parts (:mod:`speechtools.models.fastcorrect`): the same encoder layers,
length predictor, expansion and decoder. What FastCorrect 2 adds (paper Sec. 3.2):

* **Input**: ``src`` ``(B, n, L)``, the ``n`` candidates of each sentence aligned into rows of
  equal length (:func:`speechtools.correction.multi_alignment.align_candidates`; ``<void>`` is an
  ordinary vocabulary token) and one length ``src_lengths`` ``(B,)`` per sentence.
* **Candidate fusion**: each candidate's token embeddings + positions, concatenated over the
  candidates (``n·d``), → ``Linear(n·d → d)`` → FastCorrect's encoder layers.
* **Per candidate**: ``Linear(2d → d)`` on ``[encoder state; that candidate's embedding]`` →
  FastCorrect's length predictor (5 convs → duration and edit heads) → the candidate's durations,
  and a **candidate-score head** on the same conv features (mean over the row's positions, then
  Linear d→hidden, ReLU, dropout, Linear→1) that predicts the decoder's loss on that candidate.
  With ``score_pool: disagree`` (not the reference's) the mean runs only over the columns where
  the aligned candidates differ, the only columns where one candidate can be better than another.
* **Decoder**: FastCorrect's NAR decoder decodes every candidate's expansion (training: by the
  edit-alignment durations; inference: by the rounded predicted durations).
* **Loss**: the sum over candidates of FastCorrect's terms (CE with label smoothing,
  ``duration_loss_weight``·duration MSE, ``edit_loss_weight``·edit BCE) plus
  ``score_loss_weight``·MSE(predicted score, the decoder's mean NLL on that candidate, detached).
  With ``score_target: centred`` (not the reference's) both sides of that MSE are centred on
  their list's mean, so the head learns only how the candidates of one list differ, which is all
  the choice reads.
* **Inference** (one pass): decode all candidates and keep, per sentence, the one with the
  smallest ``choice_duration_weight·mean((d̂ − round d̂)²) + choice_score_weight·predicted loss``
  (reference: 0.5 and 0.5). With ``n_candidates = 1`` this is FastCorrect's decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Literal, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.fastcorrect import (FastCorrect, FastCorrectConfig, FastCorrectOutput, copy_kept, inference_durations,
                                            predictor_head)
from speechtools.models.transformer_corrector import Corrections
from speechtools.nn.masks import lengths_to_padding_mask


@dataclass
class FastCorrect2Config(FastCorrectConfig):
    """``model_conf`` of FastCorrect 2: FastCorrect's sizes and weights (paper size 6+6, d 512,
    8 heads, FFN 2048) plus the number of candidates and the candidate predictor's weights.

    Attributes:
        n_candidates: candidates per sentence (the reference's beam size, 4).
        score_loss_weight: weight of the candidate-score MSE in the loss. The reference's value
            is not known here; 1.0 is this implementation's choice.
        choice_duration_weight: weight of the mean squared rounding gap of the predicted
            durations in the inference choice (reference 0.5).
        choice_score_weight: weight of the predicted loss in the inference choice (reference 0.5).
        score_target: what the candidate-score head is trained to predict: ``absolute`` the
            decoder's mean NLL of each candidate (the reference), ``centred`` its difference from
            the mean over the list's candidates (predictions centred the same way). The choice is
            an argmin over one list's candidates, so a per-list constant never changes it; the
            absolute target spends the head on how hard a sentence is, which is most of the NLL's
            variance.
        score_pool: which positions the candidate-score head averages: ``all`` the row's
            non-padding positions (the reference), ``disagree`` only the columns where not every
            candidate has the same token (all positions for a list whose candidates are equal).
            In the mean over all positions the one or two columns where candidates differ are
            diluted by the columns they share.
    """

    n_candidates: int = 4
    score_loss_weight: float = 1.0
    choice_duration_weight: float = 0.5
    choice_score_weight: float = 0.5
    score_target: Literal["absolute", "centred"] = "absolute"
    score_pool: Literal["all", "disagree"] = "all"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_ranges(self, positive=("n_candidates",), non_negative=("score_loss_weight", "choice_duration_weight", "choice_score_weight"))


class FastCorrect2Output(NamedTuple):
    """Outputs of every candidate. The decoder fields are flattened over sentences and
    candidates (row ``b·n + c`` is candidate ``c`` of sentence ``b``): ``logits`` ``(B·n, T, V)``,
    ``durations`` and ``edit_logits`` ``(B·n, L)``, ``source_index`` ``(B·n, T)``, ``lengths``
    ``(B·n,)``; ``scores`` ``(B, n)`` is the predicted decoder loss of each candidate."""

    logits: torch.Tensor
    durations: torch.Tensor
    edit_logits: torch.Tensor
    source_index: torch.Tensor
    lengths: torch.Tensor
    scores: torch.Tensor

    def flat(self) -> FastCorrectOutput:
        """The decoder fields as FastCorrect's output (one row per candidate)."""
        return FastCorrectOutput(self.logits, self.durations, self.edit_logits, self.source_index, self.lengths)


@MODELS.register("fastcorrect2", config=FastCorrect2Config)
class FastCorrect2(FastCorrect):
    """FastCorrect 2 (see the module docstring): FastCorrect's encoder, length predictor and
    decoder, with candidate fusion, per-candidate projections and a candidate-score head."""

    reads_n_best: ClassVar[bool] = True

    def __init__(self, conf: FastCorrect2Config) -> None:
        super().__init__(conf)
        d, n = conf.d_model, conf.n_candidates
        self.fuse = nn.Linear(n * d, d)
        self.candidate_proj = nn.Linear(2 * d, d)
        self.score = predictor_head(d, conf.head_hidden, conf.predictor_dropout)

    @property
    def n_candidates(self) -> int:
        return int(self.conf.n_candidates)

    def _predict(self, src: torch.Tensor, src_lengths: torch.Tensor
                 ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encoder states ``(B, L, d)``, padding ``(B, L)``, and per candidate (flattened to
        ``B·n`` rows) durations and edit logits ``(B·n, L)``; scores ``(B, n)``."""
        if src.dim() != 3 or src.size(1) != self.n_candidates:
            raise ValueError(f"src must be (batch, {self.n_candidates} candidates, length), got {tuple(src.shape)}")
        b, n, length = src.shape
        d = self.conf.d_model
        pad = lengths_to_padding_mask(src_lengths, length)
        emb = self.encoder.embed_positions(src.reshape(b * n, length)).view(b, n, length, d)
        fused = self.fuse(emb.transpose(1, 2).reshape(b, length, n * d))
        enc = self.encoder.encode(fused, pad)
        per_cand = self.candidate_proj(torch.cat([enc.unsqueeze(1).expand(b, n, length, d), emb], dim=-1))
        pad_n = pad.repeat_interleave(n, dim=0)
        feats = self.predictor.features(per_cand.reshape(b * n, length, d), pad_n)
        dur, edit = self.predictor.heads(feats, pad_n)
        keep = self.score_columns(src, pad).repeat_interleave(n, dim=0).unsqueeze(-1).to(feats.dtype)
        pooled = (feats * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        scores = self.score(pooled).view(b, n)
        return enc, pad, dur, edit, scores

    def score_columns(self, src: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """The positions ``(B, L)`` the candidate-score head averages over (``score_pool``): every
        non-padding column, or only those where the aligned candidates ``src`` ``(B, n, L)`` differ
        (every non-padding column where they never differ)."""
        real = ~pad
        if self.conf.score_pool == "all":
            return real
        differs = (src != src[:, :1]).any(dim=1) & real
        return torch.where(differs.any(dim=1, keepdim=True), differs, real)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, durations: Optional[torch.Tensor] = None,
                **unused: Any) -> FastCorrect2Output:  # type: ignore[override]
        """Decode every candidate; ``durations`` ``(B, n, L)`` (training) give the decoder lengths, else predicted."""
        enc, pad, pred_dur, edit, scores = self._predict(src, src_lengths)
        b, n, length = src.shape
        dur = pred_dur.round().clamp(min=0).long() if durations is None else durations.reshape(b * n, length)
        return FastCorrect2Output(*self.decode_candidates(src, enc, pad, dur, pred_dur, edit), scores)

    def decode_candidates(self, src: torch.Tensor, enc: torch.Tensor, pad: torch.Tensor, durations: torch.Tensor,
                          pred_dur: torch.Tensor, edit: torch.Tensor) -> FastCorrectOutput:
        """FastCorrect's decoder on every candidate's expansion by ``durations`` ``(B·n, L)``: ``src``
        ``(B, n, L)``, and ``enc``, ``pad``, ``pred_dur``, ``edit`` as :meth:`_predict` returns them
        (the sentence's encoder states shared by its candidates); rows as in :class:`FastCorrect2Output`."""
        b, n, length = src.shape
        return self._decode(src.reshape(b * n, length), enc.repeat_interleave(n, dim=0), pad.repeat_interleave(n, dim=0),
                            durations, pred_dur, edit)

    def choose(self, pred_dur: torch.Tensor, scores: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Index ``(B,)`` of the candidate with the smallest ``w_d·mean((d̂ − round d̂)²) + w_s·score``
        (means over each row's non-padding positions, ``<void>`` included; ties: the first)."""
        b, n = scores.shape
        valid = (~pad).unsqueeze(1).to(pred_dur.dtype)
        gap = (pred_dur.view(b, n, -1) - pred_dur.view(b, n, -1).round()).pow(2)
        gap = (gap * valid).sum(dim=-1) / valid.sum(dim=-1).clamp(min=1.0)
        return (self.conf.choice_duration_weight * gap + self.conf.choice_score_weight * scores).argmin(dim=1)

    def infer(self, src: torch.Tensor, src_lengths: torch.Tensor, edit_threshold: Optional[float] = None,  # type: ignore[override]
              frozen: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, FastCorrectOutput, torch.Tensor]:
        """One pass over all candidates (FastCorrect's :meth:`~FastCorrect.infer` per candidate,
        ``frozen`` ``(B, n, L)``) and the choice of one per sentence.

        Returns the chosen candidates' output ids ``(B, T)``, their outputs (FastCorrect's fields,
        one row per sentence: lengths, source index into the chosen row, ...) and the choice ``(B,)``.
        """
        enc, pad, pred_dur, edit, scores = self._predict(src, src_lengths)
        b, n, length = src.shape
        flat_src, pad_n = src.reshape(b * n, length), pad.repeat_interleave(n, dim=0)
        flat_frozen = None if frozen is None else frozen.reshape(b * n, length)
        durations, keep = inference_durations(pred_dur, edit, pad_n, src_lengths.repeat_interleave(n), edit_threshold, flat_frozen)
        out = self.decode_candidates(src, enc, pad, durations, pred_dur, edit)
        ids = copy_kept(out.logits.argmax(dim=-1), out.source_index, flat_src, keep)
        choice = self.choose(pred_dur, scores, pad)
        rows = torch.arange(b, device=src.device) * n + choice
        width = max(int(out.lengths[rows].max()) if b else 0, 1)
        chosen = FastCorrectOutput(out.logits[rows][:, :width], out.durations[rows], out.edit_logits[rows],
                                   out.source_index[rows][:, :width], out.lengths[rows])
        return ids[rows][:, :width], chosen, choice

    def correct(self, src: torch.Tensor, src_lengths: torch.Tensor, edit_threshold: Optional[float] = None,
                frozen: Optional[torch.Tensor] = None, **options: Any) -> Corrections:
        """:meth:`infer` as token-id lists of the chosen candidates, with source indices into the
        chosen rows and the choices (``Corrections.candidate``)."""
        ids, out, choice = self.infer(src, src_lengths, edit_threshold, frozen)
        lengths = out.lengths.tolist()
        rows, index = ids.tolist(), out.source_index.tolist()
        return Corrections([r[:k] for r, k in zip(rows, lengths)], [r[:k] for r, k in zip(index, lengths)], choice.tolist())

    def candidate_nll(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The decoder's mean NLL of each sentence's reference given each candidate ``(B, n)``, what the
        candidate-score head predicts; ``logits`` ``(B·n, T, V)`` (rows as in :class:`FastCorrect2Output`),
        ``target`` ``(B, T)``."""
        b, n = target.size(0), self.n_candidates
        rows_target = target.repeat_interleave(n, dim=0)
        mask = rows_target != self.conf.pad_id
        logp = F.log_softmax(logits.float(), dim=-1)
        nll = -logp.gather(-1, rows_target.unsqueeze(-1)).squeeze(-1) * mask
        return (nll.sum(dim=1) / mask.sum(dim=1).clamp(min=1)).view(b, n)

    def loss(self, out: FastCorrect2Output, src_lengths: torch.Tensor, durations: torch.Tensor,  # type: ignore[override]
             edited: torch.Tensor, target: torch.Tensor, **unused: Any) -> Dict[str, torch.Tensor]:
        """Sum over candidates of FastCorrect's loss, plus the candidate-score MSE.

        ``durations`` and ``edited`` are ``(B, n, L)``, ``target`` ``(B, T)`` (one reference per
        sentence). Every candidate expands to the target's length, so FastCorrect's token- and
        position-averaged terms over the ``B·n`` rows times ``n`` are the sums over candidates of
        each candidate's terms; the reported ``ce``, ``dur_mse`` and ``edit_bce`` are those
        averages (per candidate), ``score_mse`` the candidate predictor's error.
        """
        b, n, length = durations.shape
        rows_target = target.repeat_interleave(n, dim=0)
        terms = super().loss(out.flat(), src_lengths.repeat_interleave(n), durations.reshape(b * n, length),
                             edited.reshape(b * n, length), rows_target)
        with torch.no_grad():
            nll = self.candidate_nll(out.logits, target)
        scores = out.scores.float()
        if self.conf.score_target == "centred":
            scores, nll = scores - scores.mean(dim=1, keepdim=True), nll - nll.mean(dim=1, keepdim=True)
        score_mse = F.mse_loss(scores, nll)
        total = n * terms["loss"] + self.conf.score_loss_weight * score_mse
        return {**terms, "loss": total, "score_mse": score_mse}
