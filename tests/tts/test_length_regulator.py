"""Length regulator against the FastSpeech paper's worked example (arXiv 1905.09263 Sec. 3.2)."""

import torch

from speechtools.nn.length_regulator import LengthRegulator, regulate_length, scale_durations


def test_paper_speed_examples():
    d = torch.tensor([[2, 2, 3, 1]])
    assert scale_durations(d, 1.3).tolist() == [[3, 3, 4, 1]]
    assert scale_durations(d, 0.5).tolist() == [[1, 1, 2, 1]]
    assert scale_durations(d, 1.0).tolist() == [[2, 2, 3, 1]]


def test_expansion_repeats_each_token_and_pads():
    hidden = torch.arange(1, 5, dtype=torch.float32).view(1, 4, 1).repeat(2, 1, 1)
    durations = torch.tensor([[2, 2, 3, 1], [1, 0, 2, 0]])
    out, lengths = regulate_length(hidden, durations)
    assert lengths.tolist() == [8, 3]
    assert out[0, :, 0].tolist() == [1, 1, 2, 2, 3, 3, 3, 4]
    assert out[1, :, 0].tolist() == [1, 3, 3, 0, 0, 0, 0, 0]
    lr = LengthRegulator()
    out, lengths = lr(hidden[:1], durations[:1], alpha=1.3)
    assert out[0, :, 0].tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4]
    out, lengths = lr(hidden[:1], durations[:1], alpha=2.0)
    assert int(lengths[0]) == 16
