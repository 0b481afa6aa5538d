"""The PriorGrad vocoder (Lee et al., ICLR 2022, arXiv 2106.06406) and its DiffWave baseline.

A diffusion model of the waveform conditioned on the log-mel spectrogram: the DiffWave residual
network (:class:`speechtools.nn.diffwave.DiffWave`, reference size 30 layers × 64 channels,
dilation ``2^(i mod 10)``, kernel 3) predicts the noise of a noisy waveform from the diffusion
step and the mel upsampled to the waveform rate (two transposed convolutions of stride 16 for a
hop of 256, :class:`~speechtools.nn.diffwave.FrameUpsampler`).

**The prior** (``model_conf.prior``). ``data`` (PriorGrad): the diffusion ends in N(0, Σ) with
Σ = diag(σ²) and σ constant over each frame's ``hop_length`` samples, computed from the frame's
log-mel exactly as the reference code does (:func:`prior_sigma`)::

    e     = sqrt(Σ_k exp(log_mel_k))            the energy of the frame's linear-scale mel
    e     = min(e, energy_clamp)                4.0 (the reference's max_energy_override)
    top   = energy_clamp (or, with energy_clamp: null, the training set's maximum energy)
    σ     = max((e − e_min) / (top − e_min), sigma_floor)     e_min: the training set's minimum, floor 0.1

so loud frames get σ near 1 and silence σ = 0.1. ``standard`` (DiffWave): σ ≡ 1, the same code.
The loss is :func:`speechtools.nn.diffusion.prior_weighted_loss`, ``mean(((ε̂ − ε)/σ)²)``
over the valid samples, with ``ε ~ N(0, Σ)`` and a step drawn uniformly per item.

**Conditioning.** The model takes the natural-log mel as ``speechtools extract-feats`` writes it
(``log_mel``, ``(B, T, n_mels)``) and z-normalises it with the training set's per-bin mean and
standard deviation (``stats.npz``, read from the task at construction: non-persistent buffers,
so ``model.pt`` holds only weights). The reference conditions on the raw log-mel; normalised
inputs are the toolkit's convention for every model and train the small configurations faster.

**Sampling** (:meth:`PriorGradVocoder.infer`) with ``steps`` = the training schedule's length
(50: β linear from 1e-4 to 0.05) or one of the reference's fast schedules (:data:`FAST_SCHEDULES`,
T = 6 and T = 12), whose steps are mapped onto the training steps of equal noise level
(:func:`speechtools.nn.diffusion.aligned_steps`); the output is clipped to [−1, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple

import torch
from torch import nn

from speechtools.config import check_ranges
from speechtools.errors import ConfigError
from speechtools.models import MODELS
from speechtools.models.task_info import EnergyRange, VocoderInfo
from speechtools.nn.diffusion import NoiseSchedule, aligned_steps, prior_weighted_loss, q_sample, sample
from speechtools.nn.diffwave import DiffWave, FrameUpsampler

FAST_SCHEDULES: Dict[int, Tuple[float, ...]] = {
    6: (1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5),
    12: (1e-4, 5e-4, 8e-4, 1e-3, 5e-3, 8e-3, 1e-2, 5e-2, 8e-2, 0.1, 0.2, 0.5),
}
"""The reference's fast inference schedules (β lists) by number of steps."""


@dataclass
class PriorGradVocoderConfig:
    """``model_conf`` of ``model: priorgrad_vocoder`` (defaults: the reference/paper configuration).

    Attributes:
        prior: ``data`` (PriorGrad: N(0, Σ) with σ from each frame's energy) or ``standard``
            (DiffWave: N(0, I)).
        residual_layers, residual_channels, dilation_cycle, kernel_size: the residual network
            (30, 64, dilations ``2^(i mod 10)``, 3).
        step_embedding_dim, step_hidden: the diffusion-step embedding (128 sinusoids → 512 → 512).
        upsample_strides: transposed-convolution strides from frames to samples; their product
            must be the features' ``hop_length`` ([16, 16] for 256).
        train_steps, beta_start, beta_end: the training noise schedule (50 βs linear from 1e-4 to 0.05).
        energy_clamp: frame energies above it are clipped and it replaces the training set's
            maximum in the normalisation (4.0); ``null``: no clipping, the maximum is used.
        sigma_floor: smallest σ (0.1).
    """

    prior: Literal["data", "standard"] = "data"
    residual_layers: int = 30
    residual_channels: int = 64
    dilation_cycle: int = 10
    kernel_size: int = 3
    step_embedding_dim: int = 128
    step_hidden: int = 512
    upsample_strides: List[int] = field(default_factory=lambda: [16, 16])
    train_steps: int = 50
    beta_start: float = 1.0e-4
    beta_end: float = 0.05
    energy_clamp: Optional[float] = 4.0
    sigma_floor: float = 0.1

    def __post_init__(self) -> None:
        check_ranges(self, positive=("residual_layers", "residual_channels", "dilation_cycle", "kernel_size",
                                     "step_embedding_dim", "step_hidden", "train_steps"))
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        if self.step_embedding_dim < 4 or self.step_embedding_dim % 2:
            raise ValueError(f"step_embedding_dim must be even and >= 4, got {self.step_embedding_dim}")
        if not self.upsample_strides or any(s < 2 or s % 2 for s in self.upsample_strides):
            raise ValueError(f"upsample_strides must be even numbers >= 2, got {self.upsample_strides}")
        if not 0.0 < self.beta_start < self.beta_end < 1.0:
            raise ValueError(f"need 0 < beta_start < beta_end < 1, got {self.beta_start}, {self.beta_end}")
        if self.energy_clamp is not None and not (math.isfinite(self.energy_clamp) and self.energy_clamp > 0):
            raise ValueError(f"energy_clamp must be a positive number or null, got {self.energy_clamp}")
        if not 0.0 < self.sigma_floor <= 1.0:
            raise ValueError(f"sigma_floor must lie in (0, 1], got {self.sigma_floor}")


def mel_energy(log_mel: torch.Tensor) -> torch.Tensor:
    """Energy of each frame's linear-scale mel, ``sqrt(Σ_k exp(log_mel_k))``: ``(..., T, n_mels)`` → ``(..., T)``."""
    return log_mel.exp().sum(-1).sqrt()


def prior_sigma(log_mel: torch.Tensor, energy_min: float, energy_max: float, clamp: Optional[float] = 4.0,
                floor: float = 0.1) -> torch.Tensor:
    """PriorGrad's per-frame σ of the vocoder prior: ``(..., T, n_mels)`` natural-log mel → ``(..., T)``.

    ``max((min(e, clamp) − energy_min) / (top − energy_min), floor)`` with ``e`` = :func:`mel_energy`
    and ``top = clamp`` (``energy_max`` when ``clamp`` is ``None``), as the reference code computes it.
    """
    energy = mel_energy(log_mel)
    top = energy_max if clamp is None else clamp
    if clamp is not None:
        energy = energy.clamp(max=clamp)
    return ((energy - energy_min) / (top - energy_min)).clamp(min=floor)


@MODELS.register("priorgrad_vocoder", config=PriorGradVocoderConfig)
class PriorGradVocoder(nn.Module):
    """Mel-conditioned diffusion vocoder; ``prior: data`` is PriorGrad, ``prior: standard`` DiffWave.

    Args:
        conf: the validated config.
        n_mels, hop_length: the feature grid (from the task).
        mel_mean, mel_std: per-bin log-mel statistics of the training set.
        energy: the training set's frame-energy range (σ normalisation).
    """

    def __init__(self, conf: PriorGradVocoderConfig, n_mels: int, hop_length: int, mel_mean: Sequence[float],
                 mel_std: Sequence[float], energy: EnergyRange) -> None:
        super().__init__()
        strides = list(conf.upsample_strides)
        if math.prod(strides) != hop_length:
            raise ConfigError(f"model_conf.upsample_strides {strides} multiply to {math.prod(strides)}, but the features' "
                              f"hop_length is {hop_length}: choose strides whose product is the hop")
        if conf.prior == "data" and conf.energy_clamp is not None and conf.energy_clamp <= energy.energy_min:
            raise ConfigError(f"model_conf.energy_clamp ({conf.energy_clamp}) must exceed the training set's smallest frame "
                              f"energy ({energy.energy_min:.4g}); raise it or set it to null")
        if len(mel_mean) != n_mels or len(mel_std) != n_mels:
            raise ConfigError(f"the mel statistics have {len(mel_mean)} bins, the features {n_mels}")
        self.conf = conf
        self.n_mels = n_mels
        self.hop_length = hop_length
        self.register_buffer("mel_mean", torch.tensor(list(mel_mean), dtype=torch.float32), persistent=False)
        self.register_buffer("mel_std", torch.tensor(list(mel_std), dtype=torch.float32), persistent=False)
        self.energy = energy
        self.schedule = NoiseSchedule.linear(conf.train_steps, conf.beta_start, conf.beta_end)
        self.upsampler = FrameUpsampler(strides)
        self.net = DiffWave(n_mels, conf.residual_layers, conf.residual_channels, conf.dilation_cycle, conf.train_steps,
                            conf.step_embedding_dim, conf.step_hidden, conf.kernel_size)

    @classmethod
    def build_model(cls, conf: PriorGradVocoderConfig, task: VocoderInfo) -> "PriorGradVocoder":
        """The construction rule: the feature grid, the mel statistics and the energy range come from the task."""
        mean, std = task.mel_mean_std()
        return cls(conf, task.n_mels, task.hop_length, mean, std, task.energy_range())

    # ------------------------------------------------------------------ conditioning and prior
    def frame_sigma(self, log_mel: torch.Tensor) -> torch.Tensor:
        """σ of each frame ``(B, T)`` (:func:`prior_sigma`; ones for ``prior: standard``)."""
        if self.conf.prior == "standard":
            return torch.ones(log_mel.shape[:-1], dtype=log_mel.dtype, device=log_mel.device)
        return prior_sigma(log_mel, self.energy.energy_min, self.energy.energy_max, self.conf.energy_clamp, self.conf.sigma_floor)

    def sample_sigma(self, log_mel: torch.Tensor) -> torch.Tensor:
        """σ of each waveform sample ``(B, T·hop)``: each frame's σ over its ``hop_length`` samples."""
        return self.frame_sigma(log_mel).repeat_interleave(self.hop_length, dim=1)

    def condition(self, log_mel: torch.Tensor) -> torch.Tensor:
        """The normalised mel at the waveform rate, ``(B, n_mels, T·hop)``."""
        mel = (log_mel - self.mel_mean) / self.mel_std
        return self.upsampler(mel.transpose(1, 2))

    def predict_noise(self, x_t: torch.Tensor, step: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """ε̂ for noisy waveforms ``x_t`` ``(B, L)`` at (fractional) training steps ``(B,)`` given :meth:`condition`'s output."""
        return self.net(x_t.unsqueeze(1), step, cond).squeeze(1)

    def _check_mel(self, log_mel: torch.Tensor) -> None:
        if log_mel.dim() != 3 or log_mel.size(-1) != self.n_mels:
            raise ValueError(f"expected a log-mel of shape (batch, frames, {self.n_mels}), got {tuple(log_mel.shape)}")

    # ------------------------------------------------------------------ training
    def forward(self, audio: torch.Tensor, log_mel: torch.Tensor, **unused: Any) -> Dict[str, torch.Tensor]:
        """Noise a batch of waveform segments at random steps and predict the noise.

        ``audio`` ``(B, T·hop)``; ``log_mel`` ``(B, T, n_mels)`` (natural log, not normalised).
        Returns ``eps_hat``, ``eps`` (the prior noise added) and ``sigma`` (per sample). Training
        draws the steps and noise from the global generator (which the trainer checkpoints); in
        eval mode (validation) they come from a generator seeded with 0, so the validation loss
        is comparable across steps.
        """
        self._check_mel(log_mel)
        if audio.shape != (log_mel.size(0), log_mel.size(1) * self.hop_length):
            raise ValueError(f"audio {tuple(audio.shape)} does not span the {log_mel.size(1)} frames of the mel")
        sigma = self.sample_sigma(log_mel)
        # validation (eval mode): the same steps and noise every time, and the global generator untouched
        generator = None if self.training else torch.Generator(device=audio.device).manual_seed(0)
        t = torch.randint(0, self.schedule.num_steps, (audio.size(0),), device=audio.device, generator=generator)
        z = torch.randn(audio.shape, device=audio.device, dtype=audio.dtype, generator=generator)
        x_t, eps = q_sample(audio, t, self.schedule, sigma, z=z)
        eps_hat = self.predict_noise(x_t, t.float(), self.condition(log_mel))
        return {"eps_hat": eps_hat, "eps": eps, "sigma": sigma}

    def loss(self, out: Dict[str, torch.Tensor], samples: Optional[torch.Tensor] = None, **unused: Any) -> Dict[str, torch.Tensor]:
        """``{"loss": mean(((ε̂ − ε)/σ)²)}`` over the valid samples (``samples``: valid count per item; padding excluded)."""
        mask = None
        if samples is not None:
            positions = torch.arange(out["eps"].size(1), device=out["eps"].device)
            mask = positions.unsqueeze(0) < samples.to(positions.device).unsqueeze(1)
        return {"loss": prior_weighted_loss(out["eps_hat"], out["eps"], out["sigma"], mask)}

    # ------------------------------------------------------------------ inference
    def supported_steps(self) -> List[int]:
        """The numbers of sampling steps :meth:`infer` accepts."""
        return sorted(set(FAST_SCHEDULES) | {self.schedule.num_steps})

    def inference_schedule(self, steps: int) -> Tuple[NoiseSchedule, torch.Tensor]:
        """The β schedule of ``steps`` sampling steps and the training step each is conditioned on."""
        if steps == self.schedule.num_steps:
            return self.schedule, torch.arange(steps, dtype=torch.float32)
        if steps not in FAST_SCHEDULES:
            raise ValueError(f"{steps} sampling steps: choose one of {self.supported_steps()}")
        fast = NoiseSchedule.from_list(FAST_SCHEDULES[steps])
        return fast, aligned_steps(self.schedule, fast)

    def infer(self, log_mel: torch.Tensor, steps: int = 6, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Waveforms ``(B, T·hop)`` in [−1, 1] of natural-log mels ``(B, T, n_mels)`` by ``steps`` reverse steps.

        ``generator`` (on the mel's device) makes the sampling noise reproducible.
        """
        self._check_mel(log_mel)
        schedule, step_index = self.inference_schedule(steps)
        with torch.inference_mode():
            cond = self.condition(log_mel)
            sigma = self.sample_sigma(log_mel)
            audio = sample(lambda x, s: self.predict_noise(x, s, cond), tuple(sigma.shape), schedule, sigma, 0.0, step_index,
                           generator, device=log_mel.device)
        return audio.clamp(-1.0, 1.0)
