"""PNG plots of alignments and of mels with token durations (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from speechtools.errors import PathLike
from speechtools.fileio import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_alignment(
    path: PathLike, soft: np.ndarray, durations: Optional[Sequence[int]] = None,
    tokens: Optional[Sequence[str]] = None, title: str = "",
) -> Path:
    """Soft attention ``(T_mel, T_text)`` as an image with the hard (MAS) path drawn over it."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4.0, soft.shape[0] / 40), max(3.0, soft.shape[1] / 8)))
    ax.imshow(soft.T, origin="lower", aspect="auto", interpolation="none", cmap="viridis")
    if durations is not None:
        ends = np.cumsum(durations)
        frames = np.arange(int(ends[-1]))
        ax.plot(frames, np.searchsorted(ends, frames, side="right"), color="red", linewidth=0.8)
    if tokens is not None and len(tokens) <= 120:
        ax.set_yticks(range(len(tokens)))
        ax.set_yticklabels(tokens, fontsize=5)
    ax.set_xlabel("mel frame")
    ax.set_ylabel("token")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    out = Path(path)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return out


def plot_mel_durations(
    path: PathLike, mel: np.ndarray, durations: Optional[Sequence[int]] = None,
    tokens: Optional[Sequence[str]] = None, title: str = "",
) -> Path:
    """Log-mel ``(frames, n_mels)`` with token boundaries (and labels) from ``durations``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, mel.shape[0] / 50), 3.5))
    ax.imshow(mel.T, origin="lower", aspect="auto", interpolation="none", cmap="magma")
    if durations is not None:
        ends = np.cumsum(durations)
        for end in ends[:-1]:
            ax.axvline(end - 0.5, color="white", linewidth=0.3, alpha=0.6)
        if tokens is not None and len(tokens) <= 150:
            centres = ends - np.asarray(durations) / 2.0
            for c, tok, d in zip(centres, tokens, durations):
                if d > 0:
                    ax.text(c, mel.shape[1] * 1.01, tok, fontsize=4, rotation=90, ha="center", va="bottom")
    ax.set_xlabel("frame")
    ax.set_ylabel("mel bin")
    ax.set_title(title, fontsize=8, pad=18)
    fig.tight_layout()
    out = Path(path)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return out
