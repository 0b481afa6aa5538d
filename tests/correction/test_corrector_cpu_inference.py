"""The correctors' oneDNN CPU inference path (speechtools.nn.cpu_gemm) gives the reference results."""

from __future__ import annotations

import pytest
import torch

from speechtools.models.fastcorrect import FastCorrect, FastCorrectConfig
from speechtools.models.transformer_corrector import TransformerCorrector, TransformerCorrectorConfig
from speechtools.nn.attention import key_mask
from speechtools.nn import cpu_gemm
from speechtools.nn.beam_search import beam_search

SIZES = dict(vocab_size=40, d_model=64, n_heads=4, ffn_dim=128, encoder_layers=2, decoder_layers=2, dropout=0.1)
SRC = torch.tensor([[5, 6, 7, 8, 9, 10, 11], [12, 13, 14, 0, 0, 0, 0], [15, 16, 17, 18, 19, 0, 0]])
LENGTHS = torch.tensor([7, 3, 5])

needs_onednn = pytest.mark.skipif(not cpu_gemm._HAS_ONEDNN_LINEAR, reason="this PyTorch build has no oneDNN linear op")


def both_paths(monkeypatch: pytest.MonkeyPatch, run):
    """``run()`` under inference mode with the oneDNN path on, then off (``SPEECHTOOLS_ONEDNN_GEMM=0``)."""
    with torch.inference_mode():
        assert cpu_gemm.onednn_gemm_active(torch.zeros(1))
        fast = run()
    monkeypatch.setenv("SPEECHTOOLS_ONEDNN_GEMM", "0")
    with torch.inference_mode():
        reference = run()
    monkeypatch.delenv("SPEECHTOOLS_ONEDNN_GEMM")
    return fast, reference


@needs_onednn
def test_encoder_equals_nn_transformer_encoder_with_and_without_padding(monkeypatch):
    torch.manual_seed(0)
    encoder = FastCorrect(FastCorrectConfig(**SIZES)).eval().encoder
    (fast, pad), (reference, _) = both_paths(monkeypatch, lambda: encoder(SRC, LENGTHS))
    valid = ~pad
    torch.testing.assert_close(fast[valid], reference[valid], atol=1e-5, rtol=1e-4)
    (alone, _), (alone_ref, _) = both_paths(monkeypatch, lambda: encoder(SRC[:1], LENGTHS[:1]))
    torch.testing.assert_close(alone, alone_ref, atol=1e-5, rtol=1e-4)


@needs_onednn
def test_fastcorrect_outputs_equal_the_reference_path(monkeypatch):
    torch.manual_seed(1)
    model = FastCorrect(FastCorrectConfig(**SIZES)).eval()
    durations = torch.tensor([[1, 2, 0, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0], [3, 1, 1, 1, 1, 0, 0]])
    fast, reference = both_paths(monkeypatch, lambda: model(SRC, LENGTHS, durations))
    for name in ("logits", "durations", "edit_logits"):
        torch.testing.assert_close(getattr(fast, name), getattr(reference, name), atol=1e-4, rtol=1e-4)
    (ids, _), (ref_ids, _) = both_paths(monkeypatch, lambda: model.infer(SRC, LENGTHS))
    assert torch.equal(ids, ref_ids)


@needs_onednn
def test_ar_corrector_logits_and_beam_search_equal_the_reference_path(monkeypatch):
    torch.manual_seed(2)
    conf = TransformerCorrectorConfig(**SIZES, bos_id=2, eos_id=3)
    model = TransformerCorrector(conf).eval()
    prev = torch.tensor([[2, 5, 6, 7], [2, 12, 13, 0], [2, 15, 16, 17]])
    fast, reference = both_paths(monkeypatch, lambda: model(SRC, LENGTHS, prev))
    torch.testing.assert_close(fast, reference, atol=1e-4, rtol=1e-4)
    hyps, ref_hyps = both_paths(monkeypatch, lambda: beam_search(model, SRC, LENGTHS, 2, 3, beam_size=4))
    assert hyps == ref_hyps


def test_training_mode_takes_the_autograd_path():
    torch.manual_seed(3)
    model = FastCorrect(FastCorrectConfig(**SIZES)).train()
    out = model(SRC, LENGTHS, torch.ones_like(SRC).masked_fill(SRC == 0, 0))
    out.logits.sum().backward()
    assert model.encoder.layers.layers[0].linear1.weight.grad is not None
    assert model.layers[0].ffn[0].weight.grad is not None
    assert key_mask(torch.tensor([[False, True]])).shape == (1, 1, 1, 2)
