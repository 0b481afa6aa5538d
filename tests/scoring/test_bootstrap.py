"""Bootstrap WER interval and paired comparison (Bisani & Ney 2004 / Kaldi compute-wer-bootci)."""

from __future__ import annotations

import math

import numpy as np

from speechtools.scoring.bootstrap import bootstrap_compare, bootstrap_wer, paired_errors, werr


def test_constant_error_rate_has_zero_width():
    interval = bootstrap_wer(np.array([1, 2, 3]), np.array([10, 20, 30]), replications=500)
    for value in (interval.mean, interval.low, interval.high):
        assert math.isclose(value, 10.0, abs_tol=1e-5)


def test_interval_matches_binomial_standard_error():
    # One-word utterances with a 0/1 error: the bootstrap std of the corpus WER is the
    # plug-in standard error sqrt(p(1-p)/n); the half-width is 1.96 times that.
    rng = np.random.default_rng(0)
    errors = (rng.random(2000) < 0.2).astype(int)
    p = errors.mean()
    interval = bootstrap_wer(errors, np.ones_like(errors), replications=4000, seed=3)
    half = (interval.high - interval.low) / 2
    expected = 100 * 1.96 * math.sqrt(p * (1 - p) / len(errors))
    assert abs(half - expected) / expected < 0.06
    assert abs(interval.mean - 100 * p) < 0.2


def test_compare_probabilities():
    assert bootstrap_compare(np.array([2, 1, 3]), np.array([1, 0, 2]), replications=300) == 100.0
    assert bootstrap_compare(np.array([1, 0, 2]), np.array([2, 1, 3]), replications=300) == 0.0
    # One utterance better by 1 out of 2: improvement iff it is drawn at least once = 1 - (1/2)^2.
    p = bootstrap_compare(np.array([1, 0]), np.array([0, 0]), replications=20000, seed=5)
    assert abs(p - 75.0) < 1.5


def test_werr_and_pairing():
    assert werr(4.83, 4.16) == 100 * (4.83 - 4.16) / 4.83
    n_ref, e1, e2 = paired_errors(["a", "b", "c"], [[3, 0, 1, 0], [2, 0, 0, 0], [4, 1, 1, 1]],
                                  ["c", "a"], [[4, 0, 0, 0], [3, 0, 0, 0]])
    assert n_ref.tolist() == [3, 4] and e1.tolist() == [1, 3] and e2.tolist() == [0, 0]
