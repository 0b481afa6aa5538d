"""Joint CTC/attention speech recogniser (Watanabe et al. 2017; ESPnet2's ``ESPnetASRModel``).

Log-mel features (the TTS feature store's, z-normalised) → conv2d ×4 subsampling → Conformer
(Gulati et al. 2020) or Transformer encoder → a CTC head and a Transformer attention decoder.
Training loss ``w·L_ctc + (1 − w)·L_att`` (ESPnet's hybrid loss, ``ctc_weight`` w = 0.3 in its
recipes; the attention loss with label smoothing 0.1), each summed over an utterance's tokens
and averaged over the batch (ESPnet's ``length_normalized_loss: false``).

Augmentation, applied in ``forward`` while training only (as ESPnet keeps SpecAugment inside the
model): MixSpeech (:mod:`speechtools.nn.mixspeech`) mixes pairs of utterances first, then
SpecAugment (:mod:`speechtools.nn.spec_augment`) masks the (mixed) input. Both are switched on
by their ``model_conf`` sections and combine.

Decoding (:meth:`CTCAttentionASR.recognize`): batched greedy CTC, or a beam search per utterance
with CTC prefix scores and the attention decoder (``ctc_weight``) and optional shallow fusion
with a language model (:func:`speechtools.nn.joint_beam_search.joint_beam_search`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Dict, List, Literal, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.task_info import RecognizerInfo
from speechtools.nn.attention import key_mask
from speechtools.nn.conformer import SpeechEncoder
from speechtools.nn.ctc import ctc_greedy_decode
from speechtools.nn.embedding import TiedEmbedding
from speechtools.nn.joint_beam_search import joint_beam_search
from speechtools.nn.masks import lengths_to_padding_mask
from speechtools.nn.mixspeech import MixedBatch, mix_features, mixed_loss
from speechtools.nn.positional import SinusoidalPositionalEncoding
from speechtools.nn.spec_augment import SpecAugment
from speechtools.nn.transformer_layers import Cache, DecoderLayer, reorder_decoder_state


@dataclass
class SpecAugmentConfig:
    """SpecAugment (Park et al. 2019) as ESPnet2's small-data recipes: warp 5, 2 frequency masks of
    width 0–27 bins, 5 time masks of width 0–5 % of the utterance."""

    time_warp: int = 5
    freq_mask_width: Tuple[int, int] = (0, 27)
    num_freq_masks: int = 2
    time_mask_width_ratio: Tuple[float, float] = (0.0, 0.05)
    num_time_masks: int = 5


@dataclass
class MixSpeechConfig:
    """MixSpeech: ``alpha`` of λ ~ Beta(α, α) and the ``proportion`` of each batch's utterances mixed."""

    alpha: float = 0.5
    proportion: float = 1.0

    def __post_init__(self) -> None:
        if self.alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if not 0.0 <= self.proportion <= 1.0:
            raise ValueError(f"proportion must lie in [0, 1], got {self.proportion}")


@dataclass
class CTCAttentionASRConfig:
    """``model_conf`` of ``ctc_attention_asr``; defaults are ESPnet's LibriSpeech-100 Conformer
    (12 encoder blocks, d 256, 4 heads, FFN 1024, kernel 31; 6 decoder blocks, FFN 2048).

    ``subsampling_channels``: channels of the conv2d subsampling (default ``dim``, as ESPnet).
    ``vocab_size``, ``n_mels``, ``blank_id`` and ``sos_eos_id`` come from the task.
    """

    encoder: Literal["conformer", "transformer"] = "conformer"
    dim: int = 256
    heads: int = 4
    encoder_ffn: int = 1024
    encoder_layers: int = 12
    kernel: int = 31
    subsampling_channels: Optional[int] = None
    decoder_layers: int = 6
    decoder_ffn: int = 2048
    dropout: float = 0.1
    ctc_weight: float = 0.3
    label_smoothing: float = 0.1
    spec_augment: Optional[SpecAugmentConfig] = None
    mixspeech: Optional[MixSpeechConfig] = None
    vocab_size: int = 0
    n_mels: int = 80
    blank_id: int = 0
    sos_eos_id: int = -1

    def __post_init__(self) -> None:
        check_ranges(self, positive=("dim", "heads", "encoder_ffn", "encoder_layers", "kernel", "n_mels"),
                     non_negative=("decoder_layers", "decoder_ffn", "vocab_size", "blank_id"),
                     probability=("dropout", "label_smoothing"))
        if not 0.0 <= self.ctc_weight <= 1.0:
            raise ValueError(f"ctc_weight must lie in [0, 1], got {self.ctc_weight}")
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        if self.ctc_weight < 1.0 and self.decoder_layers < 1:
            raise ValueError("decoder_layers must be >= 1 unless ctc_weight is 1 (pure CTC)")


class TokenDecoder(nn.Module):
    """Transformer attention decoder: tied token embedding, sinusoidal positions, post-LN layers
    (:class:`~speechtools.nn.transformer_layers.DecoderLayer`) with a key/value cache for search."""

    def __init__(self, vocab_size: int, dim: int, heads: int, ffn: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.embed = TiedEmbedding(vocab_size, dim)
        nn.init.normal_(self.embed.weight, std=dim**-0.5)
        self.pos = SinusoidalPositionalEncoding(dim, scale_input=True)
        self.drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList(DecoderLayer(dim, heads, ffn, dropout) for _ in range(layers))

    def memory(self, enc: torch.Tensor, enc_lengths: torch.Tensor) -> Tuple[List[Tuple[torch.Tensor, torch.Tensor]], torch.Tensor]:
        """Every layer's cross-attention keys/values of the encoder output, and its attention mask."""
        pad = lengths_to_padding_mask(enc_lengths, enc.size(1))
        return [layer.cross_attn.keys_values(enc) for layer in self.layers], key_mask(pad)

    def forward(self, prev: torch.Tensor, memory: List[Tuple[torch.Tensor, torch.Tensor]], memory_mask: torch.Tensor,
                caches: Optional[List[Cache]] = None, offset: int = 0) -> torch.Tensor:
        """Logits ``(B, L, V)`` of the next tokens after ``prev`` (teacher forcing, or one cached step)."""
        x = self.drop(self.pos(self.embed(prev), offset=offset))
        for k, layer in enumerate(self.layers):
            x = layer(x, memory[k], memory_mask, None, True, None if caches is None else caches[k])
        return self.embed.logits(x)


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32 when it is half precision (AMP), else unchanged (float64 stays float64)."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def with_sos_eos(tokens: torch.Tensor, lengths: torch.Tensor, sos_eos: int, pad: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Teacher-forcing input ``<sos> y`` and target ``y <eos>`` (``pad`` after each target), both ``(B, L + 1)``."""
    batch = tokens.size(0)
    prev = torch.cat([tokens.new_full((batch, 1), sos_eos), tokens], dim=1)
    target = torch.cat([tokens, tokens.new_full((batch, 1), pad)], dim=1)
    target[torch.arange(batch, device=tokens.device), lengths] = sos_eos
    keep = torch.arange(target.size(1), device=tokens.device)[None, :] <= lengths[:, None]
    return prev, target.masked_fill(~keep, pad)


@MODELS.register("ctc_attention_asr", config=CTCAttentionASRConfig)
class CTCAttentionASR(nn.Module):
    """Conformer/Transformer encoder with CTC and attention-decoder heads (hybrid loss, joint decoding)."""

    def __init__(self, conf: CTCAttentionASRConfig) -> None:
        super().__init__()
        if conf.vocab_size < 4 or conf.sos_eos_id < 0:
            raise ValueError("vocab_size and sos_eos_id must be set (from the task's token list)")
        self.conf = conf
        self.encoder = SpeechEncoder(conf.n_mels, conf.dim, conf.heads, conf.encoder_ffn, conf.encoder_layers,
                                     conf.kernel, conf.dropout, block=conf.encoder,
                                     subsampling_channels=conf.subsampling_channels)
        self.ctc_head = nn.Linear(conf.dim, conf.vocab_size)
        self.decoder = (TokenDecoder(conf.vocab_size, conf.dim, conf.heads, conf.decoder_ffn, conf.decoder_layers, conf.dropout)
                        if conf.ctc_weight < 1.0 else None)
        sa = conf.spec_augment
        self.spec_augment = (SpecAugment(sa.time_warp, sa.freq_mask_width, sa.num_freq_masks, sa.time_mask_width_ratio,
                                         sa.num_time_masks) if sa is not None else None)

    @classmethod
    def build_model(cls, conf: CTCAttentionASRConfig, task: RecognizerInfo) -> "CTCAttentionASR":
        """The construction rule: vocabulary, mel bins and special ids from the task."""
        return cls(replace(conf, vocab_size=task.vocab_size, n_mels=task.n_mels, blank_id=task.blank_id,
                           sos_eos_id=task.sos_eos_id))

    def encode(self, mel: torch.Tensor, mel_lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encoder states ``(B, T', d)`` (T' ≈ T / 4) and their lengths."""
        return self.encoder(mel, mel_lengths)

    def ctc_log_probs(self, enc: torch.Tensor) -> torch.Tensor:
        """CTC log-posteriors ``(B, T', V)`` (at least float32)."""
        return F.log_softmax(at_least_float32(self.ctc_head(enc)), dim=-1)

    def forward(self, mel: torch.Tensor, mel_lengths: torch.Tensor, tokens: torch.Tensor, token_lengths: torch.Tensor,
                **unused: Any) -> Dict[str, Any]:
        """Encoder output and teacher-forced decoder logits; MixSpeech and SpecAugment while training."""
        batch = mel.size(0)
        rows = torch.zeros(0, dtype=torch.long, device=mel.device)
        mix = MixedBatch(mel, mel_lengths, rows, rows, torch.ones(batch, device=mel.device), 1.0)
        if self.training and self.conf.mixspeech is not None:
            mix = mix_features(mel, mel_lengths, self.conf.mixspeech.alpha, self.conf.mixspeech.proportion)
        x = mix.features
        if self.training and self.spec_augment is not None:
            x = self.spec_augment(x, mix.lengths)
        enc, enc_lengths = self.encode(x, mix.lengths)
        out: Dict[str, Any] = {"enc": enc, "enc_lengths": enc_lengths, "mix": mix}
        if self.decoder is not None:
            memory, mask = self.decoder.memory(enc, enc_lengths)
            prev, target = with_sos_eos(tokens, token_lengths, self.conf.sos_eos_id, -100)
            out["att_logits"] = self.decoder(prev, memory, mask)
            out["att_target"] = target
            if mix.rows.numel():
                p_prev, p_target = with_sos_eos(tokens[mix.partners], token_lengths[mix.partners], self.conf.sos_eos_id, -100)
                p_memory = [(k[mix.rows], v[mix.rows]) for k, v in memory]
                out["partner_att_logits"] = self.decoder(p_prev, p_memory, mask[mix.rows])
                out["partner_att_target"] = p_target
        return out

    def _ctc(self, log_probs: torch.Tensor, lengths: torch.Tensor, tokens: torch.Tensor, token_lengths: torch.Tensor) -> torch.Tensor:
        """Per-utterance CTC loss (Graves et al. 2006, Eq. 14), ``(B,)``; impossible alignments give 0 (``zero_infinity``)."""
        return F.ctc_loss(log_probs.transpose(0, 1), tokens, lengths, token_lengths, blank=self.conf.blank_id,
                          reduction="none", zero_infinity=True)

    def _attention(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-utterance label-smoothed cross-entropy summed over tokens, ``(B,)``."""
        ce = F.cross_entropy(at_least_float32(logits).transpose(1, 2), target, ignore_index=-100, reduction="none",
                             label_smoothing=self.conf.label_smoothing)
        return ce.sum(dim=1)

    def loss(self, out: Dict[str, Any], tokens: torch.Tensor, token_lengths: torch.Tensor, **unused: Any) -> Dict[str, torch.Tensor]:
        """``w·L_ctc + (1 − w)·L_att``, each MixSpeech-weighted (:func:`~speechtools.nn.mixspeech.mixed_loss`); also
        the attention decoder's token accuracy ``acc`` on the utterances' own targets."""
        mix: MixedBatch = out["mix"]
        w = self.conf.ctc_weight
        terms: Dict[str, torch.Tensor] = {}
        log_probs = self.ctc_log_probs(out["enc"])
        ctc_own = self._ctc(log_probs, out["enc_lengths"], tokens, token_lengths)
        ctc_partner = (self._ctc(log_probs[mix.rows], out["enc_lengths"][mix.rows], tokens[mix.partners], token_lengths[mix.partners])
                       if mix.rows.numel() else ctc_own.new_zeros(0))
        ctc = mixed_loss(ctc_own, ctc_partner, mix)
        terms["ctc"] = ctc
        total = w * ctc
        if self.decoder is not None:
            att_own = self._attention(out["att_logits"], out["att_target"])
            att_partner = (self._attention(out["partner_att_logits"], out["partner_att_target"])
                           if mix.rows.numel() else att_own.new_zeros(0))
            att = mixed_loss(att_own, att_partner, mix)
            valid = out["att_target"] != -100
            correct = (out["att_logits"].argmax(-1) == out["att_target"]) & valid
            terms["att"] = att
            terms["acc"] = correct.sum().float() / valid.sum().clamp(min=1)
            total = total + (1.0 - w) * att
        return {"loss": total, **terms}

    def init_state(self, enc: torch.Tensor, enc_lengths: torch.Tensor) -> Dict[str, Any]:
        """Beam-search state of the attention decoder: cross-attention memory and empty caches."""
        assert self.decoder is not None
        memory, mask = self.decoder.memory(enc, enc_lengths)
        return {"memory": memory, "mask": mask, "caches": [dict() for _ in self.decoder.layers], "step": 0}

    def step(self, tokens: torch.Tensor, state: Dict[str, Any]) -> torch.Tensor:
        """Log-probabilities ``(N, V)`` of the next token after ``tokens`` ``(N,)``; extends the cache."""
        assert self.decoder is not None
        step = int(state["step"])
        logits = self.decoder(tokens[:, None], state["memory"], state["mask"], state["caches"], offset=step)
        state["step"] = step + 1
        return F.log_softmax(at_least_float32(logits[:, -1]), dim=-1)

    @staticmethod
    def reorder(state: Dict[str, Any], index: torch.Tensor) -> None:
        """Keep hypotheses ``index`` of the state (after a search step)."""
        reorder_decoder_state(state, index)

    def recognize(self, mel: torch.Tensor, mel_lengths: torch.Tensor, beam_size: int = 1, ctc_weight: Optional[float] = None,
                  lm: Optional[Any] = None, lm_weight: float = 0.0, length_bonus: float = 0.0,
                  max_len: Optional[int] = None, end_detect: bool = True) -> List[List[int]]:
        """Token ids per utterance (no blank/``<sos/eos>``).

        ``beam_size`` 1 with ``ctc_weight`` 1 (or no decoder): batched greedy CTC (best path).
        Otherwise a joint CTC/attention beam search per utterance with decoding weight
        ``ctc_weight`` (default: the training weight) and an optional language model;
        ``max_len`` (most output tokens, default the encoder length) and ``end_detect``
        (ESPnet's end detection) go to the search (``bench/asr_speed.py`` bounds the length and
        turns end detection off so that untrained weights decode a fixed number of steps).
        """
        enc, enc_lengths = self.encode(mel, mel_lengths)
        log_probs = self.ctc_log_probs(enc)
        weight = self.conf.ctc_weight if ctc_weight is None else ctc_weight
        if self.decoder is None:
            weight = 1.0
        if beam_size <= 1 and weight >= 1.0 and lm is None:
            return ctc_greedy_decode(log_probs, enc_lengths, blank=self.conf.blank_id)
        results: List[List[int]] = []
        for b in range(enc.size(0)):
            n = int(enc_lengths[b])
            state = self.init_state(enc[b: b + 1, :n], enc_lengths[b: b + 1]) if weight < 1.0 else None
            hyps = joint_beam_search(self if weight < 1.0 else None, state, log_probs[b, :n], sos=self.conf.sos_eos_id,
                                     eos=self.conf.sos_eos_id, blank=self.conf.blank_id, beam_size=max(beam_size, 1),
                                     ctc_weight=weight, lm=lm, lm_weight=lm_weight, length_bonus=length_bonus,
                                     max_len=max_len, end_detect=end_detect)
            results.append(hyps[0].tokens if hyps else [])
        return results
