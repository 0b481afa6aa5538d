"""Checkpoints: atomic save/load, ``checkpoints/step_N.pt`` naming, keep-last-N, weight averaging.

A checkpoint is one ``torch.save`` dict with the full training state (model, optimiser,
scheduler, grad scaler, per-rank RNG states, data position); it is written to a temporary
file and renamed, so a killed run never leaves a truncated checkpoint behind.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Sequence

import torch

from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_path

CHECKPOINT_DIR = "checkpoints"
_STEP_RE = re.compile(r"^step_(\d+)\.pt$")


def checkpoint_path(out_dir: PathLike, step: int) -> Path:
    """``<out_dir>/checkpoints/step_<step>.pt``."""
    return Path(out_dir) / CHECKPOINT_DIR / f"step_{step}.pt"


def list_checkpoints(out_dir: PathLike) -> List[Path]:
    """Checkpoints under ``<out_dir>/checkpoints``, sorted by step (oldest first)."""
    folder = Path(out_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(state: Dict[str, Any], path: PathLike) -> None:
    """Write ``state`` atomically (temporary file, then rename), creating the checkpoint folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: PathLike, map_location: Any = "cpu", weights_only: bool = False) -> Dict[str, Any]:
    """Load a checkpoint or ``model.pt``; a missing or unreadable file is a :class:`UserError`.

    ``weights_only=True`` refuses arbitrary pickled objects: use it for ``model.pt`` files
    (plain state dicts) that may come from elsewhere. Training checkpoints hold RNG states
    (NumPy arrays, Python tuples) and need ``weights_only=False``; load only your own.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError("no such checkpoint", p)
    try:
        return torch.load(p, map_location=map_location, weights_only=weights_only)
    except Exception as exc:  # torch raises many types for corrupt files
        raise UserError(f"cannot read checkpoint ({type(exc).__name__}: {exc})", p) from None


def prune_checkpoints(out_dir: PathLike, keep_last: int) -> List[Path]:
    """Delete all but the newest ``keep_last`` checkpoints (0 keeps all); return the deleted paths."""
    if keep_last <= 0:
        return []
    doomed = list_checkpoints(out_dir)[:-keep_last]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def model_state(checkpoint: Dict[str, Any], path: PathLike = "<checkpoint>", key: str = "model") -> Dict[str, torch.Tensor]:
    """The model weights of a training checkpoint (``{"model": ...}``; ``key="ema"``: its moving average) or of a bare state dict."""
    state = checkpoint.get(key, checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError("not a speechtools checkpoint or model state dict", path)
    return state


def average_state_dicts(states: Sequence[Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """Element-wise arithmetic mean of floating-point tensors (checkpoint averaging, Vaswani et al. 2017 §6.1).

    Integer buffers (e.g. BatchNorm's ``num_batches_tracked``) are taken from the last state.
    Means are accumulated in float64 and cast back to each tensor's dtype.
    """
    if not states:
        raise ValueError("nothing to average")
    keys = list(states[-1])
    for i, state in enumerate(states):
        if list(state) != keys:
            missing = set(keys) ^ set(state)
            raise UserError(f"checkpoint {i + 1} has different parameters ({sorted(missing)[:3]}...)")
    averaged: Dict[str, torch.Tensor] = {}
    for key in keys:
        last = states[-1][key]
        if last.is_floating_point() or last.is_complex():
            acc = torch.zeros_like(last, dtype=torch.complex128 if last.is_complex() else torch.float64)
            for state in states:
                acc += state[key].to(acc.dtype)
            averaged[key] = (acc / len(states)).to(last.dtype)
        else:
            averaged[key] = last.clone()
    return averaged


def average_checkpoints(paths: Sequence[PathLike], out_path: PathLike, key: str = "model") -> Dict[str, torch.Tensor]:
    """Average the model weights (``key="ema"``: the moving averages) of ``paths`` and write them
    (a plain state dict) to ``out_path`` atomically."""
    states = [model_state(load_checkpoint(p), p, key) for p in paths]
    averaged = average_state_dicts(states)
    with atomic_path(out_path) as tmp:
        torch.save(averaged, tmp)
    return averaged
