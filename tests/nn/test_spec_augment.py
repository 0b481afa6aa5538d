"""SpecAugment (Park et al. 2019): masks of whole bands inside each utterance, padding untouched, seeded."""

from __future__ import annotations

import pytest
import torch

from speechtools.nn.spec_augment import SpecAugment

LENGTHS = torch.tensor([200, 137, 64, 9])


def features(bins: int = 40, seed: int = 0) -> torch.Tensor:
    """Values in [1, 2), never 0, padding included (so a masked value is recognisable and padding is not 0)."""
    torch.manual_seed(seed)
    return torch.rand(len(LENGTHS), int(LENGTHS.max()), bins) + 1.0


def test_zero_width_masks_and_no_warp_are_the_identity() -> None:
    x = features()
    for aug in (SpecAugment(0, (0, 0), 2, (0.0, 0.0), 5), SpecAugment(0, (0, 0), 2, (0.0, 0.05), 5, time_mask_width=(0, 0))):
        assert torch.equal(aug(x, LENGTHS), x)


def test_eval_mode_is_the_identity() -> None:
    x = features()
    assert torch.equal(SpecAugment().eval()(x, LENGTHS), x)


@pytest.mark.parametrize("seed", range(5))
def test_frequency_masks_cover_whole_bands_within_the_bound(seed: int) -> None:
    x = features(seed=seed)
    aug = SpecAugment(time_warp=0, freq_mask_width=(3, 10), num_freq_masks=2, num_time_masks=0)
    out = aug(x, LENGTHS)
    for i, length in enumerate(LENGTHS.tolist()):
        zero = out[i, :length] == 0
        bands = zero.all(dim=0)
        assert torch.equal(zero, bands.expand_as(zero))  # every zero lies in a column masked over all valid frames
        assert 3 <= int(bands.sum()) <= 2 * 10
        torch.testing.assert_close(out[i, :length][~zero], x[i, :length][~zero], atol=0, rtol=0)


@pytest.mark.parametrize("seed", range(5))
def test_time_masks_stay_inside_each_utterance(seed: int) -> None:
    x = features(seed=seed)
    for aug, narrowest, widest in [
        (SpecAugment(time_warp=0, num_freq_masks=0, num_time_masks=5, time_mask_width=(2, 8)), 2, lambda n: min(8, n)),
        (SpecAugment(time_warp=0, num_freq_masks=0, num_time_masks=5, time_mask_width_ratio=(0.0, 0.05)), 0,
         lambda n: int(0.05 * n)),  # 200 frames: at most 10 per mask; 9 frames: 0
    ]:
        out = aug(x, LENGTHS)
        zero = out == 0
        rows = zero.all(dim=2)
        assert torch.equal(zero, rows[:, :, None].expand_as(zero))  # whole frames are masked
        for i, length in enumerate(LENGTHS.tolist()):
            assert not rows[i, length:].any()  # nothing past the utterance's own length
            assert min(narrowest, length) <= int(rows[i].sum()) <= 5 * widest(length)


def test_padded_frames_are_never_changed() -> None:
    x = features(seed=7)
    for seed in range(5):
        torch.manual_seed(seed)
        out = SpecAugment(time_warp=5, time_mask_width=(0, 40))(x, LENGTHS)
        for i, length in enumerate(LENGTHS.tolist()):
            assert torch.equal(out[i, length:], x[i, length:])
        assert not torch.equal(out, x)


def test_time_warp_keeps_shape_padding_and_constant_signals() -> None:
    x = features(seed=4)
    aug = SpecAugment(time_warp=5, freq_mask_width=(0, 0), num_time_masks=0)
    torch.manual_seed(0)
    out = aug(x, LENGTHS)
    assert out.shape == x.shape
    for i, length in enumerate(LENGTHS.tolist()):
        assert torch.equal(out[i, length:], x[i, length:])
    assert torch.equal(out[3], x[3])  # 9 frames <= 2 * window: too short to warp
    assert not torch.allclose(out[:3], x[:3])  # the long utterances are warped
    constant = x[:, :1].expand_as(x).clone()  # each bin constant in time: warping changes nothing
    torch.manual_seed(1)
    torch.testing.assert_close(aug(constant, LENGTHS), constant, atol=1e-5, rtol=0)


def test_the_same_seed_gives_the_same_output() -> None:
    x = features()
    aug = SpecAugment()
    outs = []
    for seed in (11, 11, 12):
        torch.manual_seed(seed)
        outs.append(aug(x, LENGTHS))
    assert torch.equal(outs[0], outs[1])
    assert not torch.equal(outs[0], outs[2])


@pytest.mark.parametrize("kwargs, name", [
    (dict(time_warp=-1), "time_warp"),
    (dict(freq_mask_width=(10, 5)), "freq_mask_width"),
    (dict(freq_mask_width=(-1, 5)), "freq_mask_width"),
    (dict(freq_mask_width=(0.5, 5)), "freq_mask_width"),
    (dict(num_freq_masks=-1), "num_freq_masks"),
    (dict(time_mask_width_ratio=(0.0, 1.5)), "time_mask_width_ratio"),
    (dict(time_mask_width_ratio=(0.1,)), "time_mask_width_ratio"),
    (dict(num_time_masks=-2), "num_time_masks"),
    (dict(time_mask_width=(40, 0)), "time_mask_width"),
])
def test_invalid_arguments_raise(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        SpecAugment(**kwargs)
