"""PNG plot of per-system rating distributions with the mean and its 95% interval."""

from __future__ import annotations

from typing import Dict

import numpy as np

from speechtools.errors import PathLike
from speechtools.fileio import atomic_path
from speechtools.scoring.mos import SCALES, Ratings, SystemScore


def plot_scores(ratings: Ratings, summary: Dict[str, SystemScore], scale: str, out_png: PathLike) -> None:
    """Per system (sorted by mean): the share of each rating value as a bubble column, the mean
    as a diamond and the 95% interval as an error bar. Written atomically (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = sorted(summary, key=lambda s: (-summary[s].mean, s))
    systems = np.asarray(ratings.system, dtype=object)
    low, high = SCALES[scale]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(order) + 1.5), 4.0))
    for x, name in enumerate(order):
        values, counts = np.unique(ratings.score[systems == name], return_counts=True)
        share = counts / counts.sum()
        ax.scatter(np.full(len(values), x), values, s=1200 * share, alpha=0.35, color="tab:blue", edgecolors="none")
        s = summary[name]
        if np.isfinite(s.ci_low) and np.isfinite(s.ci_high):
            ax.errorbar(x, s.mean, yerr=[[s.mean - s.ci_low], [s.ci_high - s.mean]], fmt="none", ecolor="black", capsize=6)
        ax.plot(x, s.mean, marker="D", color="tab:red")
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order, rotation=30, ha="right")
    ax.set_ylim(low - 0.5, high + 0.5)
    ax.set_ylabel(f"{scale.upper()} rating")
    ax.set_title(f"{scale.upper()}: rating shares (bubbles), mean and 95% CI")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
