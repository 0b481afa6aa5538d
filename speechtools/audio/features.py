"""Frame-level acoustic features: log-mel spectrogram, energy and F0, all on one frame grid.

Every feature of an utterance of ``n`` samples has exactly :func:`num_frames` ``= n // hop + 1``
frames, frame ``i`` centred on sample ``i * hop`` (see :mod:`speechtools.audio.stft`).

* log-mel: ``log(max(M |STFT|, 1e-5))`` with ``M`` the Slaney mel filterbank — the
  HiFi-GAN convention (Kong et al. 2020, ``meldataset.py``), so features feed standard vocoders.
* energy: L2 norm of each magnitude frame (FastSpeech 2, Ren et al. 2021, §2.3).
* F0: Praat's autocorrelation tracker (Boersma 1993) resampled to the frame grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Tuple, Union

import numpy as np
import torch

from speechtools.audio.energy import frame_energy
from speechtools.audio.mel import mel_filterbank
from speechtools.audio.pitch import continuous_log_f0, praat_f0
from speechtools.audio.stft import stft, stft_num_frames

__all__ = ["FeatureConfig", "MEL_SETTINGS", "mel_setting_differences", "mel_settings_mismatch", "num_frames", "log_mel", "energy", "log_mel_and_energy", "f0",
           "continuous_log_f0"]

ArrayLike = Union[torch.Tensor, np.ndarray]


@dataclass(frozen=True)
class FeatureConfig:
    """Feature extraction settings (``conf/feats/mel22k.yaml`` holds the defaults).

    Attributes:
        sample_rate: expected audio rate in Hz; other rates are an error unless ``resample``.
        n_fft: FFT size in samples.
        hop_length: frame step in samples.
        win_length: Hann window length in samples (``<= n_fft``).
        fmin, fmax: mel filterbank range in Hz (``fmax: null`` means Nyquist).
        n_mels: number of mel bands.
        log_floor: mel amplitudes are clamped to at least this before the natural log.
        f0_min, f0_max: pitch tracker floor and ceiling in Hz.
        voicing_threshold: Praat's voicing threshold.
        resample: convert audio at another rate with soxr instead of failing.
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    fmin: float = 0.0
    fmax: Optional[float] = 8000.0
    n_mels: int = 80
    log_floor: float = 1e-5
    f0_min: float = 80.0
    f0_max: float = 400.0
    voicing_threshold: float = 0.45
    resample: bool = False

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "hop_length", "win_length", "n_mels"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length ({self.win_length}) must be <= n_fft ({self.n_fft})")
        top = self.sample_rate / 2 if self.fmax is None else self.fmax
        if not 0 <= self.fmin < top <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, fmax={self.fmax}")
        if self.log_floor <= 0:
            raise ValueError(f"log_floor must be > 0, got {self.log_floor}")
        if not 0 < self.f0_min < self.f0_max:
            raise ValueError(f"need 0 < f0_min < f0_max, got {self.f0_min}, {self.f0_max}")
        if not 0 <= self.voicing_threshold <= 1:
            raise ValueError(f"voicing_threshold must be in [0, 1], got {self.voicing_threshold}")


MEL_SETTINGS = ("sample_rate", "n_fft", "hop_length", "win_length", "fmin", "fmax", "n_mels", "log_floor")
"""The settings that decide the log-mel (the F0 tracker's and ``resample`` do not)."""


def mel_setting_differences(a: FeatureConfig, b: FeatureConfig) -> List[Tuple[str, Any, Any]]:
    """``(name, value in a, value in b)`` for each of :data:`MEL_SETTINGS` on which ``a`` and ``b`` differ."""
    return [(name, getattr(a, name), getattr(b, name)) for name in MEL_SETTINGS if getattr(a, name) != getattr(b, name)]


def mel_settings_mismatch(a: FeatureConfig, b: FeatureConfig, a_name: str, b_name: str) -> Optional[str]:
    """``"hop_length 200 (a_name) vs 256 (b_name), ..."`` naming every differing mel setting, or ``None`` if they agree."""
    diffs = mel_setting_differences(a, b)
    if not diffs:
        return None
    return ", ".join(f"{name} {x} ({a_name}) vs {y} ({b_name})" for name, x, y in diffs)


def num_frames(n_samples: int, cfg: FeatureConfig) -> int:
    """Frame count of every feature of an ``n_samples`` signal: ``n_samples // hop_length + 1``."""
    return stft_num_frames(n_samples, cfg.hop_length)


def _as_batch(wav: ArrayLike) -> Tuple[torch.Tensor, bool]:
    x = torch.as_tensor(wav)
    if not torch.is_floating_point(x):
        raise ValueError(f"expected a floating-point waveform, got {x.dtype}")
    if x.dim() == 1:
        return x.unsqueeze(0), True
    if x.dim() == 2:
        return x, False
    raise ValueError(f"expected a waveform of shape (T,) or (B, T), got {tuple(x.shape)}")


def log_mel_and_energy(wav: ArrayLike, cfg: FeatureConfig) -> Tuple[torch.Tensor, torch.Tensor]:
    """Log-mel ``(B, frames, n_mels)`` and energy ``(B, frames)`` from one STFT of ``(B, T)`` audio.

    A 1-D input ``(T,)`` gives ``(frames, n_mels)`` and ``(frames,)``. Runs on the input's device.
    """
    x, single = _as_batch(wav)
    magnitude = stft(x, cfg.n_fft, cfg.hop_length, cfg.win_length).abs()  # (B, F, frames)
    basis = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax, dtype=magnitude.dtype, device=magnitude.device)
    mel = torch.matmul(basis, magnitude).transpose(1, 2)
    logmel = torch.log(torch.clamp(mel, min=cfg.log_floor))
    power = frame_energy(magnitude)
    if single:
        return logmel[0], power[0]
    return logmel, power


def log_mel(wav: ArrayLike, cfg: FeatureConfig) -> torch.Tensor:
    """Natural-log Slaney mel spectrogram (HiFi-GAN convention): ``(B, T)`` → ``(B, frames, n_mels)``, ``(T,)`` → ``(frames, n_mels)``."""
    return log_mel_and_energy(wav, cfg)[0]


def energy(wav: ArrayLike, cfg: FeatureConfig) -> torch.Tensor:
    """Frame energy, the L2 norm of each STFT magnitude frame (FastSpeech 2 §2.3): ``(B, T)`` → ``(B, frames)``."""
    x, single = _as_batch(wav)
    power = frame_energy(stft(x, cfg.n_fft, cfg.hop_length, cfg.win_length).abs())
    return power[0] if single else power


def f0(wav: ArrayLike, cfg: FeatureConfig) -> Tuple[np.ndarray, np.ndarray]:
    """F0 in Hz (0 where unvoiced) and voiced flags, each ``(num_frames(len(wav)),)``, by Praat's
    autocorrelation method (Boersma 1993) on the mel frame grid."""
    signal = wav.detach().cpu().numpy() if isinstance(wav, torch.Tensor) else np.asarray(wav)
    if signal.ndim != 1:
        raise ValueError(f"f0 takes one waveform of shape (T,), got {signal.shape}")
    return praat_f0(
        signal,
        cfg.sample_rate,
        cfg.hop_length,
        num_frames(signal.size, cfg),
        cfg.f0_min,
        cfg.f0_max,
        cfg.voicing_threshold,
    )
