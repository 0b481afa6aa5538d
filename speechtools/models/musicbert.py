"""MusicBERT (Zeng et al., ACL Findings 2021, arXiv 2106.05630), registered as ``musicbert``.

Per octuple, the 8 token embeddings (one shared vocabulary table) are concatenated and
projected back to the model width (``Linear(8d -> d)``), a learned position embedding is
added, and a pre-LN Transformer encoder with GELU (RoBERTa) runs over the octuple sequence
(Sec. 3.2, Fig. 2). For masked language modelling the output of each octuple is projected
to 8 vectors (``Linear(d -> 8d)``), each of which goes through the RoBERTa LM transform
(dense, GELU, LayerNorm) and its own output head: head j predicts over the 4 special
tokens plus field j's values (the reference predicts over the whole vocabulary; restricting
each head to its field removes impossible outputs without changing what is learnt).
The sequence representation is the output of the leading ``<s>`` octuple (``pooling: bos``,
the reference; ``pooling: mean`` averages all octuples instead, see the recipe README for
why a briefly pre-trained model needs it), fed to a RoBERTa classification head (dense, tanh, dropout, linear) when ``num_classes > 0``; such a
fine-tuning model has no MLM heads (every parameter gets a gradient, as DDP requires).

Sizes (layers/width/FFN/heads): base 12/768/3072/12, small 4/512/2048/8 (``conf/music/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Literal, Optional

import torch
from torch import nn

from speechtools.models import MODELS
from speechtools.music import vocab as V


@dataclass
class MusicBERTConfig:
    """Encoder size, regularisation and the optional classification head."""

    layers: int = 4
    dim: int = 512
    ffn_dim: int = 2048
    heads: int = 8
    dropout: float = 0.1
    attention_dropout: float = 0.1
    max_positions: int = 1024
    num_classes: int = 0
    pooler_dropout: float = 0.0
    pooling: Literal["bos", "mean"] = "bos"

    def __post_init__(self) -> None:
        if self.layers < 1 or self.dim < 1 or self.heads < 1 or self.dim % self.heads:
            raise ValueError(f"need layers >= 1 and dim divisible by heads, got dim={self.dim}, heads={self.heads}")
        if self.num_classes < 0 or self.max_positions < 2:
            raise ValueError("num_classes must be >= 0 and max_positions >= 2")
        if not (0.0 <= self.dropout < 1.0 and 0.0 <= self.attention_dropout < 1.0):
            raise ValueError("dropouts must lie in [0, 1)")


HEAD_SIZES: List[int] = [len(V.SPECIALS) + size for size in V.FIELD_SIZES]
"""Classes of output head j: ``<s> <pad> </s> <unk>`` then field j's values."""


def ids_to_head_targets(ids: torch.Tensor) -> torch.Tensor:
    """Dictionary ids (..., 8) → per-head class indices (specials stay 0-3, values shift by 4)."""
    offsets = torch.as_tensor(V.FIELD_OFFSETS, device=ids.device) - len(V.SPECIALS)
    return torch.where(ids < len(V.SPECIALS), ids, ids - offsets)


def head_predictions_to_ids(classes: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`ids_to_head_targets`."""
    offsets = torch.as_tensor(V.FIELD_OFFSETS, device=classes.device) - len(V.SPECIALS)
    return torch.where(classes < len(V.SPECIALS), classes, classes + offsets)


@MODELS.register("musicbert", config=MusicBERTConfig)
class MusicBERT(nn.Module):
    """Octuple-embedding Transformer encoder with 8 MLM heads and an optional classifier.

    Input ``tokens``: (B, T, 8) dictionary ids, padded octuples all ``<pad>``.
    """

    def __init__(self, conf: MusicBERTConfig) -> None:
        super().__init__()
        self.conf = conf
        d = conf.dim
        self.embed_tokens = nn.Embedding(V.VOCAB_SIZE, d, padding_idx=V.PAD_ID)
        self.downsample = nn.Linear(8 * d, d)
        self.embed_positions = nn.Embedding(conf.max_positions, d)
        self.embed_norm = nn.LayerNorm(d)
        self.dropout = nn.Dropout(conf.dropout)
        layer = nn.TransformerEncoderLayer(
            d, conf.heads, conf.ffn_dim, conf.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        layer.self_attn.dropout = conf.attention_dropout
        self.encoder = nn.TransformerEncoder(layer, conf.layers, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(d)
        self.upsample: Optional[nn.Module] = None
        self.lm_transform: Optional[nn.Module] = None
        self.lm_heads: Optional[nn.ModuleList] = None
        self.classifier: Optional[nn.Module] = None
        if not conf.num_classes:
            self.upsample = nn.Linear(d, 8 * d)
            self.lm_transform = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.LayerNorm(d))
            self.lm_heads = nn.ModuleList(nn.Linear(d, size) for size in HEAD_SIZES)
        else:
            self.classifier = nn.Sequential(
                nn.Dropout(conf.pooler_dropout), nn.Linear(d, d), nn.Tanh(), nn.Dropout(conf.pooler_dropout), nn.Linear(d, conf.num_classes)
            )
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """BERT initialisation: N(0, 0.02) weights, zero biases, zero padding embedding."""
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()

    @classmethod
    def build_model(cls, conf: MusicBERTConfig, task: object) -> "MusicBERT":
        """The construction rule: the OctupleMIDI vocabulary is fixed, so nothing is read from the task."""
        return cls(conf)

    def padding_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) True where the octuple is padding."""
        return tokens[..., 0].eq(V.PAD_ID)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T, 8) ids → (B, T, d) octuple representations."""
        if tokens.dim() != 3 or tokens.size(-1) != 8:
            raise ValueError(f"expected (batch, octuples, 8) token ids, got {tuple(tokens.shape)}")
        if tokens.size(1) > self.conf.max_positions:
            raise ValueError(f"{tokens.size(1)} octuples exceed max_positions={self.conf.max_positions}")
        b, t, _ = tokens.shape
        pad = self.padding_mask(tokens)
        x = self.embed_tokens(tokens).reshape(b, t, -1)
        x = self.downsample(x) + self.embed_positions(torch.arange(t, device=tokens.device))
        x = self.dropout(self.embed_norm(x))
        x = x.masked_fill(pad.unsqueeze(-1), 0.0)
        x = self.encoder(x, src_key_padding_mask=pad)
        return self.final_norm(x)

    def mlm_logits(self, hidden: torch.Tensor) -> List[torch.Tensor]:
        """(B, T, d) → 8 tensors (B, T, HEAD_SIZES[j])."""
        if self.lm_heads is None or self.upsample is None or self.lm_transform is None:
            raise ValueError("a model with a classification head has no MLM heads")
        b, t, d = hidden.shape
        per_field = self.lm_transform(self.upsample(hidden).reshape(b, t, 8, d))
        return [head(per_field[:, :, j]) for j, head in enumerate(self.lm_heads)]

    def classify(self, hidden: torch.Tensor, padding: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits (B, num_classes) from the leading ``<s>`` octuple (``pooling: bos``, the
        reference) or the mean over the non-padding octuples (``pooling: mean``)."""
        if self.classifier is None:
            raise ValueError("model has no classification head (num_classes = 0)")
        if self.conf.pooling == "bos":
            return self.classifier(hidden[:, 0])
        keep = torch.ones(hidden.shape[:2], dtype=hidden.dtype, device=hidden.device) if padding is None else (~padding).to(hidden.dtype)
        pooled = (hidden * keep.unsqueeze(-1)).sum(1) / keep.sum(1, keepdim=True).clamp(min=1.0)
        return self.classifier(pooled)

    def forward(self, tokens: torch.Tensor, head: str = "auto"):
        """``head``: ``mlm`` → 8 logit tensors, ``classify`` → (B, num_classes), ``hidden`` → (B, T, d);
        ``auto`` classifies when the model has a classification head, else returns MLM logits."""
        hidden = self.encode(tokens)
        if head == "auto":
            head = "classify" if self.classifier is not None else "mlm"
        if head == "mlm":
            return self.mlm_logits(hidden)
        if head == "classify":
            return self.classify(hidden, self.padding_mask(tokens))
        if head == "hidden":
            return hidden
        raise ValueError(f"unknown head {head!r}")
