"""Transformer TTS: teacher forcing vs cached autoregressive decoding, attention recording, losses."""

import pytest
import torch

from speechtools.align.attention_durations import attention_durations
from speechtools.models import MODELS
from speechtools.models.transformer_tts import TransformerTTS, TransformerTTSConfig, guided_attention_weights


def tiny_conf(**kw) -> TransformerTTSConfig:
    base = dict(dim=32, heads=2, encoder_layers=2, decoder_layers=2, ffn_hidden=64, dropout=0.0, attention_dropout=0.0,
                encoder_prenet_layers=1, encoder_prenet_channels=32, decoder_prenet_units=32, prenet_dropout=0.0,
                prenet_dropout_at_inference=False, postnet_layers=2, postnet_channels=16)
    base.update(kw)
    return TransformerTTSConfig(**base)


def batch():
    tokens = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 10, 0, 0]])
    lengths = torch.tensor([5, 3])
    return tokens, lengths


@pytest.mark.parametrize("r", [1, 2, 3])
def test_cached_generation_equals_teacher_forcing_on_its_output(r):
    torch.manual_seed(0)
    model = TransformerTTS(tiny_conf(reduction_factor=r), vocab_size=20, n_mels=6).eval()
    tokens, lengths = batch()
    forced = torch.tensor([9, 6])
    with torch.inference_mode():
        gen = model.generate(tokens, lengths, forced_lengths=forced, need_attention=True)
        assert gen["frame_lengths"].tolist() == [9, 6]
        assert gen["mel"].shape == (2, 9, 6) and gen["mel"][1, 6:].abs().sum() == 0
        tf = model(tokens, lengths, gen["mel"], gen["frame_lengths"], need_attention=True)
    torch.testing.assert_close(tf["mel"], gen["mel"], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(tf["attention"], gen["attention"], atol=1e-5, rtol=1e-4)


def test_attention_recorded_for_every_layer_and_head_and_masked():
    torch.manual_seed(0)
    model = TransformerTTS(tiny_conf(decoder_layers=3), vocab_size=20, n_mels=6).eval()
    tokens, lengths = batch()
    mel = torch.randn(2, 7, 6)
    mel_lengths = torch.tensor([7, 4])
    with torch.inference_mode():
        out = model(tokens, lengths, mel, mel_lengths, need_attention=True)
    att = out["attention"]
    assert att.shape == (2, 3, 2, 7, 5)
    torch.testing.assert_close(att[0].sum(-1), torch.ones(3, 2, 7))
    torch.testing.assert_close(att[1, :, :, :4].sum(-1), torch.ones(3, 2, 4))
    assert att[1, :, :, :, 3:].abs().sum() == 0 and att[1, :, :, 4:].abs().sum() == 0
    durations, _ = attention_durations(att, mel_lengths, lengths)
    assert durations.sum(1).tolist() == [7, 4]
    # Padding invariance of the teacher-forced pass.
    with torch.inference_mode():
        alone = model(tokens[1:, :3], lengths[1:], mel[1:, :4], mel_lengths[1:], need_attention=True)
    torch.testing.assert_close(out["mel_post"][1, :4], alone["mel_post"][0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(att[1, :, :, :4, :3], alone["attention"][0], atol=1e-5, rtol=1e-4)


def test_stop_threshold_and_max_ratio():
    torch.manual_seed(0)
    model = TransformerTTS(tiny_conf(), vocab_size=20, n_mels=6).eval()
    tokens, lengths = batch()
    with torch.no_grad():
        model.stop_head.bias.fill_(-50.0)
    with torch.inference_mode():
        out = model.generate(tokens, lengths, max_ratio=2.0)
    assert out["frame_lengths"].tolist() == [10, 6]
    with torch.no_grad():
        model.stop_head.weight.zero_()
        model.stop_head.bias.fill_(50.0)
    with torch.inference_mode():
        assert model.generate(tokens, lengths)["frame_lengths"].tolist() == [1, 1]


@pytest.mark.parametrize("r", [2, 3])
def test_reduction_factor_stops_on_whole_steps_and_respects_the_frame_limits(r):
    torch.manual_seed(0)
    model = TransformerTTS(tiny_conf(reduction_factor=r), vocab_size=20, n_mels=6).eval()
    tokens, lengths = batch()
    with torch.no_grad():
        model.stop_head.bias.fill_(-50.0)
    with torch.inference_mode():
        # max_ratio 1.5: ceil(7.5) = 8 and ceil(4.5) = 5 frames, however many frames a step emits.
        out = model.generate(tokens, lengths, max_ratio=1.5, need_attention=True)
    assert out["frame_lengths"].tolist() == [8, 5]
    assert out["mel"].shape == (2, 8, 6) and out["attention"].shape == (2, 2, 2, 8, 5)
    # Each decoder step's attention row covers its r frames.
    torch.testing.assert_close(out["attention"][0, :, :, 0], out["attention"][0, :, :, r - 1])
    with torch.no_grad():
        model.stop_head.weight.zero_()
        model.stop_head.bias.fill_(50.0)
    with torch.inference_mode():
        assert model.generate(tokens, lengths)["frame_lengths"].tolist() == [r, r]


def test_reduction_factor_stop_target_is_the_step_of_the_last_frame():
    torch.manual_seed(0)
    model = TransformerTTS(tiny_conf(reduction_factor=2), vocab_size=20, n_mels=6)
    tokens, lengths = batch()
    mel = torch.randn(2, 7, 6)
    mel_lengths = torch.tensor([7, 4])
    out = model(tokens, lengths, mel, mel_lengths)
    assert out["mel"].shape == (2, 7, 6) and out["stop_logits"].shape == (2, 4)
    assert out["step_lengths"].tolist() == [4, 2]
    logits = out["stop_logits"]
    target = torch.tensor([[0.0, 0, 0, 1], [0, 1, 0, 0]])
    mask = torch.tensor([[1.0, 1, 1, 1], [1, 1, 0, 0]])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(5.0), reduction="none")
    expected = (bce * mask).sum() / mask.sum()
    torch.testing.assert_close(model.loss(out, mel, mel_lengths, lengths)["stop_loss"], expected)


def test_guided_attention_weights_by_hand():
    w = guided_attention_weights(torch.tensor([2]), torch.tensor([2]), sigma=0.5)
    # s/S, t/T in {0, 0.5}: off-diagonal 1 - exp(-0.25 / 0.5) = 1 - e^-0.5.
    expected = torch.tensor([[[0.0, 1 - torch.exp(torch.tensor(-0.5))], [1 - torch.exp(torch.tensor(-0.5)), 0.0]]])
    torch.testing.assert_close(w, expected)


@pytest.mark.parametrize("r", [1, 2])
def test_training_with_guided_attention_learns_a_diagonal(r):
    torch.manual_seed(0)
    conf = tiny_conf(guided_attention=True, guided_layers=2, guided_heads=2, guided_sigma=0.2, reduction_factor=r)
    model = TransformerTTS(conf, vocab_size=20, n_mels=6)
    assert MODELS.get("transformer_tts").cls is TransformerTTS
    tokens = torch.tensor([[3, 4, 5, 6]])
    lengths = torch.tensor([4])
    gen = torch.Generator().manual_seed(0)
    mel = torch.repeat_interleave(torch.randn(4, 6, generator=gen), 3, dim=0)[None]
    mel_lengths = torch.tensor([12])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(120):
        out = model(tokens, lengths, mel, mel_lengths)
        terms = model.loss(out, mel, mel_lengths, lengths)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        first = first or {k: v.item() for k, v in terms.items()}
    assert "guided_attention_loss" in terms
    assert terms["mel_l1"].item() < first["mel_l1"] / 3
    assert terms["guided_attention_loss"].item() < first["guided_attention_loss"] / 3
    model.eval()
    with torch.inference_mode():
        att = model(tokens, lengths, mel, mel_lengths, need_attention=True)["attention"]
    durations, choice = attention_durations(att, mel_lengths, lengths)
    assert int(durations.sum()) == 12
    path = att[0, choice.layer[0], choice.head[0]].argmax(-1)
    assert bool((path[1:] >= path[:-1]).all())  # monotonic: the chosen head reads the text in order
    assert float(choice.focus_rate[0]) > 0.9


def test_config_validation():
    with pytest.raises(ValueError):
        TransformerTTSConfig(dim=30, heads=4)
    with pytest.raises(ValueError):
        TransformerTTSConfig(decoder_layers=2, guided_layers=3)
    with pytest.raises(ValueError, match="reduction_factor"):
        TransformerTTSConfig(reduction_factor=0)
