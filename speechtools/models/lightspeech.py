"""LightSpeech (Luo et al., ICASSP 2021, arXiv 2102.04040) from the shared NAR backbone.

The architecture found by the paper's search on LJSpeech (authors' ``lightspeech.yaml``):
encoder separable convolutions with kernels 5/25/13/9, decoder 17/21/9/13, hidden 256, no
self-attention anywhere; separable-convolution variance predictors with stop-gradient
(duration 2 × k3, pitch 5 × k5, 256 channels, dropout 0.5); pitch quantised per frame into a
300-entry embedding; no energy. Other architectures of the search space are one string away
(``arch:``, see :mod:`speechtools.nn.search_space`). Loss: that of FastSpeech 2 without the
energy term (:func:`~speechtools.models.nar_tts.variance_tts_loss`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

import torch
from torch import nn

from speechtools.models import MODELS
from speechtools.models.nar_tts import (
    NARTTS, LinearMelHead, check_speaker_vector_dim, speaker_vector_projection, variance_tts_loss,
)
from speechtools.nn.search_space import LIGHTSPEECH_ARCH, SearchedStack, split_arch
from speechtools.nn.variance_adaptor import PredictorConfig, VarianceAdaptor, VarianceAdaptorConfig


def _lightspeech_adaptor() -> VarianceAdaptorConfig:
    return VarianceAdaptorConfig(
        level="frame", use_pitch=True, use_energy=False, bins=300, separable=True, stop_gradient=True,
        duration=PredictorConfig(layers=2, channels=256, kernel_size=3, dropout=0.5),
        pitch=PredictorConfig(layers=5, channels=256, kernel_size=5, dropout=0.5),
    )


@dataclass
class LightSpeechConfig:
    """``model_conf`` of ``model: lightspeech`` (paper defaults). Vocabulary and mel bins come from the task.

    Attributes:
        arch: operations of the encoder then the decoder (names or ids of the search space).
        encoder_layers: how many of ``arch``'s operations form the encoder.
        filter_size: width of the FFN operation (op 11), if the arch uses it.
        speaker_vector_dim: size of external speaker vectors (x-/d-vectors) projected and added to
            the encoder output; 0 = none. The authors' model always builds this 256 → hidden
            projection (``spk_embed_proj``); ``conf/tts/lightspeech.yaml`` does too.
    """

    dim: int = 256
    arch: str = LIGHTSPEECH_ARCH
    encoder_layers: int = 4
    filter_size: int = 1024
    dropout: float = 0.2
    attention_dropout: float = 0.0
    adaptor: VarianceAdaptorConfig = field(default_factory=_lightspeech_adaptor)
    speaker_vector_dim: int = 0

    def __post_init__(self) -> None:
        check_speaker_vector_dim(self.speaker_vector_dim)
        split_arch(self.arch, self.encoder_layers)


@MODELS.register("lightspeech", config=LightSpeechConfig)
class LightSpeech(NARTTS):
    """LightSpeech: searched separable-conv encoder/decoder, separable variance predictors, linear mel head."""

    def __init__(self, conf: LightSpeechConfig, vocab_size: int, n_mels: int = 80, n_speakers: int = 1) -> None:
        enc_ops, dec_ops = split_arch(conf.arch, conf.encoder_layers)
        super().__init__(
            embedding=nn.Embedding(vocab_size, conf.dim, padding_idx=0),
            encoder=SearchedStack(enc_ops, conf.dim, conf.filter_size, conf.dropout, conf.attention_dropout),
            adaptor=VarianceAdaptor(conf.adaptor, conf.dim),
            decoder=SearchedStack(dec_ops, conf.dim, conf.filter_size, conf.dropout, conf.attention_dropout, decoder=True),
            mel_head=LinearMelHead(conf.dim, n_mels),
            speaker_embedding=nn.Embedding(n_speakers, conf.dim) if n_speakers > 1 else None,
            speaker_vector_proj=speaker_vector_projection(conf.speaker_vector_dim, conf.dim),
        )
        self.conf = conf
        self.n_mels = n_mels

    def loss(
        self, out: Dict[str, torch.Tensor], mel: torch.Tensor, durations: torch.Tensor,
        pitch: Optional[torch.Tensor] = None, energy: Optional[torch.Tensor] = None,
    ) -> Dict[str, torch.Tensor]:
        """L1 mel + MSE log-duration + MSE pitch (no energy predictor, so no energy term)."""
        return variance_tts_loss(out, mel, durations, pitch, energy)
