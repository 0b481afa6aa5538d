"""The mel-domain denoiser (speechtools.nn.mel_denoiser): DiffWave's network on channel-last mel frames
with a padding mask: shapes, zero output at initialisation, padding invariance."""

from __future__ import annotations

import pytest
import torch

from speechtools.nn.mel_denoiser import MelDenoiser, MelDenoiserConfig

CONF = MelDenoiserConfig(layers=3, channels=8, kernel_size=3, step_dim=8, step_hidden=16)


def test_shapes_and_a_zero_output_at_initialisation() -> None:
    torch.manual_seed(0)
    net = MelDenoiser(n_mels=5, cond_dim=7, num_steps=400, conf=CONF)
    out = net(torch.randn(2, 11, 5), torch.tensor([3.0, 250.5]), torch.randn(2, 11, 7))
    assert out.shape == (2, 11, 5)
    assert out.abs().max() == 0  # zero-initialised output projection: training starts from ε̂ = 0
    with pytest.raises(ValueError, match="odd"):
        MelDenoiserConfig(kernel_size=4)
    with pytest.raises(ValueError, match="step_dim"):
        MelDenoiserConfig(step_dim=5)


def test_a_padded_batch_equals_each_item_alone() -> None:
    torch.manual_seed(0)
    net = MelDenoiser(n_mels=5, cond_dim=7, num_steps=400, conf=CONF)
    torch.nn.init.normal_(net.net.output_proj.weight)  # a non-constant output so the comparison means something
    lengths = torch.tensor([11, 4, 7])
    mask = torch.arange(11) < lengths[:, None]
    x = torch.randn(3, 11, 5) * 3
    cond = torch.randn(3, 11, 7)
    steps = torch.tensor([0.0, 17.25, 399.0])
    batch = net(x, steps, cond, mask)
    for b, n in enumerate(lengths.tolist()):
        alone = net(x[b:b + 1, :n], steps[b:b + 1], cond[b:b + 1, :n])
        torch.testing.assert_close(batch[b, :n], alone[0], atol=1e-5, rtol=1e-5)
        assert batch[b, n:].abs().sum() == 0
