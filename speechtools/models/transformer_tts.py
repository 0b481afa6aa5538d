"""Autoregressive Transformer TTS (Li et al., AAAI 2019, arXiv 1809.08895): FastSpeech's teacher.

Encoder: token embedding → encoder pre-net (3 × [conv k5 → BatchNorm → ReLU → dropout], then a
linear projection; Sec. 3.1) → scaled positional encoding ``x + α·PE`` with a learned α
(Sec. 3.2) → pre-LN Transformer encoder layers. Decoder: the previous mel frame → decoder pre-net
(2 × [linear 256 → ReLU → dropout 0.5], then a linear projection; Sec. 3.1) → scaled positional
encoding → pre-LN decoder layers with causal self-attention and encoder-decoder attention →
mel linear + stop-token linear (Sec. 3.5) → Tacotron 2 post-net (Sec. 3.5).

Loss (ESPnet's ``TransformerLoss``): L1 + MSE on the mel before and after the post-net, binary
cross-entropy on the stop token (positive weight 5), all masked; optionally the guided
attention loss of Tachibana et al. (2017, arXiv 1710.08969, Sec. 4.1) on the first heads of the
last decoder layers, which makes the encoder-decoder attention diagonal early.

Teacher-forced decoding (:meth:`TransformerTTS.forward` with ``need_attention=True``) records the
encoder-decoder attention of every layer and head, ``(batch, layers, heads, frames, tokens)``,
from which :mod:`speechtools.align.attention_durations` extracts FastSpeech's durations.
:meth:`TransformerTTS.generate` decodes autoregressively with cached keys/values, stopping
when the stop probability exceeds a threshold, at a maximum length, or at forced lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from speechtools.align.attention_durations import attention_durations
from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.task_info import TextToMelInfo
from speechtools.nn.attention import KV, MultiHeadAttention, key_mask
from speechtools.nn.conv import Conv1dT, masked_fill_padding
from speechtools.nn.masks import lengths_to_mask
from speechtools.nn.positional import SinusoidalPositionalEncoding
from speechtools.nn.postnet import Postnet


@dataclass
class TransformerTTSConfig:
    """``model_conf`` of ``model: transformer_tts``.

    Defaults: the teacher of FastSpeech (6 + 6 layers, hidden 384, 2 heads, FFN 1536), with
    Transformer TTS's pre-nets (encoder 3 × conv 512 k5, decoder 2 × 256) and post-net (5 × 256).

    Attributes:
        prenet_dropout_at_inference: keep the decoder pre-net dropout on at inference
            (Tacotron 2 Sec. 2.2 / ESPnet); off makes decoding deterministic.
        reduction_factor: frames predicted per decoder step (Tacotron, Wang et al. 2017,
            Sec. 3.3; ESPnet's ``reduction_factor``): step j reads the last frame of group
            j − 1 and emits frames j·r .. j·r + r − 1 with one stop logit, so the decoder runs
            ⌈frames / r⌉ steps; 1 is Transformer TTS as published.
        guided_attention: add the guided attention loss on ``guided_heads`` heads of the last
            ``guided_layers`` decoder layers, width ``guided_sigma``, weight ``guided_weight``.
    """

    dim: int = 384
    heads: int = 2
    encoder_layers: int = 6
    decoder_layers: int = 6
    ffn_hidden: int = 1536
    dropout: float = 0.1
    attention_dropout: float = 0.1
    encoder_prenet_layers: int = 3
    encoder_prenet_channels: int = 512
    encoder_prenet_kernel: int = 5
    decoder_prenet_layers: int = 2
    decoder_prenet_units: int = 256
    prenet_dropout: float = 0.5
    prenet_dropout_at_inference: bool = True
    reduction_factor: int = 1
    postnet_layers: int = 5
    postnet_channels: int = 256
    stop_pos_weight: float = 5.0
    guided_attention: bool = False
    guided_sigma: float = 0.4
    guided_weight: float = 10.0
    guided_layers: int = 2
    guided_heads: int = 2

    def __post_init__(self) -> None:
        check_ranges(self, positive=("dim", "heads", "encoder_layers", "decoder_layers", "ffn_hidden", "reduction_factor", "encoder_prenet_layers",
                                     "encoder_prenet_channels", "encoder_prenet_kernel", "decoder_prenet_layers",
                                     "decoder_prenet_units", "postnet_channels"),
                     non_negative=("postnet_layers", "guided_sigma", "guided_weight", "stop_pos_weight", "guided_layers", "guided_heads"),
                     probability=("dropout", "attention_dropout", "prenet_dropout"))
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        if self.guided_layers > self.decoder_layers or self.guided_heads > self.heads:
            raise ValueError("guided_layers/guided_heads exceed decoder_layers/heads")


class _FFN(nn.Module):
    """Position-wise feed-forward network: linear → ReLU → dropout → linear (Vaswani et al. 2017, Eq. 2)."""

    def __init__(self, dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(torch.relu(self.fc1(x))))


class _EncoderLayer(nn.Module):
    """Pre-LN Transformer encoder layer: self-attention and position-wise FFN, each with a residual."""

    def __init__(self, conf: TransformerTTSConfig) -> None:
        super().__init__()
        self.attention = MultiHeadAttention(conf.dim, conf.heads, conf.attention_dropout)
        self.ffn = _FFN(conf.dim, conf.ffn_hidden, conf.dropout)
        self.norm1 = nn.LayerNorm(conf.dim)
        self.norm2 = nn.LayerNorm(conf.dim)
        self.dropout = nn.Dropout(conf.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        a = self.attention.attend(h, *self.attention.keys_values(h), key_mask(~mask))
        x = x + self.dropout(a)
        x = x + self.dropout(self.ffn(self.norm2(x)))
        return masked_fill_padding(x, mask)


class _DecoderLayer(nn.Module):
    """Pre-LN decoder layer: causal self-attention, encoder-decoder attention, FFN."""

    def __init__(self, conf: TransformerTTSConfig) -> None:
        super().__init__()
        self.self_attention = MultiHeadAttention(conf.dim, conf.heads, conf.attention_dropout)
        self.cross_attention = MultiHeadAttention(conf.dim, conf.heads, conf.attention_dropout)
        self.ffn = _FFN(conf.dim, conf.ffn_hidden, conf.dropout)
        self.norm1 = nn.LayerNorm(conf.dim)
        self.norm2 = nn.LayerNorm(conf.dim)
        self.norm3 = nn.LayerNorm(conf.dim)
        self.dropout = nn.Dropout(conf.dropout)

    def forward(
        self, x: torch.Tensor, memory_kv: KV, memory_mask: torch.Tensor, cache: Optional[KV] = None,
        step: int = 0, need_weights: bool = False,
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Decode ``x`` ``(batch, S, dim)`` against the encoder memory; ``memory_mask`` is
        ``key_mask(token padding)`` (True = attend). Incremental decoding: ``cache`` holds preallocated
        ``(batch, heads, max_steps, dim/heads)`` keys/values; this call writes positions
        ``step .. step+S-1`` and attends to everything up to them."""
        h = self.norm1(x)
        k, v = self.self_attention.keys_values(h)
        if cache is not None:
            end = step + x.size(1)
            cache[0][:, :, step:end] = k
            cache[1][:, :, step:end] = v
            k, v = cache[0][:, :, :end], cache[1][:, :, :end]
        x = x + self.dropout(self.self_attention.attend(h, k, v, causal=True))
        weights = None
        if need_weights:
            c, weights = self.cross_attention.attend_with_weights(self.norm2(x), *memory_kv, memory_mask)
        else:
            c = self.cross_attention.attend(self.norm2(x), *memory_kv, memory_mask)
        x = x + self.dropout(c)
        x = x + self.dropout(self.ffn(self.norm3(x)))
        return x, weights


class _EncoderPrenet(nn.Module):
    """Token embedding → conv layers (BatchNorm, ReLU, dropout) → linear to the model width."""

    def __init__(self, vocab_size: int, conf: TransformerTTSConfig) -> None:
        super().__init__()
        ch = conf.encoder_prenet_channels if conf.encoder_prenet_layers else conf.dim
        self.embedding = nn.Embedding(vocab_size, ch, padding_idx=0)
        self.convs = nn.ModuleList(Conv1dT(ch, ch, conf.encoder_prenet_kernel, bias=False) for _ in range(conf.encoder_prenet_layers))
        self.norms = nn.ModuleList(nn.BatchNorm1d(ch) for _ in range(conf.encoder_prenet_layers))
        self.dropout = nn.Dropout(conf.prenet_dropout)
        self.proj = nn.Linear(ch, conf.dim)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = masked_fill_padding(self.embedding(tokens), mask)
        for conv, norm in zip(self.convs, self.norms):
            x = self.dropout(torch.relu(norm(conv(x, mask).transpose(1, 2)).transpose(1, 2)))
        return masked_fill_padding(self.proj(x), mask)


class _DecoderPrenet(nn.Module):
    """Previous mel frame → linear/ReLU/dropout layers → linear to the model width (Tacotron 2 pre-net)."""

    def __init__(self, n_mels: int, conf: TransformerTTSConfig) -> None:
        super().__init__()
        sizes = [n_mels] + [conf.decoder_prenet_units] * conf.decoder_prenet_layers
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.p = conf.prenet_dropout
        self.at_inference = conf.prenet_dropout_at_inference
        self.proj = nn.Linear(sizes[-1], conf.dim)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        active = self.training or self.at_inference
        for layer in self.layers:
            mel = F.dropout(torch.relu(layer(mel)), self.p, active)
        return self.proj(mel)


def guided_attention_weights(token_lengths: torch.Tensor, frame_lengths: torch.Tensor, sigma: float) -> torch.Tensor:
    """W[s, t] = 1 − exp(−(t/T − s/S)² / (2σ²)), zero outside the valid area; ``(batch, S, T)``.

    The penalty of the guided attention loss (Tachibana et al. 2017, arXiv 1710.08969, Eq. 5).
    """
    s_max, t_max = int(frame_lengths.max()), int(token_lengths.max())
    s = torch.arange(s_max, device=frame_lengths.device)[None, :, None] / frame_lengths[:, None, None].float()
    t = torch.arange(t_max, device=frame_lengths.device)[None, None, :] / token_lengths[:, None, None].float()
    w = 1.0 - torch.exp(-((t - s) ** 2) / (2.0 * sigma ** 2))
    valid = lengths_to_mask(frame_lengths, s_max)[:, :, None] & lengths_to_mask(token_lengths, t_max)[:, None, :]
    return w * valid


@MODELS.register("transformer_tts", config=TransformerTTSConfig)
class TransformerTTS(nn.Module):
    """Encoder-decoder Transformer TTS with stop token, post-net and attention recording."""

    def __init__(self, conf: TransformerTTSConfig, vocab_size: int, n_mels: int = 80, n_speakers: int = 1) -> None:
        super().__init__()
        self.conf = conf
        self.n_mels = n_mels
        self.encoder_prenet = _EncoderPrenet(vocab_size, conf)
        self.encoder_positions = SinusoidalPositionalEncoding(conf.dim, learnable_alpha=True)
        self.encoder_layers = nn.ModuleList(_EncoderLayer(conf) for _ in range(conf.encoder_layers))
        self.encoder_norm = nn.LayerNorm(conf.dim)
        self.speaker_embedding = nn.Embedding(n_speakers, conf.dim) if n_speakers > 1 else None
        self.decoder_prenet = _DecoderPrenet(n_mels, conf)
        self.decoder_positions = SinusoidalPositionalEncoding(conf.dim, learnable_alpha=True)
        self.decoder_layers = nn.ModuleList(_DecoderLayer(conf) for _ in range(conf.decoder_layers))
        self.decoder_norm = nn.LayerNorm(conf.dim)
        self.mel_head = nn.Linear(conf.dim, n_mels * conf.reduction_factor)
        self.stop_head = nn.Linear(conf.dim, 1)
        self.postnet = Postnet(n_mels, conf.postnet_channels, layers=conf.postnet_layers) if conf.postnet_layers else None
        self.dropout = nn.Dropout(conf.dropout)

    @classmethod
    def build_model(cls, conf: TransformerTTSConfig, task: TextToMelInfo) -> "TransformerTTS":
        """The construction rule: vocabulary, mel bins and speakers from the task."""
        return cls(conf, vocab_size=task.vocab_size, n_mels=task.n_mels, n_speakers=task.n_speakers)

    def encode(self, tokens: torch.Tensor, token_lengths: torch.Tensor, speakers: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encoder output ``(batch, T, dim)`` and token mask."""
        mask = lengths_to_mask(token_lengths.to(tokens.device), tokens.size(1))
        x = self.dropout(self.encoder_positions(self.encoder_prenet(tokens, mask)))
        x = masked_fill_padding(x, mask)
        for layer in self.encoder_layers:
            x = layer(x, mask)
        x = masked_fill_padding(self.encoder_norm(x), mask)
        if self.speaker_embedding is not None:
            if speakers is None:
                speakers = torch.zeros(tokens.size(0), dtype=torch.long, device=tokens.device)
            x = masked_fill_padding(x + self.speaker_embedding(speakers).unsqueeze(1), mask)
        return x, mask

    def _memory(self, memory: torch.Tensor) -> List[KV]:
        return [layer.cross_attention.keys_values(memory) for layer in self.decoder_layers]

    def _outputs(self, hidden: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Frames ``(batch, steps · r, n_mels)`` and stop logits ``(batch, steps)`` of decoder states ``(batch, steps, dim)``."""
        hidden = self.decoder_norm(hidden)
        mel = self.mel_head(hidden)
        return mel.reshape(mel.size(0), -1, self.n_mels), self.stop_head(hidden).squeeze(-1)

    def _frame_attention(self, attention: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Per-step attention ``(batch, layers, heads, steps, T)`` repeated over each step's r frames and masked."""
        r = self.conf.reduction_factor
        if r > 1:
            attention = attention.repeat_interleave(r, dim=3)[:, :, :, : frame_mask.size(1)]
        return attention * frame_mask[:, None, None, :, None]

    def forward(
        self, tokens: torch.Tensor, token_lengths: torch.Tensor, mel: torch.Tensor, mel_lengths: torch.Tensor,
        speakers: Optional[torch.Tensor] = None, need_attention: bool = False, **unused: Any,
    ) -> Dict[str, torch.Tensor]:
        """Teacher-forced decoding: frame s is predicted from the true frames before it.

        Takes a task's batch as ``model(**batch)``; keys it does not use land in ``unused``.

        With reduction factor r, decoder step j reads frame j·r − 1 (zeros for j = 0).

        Returns ``mel``, ``mel_post``, ``stop_logits`` ``(batch, ⌈S/r⌉)``, ``frame_mask``,
        ``step_lengths``, ``token_mask`` and, with ``need_attention`` (or the guided loss while
        training), ``attention`` ``(batch, layers, heads, S, T)`` of the encoder-decoder attention
        (each step's row repeated over its r frames) and ``step_attention`` (one row per step).
        """
        memory, token_mask = self.encode(tokens, token_lengths, speakers)
        frames = mel.size(1)
        frame_mask = lengths_to_mask(mel_lengths.to(mel.device), frames)
        r = self.conf.reduction_factor
        steps = -(-frames // r)
        last_of_group = F.pad(mel, (0, 0, 0, steps * r - frames))[:, r - 1 :: r]
        previous = F.pad(last_of_group[:, :-1], (0, 0, 1, 0))
        x = self.dropout(self.decoder_positions(self.decoder_prenet(previous)))
        record = need_attention or (self.training and self.conf.guided_attention)
        memory_mask = key_mask(~token_mask)
        attention = []
        for layer, kv in zip(self.decoder_layers, self._memory(memory)):
            x, weights = layer(x, kv, memory_mask, need_weights=record)
            if record:
                attention.append(weights)
        mel_out, stop = self._outputs(x)
        mel_out = masked_fill_padding(mel_out[:, :frames], frame_mask)
        out = {
            "mel": mel_out,
            "mel_post": self.postnet(mel_out, frame_mask) if self.postnet is not None else mel_out,
            "stop_logits": stop,
            "frame_mask": frame_mask,
            "step_lengths": (mel_lengths.to(mel.device) + r - 1) // r,
            "token_mask": token_mask,
            "frame_lengths": mel_lengths,
        }
        if record:
            out["step_attention"] = torch.stack(attention, dim=1)
            out["attention"] = self._frame_attention(out["step_attention"], frame_mask)
        return out

    def loss(self, out: Dict[str, torch.Tensor], mel: torch.Tensor, mel_lengths: torch.Tensor, token_lengths: torch.Tensor,
             **unused: Any) -> Dict[str, torch.Tensor]:
        """L1 + MSE mel (before/after post-net), weighted BCE stop token, optional guided attention.

        The stop target is the step holding the last frame; the guided attention weights
        (Tachibana et al. 2017, Eq. 5) are laid over the decoder steps.
        """
        mask = out["frame_mask"].unsqueeze(-1).to(mel.dtype)
        denom = mask.sum().clamp(min=1) * mel.size(-1)
        terms: Dict[str, torch.Tensor] = {}
        for key, name in (("mel", "mel"), ("mel_post", "postnet")):
            diff = (out[key] - mel) * mask
            terms[f"{name}_l1"] = diff.abs().sum() / denom
            terms[f"{name}_l2"] = (diff ** 2).sum() / denom
        steps = out["stop_logits"].size(1)
        step_lengths = out["step_lengths"]
        step_mask = lengths_to_mask(step_lengths, steps).to(mel.dtype)
        target = F.one_hot((step_lengths - 1).clamp(min=0), steps).to(mel.dtype)
        bce = F.binary_cross_entropy_with_logits(
            out["stop_logits"], target, pos_weight=torch.tensor(self.conf.stop_pos_weight, device=mel.device), reduction="none"
        )
        terms["stop_loss"] = (bce * step_mask).sum() / step_mask.sum().clamp(min=1)
        if self.conf.guided_attention and "step_attention" in out:
            att = out["step_attention"][:, -self.conf.guided_layers:, : self.conf.guided_heads]
            w = guided_attention_weights(token_lengths.to(mel.device), step_lengths, self.conf.guided_sigma)
            valid = (w > 0).sum().clamp(min=1) * att.size(1) * att.size(2)
            terms["guided_attention_loss"] = self.conf.guided_weight * (att * w[:, None, None]).sum() / valid
        terms["loss"] = sum(terms.values())  # type: ignore[assignment]
        return terms

    accepts_reference_mel: ClassVar[bool] = False
    synthesis_controls: ClassVar[Tuple[str, ...]] = ()
    """No prosody controls: the decoder chooses its own durations, pitch and energy."""
    returns_attention: ClassVar[bool] = True
    """:meth:`synthesize` returns the attention of its best head (LRSpeech's WCR/ADR read it)."""

    def synthesize(
        self, tokens: torch.Tensor, token_lengths: torch.Tensor, speakers: Optional[torch.Tensor] = None,
        stop_threshold: float = 0.5, max_ratio: float = 10.0, **unused: Any,
    ) -> Dict[str, torch.Tensor]:
        """Inference entry of the synthesiser: :meth:`generate`, plus the attention of the head with the highest focus rate.

        Returns ``mel_post``, ``frame_lengths``, ``scaled_durations`` (frames per token read from
        that head, FastSpeech Sec. 3.3) and ``attention`` ``(batch, frames, tokens)`` of that head.
        """
        out = self.generate(tokens, token_lengths, speakers, stop_threshold=stop_threshold, max_ratio=max_ratio, need_attention=True)
        frames = out["frame_lengths"]
        durations, choice = attention_durations(out["attention"], frames, token_lengths.to(frames.device))
        index = torch.arange(tokens.size(0), device=frames.device)
        out["attention"] = out["attention"][index, choice.layer, choice.head]
        out["scaled_durations"] = durations
        return out

    def generate(
        self, tokens: torch.Tensor, token_lengths: torch.Tensor, speakers: Optional[torch.Tensor] = None,
        stop_threshold: float = 0.5, max_ratio: float = 10.0, forced_lengths: Optional[torch.Tensor] = None,
        need_attention: bool = False,
    ) -> Dict[str, torch.Tensor]:
        """Autoregressive decoding with cached keys/values (call under ``torch.inference_mode()``).

        Each step emits r (``reduction_factor``) frames. Each sequence stops at the first step
        whose stop probability exceeds ``stop_threshold`` (that step's frames included), after
        ``max_ratio × tokens`` frames, or, with ``forced_lengths``, after exactly that many frames
        (the stop token is then ignored). Returns ``mel``, ``mel_post``, ``frame_lengths`` and,
        with ``need_attention``, ``attention`` (each step's row repeated over its frames).
        """
        memory, token_mask = self.encode(tokens, token_lengths, speakers)
        batch = tokens.size(0)
        device = tokens.device
        r = self.conf.reduction_factor
        if forced_lengths is not None:
            limit = forced_lengths.to(device).long()
        else:
            limit = torch.ceil(token_lengths.to(device).float() * max_ratio).long().clamp(min=1)
        step_limit = (limit + r - 1) // r
        max_steps = int(step_limit.max())
        memory_kv = self._memory(memory)
        shape = (batch, self.conf.heads, max_steps, self.conf.dim // self.conf.heads)
        caches = [(memory.new_zeros(shape), memory.new_zeros(shape)) for _ in self.decoder_layers]
        memory_mask = key_mask(~token_mask)
        frame = torch.zeros(batch, 1, self.n_mels, device=device, dtype=memory.dtype)
        lengths = limit.clone()
        done = torch.zeros(batch, dtype=torch.bool, device=device)
        frames: List[torch.Tensor] = []
        attention: List[torch.Tensor] = []
        for step in range(max_steps):
            x = self.decoder_positions(self.decoder_prenet(frame), offset=step)
            step_att = []
            for layer, kv, cache in zip(self.decoder_layers, memory_kv, caches):
                x, weights = layer(x, kv, memory_mask, cache, step, need_weights=need_attention)
                if need_attention:
                    step_att.append(weights)
            mel_step, stop = self._outputs(x)
            frames.append(mel_step)
            if need_attention:
                attention.append(torch.stack(step_att, dim=1))
            frame = mel_step[:, -1:]
            ended = step + 1 >= step_limit
            if forced_lengths is None:
                ended = ended | (torch.sigmoid(stop[:, 0]) > stop_threshold)
            newly = ended & ~done
            lengths = torch.where(newly, torch.clamp(limit, max=(step + 1) * r), lengths)
            done = done | ended
            if bool(done.all()):
                break
        mel = torch.cat(frames, dim=1)[:, : int(lengths.max())]
        frame_mask = lengths_to_mask(lengths, mel.size(1))
        mel = masked_fill_padding(mel, frame_mask)
        out = {
            "mel": mel,
            "mel_post": self.postnet(mel, frame_mask) if self.postnet is not None else mel,
            "frame_lengths": lengths,
            "frame_mask": frame_mask,
            "token_mask": token_mask,
        }
        if need_attention:
            out["attention"] = self._frame_attention(torch.cat(attention, dim=3), frame_mask)
        return out
