"""Token-level averaging against a plain per-token loop."""

import numpy as np
import pytest
import torch

from speechtools.audio.token_average import token_average


def loop_reference(values, durations, voiced=None):
    out, start = [], 0
    for d in durations:
        seg = values[start : start + d]
        if voiced is not None:
            seg = seg[voiced[start : start + d]]
        out.append(seg.mean() if len(seg) else 0.0)
        start += d
    return np.array(out)


def test_matches_loop_on_random_inputs_with_zero_durations():
    rng = np.random.default_rng(0)
    durations = rng.integers(0, 7, size=50)
    durations[[0, 13, 49]] = 0
    values = rng.normal(5, 2, size=durations.sum())
    voiced = rng.random(durations.sum()) > 0.4
    np.testing.assert_allclose(token_average(values, durations), loop_reference(values, durations), rtol=1e-12)
    np.testing.assert_allclose(
        token_average(values, durations, voiced), loop_reference(values, durations, voiced), rtol=1e-12
    )


def test_worked_example_pitch_over_voiced_frames_only():
    values = np.array([100.0, 0.0, 200.0, 300.0, 0.0, 0.0], dtype=np.float32)
    out = token_average(values, [3, 1, 2], voiced=values > 0)
    np.testing.assert_allclose(out, [150.0, 300.0, 0.0])
    assert out.dtype == np.float32


def test_torch_tensors_give_tensors():
    values = torch.tensor([1.0, 2.0, 3.0, 4.0])
    out = token_average(values, torch.tensor([1, 3]), voiced=torch.tensor([True, False, True, True]))
    assert isinstance(out, torch.Tensor)
    torch.testing.assert_close(out, torch.tensor([1.0, 3.5]))


def test_duration_sum_must_match_frames():
    with pytest.raises(ValueError, match="sum to 5"):
        token_average(np.zeros(6), [2, 3])
    with pytest.raises(ValueError, match="sum to 5"):
        token_average(torch.zeros(6), torch.tensor([2, 3]))
