"""Frame energy as in FastSpeech 2 (Ren et al. 2021, §2.3): the L2 norm of each STFT frame's magnitude."""

from __future__ import annotations

import torch


def frame_energy(magnitude: torch.Tensor) -> torch.Tensor:
    """``e_i = sqrt(sum_k |X[k, i]|^2)`` for a magnitude spectrogram ``(B, n_freq, frames)`` → ``(B, frames)``."""
    return torch.linalg.vector_norm(magnitude, ord=2, dim=-2)
