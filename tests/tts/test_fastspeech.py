"""FastSpeech model: paper sizes, no pitch/energy, padding invariance, speed control, loss, overfitting."""

import pytest
import torch

from speechtools.config import from_dict
from speechtools.errors import ConfigError
from speechtools.models import MODELS
from speechtools.models.fastspeech import FastSpeech, FastSpeechConfig
from speechtools.nn.fft_block import FFTStackConfig
from speechtools.nn.variance_adaptor import PredictorConfig, VarianceAdaptorConfig


def tiny_conf(dropout: float = 0.0) -> FastSpeechConfig:
    stack = FFTStackConfig(layers=2, dim=32, heads=2, ffn_hidden=64, ffn_kernels=[3, 3], dropout=dropout, attention_dropout=0.0)
    adaptor = VarianceAdaptorConfig(use_pitch=False, use_energy=False, duration=PredictorConfig(layers=2, channels=32, dropout=dropout))
    return FastSpeechConfig(dim=32, encoder=stack, decoder=FFTStackConfig(**stack.__dict__), adaptor=adaptor)


def test_paper_configuration():
    conf = FastSpeechConfig()
    model = FastSpeech(conf, vocab_size=51, n_mels=80)
    assert len(model.encoder.blocks) == 6 and len(model.decoder.blocks) == 6
    block = model.encoder.blocks[0]
    assert block.attention.embed_dim == 384 and block.attention.num_heads == 2
    assert block.ffn.conv1.kernel_size == (3,) and block.ffn.conv2.kernel_size == (3,)
    assert block.ffn.conv1.out_channels == 1536
    assert model.adaptor.pitch_predictor is None and model.adaptor.energy_predictor is None
    assert model.mel_head.proj.out_features == 80
    # Per block: attention 4*(384^2+384) + conv 384->1536 k3 + conv 1536->384 k3 + 2 LayerNorms.
    per_block = 4 * (384 * 384 + 384) + (384 * 1536 * 3 + 1536) + (1536 * 384 * 3 + 384) + 4 * 384
    blocks = sum(p.numel() for p in model.encoder.parameters()) + sum(p.numel() for p in model.decoder.parameters())
    assert blocks == 12 * per_block


def test_registered_and_rejects_pitch():
    assert MODELS.get("fastspeech").cls is FastSpeech
    with pytest.raises(ConfigError, match="pitch"):
        from_dict(FastSpeechConfig, {"adaptor": {"use_pitch": True, "use_energy": False}})


def test_padded_batch_equals_each_item_alone():
    torch.manual_seed(0)
    model = FastSpeech(tiny_conf(), vocab_size=20, n_mels=10).eval()
    lengths = torch.tensor([5, 3])
    tokens = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 10, 0, 0]])
    durations = torch.tensor([[1, 2, 3, 1, 2], [2, 2, 1, 0, 0]])
    with torch.inference_mode():
        out = model(tokens, lengths, durations=durations)
        assert "pitch_pred" not in out and "energy_pred" not in out
        for b in range(2):
            n, t = int(lengths[b]), int(durations[b].sum())
            alone = model(tokens[b:b + 1, :n], lengths[b:b + 1], durations=durations[b:b + 1, :n])
            torch.testing.assert_close(out["mel"][b, :t], alone["mel"][0], atol=1e-5, rtol=1e-4)
            assert out["mel"][b, t:].abs().sum() == 0


def test_alpha_scales_frames_like_the_paper():
    torch.manual_seed(0)
    model = FastSpeech(tiny_conf(), vocab_size=20, n_mels=10).eval()
    tokens, lengths, d = torch.tensor([[3, 4, 5, 6]]), torch.tensor([4]), torch.tensor([[2, 2, 3, 1]])
    with torch.inference_mode():
        assert model(tokens, lengths, durations=d, alpha=1.3)["durations"].tolist() == [[2, 2, 3, 1]]
        assert int(model(tokens, lengths, durations=d, alpha=1.3)["frame_lengths"][0]) == 11  # [3, 3, 4, 1]
        assert int(model(tokens, lengths, durations=d, alpha=0.5)["frame_lengths"][0]) == 5  # [1, 1, 2, 1]


def test_overfitting_drives_mel_and_duration_loss_down():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = FastSpeech(tiny_conf(), vocab_size=20, n_mels=10)
    tokens = torch.tensor([[3, 4, 5, 6], [7, 8, 9, 0]])
    lengths = torch.tensor([4, 3])
    durations = torch.tensor([[2, 3, 1, 2], [1, 4, 2, 0]])
    mel = torch.randn(2, 8, 10, generator=gen)
    mel[1, 7:] = 0
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(150):
        out = model(tokens, lengths, durations=durations, max_frames=8)
        terms = model.loss(out, mel, durations)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        first = first or {k: float(v.detach()) for k, v in terms.items()}
    assert terms["mel_loss"].item() < first["mel_loss"] / 3
    assert terms["duration_loss"].item() < first["duration_loss"] / 10
