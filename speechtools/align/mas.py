"""Monotonic alignment search (MAS) of Glow-TTS (Kim et al., 2020, arXiv 2005.11129, Alg. 1).

Given a score ``value[b, x, y]`` of frame ``y`` under token ``x``, MAS finds the monotonic,
surjective path through the ``(T_text, T_mel)`` grid that starts at ``(0, 0)``, ends at
``(T_text - 1, T_mel - 1)`` and at each frame either stays on the same token or moves to the
next one, maximising the summed score. The dynamic program

    Q[x, y] = value[x, y] + max(Q[x, y - 1], Q[x - 1, y - 1])

runs over frames only; the batch and text axes are tensor operations, and so is the
backtracking (one step per frame for the whole batch). Every token gets at least one frame,
so ``T_mel >= T_text`` is required for each item.
"""

from __future__ import annotations

import torch

from speechtools.nn.masks import lengths_to_mask


def maximum_path(value: torch.Tensor, text_lengths: torch.Tensor, mel_lengths: torch.Tensor) -> torch.Tensor:
    """Hard monotonic alignment (Glow-TTS Alg. 1) as a 0/1 tensor ``(batch, T_text, T_mel)``.

    Args:
        value: scores ``(batch, T_text, T_mel)``; padded positions are ignored.
        text_lengths: ``(batch,)`` number of tokens per item.
        mel_lengths: ``(batch,)`` number of frames per item (each ``>= text_lengths``).

    Raises:
        ValueError: if an item has fewer frames than tokens or no token.
    """
    if value.dim() != 3:
        raise ValueError(f"value must be (batch, T_text, T_mel), got {tuple(value.shape)}")
    text_lengths = text_lengths.to(value.device).long()
    mel_lengths = mel_lengths.to(value.device).long()
    if bool((text_lengths < 1).any()) or bool((mel_lengths < text_lengths).any()):
        raise ValueError("monotonic alignment needs 1 <= tokens <= frames for every item")
    batch, t_text, t_mel = value.shape
    with torch.no_grad():
        scores = value.detach().double()
        text_mask = lengths_to_mask(text_lengths, t_text)
        neg_inf = torch.tensor(float("-inf"), dtype=scores.dtype, device=scores.device)
        frame_mask = lengths_to_mask(mel_lengths, t_mel)
        scores = torch.where(frame_mask.unsqueeze(1), scores, torch.zeros_like(scores))
        scores = torch.where(text_mask.unsqueeze(-1), scores, neg_inf)
        from_previous = torch.zeros(batch, t_text, t_mel, dtype=torch.bool, device=scores.device)
        q = torch.full((batch, t_text), float("-inf"), dtype=scores.dtype, device=scores.device)
        q[:, 0] = scores[:, 0, 0]
        pad = torch.full((batch, 1), float("-inf"), dtype=scores.dtype, device=scores.device)
        for y in range(1, t_mel):
            shifted = torch.cat([pad, q[:, :-1]], dim=1)
            move = shifted > q
            from_previous[:, :, y] = move
            q = torch.where(move, shifted, q) + scores[:, :, y]
        path = torch.zeros(batch, t_text, t_mel, dtype=value.dtype, device=value.device)
        index = text_lengths - 1
        rows = torch.arange(batch, device=value.device)
        for y in range(t_mel - 1, -1, -1):
            active = y < mel_lengths
            path[rows[active], index[active], y] = 1
            step = active & from_previous[rows, index, y] & (index > 0)
            index = index - step.long()
    return path


def durations_from_path(path: torch.Tensor) -> torch.Tensor:
    """Frames per token ``(batch, T_text)`` of a hard alignment ``(batch, T_text, T_mel)``."""
    return path.sum(dim=-1).long()
