"""MCD/DTW and log-F0 RMSE against direct computations."""

import math

import numpy as np

from speechtools.scoring.tts_metrics import dtw_path, mel_cepstrum, score_pair, summarise


def naive_dtw_cost(cost):
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            acc[i, j] = cost[i - 1, j - 1] + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return acc[n, m]


def test_dtw_matches_the_textbook_recursion():
    rng = np.random.default_rng(0)
    for _ in range(20):
        cost = rng.random((rng.integers(1, 9), rng.integers(1, 9)))
        pi, pj = dtw_path(cost)
        assert (pi[0], pj[0]) == (0, 0) and (pi[-1], pj[-1]) == (cost.shape[0] - 1, cost.shape[1] - 1)
        steps = np.stack([np.diff(pi), np.diff(pj)], 1)
        assert all(tuple(s) in {(1, 0), (0, 1), (1, 1)} for s in steps)
        assert math.isclose(cost[pi, pj].sum(), naive_dtw_cost(cost))


def test_mel_cepstrum_is_the_cosine_transform():
    x = np.random.default_rng(1).normal(size=(3, 8))
    c = mel_cepstrum(x, order=4)
    k = np.arange(8)
    expected = np.array([[np.sum(row * np.cos(np.pi * n * (k + 0.5) / 8)) / 8 for n in range(1, 5)] for row in x])
    np.testing.assert_allclose(c, expected)


def test_mcd_zero_for_identical_and_dtw_absorbs_a_time_stretch():
    rng = np.random.default_rng(2)
    mel = rng.normal(size=(40, 80))
    f0 = np.where(rng.random(40) > 0.3, 100 + 50 * rng.random(40), 0.0)
    same = score_pair(mel, mel, f0, f0)
    assert same.mcd < 1e-6 and same.log_f0_rmse < 1e-9
    stretched = np.repeat(mel, 2, axis=0)
    assert score_pair(mel, stretched, f0, np.repeat(f0, 2)).mcd < 1e-6


def test_log_f0_rmse_of_a_known_shift():
    mel = np.random.default_rng(3).normal(size=(30, 80))
    f0 = np.full(30, 200.0)
    f0[:5] = 0
    s = score_pair(mel, mel, f0, f0 * 2 ** (4 / 12))
    assert math.isclose(s.log_f0_rmse, 4 / 12 * math.log(2), rel_tol=1e-9)
    assert s.voiced_frames == 25
    mcd, rmse = summarise([s, s])
    assert math.isclose(rmse, s.log_f0_rmse)
