"""Slaney mel scale and Slaney-normalised triangular mel filterbank.

This is the filterbank librosa builds by default (``librosa.filters.mel(htk=False,
norm="slaney")``), which HiFi-GAN and most neural vocoders are trained on, so mels
computed here can feed those vocoders. Reference: Slaney, *Auditory Toolbox* (1998),
Technical Report #1998-010, Interval Research: the mel scale is linear below 1 kHz
(``mel = 3 f / 200``) and logarithmic above (27 mels per factor 6.4), and each triangle
is scaled by ``2 / (f_right - f_left)`` so every filter has unit area in Hz.
"""

from __future__ import annotations

import math
from typing import Optional

import torch

_F_SP = 200.0 / 3.0  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15 mels
_LOG_STEP = math.log(6.4) / 27.0


def hz_to_mel(freq: torch.Tensor) -> torch.Tensor:
    """Slaney (Auditory Toolbox) mel of a frequency in Hz: linear below 1 kHz, log above."""
    freq = torch.as_tensor(freq, dtype=torch.float64)
    linear = freq / _F_SP
    log = _MIN_LOG_MEL + torch.log(torch.clamp(freq, min=_MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    return torch.where(freq >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`hz_to_mel`."""
    mel = torch.as_tensor(mel, dtype=torch.float64)
    linear = mel * _F_SP
    log = _MIN_LOG_HZ * torch.exp(_LOG_STEP * (mel - _MIN_LOG_MEL))
    return torch.where(mel >= _MIN_LOG_MEL, log, linear)


def mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    fmin: float = 0.0,
    fmax: Optional[float] = None,
    dtype: torch.dtype = torch.float32,
    device: Optional[torch.device] = None,
) -> torch.Tensor:
    """Slaney-scale, Slaney-normalised triangular filterbank, shape ``(n_mels, n_fft // 2 + 1)``.

    ``n_mels + 2`` band edges are spaced uniformly on the Slaney mel scale between ``fmin``
    and ``fmax`` (default Nyquist); filter ``m`` rises linearly from edge ``m`` to edge
    ``m + 1`` and falls to edge ``m + 2`` (in Hz, evaluated at the FFT bin frequencies
    ``k * sample_rate / n_fft``), then is multiplied by ``2 / (edge[m + 2] - edge[m])``.

    Raises:
        ValueError: if ``0 <= fmin < fmax <= sample_rate / 2`` does not hold.
    """
    nyquist = sample_rate / 2.0
    top = nyquist if fmax is None else float(fmax)
    if not 0.0 <= fmin < top <= nyquist:
        raise ValueError(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={fmin}, fmax={top}, sample_rate={sample_rate}")
    fft_freqs = torch.linspace(0.0, nyquist, n_fft // 2 + 1, dtype=torch.float64)
    mel_edges = torch.linspace(hz_to_mel(torch.tensor(fmin)).item(), hz_to_mel(torch.tensor(top)).item(), n_mels + 2, dtype=torch.float64)
    hz_edges = mel_to_hz(mel_edges)
    widths = torch.diff(hz_edges)  # (n_mels + 1,)
    ramps = hz_edges[:, None] - fft_freqs[None, :]  # (n_mels + 2, n_freq)
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    weights = weights * (2.0 / (hz_edges[2:] - hz_edges[:-2]))[:, None]
    return weights.to(dtype=dtype, device=device)
