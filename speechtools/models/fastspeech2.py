"""FastSpeech 2 (Ren et al., ICLR 2021, arXiv 2006.04558) from the shared backbone.

Paper configuration (Sec. 3.1, App. A): 4 encoder + 4 decoder FFT blocks, hidden 256,
2 heads, conv FFN 1024 with kernels (9, 1), variance predictors of 2 conv layers (kernel 3,
256 channels, dropout 0.5), 80 mel bins. Pitch/energy: ``adaptor.level: frame`` is the paper's
256-bin quantised frame-level variant; ``token`` (default) is the ESPnet2/FastPitch
token-averaged continuous one. ``postnet: true`` adds the Tacotron 2 post-net (ESPnet default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from speechtools.config import check_ranges
from speechtools.models import MODELS
from speechtools.models.fastspeech import FastSpeech, check_stack_dims
from speechtools.models.nar_tts import NARTTSConfig
from speechtools.nn.fft_block import FFTStackConfig
from speechtools.nn.postnet import Postnet


@dataclass
class FastSpeech2Config(NARTTSConfig):
    """``model_conf`` of ``model: fastspeech2``: :class:`NARTTSConfig`, the two FFT stacks and the optional post-net."""

    encoder: FFTStackConfig = field(default_factory=FFTStackConfig)
    decoder: FFTStackConfig = field(default_factory=FFTStackConfig)
    postnet: bool = False
    postnet_channels: int = 256
    postnet_layers: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        check_ranges(self, positive=("postnet_channels", "postnet_layers"))
        check_stack_dims(self.dim, self.encoder, self.decoder)


@MODELS.register("fastspeech2", config=FastSpeech2Config)
class FastSpeech2(FastSpeech):
    """FastSpeech 2: FastSpeech's FFT stacks with the full variance adaptor, optional post-net."""

    @classmethod
    def postnet_module(cls, conf: FastSpeech2Config, n_mels: int) -> Optional[Postnet]:
        return Postnet(n_mels, conf.postnet_channels, layers=conf.postnet_layers) if conf.postnet else None
