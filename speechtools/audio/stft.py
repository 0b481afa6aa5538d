"""Short-time Fourier transform with the framing every feature in speechtools shares.

Framing (librosa's default, ``center=True``): the signal is reflect-padded by
``n_fft // 2`` samples on both sides, so frame ``i`` is centred on sample ``i * hop``
and a signal of ``n`` samples has ``n // hop + 1`` frames. The analysis window is a
periodic Hann window of ``win_length`` samples, zero-padded to ``n_fft`` in the middle
(as ``torch.stft`` and ``librosa.stft`` do).
"""

from __future__ import annotations

import torch


def stft_num_frames(n_samples: int, hop_length: int) -> int:
    """Number of STFT frames of a signal of ``n_samples`` under centred framing: ``n // hop + 1``."""
    if n_samples < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    return n_samples // hop_length + 1


def hann_window(win_length: int, device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Periodic Hann window ``0.5 - 0.5 cos(2 pi n / N)``, ``n = 0..N-1`` (the DFT-even window)."""
    return torch.hann_window(win_length, periodic=True, device=device, dtype=dtype)


def stft(wav: torch.Tensor, n_fft: int, hop_length: int, win_length: int) -> torch.Tensor:
    """Complex STFT of a batch ``(B, T)`` → ``(B, n_fft // 2 + 1, frames)`` with centred reflect-padded frames.

    Implements ``X[k, i] = sum_n w[n] x[n + i*hop - n_fft/2] exp(-2 pi j k n / n_fft)``.

    Raises:
        ValueError: if the signal is too short for reflect padding (``T <= n_fft // 2``).
    """
    if wav.dim() != 2:
        raise ValueError(f"expected a (batch, samples) tensor, got shape {tuple(wav.shape)}")
    if wav.shape[-1] <= n_fft // 2:
        raise ValueError(f"signal of {wav.shape[-1]} samples is too short for n_fft={n_fft} (need more than {n_fft // 2})")
    window = hann_window(win_length, device=wav.device, dtype=wav.dtype)
    return torch.stft(
        wav,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )


def istft(spec: torch.Tensor, n_fft: int, hop_length: int, win_length: int, length: int) -> torch.Tensor:
    """Inverse of :func:`stft` by weighted overlap-add (Griffin & Lim 1984, eq. 6): ``(B, F, frames)`` → ``(B, length)``."""
    window = hann_window(win_length, device=spec.device, dtype=spec.real.dtype)
    return torch.istft(
        spec,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=True,
        normalized=False,
        onesided=True,
        length=length,
    )
