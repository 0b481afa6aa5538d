"""The LightSpeech search space as data (Luo et al., ICASSP 2021, arXiv 2102.04040, Sec. 3.2, Table 1).

Each encoder/decoder layer is one of twelve operations (numbering as in the authors'
``modules/operations.py``, where the searched LJSpeech model is ``arch: '2 7 4 3 5 6 3 4'``):

====  ========  ==========================================================
 id    name      operation (all pre-LayerNorm with a residual connection)
====  ========  ==========================================================
 1–7   sepK      separable conv, K ∈ {1, 5, 9, 13, 17, 21, 25}, two convs
 8     mhsa2     multi-head self-attention, 2 heads (projections without bias)
 9     mhsa4     ... 4 heads
 10    mhsa8     ... 8 heads
 11    ffn       Transformer FFN: conv k9 (dim → filter) → ReLU → linear
 12    identity  skip the layer
====  ========  ==========================================================

An architecture is a whitespace-separated string of names or ids, encoder layers first:
``"sep5 sep25 sep13 sep9 sep17 sep21 sep9 sep13"`` ≡ ``"2 7 4 3 5 6 3 4"``.
:class:`SearchedStack` builds one encoder or decoder from its part of the string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from speechtools.nn.attention import SelfAttention
from speechtools.nn.conv import ConvFFN, masked_fill_padding
from speechtools.nn.positional import SinusoidalPositionalEncoding
from speechtools.nn.separable_conv import SepConvLayer


@dataclass(frozen=True)
class Operation:
    """One row of the search space: id, name, kind (``sepconv``/``attention``/``ffn``/``identity``) and size."""

    op_id: int
    name: str
    kind: str
    kernel_size: int = 0
    heads: int = 0


def _table() -> Dict[int, Operation]:
    ops = [Operation(i + 1, f"sep{k}", "sepconv", kernel_size=k) for i, k in enumerate((1, 5, 9, 13, 17, 21, 25))]
    ops += [Operation(8 + i, f"mhsa{h}", "attention", heads=h) for i, h in enumerate((2, 4, 8))]
    ops += [Operation(11, "ffn", "ffn", kernel_size=9), Operation(12, "identity", "identity")]
    return {op.op_id: op for op in ops}


#: The operation table, by id (1–12).
OPERATIONS: Dict[int, Operation] = _table()
_BY_NAME: Dict[str, Operation] = {op.name: op for op in OPERATIONS.values()}

#: The architecture LightSpeech found on LJSpeech (encoder 4 layers, decoder 4 layers).
LIGHTSPEECH_ARCH = "sep5 sep25 sep13 sep9 sep17 sep21 sep9 sep13"


def parse_arch(arch: str) -> List[Operation]:
    """Operations of an architecture string (names like ``sep13`` or ids like ``4``)."""
    ops: List[Operation] = []
    for word in arch.split():
        key = word.lower()
        if key.isdigit() and int(key) in OPERATIONS:
            ops.append(OPERATIONS[int(key)])
        elif key in _BY_NAME:
            ops.append(_BY_NAME[key])
        else:
            choices = ", ".join(sorted(_BY_NAME, key=lambda n: _BY_NAME[n].op_id))
            raise ValueError(f"unknown operation {word!r} in arch {arch!r}; choose ids 1-12 or names: {choices}")
    if not ops:
        raise ValueError("arch is empty")
    return ops


def canonical_arch(arch: str) -> str:
    """The architecture string in operation names (``"2 7 4"`` → ``"sep5 sep25 sep13"``)."""
    return " ".join(op.name for op in parse_arch(arch))


def arch_ids(arch: str) -> List[int]:
    """The operation ids (1–12) of an architecture string: the encoding of a candidate."""
    return [op.op_id for op in parse_arch(arch)]


def arch_from_ids(ids: Sequence[int]) -> str:
    """The architecture string (operation names) of operation ids; inverse of :func:`arch_ids`."""
    return canonical_arch(" ".join(str(int(i)) for i in ids))


def split_arch(arch: str, encoder_layers: int) -> Tuple[List[Operation], List[Operation]]:
    """``(encoder ops, decoder ops)``: the first ``encoder_layers`` operations, then the rest."""
    ops = parse_arch(arch)
    if not 0 < encoder_layers < len(ops):
        raise ValueError(f"arch {arch!r} has {len(ops)} operations; cannot give {encoder_layers} to the encoder and ≥1 to the decoder")
    return ops[:encoder_layers], ops[encoder_layers:]


class _AttentionLayer(nn.Module):
    """Pre-LN multi-head self-attention with residual (ops 8–10; projections without bias)."""

    def __init__(self, dim: int, heads: int, dropout: float, attention_dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by {heads} heads")
        self.norm = nn.LayerNorm(dim)
        self.attention = SelfAttention(dim, heads, dropout=attention_dropout, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = masked_fill_padding(self.norm(x), mask)
        h, _ = self.attention(h, h, h, key_padding_mask=None if mask is None else ~mask, need_weights=False)
        return masked_fill_padding(x + self.dropout(h), mask)


class _FFNLayer(nn.Module):
    """Pre-LN Transformer FFN with residual (op 11): conv k (dim → filter) → ReLU → dropout → linear."""

    def __init__(self, dim: int, filter_size: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.ffn = ConvFFN(dim, filter_size, (kernel_size, 1), dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.ffn(masked_fill_padding(self.norm(x), mask), mask)
        return masked_fill_padding(x + self.dropout(h), mask)


class _Identity(nn.Module):
    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return x


def build_operation(op: Operation, dim: int, filter_size: int = 1024, dropout: float = 0.2, attention_dropout: float = 0.0) -> nn.Module:
    """The module of one search-space operation at width ``dim`` (``forward(x, mask)``)."""
    if op.kind == "sepconv":
        return SepConvLayer(dim, op.kernel_size, dropout)
    if op.kind == "attention":
        return _AttentionLayer(dim, op.heads, dropout, attention_dropout)
    if op.kind == "ffn":
        return _FFNLayer(dim, filter_size, op.kernel_size, dropout)
    return _Identity()


class SearchedStack(nn.Module):
    """An encoder or decoder of search-space layers: positions → layers → final LayerNorm.

    The encoder scales its input by sqrt(dim) before adding positions; the decoder adds
    positions scaled by a learned α (as in the authors' ``TransformerEncoder`` /
    ``LightSpeechDecoder``). ``forward(x, mask, cond=None)`` fits the NAR backbone's stacks.
    """

    def __init__(self, ops: Sequence[Operation], dim: int, filter_size: int = 1024, dropout: float = 0.2,
                 attention_dropout: float = 0.0, decoder: bool = False) -> None:
        super().__init__()
        self.ops = list(ops)
        self.positions = SinusoidalPositionalEncoding(dim, scale_input=not decoder, learnable_alpha=decoder)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(self.layer_module(op, dim, filter_size, dropout, attention_dropout) for op in ops)
        self.final_norm = nn.LayerNorm(dim)

    def layer_module(self, op: Operation, dim: int, filter_size: int, dropout: float, attention_dropout: float) -> nn.Module:
        """The module of one layer (here: ``op``'s; a one-shot supernet's stack holds every operation)."""
        return build_operation(op, dim, filter_size, dropout, attention_dropout)

    @property
    def arch(self) -> str:
        """This stack's part of the architecture string."""
        return " ".join(op.name for op in self.ops)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = masked_fill_padding(self.dropout(self.positions(x)), mask)
        for layer in self.layers:
            x = layer(x, mask)
        return masked_fill_padding(self.final_norm(x), mask)
