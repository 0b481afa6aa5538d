"""Length regulator of FastSpeech (Ren et al., 2019, arXiv 1905.09263, Sec. 3.2).

Each token's hidden state is repeated ``d_i`` times so that the sequence has as many
positions as mel frames; speed is controlled by scaling durations with ``alpha``
(``round(alpha * d_i)``, rounding halves up as in the paper's example: D = [2, 2, 3, 1],
alpha = 1.3 -> [3, 3, 4, 1], alpha = 0.5 -> [1, 1, 2, 1]). Expansion is vectorised: each
output frame finds its token with ``searchsorted`` on the cumulative durations.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

from speechtools.nn.masks import lengths_to_mask


def scale_durations(durations: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``floor(alpha * d + 0.5)`` as integers (FastSpeech Sec. 3.2 speed control)."""
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    scaled = torch.floor(durations.double() * alpha + 0.5) if alpha != 1.0 else durations.double()
    return scaled.clamp(min=0).long()


def regulate_length(
    hidden: torch.Tensor, durations: torch.Tensor, max_len: Optional[int] = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Expand ``hidden`` ``(batch, T_text, dim)`` by integer ``durations`` ``(batch, T_text)``.

    Returns ``(expanded (batch, T_frames, dim), frame_lengths (batch,))``; padded frames are 0.
    Padded tokens must have duration 0.
    """
    durations = durations.long().clamp(min=0)
    cumulative = durations.cumsum(dim=1)
    frame_lengths = cumulative[:, -1] if durations.size(1) else torch.zeros(hidden.size(0), dtype=torch.long)
    total = int(frame_lengths.max()) if frame_lengths.numel() else 0
    if max_len is not None:
        total = max(total, max_len)
    frames = torch.arange(total, device=hidden.device).unsqueeze(0).expand(hidden.size(0), -1)
    token_index = torch.searchsorted(cumulative.contiguous(), frames.contiguous(), right=True)
    token_index = token_index.clamp(max=max(hidden.size(1) - 1, 0))
    expanded = torch.gather(hidden, 1, token_index.unsqueeze(-1).expand(-1, -1, hidden.size(2)))
    mask = lengths_to_mask(frame_lengths, total).unsqueeze(-1)
    return expanded * mask.to(expanded.dtype), frame_lengths


def token_mean(frames: torch.Tensor, durations: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`regulate_length`: the mean of ``frames`` ``(batch, T_frames, C)`` over each
    token's ``durations`` ``(batch, T_text)`` frames, ``(batch, T_text, C)``; 0 for tokens without frames.

    Token ``j`` covers frames ``[c_{j-1}, c_j)`` with ``c = cumsum(durations)``; its mean comes from
    prefix sums over the frames (AdaSpeech's token-averaged mel, arXiv 2103.00993 Sec. 2.2).
    Frames beyond ``sum(durations)`` are ignored.
    """
    durations = durations.long().clamp(min=0)
    ends = durations.cumsum(dim=1).clamp(max=frames.size(1))
    starts = (ends - durations).clamp(min=0)
    prefix = torch.cat([frames.new_zeros(frames.size(0), 1, frames.size(2)), frames.cumsum(dim=1)], dim=1)
    channels = frames.size(2)
    total = (torch.gather(prefix, 1, ends.unsqueeze(-1).expand(-1, -1, channels))
             - torch.gather(prefix, 1, starts.unsqueeze(-1).expand(-1, -1, channels)))
    count = (ends - starts).unsqueeze(-1).to(frames.dtype)
    return total / count.clamp(min=1.0)


class LengthRegulator(nn.Module):
    """Module wrapper of :func:`regulate_length` with the FastSpeech speed factor ``alpha``."""

    def forward(
        self, hidden: torch.Tensor, durations: torch.Tensor, alpha: float = 1.0, max_len: Optional[int] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        return regulate_length(hidden, scale_durations(durations, alpha), max_len)
