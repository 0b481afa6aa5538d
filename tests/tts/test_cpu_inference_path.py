"""The CPU fast path (speechtools.nn.cpu_fast_path) is opt-in and equals the plain PyTorch layers and models."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from speechtools.nn import cpu_fast_path
from speechtools.nn.attention import SelfAttention
from speechtools.nn.conv import conv1d_btc
from speechtools.nn.cpu_fast_path import enable_cpu_fast_path

needs_onednn = pytest.mark.skipif(not cpu_fast_path.ONEDNN_LINEAR_AVAILABLE, reason="this PyTorch build has no oneDNN linear op")
FAST_CLASSES = (*cpu_fast_path.FAST_VARIANTS.values(), cpu_fast_path.FastLinear)
SPEECHTOOLS = Path(__file__).resolve().parents[2] / "speechtools"


def fast_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of ``model`` with the fast path enabled (the original stays plain)."""
    fast = copy.deepcopy(model)
    enable_cpu_fast_path(fast)
    return fast


def tiny_tts(model_name: str) -> torch.nn.Module:
    """A small FastSpeech 2 or LightSpeech (separable convolutions), eval mode, no dropout."""
    from speechtools.models.fastspeech2 import FastSpeech2, FastSpeech2Config
    from speechtools.models.lightspeech import LightSpeech, LightSpeechConfig
    from speechtools.nn.fft_block import FFTStackConfig
    from speechtools.nn.variance_adaptor import PredictorConfig, VarianceAdaptorConfig

    torch.manual_seed(5)
    if model_name == "fastspeech2":
        stack = FFTStackConfig(layers=2, dim=32, heads=2, ffn_hidden=64, ffn_kernels=[9, 1], dropout=0.0)
        return FastSpeech2(FastSpeech2Config(dim=32, encoder=stack, decoder=stack), vocab_size=20, n_mels=10).eval()
    adaptor = VarianceAdaptorConfig(level="frame", use_energy=False, bins=16, separable=True,
                                    duration=PredictorConfig(layers=2, channels=32, kernel_size=3, dropout=0.0),
                                    pitch=PredictorConfig(layers=5, channels=32, kernel_size=5, dropout=0.0))
    return LightSpeech(LightSpeechConfig(dim=32, dropout=0.0, adaptor=adaptor), vocab_size=20, n_mels=10).eval()


def padded_tokens():
    tokens = torch.randint(1, 20, (2, 11), generator=torch.Generator().manual_seed(0))
    tokens[1, 7:] = 0
    return tokens, torch.tensor([11, 7])


def aten_ops(run) -> set:
    """Names of the operators ``run()`` calls (``torch.profiler``; not a dispatch mode, so the fast path stays on)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        run()
    return {event.key for event in prof.key_averages()}


def test_private_api_is_checked_once_at_import_and_present_in_this_build():
    expected = (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
                and hasattr(torch._C, "_len_torch_dispatch_stack"))
    assert cpu_fast_path.ONEDNN_LINEAR_AVAILABLE is expected
    assert expected, "the pinned PyTorch build must keep the oneDNN linear op the CPU fast path uses"


def test_without_the_private_api_nothing_is_swapped_and_the_fast_layers_run_plain(monkeypatch):
    monkeypatch.setattr(cpu_fast_path, "ONEDNN_LINEAR_AVAILABLE", False)
    model = tiny_tts("fastspeech2")
    assert enable_cpu_fast_path(model) == 0
    assert not any(isinstance(m, FAST_CLASSES) for m in model.modules())
    x = torch.randn(4, 8)
    with torch.inference_mode():
        assert not cpu_fast_path.onednn_gemm_active(x)
        layer = cpu_fast_path.FastLinear(8, 3)
        torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias), atol=0, rtol=0)


def test_linear_matches_functional_linear_and_takes_the_onednn_path_only_at_inference():
    torch.manual_seed(0)
    x, w, b = torch.randn(2, 37, 96), torch.randn(40, 96, requires_grad=True), torch.randn(40, requires_grad=True)
    with torch.inference_mode():
        assert cpu_fast_path.onednn_gemm_active(x) == cpu_fast_path.ONEDNN_LINEAR_AVAILABLE
        torch.testing.assert_close(cpu_fast_path.linear(x, w, b), F.linear(x, w, b), atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(cpu_fast_path.linear(x.transpose(0, 1), w), F.linear(x.transpose(0, 1), w), atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(cpu_fast_path.linear(x, w, b, relu=True), F.linear(x, w, b).relu(), atol=1e-4, rtol=1e-5)
    assert not cpu_fast_path.onednn_gemm_active(x)  # autograd on: plain F.linear, gradients flow
    out = cpu_fast_path.linear(x, w, b)
    out.sum().backward()
    assert w.grad is not None and out.requires_grad


def test_environment_switch_turns_the_onednn_path_off(monkeypatch):
    x = torch.randn(3, 8)
    monkeypatch.setenv("SPEECHTOOLS_ONEDNN_GEMM", "0")
    with torch.inference_mode():
        assert not cpu_fast_path.onednn_gemm_active(x)
    monkeypatch.delenv("SPEECHTOOLS_ONEDNN_GEMM")
    with torch.inference_mode(), torch.backends.mkldnn.flags(enabled=False):
        assert not cpu_fast_path.onednn_gemm_active(x)


def test_onednn_path_is_off_under_a_dispatch_mode_so_flop_counters_see_aten_ops():
    from torch.utils.flop_counter import FlopCounterMode

    x, w = torch.randn(10, 32), torch.randn(16, 32)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        assert not cpu_fast_path.onednn_gemm_active(x)
        cpu_fast_path.linear(x, w)
    assert counter.get_total_flops() == 2 * 10 * 32 * 16


def test_no_onednn_ops_or_bucketing_outside_the_fast_path_module():
    pattern = re.compile(r"_linear_pointwise|onednn_gemm_active|bucket_length|keep_bucket|cpu_fast_path import|torch\.ops\.mkldnn")
    offenders = []
    for path in SPEECHTOOLS.rglob("*.py"):
        if path.name == "cpu_fast_path.py":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if pattern.search(line):
                offenders.append(f"{path.relative_to(SPEECHTOOLS)}: {line.strip()}")
    # the places that apply it on request: load_model_dir(..., cpu_fast_path=True), and the NAS latency measurement,
    # which times each candidate as `synth` runs it (like the benchmarks)
    assert sorted(offenders) == ["nas/cost.py: from speechtools.nn.cpu_fast_path import enable_cpu_fast_path",
                                 "train/model_dir.py: from speechtools.nn.cpu_fast_path import enable_cpu_fast_path"], offenders


@needs_onednn
@pytest.mark.parametrize("model_name", ["fastspeech2", "lightspeech"])
def test_a_fresh_model_is_plain_pytorch_and_only_the_enabled_one_calls_onednn(model_name):
    model = tiny_tts(model_name)
    assert not any(isinstance(m, FAST_CLASSES) for m in model.modules())
    tokens, lengths = padded_tokens()
    with torch.inference_mode():
        plain_ops = aten_ops(lambda: model(tokens, lengths))
        fast_ops = aten_ops(lambda: fast_copy(model)(tokens, lengths))
    assert not any("mkldnn::_linear_pointwise" in op for op in plain_ops)
    assert any("mkldnn::_linear_pointwise" in op for op in fast_ops)
    # training: a plain forward and backward
    model.train()
    out = model(tokens, lengths, durations=torch.ones_like(tokens) * (tokens > 0))
    out["mel_post"].sum().backward()
    assert all(p.grad is not None for p in model.encoder.parameters())


def test_enable_keeps_the_state_dict_and_returns_the_number_of_swapped_modules():
    from speechtools.nn.fft_block import FFTStack, FFTStackConfig

    stack = FFTStack(FFTStackConfig(layers=2, dim=32, heads=2, ffn_hidden=64, ffn_kernels=[9, 1]))
    before = {k: v.clone() for k, v in stack.state_dict().items()}
    # per block: SelfAttention, ConvFFN and its two Conv1dT
    assert enable_cpu_fast_path(stack) == (4 * 2 if cpu_fast_path.ONEDNN_LINEAR_AVAILABLE else 0)
    after = stack.state_dict()
    assert list(after) == list(before)
    assert all(torch.equal(after[k], before[k]) for k in before)
    assert enable_cpu_fast_path(stack) == 0  # already fast: nothing left to swap
    for name in ("fastspeech2", "lightspeech"):
        plain = tiny_tts(name)
        fast = fast_copy(plain)
        expected = sum(type(m) in cpu_fast_path.FAST_VARIANTS for m in plain.modules())
        assert sum(isinstance(m, FAST_CLASSES) for m in fast.modules()) == (expected if cpu_fast_path.ONEDNN_LINEAR_AVAILABLE else 0)
        assert list(fast.state_dict()) == list(plain.state_dict())
        fast.load_state_dict(plain.state_dict())  # strict: same keys and shapes
        assert type(fast.mel_head.proj) is torch.nn.Linear  # a small product at a new length every sentence: stays plain


@pytest.mark.parametrize("model_name", ["fastspeech2", "lightspeech"])
def test_training_gradients_of_a_fast_pathed_model_equal_the_plain_ones(model_name):
    plain = tiny_tts(model_name).train()
    fast = fast_copy(plain).train()
    tokens, lengths = padded_tokens()
    durations = torch.ones_like(tokens) * (tokens > 0)
    grads = []
    for model in (plain, fast):
        torch.manual_seed(7)
        out = model(tokens, lengths, durations=durations)
        (out["mel_post"].square().mean() + out["log_duration_pred"].sum()).backward()
        grads.append({k: p.grad for k, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for k in grads[0]:
        torch.testing.assert_close(grads[1][k], grads[0][k], atol=0, rtol=0, msg=k)


@needs_onednn
@pytest.mark.parametrize("bias", [True, False])
def test_fast_self_attention_equals_nn_multihead_attention_with_and_without_padding(bias):
    torch.manual_seed(1)
    plain = SelfAttention(32, 4, dropout=0.1, bias=bias).eval()
    reference = torch.nn.MultiheadAttention(32, 4, dropout=0.1, bias=bias, batch_first=True).eval()
    reference.load_state_dict(plain.state_dict())  # same parameters, same state-dict keys
    attention = fast_copy(plain)
    assert type(attention) is cpu_fast_path.FastSelfAttention
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
def test_plain_and_fast_conv1d_btc_equal_conv1d_on_channel_first_input(kernel, groups):
    torch.manual_seed(kernel)
    x = torch.randn(2, 30, 16)
    weight = torch.randn(24 if groups == 1 else 16, 16 // groups, kernel)
    bias = torch.randn(weight.shape[0]) if groups == 1 else None
    expected = F.conv1d(x.transpose(1, 2), weight, bias, padding=kernel // 2, groups=groups).transpose(1, 2)
    torch.testing.assert_close(conv1d_btc(x, weight, bias, groups), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(cpu_fast_path.conv1d_btc(x, weight, bias, groups), expected, atol=1e-5, rtol=1e-5)
    with torch.inference_mode():
        torch.testing.assert_close(conv1d_btc(x, weight, bias, groups), expected, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(cpu_fast_path.conv1d_btc(x, weight, bias, groups), expected, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(cpu_fast_path.conv1d_btc(x, weight, bias, groups, relu=True), expected.relu(), atol=1e-4, rtol=1e-5)
        kept = cpu_fast_path.conv1d_btc(x, weight, bias, groups, keep_bucket=True)
        torch.testing.assert_close(kept[:, :30], expected, atol=1e-4, rtol=1e-5)


def test_bucket_length_rounds_up_to_eight_sizes_per_octave():
    bucket_length = cpu_fast_path.bucket_length
    assert [bucket_length(n) for n in (1, 8, 9, 64, 65, 127, 128, 600, 603, 951)] == [8, 8, 16, 64, 72, 128, 128, 640, 640, 960]
    for n in range(1, 3000):
        b = bucket_length(n)
        assert n <= b <= max(-(-n // 8) * 8, n * 1.125)
    assert {bucket_length(n) for n in range(513, 1025)} == set(range(576, 1025, 64))


def test_fft_stack_with_the_fast_path_equals_the_plain_stack(monkeypatch):
    from speechtools.nn.fft_block import FFTStack, FFTStackConfig

    torch.manual_seed(3)
    plain = FFTStack(FFTStackConfig(layers=2, dim=32, heads=2, ffn_hidden=64, ffn_kernels=[9, 1])).eval()
    stack = fast_copy(plain)
    x = torch.randn(2, 37, 32)  # 37 frames: the oneDNN path pads to 40 (masked)
    mask = torch.ones(2, 37, dtype=torch.bool)
    mask[1, 30:] = False
    with torch.inference_mode():
        fast_batch, fast_one = stack(x, mask), stack(x[:1], mask[:1])
        ref_batch, ref_one = plain(x, mask), plain(x[:1], mask[:1])
        monkeypatch.setenv("SPEECHTOOLS_ONEDNN_GEMM", "0")
        off_batch = stack(x, mask)  # the switch makes the fast layers run their plain forward
    assert fast_one.shape == (1, 37, 32)
    torch.testing.assert_close(fast_one, ref_one, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(fast_batch[mask], ref_batch[mask], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(off_batch, ref_batch, atol=0, rtol=0)


@pytest.mark.parametrize("model_name", ["fastspeech2", "lightspeech"])
def test_whole_models_give_the_same_mels_with_and_without_the_fast_path(model_name):
    plain = tiny_tts(model_name)
    fast = fast_copy(plain)
    tokens, lengths = padded_tokens()
    with torch.inference_mode():
        out, ref = fast(tokens, lengths), plain(tokens, lengths)
    torch.testing.assert_close(out["durations"], ref["durations"])
    frames = ref["frame_lengths"]
    for b in range(2):
        torch.testing.assert_close(out["mel_post"][b, : frames[b]], ref["mel_post"][b, : frames[b]], atol=1e-4, rtol=1e-4)


def test_transformer_tts_generates_the_same_mels_with_and_without_the_fast_path():
    from speechtools.models.transformer_tts import TransformerTTS, TransformerTTSConfig

    torch.manual_seed(4)
    conf = TransformerTTSConfig(dim=32, heads=2, encoder_layers=1, decoder_layers=2, ffn_hidden=64, encoder_prenet_channels=32,
                                decoder_prenet_units=16, postnet_channels=16, prenet_dropout_at_inference=False)
    plain = TransformerTTS(conf, vocab_size=20, n_mels=10).eval()
    fast = fast_copy(plain)
    assert any(isinstance(m, cpu_fast_path.FastLinear) for m in fast.modules()) == cpu_fast_path.ONEDNN_LINEAR_AVAILABLE
    tokens, lengths = padded_tokens()
    forced = torch.tensor([9, 6])
    with torch.inference_mode():
        out = fast.generate(tokens, lengths, forced_lengths=forced)
        ref = plain.generate(tokens, lengths, forced_lengths=forced)
    for b in range(2):
        torch.testing.assert_close(out["mel_post"][b, : forced[b]], ref["mel_post"][b, : forced[b]], atol=1e-4, rtol=1e-4)


def test_synthesizer_applies_the_fast_path_on_cpu_and_load_model_dir_does_not_by_default(tiny_model_dir):
    from speechtools.train.model_dir import load_model_dir
    from speechtools.tts.synthesizer import Synthesizer

    plain = load_model_dir(tiny_model_dir, "cpu").model
    assert not any(isinstance(m, FAST_CLASSES) for m in plain.modules())
    synthesizer = Synthesizer(tiny_model_dir, device="cpu")
    assert any(isinstance(m, FAST_CLASSES) for m in synthesizer.model.modules()) == cpu_fast_path.ONEDNN_LINEAR_AVAILABLE
    assert list(synthesizer.model.state_dict()) == list(plain.state_dict())
