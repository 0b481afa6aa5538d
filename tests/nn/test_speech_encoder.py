"""Speech encoder (conv2d x4 subsampling + Conformer/Transformer blocks): lengths, padding, size."""

from __future__ import annotations

import pytest
import torch

from speechtools.nn.conformer import ConformerBlock, SpeechEncoder
from speechtools.nn.subsampling import Conv2dSubsampling

SMALL = dict(idim=20, dim=16, heads=2, ffn=32, layers=2, kernel=5, dropout=0.1)


def padded_batch(lengths: list, idim: int, seed: int = 0) -> torch.Tensor:
    """Random features; the padding is random too (not 0), so a leak of padding shows up."""
    torch.manual_seed(seed)
    return torch.randn(len(lengths), max(lengths), idim)


def test_output_lengths_follow_the_conv2d_formula() -> None:
    # ((T - 1) // 2 - 1) // 2 by hand: 7 -> (3 - 1) // 2 = 1; 8 -> (3 - 1) // 2 = 1; 100 -> (49 - 1) // 2 = 24;
    # 11 -> (5 - 1) // 2 = 2; 6 -> (2 - 1) // 2 = 0; 0 -> clamped to 0
    lengths = torch.tensor([7, 8, 100, 11, 6, 0])
    assert Conv2dSubsampling.output_length(lengths).tolist() == [1, 1, 24, 2, 0, 0]
    encoder = SpeechEncoder(**SMALL).eval()
    for t, expected in [(7, 1), (8, 1), (100, 24)]:
        h, out_lengths = encoder(torch.randn(2, t, 20), torch.tensor([t, 7]))
        assert h.shape == (2, expected, 16)
        assert out_lengths.tolist() == [expected, 1]


@pytest.mark.parametrize("block,channels", [("conformer", None), ("transformer", None), ("conformer", 5)])
def test_a_padded_batch_equals_each_item_alone(block: str, channels) -> None:
    lengths = [40, 23, 9, 31]
    x = padded_batch(lengths, 20)
    torch.manual_seed(1)
    encoder = SpeechEncoder(**SMALL, block=block, subsampling_channels=channels).eval()
    if channels is not None:  # the subsampling convolutions have that many channels; the model dimension is unchanged
        assert encoder.subsampling.conv[2].out_channels == channels and encoder.subsampling.out.out_features == SMALL["dim"]
    with torch.no_grad():
        h, out_lengths = encoder(x, torch.tensor(lengths))
        assert out_lengths.tolist() == [9, 5, 1, 7]
        for i, length in enumerate(lengths):
            alone, alone_length = encoder(x[i : i + 1, :length], torch.tensor([length]))
            n = int(out_lengths[i])
            assert alone.shape[1] == n == int(alone_length[0])
            torch.testing.assert_close(h[i, :n], alone[0], atol=1e-5, rtol=0)
            assert torch.all(h[i, n:] == 0)  # padded output frames are 0


@pytest.mark.parametrize("block", ["conformer", "transformer"])
def test_padded_input_frames_do_not_reach_valid_outputs(block: str) -> None:
    lengths = torch.tensor([40, 23, 17])
    x = padded_batch(lengths.tolist(), 20, seed=2).requires_grad_(True)
    torch.manual_seed(3)
    encoder = SpeechEncoder(**SMALL, block=block).eval()
    h, out_lengths = encoder(x, lengths)
    valid = (torch.arange(h.size(1))[None, :] < out_lengths[:, None]).unsqueeze(-1)
    (h * torch.randn_like(h) * valid).sum().backward()
    pad = torch.arange(x.size(1))[None, :] >= lengths[:, None]
    assert x.grad is not None
    assert torch.all(x.grad[pad] == 0)
    assert x.grad[~pad].abs().sum() > 0  # the valid frames do reach the outputs
    with torch.no_grad():
        changed = x.detach().clone()
        changed[1, 23] += 100.0  # the first padded frame of item 1
        changed[2, 17:] = -50.0
        h2, _ = encoder(changed, lengths)
    torch.testing.assert_close(h2 * valid, h.detach() * valid, atol=1e-6, rtol=0)


def test_unknown_block_and_too_short_input_raise() -> None:
    with pytest.raises(ValueError, match="conformer, transformer"):
        SpeechEncoder(**SMALL, block="lstm")
    encoder = SpeechEncoder(**SMALL)
    with pytest.raises(ValueError, match="too short"):
        encoder(torch.randn(2, 6, 20), torch.tensor([6, 5]))
    with pytest.raises(ValueError, match="idim"):
        Conv2dSubsampling(5, 16)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_conformer_size_matches_the_layer_formula_and_espnet() -> None:
    d, f, k, idim, layers = 256, 1024, 31, 80, 12
    # One block, from the layer sizes (weights + biases):
    ffn = d * f + f + f * d + d                      # 525,568 per feed-forward module, two of them
    mhsa = 4 * (d * d + d)                           # 263,168: q, k, v, out projections
    conv = (d * 2 * d + 2 * d) + (d * k + d) + (d * d + d)  # 131,584 + 8,192 + 65,792 = 205,568
    norms = 6 * 2 * d                                # 3,072: FFN x2, MHSA, conv in, conv's channel norm, final
    per_block = 2 * ffn + mhsa + conv + norms
    assert per_block == 1_522_944
    subsampling = (9 * d + d) + (9 * d * d + d) + (d * (((idim - 1) // 2 - 1) // 2) * d + d)  # 1,838,080
    encoder = SpeechEncoder(idim, d, 4, f, layers, kernel=k)
    assert count(ConformerBlock(d, 4, f, k, 0.1)) == per_block
    assert count(encoder) == subsampling + layers * per_block + 2 * d == 20_113_920
    # ESPnet's Conformer block has the same layers (BatchNorm instead of the channel LayerNorm: the
    # same 2d parameters) plus relative positional attention (linear_pos d*d, pos_bias_u/v 2d): 1,588,992
    # per block, an encoder of 20,906,496 for these sizes. Ours has to lie in that range, not above.
    espnet_block = per_block + d * d + 2 * d
    assert 20_000_000 < count(encoder) <= subsampling + layers * espnet_block + 2 * d
