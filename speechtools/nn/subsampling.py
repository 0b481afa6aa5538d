"""Convolutional front-end of a speech encoder: ESPnet's ``Conv2dSubsampling`` (time ×4).

Two 3×3 convolutions with stride 2 over the (time, frequency) plane of the features, each
followed by ReLU, then a linear projection of the flattened channels × frequencies to the model
dimension, the absolute sinusoidal position encoding of Vaswani et al. 2017 (Sec. 3.5, input
scaled by sqrt(dim)) and dropout. This is the "convolution subsampling" block in front of the
Conformer blocks of Gulati et al. 2020 (Fig. 1) and of ESPnet's Transformer/Conformer encoders.

Output frame ``t'`` sees input frames ``4 t' .. 4 t' + 6``, so with the lengths of
:meth:`Conv2dSubsampling.output_length` every valid output frame depends on valid input frames
only: padding never leaks into a shorter utterance's outputs.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn

from speechtools.nn.positional import SinusoidalPositionalEncoding

MIN_FRAMES = 7  # the fewest input frames (time or frequency) that give one output frame


class Conv2dSubsampling(nn.Module):
    """Conv2d ×4 subsampling (ESPnet ``Conv2dSubsampling``; Gulati et al. 2020, Fig. 1, "Convolution Subsampling").

    ``Conv2d(1, dim, 3, stride 2) → ReLU → Conv2d(dim, dim, 3, stride 2) → ReLU →
    Linear(dim · F', dim)`` with ``F' = ((idim - 1) // 2 - 1) // 2``, then ``x · sqrt(dim) + PE``
    (Vaswani et al. 2017, Sec. 3.5) and dropout.

    Args:
        idim: feature bins per input frame (e.g. 80 mel bins); at least 7.
        dim: model dimension.
        dropout: dropout after the position encoding.
        channels: convolution channels (default ``dim``, ESPnet's choice). Fewer channels cut the
            cost of the second convolution by ``(channels / dim)²`` (the CPU configs use 32).
    """

    def __init__(self, idim: int, dim: int, dropout: float = 0.0, channels: Optional[int] = None) -> None:
        super().__init__()
        if idim < MIN_FRAMES:
            raise ValueError(f"idim must be >= {MIN_FRAMES} to subsample the feature axis, got {idim}")
        channels = dim if channels is None else channels
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=2), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2), nn.ReLU(),
        )
        self.out = nn.Linear(channels * (((idim - 1) // 2 - 1) // 2), dim)
        self.pos = SinusoidalPositionalEncoding(dim, scale_input=True)
        self.drop = nn.Dropout(dropout)

    @staticmethod
    def output_length(lengths: torch.Tensor) -> torch.Tensor:
        """Frames left of ``lengths`` input frames: ``((L - 1) // 2 - 1) // 2``, clamped at 0.

        The output size of two unpadded size-3, stride-2 convolutions (floor division).
        """
        lengths = torch.as_tensor(lengths)
        half = torch.div(lengths - 1, 2, rounding_mode="floor")
        return torch.div(half - 1, 2, rounding_mode="floor").clamp(min=0)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Subsample ``x`` ``(B, T, idim)`` with valid ``lengths`` ``(B,)`` → ``(B, T', dim)`` and ``(B,)`` lengths.

        ``T' = ((T - 1) // 2 - 1) // 2``; raises ``ValueError`` when ``T < 7`` (no output frame).
        Frames of the output past an utterance's length are not zeroed here.
        """
        if x.size(1) < MIN_FRAMES:
            raise ValueError(
                f"input of {x.size(1)} frames is too short for conv2d x4 subsampling: it needs >= {MIN_FRAMES}"
            )
        h = self.conv(x.unsqueeze(1))  # (B, dim, T', F')
        b, c, t, f = h.shape
        h = self.out(h.transpose(1, 2).reshape(b, t, c * f))
        return self.drop(self.pos(h)), self.output_length(lengths)
