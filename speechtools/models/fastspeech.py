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

from speechtools.models import MODELS
from speechtools.models.nar_tts import FastSpeechFamily, NARTTSConfig
from speechtools.nn.fft_block import FFTStack, FFTStackConfig
from speechtools.nn.variance_adaptor import PredictorConfig, VarianceAdaptorConfig


def _fft_stack() -> FFTStackConfig:
    return FFTStackConfig(layers=6, dim=384, heads=2, ffn_hidden=1536, ffn_kernels=[3, 3], dropout=0.1, attention_dropout=0.1)


def _duration_only() -> VarianceAdaptorConfig:
    return VarianceAdaptorConfig(
        use_pitch=False, use_energy=False, stop_gradient=True,
        duration=PredictorConfig(layers=2, channels=256, kernel_size=3, dropout=0.1),
    )


@dataclass
class FastSpeechConfig(NARTTSConfig):
    """``model_conf`` of ``model: fastspeech`` (paper defaults): :class:`NARTTSConfig` plus the two FFT stacks."""

    dim: int = 384
    adaptor: VarianceAdaptorConfig = field(default_factory=_duration_only)
    encoder: FFTStackConfig = field(default_factory=_fft_stack)
    decoder: FFTStackConfig = field(default_factory=_fft_stack)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_stack_dims(self.dim, self.encoder, self.decoder)
        if self.adaptor.use_pitch or self.adaptor.use_energy:
            raise ValueError("FastSpeech has no pitch/energy predictors (use model: fastspeech2)")


def check_stack_dims(dim: int, encoder: FFTStackConfig, decoder: FFTStackConfig) -> None:
    """Both FFT stacks must have the model's hidden size."""
    if encoder.dim != dim or decoder.dim != dim:
        raise ValueError(f"encoder.dim and decoder.dim must equal dim ({dim})")


@MODELS.register("fastspeech", config=FastSpeechConfig)
class FastSpeech(FastSpeechFamily):
    """FastSpeech: FFT encoder, duration predictor + length regulator, FFT decoder, linear mel head."""

    @classmethod
    def encoder_stack(cls, conf: FastSpeechConfig) -> FFTStack:
        return FFTStack(conf.encoder)

    @classmethod
    def decoder_stack(cls, conf: FastSpeechConfig) -> FFTStack:
        return FFTStack(conf.decoder)
