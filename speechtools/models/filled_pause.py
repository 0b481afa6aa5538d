"""AdaSpeech 3's filled-pause predictor (Yan et al., arXiv 2107.02530, Sec. 3.1) as a small standalone word model.

The paper predicts, per word, whether a filled pause (``um``, ``uh``) follows, from the TTS text
encoder's representation of the word (unverified detail of the reference notes). Here the predictor is
its own model, so any acoustic model can use it (``synth --filled-pauses auto --filled-pause-model
DIR``): a word embedding (vocabulary of the training transcripts, ``<unk>`` for the rest), an FFT stack
(self-attention + conv FFN, :class:`~speechtools.nn.fft_block.FFTStack`: both neighbours of a boundary
count) and a linear layer to ``n_fillers + 1`` classes (0 = none) per position. The input is ``<s>``
followed by the words, so position 0 is the slot before the first word and position ``i`` the slot
after word ``i`` (:mod:`speechtools.text.filled_pauses`).

Loss: cross-entropy over the valid slots, the filler classes weighted ``filler_weight`` (filled pauses
are rare); statistics ``accuracy`` and ``filler_recall`` (slots with a filler predicted as some filler).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict

import torch
import torch.nn.functional as F
from torch import nn

from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.nar_tts import masked_mean
from speechtools.models.task_info import FilledPauseInfo
from speechtools.nn.conv import masked_fill_padding
from speechtools.nn.fft_block import FFTStack, FFTStackConfig
from speechtools.nn.masks import lengths_to_mask


def _small_stack() -> FFTStackConfig:
    return FFTStackConfig(layers=2, dim=128, heads=2, ffn_hidden=256, ffn_kernels=[3, 1], dropout=0.1)


@dataclass
class FilledPauseConfig:
    """``model_conf`` of ``model: filled_pause``.

    Attributes:
        dim: word embedding size (= ``encoder.dim``).
        encoder: the FFT stack over the words.
        filler_weight: cross-entropy weight of the slots that hold a filler (the others: 1).
    """

    dim: int = 128
    encoder: FFTStackConfig = field(default_factory=_small_stack)
    filler_weight: float = 4.0

    def __post_init__(self) -> None:
        check_ranges(self, positive=("dim",), non_negative=("filler_weight",))
        if self.encoder.dim != self.dim:
            raise ValueError(f"encoder.dim ({self.encoder.dim}) must equal dim ({self.dim})")


@MODELS.register("filled_pause", config=FilledPauseConfig)
class FilledPausePredictor(nn.Module):
    """Words → per-slot logits over none / filler classes (module docstring)."""

    def __init__(self, conf: FilledPauseConfig, vocab_size: int, n_fillers: int = 2) -> None:
        super().__init__()
        self.conf = conf
        self.n_fillers = n_fillers
        self.embedding = nn.Embedding(vocab_size, conf.dim, padding_idx=0)
        self.encoder = FFTStack(conf.encoder)
        self.head = nn.Linear(conf.dim, n_fillers + 1)

    @classmethod
    def build_model(cls, conf: FilledPauseConfig, task: FilledPauseInfo) -> "FilledPausePredictor":
        """The construction rule: vocabulary size and filler classes from the task's data."""
        return cls(conf, vocab_size=task.vocab_size, n_fillers=task.n_fillers)

    def forward(self, words: torch.Tensor, word_lengths: torch.Tensor, **unused: Any) -> Dict[str, torch.Tensor]:
        """``words`` ``(batch, 1 + n)`` (``<s>`` first) → ``logits`` ``(batch, 1 + n, n_fillers + 1)`` and ``mask``."""
        mask = lengths_to_mask(word_lengths.to(words.device), words.size(1))
        hidden = self.encoder(masked_fill_padding(self.embedding(words), mask), mask)
        return {"logits": self.head(masked_fill_padding(hidden, mask)), "mask": mask}

    def loss(self, out: Dict[str, torch.Tensor], labels: torch.Tensor, **unused: Any) -> Dict[str, torch.Tensor]:
        """Weighted cross-entropy over the valid slots; ``accuracy`` and ``filler_recall`` as statistics."""
        logits, mask = out["logits"].float(), out["mask"]
        labels = labels.to(logits.device) * mask.long()
        ce = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none")
        filler = labels > 0
        weights = torch.where(filler, torch.full_like(ce, self.conf.filler_weight), torch.ones_like(ce)) * mask.to(ce.dtype)
        loss = (ce * weights).sum() / weights.sum().clamp(min=1e-8)
        with torch.no_grad():
            pred = logits.argmax(-1)
            accuracy = masked_mean((pred == labels).float(), mask)
            recall = masked_mean((pred > 0).float(), filler & mask)
        return {"loss": loss, "accuracy": accuracy, "filler_recall": recall}

    @torch.no_grad()
    def probabilities(self, words: torch.Tensor, word_lengths: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(batch, 1 + n, n_fillers + 1)`` (0 at padded slots)."""
        out = self.forward(words, word_lengths)
        return torch.softmax(out["logits"].float(), dim=-1) * out["mask"].unsqueeze(-1).float()
