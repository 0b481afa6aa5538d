"""SpecAugment (Park et al. 2019, Sec. 2): time warping, frequency masks and time masks of a padded batch.

Defaults are those of ESPnet2's small-data ``asr1`` configs: a warp window of 5 frames, 2 frequency
masks of width 0-27 bins, 5 time masks of width 0-5 % of each utterance's length (or, with
``time_mask_width``, an absolute width range such as ``(0, 40)`` frames).

* Randomness comes from the global torch generator (``torch.rand``/``torch.randint`` without a
  generator), which the trainer seeds per rank and checkpoints: the same seed gives the same masks.
* Every mask is drawn per utterance and applied at once with ``arange`` comparisons; time masks lie
  inside each utterance's own valid length.
* Masked values are set to 0: the features are z-normalised (per-bin mean 0), so 0 is the mean,
  as Park et al. 2019 (Sec. 2, "mean value") and ESPnet do.
* Padded frames are never changed.
* The module is the identity in evaluation mode (``model.eval()``).
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from speechtools.nn.masks import lengths_to_mask


def _check_range(name: str, value: Tuple[float, float], upper: Optional[float] = None, integer: bool = True) -> Tuple:
    """``value`` as a ``(low, high)`` pair with ``0 <= low <= high (<= upper)``, else ``ValueError`` naming ``name``."""
    kinds = (int,) if integer else (int, float)
    if (
        not isinstance(value, (tuple, list)) or len(value) != 2
        or not all(isinstance(v, kinds) and not isinstance(v, bool) for v in value)
    ):
        kind = "integers" if integer else "numbers"
        raise ValueError(f"{name} must be a (low, high) pair of {kind}, got {value!r}")
    low, high = value
    if not 0 <= low <= high or (upper is not None and high > upper):
        bound = f" <= {upper}" if upper is not None else ""
        raise ValueError(f"{name} must satisfy 0 <= low <= high{bound}, got {value!r}")
    return (low, high)


def _check_count(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return value


def _uniform_int(low: torch.Tensor, high: torch.Tensor, shape: Tuple[int, ...]) -> torch.Tensor:
    """Integers drawn uniformly from ``[low, high]`` (inclusive; ``low``/``high`` broadcast to ``shape``)."""
    span = (high - low + 1).clamp(min=1).to(torch.float64)
    draw = (torch.rand(shape, dtype=torch.float64, device=low.device) * span).floor().long()
    return low + torch.minimum(draw, span.long() - 1)


def band_mask(starts: torch.Tensor, widths: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, size)`` True inside any band ``[start, start + width)`` of ``starts``/``widths`` ``(B, n)``.

    The union of the masks of Park et al. 2019 (Sec. 2), by ``arange`` comparison.
    """
    steps = torch.arange(size, device=starts.device)[None, None, :]
    inside = (steps >= starts[..., None]) & (steps < (starts + widths)[..., None])
    return inside.any(dim=1)


def draw_bands(lengths: torch.Tensor, low: torch.Tensor, high: torch.Tensor, count: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """``count`` bands per row: widths uniform in ``[low, high]`` (capped at the row's ``lengths``),
    starts uniform in ``[0, length - width]`` (Park et al. 2019, Sec. 2: ``f ~ U[0, F]``, ``f0 ~ U[0, ν - f)``).

    ``lengths``, ``low``, ``high``: ``(B,)`` long; returns ``(starts, widths)``, each ``(B, count)``.
    """
    shape = (lengths.size(0), count)
    low = torch.minimum(low, lengths)[:, None].expand(shape)
    high = torch.minimum(high, lengths)[:, None].expand(shape)
    widths = _uniform_int(low, high, shape)
    starts = _uniform_int(torch.zeros_like(widths), lengths[:, None] - widths, shape)
    return starts, widths


def time_warp(x: torch.Tensor, lengths: torch.Tensor, window: int) -> torch.Tensor:
    """Time warping (Park et al. 2019, Sec. 2; ESPnet's ``time_warp``, bicubic) of each utterance's valid frames.

    For an utterance of ``L > 2 window`` frames, a centre ``c`` is drawn uniformly from
    ``[window, L - window)`` and a new position ``w`` from ``[c - window + 1, c + window]``; frames
    ``[0, c)`` are resized to ``w`` frames and ``[c, L)`` to ``L - w``. Shorter utterances and all
    padded frames are left as they are. The draws are vectorised; the resizing loops over utterances.
    """
    if window <= 0:
        return x
    lengths = lengths.to(x.device)
    usable = lengths > 2 * window
    if not bool(usable.any()):
        return x
    batch = x.size(0)
    ones = torch.ones_like(lengths)
    centres = _uniform_int(ones * window, (lengths - window - 1).clamp(min=window), (batch,))
    warped = _uniform_int(centres - window + 1, centres + window, (batch,))
    out = x.clone()
    for i in torch.nonzero(usable).flatten().tolist():
        length, c, w = int(lengths[i]), int(centres[i]), int(warped[i])
        if c == w:
            continue
        part = x[i : i + 1, :length].unsqueeze(1)  # (1, 1, L, F)
        size = part.size(-1)
        left = F.interpolate(part[:, :, :c], size=(w, size), mode="bicubic", align_corners=False)
        right = F.interpolate(part[:, :, c:], size=(length - w, size), mode="bicubic", align_corners=False)
        out[i, :length] = torch.cat([left, right], dim=2)[0, 0]
    return out


class SpecAugment(nn.Module):
    """SpecAugment (Park et al. 2019, Sec. 2): time warp, then frequency masks, then time masks.

    Args:
        time_warp: warp window ``W`` in frames (0 disables warping).
        freq_mask_width: ``(low, high)`` width of each frequency mask in bins, drawn uniformly from
            ``low .. high`` inclusive (ESPnet draws from ``[low, high)``; here ``(0, 0)`` means no mask).
        num_freq_masks: frequency masks per utterance (``m_F``).
        time_mask_width_ratio: ``(low, high)`` width of each time mask as a fraction of the
            utterance's valid length (``floor(ratio · L)`` frames, inclusive bounds).
        num_time_masks: time masks per utterance (``m_T``).
        time_mask_width: ``(low, high)`` absolute time mask width in frames; replaces
            ``time_mask_width_ratio`` when given.

    Masks may overlap; masked values become 0 (the mean of z-normalised features).
    """

    def __init__(
        self,
        time_warp: int = 5,
        freq_mask_width: Tuple[int, int] = (0, 27),
        num_freq_masks: int = 2,
        time_mask_width_ratio: Tuple[float, float] = (0.0, 0.05),
        num_time_masks: int = 5,
        time_mask_width: Optional[Tuple[int, int]] = None,
    ) -> None:
        super().__init__()
        self.time_warp = _check_count("time_warp", time_warp)
        self.freq_mask_width = _check_range("freq_mask_width", freq_mask_width)
        self.num_freq_masks = _check_count("num_freq_masks", num_freq_masks)
        self.time_mask_width_ratio = _check_range("time_mask_width_ratio", time_mask_width_ratio, upper=1.0, integer=False)
        self.num_time_masks = _check_count("num_time_masks", num_time_masks)
        self.time_mask_width = None if time_mask_width is None else _check_range("time_mask_width", time_mask_width)

    def time_mask_bounds(self, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per-utterance ``(low, high)`` time mask widths in frames (Park et al. 2019, Sec. 2: ``t ~ U[0, T]``,
        here ``T`` = ``floor(ratio · L)`` or absolute), each ``(B,)`` long."""
        if self.time_mask_width is not None:
            low, high = self.time_mask_width
            return torch.full_like(lengths, low), torch.full_like(lengths, high)
        low, high = self.time_mask_width_ratio
        return (lengths * low).floor().long(), (lengths * high).floor().long()

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Augment ``x`` ``(B, T, F)`` whose utterances have ``lengths`` ``(B,)`` valid frames; returns ``(B, T, F)``.

        Identity in evaluation mode. Frames at or past an utterance's length are returned unchanged.
        """
        if not self.training:
            return x
        batch, frames, bins = x.shape
        lengths = lengths.to(device=x.device, dtype=torch.long)
        x = time_warp(x, lengths, self.time_warp)
        masked = torch.zeros(batch, frames, bins, dtype=torch.bool, device=x.device)
        if self.num_freq_masks:
            all_bins = torch.full_like(lengths, bins)
            low, high = self.freq_mask_width
            starts, widths = draw_bands(all_bins, torch.full_like(lengths, low), torch.full_like(lengths, high),
                                        self.num_freq_masks)
            masked |= band_mask(starts, widths, bins)[:, None, :]
        if self.num_time_masks:
            low, high = self.time_mask_bounds(lengths)
            starts, widths = draw_bands(lengths, low, high, self.num_time_masks)
            masked |= band_mask(starts, widths, frames)[:, :, None]
        masked &= lengths_to_mask(lengths, frames)[:, :, None]
        return x.masked_fill(masked, 0.0)
