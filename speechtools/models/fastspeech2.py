"""FastSpeech 2 (Ren et al., ICLR 2021, arXiv 2006.04558) from the shared backbone.

Paper configuration (Sec. 3.1, App. A): 4 encoder + 4 decoder FFT blocks, hidden 256,
2 heads, conv FFN 1024 with kernels (9, 1), variance predictors of 2 conv layers (kernel 3,
256 channels, dropout 0.5), 80 mel bins. Pitch/energy: ``adaptor.level: frame`` is the paper's
256-bin quantised frame-level variant; ``token`` (default) is the ESPnet2/FastPitch
token-averaged continuous one. ``postnet: true`` adds the Tacotron 2 post-net (ESPnet default).
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
from speechtools.nn.fft_block import FFTStack, FFTStackConfig
from speechtools.nn.postnet import Postnet
from speechtools.nn.variance_adaptor import VarianceAdaptor, VarianceAdaptorConfig


@dataclass
class FastSpeech2Config:
    """``model_conf`` of ``model: fastspeech2``. Vocabulary, mel bins and speakers come from the task.

    ``speaker_vector_dim``: size of external speaker vectors (x-/d-vectors) projected and added to
    the encoder output (ESPnet2 ``spk_embed_dim``, "add" integration); 0 = none.
    """

    dim: int = 256
    encoder: FFTStackConfig = field(default_factory=FFTStackConfig)
    decoder: FFTStackConfig = field(default_factory=FFTStackConfig)
    adaptor: VarianceAdaptorConfig = field(default_factory=VarianceAdaptorConfig)
    postnet: bool = False
    postnet_channels: int = 256
    postnet_layers: int = 5
    speaker_vector_dim: int = 0

    def __post_init__(self) -> None:
        check_speaker_vector_dim(self.speaker_vector_dim)
        if self.encoder.dim != self.dim or self.decoder.dim != self.dim:
            raise ValueError(f"encoder.dim and decoder.dim must equal dim ({self.dim})")


@MODELS.register("fastspeech2", config=FastSpeech2Config)
class FastSpeech2(NARTTS):
    """FastSpeech 2: FFT encoder/decoder, variance adaptor, linear mel head, optional post-net."""

    def __init__(self, conf: FastSpeech2Config, vocab_size: int, n_mels: int = 80, n_speakers: int = 1) -> None:
        super().__init__(
            embedding=nn.Embedding(vocab_size, conf.dim, padding_idx=0),
            encoder=FFTStack(conf.encoder),
            adaptor=VarianceAdaptor(conf.adaptor, conf.dim),
            decoder=FFTStack(conf.decoder),
            mel_head=LinearMelHead(conf.dim, n_mels),
            postnet=Postnet(n_mels, conf.postnet_channels, layers=conf.postnet_layers) if conf.postnet else None,
            speaker_embedding=nn.Embedding(n_speakers, conf.dim) if n_speakers > 1 else None,
            speaker_vector_proj=speaker_vector_projection(conf.speaker_vector_dim, conf.dim),
        )
        self.conf = conf
        self.n_mels = n_mels

    def loss(
        self, out: Dict[str, torch.Tensor], mel: torch.Tensor, durations: torch.Tensor,
        pitch: Optional[torch.Tensor] = None, energy: Optional[torch.Tensor] = None,
    ) -> Dict[str, torch.Tensor]:
        """FastSpeech 2 training loss (see :func:`variance_tts_loss`)."""
        return variance_tts_loss(out, mel, durations, pitch, energy)
