"""Synthetic ASR errors for pre-training (FastCorrect Sec. 3.3; reference ``scripts/add_noise.py``).

Each unit (English word, Mandarin character) is noised with probability ``ratio`` (0.15);
a noised unit is substituted (0.8), gets a random unit inserted on its left (0.05) or right
(0.05), or is deleted (0.1). A substitute comes from the similar-pronunciation table with
rank weights proportional to ``[6, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1]`` (as the
reference); with probability 0.01, or when the unit has no entry, a random frequent unit is
used instead. Inserted units are drawn uniformly from the most frequent units. A sentence
noised to nothing is kept unchanged. Deterministic for a seed; epoch ``e`` uses ``seed + e``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence

import numpy as np

from speechtools.errors import UserError

RANK_LOGITS = (6, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1)
SUB, INS_LEFT, INS_RIGHT, DELETE = 0, 1, 2, 3


@dataclass
class NoiseConfig:
    """Probabilities of the reference ``add_noise.py`` (FastCorrect 1)."""

    ratio: float = 0.15
    p_sub: float = 0.8
    p_ins_left: float = 0.05
    p_ins_right: float = 0.05
    p_del: float = 0.1
    p_random_sub: float = 0.01
    n_frequent: int = 3000

    def op_probs(self) -> np.ndarray:
        probs = np.array([self.p_sub, self.p_ins_left, self.p_ins_right, self.p_del], dtype=np.float64)
        if (probs < 0).any() or probs.sum() <= 0 or not 0.0 <= self.ratio <= 1.0:
            raise UserError("noise probabilities must be non-negative, sum > 0, and ratio in [0, 1]")
        return probs / probs.sum()


class Noiser:
    """Applies :class:`NoiseConfig` noise to unit sequences with a substitution table."""

    def __init__(self, table: Mapping[str, Sequence[str]], counts: Mapping[str, int], conf: NoiseConfig) -> None:
        self.table = {k: list(v) for k, v in table.items() if v}
        self.frequent = [w for w, _ in Counter(counts).most_common(conf.n_frequent)]
        if not self.frequent:
            raise UserError("cannot noise an empty corpus")
        self.conf = conf
        self.op_probs = conf.op_probs()
        self._weights: Dict[int, np.ndarray] = {}

    def _rank_weights(self, n: int) -> np.ndarray:
        if n not in self._weights:
            logits = np.array([RANK_LOGITS[min(k, len(RANK_LOGITS) - 1)] for k in range(n)], dtype=np.float64)
            self._weights[n] = logits / logits.sum()
        return self._weights[n]

    def _random_unit(self, rng: np.random.Generator) -> str:
        return self.frequent[int(rng.integers(len(self.frequent)))]

    def _substitute(self, unit: str, rng: np.random.Generator) -> str:
        cands = self.table.get(unit)
        if not cands or rng.random() < self.conf.p_random_sub:
            return self._random_unit(rng)
        return cands[int(rng.choice(len(cands), p=self._rank_weights(len(cands))))]

    def noise_unit(self, unit: str, op: int, rng: np.random.Generator) -> List[str]:
        """What one noised unit becomes under operation ``op`` (SUB, INS_LEFT, INS_RIGHT or DELETE)."""
        if op == SUB:
            return [self._substitute(unit, rng)]
        if op == INS_LEFT:
            return [self._random_unit(rng), unit]
        if op == INS_RIGHT:
            return [unit, self._random_unit(rng)]
        return []

    def noise(self, units: Sequence[str], rng: np.random.Generator) -> List[str]:
        """One noised copy of ``units`` (Sec. 3.3 of the paper)."""
        hit = rng.random(len(units)) < self.conf.ratio
        ops = rng.choice(4, size=len(units), p=self.op_probs)
        out: List[str] = []
        for unit, noisy, op in zip(units, hit, ops):
            out.extend(self.noise_unit(unit, int(op), rng) if noisy else [unit])
        return out if out else list(units)
