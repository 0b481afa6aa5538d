"""Conditional LayerNorm (AdaSpeech, arXiv 2103.00993, Sec. 2.3): identity at initialisation, speaker-dependent scale and bias."""

from __future__ import annotations

import pytest
import torch

from speechtools.nn.layer_norm import ConditionalLayerNorm, LayerNorm, build_norm


def test_conditional_layer_norm_is_plain_layer_norm_at_initialisation() -> None:
    torch.manual_seed(0)
    x, cond = torch.randn(3, 7, 16), torch.randn(3, 5)
    norm = ConditionalLayerNorm(16, 5)
    expected = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(norm(x, cond), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(norm(x, cond), LayerNorm(16)(x), atol=1e-6, rtol=0)
    torch.testing.assert_close(norm(x, cond), norm(x, torch.randn(3, 5)))  # any condition: identity transform


def test_scale_and_bias_are_linear_in_the_speaker_condition() -> None:
    torch.manual_seed(1)
    norm = ConditionalLayerNorm(4, 3)
    with torch.no_grad():
        for linear in (norm.scale, norm.bias):
            linear.weight.copy_(torch.randn(4, 3))
            linear.bias.copy_(torch.randn(4))
    x = torch.randn(2, 6, 4)
    speakers = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, -1.0]])
    out = norm(x, speakers)
    normed = torch.nn.functional.layer_norm(x, (4,))
    for b in range(2):  # AdaSpeech Eq. 1: gamma = E_s W_gamma, beta = E_s W_beta (here with a bias term)
        gamma = norm.scale.weight @ speakers[b] + norm.scale.bias
        beta = norm.bias.weight @ speakers[b] + norm.bias.bias
        torch.testing.assert_close(out[b], normed[b] * gamma + beta, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out[0], norm(x, speakers[[1, 1]])[0])  # another speaker, another output


def test_gradients_reach_only_what_adaptation_trains() -> None:
    norm = ConditionalLayerNorm(8, 4)
    norm(torch.randn(2, 3, 8), torch.randn(2, 4)).pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in (norm.scale.weight, norm.bias.weight, norm.bias.bias))


def test_build_norm_by_name_and_errors() -> None:
    assert isinstance(build_norm("layer", 8), LayerNorm)
    assert isinstance(build_norm("conditional", 8, 4), ConditionalLayerNorm)
    with pytest.raises(ValueError, match="cond_dim > 0"):
        build_norm("conditional", 8)
    with pytest.raises(ValueError, match="unknown norm"):
        build_norm("batch", 8)
    with pytest.raises(ValueError, match="needs a condition vector"):
        ConditionalLayerNorm(8, 4)(torch.randn(1, 2, 8))


def test_an_fft_stack_with_conditional_norm_starts_as_the_plain_stack_and_then_depends_on_the_speaker() -> None:
    from speechtools.nn.fft_block import FFTStack, FFTStackConfig

    torch.manual_seed(0)
    plain = FFTStack(FFTStackConfig(layers=2, dim=16, heads=2, ffn_hidden=32, dropout=0.0, attention_dropout=0.0)).eval()
    conditional = FFTStack(FFTStackConfig(layers=2, dim=16, heads=2, ffn_hidden=32, norm="conditional", dropout=0.0,
                                          attention_dropout=0.0), cond_dim=4).eval()
    shared = {k: v for k, v in plain.state_dict().items() if "norm" not in k}
    conditional.load_state_dict({**conditional.state_dict(), **shared})
    x, mask = torch.randn(2, 5, 16), torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    speakers = torch.randn(2, 4)
    torch.testing.assert_close(conditional(x, mask, speakers), plain(x, mask), atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        for module in conditional.modules():
            if isinstance(module, ConditionalLayerNorm):
                module.scale.weight.normal_(0, 0.5)
    a, b = conditional(x, mask, speakers), conditional(x, mask, speakers.flip(0))
    assert not torch.allclose(a[0], b[0], atol=1e-3)
    assert torch.equal(a[1, 3:], torch.zeros(2, 16))  # padding stays zero


def test_fft_stack_config_rejects_an_unknown_norm() -> None:
    from speechtools.nn.fft_block import FFTStackConfig

    with pytest.raises(ValueError, match="norm must be 'layer' or 'conditional'"):
        FFTStackConfig(norm="batch")
