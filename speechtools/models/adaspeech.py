"""AdaSpeech (Chen et al., ICLR 2021, arXiv 2103.00993) and AdaSpeech 2 (Yan et al., arXiv 2104.09715) on the FastSpeech 2 backbone.

AdaSpeech adds to FastSpeech 2 (:class:`~speechtools.models.fastspeech2.FastSpeech2`):

* an **utterance-level acoustic encoder** (Sec. 2.2, Fig. 2a; :class:`UtteranceEncoder`): 2 ×
  [Conv1d n_mels → dim, kernel 5, stride 3, ReLU, LayerNorm, dropout 0.5] on a reference mel, then
  the mean over its valid frames; the vector is added to every encoder output position. In
  training the reference is the utterance's own mel (the paper): without a ``reference_mel`` the
  model uses the target ``mel`` / ``mel_lengths`` of the batch, so ``collate_tts`` needs no second
  copy of every mel; at inference ``reference_mel`` / ``reference_mel_lengths`` are any clip of the
  target speaker (``synth --reference-audio``). Without either the vector is 0 (not a voice the
  model was trained on: give a reference).
* a **phoneme-level acoustic encoder** (Sec. 2.2, Fig. 2b): the target mel averaged over each
  token's frames (the durations; :func:`~speechtools.nn.length_regulator.token_mean`) through
  2 × [conv k3, ReLU, LayerNorm, dropout] and a linear layer to ``phoneme_dim`` (4) per token,
  projected to ``dim`` (``phoneme_proj``) and added to the encoder output. Its **predictor**
  (Fig. 2c, same stack on the text hidden states after the speaker and utterance vectors;
  detached like FastSpeech 2's predictors when ``adaptor.stop_gradient``) is trained with an MSE to
  the encoder's vectors, detached (no gradient reaches the phoneme encoder from it), starting
  after ``phoneme_predictor_warmup`` optimiser updates (the trainer's ``set_num_updates``). With a
  target mel and durations (training, validation) the encoder's vectors are used; without (synthesis),
  the predictor's.
* **conditional LayerNorm** (Sec. 2.3, Eq. 1; :class:`~speechtools.nn.layer_norm.ConditionalLayerNorm`,
  identity at initialisation) for both norms of every decoder FFT block, scale and bias projected
  from the decoder's condition: the speaker representation of
  :meth:`~speechtools.models.nar_tts.NARTTS.speaker_condition`, i.e. the speaker-ID embedding (the
  paper), plus the projected external speaker vector when the model takes them; not the
  utterance vector. AdaSpeech always has a speaker embedding (one row on a single-speaker corpus)
  so that the norms have a condition.

Adaptation (Sec. 2.3) fine-tunes only the CLN projections and the speaker embedding:
:data:`ADAPTATION_PATTERNS` (``fnmatch`` patterns for ``trainer.trainable``).

AdaSpeech 2 (``mel_encoder: true``): a **mel encoder** (:class:`MelEncoder`: a linear layer
n_mels → dim and an FFT stack shaped like the phoneme encoder, ``encoder``) on the normalised target
mel. In source training its output is pulled by an L2 loss (``mel_encoder_loss``, weight
``mel_encoder_loss_weight``) to the length-regulated phoneme-side hidden states that the decoder
receives (the variance adaptor's frame-level output: encoder output + speaker, acoustic conditions
and pitch/energy embeddings, expanded by the durations), **detached**: the text side is not moved
by this loss (the paper's source model is trained first and kept; the mel encoder is plugged in).
``mel_encoder_recon_weight > 0`` adds the reconstruction of the mel through the decoder from the
mel encoder's output (``mel_encoder_recon_loss``). For untranscribed adaptation,
``forward(untranscribed=True, mel=..., mel_lengths=..., speakers=...)`` needs no tokens: the decoder
(with its CLN) is fed the mel encoder's output and reconstructs the mel; :meth:`AdaSpeech.loss` of
that output is the mel L1 (``mel_loss``, ``postnet_loss``). That adaptation updates only the
decoder's CLN projections: :data:`UNTRANSCRIBED_ADAPTATION_PATTERNS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.fastspeech2 import FastSpeech2, FastSpeech2Config
from speechtools.models.nar_tts import masked_mean, mel_losses, variance_tts_loss
from speechtools.nn.conv import masked_fill_padding
from speechtools.nn.fft_block import FFTStack, FFTStackConfig
from speechtools.nn.length_regulator import token_mean
from speechtools.nn.masks import lengths_to_mask
from speechtools.nn.variance_adaptor import PredictorConfig
from speechtools.nn.variance_predictor import VariancePredictor

CLN_PATTERNS: Tuple[str, ...] = ("decoder.*.norm*.scale.*", "decoder.*.norm*.bias.*")
"""The decoder's conditional LayerNorm projections (``decoder.blocks.<i>.norm{1,2}.{scale,bias}.{weight,bias}``)."""

ADAPTATION_PATTERNS: Tuple[str, ...] = ("speaker_embedding.*",) + CLN_PATTERNS
"""What AdaSpeech adapts to a new speaker (Sec. 2.3): the CLN projections and the speaker embedding."""

UNTRANSCRIBED_ADAPTATION_PATTERNS: Tuple[str, ...] = CLN_PATTERNS
"""What AdaSpeech 2 adapts on untranscribed speech: the decoder's CLN projections."""

DURATION_PITCH_TUNING_PATTERNS: Tuple[str, ...] = ("adaptor.duration_predictor.*", "adaptor.pitch_predictor.*")
"""What AdaSpeech 3 (arXiv 2107.02530, Sec. 3.2) fine-tunes with the mixture-of-experts duration predictor
(``adaptor.duration.kind: moe``): the duration experts and gate, and the pitch predictor; any FastSpeech 2
family model has these names."""


def _paper_decoder() -> FFTStackConfig:
    return FFTStackConfig(norm="conditional")


def _acoustic_stack() -> PredictorConfig:
    return PredictorConfig(layers=2, channels=256, kernel_size=3, dropout=0.5)


@dataclass
class UtteranceEncoderConfig:
    """The utterance-level acoustic encoder (Fig. 2a): ``layers`` × [conv (``kernel_size``, ``stride``) → dim, ReLU, LN, dropout]."""

    layers: int = 2
    kernel_size: int = 5
    stride: int = 3
    dropout: float = 0.5

    def __post_init__(self) -> None:
        check_ranges(self, positive=("layers", "kernel_size", "stride"), probability=("dropout",))
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")


@dataclass
class AdaSpeechConfig(FastSpeech2Config):
    """``model_conf`` of ``model: adaspeech``: :class:`FastSpeech2Config` plus the acoustic conditions and the mel encoder.

    Attributes:
        decoder: the decoder FFT stack; ``norm: conditional`` (default) is AdaSpeech's CLN,
            ``layer`` the ablation without it.
        utterance_encoder: the utterance-level acoustic encoder (its channels are ``dim``).
        phoneme_dim: size of the phoneme-level acoustic vectors (paper: 4).
        phoneme_encoder, phoneme_predictor: their conv stacks (2 × conv k3, 256 channels in the paper).
        phoneme_predictor_warmup: optimiser updates before the predictor's MSE enters the loss.
        mel_encoder: AdaSpeech 2's mel encoder (an FFT stack shaped like ``encoder``).
        mel_encoder_loss_weight: weight of its L2 loss to the detached phoneme-side hidden states.
        mel_encoder_recon_weight: weight of the mel reconstruction through the decoder from the
            mel encoder's output in source training (0 = not computed).
    """

    decoder: FFTStackConfig = field(default_factory=_paper_decoder)
    utterance_encoder: UtteranceEncoderConfig = field(default_factory=UtteranceEncoderConfig)
    phoneme_dim: int = 4
    phoneme_encoder: PredictorConfig = field(default_factory=_acoustic_stack)
    phoneme_predictor: PredictorConfig = field(default_factory=_acoustic_stack)
    phoneme_predictor_warmup: int = 60000
    mel_encoder: bool = False
    mel_encoder_loss_weight: float = 1.0
    mel_encoder_recon_weight: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_ranges(self, positive=("phoneme_dim",),
                     non_negative=("phoneme_predictor_warmup", "mel_encoder_loss_weight", "mel_encoder_recon_weight"))
        if self.encoder.norm != "layer":
            raise ValueError(f"encoder.norm must be 'layer' (only the decoder has conditional norms), got {self.encoder.norm!r}")


class UtteranceEncoder(nn.Module):
    """Reference mel ``(batch, T, n_mels)`` → one vector ``(batch, dim)`` (AdaSpeech Sec. 2.2, Fig. 2a).

    Each layer is a strided convolution ("same"-style padding ``k // 2``: ``T → ceil(T / stride)``
    frames), ReLU, LayerNorm and dropout; padded frames are zeroed before every convolution, so the
    mean over the valid frames does not depend on the padding.
    """

    def __init__(self, conf: UtteranceEncoderConfig, n_mels: int, dim: int) -> None:
        super().__init__()
        self.stride = conf.stride
        self.convs = nn.ModuleList(
            nn.Conv1d(n_mels if i == 0 else dim, dim, conf.kernel_size, stride=conf.stride, padding=conf.kernel_size // 2)
            for i in range(conf.layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(conf.layers))
        self.dropout = nn.Dropout(conf.dropout)

    def forward(self, mel: torch.Tensor, lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        if lengths is None:
            lengths = torch.full((mel.size(0),), mel.size(1), dtype=torch.long, device=mel.device)
        lengths = lengths.to(mel.device).long().clamp(min=1)
        x = mel
        for conv, norm in zip(self.convs, self.norms):
            x = masked_fill_padding(x, lengths_to_mask(lengths, x.size(1)))
            x = conv(x.transpose(1, 2)).transpose(1, 2)
            lengths = (lengths - 1) // self.stride + 1
            x = self.dropout(norm(torch.relu(x)))
        return masked_mean_over_time(x, lengths_to_mask(lengths, x.size(1)))


def masked_mean_over_time(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(batch, T, C)`` → ``(batch, C)``: the mean over the positions where ``mask`` ``(batch, T)`` is True."""
    weights = mask.unsqueeze(-1).to(x.dtype)
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class MelEncoder(nn.Module):
    """AdaSpeech 2's mel encoder (arXiv 2104.09715, Sec. 2.2): normalised mel → ``(batch, frames, dim)``
    by a linear layer and an FFT stack shaped like the phoneme encoder; 0 at padded frames."""

    def __init__(self, n_mels: int, conf: FFTStackConfig) -> None:
        super().__init__()
        self.prenet = nn.Linear(n_mels, conf.dim)
        self.stack = FFTStack(conf)

    def forward(self, mel: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_fill_padding(self.stack(masked_fill_padding(self.prenet(mel), mask), mask), mask)


@MODELS.register("adaspeech", config=AdaSpeechConfig)
class AdaSpeech(FastSpeech2):
    """AdaSpeech 1/2: FastSpeech 2 with acoustic conditions, a CLN decoder and the optional mel encoder (module docstring)."""

    conf: AdaSpeechConfig
    accepts_reference_mel = True

    def __init__(self, conf: AdaSpeechConfig, vocab_size: int, n_mels: int = 80, n_speakers: int = 1) -> None:
        super().__init__(conf, vocab_size, n_mels, n_speakers)
        self.utterance_encoder = UtteranceEncoder(conf.utterance_encoder, n_mels, conf.dim)
        self.phoneme_encoder = self._phoneme_stack(conf.phoneme_encoder, n_mels)
        self.phoneme_predictor = self._phoneme_stack(conf.phoneme_predictor, conf.dim)
        self.phoneme_proj = nn.Linear(conf.phoneme_dim, conf.dim)
        self.mel_encoder = MelEncoder(n_mels, conf.encoder) if conf.mel_encoder else None
        self.num_updates = 0  # optimiser updates done (the trainer's set_num_updates): starts the predictor

    def _phoneme_stack(self, p: PredictorConfig, in_dim: int) -> VariancePredictor:
        return VariancePredictor(in_dim, p.channels, p.kernel_size, p.layers, p.dropout, out_dim=self.conf.phoneme_dim)

    @classmethod
    def decoder_stack(cls, conf: AdaSpeechConfig) -> FFTStack:
        """The FFT decoder; with ``norm: conditional`` its norms take the speaker condition (``dim``)."""
        return FFTStack(conf.decoder, cond_dim=conf.dim if conf.decoder.norm == "conditional" else 0)

    @classmethod
    def speaker_embedding_module(cls, conf: AdaSpeechConfig, n_speakers: int) -> nn.Embedding:
        """Always a speaker embedding (the CLN's condition), one row per training speaker."""
        return nn.Embedding(max(n_speakers, 1), conf.dim)

    def set_num_updates(self, num_updates: int) -> None:
        """Called by the trainer before every update (fairseq's ``set_num_updates``)."""
        self.num_updates = num_updates

    @property
    def predictor_active(self) -> bool:
        """Whether the phoneme-level predictor's MSE is in the loss (after ``phoneme_predictor_warmup`` updates)."""
        return self.num_updates >= self.conf.phoneme_predictor_warmup

    def utterance_vector(
        self, reference_mel: Optional[torch.Tensor], reference_mel_lengths: Optional[torch.Tensor], batch: int,
        like: torch.Tensor,
    ) -> torch.Tensor:
        """The utterance-level acoustic vector ``(batch, dim)``; 0 without a reference mel."""
        if reference_mel is None:
            return like.new_zeros(batch, self.conf.dim)
        if reference_mel.dim() != 3 or reference_mel.size(0) != batch or reference_mel.size(2) != self.n_mels:
            raise ValueError(f"reference_mel must be (batch={batch}, frames, {self.n_mels}), got {tuple(reference_mel.shape)}")
        return self.utterance_encoder(reference_mel.to(like.dtype), reference_mel_lengths)

    def condition_encoder_output(  # type: ignore[override]
        self, hidden: torch.Tensor, token_mask: torch.Tensor, out: Dict[str, torch.Tensor], *,
        mel: Optional[torch.Tensor] = None, durations: Optional[torch.Tensor] = None,
        reference_mel: Optional[torch.Tensor] = None, reference_mel_lengths: Optional[torch.Tensor] = None,
        mel_lengths: Optional[torch.Tensor] = None, utterance_vector: Optional[torch.Tensor] = None, **unused: Any,
    ) -> torch.Tensor:
        """Add the utterance-level vector and the phoneme-level vectors (encoder's with ``mel`` and
        ``durations``, else the predictor's); ``out`` gets ``utterance_vector``, ``phoneme_pred`` and,
        with a target, ``phoneme_target`` (detached). A given ``utterance_vector`` ``(batch, dim)`` (an
        adapted speaker's stored mean, ``speechtools adapt``) replaces the encoder's."""
        if reference_mel is None and mel is not None:  # training: the utterance's own mel
            reference_mel, reference_mel_lengths = mel, mel_lengths
        if utterance_vector is not None:
            utterance = utterance_vector.to(hidden.dtype).expand(hidden.size(0), -1)
        else:
            utterance = self.utterance_vector(reference_mel, reference_mel_lengths, hidden.size(0), hidden)
        out["utterance_vector"] = utterance
        hidden = masked_fill_padding(hidden + utterance.unsqueeze(1), token_mask)
        source = hidden.detach() if self.conf.adaptor.stop_gradient else hidden
        predicted = self.phoneme_predictor(source, token_mask)
        out["phoneme_pred"] = predicted
        if mel is not None and durations is not None:
            averaged = token_mean(mel.to(hidden.dtype), durations * token_mask.long())
            encoded = self.phoneme_encoder(averaged, token_mask)
            out["phoneme_target"] = encoded.detach()
            vectors = encoded
        else:
            vectors = predicted
        return masked_fill_padding(hidden + self.phoneme_proj(vectors), token_mask)

    def forward(  # type: ignore[override]
        self, tokens: Optional[torch.Tensor] = None, token_lengths: Optional[torch.Tensor] = None, *,
        untranscribed: bool = False, **inputs: Any,
    ) -> Dict[str, torch.Tensor]:
        """Text to mel as :meth:`NARTTS.forward` (plus the AdaSpeech 2 terms when the target ``mel`` is
        given and the model has a mel encoder), or, with ``untranscribed=True``, mel to mel through the
        mel encoder and decoder (:meth:`reconstruct`; no tokens needed)."""
        if untranscribed:
            return self.reconstruct(**inputs)
        if tokens is None or token_lengths is None:
            raise ValueError("tokens and token_lengths are needed (or untranscribed=True with a mel)")
        out = super().forward(tokens, token_lengths, **inputs)
        mel = inputs.get("mel")
        if self.mel_encoder is not None and mel is not None and inputs.get("durations") is not None:
            frame_mask = out["frame_mask"]
            if mel.size(1) != frame_mask.size(1):
                raise ValueError(f"the target mel has {mel.size(1)} frames, the durations give {frame_mask.size(1)}")
            encoded = self.mel_encoder(mel.to(out["hidden"].dtype), frame_mask)
            out["mel_encoder_hidden"] = encoded
            out["mel_encoder_target"] = out["hidden"].detach()
            if self.conf.mel_encoder_recon_weight > 0:
                cond = self.speaker_condition(mel.size(0), mel.device, inputs.get("speakers"), inputs.get("speaker_vectors"))
                recon = self.mel_outputs({"decoded": self.decoder(encoded, frame_mask, cond), "frame_mask": frame_mask})
                out["mel_encoder_mel"] = recon["mel_post"]
        return out

    def reconstruct(
        self, mel: torch.Tensor, mel_lengths: Optional[torch.Tensor] = None, speakers: Optional[torch.Tensor] = None,
        speaker_vectors: Optional[torch.Tensor] = None, **unused: Any,
    ) -> Dict[str, torch.Tensor]:
        """AdaSpeech 2's untranscribed path: normalised ``mel`` ``(batch, frames, n_mels)`` → mel encoder →
        CLN decoder (conditioned on the speakers) → mel head and post-net.

        Returns ``mel``, ``mel_post``, ``frame_mask``, ``frame_lengths`` and ``mel_encoder_hidden``.
        """
        if self.mel_encoder is None:
            raise ValueError("untranscribed=True needs AdaSpeech 2's mel encoder (model_conf.mel_encoder: true)")
        if mel.dim() != 3 or mel.size(2) != self.n_mels:
            raise ValueError(f"mel must be (batch, frames, {self.n_mels}), got {tuple(mel.shape)}")
        if mel_lengths is None:
            mel_lengths = torch.full((mel.size(0),), mel.size(1), dtype=torch.long, device=mel.device)
        frame_lengths = mel_lengths.to(mel.device).long()
        frame_mask = lengths_to_mask(frame_lengths, mel.size(1))
        cond = self.speaker_condition(mel.size(0), mel.device, speakers, speaker_vectors)
        hidden = self.mel_encoder(mel, frame_mask)
        out = {"frame_mask": frame_mask, "frame_lengths": frame_lengths, "mel_encoder_hidden": hidden,
               "decoded": self.decoder(hidden, frame_mask, cond)}
        return self.mel_outputs(out)

    def loss(  # type: ignore[override]
        self, out: Dict[str, torch.Tensor], mel: torch.Tensor, durations: Optional[torch.Tensor] = None,
        pitch: Optional[torch.Tensor] = None, energy: Optional[torch.Tensor] = None, **unused: Any,
    ) -> Dict[str, torch.Tensor]:
        """FastSpeech 2's terms, ``phoneme_predictor_loss`` (MSE to the detached phoneme-level vectors; 0
        before the warm-up) and, with the mel encoder, ``mel_encoder_loss`` (× its weight) and
        ``mel_encoder_recon_loss`` (× its weight, if > 0); ``loss`` is their sum. For the output of the
        untranscribed path: the mel L1 terms only."""
        if "token_mask" not in out:
            terms = mel_losses(out, mel)
            terms["loss"] = sum(terms.values())  # type: ignore[assignment]
            return terms
        if durations is None:
            raise ValueError("the text path's loss needs the durations")
        terms = variance_tts_loss(out, mel, durations, pitch, energy)
        terms.pop("loss")
        if self.predictor_active and "phoneme_target" in out:
            error = (out["phoneme_pred"] - out["phoneme_target"]) ** 2
            terms["phoneme_predictor_loss"] = masked_mean(error, out["token_mask"])
        else:
            terms["phoneme_predictor_loss"] = mel.new_zeros(())
        if "mel_encoder_hidden" in out:
            error = (out["mel_encoder_hidden"] - out["mel_encoder_target"]) ** 2
            terms["mel_encoder_loss"] = self.conf.mel_encoder_loss_weight * masked_mean(error, out["frame_mask"])
            if "mel_encoder_mel" in out:
                recon = mel_losses({"mel": out["mel_encoder_mel"], "mel_post": out["mel_encoder_mel"],
                                    "frame_mask": out["frame_mask"]}, mel)["mel_loss"]
                terms["mel_encoder_recon_loss"] = self.conf.mel_encoder_recon_weight * recon
        terms["loss"] = sum(terms.values())  # type: ignore[assignment]
        return terms


__all__ = ["ADAPTATION_PATTERNS", "CLN_PATTERNS", "DURATION_PITCH_TUNING_PATTERNS", "UNTRANSCRIBED_ADAPTATION_PATTERNS", "AdaSpeech", "AdaSpeechConfig",
           "MelEncoder", "UtteranceEncoder", "UtteranceEncoderConfig"]
