"""Exponential moving average of the weights (Polyak averaging), as diffusion vocoders train with.

After every optimiser update ``ema ← d·ema + (1 − d)·w`` for each floating-point tensor of the
model's state dict (parameters and float buffers); integer buffers are copied. The average is
kept in float32 beside the model on its device, saved in every checkpoint (``"ema"``) and
restored on resume, so a resumed run continues it bit for bit; ``model.pt`` is built from it.
"""

from __future__ import annotations

from typing import Dict

import torch


class WeightEMA:
    """The moving average of ``model``'s state dict with decay ``decay`` (0 < d < 1)."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must lie in (0, 1), got {decay}")
        self.decay = decay
        self.shadow: Dict[str, torch.Tensor] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """One step of the average towards the model's current weights."""
        for key, value in model.state_dict().items():
            target = self.shadow[key]
            if target.is_floating_point():
                target.lerp_(value.detach(), 1.0 - self.decay)
            else:
                target.copy_(value)

    def state_dict(self) -> Dict[str, torch.Tensor]:
        """The averaged weights (a model state dict)."""
        return self.shadow

    def load_state_dict(self, state: Dict[str, torch.Tensor]) -> None:
        """Restore averaged weights saved by :meth:`state_dict` (same names and shapes)."""
        if set(state) != set(self.shadow):
            raise KeyError(f"EMA state does not match the model (differs in {sorted(set(state) ^ set(self.shadow))[:3]})")
        for key, value in state.items():
            self.shadow[key].copy_(value)
