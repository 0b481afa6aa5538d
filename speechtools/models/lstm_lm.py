"""LSTM language model over a recogniser's output units, for shallow fusion in beam search.

A unidirectional LSTM LM (ESPnet2's ``SequentialRNNLM``, after PyTorch's ``word_language_model``
example): token embedding → ``layers`` LSTM layers → projection onto the vocabulary, dropout on
the embedding, between layers and before the projection. With ``tie_embeddings`` the output
projection is the embedding matrix (:class:`~speechtools.nn.embedding.TiedEmbedding`, Press &
Wolf 2017). The vocabulary is the recogniser's ``tokens.txt`` (ESPnet's layout: ``<blank>`` = 0,
``<unk>``, units, ``<sos/eos>`` last), so its log-probabilities add to the recogniser's score
token for token (shallow fusion, Gulcehre et al. 2015; ESPnet's ``lm_weight``):
``score = log p_asr(y) + λ log p_lm(y)``.

Training (``task: lm``, :mod:`speechtools.tasks.lm`): ``forward(prev, prev_lengths)`` is the
teacher-forced pass over ``<sos/eos> y`` (packed, so padding never reaches a valid position),
``loss(out, target)`` the cross-entropy against ``y <sos/eos>`` (pad = -100).

Decoding, one token per hypothesis per step (the interface of
:func:`speechtools.nn.beam_search.beam_search` and the correctors)::

    state = lm.init_state(n)                     # before any token
    logp = lm.step(torch.full((n,), sos_eos), state)  # p(y_1 | <sos>)
    lm.reorder(state, kept_hypotheses)           # after the search prunes/expands
    logp = lm.step(best_tokens, state)           # p(y_2 | <sos> y_1) ...

``step`` over the tokens of ``prev`` one by one gives the same log-probabilities as
``log_softmax(forward(prev, prev_lengths))`` position by position (up to float rounding;
``tests/asr/test_language_model.py``). The blank is CTC's, not a symbol of the text: its logit
is ``-inf`` in ``forward`` and ``step`` alike, so both normalise over the other tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Dict

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.task_info import LanguageModelInfo
from speechtools.nn.embedding import TiedEmbedding

IGNORE_ID = -100
"""Padding of the targets (PyTorch's ``ignore_index``)."""

LMState = Dict[str, torch.Tensor]
"""Incremental state of :meth:`LSTMLM.step`: ``h`` and ``c``, each ``(layers, N, dim)``."""


@dataclass
class LSTMLMConfig:
    """``model_conf`` of ``lstm_lm``.

    Attributes:
        dim: embedding and LSTM hidden size (ESPnet2's default: 650).
        layers: stacked LSTM layers.
        dropout: on the embedding, between LSTM layers and before the output projection.
        tie_embeddings: the output projection is the embedding matrix (no separate weight).
        vocab_size: set from the task (``tokens.txt``).
        sos_eos_id: set from the task (the last token).
        blank_id: set from the task (0); never predicted.
    """

    dim: int = 512
    layers: int = 2
    dropout: float = 0.1
    tie_embeddings: bool = True
    vocab_size: int = 0
    sos_eos_id: int = -1
    blank_id: int = 0

    def __post_init__(self) -> None:
        check_ranges(self, positive=("dim", "layers"), non_negative=("vocab_size", "blank_id"), probability=("dropout",))
        if self.sos_eos_id < -1:
            raise ValueError(f"sos_eos_id must be >= 0 (or -1 = not set yet), got {self.sos_eos_id}")
        if self.vocab_size and self.sos_eos_id >= self.vocab_size:
            raise ValueError(f"sos_eos_id {self.sos_eos_id} is outside the vocabulary of {self.vocab_size}")
        if self.vocab_size and self.blank_id >= self.vocab_size:
            raise ValueError(f"blank_id {self.blank_id} is outside the vocabulary of {self.vocab_size}")


@MODELS.register("lstm_lm", config=LSTMLMConfig)
class LSTMLM(nn.Module):
    """LSTM language model with teacher-forced ``forward`` and incremental ``init_state``/``step``/``reorder``."""

    def __init__(self, conf: LSTMLMConfig) -> None:
        super().__init__()
        if conf.vocab_size <= 0:
            raise ValueError("vocab_size must be set (build the model through its task)")
        if conf.sos_eos_id < 0:
            raise ValueError("sos_eos_id must be set (build the model through its task)")
        self.conf = conf
        self.embed = TiedEmbedding(conf.vocab_size, conf.dim)
        self.drop = nn.Dropout(conf.dropout)
        self.lstm = nn.LSTM(conf.dim, conf.dim, conf.layers, batch_first=True, dropout=conf.dropout if conf.layers > 1 else 0.0)
        self.out = None if conf.tie_embeddings else nn.Linear(conf.dim, conf.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(conf.vocab_size))
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        self.register_buffer("blank_index", torch.tensor([conf.blank_id]), persistent=False)

    @classmethod
    def build_model(cls, conf: LSTMLMConfig, task: LanguageModelInfo) -> "LSTMLM":
        """The construction rule: vocabulary size, ``<sos/eos>`` and blank ids from the task."""
        return cls(replace(conf, vocab_size=task.vocab_size, sos_eos_id=task.sos_eos_id, blank_id=task.blank_id))

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits of LSTM outputs ``(..., dim)``; the blank's is ``-inf`` (never predicted,
        so the distribution is normalised over the other tokens in training and decoding alike)."""
        x = self.drop(x)
        logits = self.embed.logits(x) if self.out is None else self.out(x)
        logits = logits + self.bias
        return logits.index_fill(-1, self.blank_index, float("-inf"))

    def forward(self, prev: torch.Tensor, prev_lengths: torch.Tensor, **unused: Any) -> torch.Tensor:
        """Teacher-forced logits ``(B, L, V)`` of the next token after each position of ``prev``
        (``<sos/eos>`` + units, right-padded). Padded positions hold the projection of zeros and
        never influence valid ones (packed sequences)."""
        x = self.drop(self.embed(prev))
        packed = pack_padded_sequence(x, prev_lengths.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(h, batch_first=True, total_length=prev.size(1))
        return self.project(h)

    def loss(self, out: torch.Tensor, target: torch.Tensor, **unused: Any) -> Dict[str, torch.Tensor]:
        """Mean cross-entropy per token over non-pad positions of ``target`` (units + ``<sos/eos>``,
        pad ``-100``): ``loss``, and ``ppl`` = ``exp(loss)``."""
        ce = F.cross_entropy(out.float().transpose(1, 2), target, ignore_index=IGNORE_ID)
        return {"loss": ce, "ppl": torch.exp(ce.detach())}

    def init_state(self, n: int) -> LMState:
        """State of ``n`` hypotheses before any token (the first :meth:`step` takes ``<sos/eos>``)."""
        weight = self.embed.weight
        zeros = weight.new_zeros(self.conf.layers, n, self.conf.dim)
        return {"h": zeros, "c": zeros.clone()}

    def step(self, tokens: torch.Tensor, state: LMState) -> torch.Tensor:
        """Float32 log-probabilities ``(N, V)`` of the next token after ``tokens`` ``(N,)``; updates
        ``state`` in place. The blank gets ``-inf``."""
        x = self.drop(self.embed(tokens[:, None]))
        h, (state["h"], state["c"]) = self.lstm(x, (state["h"], state["c"]))
        return F.log_softmax(self.project(h[:, 0]).float(), dim=-1)

    @staticmethod
    def reorder(state: LMState, index: torch.Tensor) -> None:
        """Keep hypotheses ``index`` (in that order, repeats allowed), in place."""
        for key in list(state):
            state[key] = state[key].index_select(1, index)
