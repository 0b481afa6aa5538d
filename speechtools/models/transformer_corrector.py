"""Autoregressive Transformer corrector (the AR baseline of FastCorrect, Leng et al. 2021, Sec. 4.1).

A standard Transformer encoder-decoder (Vaswani et al. 2017): post-LN layers, ReLU FFN,
sinusoidal positions, embeddings shared by encoder input, decoder input and output
projection (fairseq ``share_all_embeddings``). The decoder keeps a key/value cache so beam
search costs one position per step. :class:`CorrectorEncoder` and the decoder layer
(:class:`speechtools.nn.transformer_layers.DecoderLayer`, on the shared
:class:`speechtools.nn.attention.MultiHeadAttention`) are shared with FastCorrect
(``speechtools.models.fastcorrect``), so both models have identical encoders and equal sizes,
and both take the same CPU inference path when it is enabled (:mod:`speechtools.nn.cpu_fast_path`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Dict, List, NamedTuple, Optional, Tuple, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.task_info import VocabularyInfo
from speechtools.nn.attention import key_mask
from speechtools.nn.beam_search import beam_search
from speechtools.nn.embedding import TiedEmbedding
from speechtools.nn.masks import lengths_to_padding_mask
from speechtools.nn.positional import SinusoidalPositionalEncoding
from speechtools.nn.transformer_layers import Cache, DecoderLayer, reorder_decoder_state


@dataclass
class CorrectorSizes:
    """Transformer sizes shared by both correctors (paper: 6+6 layers, d 512, 8 heads, FFN 2048)."""

    vocab_size: int = 0
    d_model: int = 512
    n_heads: int = 8
    ffn_dim: int = 2048
    encoder_layers: int = 6
    decoder_layers: int = 6
    dropout: float = 0.1
    label_smoothing: float = 0.1
    pad_id: int = 0

    def __post_init__(self) -> None:
        check_ranges(self, positive=("d_model", "n_heads", "ffn_dim", "encoder_layers", "decoder_layers"),
                     non_negative=("vocab_size", "pad_id"), probability=("dropout", "label_smoothing"))
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")


C = TypeVar("C", bound=CorrectorSizes)


def with_vocabulary(conf: C, task: VocabularyInfo) -> C:
    """``conf`` with the vocabulary size and special ids (those of its fields) taken from the task."""
    values = {"vocab_size": task.vocab_size, "pad_id": task.pad_id, "bos_id": task.bos_id, "eos_id": task.eos_id}
    names = {f.name for f in fields(conf)}
    return replace(conf, **{k: v for k, v in values.items() if k in names})


class Corrections(NamedTuple):
    """Output of a corrector's ``correct``: token ids per sentence and, for each output position,
    the index of the source token it was expanded from (``None`` for autoregressive decoding)."""

    ids: List[List[int]]
    source_index: Optional[List[List[int]]]
    candidate: Optional[List[int]] = None
    """For n-best correctors (FastCorrect 2): which input candidate each output was decoded from."""


@dataclass
class TransformerCorrectorConfig(CorrectorSizes):
    """``model_conf`` of the AR corrector: the shared sizes plus its sentence-boundary ids."""

    bos_id: int = 2
    eos_id: int = 3


class CorrectorEncoder(nn.Module):
    """Token embedding (scaled by sqrt(d)) + sinusoidal positions + post-LN Transformer encoder."""

    def __init__(self, vocab_size: int, dim: int, heads: int, ffn: int, layers: int, dropout: float, pad_id: int) -> None:
        super().__init__()
        self.embed = TiedEmbedding(vocab_size, dim, padding_idx=pad_id)
        nn.init.normal_(self.embed.weight, std=dim**-0.5)
        with torch.no_grad():
            self.embed.weight[pad_id].zero_()
        self.pos = SinusoidalPositionalEncoding(dim, scale_input=True)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(dim, heads, ffn, dropout, batch_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns encoder states ``(B, S, d)`` and the padding mask ``(B, S)`` (True = pad)."""
        pad = lengths_to_padding_mask(lengths, tokens.size(1))
        return self.encode(self.embed_positions(tokens), pad), pad

    def embed_positions(self, tokens: torch.Tensor) -> torch.Tensor:
        """Scaled token embeddings plus sinusoidal positions, ``(..., S, d)`` (before dropout)."""
        return self.pos(self.embed(tokens))

    def encode(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Dropout and the Transformer layers over input vectors ``x`` ``(B, S, d)`` (FastCorrect 2
        feeds its fused candidates here)."""
        return self.layers(self.drop(x), src_key_padding_mask=pad)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Output-token logits of decoder states ``x``: the embedding matrix is the output projection (tied)."""
        return self.embed.logits(x)


@MODELS.register("transformer_corrector", config=TransformerCorrectorConfig)
class TransformerCorrector(nn.Module):
    """AR Transformer encoder-decoder corrector; decode with :func:`speechtools.nn.beam_search.beam_search`."""

    has_edit_gate: ClassVar[bool] = False
    """Whether :meth:`correct` honours ``edit_threshold`` and ``frozen`` (FastCorrect's gate)."""

    def __init__(self, conf: TransformerCorrectorConfig) -> None:
        super().__init__()
        if conf.vocab_size <= 0:
            raise ValueError("vocab_size must be set")
        self.conf = conf
        self.encoder = CorrectorEncoder(conf.vocab_size, conf.d_model, conf.n_heads, conf.ffn_dim, conf.encoder_layers, conf.dropout, conf.pad_id)
        self.pos = SinusoidalPositionalEncoding(conf.d_model, scale_input=True)
        self.drop = nn.Dropout(conf.dropout)
        self.layers = nn.ModuleList(DecoderLayer(conf.d_model, conf.n_heads, conf.ffn_dim, conf.dropout) for _ in range(conf.decoder_layers))

    @classmethod
    def build_model(cls, conf: TransformerCorrectorConfig, task: VocabularyInfo) -> "TransformerCorrector":
        """The construction rule: vocabulary size and pad/bos/eos ids from the task."""
        return cls(with_vocabulary(conf, task))

    def memory(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Tuple[List[Tuple[torch.Tensor, torch.Tensor]], torch.Tensor]:
        """Encode and precompute every layer's cross-attention keys/values once."""
        enc, pad = self.encoder(src, src_lengths)
        return [layer.cross_attn.keys_values(enc) for layer in self.layers], key_mask(pad)

    def decode(self, prev: torch.Tensor, memory: List[Tuple[torch.Tensor, torch.Tensor]], memory_mask: torch.Tensor,
               caches: Optional[List[Cache]] = None, offset: int = 0) -> torch.Tensor:
        """Logits for the next tokens given previous tokens ``prev`` (teacher forcing or one cached step)."""
        x = self.drop(self.pos(self.encoder.embed(prev), offset=offset))
        for k, layer in enumerate(self.layers):
            x = layer(x, memory[k], memory_mask, None, True, None if caches is None else caches[k])
        return self.encoder.logits(x)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, prev: torch.Tensor, **unused: Any) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, V)``; ``prev`` is ``<s>`` + target. Takes a task's batch as ``model(**batch)``."""
        memory, mask = self.memory(src, src_lengths)
        return self.decode(prev, memory, mask)

    def loss(self, logits: torch.Tensor, target_eos: torch.Tensor, **unused: Any) -> Dict[str, torch.Tensor]:
        """Cross-entropy with label smoothing over non-pad positions (``target_eos`` = tokens + ``</s>``): ``loss`` and ``ce``."""
        ce = F.cross_entropy(logits.transpose(1, 2), target_eos, ignore_index=self.conf.pad_id, label_smoothing=self.conf.label_smoothing)
        return {"loss": ce, "ce": ce}

    def correct(self, src: torch.Tensor, src_lengths: torch.Tensor, beam_size: int = 5, **gate: Any) -> Corrections:
        """Beam search (:func:`speechtools.nn.beam_search.beam_search`) from ``<s>`` to ``</s>``; gate options are ignored."""
        return Corrections(beam_search(self, src, src_lengths, self.conf.bos_id, self.conf.eos_id, beam_size), None)

    def init_state(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Dict[str, object]:
        """Beam-search state: cross-attention memory and empty self-attention caches."""
        memory, mask = self.memory(src, src_lengths)
        return {"memory": memory, "mask": mask, "caches": [dict() for _ in self.layers], "step": 0}

    def step(self, tokens: torch.Tensor, state: Dict[str, object]) -> torch.Tensor:
        """Log-probabilities ``(N, V)`` of the next token after ``tokens`` ``(N,)``; updates the cache."""
        step = int(state["step"])  # type: ignore[arg-type]
        logits = self.decode(tokens[:, None], state["memory"], state["mask"], state["caches"], offset=step)  # type: ignore[arg-type]
        state["step"] = step + 1
        return F.log_softmax(logits[:, -1].float(), dim=-1)

    @staticmethod
    def reorder(state: Dict[str, Any], index: torch.Tensor) -> None:
        """Keep hypotheses ``index`` of the state (after a search step)."""
        reorder_decoder_state(state, index)
