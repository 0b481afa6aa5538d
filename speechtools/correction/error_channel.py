"""A recogniser's error channel, estimated from its (ASR output, reference) pairs, for noising text.

FastCorrect pre-trains on text noised uniformly (Sec. 3.3: every unit with probability 0.15,
substitutes from a similar-pronunciation table; :mod:`speechtools.correction.noising`). When
pairs from the target recogniser exist, the noise can follow that recogniser instead: each
reference unit is aligned to the span of recognised units it became (the FastCorrect edit
alignment of :mod:`speechtools.correction.edit_alignment`, run with the reference as source),
which gives per-unit counts of every erroneous realisation (substitution, deletion = empty
span, insertion = a span of two or more units).

Noising a unit ``u`` seen ``n`` times with ``e`` erroneous realisations then works as follows.

1. It is noised with the smoothed error probability ``(e + prior * g) / (n + prior)``, where
   ``g`` is the share of erroneous units over all pairs.
2. A noised unit becomes one of its observed realisations with probability
   ``e / (e + prior)``, drawn in proportion to their counts.
3. Otherwise it falls back to the uniform noise of :class:`~speechtools.correction.noising.Noiser`:
   a CMUdict/pinyin substitute, an insertion or a deletion.

Units never seen in the pairs are noised at rate ``g`` with the fallback noise.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from speechtools.correction.edit_alignment import align_durations
from speechtools.correction.noising import Noiser
from speechtools.errors import PathLike, UserError

Span = Tuple[str, ...]


@dataclass
class ErrorChannel:
    """Per-reference-unit counts of how a recogniser realised it (see the module docstring)."""

    counts: Counter = field(default_factory=Counter)
    errors: Dict[str, Counter] = field(default_factory=dict)

    @classmethod
    def from_pairs(
        cls, pairs: Sequence[Tuple[Sequence[str], Sequence[str]]], source: Optional[PathLike] = None
    ) -> "ErrorChannel":
        """Estimate the channel from ``(hypothesis units, reference units)`` pairs.

        Each reference unit receives the hypothesis span the edit alignment (FastCorrect Sec. 3.1,
        reference as source) assigns to it; a span other than the unit itself is an error.
        Pairs with an empty reference carry no unit to attach insertions to and are skipped.
        ``source`` names the pairs' file in the error raised when no pair is left.
        """
        kept = [(list(ref), list(hyp)) for hyp, ref in pairs if ref]
        if not kept:
            raise UserError("no pair with a non-empty reference to estimate an error channel from", source)
        channel = cls()
        for (ref, hyp), durations in zip(kept, align_durations(kept)):
            pos = 0
            for unit, d in zip(ref, durations):
                span = tuple(hyp[pos : pos + d])
                pos += d
                channel.counts[unit] += 1
                if span != (unit,):
                    channel.errors.setdefault(unit, Counter())[span] += 1
        return channel

    @property
    def error_rate(self) -> float:
        """Share of reference units the recogniser realised wrongly (``g`` of the module docstring)."""
        return sum(sum(c.values()) for c in self.errors.values()) / max(1, sum(self.counts.values()))


class ChannelNoiser:
    """Noises unit sequences like the recogniser behind an :class:`ErrorChannel` (module docstring).

    ``prior`` is the pseudo-count that pulls rarely seen units towards the global error rate and
    towards the fallback noise; ``fallback`` supplies the uniform noise (its ``ratio`` is unused).
    """

    def __init__(self, channel: ErrorChannel, fallback: Noiser, prior: float = 5.0) -> None:
        if prior <= 0:
            raise UserError(f"channel prior must be > 0, got {prior}")
        self.fallback = fallback
        rate = channel.error_rate
        self._p_error: Dict[str, float] = {}
        self._p_observed: Dict[str, float] = {}
        self._spans: Dict[str, List[Span]] = {}
        self._weights: Dict[str, np.ndarray] = {}
        for unit, n in channel.counts.items():
            realised = channel.errors.get(unit, Counter())
            e = sum(realised.values())
            self._p_error[unit] = (e + prior * rate) / (n + prior)
            self._p_observed[unit] = e / (e + prior)
            if e:
                self._spans[unit] = list(realised)
                self._weights[unit] = np.array(list(realised.values()), dtype=np.float64) / e
        self.default_rate = rate

    def error_probability(self, unit: str) -> float:
        """Smoothed probability that ``unit`` is realised wrongly (step 1 of the module docstring)."""
        return self._p_error.get(unit, self.default_rate)

    def noise(self, units: Sequence[str], rng: np.random.Generator) -> List[str]:
        """One noised copy of ``units``; a sentence noised to nothing is kept unchanged."""
        n = len(units)
        hit = rng.random(n) < np.array([self.error_probability(u) for u in units])
        observed = rng.random(n)
        ops = rng.choice(4, size=n, p=self.fallback.op_probs)
        out: List[str] = []
        for unit, noisy, draw, op in zip(units, hit, observed, ops):
            if not noisy:
                out.append(unit)
            elif draw < self._p_observed.get(unit, 0.0):
                spans = self._spans[unit]
                out.extend(spans[int(rng.choice(len(spans), p=self._weights[unit]))])
            else:
                out.extend(self.fallback.noise_unit(unit, int(op), rng))
        return out if out else list(units)
