"""Griffin-Lim phase reconstruction from a log-mel spectrogram: the dependency-free vocoder.

1. Mel to linear magnitude: ``|S| ~= max(pinv(M) exp(log_mel), 0)`` with ``M`` the Slaney
   filterbank (least squares through the Moore-Penrose pseudo-inverse, negatives clipped).
2. Fast Griffin-Lim (Perraudin, Balazs & Søndergaard 2013, "A fast Griffin-Lim algorithm",
   Algorithm 2): the Griffin & Lim (1984) projection ``c <- STFT(ISTFT(|S| e^{j angle(c)}))``
   with the momentum step ``c_n = t_n + alpha (t_n - t_{n-1})`` (t_n the projection); ``momentum=0`` gives
   the original algorithm. Batched over utterances, runs on the input's device.
"""

from __future__ import annotations

import torch

from speechtools.audio.features import FeatureConfig
from speechtools.audio.mel import mel_filterbank
from speechtools.audio.stft import istft, stft


def mel_to_linear(log_mel: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """Linear magnitude ``(B, n_fft // 2 + 1, frames)`` from log-mel ``(B, frames, n_mels)`` via the pseudo-inverse."""
    basis = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax, dtype=torch.float64, device=log_mel.device)
    inverse = torch.linalg.pinv(basis).to(log_mel.dtype)  # (n_freq, n_mels)
    return torch.clamp(torch.matmul(inverse, torch.exp(log_mel).transpose(1, 2)), min=0.0)


def griffin_lim(
    log_mel: torch.Tensor,
    cfg: FeatureConfig,
    n_iter: int = 32,
    momentum: float = 0.99,
    seed: int = 0,
) -> torch.Tensor:
    """Waveform ``(B, (frames - 1) * hop)`` from log-mel ``(B, frames, n_mels)`` (or ``(frames, n_mels)`` → ``(samples,)``).

    Args:
        log_mel: natural-log mel spectrogram as produced by :func:`speechtools.audio.features.log_mel`.
        cfg: the feature configuration the mel was computed with.
        n_iter: Griffin-Lim iterations (more = fewer phase artefacts; 32 is a usual compromise).
        momentum: fast Griffin-Lim's alpha in [0, 1); 0.99 as recommended by Perraudin et al.
        seed: seed of the random initial phase (a local generator; results are reproducible).
    """
    if n_iter < 0:
        raise ValueError(f"n_iter must be >= 0, got {n_iter}")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    single = log_mel.dim() == 2
    mel = log_mel.unsqueeze(0) if single else log_mel
    if mel.dim() != 3 or mel.shape[-1] != cfg.n_mels:
        raise ValueError(f"expected log-mel of shape (B, frames, {cfg.n_mels}), got {tuple(log_mel.shape)}")
    mel = mel.to(torch.float32) if not torch.is_floating_point(mel) else mel
    magnitude = mel_to_linear(mel, cfg)
    length = (mel.shape[1] - 1) * cfg.hop_length
    generator = torch.Generator(device=mel.device).manual_seed(seed)
    phase = torch.rand(magnitude.shape, generator=generator, device=mel.device, dtype=magnitude.dtype) * (2 * torch.pi)
    angles = torch.polar(torch.ones_like(magnitude), phase)
    previous = torch.zeros_like(angles)
    for _ in range(n_iter):
        wav = istft(magnitude * angles, cfg.n_fft, cfg.hop_length, cfg.win_length, length)
        rebuilt = stft(wav, cfg.n_fft, cfg.hop_length, cfg.win_length)
        accelerated = rebuilt - (momentum / (1.0 + momentum)) * previous
        angles = accelerated / (accelerated.abs() + 1e-16)
        previous = rebuilt
    wav = istft(magnitude * angles, cfg.n_fft, cfg.hop_length, cfg.win_length, length)
    return wav[0] if single else wav


def spectral_convergence(target_magnitude: torch.Tensor, wav: torch.Tensor, cfg: FeatureConfig) -> torch.Tensor:
    """``|| |S| - |STFT(x)| ||_F / || |S| ||_F`` per batch item (Sturmel & Daudet 2011), ``(B,)``."""
    rebuilt = stft(wav if wav.dim() == 2 else wav.unsqueeze(0), cfg.n_fft, cfg.hop_length, cfg.win_length).abs()
    target = target_magnitude if target_magnitude.dim() == 3 else target_magnitude.unsqueeze(0)
    frames = min(rebuilt.shape[-1], target.shape[-1])
    diff = torch.linalg.vector_norm(target[..., :frames] - rebuilt[..., :frames], dim=(-2, -1))
    return diff / torch.linalg.vector_norm(target[..., :frames], dim=(-2, -1)).clamp(min=1e-12)
