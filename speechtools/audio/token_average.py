"""Token-level averaging of frame features given durations (FastSpeech 2 phoneme-level pitch/energy).

As ESPnet2's ``average_by_duration`` (token mean over frames, pitch over voiced frames only,
0 when a token has none), but vectorised with cumulative sums instead of a loop over tokens.
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np
import torch

Array = Union[np.ndarray, torch.Tensor]


def token_average(values: Array, durations: Array, voiced: Optional[Array] = None) -> Array:
    """Mean of ``values`` over each token's frames: ``(frames,)`` + ``(tokens,)`` → ``(tokens,)``.

    Token ``j`` covers frames ``[c_{j-1}, c_j)`` with ``c = cumsum(durations)``; its mean is
    ``(S[c_j] - S[c_{j-1}]) / (N[c_j] - N[c_{j-1}])`` where ``S`` and ``N`` are prefix sums of the
    (voiced-masked) values and frame counts. Tokens with no (voiced) frame get 0.
    Works on NumPy arrays and torch tensors (returns the same kind, float).

    Raises:
        ValueError: if ``sum(durations) != len(values)``, a duration is negative, or ``voiced`` has another length.
    """
    if isinstance(values, torch.Tensor):
        return _token_average_torch(values, torch.as_tensor(durations, device=values.device), voiced)
    vals = np.asarray(values, dtype=np.float64).reshape(-1)
    dur = np.asarray(durations).reshape(-1).astype(np.int64)
    _check(vals.shape[0], int(dur.sum()) if dur.size else 0, bool((dur < 0).any()))
    mask = np.ones(vals.shape, dtype=np.float64) if voiced is None else _mask_np(voiced, vals.shape[0])
    ends = np.cumsum(dur)
    starts = ends - dur
    value_sums = np.concatenate([[0.0], np.cumsum(vals * mask)])
    counts = np.concatenate([[0.0], np.cumsum(mask)])
    total = value_sums[ends] - value_sums[starts]
    n = counts[ends] - counts[starts]
    out = np.where(n > 0, total / np.maximum(n, 1.0), 0.0)
    return out.astype(np.asarray(values).dtype if np.issubdtype(np.asarray(values).dtype, np.floating) else np.float32)


def _check(n_frames: int, total: int, negative: bool) -> None:
    if negative:
        raise ValueError("durations must be >= 0")
    if total != n_frames:
        raise ValueError(f"durations sum to {total} frames but there are {n_frames} frames")


def _mask_np(voiced: Array, n: int) -> np.ndarray:
    mask = np.asarray(voiced.cpu() if isinstance(voiced, torch.Tensor) else voiced).reshape(-1).astype(bool)
    if mask.shape[0] != n:
        raise ValueError(f"voiced has {mask.shape[0]} frames, values have {n}")
    return mask.astype(np.float64)


def _token_average_torch(values: torch.Tensor, durations: torch.Tensor, voiced: Optional[Array]) -> torch.Tensor:
    vals = values.reshape(-1).to(torch.float64)
    dur = durations.reshape(-1).to(torch.int64)
    _check(vals.shape[0], int(dur.sum().item()) if dur.numel() else 0, bool((dur < 0).any().item()))
    if voiced is None:
        mask = torch.ones_like(vals)
    else:
        mask = torch.as_tensor(voiced, device=vals.device).reshape(-1).to(torch.float64)
        if mask.shape[0] != vals.shape[0]:
            raise ValueError(f"voiced has {mask.shape[0]} frames, values have {vals.shape[0]}")
        mask = (mask != 0).to(torch.float64)
    zero = vals.new_zeros(1)
    ends = torch.cumsum(dur, 0)
    starts = ends - dur
    value_sums = torch.cat([zero, torch.cumsum(vals * mask, 0)])
    counts = torch.cat([zero, torch.cumsum(mask, 0)])
    total = value_sums[ends] - value_sums[starts]
    n = counts[ends] - counts[starts]
    out = torch.where(n > 0, total / n.clamp(min=1.0), torch.zeros_like(total))
    return out.to(values.dtype if torch.is_floating_point(values) else torch.float32)
