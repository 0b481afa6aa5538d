"""Padding masks from lengths (vectorised; no Python loops over the batch)."""

from __future__ import annotations

from typing import Optional

import torch


def lengths_to_padding_mask(lengths: torch.Tensor, max_len: Optional[int] = None) -> torch.Tensor:
    """``(batch, max_len)`` bool mask, True at padded positions (PyTorch ``key_padding_mask`` convention)."""
    if max_len is None:
        max_len = int(lengths.max()) if lengths.numel() else 0
    steps = torch.arange(max_len, device=lengths.device)
    return steps.unsqueeze(0) >= lengths.unsqueeze(1)


def lengths_to_mask(lengths: torch.Tensor, max_len: Optional[int] = None) -> torch.Tensor:
    """``(batch, max_len)`` bool mask, True at valid positions."""
    return ~lengths_to_padding_mask(lengths, max_len)
