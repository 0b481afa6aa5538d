"""FastSpeech (Ren et al., NeurIPS 2019, arXiv 1905.09263) from the shared NAR backbone.

Paper configuration (Sec. 4.2 / Table 5): 6 encoder + 6 decoder FFT blocks, hidden 384,
2 attention heads, conv FFN 384 → 1536 → 384 with both kernels 3, dropout 0.1; duration
predictor 2 × [conv k3 (256) → ReLU → LayerNorm → dropout] + linear, trained with MSE on the
log duration; length regulator with speed factor α; no pitch or energy; linear mel head.
Durations come from an autoregressive teacher's attention
(:mod:`speechtools.align.attention_durations`), and the mel targets may be the teacher's
own generations (sequence-level knowledge distillation, ``speechtools teacher distill``).
Mel loss: L1 (ESPnet's FastSpeech; the paper states MSE).
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
from speechtools.nn.variance_adaptor import PredictorConfig, VarianceAdaptor, VarianceAdaptorConfig


def _fft_stack() -> FFTStackConfig:
    return FFTStackConfig(layers=6, dim=384, heads=2, ffn_hidden=1536, ffn_kernels=[3, 3], dropout=0.1, attention_dropout=0.1)


def _duration_only() -> VarianceAdaptorConfig:
    return VarianceAdaptorConfig(
        use_pitch=False, use_energy=False, stop_gradient=True,
        duration=PredictorConfig(layers=2, channels=256, kernel_size=3, dropout=0.1),
    )


@dataclass
class FastSpeechConfig:
    """``model_conf`` of ``model: fastspeech`` (paper defaults). Vocabulary and mel bins come from the task.

    ``speaker_vector_dim``: size of external speaker vectors (x-/d-vectors) projected and added to
    the encoder output; 0 = none.
    """

    dim: int = 384
    encoder: FFTStackConfig = field(default_factory=_fft_stack)
    decoder: FFTStackConfig = field(default_factory=_fft_stack)
    adaptor: VarianceAdaptorConfig = field(default_factory=_duration_only)
    speaker_vector_dim: int = 0

    def __post_init__(self) -> None:
        check_speaker_vector_dim(self.speaker_vector_dim)
        if self.encoder.dim != self.dim or self.decoder.dim != self.dim:
            raise ValueError(f"encoder.dim and decoder.dim must equal dim ({self.dim})")
        if self.adaptor.use_pitch or self.adaptor.use_energy:
            raise ValueError("FastSpeech has no pitch/energy predictors (use model: fastspeech2)")


@MODELS.register("fastspeech", config=FastSpeechConfig)
class FastSpeech(NARTTS):
    """FastSpeech: FFT encoder, duration predictor + length regulator, FFT decoder, linear mel head."""

    def __init__(self, conf: FastSpeechConfig, vocab_size: int, n_mels: int = 80, n_speakers: int = 1) -> None:
        super().__init__(
            embedding=nn.Embedding(vocab_size, conf.dim, padding_idx=0),
            encoder=FFTStack(conf.encoder),
            adaptor=VarianceAdaptor(conf.adaptor, conf.dim),
            decoder=FFTStack(conf.decoder),
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
        """L1 mel + MSE on log(d + 1); pitch/energy targets, if batched, are ignored."""
        return variance_tts_loss(out, mel, durations)
