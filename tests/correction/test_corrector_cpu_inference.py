"""The correctors with the CPU fast path (speechtools.nn.cpu_fast_path) give the plain models' results."""

from __future__ import annotations

import copy

import pytest
import torch

from speechtools.models.fastcorrect import FastCorrect, FastCorrectConfig
from speechtools.models.transformer_corrector import TransformerCorrector, TransformerCorrectorConfig
from speechtools.nn import cpu_fast_path
from speechtools.nn.attention import key_mask
from speechtools.nn.beam_search import beam_search
from speechtools.nn.cpu_fast_path import enable_cpu_fast_path

SIZES = dict(vocab_size=40, d_model=64, n_heads=4, ffn_dim=128, encoder_layers=2, decoder_layers=2, dropout=0.1)
SRC = torch.tensor([[5, 6, 7, 8, 9, 10, 11], [12, 13, 14, 0, 0, 0, 0], [15, 16, 17, 18, 19, 0, 0]])
LENGTHS = torch.tensor([7, 3, 5])
FAST_CLASSES = (*cpu_fast_path.FAST_VARIANTS.values(), cpu_fast_path.FastLinear)

needs_onednn = pytest.mark.skipif(not cpu_fast_path.ONEDNN_LINEAR_AVAILABLE, reason="this PyTorch build has no oneDNN linear op")


def plain_and_fast(model: torch.nn.Module):
    """``model`` (plain) and a deep copy with the fast path enabled."""
    fast = copy.deepcopy(model)
    assert enable_cpu_fast_path(fast) > 0
    return model, fast


def both(plain: torch.nn.Module, fast: torch.nn.Module, run):
    """``run(fast)`` and ``run(plain)`` under inference mode, the oneDNN path active for the first."""
    with torch.inference_mode():
        assert cpu_fast_path.onednn_gemm_active(torch.zeros(1))
        return run(fast), run(plain)


def test_fresh_correctors_are_plain_pytorch():
    for model in (FastCorrect(FastCorrectConfig(**SIZES)), TransformerCorrector(TransformerCorrectorConfig(**SIZES))):
        assert not any(isinstance(m, FAST_CLASSES) for m in model.modules())
        assert type(model.encoder.layers.layers[0]) is torch.nn.TransformerEncoderLayer
        assert type(model.layers[0].ffn[0]) is torch.nn.Linear


@needs_onednn
def test_encoder_with_the_fast_path_equals_nn_transformer_encoder_with_and_without_padding():
    torch.manual_seed(0)
    plain, fast = plain_and_fast(FastCorrect(FastCorrectConfig(**SIZES)).eval().encoder)
    assert all(type(layer) is cpu_fast_path.FastTransformerEncoderLayer for layer in fast.layers.layers)
    (out, pad), (reference, _) = both(plain, fast, lambda m: m(SRC, LENGTHS))
    valid = ~pad
    torch.testing.assert_close(out[valid], reference[valid], atol=1e-5, rtol=1e-4)
    (alone, _), (alone_ref, _) = both(plain, fast, lambda m: m(SRC[:1], LENGTHS[:1]))
    torch.testing.assert_close(alone, alone_ref, atol=1e-5, rtol=1e-4)
    # a padded batch computes what each item computes alone
    (row, _), _ = both(plain, fast, lambda m: m(SRC[2:], LENGTHS[2:]))
    torch.testing.assert_close(out[2, :5], row[0, :5], atol=1e-5, rtol=1e-4)


@needs_onednn
def test_fastcorrect_outputs_equal_the_plain_model():
    torch.manual_seed(1)
    plain, fast = plain_and_fast(FastCorrect(FastCorrectConfig(**SIZES)).eval())
    assert type(fast.encoder.embed) is cpu_fast_path.FastTiedEmbedding  # the tied output projection
    assert type(fast.layers[0].ffn[0]) is type(fast.layers[0].self_attn.q) is cpu_fast_path.FastLinear
    durations = torch.tensor([[1, 2, 0, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0], [3, 1, 1, 1, 1, 0, 0]])
    out, reference = both(plain, fast, lambda m: m(SRC, LENGTHS, durations))
    for name in ("logits", "durations", "edit_logits"):
        torch.testing.assert_close(getattr(out, name), getattr(reference, name), atol=1e-4, rtol=1e-4)
    (ids, _), (ref_ids, _) = both(plain, fast, lambda m: m.infer(SRC, LENGTHS))
    assert torch.equal(ids, ref_ids)


@needs_onednn
def test_ar_corrector_logits_and_beam_search_equal_the_plain_model():
    torch.manual_seed(2)
    conf = TransformerCorrectorConfig(**SIZES, bos_id=2, eos_id=3)
    plain, fast = plain_and_fast(TransformerCorrector(conf).eval())
    prev = torch.tensor([[2, 5, 6, 7], [2, 12, 13, 0], [2, 15, 16, 17]])
    out, reference = both(plain, fast, lambda m: m(SRC, LENGTHS, prev))
    torch.testing.assert_close(out, reference, atol=1e-4, rtol=1e-4)
    hyps, ref_hyps = both(plain, fast, lambda m: beam_search(m, SRC, LENGTHS, 2, 3, beam_size=4))
    assert hyps == ref_hyps


def test_fast_pathed_corrector_keeps_its_state_dict_and_trains_with_the_plain_gradients():
    torch.manual_seed(3)
    model = FastCorrect(FastCorrectConfig(**SIZES))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    plain, fast = plain_and_fast(model)
    assert list(fast.state_dict()) == list(before)
    assert all(torch.equal(fast.state_dict()[k], before[k]) for k in before)
    durations = torch.ones_like(SRC).masked_fill(SRC == 0, 0)
    grads = []
    for m in (plain.train(), fast.train()):
        torch.manual_seed(4)  # same dropout masks
        out = m(SRC, LENGTHS, durations)
        (out.logits.square().mean() + out.durations.sum() + out.edit_logits.sum()).backward()
        grads.append({k: p.grad for k, p in m.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    assert "encoder.layers.layers.0.linear1.weight" in grads[0] and "layers.0.ffn.0.weight" in grads[0]
    assert "predictor.convs.0.weight" in grads[0]
    for k in grads[0]:
        torch.testing.assert_close(grads[1][k], grads[0][k], atol=0, rtol=0, msg=k)
    assert key_mask(torch.tensor([[False, True]])).shape == (1, 1, 1, 2)


def test_length_predictor_convolutions_equal_conv1d_and_load_old_state_dicts():
    torch.manual_seed(5)
    model = FastCorrect(FastCorrectConfig(**SIZES)).eval()
    conv = model.predictor.convs[0]
    reference = torch.nn.Conv1d(64, 64, 3, padding=1)
    reference.load_state_dict(conv.state_dict())  # same keys as the nn.Conv1d models were saved with
    x = torch.randn(2, 7, 64)
    expected = reference(x.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(conv(x), expected, atol=1e-5, rtol=1e-5)
    fast = copy.deepcopy(conv)
    enable_cpu_fast_path(fast)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x, relu=True), expected.relu(), atol=1e-4, rtol=1e-5)


def test_corrector_loading_asks_for_the_fast_path(monkeypatch):
    from speechtools.correction.inference import Corrector
    from speechtools.train import model_dir

    calls = []

    def fake_load(path, device="auto", cpu_fast_path=False):
        calls.append(cpu_fast_path)
        raise RuntimeError("stop here")

    monkeypatch.setattr(model_dir, "load_model_dir", fake_load)
    with pytest.raises(RuntimeError, match="stop here"):
        Corrector.from_model_dir("unused", "cpu")
    assert calls == [True]
