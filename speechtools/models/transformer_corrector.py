"""Autoregressive Transformer corrector (the AR baseline of FastCorrect, Leng et al. 2021, Sec. 4.1).

A standard Transformer encoder-decoder (Vaswani et al. 2017): post-LN layers, ReLU FFN,
sinusoidal positions, embeddings shared by encoder input, decoder input and output
projection (fairseq ``share_all_embeddings``). The decoder keeps a key/value cache so beam
search costs one position per step. :class:`CorrectorEncoder`, :class:`Attention` and
:class:`DecoderLayer` are shared with FastCorrect (``speechtools.models.fastcorrect``), so
both models have identical encoders and equal sizes, and both take the same oneDNN GEMM path
at CPU inference (:mod:`speechtools.nn.cpu_gemm`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from speechtools.models import MODELS
from speechtools.nn.cpu_gemm import Linear, linear, onednn_gemm_active
from speechtools.nn.masks import lengths_to_padding_mask
from speechtools.nn.positional import SinusoidalPositionalEncoding

Cache = Dict[str, torch.Tensor]


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


@dataclass
class TransformerCorrectorConfig(CorrectorSizes):
    """``model_conf`` of the AR corrector: the shared sizes plus its sentence-boundary ids."""

    bos_id: int = 2
    eos_id: int = 3


class Attention(nn.Module):
    """Multi-head scaled dot-product attention (Vaswani et al. 2017, Eq. 1) on ``F.scaled_dot_product_attention``."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.q = Linear(dim, dim)
        self.kv = Linear(dim, 2 * dim)
        self.out = Linear(dim, dim)
        self.dropout = dropout

    def split(self, x: torch.Tensor) -> torch.Tensor:
        return split_heads(x, self.heads)

    def keys_values(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        k, v = self.kv(x).chunk(2, dim=-1)
        return self.split(k), self.split(v)

    def attend(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: Optional[torch.Tensor], causal: bool) -> torch.Tensor:
        """``key_mask``: ``(batch, 1, 1, T_k)`` True where attending is allowed."""
        drop = self.dropout if self.training else 0.0
        return self.out(attend_heads(self.split(self.q(x)), k, v, key_mask, causal, drop))


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``(B, T, d)`` → ``(B, heads, T, d / heads)``."""
    b, t, d = x.shape
    return x.view(b, t, heads, d // heads).transpose(1, 2)


def attend_heads(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: Optional[torch.Tensor], causal: bool,
                 dropout: float = 0.0) -> torch.Tensor:
    """Scaled dot-product attention of split heads (Vaswani et al. 2017, Eq. 1), heads merged: ``(B, T, d)``."""
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask, dropout_p=dropout, is_causal=causal and key_mask is None)
    b, h, t, dh = y.shape
    return y.transpose(1, 2).reshape(b, t, h * dh)


class DecoderLayer(nn.Module):
    """Post-LN decoder layer: self-attention (causal or not), cross-attention, ReLU FFN."""

    def __init__(self, dim: int, heads: int, ffn: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = Attention(dim, heads, 0.0)
        self.cross_attn = Attention(dim, heads, 0.0)
        # Sequential for its state-dict keys (ffn.0, ffn.3); forward fuses the ReLU into the first GEMM.
        self.ffn = nn.Sequential(Linear(dim, ffn), nn.ReLU(), nn.Dropout(dropout), Linear(ffn, dim))
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(3)])
        self.drop = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, memory_kv: Tuple[torch.Tensor, torch.Tensor], memory_mask: torch.Tensor,
        self_mask: Optional[torch.Tensor], causal: bool, cache: Optional[Cache] = None,
    ) -> torch.Tensor:
        k, v = self.self_attn.keys_values(x)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
            causal = False
        x = self.norms[0](x + self.drop(self.self_attn.attend(x, k, v, self_mask, causal)))
        x = self.norms[1](x + self.drop(self.cross_attn.attend(x, memory_kv[0], memory_kv[1], memory_mask, False)))
        hidden = self.ffn[2](self.ffn[0](x, relu=True))
        return self.norms[2](x + self.drop(self.ffn[3](hidden)))


class CorrectorEncoder(nn.Module):
    """Token embedding (scaled by sqrt(d)) + sinusoidal positions + post-LN Transformer encoder."""

    def __init__(self, vocab_size: int, dim: int, heads: int, ffn: int, layers: int, dropout: float, pad_id: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
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
        x = self.drop(self.pos(self.embed(tokens)))
        if not (onednn_gemm_active(x) and not self.training):
            return self.layers(x, src_key_padding_mask=pad), pad
        mask = None if not bool(pad.any()) else key_mask(pad)
        for layer in self.layers.layers:
            x = encoder_layer_inference(layer, x, mask)  # type: ignore[arg-type]
        return x, pad


def encoder_layer_inference(layer: nn.TransformerEncoderLayer, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """A post-LN ``nn.TransformerEncoderLayer`` (ReLU) at inference, its GEMMs through :func:`speechtools.nn.cpu_gemm.linear`.

    ``mask``: ``(B, 1, 1, S)`` True where attending is allowed, or ``None`` (no padding).
    The same function as the layer's own forward in eval mode (Vaswani et al. 2017, Sec. 3.1).
    """
    attn = layer.self_attn
    q, k, v = linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
    heads = attn.num_heads
    mixed = attend_heads(split_heads(q, heads), split_heads(k, heads), split_heads(v, heads), mask, False)
    x = layer.norm1(x + linear(mixed, attn.out_proj.weight, attn.out_proj.bias))
    hidden = linear(x, layer.linear1.weight, layer.linear1.bias, relu=True)
    return layer.norm2(x + linear(hidden, layer.linear2.weight, layer.linear2.bias))


def key_mask(pad: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` padding mask → ``(B, 1, 1, T)`` attention mask (True = attend)."""
    return (~pad)[:, None, None, :]


@MODELS.register("transformer_corrector", config=TransformerCorrectorConfig)
class TransformerCorrector(nn.Module):
    """AR Transformer encoder-decoder corrector; decode with :func:`speechtools.nn.beam_search.beam_search`."""

    def __init__(self, conf: TransformerCorrectorConfig) -> None:
        super().__init__()
        if conf.vocab_size <= 0:
            raise ValueError("vocab_size must be set")
        self.conf = conf
        self.encoder = CorrectorEncoder(conf.vocab_size, conf.d_model, conf.n_heads, conf.ffn_dim, conf.encoder_layers, conf.dropout, conf.pad_id)
        self.pos = SinusoidalPositionalEncoding(conf.d_model, scale_input=True)
        self.drop = nn.Dropout(conf.dropout)
        self.layers = nn.ModuleList(DecoderLayer(conf.d_model, conf.n_heads, conf.ffn_dim, conf.dropout) for _ in range(conf.decoder_layers))

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
        return linear(x, self.encoder.embed.weight)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, V)``; ``prev`` is ``<s>`` + target."""
        memory, mask = self.memory(src, src_lengths)
        return self.decode(prev, memory, mask)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy with label smoothing over non-pad positions (target = tokens + ``</s>``)."""
        return F.cross_entropy(logits.transpose(1, 2), target, ignore_index=self.conf.pad_id, label_smoothing=self.conf.label_smoothing)

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
    def reorder(state: Dict[str, object], index: torch.Tensor) -> None:
        """Select beams ``index`` in the state (after a beam-search step)."""
        state["memory"] = [(k.index_select(0, index), v.index_select(0, index)) for k, v in state["memory"]]  # type: ignore[union-attr]
        state["mask"] = state["mask"].index_select(0, index)  # type: ignore[union-attr]
        for cache in state["caches"]:  # type: ignore[union-attr]
            for key in list(cache):
                cache[key] = cache[key].index_select(0, index)
