"""``--vocoder priorgrad``: the PriorGrad (or DiffWave) vocoder of a trained vocoder model directory.

``--vocoder-model DIR`` is a ``speechtools train`` output of ``task: vocoder`` with ``model:
priorgrad_vocoder`` (``prior: data`` or ``standard``); ``--vocoder-set steps=6|12|50`` chooses
the sampling schedule (the reference's fast T = 6 and T = 12 schedules, or the 50 training
steps) and ``seed=N`` the sampling noise. The vocoder's feature configuration
(``feats_config.yaml`` in its directory) must have the same mel settings as the acoustic
model's; otherwise it is refused, naming each differing setting with both values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch

from speechtools.audio.extract import CONFIG_FILE
from speechtools.audio.features import FeatureConfig, mel_settings_mismatch
from speechtools.errors import ConfigError, UserError
from speechtools.train.model_dir import load_model_dir
from speechtools.tts.vocoders import VOCODERS, Vocoder

STEP_CHOICES = (6, 12, 50)


@dataclass
class PriorGradConfig:
    """Sampling settings of the ``priorgrad`` vocoder.

    Attributes:
        steps: reverse diffusion steps: 6 or 12 (the reference's fast schedules) or 50 (the training schedule).
        seed: seed of the sampling noise (outputs are reproducible for the same inputs and batches).
    """

    steps: int = 6
    seed: int = 1

    def __post_init__(self) -> None:
        if self.steps not in STEP_CHOICES:
            raise ValueError(f"steps must be one of {', '.join(map(str, STEP_CHOICES))}, got {self.steps}")


@VOCODERS.register("priorgrad", config=PriorGradConfig)
class PriorGrad(Vocoder):
    """Load a vocoder model directory once; turn batches of log-mels into waveforms (:meth:`PriorGradVocoder.infer`).

    Args:
        feature_config: the acoustic model's feature settings, checked against the vocoder's
            (``None``: no acoustic model, e.g. ``speechtools vocode``; the vocoder's own are used).
        model_path: the vocoder model directory.
        device: ``auto``, ``cpu``, ``cuda[:N]``.
        conf: :class:`PriorGradConfig`.

    Raises:
        UserError: no or not a vocoder model directory, mel settings that differ from the acoustic
            model's, or a number of steps the model has no schedule for.
    """

    needs_model = True

    def __init__(self, feature_config: Optional[FeatureConfig], model_path: Optional[str] = None, device: str = "cpu",
                 conf: Optional[PriorGradConfig] = None) -> None:
        if not model_path:
            raise UserError("the priorgrad vocoder needs a trained vocoder model directory (--vocoder-model DIR)")
        loaded = load_model_dir(model_path, device)
        model, task = loaded.model, loaded.task
        if not (callable(getattr(model, "infer", None)) and hasattr(model, "supported_steps") and hasattr(task, "feature_config")):
            raise UserError(f"not a vocoder model directory (task {loaded.config.task!r}, model {loaded.config.model!r})", model_path)
        own: FeatureConfig = task.feature_config  # type: ignore[attr-defined]
        if feature_config is not None:
            mismatch = mel_settings_mismatch(feature_config, own, "acoustic model", "vocoder")
            if mismatch:
                raise UserError(f"the vocoder's feature config differs from the acoustic model's: {mismatch}", Path(model_path) / CONFIG_FILE)
        super().__init__(own, model_path, str(loaded.device))
        self.conf = conf or PriorGradConfig()
        if self.conf.steps not in model.supported_steps():
            raise ConfigError(f"vocoder_conf.steps: this vocoder samples with {model.supported_steps()} steps, not {self.conf.steps}")
        self.model = model
        self.torch_device = loaded.device
        self.generator = torch.Generator(device=loaded.device).manual_seed(self.conf.seed)

    def __call__(self, log_mel: torch.Tensor, frame_lengths: torch.Tensor) -> List[np.ndarray]:
        """Waveforms (float32, ``frames · hop`` samples each) of a padded natural-log mel batch ``(B, T, n_mels)``."""
        if log_mel.dim() != 3 or log_mel.size(-1) != self.cfg.n_mels:
            raise UserError(f"the vocoder takes log-mels of {self.cfg.n_mels} bins, got shape {tuple(log_mel.shape)}")
        mel = log_mel.to(self.torch_device, torch.float32)
        lengths = frame_lengths.to(self.torch_device)
        padded = torch.arange(mel.size(1), device=self.torch_device).unsqueeze(0) >= lengths.unsqueeze(1)
        mel = mel.masked_fill(padded.unsqueeze(-1), math.log(self.cfg.log_floor))
        audio = self.model.infer(mel, self.conf.steps, self.generator).cpu()
        hop = self.cfg.hop_length
        return [audio[b, : int(frame_lengths[b]) * hop].numpy().astype(np.float32) for b in range(audio.size(0))]
