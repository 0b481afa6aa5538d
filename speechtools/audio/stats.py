"""Global mean/std of features over a training set, stored as ``stats.npz`` (ESPnet2's ``global_mvn``).

``stats.npz`` holds, for each feature name ``x``: ``x_mean``, ``x_std`` (per dimension, float64)
and ``x_count`` (frames used). Mel statistics are per mel bin over all frames, energy over
all frames, pitch (continuous log-F0) over voiced frames only. Per-utterance moments are
merged with Chan, Golub & LeVeque's pairwise update (1979), which is exact and stable
without a second pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from speechtools.errors import PathLike, UserError
from speechtools.fileio import atomic_path, read_npz

STD_FLOOR = 1e-5


@dataclass
class RunningMoments:
    """Count, mean and sum of squared deviations (M2) of a stream of ``(frames, dim)`` blocks."""

    count: int = 0
    mean: Optional[np.ndarray] = None
    m2: Optional[np.ndarray] = None

    def update(self, block: np.ndarray, mask: Optional[np.ndarray] = None) -> None:
        """Add the rows of ``block`` (``(frames,)`` or ``(frames, dim)``) selected by the bool ``mask``.

        Chan et al. (1979): ``delta = mean_b - mean_a``; ``mean = mean_a + delta * n_b / n``;
        ``M2 = M2_a + M2_b + delta^2 * n_a * n_b / n``.
        """
        rows = np.asarray(block, dtype=np.float64)
        rows = rows.reshape(rows.shape[0], -1)
        if mask is not None:
            rows = rows[np.asarray(mask, dtype=bool).reshape(-1)]
        n_b = rows.shape[0]
        if n_b == 0:
            return
        mean_b = rows.mean(axis=0)
        m2_b = ((rows - mean_b) ** 2).sum(axis=0)
        if self.mean is None or self.m2 is None:
            self.count, self.mean, self.m2 = n_b, mean_b, m2_b
            return
        if mean_b.shape != self.mean.shape:
            raise UserError(f"feature dimension changed from {self.mean.shape[0]} to {mean_b.shape[0]}")
        n = self.count + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta**2 * (self.count * n_b / n)
        self.count = n

    def mean_std(self) -> Tuple[np.ndarray, np.ndarray]:
        """Population mean and standard deviation (floored at ``STD_FLOOR``)."""
        if self.mean is None or self.m2 is None or self.count == 0:
            raise ValueError("no frames were added")
        return self.mean.copy(), np.maximum(np.sqrt(self.m2 / self.count), STD_FLOOR)


@dataclass
class FeatureStats:
    """Mean/std per feature name, as saved in ``stats.npz``."""

    mean: Dict[str, np.ndarray] = field(default_factory=dict)
    std: Dict[str, np.ndarray] = field(default_factory=dict)
    count: Dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_moments(cls, moments: Mapping[str, RunningMoments]) -> "FeatureStats":
        """Collect the finished :class:`RunningMoments` of each feature."""
        stats = cls()
        for name, m in moments.items():
            stats.mean[name], stats.std[name] = m.mean_std()
            stats.count[name] = m.count
        return stats

    def normalize(self, name: str, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / std`` for feature ``name``."""
        return (x - self.mean[name]) / self.std[name]

    def denormalize(self, name: str, x: np.ndarray) -> np.ndarray:
        """``x * std + mean`` for feature ``name``."""
        return x * self.std[name] + self.mean[name]


def save_stats(path: PathLike, stats: FeatureStats) -> None:
    """Write ``stats.npz`` atomically (keys ``<name>_mean``, ``<name>_std``, ``<name>_count``)."""
    arrays: Dict[str, np.ndarray] = {}
    for name in stats.mean:
        arrays[f"{name}_mean"] = np.asarray(stats.mean[name], dtype=np.float64)
        arrays[f"{name}_std"] = np.asarray(stats.std[name], dtype=np.float64)
        arrays[f"{name}_count"] = np.asarray(stats.count[name], dtype=np.int64)
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)


def load_stats(path: PathLike) -> FeatureStats:
    """Read a ``stats.npz`` written by :func:`save_stats`.

    Raises:
        UserError: missing or unreadable file, or a feature without both mean and std.
    """
    p = Path(path)
    arrays = read_npz(p, "stats")
    stats = FeatureStats()
    for key in sorted(arrays):
        if key.endswith("_mean"):
            name = key[: -len("_mean")]
            if f"{name}_std" not in arrays:
                raise UserError(f"{name}_mean has no matching {name}_std", p)
            stats.mean[name] = arrays[key]
            stats.std[name] = arrays[f"{name}_std"]
            stats.count[name] = int(arrays.get(f"{name}_count", 0))
    if not stats.mean:
        raise UserError("no <name>_mean/<name>_std arrays in stats file", p)
    return stats
