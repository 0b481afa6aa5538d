"""DiffWave's layers: the frame upsampler's lengths, the step embedding's interpolation, the network's
receptive field and its zero-initialised output."""

import torch

from speechtools.nn.diffwave import DiffWave, DiffusionStepEmbedding, FrameUpsampler


def test_the_upsampler_turns_frames_into_hop_samples():
    up = FrameUpsampler([16, 16])
    assert up(torch.randn(2, 5, 7)).shape == (2, 5, 7 * 256)
    assert FrameUpsampler([4, 2])(torch.randn(1, 3, 9)).shape == (1, 3, 72)


def test_fractional_steps_interpolate_the_sinusoids():
    emb = DiffusionStepEmbedding(num_steps=10, dim=8, hidden=16)
    table = emb.table
    assert table.shape == (10, 8)
    # the sinusoid frequencies are 10^(4 i / (half - 1)): 1 .. 10^4
    torch.testing.assert_close(table[1, :4], torch.sin(torch.tensor([1.0, 10 ** (4 / 3), 10 ** (8 / 3), 1e4])))
    captured = []
    emb.proj1.register_forward_hook(lambda module, args, out: captured.append(args[0]))
    emb(torch.tensor([2.0, 2.25, 9.0]))
    torch.testing.assert_close(captured[0][1], 0.75 * table[2] + 0.25 * table[3])
    torch.testing.assert_close(captured[0][2], table[9])


def test_the_network_starts_constant_and_sees_its_receptive_field():
    torch.manual_seed(0)
    net = DiffWave(cond_channels=3, layers=4, channels=8, dilation_cycle=2, num_steps=10, step_dim=8, step_hidden=16)
    assert net.receptive_field == 1 + 2 * (1 + 2 + 1 + 2)
    x, cond, step = torch.randn(1, 1, 64), torch.randn(1, 3, 64), torch.tensor([3.0])
    out = net(x, step, cond)
    assert out.abs().max() == 0  # zero output projection: the network starts at ε̂ = 0
    torch.nn.init.normal_(net.output_proj.weight)
    out = net(x, step, cond)
    changed = x.clone()
    changed[0, 0, 40] += 1.0  # reaches outputs within the receptive field's half-width (6) of sample 40 only
    diff = (net(changed, step, cond) - out).abs()[0, 0] > 0
    assert diff[34:47].any() and not diff[:34].any() and not diff[47:].any()
