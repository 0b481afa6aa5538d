"""Vocoders by name: turn de-normalised log-mel frames into waveforms.

``griffin-lim`` (Griffin & Lim, 1984; fast variant of Perraudin et al., 2013) needs no
training. A neural vocoder (the PriorGrad vocoder) registers itself here with
``@VOCODERS.register("priorgrad", config=ItsConfig)`` and the same interface: built from the
feature config, an optional model path and its validated config (``synth --vocoder-set
key=value``), called on a padded batch of log-mels with their frame counts.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional

import numpy as np
import torch

from speechtools.audio.features import FeatureConfig
from speechtools.audio.griffin_lim import griffin_lim
from speechtools.config import from_dict, parse_override
from speechtools.errors import ConfigError
from speechtools.registry import Registry

VOCODERS: Registry = Registry("vocoder", package="speechtools.tts.vocoder_plugins")


class Vocoder(abc.ABC):
    """Interface: ``__call__(log_mel (B, T, n_mels), frame_lengths (B,)) -> list of float32 wavs``.

    ``needs_model``: a trained model directory is required (``--vocoder-model``/``--vocoder-dir``);
    a vocoder without one (Griffin-Lim) takes its settings from the feature config it is given.
    """

    needs_model: bool = False

    def __init__(self, feature_config: FeatureConfig, model_path: Optional[str] = None, device: str = "cpu") -> None:
        self.cfg = feature_config
        self.model_path = model_path
        self.device = device

    @abc.abstractmethod
    def __call__(self, log_mel: torch.Tensor, frame_lengths: torch.Tensor) -> List[np.ndarray]:
        """Waveforms (float32, one per item, trimmed to its frames) of a padded log-mel batch."""


@dataclass
class GriffinLimConfig:
    """Griffin-Lim iterations and momentum."""

    n_iter: int = 32
    momentum: float = 0.99

    def __post_init__(self) -> None:
        if self.n_iter < 1:
            raise ValueError(f"n_iter must be >= 1, got {self.n_iter}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {self.momentum}")


@VOCODERS.register("griffin-lim", config=GriffinLimConfig)
class GriffinLimVocoder(Vocoder):
    """Fast Griffin-Lim on the mel pseudo-inverse (:func:`speechtools.audio.griffin_lim.griffin_lim`)."""

    def __init__(self, feature_config: FeatureConfig, model_path: Optional[str] = None, device: str = "cpu",
                 conf: Optional[GriffinLimConfig] = None) -> None:
        super().__init__(feature_config, model_path, device)
        self.conf = conf or GriffinLimConfig()

    def __call__(self, log_mel: torch.Tensor, frame_lengths: torch.Tensor) -> List[np.ndarray]:
        floor = float(np.log(self.cfg.log_floor))
        steps = torch.arange(log_mel.size(1), device=log_mel.device)
        padded = steps.unsqueeze(0) >= frame_lengths.to(log_mel.device).unsqueeze(1)
        mel = log_mel.float().masked_fill(padded.unsqueeze(-1), floor)
        shortest = self.cfg.n_fft // self.cfg.hop_length + 2  # the STFT needs more than n_fft / 2 samples
        if mel.size(1) < shortest:
            pad = mel.new_full((mel.size(0), shortest - mel.size(1), mel.size(2)), floor)
            mel = torch.cat([mel, pad], dim=1)
        wavs = griffin_lim(mel, self.cfg, n_iter=self.conf.n_iter, momentum=self.conf.momentum)
        hop = self.cfg.hop_length
        return [wavs[b, : max(int(frame_lengths[b]) - 1, 0) * hop].cpu().numpy().astype(np.float32) for b in range(len(wavs))]


def build_vocoder(name: str, feature_config: FeatureConfig, model_path: Optional[str] = None, device: str = "cpu",
                  overrides: Iterable[str] = ()) -> Vocoder:
    """Instantiate the vocoder registered as ``name`` with its config: defaults plus ``key=value`` ``overrides``.

    Raises:
        ConfigError: unknown vocoder, or an override that is malformed, names an unknown key or
            has a bad value (naming ``vocoder_conf.<key>``).
    """
    entry = VOCODERS.get(name, source="--vocoder")
    data: Dict[str, Any] = {}
    for text in overrides:
        key, value = parse_override(text)
        data[key] = value
    if entry.config is None:
        if data:
            raise ConfigError(f"vocoder {name!r} takes no options, got {sorted(data)}", "--vocoder-set")
        return entry.cls(feature_config, model_path=model_path, device=device)
    conf = from_dict(entry.config, data, "vocoder_conf", "--vocoder-set")
    return entry.cls(feature_config, model_path=model_path, device=device, conf=conf)
