"""Streaming mean/std equals the two-pass result; stats.npz round trip."""

import numpy as np
import pytest

from speechtools.audio.stats import FeatureStats, RunningMoments, load_stats, save_stats
from speechtools.errors import UserError


def test_running_moments_equal_concatenated_statistics():
    rng = np.random.default_rng(0)
    blocks = [rng.normal(3.0, 2.0, size=(n, 4)) + 1e4 for n in (5, 1, 40, 17)]
    masks = [rng.random(b.shape[0]) > 0.3 for b in blocks]
    moments, masked = RunningMoments(), RunningMoments()
    for b, m in zip(blocks, masks):
        moments.update(b)
        masked.update(b, m)
    mean, std = moments.mean_std()
    allrows = np.concatenate(blocks)
    np.testing.assert_allclose(mean, allrows.mean(0), rtol=1e-12)
    np.testing.assert_allclose(std, allrows.std(0), rtol=1e-9)
    sel = np.concatenate([b[m] for b, m in zip(blocks, masks)])
    np.testing.assert_allclose(masked.mean_std()[1], sel.std(0), rtol=1e-9)
    assert masked.count == sel.shape[0]


def test_stats_file_round_trip_and_normalisation(tmp_path):
    mel, pitch = RunningMoments(), RunningMoments()
    mel.update(np.arange(12.0).reshape(6, 2))
    pitch.update(np.log([100.0, 200.0, 150.0]))
    stats = FeatureStats.from_moments({"mel": mel, "pitch": pitch})
    save_stats(tmp_path / "stats.npz", stats)
    back = load_stats(tmp_path / "stats.npz")
    np.testing.assert_allclose(back.mean["mel"], [5.0, 6.0])
    assert back.count == {"mel": 6, "pitch": 3}
    x = np.array([[5.0, 6.0]])
    np.testing.assert_allclose(back.denormalize("mel", back.normalize("mel", x)), x)


def test_missing_stats_file_is_user_error(tmp_path):
    with pytest.raises(UserError, match="no such stats file"):
        load_stats(tmp_path / "stats.npz")


def test_constant_feature_std_is_floored():
    m = RunningMoments()
    m.update(np.ones((4, 1)))
    assert m.mean_std()[1][0] > 0
