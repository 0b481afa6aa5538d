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
from typing import ClassVar, Type

from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.nar_tts import FastSpeechFamily, NARTTSConfig
from speechtools.nn.search_space import LIGHTSPEECH_ARCH, SearchedStack, split_arch
from speechtools.nn.variance_adaptor import PredictorConfig, VarianceAdaptorConfig


def _lightspeech_adaptor() -> VarianceAdaptorConfig:
    return VarianceAdaptorConfig(
        level="frame", use_pitch=True, use_energy=False, bins=300, separable=True, stop_gradient=True,
        duration=PredictorConfig(layers=2, channels=256, kernel_size=3, dropout=0.5),
        pitch=PredictorConfig(layers=5, channels=256, kernel_size=5, dropout=0.5),
    )


@dataclass
class LightSpeechConfig(NARTTSConfig):
    """``model_conf`` of ``model: lightspeech`` (paper defaults): :class:`NARTTSConfig` plus the searched stacks.

    Attributes:
        arch: operations of the encoder then the decoder (names or ids of the search space).
        encoder_layers: how many of ``arch``'s operations form the encoder.
        filter_size: width of the FFN operation (op 11), if the arch uses it.
        speaker_vector_dim: as in :class:`NARTTSConfig`. The authors' model always builds this
            256 → hidden projection (``spk_embed_proj``); ``conf/tts/lightspeech.yaml`` does too.
    """

    adaptor: VarianceAdaptorConfig = field(default_factory=_lightspeech_adaptor)
    arch: str = LIGHTSPEECH_ARCH
    encoder_layers: int = 4
    filter_size: int = 1024
    dropout: float = 0.2
    attention_dropout: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_ranges(self, positive=("filter_size",), probability=("dropout", "attention_dropout"))
        split_arch(self.arch, self.encoder_layers)


@MODELS.register("lightspeech", config=LightSpeechConfig)
class LightSpeech(FastSpeechFamily):
    """LightSpeech: searched separable-conv encoder/decoder, separable variance predictors, linear mel head."""

    stack_class: ClassVar[Type[SearchedStack]] = SearchedStack
    """The class of both stacks (the supernet's holds every operation per layer)."""

    @classmethod
    def encoder_stack(cls, conf: LightSpeechConfig) -> SearchedStack:
        ops, _ = split_arch(conf.arch, conf.encoder_layers)
        return cls.stack_class(ops, conf.dim, conf.filter_size, conf.dropout, conf.attention_dropout)

    @classmethod
    def decoder_stack(cls, conf: LightSpeechConfig) -> SearchedStack:
        _, ops = split_arch(conf.arch, conf.encoder_layers)
        return cls.stack_class(ops, conf.dim, conf.filter_size, conf.dropout, conf.attention_dropout, decoder=True)
