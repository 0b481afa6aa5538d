"""Bootstrap confidence intervals for WER and paired system comparison.

Bisani & Ney, "Bootstrap estimates for confidence intervals in ASR performance
evaluation" (ICASSP 2004), as implemented by Kaldi ``compute-wer-bootci``: resample
utterances with replacement; the interval is ``mean ± 1.96 · std`` of the resampled WERs
and the comparison reports the share of resamples in which system 2 makes fewer errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Tuple

import numpy as np
from tqdm import tqdm

_BLOCK = 256


def _resample_indices(n_utt: int, replications: int, seed: int, progress: bool) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    starts = range(0, replications, _BLOCK)
    for start in tqdm(starts, desc="bootstrap", unit="block", leave=False, disable=None if progress else True):
        size = min(_BLOCK, replications - start)
        yield rng.integers(0, n_utt, size=(size, n_utt))


@dataclass
class BootstrapInterval:
    """Mean resampled WER and the 95% interval ``mean ± 1.96 · std`` (all in percent)."""

    mean: float
    low: float
    high: float

    def kaldi_line(self, name: str = "Set1") -> str:
        """``Set1: %WER 12.34 95% Conf Interval [ 11.10, 13.58 ]`` (compute-wer-bootci form)."""
        return f"{name}: %WER {self.mean:.2f} 95% Conf Interval [ {self.low:.2f}, {self.high:.2f} ]"


def bootstrap_wer(
    errors: np.ndarray, n_words: np.ndarray, replications: int = 10000, seed: int = 1, progress: bool = False
) -> BootstrapInterval:
    """Bootstrap 95% interval of the corpus WER from per-utterance errors and reference lengths.

    Each replication draws ``len(errors)`` utterances with replacement and computes
    ``sum(errors) / sum(n_words)`` (Bisani & Ney 2004, Eq. for the bootstrap WER estimate);
    the interval is ``mean ± 1.96 · std`` over replications (population std), as Kaldi.
    """
    errors = np.asarray(errors, dtype=np.float64)
    n_words = np.asarray(n_words, dtype=np.float64)
    wers = []
    for idx in _resample_indices(len(errors), replications, seed, progress):
        wers.append(errors[idx].sum(axis=1) / n_words[idx].sum(axis=1))
    values = np.concatenate(wers)
    mean = float(values.mean())
    half = 1.96 * float(np.sqrt(max(np.mean(values**2) - mean**2, 0.0)))
    return BootstrapInterval(100 * mean, 100 * (mean - half), 100 * (mean + half))


def bootstrap_compare(
    errors1: np.ndarray, errors2: np.ndarray, replications: int = 10000, seed: int = 1, progress: bool = False
) -> float:
    """Probability (percent) that system 2 improves on system 1 (paired bootstrap).

    The same resampled utterance set is used for both systems; a replication counts as an
    improvement when ``sum(errors1 - errors2) > 0`` (Bisani & Ney 2004 "probability of
    improvement"; Kaldi ``compute-wer-bootci``).
    """
    diff = np.asarray(errors1, dtype=np.int64) - np.asarray(errors2, dtype=np.int64)
    better = 0
    for idx in _resample_indices(len(diff), replications, seed, progress):
        better += int((diff[idx].sum(axis=1) > 0).sum())
    return 100.0 * better / replications


def werr(wer_before: float, wer_after: float) -> float:
    """Relative WER reduction in percent: ``100 · (WER_before − WER_after) / WER_before``."""
    if wer_before == 0:
        return float("nan")
    return 100.0 * (wer_before - wer_after) / wer_before


def paired_errors(result1_ids, result1_counts, result2_ids, result2_counts) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-utterance errors of two results on their common utterances: ``(n_ref, err1, err2)``."""
    index2 = {utt: k for k, utt in enumerate(result2_ids)}
    rows1, rows2 = [], []
    for k, utt in enumerate(result1_ids):
        if utt in index2:
            rows1.append(k)
            rows2.append(index2[utt])
    c1 = np.asarray(result1_counts)[rows1]
    c2 = np.asarray(result2_counts)[rows2]
    return c1[:, 0], c1[:, 1:].sum(axis=1), c2[:, 1:].sum(axis=1)
