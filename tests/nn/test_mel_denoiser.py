"""The mel-domain residual denoiser (speechtools.nn.mel_denoiser): shapes, start at ε̂ = 0, padding, step embedding."""

from __future__ import annotations

import math

import pytest
import torch

from speechtools.nn.mel_denoiser import MelDenoiser, MelDenoiserConfig, step_embedding

CONF = MelDenoiserConfig(layers=3, channels=8, kernel_size=3, step_dim=8, step_hidden=16)


def test_step_embedding_is_diffwaves_sinusoid_and_takes_fractional_steps() -> None:
    emb = step_embedding(torch.tensor([0.0, 2.0, 2.5]), 8)
    assert emb.shape == (3, 8)
    freqs = [10.0 ** (4.0 * i / 3) for i in range(4)]
    expected = [math.sin(2.5 * f) for f in freqs] + [math.cos(2.5 * f) for f in freqs]
    torch.testing.assert_close(emb[2], torch.tensor(expected))
    torch.testing.assert_close(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4))


def test_shapes_and_zero_output_at_initialisation() -> None:
    torch.manual_seed(0)
    net = MelDenoiser(n_mels=5, cond_dim=7, conf=CONF)
    out = net(torch.randn(2, 11, 5), torch.tensor([3.0, 250.5]), torch.randn(2, 11, 7))
    assert out.shape == (2, 11, 5)
    assert out.abs().max() == 0  # zero-initialised output projection (DiffWave): training starts from ε̂ = 0
    with pytest.raises(ValueError, match="odd"):
        MelDenoiserConfig(kernel_size=4)


def test_a_padded_batch_equals_each_item_alone() -> None:
    torch.manual_seed(0)
    net = MelDenoiser(n_mels=5, cond_dim=7, conf=CONF)
    for p in net.output_proj.parameters():
        torch.nn.init.normal_(p)  # a non-zero output so the comparison means something
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
