"""Speaking-rate class boundaries for AdaSpeech 3's mixture-of-experts duration predictor.

AdaSpeech 3 (Yan et al., arXiv 2107.02530, Sec. 3.2) gives its duration experts slow, medium and fast
speech. ``adaptor.duration.gate_boundaries`` names those classes in frames per token (the rate that
:func:`speechtools.nn.moe_duration_predictor.speaking_rate_classes` computes from the target
durations); this module picks them as the equal-count quantiles of a training set's ``durations``, so
each expert's class holds about the same number of utterances.

    python -m speechtools.tts.speaking_rate data/train/durations 3    # prints e.g. [5.12, 6.34]
"""

from __future__ import annotations

import sys
from typing import List, Mapping, Sequence

import numpy as np

from speechtools.data.kaldi import read_durations
from speechtools.errors import UserError


def utterance_rates(durations: Mapping[str, Sequence[int]]) -> List[float]:
    """Mean frames per token of each utterance (the rate of ``speaking_rate_classes``), empty ones skipped."""
    return [sum(d) / len(d) for d in durations.values() if len(d) > 0]


def rate_boundaries(rates: Sequence[float], experts: int) -> List[float]:
    """The ``experts - 1`` quantiles ``k / experts`` of ``rates`` (ascending), rounded to 1e-3 frames."""
    if experts < 2:
        raise UserError(f"experts must be >= 2, got {experts}")
    if len(rates) < experts:
        raise UserError(f"{len(rates)} utterance(s) cannot give {experts} speaking-rate classes")
    edges = np.quantile(np.asarray(rates, dtype=np.float64), [k / experts for k in range(1, experts)])
    bounds = [round(float(e), 3) for e in edges]
    if any(b <= a for a, b in zip(bounds, bounds[1:])):
        raise UserError(f"speaking-rate quantiles are not distinct ({bounds}): too few different rates")
    return bounds


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m speechtools.tts.speaking_rate DURATIONS EXPERTS")
    try:
        print("[" + ", ".join(f"{b:g}" for b in rate_boundaries(utterance_rates(read_durations(sys.argv[1])), int(sys.argv[2]))) + "]")
    except (UserError, ValueError) as exc:
        sys.exit(f"error: {exc}")
