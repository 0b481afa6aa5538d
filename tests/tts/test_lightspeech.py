"""LightSpeech: the searched architecture, its parameter count, the search space as data."""

import pytest
import torch

from speechtools.models import MODELS
from speechtools.models.lightspeech import LightSpeech, LightSpeechConfig
from speechtools.nn.search_space import LIGHTSPEECH_ARCH, OPERATIONS, SearchedStack, parse_arch, split_arch
from speechtools.nn.conv import masked_fill_padding
from speechtools.nn.conv import conv1d_btc
from speechtools.nn.separable_conv import SepConvLayer
from speechtools.nn.variance_adaptor import PredictorConfig, VarianceAdaptorConfig

PAPER_PARAMS = 1.8e6  # LightSpeech, Table 2 (LJSpeech)
PAPER_VOCAB = 76  # phoneme vocabulary of the FastSpeech 2 paper (LJSpeech)


def analytic_count(vocab: int, dim: int = 256, n_mels: int = 80) -> int:
    """Parameters of the searched model computed from the layer sizes alone (reference sheet §6)."""
    ln = 2 * dim
    sep = lambda k: dim * k + dim * dim + dim  # depthwise (no bias) + pointwise
    layer = lambda k: ln + 2 * sep(k)
    encoder = sum(layer(k) for k in (5, 25, 13, 9)) + ln
    decoder = sum(layer(k) for k in (17, 21, 9, 13)) + ln + 1  # + learned position scale
    duration = 2 * (sep(3) + ln) + dim + 1
    pitch = 5 * (sep(5) + ln) + dim + 1
    return vocab * dim + encoder + decoder + duration + pitch + 300 * dim + dim * n_mels + n_mels


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_count_at_paper_vocabulary():
    model = LightSpeech(LightSpeechConfig(), vocab_size=PAPER_VOCAB, n_mels=80)
    n = count(model)
    assert n == analytic_count(PAPER_VOCAB)
    assert 1.69e6 < n < 1.72e6  # reference's analytic count without a speaker-vector projection: ~1.70M
    # The authors' code also builds the 256 -> 256 (+bias) projection of external speaker vectors
    # (speaker_vector_dim: 256, as conf/tts/lightspeech.yaml does; tests/tts/test_speaker_vectors.py):
    # 1.77M, which the paper rounds to 1.8M.
    official = count(LightSpeech(LightSpeechConfig(speaker_vector_dim=256), vocab_size=PAPER_VOCAB, n_mels=80))
    assert official == n + 256 * 256 + 256
    assert abs(official - PAPER_PARAMS) / PAPER_PARAMS < 0.05


def test_searched_architecture_has_no_attention():
    model = LightSpeech(LightSpeechConfig(), vocab_size=PAPER_VOCAB)
    assert not any(isinstance(m, torch.nn.MultiheadAttention) for m in model.modules())
    kernels = [layer.conv1.depthwise.kernel_size[0] for layer in model.encoder.layers]
    assert kernels == [5, 25, 13, 9]
    assert [layer.conv1.depthwise.kernel_size[0] for layer in model.decoder.layers] == [17, 21, 9, 13]
    assert model.adaptor.energy_predictor is None
    assert len(model.adaptor.duration_predictor.convs) == 2 and len(model.adaptor.pitch_predictor.convs) == 5
    assert model.decoder.arch == "sep17 sep21 sep9 sep13"
    assert MODELS.get("lightspeech").cls is LightSpeech


def test_arch_strings_names_and_ids_are_the_same():
    assert parse_arch("2 7 4 3 5 6 3 4") == parse_arch(LIGHTSPEECH_ARCH)
    assert [op.name for op in OPERATIONS.values()] == [
        "sep1", "sep5", "sep9", "sep13", "sep17", "sep21", "sep25", "mhsa2", "mhsa4", "mhsa8", "ffn", "identity"]
    enc, dec = split_arch("mhsa8 ffn identity sep1", 2)
    assert [op.op_id for op in enc] == [10, 11] and [op.op_id for op in dec] == [12, 1]
    with pytest.raises(ValueError, match="unknown operation 'sep7'"):
        parse_arch("sep5 sep7")
    with pytest.raises(ValueError, match="cannot give"):
        split_arch("sep5 sep9", 2)


def test_other_architectures_build_and_keep_padding_invariance():
    torch.manual_seed(0)
    pred = PredictorConfig(layers=2, channels=32, kernel_size=3, dropout=0.0)
    adaptor = VarianceAdaptorConfig(level="frame", use_energy=False, bins=16, separable=True, duration=pred, pitch=pred)
    conf = LightSpeechConfig(dim=32, arch="mhsa2 ffn sep9 identity sep5", encoder_layers=3, filter_size=64, dropout=0.0, adaptor=adaptor)
    model = LightSpeech(conf, vocab_size=20, n_mels=10).eval()
    assert sum(isinstance(m, torch.nn.MultiheadAttention) for m in model.modules()) == 1
    tokens = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 10, 0, 0]])
    lengths = torch.tensor([5, 3])
    durations = torch.tensor([[1, 2, 3, 1, 2], [2, 2, 1, 0, 0]])
    with torch.inference_mode():
        out = model(tokens, lengths, durations=durations)
        for b in range(2):
            n, t = int(lengths[b]), int(durations[b].sum())
            alone = model(tokens[b:b + 1, :n], lengths[b:b + 1], durations=durations[b:b + 1, :n])
            torch.testing.assert_close(out["mel"][b, :t], alone["mel"][0], atol=1e-5, rtol=1e-4)


def test_sepconv_layer_is_residual_pre_norm():
    torch.manual_seed(0)
    layer = SepConvLayer(8, 5, dropout=0.0)
    for conv in (layer.conv1, layer.conv2):
        assert conv.depthwise.bias is None and conv.depthwise.groups == 8
        torch.nn.init.zeros_(conv.pointwise.weight)
        torch.nn.init.zeros_(conv.pointwise.bias)
    x = torch.randn(2, 7, 8)
    torch.testing.assert_close(layer(x), x)  # zero branch -> identity through the residual
    stack = SearchedStack(parse_arch("sep5 sep9"), 8, dropout=0.0)
    assert stack(x, torch.ones(2, 7, dtype=torch.bool)).shape == (2, 7, 8)


def test_training_step_reduces_loss():
    torch.manual_seed(0)
    pred = PredictorConfig(layers=2, channels=32, kernel_size=3, dropout=0.0)
    adaptor = VarianceAdaptorConfig(level="frame", use_energy=False, bins=16, separable=True, duration=pred, pitch=pred)
    model = LightSpeech(LightSpeechConfig(dim=32, dropout=0.0, adaptor=adaptor), vocab_size=20, n_mels=10)
    tokens, lengths = torch.tensor([[3, 4, 5, 6]]), torch.tensor([4])
    durations = torch.tensor([[2, 3, 1, 2]])
    gen = torch.Generator().manual_seed(0)
    mel, pitch = torch.randn(1, 8, 10, generator=gen), torch.randn(1, 8, generator=gen)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(100):
        terms = model.loss(model(tokens, lengths, durations=durations, pitch=pitch, max_frames=8), mel, durations, pitch)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        losses.append(terms["mel_loss"].item())
    assert "pitch_loss" in terms and "energy_loss" not in terms
    assert losses[-1] < losses[0] / 3


def _reference_sepconv_layer(layer: SepConvLayer, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The layer written with the modules' own forwards (``nn.Conv1d`` on channel-first copies)."""
    h = masked_fill_padding(layer.norm(x), mask)
    h = torch.relu(layer.conv1(h, mask))
    h = torch.relu(layer.conv2(h, mask))
    return masked_fill_padding(x + h, mask)


@pytest.mark.parametrize("kernel", [1, 5, 25])
def test_fast_sepconv_layer_matches_conv1d_reference(kernel):
    torch.manual_seed(kernel)
    layer = SepConvLayer(16, kernel, dropout=0.0).eval()
    x = torch.randn(3, 40, 16)
    full = torch.ones(3, 40, dtype=torch.bool)
    padded = full.clone()
    padded[1, 31:] = False
    padded[2, 7:] = False
    for mask in (full, padded):
        torch.testing.assert_close(layer(x, mask), _reference_sepconv_layer(layer, x, mask), atol=1e-5, rtol=1e-5)
    with torch.inference_mode():
        torch.testing.assert_close(layer(x[:1], full[:1]), _reference_sepconv_layer(layer, x[:1], full[:1]), atol=1e-5, rtol=1e-5)
    direct = conv1d_btc(x, layer.conv1.depthwise.weight, groups=16)
    conv1d = torch.nn.functional.conv1d(x.transpose(1, 2), layer.conv1.depthwise.weight, padding=kernel // 2, groups=16)
    torch.testing.assert_close(direct, conv1d.transpose(1, 2), atol=1e-5, rtol=1e-5)
    fast_x, ref_x = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    layer(fast_x, padded).sum().backward()
    _reference_sepconv_layer(layer, ref_x, padded).sum().backward()
    torch.testing.assert_close(fast_x.grad, ref_x.grad, atol=1e-5, rtol=1e-5)
    assert fast_x.grad[2, :7].abs().sum() > 0 and fast_x.grad[2, 7:].abs().sum() == 0  # padding gets no gradient
