"""SongMASS (Sheng et al., *SongMASS: Automatic Song Writing with Pre-training and Alignment
Constraint*, AAAI 2021, arXiv 2012.05168): lyric-to-melody and melody-to-lyric generation.

One Transformer encoder and one decoder per modality (lyric, melody), as the reference's
``XTransformerModel``: each modality's embedding is shared by its encoder input, decoder input and
output projection (:class:`speechtools.models.transformer_corrector.CorrectorEncoder`, post-LN,
sinusoidal positions); the decoder layers are :class:`speechtools.nn.transformer_layers.DecoderLayer`
whose cross-attention also returns its weights. Nothing is shared across modalities.

A batch holds *parts* of four kinds, each with its source/target modality: ``lyric_mass`` and
``melody_mass`` (MASS pre-training, :mod:`speechtools.music.mass_masking`), ``lyric_to_melody`` and
``melody_to_lyric`` (supervised). Losses:

* label-smoothed cross-entropy of every part's target tokens;
* **sentence-level constraint** (Sec. 3.2): a target token attends only to source tokens of its own
  sentence (the memory mask; every part);
* **token-level alignment** (Sec. 3.2, the reference's ``label_smoothed_cross_entropy_with_align``):
  for supervised parts, ``sum_s (a[t, s] - u[t, s])^2 / |sentence(t)|`` over the source tokens ``s`` of
  target token ``t``'s sentence, where ``a`` is the head-averaged cross-attention and ``u`` is uniform
  over the source tokens of ``t``'s word, averaged over decoder layers, summed over target tokens.

The total is ``(sum CE + align_weight * sum align) / target tokens``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.task_info import SongInfo
from speechtools.models.transformer_corrector import CorrectorEncoder
from speechtools.music.song_vocab import EOS_ID, PAD_ID, SEP_ID
from speechtools.nn.attention import KV, key_mask
from speechtools.nn.positional import sinusoidal_table
from speechtools.nn.transformer_layers import Cache, DecoderLayer, reorder_decoder_state

MODALITIES = ("lyric", "melody")
KINDS: Dict[str, Tuple[str, str]] = {
    "lyric_mass": ("lyric", "lyric"),
    "melody_mass": ("melody", "melody"),
    "lyric_to_melody": ("lyric", "melody"),
    "melody_to_lyric": ("melody", "lyric"),
}
"""Part kind → (source modality, target modality)."""


@dataclass
class SongMASSConfig:
    """``model_conf`` (defaults = the paper: 6+6 layers, d 512, FFN 2048, 8 heads, dropout 0.1)."""

    d_model: int = 512
    n_heads: int = 8
    ffn_dim: int = 2048
    encoder_layers: int = 6
    decoder_layers: int = 6
    dropout: float = 0.1
    label_smoothing: float = 0.1
    align_weight: float = 1.0
    sentence_constraint: bool = True
    max_positions: int = 1024

    def __post_init__(self) -> None:
        check_ranges(self, positive=("d_model", "n_heads", "ffn_dim", "encoder_layers", "decoder_layers", "max_positions"),
                     non_negative=("align_weight",), probability=("dropout", "label_smoothing"))
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")


class AttendingDecoderLayer(DecoderLayer):
    """:class:`DecoderLayer` whose cross-attention also returns its head-averaged weights ``(B, T, S)``."""

    def forward_with_weights(self, x: torch.Tensor, memory_kv: KV, memory_mask: torch.Tensor,
                             cache: Optional[Cache] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Causal self-attention (cached when ``cache`` is given), cross-attention with weights, FFN."""
        k, v = self.self_attn.keys_values(x)
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        x = self.norms[0](x + self.drop(self.self_attn.attend(x, k, v, None, True)))
        y, weights = self.cross_attn.attend_with_weights(x, memory_kv[0], memory_kv[1], memory_mask)
        x = self.norms[1](x + self.drop(y))
        return self.norms[2](x + self.drop(self.ffn(x))), weights.mean(dim=1)


def sentence_mask(source_pad: torch.Tensor, source_sentences: Optional[torch.Tensor], target_sentences: Optional[torch.Tensor]) -> torch.Tensor:
    """Memory mask ``(B, 1, T or 1, S)``, True = may attend: non-pad source tokens of the target token's sentence.

    A target row whose sentence has no source token (padding) falls back to every non-pad source token.
    """
    keys = key_mask(source_pad)
    if source_sentences is None or target_sentences is None:
        return keys
    same = (target_sentences[:, :, None] == source_sentences[:, None, :]) & ~source_pad[:, None, :]
    empty = ~same.any(dim=-1, keepdim=True)
    return torch.where(empty, keys[:, 0], same)[:, None]


@MODELS.register("songmass", config=SongMASSConfig)
class SongMASS(nn.Module):
    """Per-modality encoders and decoders; ``forward(parts=...)`` for training, :meth:`init_state`/:meth:`step` for search."""

    def __init__(self, conf: SongMASSConfig, lyric_vocab: int, melody_vocab: int) -> None:
        super().__init__()
        self.conf = conf
        sizes = {"lyric": lyric_vocab, "melody": melody_vocab}
        c = conf
        self.encoders = nn.ModuleDict({m: CorrectorEncoder(sizes[m], c.d_model, c.n_heads, c.ffn_dim, c.encoder_layers, c.dropout, PAD_ID)
                                       for m in MODALITIES})
        self.decoders = nn.ModuleDict({m: nn.ModuleList(AttendingDecoderLayer(c.d_model, c.n_heads, c.ffn_dim, c.dropout)
                                                        for _ in range(c.decoder_layers)) for m in MODALITIES})
        self.drop = nn.Dropout(c.dropout)
        self.register_buffer("positions", sinusoidal_table(c.max_positions, c.d_model), persistent=False)
        self.direction = ("lyric", "melody")
        """(source, target) modality of :meth:`init_state`/:meth:`step` (set by the generator)."""

    @classmethod
    def build_model(cls, conf: SongMASSConfig, task: SongInfo) -> "SongMASS":
        """The construction rule: both vocabulary sizes from the task."""
        return cls(conf, task.lyric_vocab_size, task.melody_vocab_size)

    def memory(self, modality: str, target: str, src: torch.Tensor, src_lengths: torch.Tensor) -> Tuple[List[KV], torch.Tensor]:
        """Encode ``src`` with ``modality``'s encoder; the ``target`` decoder's cross-attention keys/values and the padding."""
        enc, pad = self.encoders[modality](src, src_lengths)
        return [layer.cross_attn.keys_values(enc) for layer in self.decoders[target]], pad

    def decode(self, target: str, prev: torch.Tensor, positions: torch.Tensor, memory: List[KV], mask: torch.Tensor,
               caches: Optional[List[Cache]] = None) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """Logits ``(B, T, V)`` and each layer's cross-attention ``(B, T, S)`` for decoder inputs ``prev`` at ``positions``."""
        encoder = self.encoders[target]
        x = encoder.embed(prev) * encoder.pos.input_scale + self.positions[positions.clamp(max=self.conf.max_positions - 1)]
        x = self.drop(x)
        weights = []
        for k, layer in enumerate(self.decoders[target]):
            x, w = layer.forward_with_weights(x, memory[k], mask, None if caches is None else caches[k])
            weights.append(w)
        return encoder.logits(x), weights

    def forward(self, parts: Dict[str, Dict[str, torch.Tensor]], **unused: Any) -> Dict[str, Tuple[torch.Tensor, List[torch.Tensor]]]:
        """Teacher-forced ``(logits, cross-attention per layer)`` of every part of a batch."""
        out = {}
        for kind, part in parts.items():
            source, target = KINDS[kind]
            memory, pad = self.memory(source, target, part["source"], part["source_lengths"])
            sentences = self.conf.sentence_constraint
            mask = sentence_mask(pad, part["source_sentences"] if sentences else None, part["target_sentences"] if sentences else None)
            out[kind] = self.decode(target, part["prev"], part["target_positions"], memory, mask)
        return out

    def loss(self, out: Dict[str, Tuple[torch.Tensor, List[torch.Tensor]]], parts: Dict[str, Dict[str, torch.Tensor]],
             **unused: Any) -> Dict[str, torch.Tensor]:
        """``loss`` (per target token), ``ce``, ``align`` (per supervised target token) and ``<kind>_nll`` per part."""
        ce_sum = align_sum = tokens = aligned = None
        terms: Dict[str, torch.Tensor] = {}
        for kind, (logits, weights) in out.items():
            part = parts[kind]
            target = part["target"]
            valid = target.ne(PAD_ID)
            lprobs = F.log_softmax(logits.float(), dim=-1)
            nll = -lprobs.gather(-1, target.clamp(min=0)[..., None])[..., 0]
            smooth = -lprobs.mean(dim=-1)
            eps = self.conf.label_smoothing
            ce = (((1 - eps) * nll + eps * smooth) * valid).sum()
            n = valid.sum()
            terms[f"{kind}_nll"] = (nll * valid).sum() / n.clamp(min=1)
            ce_sum = ce if ce_sum is None else ce_sum + ce
            tokens = n if tokens is None else tokens + n
            if "target_words" in part and self.conf.align_weight > 0:
                a = alignment_loss(weights, part["source_words"], part["target_words"], part["source_sentences"], part["target_sentences"], valid)
                align_sum = a if align_sum is None else align_sum + a
                aligned = n if aligned is None else aligned + n
        assert ce_sum is not None and tokens is not None, "a batch without parts"
        total = ce_sum + (self.conf.align_weight * align_sum if align_sum is not None else 0.0)
        terms["ce"] = ce_sum / tokens.clamp(min=1)
        if align_sum is not None and aligned is not None:
            terms["align"] = align_sum / aligned.clamp(min=1)
        return {"loss": total / tokens.clamp(min=1), **terms}

    def init_state(self, src: torch.Tensor, src_lengths: torch.Tensor, src_sentences: Optional[torch.Tensor] = None,
                   max_lengths: Optional[torch.Tensor] = None) -> Dict[str, Any]:
        """Search state for :attr:`direction`: memory, padding, source sentences, caches, [sep] counts.

        With ``max_lengths`` (the search's), ``[sep]`` is forced when only as many steps are left as
        sentences are missing, so every hypothesis can end with the source's sentence count.
        """
        source, target = self.direction
        memory, pad = self.memory(source, target, src, src_lengths)
        if src_sentences is None:
            src_sentences = torch.zeros_like(src)
        n_sent = src.eq(SEP_ID).sum(dim=1)
        return {"memory": memory, "mask": pad, "sentences": src_sentences, "n_sent": n_sent, "seps": torch.zeros_like(n_sent),
                "caches": [dict() for _ in self.decoders[target]], "step": 0,
                "limit": torch.full_like(n_sent, 1 << 30) if max_lengths is None else max_lengths.to(n_sent)}

    def step(self, tokens: torch.Tensor, state: Dict[str, Any]) -> torch.Tensor:
        """Log-probabilities of the next token with the sentence-count rule: ``</s>`` only after as many
        ``[sep]`` as the source has sentences, and then nothing else."""
        step = int(state["step"])
        if step > 0:
            state["seps"] = state["seps"] + tokens.eq(SEP_ID).long()
        seps = state["seps"]
        current = seps  # after the last [sep]: the sentence of the source's </s>
        mask = sentence_mask(state["mask"], state["sentences"] if self.conf.sentence_constraint else None,
                             current[:, None] if self.conf.sentence_constraint else None)
        positions = torch.full_like(tokens[:, None], step)
        logits, _ = self.decode(self.direction[1], tokens[:, None], positions, state["memory"], mask, state["caches"])
        state["step"] = step + 1
        logp = F.log_softmax(logits[:, -1].float(), dim=-1)
        done = seps >= state["n_sent"]
        logp[:, EOS_ID] = torch.where(done, logp[:, EOS_ID], torch.full_like(logp[:, EOS_ID], float("-inf")))
        logp[:, PAD_ID] = float("-inf")
        vocab = torch.arange(logp.size(1), device=logp.device)
        late = (state["limit"] - step <= state["n_sent"] - seps) & ~done
        logp = torch.where(late[:, None], torch.where(vocab == SEP_ID, 0.0, float("-inf")), logp)
        return torch.where(done[:, None], torch.where(vocab == EOS_ID, 0.0, float("-inf")), logp)

    @staticmethod
    def reorder(state: Dict[str, Any], index: torch.Tensor) -> None:
        """Keep hypotheses ``index`` (after a search step)."""
        reorder_decoder_state(state, index)
        for key in ("sentences", "n_sent", "seps", "limit"):
            state[key] = state[key].index_select(0, index)


def alignment_loss(weights: List[torch.Tensor], source_words: torch.Tensor, target_words: torch.Tensor,
                   source_sentences: torch.Tensor, target_sentences: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Sum over target tokens of the token-level alignment loss (module docstring), averaged over layers."""
    word = (target_words[:, :, None] == source_words[:, None, :]).float()
    uniform = word / word.sum(-1, keepdim=True).clamp(min=1)
    sentence = (target_sentences[:, :, None] == source_sentences[:, None, :]).float()
    weight = sentence / sentence.sum(-1, keepdim=True).clamp(min=1)
    per_layer = [((a.float() - uniform).pow(2) * weight).sum(-1) for a in weights]
    return (torch.stack(per_layer).mean(0) * valid).sum()
