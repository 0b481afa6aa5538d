"""The oneDNN CPU inference path (speechtools.nn.cpu_gemm / attention / conv) equals the reference ops."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from speechtools.nn import cpu_gemm
from speechtools.nn.attention import SelfAttention
from speechtools.nn.conv import conv1d_btc


def test_linear_matches_functional_linear_and_takes_the_onednn_path_only_at_inference():
    torch.manual_seed(0)
    x, w, b = torch.randn(2, 37, 96), torch.randn(40, 96, requires_grad=True), torch.randn(40, requires_grad=True)
    with torch.inference_mode():
        assert cpu_gemm.onednn_gemm_active(x) == cpu_gemm._HAS_ONEDNN_LINEAR
        torch.testing.assert_close(cpu_gemm.linear(x, w, b), F.linear(x, w, b), atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(cpu_gemm.linear(x.transpose(0, 1), w), F.linear(x.transpose(0, 1), w), atol=1e-4, rtol=1e-5)
    assert not cpu_gemm.onednn_gemm_active(x)  # autograd on: plain F.linear, gradients flow
    out = cpu_gemm.linear(x, w, b)
    out.sum().backward()
    assert w.grad is not None and out.requires_grad


def test_environment_switch_turns_the_onednn_path_off(monkeypatch):
    x = torch.randn(3, 8)
    monkeypatch.setenv("SPEECHTOOLS_ONEDNN_GEMM", "0")
    with torch.inference_mode():
        assert not cpu_gemm.onednn_gemm_active(x)
    monkeypatch.delenv("SPEECHTOOLS_ONEDNN_GEMM")
    with torch.inference_mode(), torch.backends.mkldnn.flags(enabled=False):
        assert not cpu_gemm.onednn_gemm_active(x)


def test_onednn_path_is_off_under_a_dispatch_mode_so_flop_counters_see_aten_ops():
    from torch.utils.flop_counter import FlopCounterMode

    x, w = torch.randn(10, 32), torch.randn(16, 32)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        assert not cpu_gemm.onednn_gemm_active(x)
        cpu_gemm.linear(x, w)
    assert counter.get_total_flops() == 2 * 10 * 32 * 16


@pytest.mark.parametrize("bias", [True, False])
def test_self_attention_inference_equals_nn_multihead_attention_with_and_without_padding(bias):
    torch.manual_seed(1)
    attention = SelfAttention(32, 4, dropout=0.1, bias=bias).eval()
    reference = torch.nn.MultiheadAttention(32, 4, dropout=0.1, bias=bias, batch_first=True).eval()
    reference.load_state_dict(attention.state_dict())  # same parameters, same state-dict keys
    x = torch.randn(3, 21, 32)
    padding = torch.zeros(3, 21, dtype=torch.bool)
    padding[1, 15:] = True
    padding[2, 4:] = True
    with torch.inference_mode():
        for mask in (None, padding):
            fast, _ = attention(x, x, x, key_padding_mask=mask, need_weights=False)
            ref, _ = reference(x, x, x, key_padding_mask=mask, need_weights=False)
            valid = slice(None) if mask is None else ~mask
            torch.testing.assert_close(fast[valid], ref[valid], atol=1e-5, rtol=1e-4)
        # a padded batch computes what each item computes alone
        alone, _ = attention(x[2:, :4], x[2:, :4], x[2:, :4], need_weights=False)
        batched, _ = attention(x, x, x, key_padding_mask=padding, need_weights=False)
        torch.testing.assert_close(batched[2, :4], alone[0], atol=1e-5, rtol=1e-4)
    # training mode (dropout) and weights requested take nn.MultiheadAttention's own path
    _, weights = attention(x, x, x, need_weights=True)
    assert weights is not None and weights.shape == (3, 21, 21)


@pytest.mark.parametrize("kernel,groups", [(1, 1), (3, 1), (9, 1), (5, 16), (25, 16), (3, 4)])
def test_conv1d_btc_equals_conv1d_on_channel_first_input(kernel, groups):
    torch.manual_seed(kernel)
    x = torch.randn(2, 30, 16)
    weight = torch.randn(24 if groups == 1 else 16, 16 // groups, kernel)
    bias = torch.randn(weight.shape[0]) if groups == 1 else None
    expected = F.conv1d(x.transpose(1, 2), weight, bias, padding=kernel // 2, groups=groups).transpose(1, 2)
    torch.testing.assert_close(conv1d_btc(x, weight, bias, groups), expected, atol=1e-5, rtol=1e-5)
    with torch.inference_mode():
        torch.testing.assert_close(conv1d_btc(x, weight, bias, groups), expected, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(conv1d_btc(x, weight, bias, groups, relu=True), expected.relu(), atol=1e-4, rtol=1e-5)


def test_bucket_length_rounds_up_to_eight_sizes_per_octave():
    assert [cpu_gemm.bucket_length(n) for n in (1, 8, 9, 64, 65, 127, 128, 600, 603, 951)] == [8, 8, 16, 64, 72, 128, 128, 640, 640, 960]
    for n in range(1, 3000):
        b = cpu_gemm.bucket_length(n)
        assert n <= b <= max(-(-n // 8) * 8, n * 1.125)
    assert {cpu_gemm.bucket_length(n) for n in range(513, 1025)} == set(range(576, 1025, 64))


def test_fft_stack_at_cpu_inference_equals_the_reference_path(monkeypatch):
    from speechtools.nn.fft_block import FFTStack, FFTStackConfig

    torch.manual_seed(3)
    stack = FFTStack(FFTStackConfig(layers=2, dim=32, heads=2, ffn_hidden=64, ffn_kernels=[9, 1])).eval()
    x = torch.randn(2, 37, 32)  # 37 frames: the oneDNN path pads to 40 (masked)
    mask = torch.ones(2, 37, dtype=torch.bool)
    mask[1, 30:] = False
    with torch.inference_mode():
        fast_batch, fast_one = stack(x, mask), stack(x[:1], mask[:1])
        monkeypatch.setenv("SPEECHTOOLS_ONEDNN_GEMM", "0")
        ref_batch, ref_one = stack(x, mask), stack(x[:1], mask[:1])
    assert fast_one.shape == (1, 37, 32)
    torch.testing.assert_close(fast_one, ref_one, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(fast_batch[mask], ref_batch[mask], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("model_name", ["fastspeech2", "lightspeech"])
def test_whole_models_give_the_same_mels_with_the_onednn_path_on_and_off(model_name, monkeypatch):
    from speechtools.models.fastspeech2 import FastSpeech2, FastSpeech2Config
    from speechtools.models.lightspeech import LightSpeech, LightSpeechConfig
    from speechtools.nn.fft_block import FFTStackConfig

    torch.manual_seed(5)
    if model_name == "fastspeech2":
        stack = FFTStackConfig(layers=2, dim=32, heads=2, ffn_hidden=64, ffn_kernels=[9, 1], dropout=0.0)
        model = FastSpeech2(FastSpeech2Config(dim=32, encoder=stack, decoder=stack), vocab_size=20, n_mels=10).eval()
    else:
        from speechtools.nn.variance_adaptor import PredictorConfig, VarianceAdaptorConfig

        adaptor = VarianceAdaptorConfig(level="frame", use_energy=False, bins=16, separable=True,
                                        duration=PredictorConfig(layers=2, channels=32, kernel_size=3, dropout=0.0),
                                        pitch=PredictorConfig(layers=5, channels=32, kernel_size=5, dropout=0.0))
        model = LightSpeech(LightSpeechConfig(dim=32, dropout=0.0, adaptor=adaptor), vocab_size=20, n_mels=10).eval()
    tokens = torch.randint(1, 20, (2, 11))
    lengths = torch.tensor([11, 7])
    tokens[1, 7:] = 0
    with torch.inference_mode():
        fast = model(tokens, lengths)
        monkeypatch.setenv("SPEECHTOOLS_ONEDNN_GEMM", "0")
        ref = model(tokens, lengths)
    torch.testing.assert_close(fast["durations"], ref["durations"])
    frames = ref["frame_lengths"]
    for b in range(2):
        torch.testing.assert_close(fast["mel_post"][b, : frames[b]], ref["mel_post"][b, : frames[b]], atol=1e-4, rtol=1e-4)
