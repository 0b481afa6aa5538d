"""Padding masks from lengths (vectorised; no Python loops over the batch) and right-padded batches."""

from __future__ import annotations

from typing import Optional, Sequence

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


def pad_rows(rows: Sequence[Sequence[object]], value: float, dtype: torch.dtype) -> torch.Tensor:
    """Right-padded ``(len(rows), longest)`` tensor of variable-length rows (lists or arrays), ``value`` after each row."""
    out = torch.full((len(rows), max(len(r) for r in rows)), value, dtype=dtype)
    for k, row in enumerate(rows):
        out[k, : len(row)] = torch.as_tensor(row, dtype=dtype)
    return out
