"""Device selection shared by training and inference (``--device auto|cpu|cuda[:N]``)."""

from __future__ import annotations

import torch

from speechtools.errors import UserError


def resolve_device(spec: str = "auto") -> torch.device:
    """Turn a ``--device`` value into a :class:`torch.device`.

    ``auto`` picks CUDA when available, else CPU. Asking for CUDA on a machine without it
    is a user error, not a silent fallback.
    """
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"--device {spec}: CUDA is not available on this machine (use --device cpu)")
        device = torch.device(spec)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) present")
        return device
    raise UserError(f"--device {spec!r}: expected auto, cpu, cuda or cuda:N")
